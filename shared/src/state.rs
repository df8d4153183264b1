//! [`AppState`]: the dependencies of every handler, built once at cold start (from AWS or from the embedded backends)
//! and lent to each request.

use crate::auth::{Caller, Verifier};
use crate::config::{CatalogueConfig, UploadConfig};
use crate::domain::{Video, VideoRecord, VideoStatus};
use crate::error::AppError;
use crate::http::bearer_token;
use crate::ports::{BlobStore, MetadataStore, ObjectStore};
use lambda_http::Request;
use std::sync::Arc;

pub struct AppState {
    pub blobs: Arc<dyn BlobStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub auth: Arc<Verifier>,
    pub upload: UploadConfig,
    pub catalogue: CatalogueConfig,
}

impl AppState {
    /// The caller the request's bearer token proves, or a 401.
    pub async fn authenticate(&self, req: &Request) -> Result<Caller, AppError> {
        self.auth.verify(bearer_token(req)?).await
    }

    /// For routes that anyone may read: no token is no caller; a token given must be valid (a 401 otherwise).
    pub async fn caller_if_any(&self, req: &Request) -> Result<Option<Caller>, AppError> {
        if req.headers().contains_key(http::header::AUTHORIZATION) { self.authenticate(req).await.map(Some) } else { Ok(None) }
    }

    /// The public view of a record, with its poster URL signed for `catalogue.media_url_ttl`.
    pub async fn view(&self, record: &VideoRecord) -> Result<Video, AppError> {
        let mut video = record.to_video();
        if record.status == VideoStatus::Ready
            && let Some(key) = record.media.as_ref().and_then(|m| m.poster_key.as_deref())
        {
            video.poster_url = Some(self.blobs.presign_get(key, self.catalogue.media_url_ttl).await?.url);
        }
        Ok(video)
    }
}
