//! In-memory fakes of the ports, for handler unit tests. They keep the contracts of the real adapters (conditional
//! writes, upload lifecycles) and nothing else; the adapters themselves are tested against real servers.

use async_trait::async_trait;
use framelift_shared::domain::{
    ETag, ListQuery, ObjectKey, Page, PageKey, PartNumber, SEARCH_FIELDS, SearchDocument, SearchHits, SearchText, StoredPart, UploadId,
    VideoId, VideoRecord, auto_fuzziness,
};
use framelift_shared::ports::{BlobStore, JobQueue, MetadataStore, ObjectStore, PresignedUrl, Readable, SearchIndex, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

/// Records in a map, replaced only when the version matches.
#[derive(Default)]
pub struct MemoryMetadata {
    records: Mutex<HashMap<VideoId, VideoRecord>>,
    writes: AtomicU64,
}

impl MemoryMetadata {
    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl MetadataStore for MemoryMetadata {
    async fn insert(&self, record: &VideoRecord) -> Result<(), StoreError> {
        let mut map = self.records.lock().unwrap();
        if map.contains_key(&record.id) {
            return Err(StoreError::Conflict);
        }
        map.insert(record.id, record.clone());
        self.wrote();
        Ok(())
    }

    async fn get(&self, id: &VideoId) -> Result<Option<VideoRecord>, StoreError> {
        Ok(self.records.lock().unwrap().get(id).cloned())
    }

    async fn replace(&self, next: &VideoRecord) -> Result<(), StoreError> {
        let mut map = self.records.lock().unwrap();
        let current = map.get(&next.id).ok_or(StoreError::NotFound)?;
        if current.version + 1 != next.version {
            return Err(StoreError::Conflict);
        }
        map.insert(next.id, next.clone());
        self.wrote();
        Ok(())
    }

    async fn delete(&self, id: &VideoId, version: u64) -> Result<(), StoreError> {
        let mut map = self.records.lock().unwrap();
        match map.get(id) {
            None => Err(StoreError::NotFound),
            Some(r) if r.version != version => Err(StoreError::Conflict),
            Some(_) => {
                map.remove(id);
                self.wrote();
                Ok(())
            }
        }
    }

    async fn list(&self, query: &ListQuery, limit: usize, after: Option<&PageKey>) -> Result<Page, StoreError> {
        let mut found: Vec<VideoRecord> =
            self.records.lock().unwrap().values().filter(|r| query.matches(r) && after.is_none_or(|k| k.is_before(r))).cloned().collect();
        found.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
        found.truncate(limit + 1);
        Ok(Page::from_overfetch(found, limit))
    }

    fn changes(&self) -> Option<u64> {
        Some(self.writes.load(Ordering::SeqCst))
    }
}

#[derive(Debug)]
struct Upload {
    key: ObjectKey,
    parts: BTreeMap<PartNumber, Vec<u8>>,
}

/// Multipart uploads held in memory. Its "presigned URLs" cannot be fetched; tests put parts with [`Self::put_part`].
#[derive(Default)]
pub struct MemoryBlobs {
    uploads: Mutex<HashMap<String, Upload>>,
    objects: Mutex<HashMap<String, (Vec<u8>, String)>>,
    next_id: AtomicU64,
}

fn etag_of(bytes: &[u8]) -> ETag {
    // FNV-1a: a fake needs distinct tags for distinct bytes, not MD5.
    let hash = bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3));
    ETag::new(&format!("{hash:016x}"))
}

impl MemoryBlobs {
    /// What a client's PUT to a part URL does: stores the bytes and answers with the ETag.
    pub fn put_part(&self, upload: &UploadId, part: PartNumber, bytes: &[u8]) -> Result<ETag, StoreError> {
        let mut uploads = self.uploads.lock().unwrap();
        let up = uploads.get_mut(upload.as_str()).ok_or(StoreError::NotFound)?;
        up.parts.insert(part, bytes.to_vec());
        Ok(etag_of(bytes))
    }

    /// The assembled object, once an upload completed.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        self.objects.lock().unwrap().get(key).map(|(b, _)| b.clone())
    }

    /// The content type an object was stored with.
    pub fn content_type(&self, key: &str) -> Option<String> {
        self.objects.lock().unwrap().get(key).map(|(_, t)| t.clone())
    }

    /// Every object key, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.objects.lock().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// How many multipart uploads are open.
    pub fn open_uploads(&self) -> usize {
        self.uploads.lock().unwrap().len()
    }
}

#[async_trait]
impl BlobStore for MemoryBlobs {
    async fn start_multipart(&self, key: &ObjectKey, _content_type: &str) -> Result<UploadId, StoreError> {
        let id = format!("mem-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        self.uploads.lock().unwrap().insert(id.clone(), Upload { key: key.clone(), parts: BTreeMap::new() });
        id.parse().map_err(StoreError::unavailable)
    }

    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload: &UploadId,
        part: PartNumber,
        size: u64,
        ttl: Duration,
    ) -> Result<PresignedUrl, StoreError> {
        if !self.uploads.lock().unwrap().contains_key(upload.as_str()) {
            return Err(StoreError::NotFound);
        }
        let expires_at = OffsetDateTime::now_utc() + ttl;
        Ok(PresignedUrl {
            url: format!("memory://{key}?uploadId={upload}&partNumber={part}&size={size}&expires={}", expires_at.unix_timestamp()),
            expires_at,
        })
    }

    async fn list_parts(&self, _key: &ObjectKey, upload: &UploadId) -> Result<Vec<StoredPart>, StoreError> {
        let uploads = self.uploads.lock().unwrap();
        let up = uploads.get(upload.as_str()).ok_or(StoreError::NotFound)?;
        Ok(up.parts.iter().map(|(n, b)| StoredPart { number: *n, etag: etag_of(b), size: b.len() as u64 }).collect())
    }

    async fn complete_multipart(&self, key: &ObjectKey, upload: &UploadId, parts: &[(PartNumber, ETag)]) -> Result<(), StoreError> {
        let mut uploads = self.uploads.lock().unwrap();
        let up = uploads.get(upload.as_str()).ok_or(StoreError::NotFound)?;
        if &up.key != key {
            return Err(StoreError::NotFound);
        }
        let mut object = Vec::new();
        for (n, etag) in parts {
            let bytes = up.parts.get(n).ok_or_else(|| StoreError::Rejected("InvalidPart".into()))?;
            if &etag_of(bytes) != etag {
                return Err(StoreError::Rejected("InvalidPart".into()));
            }
            object.extend_from_slice(bytes);
        }
        uploads.remove(upload.as_str());
        self.objects.lock().unwrap().insert(key.as_str().to_owned(), (object, "video/mp4".to_owned()));
        Ok(())
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<PresignedUrl, StoreError> {
        let expires_at = OffsetDateTime::now_utc() + ttl;
        Ok(PresignedUrl { url: format!("memory://{key}?expires={}", expires_at.unix_timestamp()), expires_at })
    }

    async fn abort_multipart(&self, _key: &ObjectKey, upload: &UploadId) -> Result<(), StoreError> {
        self.uploads.lock().unwrap().remove(upload.as_str());
        Ok(())
    }
}

static NEXT_COPY: AtomicU64 = AtomicU64::new(0);

#[async_trait]
impl ObjectStore for MemoryBlobs {
    async fn download(&self, key: &str, dest: &Path) -> Result<u64, StoreError> {
        let bytes = self.object(key).ok_or(StoreError::NotFound)?;
        std::fs::write(dest, &bytes).map_err(StoreError::unavailable)?;
        Ok(bytes.len() as u64)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        let mut objects = self.objects.lock().unwrap();
        let before = objects.len();
        objects.retain(|k, _| !k.starts_with(prefix));
        Ok(before - objects.len())
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.object(key).ok_or(StoreError::NotFound)
    }

    /// A copy of the object in a file of the system's temporary folder, which outlives the store.
    async fn readable(&self, key: &str, _ttl: Duration) -> Result<Readable, StoreError> {
        let bytes = self.object(key).ok_or(StoreError::NotFound)?;
        let dir = std::env::temp_dir().join(format!("framelift-memory-blobs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(StoreError::unavailable)?;
        let path = dir.join(format!("{:p}-{}", self, key.replace('/', "_")));
        // Written aside and renamed into place: a reader of an earlier copy keeps reading it whole.
        let aside = path.with_extension(format!("{}", NEXT_COPY.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&aside, &bytes).map_err(StoreError::unavailable)?;
        std::fs::rename(&aside, &path).map_err(StoreError::unavailable)?;
        Ok(Readable::File(path))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str, _cache_control: &str) -> Result<(), StoreError> {
        self.objects.lock().unwrap().insert(key.to_owned(), (bytes, content_type.to_owned()));
        Ok(())
    }

    async fn upload(&self, key: &str, src: &Path, content_type: &str, _cache_control: &str) -> Result<(), StoreError> {
        let bytes = std::fs::read(src).map_err(StoreError::unavailable)?;
        self.objects.lock().unwrap().insert(key.to_owned(), (bytes, content_type.to_owned()));
        Ok(())
    }
}

impl MemoryBlobs {
    /// Puts an object directly, as a finished upload would leave it.
    pub fn put_object(&self, key: &str, bytes: Vec<u8>) {
        self.objects.lock().unwrap().insert(key.to_owned(), (bytes, "video/mp4".to_owned()));
    }
}

/// Documents in a map, matched word by word with the rules of [`framelift_shared::domain::SearchText`]'s module: exact, within
/// `AUTO` edits, and the last word as a prefix, weighed by field. Small and slow; for handler tests.
#[derive(Default)]
pub struct MemorySearch {
    docs: Mutex<BTreeMap<VideoId, SearchDocument>>,
}

impl MemorySearch {
    fn score(doc: &SearchDocument, words: &[String]) -> f32 {
        let fields = [&doc.title, &doc.author, &doc.description].map(|f| framelift_shared::domain::words(f));
        let mut score = 0.0;
        for (i, word) in words.iter().enumerate() {
            let last = i + 1 == words.len();
            for (field, (_, boost)) in fields.iter().zip(SEARCH_FIELDS) {
                let allowed = usize::from(auto_fuzziness(word.chars().count()));
                for candidate in field {
                    score += if candidate == word {
                        2.0 * boost
                    } else if edit_distance(candidate, word) <= allowed || (last && candidate.starts_with(word.as_str())) {
                        boost
                    } else {
                        0.0
                    };
                }
            }
        }
        score
    }
}

#[async_trait]
impl SearchIndex for MemorySearch {
    async fn put(&self, doc: &SearchDocument) -> Result<(), StoreError> {
        self.docs.lock().unwrap().insert(doc.id, doc.clone());
        Ok(())
    }

    async fn remove(&self, id: &VideoId) -> Result<(), StoreError> {
        self.docs.lock().unwrap().remove(id);
        Ok(())
    }

    async fn search(&self, text: &SearchText, limit: usize) -> Result<SearchHits, StoreError> {
        let words = text.words();
        let docs = self.docs.lock().unwrap();
        let mut scored: Vec<(f32, &SearchDocument)> =
            docs.values().map(|d| (Self::score(d, &words), d)).filter(|(score, _)| *score > 0.0).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.created_at.cmp(&a.1.created_at)));
        Ok(SearchHits { total: scored.len() as u64, ids: scored.iter().take(limit).map(|(_, d)| d.id).collect() })
    }
}

/// Edits (insert, delete, substitute, swap of neighbours) between two words, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d: Vec<Vec<usize>> = (0..=a.len())
        .map(|i| {
            (0..=b.len())
                .map(|j| {
                    if i == 0 {
                        j
                    } else if j == 0 {
                        i
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// A queue that keeps what was sent, for handler tests to deliver by hand (as often and in whatever order they like).
#[derive(Default)]
pub struct MemoryQueue {
    sent: Mutex<Vec<String>>,
}

impl MemoryQueue {
    /// Everything sent so far, and forgets it.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.sent.lock().unwrap())
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn send(&self, jobs: &[String]) -> Result<(), StoreError> {
        self.sent.lock().unwrap().extend_from_slice(jobs);
        Ok(())
    }
}
