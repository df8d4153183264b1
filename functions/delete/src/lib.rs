//! `DELETE /api/videos/{id}`: the owner removes a video: its search document, its source, every rendition and the
//! poster, then its record. Playlists are served only for a recorded, ready video, so every watch link issued before
//! stops at once.
//!
//! Its own function, not a method of `list`: it is the one catalogue route that writes, and its own function lets the
//! template give only it the permission to delete objects and records.

use framelift_shared::domain::VideoStatus;
use framelift_shared::http::{self, ApiResponse};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(delete(state, req).await)
}

/// Delete a video
///
/// The owner removes a video: its source, every rendition, its captions, its search entry and its record.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/videos/{id}", operation_id = "deleteVideo", tag = "videos",
    params(("id" = framelift_shared::domain::VideoId, Path, description = "The video's id.")),
    responses(
        (status = 204, description = "The video is gone."),
        openapi::OwnerErrors,
    ),
    security(("bearer" = [])),
))]
async fn delete(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let id = http::path_video_id(&req)?;
    // Someone else's video that the caller may not see (not watchable yet, or private) does not exist for them.
    let record = state.visible_record(&id, Some(&caller)).await?;
    if !record.is_owned_by(&caller.id) {
        return Err(AppError::Forbidden(format!("video '{id}' belongs to someone else: only its owner may delete it")));
    }
    // The search document and storage first, the record last: a failure part way leaves the record, so repeating the
    // call finishes the job.
    state.search.remove(&id).await?;
    if record.status == VideoStatus::Uploading {
        state.blobs.abort_multipart(&id.source_key(), &record.upload.upload_id).await?;
    }
    state.objects.delete_prefix(id.source_key().as_str()).await?;
    let removed = state.objects.delete_prefix(&id.media_prefix()).await?;
    let mut current = record;
    // A transcode may move the record while we delete; follow it until our conditional delete lands.
    for _ in 0..5 {
        match state.meta.delete(&id, current.version).await {
            Ok(()) | Err(StoreError::NotFound) => {
                tracing::info!(video = %id, objects = removed, "video deleted");
                return http::no_content();
            }
            Err(StoreError::Conflict) => match state.meta.get(&id).await? {
                Some(r) => current = r,
                None => return http::no_content(),
            },
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Conflict("the video kept changing while it was being deleted: try again".into()))
}

#[cfg(test)]
mod tests;
