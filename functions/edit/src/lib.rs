//! `PATCH /api/videos/{id}`: the owner changes a video's title, description or visibility, in any status. The record
//! is written first (conditionally, following a transcode that moves it meanwhile), then the search index follows: a
//! listed video's document is replaced, one that is no longer listed is removed. Catalogue pages are made from the
//! records, so they follow the record.
//!
//! Its own function: it is the one route that rewrites a finished record and a search document, and the template gives
//! only it (with the transcoder) that pair of permissions.

use framelift_shared::domain::{Description, Edit, SearchDocument, Title, Video, VideoStatus};
use framelift_shared::http::{self, ApiResponse, StatusCode};
use framelift_shared::ports::StoreError;
use framelift_shared::{AppError, AppState};
use lambda_http::Request;
use serde::{Deserialize, Deserializer, Serialize};

/// The fields that may change; each one absent stays as it is. `"description": null` (or `""`) removes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EditRequest {
    #[serde(default)]
    title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default)]
    visibility: Option<String>,
}

/// A field that is present, even as `null` (`Some(None)`), as against one that is absent (`None`, the default).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Serialize)]
struct EditResponse {
    video: Video,
}

pub async fn handle(state: &AppState, req: Request) -> ApiResponse {
    http::respond(edit(state, req).await)
}

async fn edit(state: &AppState, req: Request) -> Result<ApiResponse, AppError> {
    let caller = state.authenticate(&req).await?;
    let id = http::path_video_id(&req)?;
    let body: EditRequest = http::body_json(&req)?;
    let change = Edit {
        title: body.title.as_deref().map(str::parse::<Title>).transpose()?,
        description: body.description.map(|d| Description::parse_optional(d.as_deref())).transpose()?,
        visibility: body.visibility.as_deref().map(str::parse).transpose()?,
    };
    if change == Edit::default() {
        return Err(AppError::BadRequest("nothing to change: send title, description or visibility".into()));
    }
    // Someone else's video is the same 404 as a missing one unless they may see it; then it is theirs to watch, not
    // to change.
    let mut record = state.visible_record(&id, Some(&caller)).await?;
    if !record.is_owned_by(&caller.id) {
        return Err(AppError::Forbidden(format!("video '{id}' belongs to someone else: only its owner may change it")));
    }
    let edited = loop {
        let next = record.edited(change.clone());
        match state.meta.replace(&next).await {
            Ok(()) => break next,
            // A transcode wrote meanwhile: apply the same change to what it wrote.
            Err(StoreError::Conflict) => {
                record = state.meta.get(&id).await?.ok_or_else(|| AppError::NotFound(format!("there is no video with id '{id}'")))?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if edited.is_listed() {
        state.search.put(&SearchDocument::of(&edited)).await?;
    } else if edited.status == VideoStatus::Ready {
        state.search.remove(&id).await?;
    }
    tracing::info!(video = %id, visibility = edited.visibility.as_str(), "video edited");
    http::json(StatusCode::OK, &EditResponse { video: state.view(&edited).await? })
}

#[cfg(test)]
mod tests;
