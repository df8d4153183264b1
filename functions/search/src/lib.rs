//! `GET /api/search?q=&limit=`: ready videos whose title, author or description match what someone typed, best
//! first, typo-tolerant, the last word as a prefix (the rules live with [`SearchText`]).
//!
//! The index answers with ids; each video is then read from the catalogue, so what comes back is always current and
//! only ever ready (an entry the index still holds for a video deleted a moment ago is skipped).

use framelift_shared::domain::{SearchText, Video, VideoStatus};
use framelift_shared::http::{self, ApiResponse, StatusCode};
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

#[derive(Serialize)]
struct SearchResponse {
    videos: Vec<Video>,
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
    let records = state.meta.get_many(&hits.ids).await?;
    let mut videos = Vec::with_capacity(records.len());
    let mut stale = 0;
    for record in &records {
        match record {
            Some(r) if r.status == VideoStatus::Ready => videos.push(state.view(r).await?),
            _ => stale += 1,
        }
    }
    http::json(StatusCode::OK, &SearchResponse { videos, total: hits.total.saturating_sub(stale) })
}

#[cfg(test)]
mod tests;
