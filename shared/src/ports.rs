//! The ports: small traits between the handlers and whatever backs them. On AWS they are S3 and DynamoDB; in the local
//! stack an in-process S3 server and an embedded store; in unit tests the in-memory fakes. Handlers never know which.

use crate::domain::{
    ETag, ListQuery, ObjectKey, Page, PageKey, PartNumber, SearchDocument, SearchHits, SearchText, StoredPart, UploadId, VideoId,
    VideoRecord,
};
use async_trait::async_trait;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

/// A failure of a backend, sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing is not there (no such record, no such multipart upload).
    #[error("not found")]
    NotFound,
    /// A conditional write lost: the record exists already, or changed since it was read.
    #[error("conditional write lost")]
    Conflict,
    /// Storage refused the request as given (for example a part it does not hold).
    #[error("storage rejected the request: {0}")]
    Rejected(String),
    /// The backend failed or could not be reached; worth a retry later.
    #[error("backend unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable(Box::new(e))
    }
}

/// A presigned request a client can make without credentials until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    pub url: String,
    pub expires_at: OffsetDateTime,
}

/// Multipart uploads straight from the client to the bucket.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Starts a multipart upload of `key`; the content type is what storage will serve it as.
    async fn start_multipart(&self, key: &ObjectKey, content_type: &str) -> Result<UploadId, StoreError>;
    /// A URL that lets whoever holds it PUT part `part` of the upload, of exactly `size` bytes (the length is signed:
    /// storage refuses a body of any other length), until `ttl` has passed.
    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload: &UploadId,
        part: PartNumber,
        size: u64,
        ttl: Duration,
    ) -> Result<PresignedUrl, StoreError>;
    /// Every part storage holds for the upload, ordered by part number. `NotFound` if the upload is gone.
    async fn list_parts(&self, key: &ObjectKey, upload: &UploadId) -> Result<Vec<StoredPart>, StoreError>;
    /// Assembles the object from `parts` (in order). `NotFound` if the upload is gone (completed or aborted).
    async fn complete_multipart(&self, key: &ObjectKey, upload: &UploadId, parts: &[(PartNumber, ETag)]) -> Result<(), StoreError>;
    /// Drops the upload and every part. Aborting an upload that is gone is not an error.
    async fn abort_multipart(&self, key: &ObjectKey, upload: &UploadId) -> Result<(), StoreError>;
    /// A URL that lets whoever holds it GET the object at `key` until `ttl` has passed (the bucket stays private).
    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<PresignedUrl, StoreError>;
}

/// Where viewers fetch a video's media (segments, posters): URLs of stored objects that stop working at `expires`.
/// Presigned storage URLs (`crate::media_urls::StorageUrls`), or a CDN's signed URLs in front of the bucket.
#[async_trait]
pub trait MediaUrls: Send + Sync {
    /// A URL of each of `keys`, in order; every key is inside `video`'s media folder.
    async fn urls(&self, video: &VideoId, keys: &[String], expires: OffsetDateTime) -> Result<Vec<String>, StoreError>;
}

/// Whole objects: what the transcoder reads and writes.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Streams the object at `key` into the file `dest`. `NotFound` if there is none.
    async fn download(&self, key: &str, dest: &Path) -> Result<u64, StoreError>;
    /// Uploads the file `src` to `key` with the headers storage will serve it with.
    async fn upload(&self, key: &str, src: &Path, content_type: &str, cache_control: &str) -> Result<(), StoreError>;
    /// Stores a small object (captions) from memory, with the headers storage will serve it with.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str, cache_control: &str) -> Result<(), StoreError>;
    /// The bytes of a small object (a playlist). `NotFound` if there is none.
    async fn read(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// Deletes every object whose key starts with `prefix` (none is not an error); returns how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError>;
    /// Where another process (ffmpeg) can read the object at `key` until `ttl` has passed, without holding all of it:
    /// an address that answers range requests, or a file on this machine. `NotFound` if there is no such object.
    async fn readable(&self, key: &str, ttl: Duration) -> Result<Readable, StoreError>;
}

/// Where an object can be read from outside this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable {
    /// An http(s) address (presigned: it works without credentials until it expires).
    Url(String),
    /// A file on this machine (a store that keeps its objects in memory writes one).
    File(std::path::PathBuf),
}

/// Work handed to other invocations: each job is delivered at least once, in any order, and again after a failure
/// until the queue gives up on it (then it goes to a dead-letter queue).
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Sends every job (each a JSON body), all or an error.
    async fn send(&self, jobs: &[String]) -> Result<(), StoreError>;
}

/// The catalogue's records, written only by conditional writes so that concurrent writers cannot lose each other's work.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Stores a new record. `Conflict` if one with the same id exists.
    async fn insert(&self, record: &VideoRecord) -> Result<(), StoreError>;
    /// The record, if there is one.
    async fn get(&self, id: &VideoId) -> Result<Option<VideoRecord>, StoreError>;
    /// The records of `ids` in the order asked (`None` where there is none): a page of search results. A store that
    /// can read many in one go says so; this one reads them one by one, all at once.
    async fn get_many(&self, ids: &[VideoId]) -> Result<Vec<Option<VideoRecord>>, StoreError> {
        futures::future::try_join_all(ids.iter().map(|id| self.get(id))).await
    }
    /// Replaces the stored record with `next` only if the stored one has version `next.version - 1`; `Conflict`
    /// otherwise (someone else wrote first), `NotFound` if there is none.
    async fn replace(&self, next: &VideoRecord) -> Result<(), StoreError>;
    /// Deletes the record only if the stored one has version `version`; `Conflict` otherwise, `NotFound` if none.
    async fn delete(&self, id: &VideoId, version: u64) -> Result<(), StoreError>;
    /// Up to `limit` records matching `query`, newest first, starting after `after`; an index query, never a scan.
    async fn list(&self, query: &ListQuery, limit: usize, after: Option<&PageKey>) -> Result<Page, StoreError>;
    /// A number that moves on with every write, for a store that sees every write (one only this process writes to):
    /// what was read while it stood still is still current. `None` for a store others write to as well (DynamoDB).
    fn changes(&self) -> Option<u64> {
        None
    }
}

/// The search index of ready videos. Written when a video becomes ready, cleared when it is deleted; its matching rules
/// are those of [`crate::domain::SearchText`]'s module.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Adds the document, or replaces the one with the same id. Searchable once this returns.
    async fn put(&self, doc: &SearchDocument) -> Result<(), StoreError>;
    /// Removes the document with this id; one that is not there is not an error. Gone from results once this returns.
    async fn remove(&self, id: &VideoId) -> Result<(), StoreError>;
    /// Up to `limit` best matches for `text`, best first, and the number of all matches.
    async fn search(&self, text: &SearchText, limit: usize) -> Result<SearchHits, StoreError>;
}
