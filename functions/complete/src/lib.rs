//! `POST /api/uploads/{id}/complete`: checks that the parts storage holds make exactly the declared file, assembles
//! it, and moves the video to `processing` (the storage event then starts the transcode).
//!
//! Idempotent and safe under concurrent calls: storage assembles the file once, and the record moves by a
//! conditional write that exactly one caller wins; every other caller answers with the winner's result.

use framelift_shared::access::owned_record;
use framelift_shared::domain::{ETag, PartCheck, PartNumber, Transition, Video, VideoRecord, VideoStatus};
use framelift_shared::http::{self, ApiResponse, StatusCode};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    /// The parts and their ETags as the client kept them; absent, the parts storage holds.
    #[serde(default)]
    parts: Option<Vec<ClientPart>>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientPart {
    part_number: PartNumber,
    etag: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct CompleteResponse {
    video: Video,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(complete(state, req).await)
}

/// Complete an upload
///
/// Checks that the parts make exactly the declared file, assembles it, and moves the video to `processing`.
/// Idempotent: a repeat after success answers the same.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/uploads/{id}/complete", operation_id = "completeUpload", tag = "uploads",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id, from the initialize response.")),
    request_body = CompleteRequest,
    responses(
        (status = 200, description = "The video, now `processing`.", body = CompleteResponse),
        openapi::BodyErrors,
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
async fn complete(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let id = http::path_video_id(&req)?;
    let body: CompleteRequest = http::body_json(&req)?;
    let record = owned_record(state, &caller, &id).await?;
    if record.status != VideoStatus::Uploading {
        return done(&record);
    }
    let key = id.source_key();
    let upload = &record.upload.upload_id;
    let stored = match state.blobs.list_parts(&key, upload).await {
        Ok(parts) => parts,
        // Another call assembled the file (or the upload was aborted) since we read the record.
        Err(StoreError::NotFound) => return settled(state, &record).await,
        Err(e) => return Err(e.into()),
    };
    let requested: Option<Vec<(PartNumber, ETag)>> =
        body.parts.map(|ps| ps.into_iter().map(|p| (p.part_number, ETag::new(&p.etag))).collect());
    let chosen = match record.plan().check_completion(&stored, requested.as_deref()) {
        Ok(chosen) => chosen,
        Err(e @ PartCheck::TooManyBytes { .. }) => {
            // More bytes than declared is not a mistake a retry fixes: the upload is dropped, parts and record.
            state.blobs.abort_multipart(&key, upload).await?;
            if let Err(err) = state.meta.delete(&id, record.version).await {
                tracing::warn!(video = %id, error = %err, "deleting an oversized upload's record failed");
            }
            return Err(AppError::TooLarge(format!("{e}: the upload was aborted, start again with the right size")));
        }
        Err(e) => return Err(e.into()),
    };
    let parts: Vec<(PartNumber, ETag)> = chosen.into_iter().map(|p| (p.number, p.etag)).collect();
    match state.blobs.complete_multipart(&key, upload, &parts).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return settled(state, &record).await,
        Err(StoreError::Rejected(code)) => {
            return Err(AppError::BadRequest(format!(
                "storage refused the parts ({code}): list the parts, upload any that are missing, and complete again"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let next = record.apply(Transition::BeginProcessing)?;
    match state.meta.replace(&next).await {
        Ok(()) => {
            tracing::info!(video = %id, bytes = record.plan().size, "upload complete");
            done(&next)
        }
        Err(StoreError::Conflict | StoreError::NotFound) => settled(state, &record).await,
        Err(e) => Err(e.into()),
    }
}

/// Another call changed the record first: answer with what it made of it.
async fn settled(state: &AppState, seen: &VideoRecord) -> Result<ApiResponse, AppError> {
    match state.meta.get(&seen.id).await? {
        Some(now) if now.status != VideoStatus::Uploading => done(&now),
        Some(_) => Err(AppError::Conflict("storage no longer holds this upload (it expired or was aborted): start a new upload".into())),
        None => Err(AppError::NotFound(format!("there is no upload with id '{}' (it was aborted)", seen.id))),
    }
}

fn done(record: &VideoRecord) -> Result<ApiResponse, AppError> {
    http::json(StatusCode::OK, &CompleteResponse { video: record.to_video() })
}

#[cfg(test)]
mod tests;
