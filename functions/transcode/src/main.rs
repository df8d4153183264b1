//! The `transcode` Lambda: S3 `ObjectCreated` events under `uploads/`, the sweep schedule, and redriven failure
//! records.

use framelift_media::{AbsolutePath, Options, Tools};
use framelift_shared::config::AwsResources;
use framelift_transcode::{Budget, Faults, TranscodeState};
use lambda_runtime::{LambdaEvent, run, service_fn};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    framelift_aws::lambda::init_tracing();
    let backends = framelift_aws::lambda::aws_backends(&AwsResources::from_env()?, framelift_opensearch::search_index).await?;
    let state = &TranscodeState {
        meta: backends.meta,
        objects: backends.blobs,
        search: backends.search,
        tools: Tools::locate()?,
        work_root: AbsolutePath::resolve(std::env::temp_dir())?,
        options: Options::default(),
        lease: lease()?,
        faults: Faults::NONE,
    };
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        // One invocation at a time per sandbox: whatever is in /tmp was left by a killed attempt.
        if let Err(e) = framelift_transcode::clear_work_root(&state.work_root) {
            tracing::warn!(error = %e, "could not clear the work folder");
        }
        let budget = Budget::until(deadline(event.context.deadline));
        framelift_transcode::invoke(state, event.payload, budget).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}

/// How long a claim holds without a heartbeat (`FRAMELIFT_TRANSCODE_LEASE_SECONDS`, default 180): renewed by the
/// attempt's heartbeat, a dead attempt's lapses within minutes for a retry or the sweep.
fn lease() -> Result<Duration, String> {
    match std::env::var("FRAMELIFT_TRANSCODE_LEASE_SECONDS") {
        Err(_) => Ok(Duration::from_secs(180)),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=900).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| format!("FRAMELIFT_TRANSCODE_LEASE_SECONDS is not valid: '{v}' is not a number of seconds from 1 to 900")),
    }
}

/// The invocation's deadline (milliseconds since the epoch, as Lambda gives it) on this process's clock.
fn deadline(epoch_ms: u64) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Instant::now() + Duration::from_millis(epoch_ms.saturating_sub(now_ms))
}
