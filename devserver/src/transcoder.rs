//! The planner in the local stack: triggered by the in-process S3's `ObjectCreated` events under `uploads/`, in the
//! background, a bounded number at a time; its jobs go to the in-process [`EncodeQueue`](crate::encode_queue). At
//! start it takes over whatever the last run left in processing (no attempt of a previous process can still be alive,
//! and the queue was lost with it), and every minute it sweeps up lapsed leases.

use crate::notifications::ObjectCreatedHandler;
use async_trait::async_trait;
use aws_lambda_events::event::s3::S3Event;
use framelift_transcode::TranscodeState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct Transcoder {
    state: Arc<TranscodeState>,
    permits: Semaphore,
}

impl Transcoder {
    pub fn new(state: Arc<TranscodeState>, concurrency: usize) -> Arc<Self> {
        Arc::new(Self { state, permits: Semaphore::new(concurrency.max(1)) })
    }

    /// Re-drives videos left in processing: all of them with `takeover` (at start), else those whose lease lapsed.
    pub async fn sweep(&self, takeover: bool) {
        let _permit = self.permits.acquire().await;
        match framelift_transcode::sweep(&self.state, takeover).await {
            Ok(done) if done.is_empty() => {}
            Ok(done) => tracing::info!(videos = done.len(), ?done, "swept videos left in processing"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "sweep failed; the next one retries"),
        }
    }

    /// Sweeps once now (taking over), then every `every`.
    pub fn spawn_sweeps(self: &Arc<Self>, every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            me.sweep(true).await;
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                me.sweep(false).await;
            }
        });
    }
}

#[async_trait]
impl ObjectCreatedHandler for Transcoder {
    async fn handle(&self, event: S3Event) -> anyhow::Result<()> {
        let _permit = self.permits.acquire().await?;
        framelift_transcode::handle(&self.state, event).await
    }
}
