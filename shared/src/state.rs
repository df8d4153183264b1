//! [`AppState`]: the dependencies of every handler, built once at cold start (from AWS or from the embedded backends)
//! and lent to each request.

use crate::auth::{Caller, Verifier};
use crate::config::{CatalogueConfig, UploadConfig};
use crate::domain::{Video, VideoId, VideoRecord, VideoStatus};
use crate::error::AppError;
use crate::http::bearer_token;
use crate::ports::{BlobStore, MetadataStore, ObjectStore, PresignedUrl, SearchIndex, StoreError};
use lambda_http::Request;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Signed object URLs, reused while they have at least half their life left: a poster URL can serve many readers, and
/// a page of videos need not sign twenty URLs again for each of them. Bounded; cleared when full.
#[derive(Default)]
pub struct SignedUrls {
    entries: std::sync::Mutex<HashMap<String, PresignedUrl>>,
}

impl SignedUrls {
    const MAX_ENTRIES: usize = 10_000;

    /// A URL for `key` that works for at least half of `ttl`, with the moment it stops working.
    pub async fn get(&self, blobs: &dyn BlobStore, key: &str, ttl: Duration) -> Result<PresignedUrl, StoreError> {
        let half = time::Duration::try_from(ttl / 2).unwrap_or(time::Duration::ZERO);
        let fresh = |u: &PresignedUrl, now: OffsetDateTime| u.expires_at - now > half;
        let now = OffsetDateTime::now_utc();
        if let Some(u) = self.entries.lock().expect("not poisoned").get(key).filter(|u| fresh(u, now)) {
            return Ok(u.clone());
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
        Ok(signed)
    }
}

/// Ready videos' public views, rendered as JSON (a page of search results, a video's detail), for a store that counts
/// its writes ([`MetadataStore::changes`]): a view is served from here only while nothing was written since its record
/// was read and while its poster URL has half its life left, so it is never stale. Against a store that cannot count
/// (DynamoDB) nothing is kept. Bounded; cleared when full.
#[derive(Default)]
pub struct ReadyViews {
    /// Read by every search and detail at once, written only when a view is made: readers do not wait for each other.
    entries: std::sync::RwLock<HashMap<VideoId, RenderedView>>,
}

struct RenderedView {
    json: Arc<RawValue>,
    changes: u64,
    fresh_until: OffsetDateTime,
}

impl RenderedView {
    fn current(&self, changes: u64, now: OffsetDateTime) -> bool {
        self.changes == changes && self.fresh_until > now
    }
}

/// Views made for one request, by id: `None` for a video that does not exist or is not ready.
type Made = HashMap<VideoId, Option<Arc<RawValue>>>;

impl ReadyViews {
    const MAX_ENTRIES: usize = 20_000;

    /// The view of `id`, if kept and still current.
    fn get(&self, id: &VideoId, changes: u64, now: OffsetDateTime) -> Option<Arc<RawValue>> {
        self.entries.read().expect("not poisoned").get(id).filter(|v| v.current(changes, now)).map(|v| v.json.clone())
    }

    /// Appends to `out` the views of `ids` as one JSON array, in the order asked, each taken from `made` or else from
    /// here (kept and current at `changes`; nothing is, at `None`), and returns how many it holds; if any is in neither,
    /// leaves `out` as it was and returns their ids. The views are copied straight into `out` under one read lock: a
    /// page of search results is twenty views spread over memory, and cloning twenty `Arc`s would wait for each one's
    /// cache miss in turn before copying.
    fn write_array(
        &self,
        ids: &[VideoId],
        changes: Option<u64>,
        now: OffsetDateTime,
        made: &Made,
        out: &mut String,
    ) -> Result<usize, Vec<VideoId>> {
        let entries = self.entries.read().expect("not poisoned");
        let mut views = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match made.get(id) {
                Some(view) => views.extend(view.as_deref().map(RawValue::get)),
                None => match entries.get(id).filter(|v| changes.is_some_and(|c| v.current(c, now))) {
                    Some(v) => views.push(v.json.get()),
                    None => missing.push(*id),
                },
            }
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        // Room for the array, and for a little that the caller may close its document with.
        out.reserve(views.iter().map(|v| v.len() + 1).sum::<usize>() + 64);
        out.push('[');
        for (i, view) in views.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(view);
        }
        out.push(']');
        Ok(views.len())
    }

    fn keep(&self, id: VideoId, view: RenderedView) {
        let mut entries = self.entries.write().expect("not poisoned");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id, view);
    }
}

/// Finished pages of the public catalogue (the same for every viewer), kept for at most `ttl`. A page is served from
/// here only while it is younger than `ttl` and, for a store that counts its writes ([`MetadataStore::changes`]),
/// only while nothing was written since it was read: locally a page is never stale; against DynamoDB it may lag a
/// change by up to `ttl`. One page is made at a time, so a crowd arriving at an empty or expired entry makes it once
/// rather than once each. Bounded; cleared when full. A `ttl` of zero keeps nothing.
pub struct PageCache {
    ttl: Duration,
    entries: std::sync::Mutex<HashMap<String, CachedPage>>,
    making: tokio::sync::Mutex<()>,
}

struct CachedPage {
    body: String,
    made: std::time::Instant,
    changes: Option<u64>,
}

impl PageCache {
    const MAX_ENTRIES: usize = 256;

    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Default::default(), making: Default::default() }
    }

    /// The page under `key` while current, else the one `make` makes (kept if it succeeds). `changes` reads the store's
    /// [`MetadataStore::changes`]; it is read before the page is made, so a write during the making only wastes it.
    pub async fn get_or_make<E, Fut>(&self, key: String, changes: impl Fn() -> Option<u64>, make: impl FnOnce() -> Fut) -> Result<String, E>
    where
        Fut: std::future::Future<Output = Result<String, E>>,
    {
        if self.ttl.is_zero() {
            return make().await;
        }
        if let Some(body) = self.current(&key, changes()) {
            return Ok(body);
        }
        let _one_at_a_time = self.making.lock().await;
        let before = changes();
        if let Some(body) = self.current(&key, before) {
            return Ok(body);
        }
        let body = make().await?;
        let mut entries = self.entries.lock().expect("not poisoned");
        if entries.len() >= Self::MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, CachedPage { body: body.clone(), made: std::time::Instant::now(), changes: before });
        Ok(body)
    }

    fn current(&self, key: &str, changes: Option<u64>) -> Option<String> {
        let entries = self.entries.lock().expect("not poisoned");
        entries.get(key).filter(|p| p.made.elapsed() < self.ttl && p.changes == changes).map(|p| p.body.clone())
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
    /// Public catalogue pages (`catalogue.page_cache_ttl`).
    pub pages: PageCache,
    pub ready_views: ReadyViews,
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
        Ok(self.view_until(record).await?.0)
    }

    /// The view, and until when it may be shown again (when its poster URL has half its life left).
    async fn view_until(&self, record: &VideoRecord) -> Result<(Video, OffsetDateTime), AppError> {
        let mut video = record.to_video();
        let ttl = self.catalogue.media_url_ttl;
        let mut fresh_until = OffsetDateTime::now_utc() + ttl;
        if record.status == VideoStatus::Ready
            && let Some(key) = record.media.as_ref().and_then(|m| m.poster_key.as_deref())
        {
            let poster = self.signed_urls.get(&*self.blobs, key, ttl).await?;
            fresh_until = poster.expires_at - ttl / 2;
            video.poster_url = Some(poster.url);
        }
        Ok((video, fresh_until))
    }

    /// Appends to `out` the public views of the ready videos among `ids`, in the order asked, as one JSON array of
    /// [`Video`]s, and returns how many it holds: one that does not exist or is not ready is left out. See
    /// [`ReadyViews`].
    pub async fn write_ready_views(&self, ids: &[VideoId], out: &mut String) -> Result<usize, AppError> {
        let now = OffsetDateTime::now_utc();
        let mut made = Made::new();
        // Each round makes every view missing from the last, so `made` grows until nothing is missing.
        loop {
            let changes = self.meta.changes();
            let missing = match self.ready_views.write_array(ids, changes, now, &made, out) {
                Ok(count) => return Ok(count),
                Err(missing) => missing,
            };
            let mut records = self.meta.get_many(&missing).await?.into_iter();
            for id in missing {
                let view = match records.next().flatten() {
                    Some(record) if record.status == VideoStatus::Ready => Some(self.render(&record, changes).await?),
                    _ => None,
                };
                made.insert(id, view);
            }
        }
    }

    /// One video: its public view if it is ready, else its record if there is one. See [`ReadyViews`].
    pub async fn find_view(&self, id: &VideoId) -> Result<Found, AppError> {
        let changes = self.meta.changes();
        if let Some(view) = changes.and_then(|changes| self.ready_views.get(id, changes, OffsetDateTime::now_utc())) {
            return Ok(Found::Ready(view));
        }
        Ok(match self.meta.get(id).await? {
            Some(record) if record.status == VideoStatus::Ready => Found::Ready(self.render(&record, changes).await?),
            Some(record) => Found::NotReady(Box::new(record)),
            None => Found::Missing,
        })
    }

    /// A ready record's public view as JSON, kept for others when the store counts its writes (`changes` read before
    /// the record was).
    async fn render(&self, record: &VideoRecord, changes: Option<u64>) -> Result<Arc<RawValue>, AppError> {
        let (video, fresh_until) = self.view_until(record).await?;
        let json: Arc<RawValue> = serde_json::value::to_raw_value(&video).map_err(AppError::internal)?.into();
        if let Some(changes) = changes {
            self.ready_views.keep(record.id, RenderedView { json: json.clone(), changes, fresh_until });
        }
        Ok(json)
    }
}

/// What [`AppState::find_view`] found.
pub enum Found {
    /// A ready video's public view, rendered.
    Ready(Arc<RawValue>),
    /// A video that is not ready: its owner's business.
    NotReady(Box<VideoRecord>),
    Missing,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryBlobs;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    async fn made(cache: &PageCache, count: &AtomicUsize, changes: Option<u64>) -> String {
        cache
            .get_or_make::<(), _>(
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
