//! A stand-in for the Lambda service: each function's real binary in a sandbox (a process with the template's
//! environment and its own `/tmp`), fed through the Lambda runtime API, stopped at its timeout, and invoked
//! synchronously (API Gateway) or asynchronously (S3 notifications, schedules) with Lambda's retries and on-failure
//! destination.
//!
//! Why not cargo-lambda's emulator here (the staged sample-event test does use it): cargo-lambda 1.9.2 gives every
//! invocation `Lambda-Runtime-Deadline-Ms: 600000`, a duration where Lambda gives the deadline in Unix milliseconds,
//! so a function that plans by its deadline (the transcoder) sees none left; and it never stops a function at its
//! timeout, which is what the failure tests need. AWS's runtime interface emulator is not obtainable here (GitHub
//! releases only). The runtime API served here is the four documented routes.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// Why an invocation did not return a result, as Lambda reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The handler returned an error (`Unhandled`); the sandbox stays.
    Error(Value),
    /// The function ran past its timeout and was stopped (`Task timed out after N seconds`).
    TimedOut(Duration),
    /// The runtime exited during the invocation (`Runtime.ExitError`).
    Exited(String),
}

impl Failure {
    /// The `responsePayload` Lambda puts in a failure record.
    pub fn payload(&self) -> Value {
        match self {
            Failure::Error(v) => v.clone(),
            Failure::TimedOut(t) => json!({"errorMessage": format!("Task timed out after {:.2} seconds", t.as_secs_f64())}),
            Failure::Exited(why) => json!({"errorType": "Runtime.ExitError", "errorMessage": why}),
        }
    }
}

/// What a sandbox has been through, for the figures.
#[derive(Debug, Default)]
pub struct Counts {
    pub invocations: AtomicU32,
    pub cold_starts: AtomicU32,
    pub errors: AtomicU32,
    pub timeouts: AtomicU32,
    pub exits: AtomicU32,
}

struct Invocation {
    id: String,
    event: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<Result<Bytes, Bytes>>,
}

/// The runtime API of one sandbox.
struct RuntimeApi {
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Result<Bytes, Bytes>>>>,
    function_arn: String,
}

impl RuntimeApi {
    async fn serve(self: Arc<Self>, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let accepted = || respond(202, Bytes::from_static(b"{\"status\":\"OK\"}"), &[]);
        match (method.as_str(), parts.as_slice()) {
            ("GET", ["2018-06-01", "runtime", "invocation", "next"]) => {
                let Some(inv) = self.next.lock().await.recv().await else { return respond(500, Bytes::new(), &[]) };
                self.waiting.lock().unwrap().insert(inv.id.clone(), inv.reply);
                let deadline = inv.deadline_ms.to_string();
                let trace = format!("Root=1-{:08x}-{}", inv.deadline_ms / 1000, &inv.id[..24.min(inv.id.len())]);
                respond(
                    200,
                    inv.event,
                    &[
                        ("lambda-runtime-aws-request-id", &inv.id),
                        ("lambda-runtime-deadline-ms", &deadline),
                        ("lambda-runtime-invoked-function-arn", &self.function_arn),
                        ("lambda-runtime-trace-id", &trace),
                    ],
                )
            }
            ("POST", ["2018-06-01", "runtime", "invocation", id, outcome @ ("response" | "error")]) => {
                if let Some(reply) = self.waiting.lock().unwrap().remove(*id) {
                    let _ = reply.send(if *outcome == "response" { Ok(body) } else { Err(body) });
                }
                accepted()
            }
            ("POST", ["2018-06-01", "runtime", "init", "error"]) => {
                eprintln!("{}: init error: {}", self.function_arn, String::from_utf8_lossy(&body));
                accepted()
            }
            _ => respond(404, Bytes::new(), &[]),
        }
    }
}

/// A response of `status` with `body` and `headers`.
pub(crate) fn respond(status: u16, body: Bytes, headers: &[(&str, &str)]) -> hyper::Response<Full<Bytes>> {
    let mut res = hyper::Response::new(Full::new(body));
    *res.status_mut() = hyper::StatusCode::from_u16(status).expect("a status");
    for (k, v) in headers {
        let name = hyper::header::HeaderName::from_bytes(k.as_bytes()).expect("a header name");
        res.headers_mut().insert(name, v.parse().expect("a header value"));
    }
    res
}

/// Serves `service` on `listener` until the runtime ends.
pub(crate) fn serve<F, Fut>(listener: tokio::net::TcpListener, service: F)
where
    F: Fn(hyper::Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            let svc = hyper::service::service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, std::convert::Infallible>(service(req).await) }
            });
            tokio::spawn(async move {
                let _ =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
}

/// One function: its binary, environment and timeout, one sandbox that runs one invocation at a time.
pub struct LambdaFunction {
    pub name: String,
    binary: PathBuf,
    env: Mutex<Vec<(String, String)>>,
    pub timeout: Duration,
    /// The sandbox's `/tmp` (its `TMPDIR`): kept across invocations and restarts, as a warm sandbox keeps it.
    pub tmp: PathBuf,
    runtime_api: String,
    queue: mpsc::UnboundedSender<Invocation>,
    api: Arc<RuntimeApi>,
    process: Mutex<Option<Child>>,
    one_at_a_time: tokio::sync::Mutex<()>,
    pub counts: Counts,
}

impl LambdaFunction {
    /// A sandbox for `binary` with `env` (the template's and the staging endpoints); started on first invocation.
    pub async fn new(name: &str, binary: PathBuf, env: Vec<(String, String)>, memory_mb: u32, timeout: Duration) -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let runtime_api = listener.local_addr().expect("an address").to_string();
        let (queue, next) = mpsc::unbounded_channel();
        let function_arn = format!("arn:aws:lambda:{}:{}:function:{name}", super::iam::REGION, super::iam::ACCOUNT);
        let api = Arc::new(RuntimeApi { next: tokio::sync::Mutex::new(next), waiting: Mutex::default(), function_arn });
        let served = api.clone();
        serve(listener, move |req| served.clone().serve(req));
        let tmp = crate::temp_dir(&format!("sandbox-{}", name.to_lowercase()));
        // Packaged as Lambda runs it: `bootstrap` in a task folder of its own, which is also the working folder, so
        // nothing of the checkout (its .tools) is found from either.
        let task = tmp.with_extension("task");
        std::fs::create_dir_all(&task).expect("a task folder");
        let bootstrap = task.join("bootstrap");
        if std::fs::hard_link(&binary, &bootstrap).is_err() {
            std::fs::copy(&binary, &bootstrap).unwrap_or_else(|e| panic!("{name}: {} cannot be packaged: {e}", binary.display()));
        }
        let mut env = env;
        // What Lambda sets in every sandbox.
        env.extend(
            [
                ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
                ("AWS_LAMBDA_RUNTIME_API", runtime_api.clone()),
                ("AWS_REGION", super::iam::REGION.to_owned()),
                ("AWS_DEFAULT_REGION", super::iam::REGION.to_owned()),
                ("TMPDIR", tmp.display().to_string()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        Arc::new(Self {
            name: name.to_owned(),
            binary: bootstrap,
            env: Mutex::new(env),
            timeout,
            tmp,
            runtime_api,
            queue,
            api,
            process: Mutex::default(),
            one_at_a_time: tokio::sync::Mutex::new(()),
            counts: Counts::default(),
        })
    }

    fn ensure_started(&self) {
        let mut process = self.process.lock().unwrap();
        if let Some(child) = process.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            return;
        }
        self.counts.cold_starts.fetch_add(1, Ordering::Relaxed);
        // Lambda sends both streams to the function's log group.
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.tmp.with_extension("log")).ok();
        let log_too = log.as_ref().and_then(|f| f.try_clone().ok());
        let child = Command::new(&self.binary)
            .current_dir(self.binary.parent().expect("the task folder"))
            .env_clear()
            .envs(self.env.lock().unwrap().iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.map_or(Stdio::null(), Stdio::from))
            .stderr(log_too.map_or(Stdio::null(), Stdio::from))
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {} does not start: {e}", self.name, self.binary.display()));
        *process = Some(child);
    }

    /// Stops the sandbox's process, as Lambda does at a timeout; the next invocation starts a new one.
    pub fn stop(&self) {
        if let Some(mut child) = self.process.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sets one variable of the function's environment, as `UpdateFunctionConfiguration` does: sandboxes started
    /// from now on have it.
    pub fn set_env(&self, name: &str, value: &str) {
        let mut env = self.env.lock().unwrap();
        env.retain(|(k, _)| k != name);
        env.push((name.to_owned(), value.to_owned()));
        drop(env);
        self.stop();
    }

    /// The log the function wrote to standard error (its JSON lines), for a failed test to show.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.with_extension("log")).unwrap_or_default()
    }

    /// One synchronous invocation (`RequestResponse`), as API Gateway and `lambda invoke` make it.
    pub async fn invoke(&self, event: &Value) -> Result<Value, Failure> {
        let _one = self.one_at_a_time.lock().await;
        self.counts.invocations.fetch_add(1, Ordering::Relaxed);
        self.ensure_started();
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as u64;
        let (reply, answer) = oneshot::channel();
        let invocation = Invocation {
            id: id.clone(),
            event: Bytes::from(event.to_string()),
            deadline_ms: now_ms + self.timeout.as_millis() as u64,
            reply,
        };
        self.queue.send(invocation).expect("the runtime API lives as long as the function");
        let exited = async {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Some(child) = self.process.lock().unwrap().as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    return status.to_string();
                }
            }
        };
        let result = tokio::select! {
            answer = answer => match answer {
                Ok(Ok(body)) => Ok(serde_json::from_slice(&body).unwrap_or(Value::Null)),
                Ok(Err(body)) => {
                    self.counts.errors.fetch_add(1, Ordering::Relaxed);
                    Err(Failure::Error(serde_json::from_slice(&body).unwrap_or(Value::Null)))
                }
                Err(_) => Err(Failure::Exited("the runtime API dropped the invocation".into())),
            },
            status = exited => {
                self.counts.exits.fetch_add(1, Ordering::Relaxed);
                self.stop();
                Err(Failure::Exited(format!("Runtime exited with error: {status}")))
            }
            _ = tokio::time::sleep(self.timeout) => {
                self.counts.timeouts.fetch_add(1, Ordering::Relaxed);
                self.stop();
                Err(Failure::TimedOut(self.timeout))
            }
        };
        self.api.waiting.lock().unwrap().remove(&id);
        result
    }

    /// The runtime API address the sandbox is given (`AWS_LAMBDA_RUNTIME_API`).
    pub fn runtime_api(&self) -> &str {
        &self.runtime_api
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        self.stop();
        // The log stays for a failed test to show.
        let _ = std::fs::remove_dir_all(&self.tmp);
        let _ = self.binary.parent().map(std::fs::remove_dir_all);
    }
}

/// How Lambda retries an asynchronous invocation, compressed: its delays (about one and two minutes) become
/// `retry_delay`.
#[derive(Debug, Clone)]
pub struct AsyncConfig {
    pub retries: u32,
    pub retry_delay: Duration,
    /// The on-failure destination: the SQS queue URL that gets the failure record.
    pub on_failure: Option<String>,
}

/// What became of one asynchronous event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub attempts: u32,
    pub failures: Vec<Failure>,
    pub succeeded: bool,
}

/// One asynchronous event through Lambda's event queue: invoked, retried on failure, and recorded in the on-failure
/// destination once retries are exhausted.
pub async fn invoke_async(function: &LambdaFunction, event: &Value, config: &AsyncConfig, sqs: &super::Sqs) -> Delivery {
    let mut failures = Vec::new();
    for attempt in 0..=config.retries {
        if attempt > 0 {
            tokio::time::sleep(config.retry_delay).await;
        }
        match function.invoke(event).await {
            Ok(_) => return Delivery { attempts: attempt + 1, failures, succeeded: true },
            Err(f) => failures.push(f),
        }
    }
    if let Some(queue) = &config.on_failure {
        let last = failures.last().expect("at least one attempt failed");
        let record = json!({
            "version": "1.0",
            "timestamp": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "requestContext": {
                "requestId": ulid::Ulid::new().to_string().to_lowercase(),
                "functionArn": format!("{}:$LATEST", function.api.function_arn),
                "condition": "RetriesExhausted",
                "approximateInvokeCount": failures.len(),
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": last.payload(),
        });
        sqs.send(queue, &record.to_string()).await;
    }
    Delivery { attempts: failures.len() as u32, failures, succeeded: false }
}
