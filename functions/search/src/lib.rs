//! `GET /api/search?q=&limit=`: public, ready videos whose title, author or description match what someone typed, best
//! first, typo-tolerant, the last word as a prefix (the rules live with [`SearchText`]).
//!
//! The index answers with ids; each video's view then comes from the catalogue (`AppState::write_listed_views`), so
//! what comes back is always current and only ever ready (an entry the index still holds for a video deleted a moment
//! ago is skipped).

use framelift_shared::domain::SearchText;
use framelift_shared::http::{self, ApiResponse, StatusCode};
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use std::fmt::Write;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(search(state, req).await)
}

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
