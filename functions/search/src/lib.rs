//! `GET /api/search?q=&limit=`: ready videos whose title, author or description match what someone typed, best
//! first, typo-tolerant, the last word as a prefix (the rules live with [`SearchText`]).
//!
//! The index answers with ids; each video's view then comes from the catalogue (`AppState::ready_views`), so what
//! comes back is always current and only ever ready (an entry the index still holds for a video deleted a moment ago
//! is skipped).

use framelift_shared::domain::SearchText;
use framelift_shared::http::{self, ApiResponse, StatusCode};
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::Serialize;
use serde_json::value::RawValue;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// `videos` are [`Video`](framelift_shared::domain::Video)s, rendered by [`AppState::ready_views`].
#[derive(Serialize)]
struct SearchResponse<'a> {
    videos: Vec<&'a RawValue>,
    total: u64,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(search(state, req).await)
}

async fn search(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let q = http::query_param(&req, "q").ok_or_else(|| AppError::BadRequest("q is required: the words to search for".into()))?;
    let text = SearchText::parse(&q).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let limit = http::limit_param(&req, DEFAULT_LIMIT, MAX_LIMIT)?;
    let hits = state.search.search(&text, limit).await?;
    let views = state.ready_views(&hits.ids).await?;
    let stale = views.iter().filter(|v| v.is_none()).count() as u64;
    let videos: Vec<&RawValue> = views.iter().flatten().map(|v| &**v).collect();
    http::json(StatusCode::OK, &SearchResponse { videos, total: hits.total.saturating_sub(stale) })
}

#[cfg(test)]
mod tests;
