//! The `part-url` function serves two routes of one resource, the parts of an upload:
//! `POST /api/uploads/{id}/part-urls` presigns PUT URLs for the parts a client is about to send, and
//! `GET /api/uploads/{id}/parts` lists what storage already holds, so that a client can resume.
//! They share the owner check and the storage calls, and a client calls them together when it resumes.

use framelift_shared::access::{owned_record, require_uploading};
use framelift_shared::domain::{PartNumber, StoredPart};
use framelift_shared::http::{self, ApiResponse, StatusCode};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most URLs one call signs.
pub const MAX_PARTS_PER_CALL: usize = 100;

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct PartUrlsRequest {
    /// 1 to 100 of the upload's part numbers.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    part_numbers: Vec<PartNumber>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct PartUrlsResponse {
    /// A presigned PUT URL per part number asked for; each signs its part's exact `Content-Length`.
    urls: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: time::OffsetDateTime,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Sign part URLs
///
/// Presigned PUT URLs for the parts the client is about to send, each for its part's exact length.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/uploads/{id}/part-urls", operation_id = "signPartUrls", tag = "uploads",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id, from the initialize response.")),
    request_body = PartUrlsRequest,
    responses(
        (status = 200, description = "The URLs, and when the first of them expires.", body = PartUrlsResponse),
        openapi::BodyErrors,
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
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

/// List stored parts
///
/// The parts storage already holds, so that a client can resume an upload.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/uploads/{id}/parts", operation_id = "listParts", tag = "uploads",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id, from the initialize response.")),
    responses(
        (status = 200, description = "What storage holds of the upload.", body = PartsResponse),
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
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
