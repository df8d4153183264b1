//! What the deployed planner and worker read once at a cold start: the shared resources, the queue of encode jobs and
//! the times a video is held for.

use crate::{Faults, SEGMENTS_PER_CHUNK, TranscodeState};
use framelift_media::{AbsolutePath, Options, Tools};
use framelift_shared::config::AwsResources;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The transcoder's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscodeConfig {
    /// `FRAMELIFT_ENCODE_QUEUE_URL`: the SQS queue of encode jobs.
    pub queue_url: String,
    /// `FRAMELIFT_SQS_ENDPOINT`: an SQS-compatible endpoint instead of AWS's.
    pub sqs_endpoint: Option<String>,
    /// `FRAMELIFT_TRANSCODE_LEASE_SECONDS` (default 180): how long a planner's claim holds.
    pub lease: Duration,
    /// `FRAMELIFT_ENCODE_STALL_SECONDS` (default 3600): how long a planned encode may go without a part recorded.
    pub stall: Duration,
}

impl TranscodeConfig {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let seconds = |name: &str, default: u64, max: u64| match get(name) {
            None => Ok(Duration::from_secs(default)),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=max).contains(s))
                .map(Duration::from_secs)
                .ok_or_else(|| format!("{name} is not valid: '{v}' is not a number of seconds from 1 to {max}")),
        };
        Ok(Self {
            queue_url: get("FRAMELIFT_ENCODE_QUEUE_URL").ok_or("FRAMELIFT_ENCODE_QUEUE_URL is not set: the SQS queue of encode jobs")?,
            sqs_endpoint: get("FRAMELIFT_SQS_ENDPOINT"),
            lease: seconds("FRAMELIFT_TRANSCODE_LEASE_SECONDS", 180, 900)?,
            stall: seconds("FRAMELIFT_ENCODE_STALL_SECONDS", 3600, 12 * 3600)?,
        })
    }
}

/// The state of the deployed planner or worker.
pub async fn state() -> Result<TranscodeState, lambda_runtime::Error> {
    let config = TranscodeConfig::from_env()?;
    let backends = framelift_aws::lambda::aws_backends(&AwsResources::from_env()?, framelift_opensearch::search_index).await?;
    let sqs = framelift_aws::sqs_client(&backends.sdk, config.sqs_endpoint.as_deref());
    Ok(TranscodeState {
        meta: backends.meta,
        objects: backends.blobs,
        search: backends.search,
        queue: Arc::new(framelift_aws::sqs::SqsQueue::new(sqs, config.queue_url)),
        tools: Tools::locate()?,
        work_root: AbsolutePath::resolve(std::env::temp_dir())?,
        options: Options::default(),
        lease: config.lease,
        stall: config.stall,
        segments_per_chunk: SEGMENTS_PER_CHUNK,
        faults: Faults::NONE,
    })
}

/// An invocation's deadline (milliseconds since the epoch, as Lambda gives it) on this process's clock.
pub fn deadline(epoch_ms: u64) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Instant::now() + Duration::from_millis(epoch_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_have_defaults_and_say_what_is_wrong() {
        let base = |k: &str| (k == "FRAMELIFT_ENCODE_QUEUE_URL").then(|| "https://sqs.example/q".to_owned());
        let c = TranscodeConfig::from_lookup(base).unwrap();
        assert_eq!((c.lease, c.stall, c.sqs_endpoint), (Duration::from_secs(180), Duration::from_secs(3600), None));
        let e = TranscodeConfig::from_lookup(|_| None).unwrap_err();
        assert!(e.contains("FRAMELIFT_ENCODE_QUEUE_URL"), "{e}");
        let bad = |k: &str| if k == "FRAMELIFT_ENCODE_STALL_SECONDS" { Some("soon".to_owned()) } else { base(k) };
        assert!(TranscodeConfig::from_lookup(bad).unwrap_err().contains("'soon'"));
    }
}
