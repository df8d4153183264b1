//! The AWS world staged on this machine: `template.yaml` resolved against staged resources (`tests/support/stage.py`,
//! on cfn-lint's own parser from the SAM CLI's tools venv), its table, bucket and queues made on moto, every
//! function's real binary run as Lambda runs it ([`lambda`]) behind an API Gateway front ([`front`]), each
//! function's AWS calls checked against its policies from the template ([`iam`], [`endpoints`]), and the bucket's
//! notifications delivered to the transcoder as Lambda delivers them: asynchronously, with the template's retries and
//! on-failure queue. With [`cdn`], the web distribution's `/media/*` behaviour and the deploy's media signing key.
//!
//! [`StagedFunction`] is the other emulator: cargo-lambda's, for the sample events of `events/`.

pub mod cdn;
pub mod endpoints;
pub mod front;
pub mod iam;
pub mod lambda;
mod world;

pub use world::{CLIENT_ID, ISSUER, Options, SEARCH_DOMAIN, Sqs, Stack, StagedWorld};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One function as the template declares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionSpec {
    pub binary: String,
    pub memory_size: u32,
    pub timeout: u32,
    pub environment: BTreeMap<String, String>,
    /// The statements of every policy the function is given.
    pub statements: Vec<iam::Statement>,
    /// The HTTP API routes that invoke it.
    pub routes: Vec<RouteSpec>,
    /// The S3 notifications that invoke it.
    pub object_events: Vec<ObjectEventSpec>,
    /// The schedules (EventBridge) that invoke it.
    pub schedules: Vec<ScheduleSpec>,
    /// The queues whose messages invoke it (event source mappings).
    pub queue_events: Vec<QueueEventSpec>,
    /// How often Lambda retries a failed asynchronous invocation.
    pub retries: u32,
    /// The logical id of the queue that gets failed asynchronous events.
    pub on_failure: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteSpec {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectEventSpec {
    /// The bucket's logical id.
    pub bucket: String,
    pub events: Vec<String>,
    pub filter: Vec<FilterRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterRule {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleSpec {
    pub name: String,
    pub schedule: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueEventSpec {
    /// The queue's logical id.
    pub queue: String,
    pub batch_size: u32,
    pub report_batch_item_failures: bool,
    pub maximum_concurrency: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Staged {
    functions: BTreeMap<String, FunctionSpec>,
}

pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace")
}

/// A tool venv's program: `var` if set, else what `scripts/python-tools.sh KIND` installs (`bin` in its folder).
pub(crate) fn tool(var: &str, kind: &str, bin: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var) {
        return p.into();
    }
    let out = Command::new("bash").arg(repo().join("scripts/python-tools.sh")).arg(kind).stderr(Stdio::inherit()).output();
    let out = out.expect("bash runs");
    assert!(out.status.success(), "scripts/python-tools.sh {kind} failed");
    let python = PathBuf::from(String::from_utf8(out.stdout).expect("a path").trim());
    python.with_file_name(bin)
}

/// The template the project deploys.
pub fn template() -> PathBuf {
    repo().join("template.yaml")
}

fn stage(template: &Path, values: &serde_json::Value, args: &[&str]) -> Vec<u8> {
    let python = tool("FRAMELIFT_SAM_PYTHON", "sam", "python");
    let mut child = Command::new(python)
        .arg(repo().join("tests/support/stage.py"))
        .arg(template)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tools venv's python runs");
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), values.to_string().as_bytes()).expect("stage.py reads");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("stage.py ends");
    assert!(out.status.success(), "stage.py failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Every function of the template by logical id, resolved against `values` (see `stage.py` for their shape).
pub fn template_functions(values: &serde_json::Value) -> BTreeMap<String, FunctionSpec> {
    functions_of(&template(), values)
}

/// [`template_functions`] of another template (a test's altered copy).
pub fn functions_of(template: &Path, values: &serde_json::Value) -> BTreeMap<String, FunctionSpec> {
    serde_json::from_slice::<Staged>(&stage(template, values, &[])).expect("stage.py's answer").functions
}

/// Makes the template's tables, buckets and queues on `endpoint`, named as `values` says.
pub fn create_resources(values: &serde_json::Value, endpoint: &str) {
    stage(&template(), values, &["create", endpoint]);
}

/// A function's real binary under cargo-lambda's runtime emulator: `cargo lambda watch --only-lambda-apis` serves
/// the runtime API, the binary (built for this machine as `cargo build` makes it) polls it with the template's
/// environment, the memory size the template gives it, and `staging` (the endpoints that stand in for AWS).
pub struct StagedFunction {
    pub name: String,
    port: u16,
    emulator: Child,
    function: Child,
}

impl StagedFunction {
    pub fn start(name: &str, spec: &FunctionSpec, staging: &[(&str, String)]) -> Self {
        let cargo_lambda = tool("FRAMELIFT_CARGO_LAMBDA", "aws", "cargo-lambda");
        let port = crate::free_port();
        let emulator = Command::new(cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo-lambda starts");
        crate::wait_until_listening(port, Duration::from_secs(30), &format!("{name}'s runtime emulator"), "");
        let binary = target_dir().join(&spec.binary);
        let function = Command::new(&binary)
            .env_clear()
            .envs(&spec.environment)
            .envs(staging.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory_size.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the function's binary starts");
        Self { name: name.to_owned(), port, emulator, function }
    }

    /// Invokes the function with `event` as Lambda's Invoke API does (synchronously) and returns its answer.
    pub async fn invoke(&self, event: &serde_json::Value) -> serde_json::Value {
        let url = format!("http://127.0.0.1:{}/2015-03-31/functions/_/invocations", self.port);
        let res = reqwest::Client::new().post(url).json(event).timeout(Duration::from_secs(60)).send().await;
        let res = res.unwrap_or_else(|e| panic!("{}: the emulator did not answer: {e}", self.name));
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert!(status.is_success(), "{}: the invocation failed ({status}): {body}", self.name);
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body))
    }
}

impl Drop for StagedFunction {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.emulator.kill();
        let _ = self.function.wait();
        let _ = self.emulator.wait();
    }
}

/// Where `cargo build` puts this profile's binaries (`target/debug` beside the test binary's `deps`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}
