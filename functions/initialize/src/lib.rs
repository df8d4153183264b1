//! `POST /api/uploads`: starts an upload. Checks what the client declares (title, type, size), opens a multipart
//! upload at a key made from a server-generated id, and records the video as `uploading`.

use framelift_shared::domain::{
    Author, ContentType, ContentTypeError, Description, Title, UploadPlan, UploadState, Video, VideoId, VideoRecord, Visibility,
};
use framelift_shared::http::{self, ApiResponse};
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeRequest {
    filename: String,
    content_type: String,
    size: u64,
    title: String,
    #[serde(default)]
    description: Option<String>,
    /// `public` (the default), `unlisted` or `private`.
    #[serde(default)]
    visibility: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitializeResponse {
    video: Video,
    upload_id: String,
    part_size: u64,
    part_count: u32,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(initialize(state, req).await)
}

async fn initialize(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let body: InitializeRequest = http::body_json(&req)?;
    let title: Title = body.title.parse()?;
    let description = Description::parse_optional(body.description.as_deref())?;
    let visibility: Visibility = body.visibility.as_deref().map(str::parse).transpose()?.unwrap_or_default();
    // The file name is checked for presence only: it never reaches a key, a header or a command line.
    if body.filename.trim().is_empty() || body.filename.len() > 1024 {
        return Err(AppError::BadRequest("filename must be 1 to 1024 bytes: send the name of the file".into()));
    }
    let content_type = ContentType::parse(&body.content_type).map_err(|e| match e {
        ContentTypeError::Malformed(m) => AppError::BadRequest(m),
        ContentTypeError::NotVideo(m) => AppError::UnsupportedMediaType(m),
    })?;
    let max = state.upload.max_upload_bytes;
    if body.size > max {
        return Err(AppError::TooLarge(format!(
            "size {} bytes ({}) is above the limit of {max} bytes ({}): upload a smaller file",
            body.size,
            binary_size(body.size),
            binary_size(max)
        )));
    }
    let plan = UploadPlan::new(body.size, state.upload.part_size)?;

    let id = VideoId::generate();
    let key = id.source_key();
    let upload_id = state.blobs.start_multipart(&key, content_type.as_str()).await?;
    let author = Author { id: caller.id, name: caller.name };
    let record = VideoRecord {
        visibility,
        ..VideoRecord::new_upload(
            id,
            title,
            description,
            author,
            UploadState { upload_id: upload_id.clone(), content_type, plan },
            time::OffsetDateTime::now_utc(),
        )
    };
    if let Err(e) = state.meta.insert(&record).await {
        // Leave no orphan upload behind; the lifecycle rule would reap it, but sooner is cheaper.
        if let Err(abort) = state.blobs.abort_multipart(&key, &upload_id).await {
            tracing::warn!(error = %abort, "abort after a failed insert failed too");
        }
        return Err(e.into());
    }
    tracing::info!(video = %id, size = plan.size, parts = plan.part_count, "upload started");
    http::json(
        http::StatusCode::CREATED,
        &InitializeResponse {
            video: record.to_video(),
            upload_id: upload_id.to_string(),
            part_size: plan.part_size,
            part_count: plan.part_count,
        },
    )
}

/// `68157440` as `65.0 MiB`: a size a person reads at a glance.
fn binary_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests;
