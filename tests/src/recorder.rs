//! A recording HTTP server on loopback: it keeps every request it receives (method, path with query, JSON body) and
//! answers from a script, so a client's wire traffic can be pinned without the real service.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    /// Path and query, e.g. `/index/_doc/1?refresh=wait_for`.
    pub target: String,
    /// The body parsed as JSON (`Null` when empty).
    pub body: serde_json::Value,
}

/// Picks the status and JSON body to answer a request with.
pub type Script = dyn Fn(&Recorded) -> (u16, serde_json::Value) + Send + Sync;

pub struct Recorder {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    /// Starts serving on a free loopback port until the test's runtime ends.
    pub async fn start(script: impl Fn(&Recorded) -> (u16, serde_json::Value) + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, script) = (log.clone(), script.clone());
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let (log, script) = (log.clone(), script.clone());
                    async move {
                        let method = req.method().to_string();
                        let target = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
                        let bytes = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                        let recorded = Recorded { method, target, body };
                        let (status, answer) = script(&recorded);
                        log.lock().unwrap().push(recorded);
                        let mut res = hyper::Response::new(Full::new(Bytes::from(answer.to_string())));
                        *res.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        res.headers_mut().insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(res)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, requests }
    }

    /// Every request so far, in order, and forgets them.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}
