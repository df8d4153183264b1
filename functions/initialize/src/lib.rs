//! `POST /api/uploads`: starts an upload. Checks what the client declares (title, type, size), opens a multipart
//! upload at a key made from a server-generated id, and records the video as `uploading`.

use framelift_shared::domain::{
    Author, ContentType, ContentTypeError, Description, Title, UploadPlan, UploadState, Video, VideoId, VideoRecord, Visibility,
    WholeNumber,
};
use framelift_shared::http::{self, ApiResponse};
#[cfg(feature = "openapi")]
use framelift_shared::openapi;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
struct InitializeRequest {
    /// The file's name, 1 to 1024 characters, not blank: checked for presence only, never part of a storage key.
    #[cfg_attr(feature = "openapi", schema(max_length = 1024, pattern = r"\S"))]
    filename: String,
    /// `video/<subtype>`, such as `video/mp4`, in any case, parameters allowed (another type is a 415).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^\s*[Vv][Ii][Dd][Ee][Oo]/[A-Za-z0-9!#$&^_.+-]{1,100}\s*(;[\s\S]*)?$", examples("video/mp4"))
    )]
    content_type: String,
    /// The file's size in bytes, at most the configured maximum (a 413 beyond).
    #[cfg_attr(feature = "openapi", schema(value_type = u64, minimum = 1))]
    size: WholeNumber,
    #[cfg_attr(feature = "openapi", schema(value_type = Title))]
    title: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Description>))]
    description: Option<String>,
    /// `public` (the default), `unlisted` or `private`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Visibility>))]
    visibility: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Start an upload
///
/// Records the video as `uploading` and opens a multipart upload; the client then asks for part URLs and PUTs the
/// bytes straight to storage.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/uploads", operation_id = "startUpload", tag = "uploads",
    request_body = InitializeRequest,
    responses(
        (status = 201, description = "The upload is open: the video, and how to split the file.", body = InitializeResponse,
            // Every route about the upload takes the video's id (not `uploadId`).
            links(
                ("signPartUrls" = (operation_id = "signPartUrls", parameters(("id" = "$response.body#/video/id")))),
                ("listParts" = (operation_id = "listParts", parameters(("id" = "$response.body#/video/id")))),
                ("completeUpload" = (operation_id = "completeUpload", parameters(("id" = "$response.body#/video/id")))),
                ("abortUpload" = (operation_id = "abortUpload", parameters(("id" = "$response.body#/video/id")))),
                ("getVideo" = (operation_id = "getVideo", parameters(("id" = "$response.body#/video/id")))),
                ("editVideo" = (operation_id = "editVideo", parameters(("id" = "$response.body#/video/id")))),
            ),
        ),
        openapi::BodyErrors,
        (status = 401, response = openapi::Unauthorized),
        (status = 415, response = openapi::UnsupportedMediaType),
    ),
    security(("bearer" = [])),
))]
async fn initialize(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let body: InitializeRequest = http::body_json(&req)?;
    let title: Title = body.title.parse()?;
    let description = Description::parse_optional(body.description.as_deref())?;
    let visibility: Visibility = body.visibility.as_deref().map(str::parse).transpose()?.unwrap_or_default();
    // The file name is checked for presence only: it never reaches a key, a header or a command line.
    if body.filename.trim().is_empty() || body.filename.chars().count() > 1024 {
        return Err(AppError::BadRequest("filename must be 1 to 1024 characters: send the name of the file".into()));
    }
    let content_type = ContentType::parse(&body.content_type).map_err(|e| match e {
        ContentTypeError::Malformed(m) => AppError::BadRequest(m),
        ContentTypeError::NotVideo(m) => AppError::UnsupportedMediaType(m),
    })?;
    let size = body
        .size
        .to_u64()
        .ok_or_else(|| AppError::BadRequest(format!("size {} is not a file size: send the file's size in bytes", body.size.0)))?;
    let max = state.upload.max_upload_bytes;
    if size > max {
        return Err(AppError::TooLarge(format!(
            "size {} bytes ({}) is above the limit of {max} bytes ({}): upload a smaller file",
            size,
            binary_size(size),
            binary_size(max)
        )));
    }
    let plan = UploadPlan::new(size, state.upload.part_size)?;

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
