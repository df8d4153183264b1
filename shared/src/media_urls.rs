//! Media straight from storage: each object's own presigned URL. Locally, and on AWS when no CDN is configured.

use crate::domain::VideoId;
use crate::ports::{BlobStore, MediaUrls, StoreError};
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;

pub struct StorageUrls(pub Arc<dyn BlobStore>);

#[async_trait]
impl MediaUrls for StorageUrls {
    async fn urls(&self, video: &VideoId, keys: &[String], expires: OffsetDateTime) -> Result<Vec<String>, StoreError> {
        let ttl = std::time::Duration::try_from(expires - OffsetDateTime::now_utc()).unwrap_or_default();
        let prefix = video.media_prefix();
        let mut urls = Vec::with_capacity(keys.len());
        for key in keys {
            if !key.starts_with(&prefix) {
                return Err(StoreError::Rejected(format!("{key} is not media of {video}")));
            }
            urls.push(self.0.presign_get(key, ttl).await?.url);
        }
        Ok(urls)
    }
}
