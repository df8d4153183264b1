//! `GET /api/search?q=&limit=`: public, ready videos whose title, author or description match what someone typed, best
//! first, typo-tolerant, the last word as a prefix (the rules live with [`SearchText`]).
//!
//! The index answers with ids; each video's view then comes from the catalogue (`AppState::write_listed_views`), so
//! what comes back is always current and only ever ready (an entry the index still holds for a video deleted a moment
//! ago is skipped).

use framelift_shared::domain::SearchText;
use framelift_shared::http::{self, ApiResponse, StatusCode};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use std::fmt::Write;

/// What search answers: written straight from the stored views, so this type only describes it.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SearchResponse {
    /// The best matches, best first.
    videos: Vec<framelift_shared::domain::Video>,
    /// How many videos match in all.
    total: u64,
}

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(search(state, req).await)
}

/// Search videos
///
/// Public, ready videos whose title, author or description match, best first, typo-tolerant, the last word as a
/// prefix.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/search", operation_id = "searchVideos", tag = "videos",
    params(
        ("q" = String, Query, min_length = 1, max_length = 200, pattern = r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]", description = "The words to search for: 1 to 200 characters, at least one letter or digit."),
        ("limit" = Option<u8>, Query, minimum = 1, maximum = 100, description = "At most this many videos, 1 to 100 (20 by default)."),
    ),
    responses(
        (status = 200, description = "The matches.", body = SearchResponse),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
    ),
    security((), ("bearer" = [])),
))]
async fn search(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let q = http::query_param(&req, "q").ok_or_else(|| AppError::BadRequest("q is required: the words to search for".into()))?;
    let text = SearchText::parse(&q).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let limit = http::limit_param(&req, DEFAULT_LIMIT, MAX_LIMIT)?;
    let hits = state.search.search(&text, limit).await?;
    // `{"videos": [Video], "total": n}`, the views written as they are.
    let mut body = String::from(r#"{"videos":"#);
    let found = state.write_listed_views(&hits.ids, &mut body).await?;
    let total = hits.total.saturating_sub((hits.ids.len() - found) as u64);
    let _ = write!(body, r#","total":{total}}}"#);
    Ok(http::json_text(StatusCode::OK, body))
}

#[cfg(test)]
mod tests;
