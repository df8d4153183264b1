//! [`AppState`]: the dependencies of every handler, built once at cold start (from AWS or from the embedded backends)
//! and lent to each request.

use crate::auth::{Caller, Verifier};
use crate::config::{CatalogueConfig, UploadConfig};
use crate::domain::{Video, VideoRecord, VideoStatus};
use crate::error::AppError;
use crate::http::bearer_token;
use crate::ports::{BlobStore, MetadataStore, ObjectStore, PresignedUrl, SearchIndex, StoreError};
use lambda_http::Request;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Signed object URLs, reused while they have at least half their life left: a poster URL can serve many readers, and
/// a page of videos need not sign twenty URLs again for each of them. Bounded; cleared when full.
#[derive(Default)]
pub struct SignedUrls {
    entries: std::sync::Mutex<std::collections::HashMap<String, PresignedUrl>>,
}

impl SignedUrls {
    const MAX_ENTRIES: usize = 10_000;

    pub async fn get(&self, blobs: &dyn BlobStore, key: &str, ttl: Duration) -> Result<String, StoreError> {
        let half = time::Duration::try_from(ttl / 2).unwrap_or(time::Duration::ZERO);
        let fresh = |u: &PresignedUrl, now: OffsetDateTime| u.expires_at - now > half;
        let now = OffsetDateTime::now_utc();
        if let Some(u) = self.entries.lock().expect("not poisoned").get(key).filter(|u| fresh(u, now)) {
            return Ok(u.url.clone());
        }
        let signed = blobs.presign_get(key, ttl).await?;
        let mut entries = self.entries.lock().expect("not poisoned");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, u| fresh(u, now));
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), signed.clone());
        Ok(signed.url)
    }
}

pub struct AppState {
    pub blobs: Arc<dyn BlobStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub search: Arc<dyn SearchIndex>,
    pub auth: Arc<Verifier>,
    pub upload: UploadConfig,
    pub catalogue: CatalogueConfig,
    pub signed_urls: SignedUrls,
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

    /// The public view of a record, with a poster URL that works for at least half of `catalogue.media_url_ttl`.
    pub async fn view(&self, record: &VideoRecord) -> Result<Video, AppError> {
        let mut video = record.to_video();
        if record.status == VideoStatus::Ready
            && let Some(key) = record.media.as_ref().and_then(|m| m.poster_key.as_deref())
        {
            video.poster_url = Some(self.signed_urls.get(&*self.blobs, key, self.catalogue.media_url_ttl).await?);
        }
        Ok(video)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryBlobs;

    #[tokio::test]
    async fn signed_urls_are_reused_while_they_last() {
        let blobs = MemoryBlobs::default();
        let urls = SignedUrls::default();
        let ttl = Duration::from_secs(3600);
        let first = urls.get(&blobs, "media/a/poster.jpg", ttl).await.unwrap();
        assert_eq!(urls.get(&blobs, "media/a/poster.jpg", ttl).await.unwrap(), first);
        assert_ne!(urls.get(&blobs, "media/b/poster.jpg", ttl).await.unwrap(), first);
        // A URL with less than half its life left is signed again.
        let short = Duration::from_secs(1);
        let once = urls.get(&blobs, "media/c/poster.jpg", short).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_ne!(urls.get(&blobs, "media/c/poster.jpg", short).await.unwrap(), once);
    }
}
