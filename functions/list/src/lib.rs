//! The `list` function serves the catalogue's reading routes, which share the record views and the visibility rules:
//! `GET /api/videos` (public, ready videos, newest first, paged), `GET /api/videos?mine=true` (the caller's own videos
//! in every status and visibility) and `GET /api/videos/{id}` (one video, to whoever may see it:
//! `VideoRecord::is_visible_to`).

use framelift_shared::auth::Caller;
use framelift_shared::domain::{ListQuery, PageKey, Video, VideoStatus};
use framelift_shared::http::{self, ApiResponse, StatusCode};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::{AppError, AppState};
use lambda_http::{Request, RequestExt};
use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    /// Newest first.
    videos: Vec<Video>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Where the next page starts (opaque, signed); absent on the last page.
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    next_cursor: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct DetailResponse {
    video: Video,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    let one = req.path_parameters_ref().is_some_and(|p| p.first("id").is_some());
    http::respond(if one { detail(state, req).await } else { list(state, req).await })
}

/// List videos
///
/// Public, ready videos, newest first; with `mine=true` and a token, the caller's own in every status and visibility.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/videos", operation_id = "listVideos", tag = "videos",
    params(
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "Videos per page, 1 to 100 (20 by default)."),
        ("cursor" = Option<String>, Query, min_length = 1, description = "The `nextCursor` of the page before."),
        ("mine" = Option<bool>, Query, description = "`true`: the caller's own videos (needs a token)."),
    ),
    responses(
        (status = 200, description = "One page of videos.", body = ListResponse),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
    ),
    security((), ("bearer" = [])),
))]
async fn list(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let limit = http::limit_param(&req, DEFAULT_LIMIT, MAX_LIMIT)?;
    let mine = match http::query_param(&req, "mine").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::BadRequest("mine must be true or false".into())),
    };
    let (query, scope) = if mine {
        let caller: Caller = state.authenticate(&req).await?;
        let scope = format!("mine:{}", caller.id);
        (ListQuery::Owner(caller.id), scope)
    } else {
        (ListQuery::Status(VideoStatus::Ready), "ready".to_owned())
    };
    let cursor = http::query_param(&req, "cursor");
    let after = cursor.as_deref().map(|c| state.catalogue.signing_key.decode(&scope, c)).transpose()?;
    let make = || page(state, query, limit, after, scope);
    let body = if mine {
        make().await?
    } else {
        // A public page is the same for every viewer: served again while current (see `PageCache`).
        let key = format!("{limit}:{}", cursor.as_deref().unwrap_or(""));
        state.pages.get_or_make(key, || state.meta.changes(), make).await?
    };
    Ok(http::json_text(StatusCode::OK, body))
}

/// How many pages of the store one catalogue page may read past videos that are not listed (unlisted or private)
/// before it answers with fewer than asked and a cursor to go on from.
const MAX_STORE_PAGES: usize = 8;

/// One page of `query` as the response body. The public catalogue (`Status(Ready)`) holds only listed videos: the
/// store's pages are read on past unlisted and private ones until the page is full.
async fn page(state: &AppState, query: ListQuery, limit: usize, after: Option<PageKey>, scope: String) -> Result<String, AppError> {
    let public = matches!(query, ListQuery::Status(_));
    let mut records = Vec::with_capacity(limit);
    let mut from = after;
    let mut next = None;
    for _ in 0..MAX_STORE_PAGES {
        let page = state.meta.list(&query, limit - records.len(), from.as_ref()).await?;
        let read = page.records.len();
        records.extend(page.records.into_iter().filter(|r| !public || r.is_listed()));
        next = page.next;
        // Where the next read starts: after the last record read, listed or not.
        from = next;
        if records.len() >= limit || next.is_none() || read == 0 {
            break;
        }
    }
    let mut videos = Vec::with_capacity(records.len());
    for r in &records {
        videos.push(state.view(r).await?);
    }
    let next_cursor = next.map(|k| state.catalogue.signing_key.encode(&scope, &k));
    serde_json::to_string(&ListResponse { videos, next_cursor }).map_err(AppError::internal)
}

/// Get a video
///
/// One video, to whoever may see it (see `visibility`); one that cannot be watched yet is its owner's alone.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/videos/{id}", operation_id = "getVideo", tag = "videos",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id.")),
    responses(
        (status = 200, description = "The video.", body = DetailResponse),
        (status = 401, response = openapi::Unauthorized),
        (status = 404, response = openapi::NotFound),
    ),
    security((), ("bearer" = [])),
))]
async fn detail(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let id = http::path_video_id(&req)?;
    let caller = state.caller_if_any(&req).await?;
    let record = state.visible_record(&id, caller.as_ref()).await?;
    http::json(StatusCode::OK, &DetailResponse { video: state.view(&record).await? })
}

#[cfg(test)]
mod tests;
