//! `DELETE /api/uploads/{id}`: abandons an upload. Storage drops every part and the record goes, so a later complete
//! finds nothing (404). An upload that already completed is a video: it is deleted with `DELETE /api/videos/{id}`.
//!
//! Abort is a crate of its own rather than a method of `part-url`: it is the one upload route that destroys, and its
//! own function lets the template give it the one IAM permission only it needs (`s3:AbortMultipartUpload`).

use framelift_shared::access::{owned_record, require_uploading};
use framelift_shared::http::{self, ApiResponse};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(abort(state, req).await)
}

/// Abort an upload
///
/// Storage drops every part and the record goes; a later complete, parts or part-urls is a 404.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/uploads/{id}", operation_id = "abortUpload", tag = "uploads",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id, from the initialize response.")),
    responses(
        (status = 204, description = "The upload is gone."),
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
async fn abort(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let id = http::path_video_id(&req)?;
    let record = owned_record(state, &caller, &id).await?;
    require_uploading(&record)?;
    // The record goes first, conditionally: if a complete wins the race, the parts it needs are still there.
    match state.meta.delete(&id, record.version).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return http::no_content(),
        Err(StoreError::Conflict) => {
            return Err(AppError::Conflict("the upload completed while it was being aborted: delete the video instead".into()));
        }
        Err(e) => return Err(e.into()),
    }
    // The record is gone, so the upload is unreachable; should storage fail now, its lifecycle rule reaps the parts.
    if let Err(e) = state.blobs.abort_multipart(&id.source_key(), &record.upload.upload_id).await {
        tracing::warn!(video = %id, error = ?e, "aborting the multipart upload failed");
    }
    tracing::info!(video = %id, "upload aborted");
    http::no_content()
}

#[cfg(test)]
mod tests;
