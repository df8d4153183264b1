//! Who may touch which record: the checks every upload route makes before it acts.

use crate::auth::Caller;
use crate::domain::{VideoId, VideoRecord, VideoStatus};
use crate::error::AppError;
use crate::state::AppState;

/// The record of upload `id` if `caller` owns it: 404 if there is none, 403 if it is someone else's.
pub async fn owned_record(state: &AppState, caller: &Caller, id: &VideoId) -> Result<VideoRecord, AppError> {
    let record = state.meta.get(id).await?.ok_or_else(|| AppError::NotFound(format!("there is no upload with id '{id}'")))?;
    if !record.is_owned_by(&caller.id) {
        return Err(AppError::Forbidden(format!("upload '{id}' belongs to someone else: only its owner may change it")));
    }
    Ok(record)
}

/// A 409 unless the record is still uploading.
pub fn require_uploading(record: &VideoRecord) -> Result<(), AppError> {
    match record.status {
        VideoStatus::Uploading => Ok(()),
        other => Err(AppError::Conflict(format!(
            "upload '{}' is already complete (the video is {}): no more parts can be sent",
            record.id,
            other.as_str()
        ))),
    }
}
