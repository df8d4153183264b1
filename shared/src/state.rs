//! [`AppState`]: the dependencies of every handler, built once at cold start (from AWS or from the embedded backends)
//! and lent to each request.

use crate::auth::{Caller, Verifier};
use crate::config::UploadConfig;
use crate::error::AppError;
use crate::http::bearer_token;
use crate::ports::{BlobStore, MetadataStore};
use lambda_http::Request;
use std::sync::Arc;

pub struct AppState {
    pub blobs: Arc<dyn BlobStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub auth: Arc<Verifier>,
    pub upload: UploadConfig,
}

impl AppState {
    /// The caller the request's bearer token proves, or a 401.
    pub async fn authenticate(&self, req: &Request) -> Result<Caller, AppError> {
        self.auth.verify(bearer_token(req)?).await
    }
}
