//! What an owner changes about a video after uploading it, in any status:
//!
//! - `PATCH /api/videos/{id}`: title, description or visibility. The record is written first (conditionally, following
//!   a transcode that moves it meanwhile), then the search index follows: a listed video's document is replaced, one
//!   that is no longer listed is removed. Catalogue pages are made from the records, so they follow the record.
//! - `PUT /api/videos/{id}/captions/{language}`: a WebVTT or SRT file, checked as text ([`WebVtt`]) and stored as
//!   WebVTT beside the renditions; the record lists the language, and the watch route's master playlist offers it as
//!   a subtitles rendition. `DELETE` of the same path removes it.
//!
//! Its own function: it is the one route that rewrites a finished record and a search document, and the template gives
//! only it (with the transcoder) that pair of permissions.

use framelift_shared::domain::{CaptionTrack, Description, Edit, Language, SearchDocument, Title, Video, VideoRecord, VideoStatus, WebVtt};
use framelift_shared::http::{self, ApiResponse, StatusCode};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Deserializer, Serialize};

/// The fields that may change; each one absent stays as it is. `"description": null` (or `""`) removes it.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(min_properties = 1))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EditRequest {
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Title>, nullable = false))]
    title: Option<String>,
    /// `null` or `""` removes it.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Description>))]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<framelift_shared::domain::Visibility>, nullable = false))]
    visibility: Option<String>,
}

/// A field that is present, as against one that is absent (`None`, the default). For `Option<Option<_>>`, `null` is
/// `Some(None)`; for `Option<String>`, `null` is refused.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct EditResponse {
    video: Video,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    let language = req.path_parameters_ref().and_then(|p| p.first("language").map(str::to_owned));
    http::respond(match (req.method().as_str(), language) {
        ("PUT", Some(language)) => put_captions(state, req, &language).await,
        ("DELETE", Some(language)) => delete_captions(state, req, &language).await,
        _ => edit(state, req).await,
    })
}

/// The video if `caller` owns it: a 404 if they may not see it, a 403 if they may but it is not theirs.
async fn owned(state: &AppState, req: &Request) -> Result<VideoRecord, AppError> {
    let caller = state.authenticate(req).await?;
    let id = http::path_video_id(req)?;
    // Someone else's video is the same 404 as a missing one unless they may see it; then it is theirs to watch, not
    // to change.
    let record = state.visible_record(&id, Some(&caller)).await?;
    if !record.is_owned_by(&caller.id) {
        return Err(AppError::Forbidden(format!("video '{id}' belongs to someone else: only its owner may change it")));
    }
    Ok(record)
}

/// Writes `change(record)` conditionally, re-reading and applying it again if a transcode wrote meanwhile.
async fn write(
    state: &AppState,
    mut record: VideoRecord,
    change: impl Fn(&VideoRecord) -> Result<VideoRecord, AppError>,
) -> Result<VideoRecord, AppError> {
    let id = record.id;
    let gone = || AppError::NotFound(format!("there is no video with id '{id}'"));
    for _ in 0..10 {
        let next = change(&record)?;
        match state.meta.replace(&next).await {
            Ok(()) => return Ok(next),
            Err(StoreError::Conflict) => record = state.meta.get(&id).await?.ok_or_else(gone)?,
            Err(StoreError::NotFound) => return Err(gone()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict("the video kept changing while it was being edited: try again".into()))
}

/// Upload captions
///
/// A WebVTT or SRT file (SRT is converted) for one language; a new one replaces the old. Checked as text: at most
/// 512 KiB, UTF-8, every cue's timing line well formed; a 400 names the line.
#[cfg_attr(feature = "openapi", utoipa::path(
    put, path = "/api/videos/{id}/captions/{language}", operation_id = "putCaptions", tag = "captions",
    params(
        ("id" = framelift_shared::domain::VideoId, Path, description = "The video's id."),
        ("language" = Language, Path, description = "A language tag: en, fr, pt-BR, zh-Hans."),
        ("label" = inline(Option<openapi::CaptionLabel>), Query, description = "What players' menus show; the language tag if absent."),
    ),
    request_body(description = "The file's text: WebVTT, or SRT.", content(
        (String = "text/vtt"),
        (String = "application/x-subrip"),
        (String = "text/plain"),
    )),
    responses(
        (status = 200, description = "The video, listing its captions.", body = EditResponse),
        openapi::BodyErrors,
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
async fn put_captions(state: &AppState, req: Request, language: &str) -> Result<ApiResponse, AppError> {
    let record = owned(state, &req).await?;
    let language: Language = language.parse()?;
    let body: &[u8] = req.body().as_ref();
    if body.len() > framelift_shared::domain::MAX_CAPTIONS_BYTES {
        return Err(AppError::TooLarge(format!(
            "the captions file is larger than {} KiB: split or trim it",
            framelift_shared::domain::MAX_CAPTIONS_BYTES / 1024
        )));
    }
    let vtt = WebVtt::parse(body, framelift_media::chunks::MPEGTS_OF_SOURCE_START)?;
    let label = match http::query_param(&req, "label") {
        Some(l) if !l.trim().is_empty() && l.trim().chars().count() <= 50 && !l.chars().any(char::is_control) => l.trim().to_owned(),
        Some(_) => return Err(AppError::BadRequest("label must be 1 to 50 characters of text: the name the player's menu shows".into())),
        None => language.to_string(),
    };
    // The file first: the record names only captions that are stored.
    let key = record.id.captions_key(&language);
    state.objects.put(&key, vtt.as_str().as_bytes().to_vec(), "text/vtt; charset=utf-8", "public, max-age=60").await?;
    let track = CaptionTrack { language, label };
    let saved = match write(state, record, |r| Ok(r.with_captions(track.clone()))).await {
        Ok(saved) => saved,
        Err(e @ AppError::NotFound(_)) => {
            // The video was deleted meanwhile: the file would be an orphan.
            state.objects.delete_prefix(&key).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    tracing::info!(video = %saved.id, language = %track.language, cues = vtt.cues(), "captions stored");
    http::json(StatusCode::OK, &EditResponse { video: state.view(&saved).await? })
}

/// Delete captions
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/videos/{id}/captions/{language}", operation_id = "deleteCaptions", tag = "captions",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id."), ("language" = Language, Path, description = "A language tag: en, fr, pt-BR, zh-Hans.")),
    responses(
        (status = 200, description = "The video, without those captions.", body = EditResponse),
        (status = 400, response = openapi::BadRequest),
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
async fn delete_captions(state: &AppState, req: Request, language: &str) -> Result<ApiResponse, AppError> {
    let record = owned(state, &req).await?;
    let language: Language = language.parse()?;
    let id = record.id;
    let missing = || AppError::NotFound(format!("video '{id}' has no captions in '{language}'"));
    record.without_captions(&language).ok_or_else(missing)?;
    // The record first: a file it no longer names is never served, and a repeat removes it.
    let saved = write(state, record, |r| r.without_captions(&language).ok_or_else(missing)).await?;
    state.objects.delete_prefix(&id.captions_key(&language)).await?;
    http::json(StatusCode::OK, &EditResponse { video: state.view(&saved).await? })
}

/// Edit a video
///
/// Title, description or visibility, in any status; the catalogue, search and cached pages follow at once.
#[cfg_attr(feature = "openapi", utoipa::path(
    patch, path = "/api/videos/{id}", operation_id = "editVideo", tag = "videos",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id.")),
    request_body = EditRequest,
    responses(
        (status = 200, description = "The video as it now is.", body = EditResponse),
        openapi::BodyErrors,
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
async fn edit(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let record = owned(state, &req).await?;
    let body: EditRequest = http::body_json(&req)?;
    let change = Edit {
        title: body.title.as_deref().map(str::parse::<Title>).transpose()?,
        description: body.description.map(|d| Description::parse_optional(d.as_deref())).transpose()?,
        visibility: body.visibility.as_deref().map(str::parse).transpose()?,
    };
    if change == Edit::default() {
        return Err(AppError::BadRequest("nothing to change: send title, description or visibility".into()));
    }
    let edited = write(state, record, |r| Ok(r.edited(change.clone()))).await?;
    if edited.is_listed() {
        state.search.put(&SearchDocument::of(&edited)).await?;
    } else if edited.status == VideoStatus::Ready {
        state.search.remove(&edited.id).await?;
    }
    tracing::info!(video = %edited.id, visibility = edited.visibility.as_str(), "video edited");
    http::json(StatusCode::OK, &EditResponse { video: state.view(&edited).await? })
}

#[cfg(test)]
mod tests;
