//! The `part-url` function serves two routes of one resource, the parts of an upload:
//! `POST /api/uploads/{id}/part-urls` presigns PUT URLs for the parts a client is about to send, and
//! `GET /api/uploads/{id}/parts` lists what storage already holds, so that a client can resume.
//! They share the owner check and the storage calls, and a client calls them together when it resumes.

use framelift_shared::access::{owned_record, require_uploading};
use framelift_shared::domain::{PartNumber, StoredPart};
use framelift_shared::http::{self, ApiResponse, StatusCode};
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most URLs one call signs.
pub const MAX_PARTS_PER_CALL: usize = 100;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartUrlsRequest {
    part_numbers: Vec<PartNumber>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartUrlsResponse {
    urls: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: time::OffsetDateTime,
}

#[derive(Serialize)]
struct PartsResponse {
    parts: Vec<StoredPart>,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    let result = match *req.method() {
        lambda_http::http::Method::POST => sign_parts(state, req).await,
        lambda_http::http::Method::GET => list_parts(state, req).await,
        _ => Err(AppError::MethodNotAllowed("use POST to sign part URLs or GET to list parts".into())),
    };
    http::respond(result)
}

async fn sign_parts(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let id = http::path_video_id(&req)?;
    let body: PartUrlsRequest = http::body_json(&req)?;
    if body.part_numbers.is_empty() || body.part_numbers.len() > MAX_PARTS_PER_CALL {
        return Err(AppError::BadRequest(format!("partNumbers must list 1 to {MAX_PARTS_PER_CALL} part numbers: ask in batches")));
    }
    let record = owned_record(state, &caller, &id).await?;
    require_uploading(&record)?;
    for part in &body.part_numbers {
        record.plan().check_part(*part)?;
    }
    let ttl = state.upload.part_url_ttl;
    let key = id.source_key();
    let mut urls = BTreeMap::new();
    let mut expires_at = None;
    for part in body.part_numbers {
        let signed = state
            .blobs
            .presign_part(&key, &record.upload.upload_id, part, record.upload.plan.expected_size(part), ttl)
            .await
            .map_err(gone)?;
        expires_at = Some(expires_at.map_or(signed.expires_at, |t: time::OffsetDateTime| t.min(signed.expires_at)));
        urls.insert(part.to_string(), signed.url);
    }
    let expires_at = expires_at.expect("at least one part was signed").replace_nanosecond(0).map_err(AppError::internal)?;
    http::json(StatusCode::OK, &PartUrlsResponse { urls, expires_at })
}

async fn list_parts(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let id = http::path_video_id(&req)?;
    let record = owned_record(state, &caller, &id).await?;
    require_uploading(&record)?;
    let parts = state.blobs.list_parts(&id.source_key(), &record.upload.upload_id).await.map_err(gone)?;
    http::json(StatusCode::OK, &PartsResponse { parts })
}

/// Storage no longer knows an upload the record still calls open: it was aborted underneath us (by the lifecycle rule).
fn gone(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => {
            AppError::Conflict("storage no longer holds this upload (it expired or was aborted): start a new upload".into())
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests;
