//! Cold start of each HTTP function's release binary: a small implementation of the Lambda Runtime API on loopback
//! (`next`, `response`, `error`, `init/error`) hands it one API Gateway event, and the time from exec to the response
//! is measured, with the binary's size. 5 starts per function, median and slowest. The event is refused before any
//! backend is called (no token, a bad parameter), so the figure is the function's own start-up: configuration, the SDK
//! clients, the JWKS client, the runtime loop, one request through lambda_http.
//!
//! Run by `make bench` after `cargo build --release` of the functions. The binaries are this machine's (x86_64); the
//! deployed ones are the same code cross-built for arm64.

use bytes::Bytes;
use framelift_local::apigw::{self, RawRequest};
use framelift_shared::routes::{ROUTES, lookup};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const STARTS: usize = 5;

/// What the runtime API hears back.
#[derive(Debug)]
enum Outcome {
    Response(u16),
    Error(String),
}

struct RuntimeApi {
    event: Mutex<Option<String>>,
    done: mpsc::UnboundedSender<Outcome>,
}

async fn serve(api: Arc<RuntimeApi>, req: hyper::Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let ok = |b: Bytes| hyper::Response::new(Full::new(b));
    if path.ends_with("/invocation/next") {
        let Some(event) = api.event.lock().unwrap().take() else {
            // One invocation per start: the next poll waits until the process is stopped.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Ok(ok(Bytes::new()));
        };
        let mut res = ok(Bytes::from(event));
        let h = res.headers_mut();
        h.insert("lambda-runtime-aws-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd".parse().unwrap());
        let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 10_000;
        h.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
        h.insert("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:000000000000:function:bench".parse().unwrap());
        h.insert("lambda-runtime-trace-id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".parse().unwrap());
        return Ok(res);
    }
    if path.ends_with("/response") {
        let status = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| v["statusCode"].as_u64()).unwrap_or(0);
        let _ = api.done.send(Outcome::Response(status as u16));
    } else if path.ends_with("/error") {
        let _ = api.done.send(Outcome::Error(String::from_utf8_lossy(&body).into_owned()));
    }
    let mut res = ok(Bytes::from_static(b"{\"status\":\"OK\"}"));
    *res.status_mut() = hyper::StatusCode::ACCEPTED;
    Ok(res)
}

/// A request each function refuses without touching storage, the database or the token issuer.
fn event_for(function: &str) -> serde_json::Value {
    let (method, path, query) = match function {
        "initialize" => ("POST", "/api/uploads", ""),
        "part-url" => ("GET", "/api/uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/parts", ""),
        "complete" => ("POST", "/api/uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/complete", ""),
        "abort" => ("DELETE", "/api/uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A", ""),
        "list" => ("GET", "/api/videos", "limit=0"),
        "watch-url" => ("GET", "/api/videos/not-an-id/watch", ""),
        "delete" => ("DELETE", "/api/videos/01JDX3W9K7Q4T2B8N6M5R0ZC1A", ""),
        "search" => ("GET", "/api/search", ""),
        other => panic!("no cold-start request for {other}"),
    };
    let raw = RawRequest {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers: vec![("host".into(), "api.example".into())],
        body: vec![],
        source_ip: "127.0.0.1".into(),
    };
    let framelift_shared::routes::Lookup::Found(route, params) = lookup(&method.parse().unwrap(), path) else { panic!("{path}") };
    apigw::event_json(&apigw::event(route, &params, &raw))
}

#[tokio::main]
async fn main() {
    let release = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release"));
    let mut functions: Vec<&str> = ROUTES.iter().map(|r| r.function.name()).collect();
    functions.sort();
    functions.dedup();
    println!("cold start: {STARTS} starts per function, exec to first response, against a local Lambda Runtime API");
    println!();
    println!("| function | binary (MiB) | median (ms) | slowest (ms) | status |");
    println!("| --- | --- | --- | --- | --- |");
    for function in functions {
        let binary = release.join(format!("framelift-{function}"));
        let Ok(meta) = std::fs::metadata(&binary) else {
            println!("| {function} | not built: cargo build --release -p framelift-{function} | | | |");
            continue;
        };
        let mut times = Vec::new();
        let mut last = String::new();
        for _ in 0..STARTS {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let api = Arc::new(RuntimeApi { event: Mutex::new(Some(event_for(function).to_string())), done: tx });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let api = api.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| serve(api.clone(), req));
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            let started = Instant::now();
            let mut child = tokio::process::Command::new(&binary)
                .env_clear()
                .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", format!("framelift-{function}"))
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
                .env("AWS_REGION", "eu-west-1")
                .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
                .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
                .env("AWS_SESSION_TOKEN", "bench-session")
                .env("FRAMELIFT_BUCKET", "framelift-media-bench")
                .env("FRAMELIFT_TABLE", "framelift-videos")
                .env("FRAMELIFT_OPENSEARCH_URL", "https://search-bench.eu-west-1.es.amazonaws.com")
                .env("FRAMELIFT_AUTH_AUDIENCE", "bench.apps.googleusercontent.com")
                .env("FRAMELIFT_SIGNING_SECRET", "0123456789abcdef0123456789abcdef0123456789abcdef")
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let outcome = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
            let elapsed = started.elapsed();
            let _ = child.kill().await;
            server.abort();
            match outcome {
                Ok(Some(Outcome::Response(status))) => {
                    times.push(elapsed);
                    last = status.to_string();
                }
                Ok(Some(Outcome::Error(e))) => last = format!("error: {}", e.chars().take(80).collect::<String>()),
                _ => last = "no response in 10 s".into(),
            }
        }
        times.sort();
        let mib = meta.len() as f64 / (1024.0 * 1024.0);
        if times.is_empty() {
            println!("| {function} | {mib:.1} | - | - | {last} |");
        } else {
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!("| {function} | {mib:.1} | {:.1} | {:.1} | {last} |", ms(times[times.len() / 2]), ms(*times.last().unwrap()));
        }
    }
}
