//! [`AppState`]: the dependencies of every handler, built once at cold start (from AWS or from the embedded backends)
//! and lent to each request.

use crate::auth::{Caller, Verifier};
use crate::config::{CatalogueConfig, UploadConfig};
use crate::domain::{Video, VideoId, VideoRecord, VideoStatus};
use crate::error::AppError;
use crate::http::bearer_token;
use crate::ports::{BlobStore, MediaUrls, MetadataStore, ObjectStore, SearchIndex, StoreError};
use lambda_http::Request;
use std::sync::Arc;
use std::time::Duration;

/// Signed poster URLs, each reused for half its life, at most 10,000 kept.
pub struct SignedUrls(moka::future::Cache<String, String>);

impl SignedUrls {
    /// For URLs that live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self(moka::future::Cache::builder().max_capacity(10_000).time_to_live(ttl / 2).build())
    }

    /// A URL of `video`'s object `key` that works for at least half of `ttl`.
    pub async fn get(&self, media: &dyn MediaUrls, video: &VideoId, key: &str, ttl: Duration) -> Result<String, StoreError> {
        let sign = async {
            let mut urls = media.urls(video, &[key.to_owned()], time::OffsetDateTime::now_utc() + ttl).await?;
            urls.pop().ok_or_else(|| StoreError::Rejected(format!("no URL was signed for {key}")))
        };
        // A failure shared by callers who asked together reaches each of them as unavailability.
        self.0
            .try_get_with_by_ref(key, sign)
            .await
            .map_err(|e| Arc::try_unwrap(e).unwrap_or_else(|e| StoreError::Unavailable(e.to_string().into())))
    }
}

/// Finished pages of the public catalogue (the same for every viewer): each served again for up to `ttl`, under its
/// key and the store's write count where the store counts its writes (so locally a page is never stale, and against
/// DynamoDB it may lag a change by up to `ttl`); made once for a crowd that asks together. A `ttl` of zero keeps nothing.
pub struct PageCache(Option<moka::future::Cache<(String, Option<u64>), String>>);

impl PageCache {
    pub fn new(ttl: Duration) -> Self {
        Self((!ttl.is_zero()).then(|| moka::future::Cache::builder().max_capacity(256).time_to_live(ttl).build()))
    }

    /// The page under `key` while current, else the one `make` makes (kept if it succeeds). `changes` reads the store's
    /// [`MetadataStore::changes`]; it is read before the page is made, so a write during the making only wastes it.
    pub async fn get_or_make<Fut>(
        &self,
        key: String,
        changes: impl Fn() -> Option<u64>,
        make: impl FnOnce() -> Fut,
    ) -> Result<String, AppError>
    where
        Fut: std::future::Future<Output = Result<String, AppError>>,
    {
        match &self.0 {
            None => make().await,
            // A failure shared by callers who asked together reaches each of them as an internal error.
            Some(pages) => pages
                .try_get_with((key, changes()), make())
                .await
                .map_err(|e| Arc::try_unwrap(e).unwrap_or_else(|e| AppError::Internal(anyhow::anyhow!("making a page: {e}")))),
        }
    }
}

pub struct AppState {
    pub blobs: Arc<dyn BlobStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub search: Arc<dyn SearchIndex>,
    /// Where viewers fetch segments and posters.
    pub media: Arc<dyn MediaUrls>,
    pub auth: Arc<Verifier>,
    pub upload: UploadConfig,
    pub catalogue: CatalogueConfig,
    /// Poster URLs (`catalogue.media_url_ttl`).
    pub signed_urls: SignedUrls,
    /// Public catalogue pages (`catalogue.page_cache_ttl`).
    pub pages: PageCache,
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
            video.poster_url = Some(self.signed_urls.get(&*self.media, &record.id, key, self.catalogue.media_url_ttl).await?);
        }
        Ok(video)
    }

    /// Appends to `out` the public views of the listed videos (ready and public) among `ids`, in the order asked, as
    /// one JSON array of [`Video`]s, and returns how many it holds: one that does not exist or is not listed is left out.
    pub async fn write_listed_views(&self, ids: &[VideoId], out: &mut String) -> Result<usize, AppError> {
        let mut views = Vec::with_capacity(ids.len());
        for record in self.meta.get_many(ids).await?.into_iter().flatten() {
            if record.is_listed() {
                views.push(self.view(&record).await?);
            }
        }
        out.push_str(&serde_json::to_string(&views).map_err(AppError::internal)?);
        Ok(views.len())
    }

    /// The video `id` if `viewer` may see it ([`VideoRecord::is_visible_to`]), else a 404 that does not say whether it
    /// exists.
    pub async fn visible_record(&self, id: &VideoId, viewer: Option<&Caller>) -> Result<VideoRecord, AppError> {
        match self.meta.get(id).await? {
            Some(record) if record.is_visible_to(viewer.map(|c| &c.id)) => Ok(record),
            _ => Err(AppError::NotFound(format!("there is no video with id '{id}'"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn made(cache: &PageCache, count: &AtomicUsize, changes: Option<u64>) -> String {
        cache
            .get_or_make(
                "20:".into(),
                || changes,
                || async {
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(format!("page {n}"))
                },
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_crowd_at_an_empty_entry_makes_the_page_once() {
        let (cache, count) = (Arc::new(PageCache::new(Duration::from_secs(60))), Arc::new(AtomicUsize::new(0)));
        let crowd: Vec<_> = (0..32)
            .map(|_| {
                let (cache, count) = (cache.clone(), count.clone());
                tokio::spawn(async move { made(&cache, &count, Some(7)).await })
            })
            .collect();
        for visitor in crowd {
            assert_eq!(visitor.await.unwrap(), "page 0");
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_write_or_the_time_limit_ends_a_page() {
        let (cache, count) = (PageCache::new(Duration::from_millis(200)), AtomicUsize::new(0));
        assert_eq!(made(&cache, &count, Some(1)).await, "page 0");
        assert_eq!(made(&cache, &count, Some(1)).await, "page 0", "unchanged: served again");
        assert_eq!(made(&cache, &count, Some(2)).await, "page 1", "the store was written: made again");
        assert_eq!(made(&cache, &count, None).await, "page 2");
        assert_eq!(made(&cache, &count, None).await, "page 2", "a store that cannot tell: served while young");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(made(&cache, &count, None).await, "page 3", "too old: made again");
        let off = PageCache::new(Duration::ZERO);
        assert_eq!(made(&off, &count, Some(1)).await, "page 4");
        assert_eq!(made(&off, &count, Some(1)).await, "page 5", "a zero time keeps nothing");
    }
}
