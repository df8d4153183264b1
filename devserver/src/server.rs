//! The one HTTP server of the local stack: API, storage and dev issuer on one listener.

use crate::config::{BUCKET, DevConfig};
use crate::cors::Cors;
use crate::encode_queue::EncodeQueue;
use crate::local_s3::LocalS3;
use crate::notifications::{self, EventRecorder, Trigger};
use crate::sqlite_store::SqliteMetadata;
use crate::tantivy_search::TantivySearch;
use crate::transcoder::Transcoder;
use crate::web::WebFiles;
use anyhow::Context;
use bytes::Bytes;
use framelift_aws::{s3::S3Blobs, static_sdk_config};
use framelift_dev_issuer::{AUDIENCE, DevIssuer, ISSUER};
use framelift_local::apigw::{self, RawRequest};
use framelift_shared::auth::{HttpKeySource, JwksCache, KeySource, Verifier};
use framelift_shared::config::CatalogueConfig;
use framelift_shared::domain::ObjectKey;
use framelift_shared::media_urls::StorageUrls;
use framelift_shared::routes::{Function, Lookup, lookup};
use framelift_shared::signing::SigningKey;
use framelift_shared::{AppError, AppState, PageCache};
use framelift_transcode::TranscodeState;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type HttpResponse = Response<BoxBody<Bytes, BoxError>>;

/// The largest request body the API accepts (API Gateway's limit).
const MAX_API_BODY: usize = 10 * 1024 * 1024;

/// How long a planned encode may go without a part recorded before the sweep queues its unfinished parts again. The
/// local queue loses nothing while the process lives (a restart takes everything over), so this only guards against
/// a worker that hangs.
const LOCAL_STALL: Duration = Duration::from_secs(30 * 60);

/// Everything the server holds: handler state, the S3 service, the issuer.
pub struct DevStack {
    state: AppState,
    s3: s3s::service::S3Service,
    issuer: DevIssuer,
    cors: Cors,
    web: WebFiles,
    events: Arc<EventRecorder>,
    public_url: String,
    blobs: Arc<S3Blobs>,
    transcoder: Option<Arc<Transcoder>>,
}

impl DevStack {
    /// Opens (or creates) the state in `config.data_dir` for a server that will listen at `addr`.
    pub async fn open(config: &DevConfig, addr: SocketAddr) -> anyhow::Result<Arc<Self>> {
        let data = &config.data_dir;
        std::fs::create_dir_all(data).with_context(|| format!("creating the state folder {}", data.display()))?;
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://localhost:{}", addr.port()));
        let loopback = format!("http://127.0.0.1:{}", addr.port());

        let (access_key, secret_key) = s3_credentials(data)?;
        let s3_root = data.join("s3");
        std::fs::create_dir_all(s3_root.join(BUCKET))?;
        let (created_tx, created_rx) = tokio::sync::mpsc::unbounded_channel();
        let local_s3 = LocalS3::new(&s3_root, created_tx).context("opening the local S3 folder")?;
        let mut builder = s3s::service::S3ServiceBuilder::new(local_s3);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(access_key.clone(), secret_key.clone()));
        let s3 = builder.build();

        let issuer = DevIssuer::load_or_create(data).context("loading the dev issuer's key")?;
        let sdk = static_sdk_config(&access_key, &secret_key);
        let blobs = Arc::new(S3Blobs::new(&sdk, BUCKET, Some(&public_url))?);
        let meta = Arc::new(SqliteMetadata::open(&data.join("metadata.sqlite3")).context("opening the metadata database")?);
        let search = Arc::new(TantivySearch::open(&data.join("search")).context("opening the search index")?);

        // The bucket's notification rule, as the template writes it: uploads/ triggers the planner, whose jobs go to the
        // in-process queue's workers. The transcoder reaches storage on loopback, whatever address clients use. The
        // recorder beside it keeps what was delivered, for tests and the log.
        let (queue, jobs) = EncodeQueue::new();
        let transcoding = Arc::new(TranscodeState {
            meta: meta.clone(),
            objects: Arc::new(S3Blobs::new(&sdk, BUCKET, Some(&loopback))?),
            search: search.clone(),
            queue: Arc::new(queue.clone()),
            tools: framelift_media::Tools::locate()?,
            work_root: data.join("work"),
            options: framelift_media::Options::default(),
            lease: Duration::from_secs(180),
            stall: LOCAL_STALL,
            segments_per_chunk: framelift_transcode::SEGMENTS_PER_CHUNK,
            faults: framelift_transcode::Faults::NONE,
        });
        if config.transcode_concurrency > 0 {
            queue.run(jobs, transcoding.clone(), config.transcode_concurrency);
        }
        let transcoder = Transcoder::new(transcoding, config.transcode_concurrency);
        let events = Arc::new(EventRecorder::default());
        let mut triggers = vec![Trigger { prefix: ObjectKey::UPLOADS_PREFIX, handler: events.clone() }];
        let transcoder = (config.transcode_concurrency > 0).then_some(transcoder);
        if let Some(t) = &transcoder {
            triggers.push(Trigger { prefix: ObjectKey::UPLOADS_PREFIX, handler: t.clone() });
        }
        tokio::spawn(notifications::deliver(created_rx, triggers));
        let jwks: Arc<dyn KeySource> = Arc::new(HttpKeySource::new(format!("{loopback}/dev/jwks.json")));
        let auth = Verifier::new(&[ISSUER.to_owned()], AUDIENCE, JwksCache::new(jwks, Duration::from_secs(5)));
        let catalogue = CatalogueConfig::with_key(signing_key(data)?);
        let state = AppState {
            objects: blobs.clone(),
            blobs: blobs.clone(),
            meta,
            search,
            media: Arc::new(StorageUrls(blobs.clone())),
            auth: Arc::new(auth),
            upload: config.upload.clone(),
            pages: PageCache::new(catalogue.page_cache_ttl),
            signed_urls: framelift_shared::state::SignedUrls::new(catalogue.media_url_ttl),
            catalogue,
        };
        Ok(Arc::new(Self {
            state,
            s3,
            issuer,
            cors: Cors { allowed_origins: config.allowed_origins.clone() },
            web: WebFiles::new(config.web_dir.clone().into_path_buf(), config.google_client_id.clone()),
            events,
            public_url,
            blobs,
            transcoder,
        }))
    }

    /// What the `uploads/` trigger has received.
    pub fn events(&self) -> &EventRecorder {
        &self.events
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A client of the in-process S3, signed with its credentials.
    pub fn s3_client(&self) -> &aws_sdk_s3::Client {
        self.blobs.client()
    }

    /// The S3 adapter the handlers use, on the in-process S3.
    pub fn s3_blobs(&self) -> &S3Blobs {
        &self.blobs
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Serves on `listener` until `shutdown` resolves, then lets open requests finish (up to 10 s).
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        // Storage is served from here on, so the transcoder can read sources: pick up what a previous run left.
        if let Some(t) = &self.transcoder {
            t.spawn_sweeps(Duration::from_secs(60));
        }
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let stack = self.clone();
                    let service = hyper::service::service_fn(move |req| stack.clone().dispatch(req, peer));
                    let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    let watched = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = watched.await;
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await.is_err() {
            tracing::warn!("requests still open after 10 s; stopping anyway");
        }
        Ok(())
    }

    async fn dispatch(self: Arc<Self>, req: Request<Incoming>, peer: SocketAddr) -> Result<HttpResponse, Infallible> {
        let started = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let origin = req.headers().get(header::ORIGIN).cloned();
        let is_s3 = path == format!("/{BUCKET}") || path.starts_with(&format!("/{BUCKET}/"));
        let mut res = if Cors::is_preflight(&method, req.headers()) {
            let methods = if is_s3 { "GET, PUT, HEAD" } else { "GET, POST, PUT, PATCH, DELETE" };
            self.cors.preflight::<Full<Bytes>>(req.headers(), methods).map(box_body)
        } else if is_s3 {
            self.storage(req).await
        } else if path == crate::openapi::PATH && method == Method::GET {
            json_response(StatusCode::OK, crate::openapi::document())
        } else if path.starts_with("/api/") {
            self.api(req, peer).await
        } else if path == "/dev/token" && method == Method::POST {
            self.dev_token(req).await
        } else if path == "/dev/jwks.json" && method == Method::GET {
            json_response(StatusCode::OK, self.issuer.jwks())
        } else if path == "/dev/health" && method == Method::GET {
            // The trivial handler: benchmarks measure the server's own floor against it.
            json_response(StatusCode::OK, &serde_json::json!({"status": "ok"}))
        } else if path == "/config.json" && method == Method::GET {
            json_response(StatusCode::OK, self.web.config())
        } else if method == Method::GET || method == Method::HEAD {
            self.web_file(&path).await
        } else {
            error_response(AppError::NotFound(format!("nothing is served at {path}")))
        };
        self.cors.decorate(origin.as_ref(), &mut res);
        // Parts are logged at debug level: a large upload is thousands of them.
        if is_s3 {
            tracing::debug!(%method, path, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "storage");
        } else {
            tracing::info!(%method, path, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
        }
        Ok(res)
    }

    async fn web_file(&self, path: &str) -> HttpResponse {
        match self.web.get(path).await {
            Some(file) => {
                let mut res = Response::new(Full::new(Bytes::from(file.bytes)).map_err(|e| match e {}).boxed());
                res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
                res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(file.cache_control));
                res
            }
            None if path == "/" && !self.web.built() => error_response(AppError::NotFound(
                "the web client is not built: run `make dev` (or `npm ci && npm run build` in web/)".into(),
            )),
            None => error_response(AppError::NotFound(format!("nothing is served at {path}"))),
        }
    }

    async fn storage(&self, req: Request<Incoming>) -> HttpResponse {
        match self.s3.call(req.map(s3s::Body::from)).await {
            Ok(res) => res.map(|b| b.map_err(|e| -> BoxError { e }).boxed()),
            Err(e) => {
                tracing::error!(error = ?e, "the local S3 failed");
                error_response(AppError::internal(anyhow::anyhow!("local S3: {e:?}")))
            }
        }
    }

    /// An API request: API Gateway's event, the `Request` lambda_http would make of it, the function's own handler.
    async fn api(&self, req: Request<Incoming>, peer: SocketAddr) -> HttpResponse {
        let (parts, body) = req.into_parts();
        let (route, params) = match lookup(&parts.method, parts.uri.path()) {
            Lookup::Found(route, params) => (route, params),
            Lookup::MethodNotAllowed(allowed) => {
                let mut res = error_response(AppError::MethodNotAllowed(format!(
                    "{} is not allowed here: use {}",
                    parts.method,
                    allowed.join(" or ")
                )));
                if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                    res.headers_mut().insert(header::ALLOW, v);
                }
                return res;
            }
            Lookup::NotFound => {
                return error_response(AppError::NotFound(format!("there is no API route {} {}", parts.method, parts.uri.path())));
            }
        };
        let body = match Limited::new(body, MAX_API_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return error_response(AppError::TooLarge(format!("the request body is larger than {} MiB", MAX_API_BODY >> 20))),
        };
        let raw = RawRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or("").to_owned(),
            // API Gateway terminates TLS and says so; the local stack speaks plain HTTP and says that.
            headers: parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .chain((!parts.headers.contains_key("x-forwarded-proto")).then(|| ("x-forwarded-proto".to_owned(), "http".to_owned())))
                .collect(),
            body: body.to_vec(),
            source_ip: peer.ip().to_string(),
        };
        let lambda_req = match apigw::to_request(apigw::event(route, &params, &raw)) {
            Ok(r) => r,
            Err(e) => return error_response(AppError::BadRequest(format!("the request could not be read: {e}"))),
        };
        let res = invoke(route.function, &self.state, lambda_req).await;
        res.map(|b| {
            let bytes = match b {
                lambda_http::Body::Text(text) => Bytes::from(text),
                lambda_http::Body::Binary(data) => Bytes::from(data),
                other => Bytes::from(other.to_vec()),
            };
            Full::new(bytes).map_err(|e| match e {}).boxed()
        })
    }

    async fn dev_token(&self, req: Request<Incoming>) -> HttpResponse {
        #[derive(serde::Deserialize)]
        struct TokenRequest {
            name: String,
        }
        let body = match Limited::new(req.into_body(), 64 * 1024).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return error_response(AppError::TooLarge("the request body is too large".into())),
        };
        let name = match serde_json::from_slice::<TokenRequest>(&body) {
            Ok(t) => t.name,
            Err(_) => return error_response(AppError::BadRequest("send {\"name\": \"Your name\"}".into())),
        };
        match self.issuer.token_for(&name) {
            Ok(token) => json_response(StatusCode::OK, &serde_json::json!({"token": token})),
            Err(e) => error_response(AppError::BadRequest(format!("{e}: type a name"))),
        }
    }
}

fn box_body(b: Full<Bytes>) -> BoxBody<Bytes, BoxError> {
    b.map_err(|e| match e {}).boxed()
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> HttpResponse {
    let mut res = Response::new(box_body(Full::new(Bytes::from(value.to_string()))));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn error_response(e: AppError) -> HttpResponse {
    e.log();
    json_response(e.status(), &e.body())
}

/// The secret paging cursors are signed with: made on first start and kept, private, in the state folder.
fn signing_key(data: &Path) -> anyhow::Result<SigningKey> {
    let path = data.join("signing-secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return SigningKey::from_secret(secret.trim()).map_err(|e| anyhow::anyhow!("{}: {e}; delete it to make a new one", path.display()));
    }
    let key = SigningKey::generate();
    framelift_dev_issuer::write_private(&path, key.as_secret().as_bytes())?;
    Ok(key)
}

/// The local S3's access key and secret: made at random on first start and kept, private, in the state folder.
fn s3_credentials(data: &Path) -> anyhow::Result<(String, String)> {
    use rand::Rng;
    let path = data.join("s3-credentials.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is damaged; delete it", path.display()))?;
        if let (Some(a), Some(s)) = (v["accessKeyId"].as_str(), v["secretAccessKey"].as_str()) {
            return Ok((a.to_owned(), s.to_owned()));
        }
    }
    let mut rng = rand::thread_rng();
    let mut pick = |n: usize, alphabet: &[u8]| (0..n).map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char).collect::<String>();
    let access = format!("FLLOCAL{}", pick(13, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
    let secret = pick(40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    let text = serde_json::json!({"accessKeyId": access, "secretAccessKey": secret}).to_string();
    framelift_dev_issuer::write_private(&path, text.as_bytes())?;
    Ok((access, secret))
}

/// A server running in the background, for tests and benchmarks.
pub struct RunningServer {
    pub stack: Arc<DevStack>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl RunningServer {
    /// Binds `127.0.0.1:0` and serves the state in `config.data_dir`; presigned URLs point at 127.0.0.1.
    pub async fn start(mut config: DevConfig) -> anyhow::Result<Self> {
        let listener = listen(&config).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://127.0.0.1:{}", addr.port());
        config.public_url.get_or_insert_with(|| url.clone());
        let stack = DevStack::open(&config, addr).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(stack.clone().serve(listener, async move {
            let _ = stopped.await;
        }));
        Ok(Self { stack, url, stop: Some(stop), task: Some(task) })
    }

    /// Stops accepting, lets open requests finish, and waits for the server to end.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }
}

/// The listener `config` asks for; a port in use says which, and how to pick another.
pub async fn listen(config: &DevConfig) -> anyhow::Result<TcpListener> {
    TcpListener::bind((config.bind.as_str(), config.port)).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "port {} on {} is already in use (another Framelift?): stop what holds it, or pick another port, e.g. PORT={} make dev",
            config.port,
            config.bind,
            config.port.wrapping_add(1)
        ),
        _ => anyhow::Error::new(e).context(format!("cannot listen on {}:{}", config.bind, config.port)),
    })
}

/// The function that serves a route, exactly as its Lambda's `main` calls it.
pub async fn invoke(function: Function, state: &AppState, req: lambda_http::Request) -> lambda_http::Response<lambda_http::Body> {
    match function {
        Function::Initialize => framelift_initialize::handle(state, req).await,
        Function::PartUrl => framelift_part_url::handle(state, req).await,
        Function::Complete => framelift_complete::handle(state, req).await,
        Function::Abort => framelift_abort::handle(state, req).await,
        Function::List => framelift_list::handle(state, req).await,
        Function::WatchUrl => framelift_watch_url::handle(state, req).await,
        Function::Delete => framelift_delete::handle(state, req).await,
        Function::Edit => framelift_edit::handle(state, req).await,
        Function::Search => framelift_search::handle(state, req).await,
    }
}
