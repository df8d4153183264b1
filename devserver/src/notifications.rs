//! S3 event notifications, locally: each object the in-process S3 creates becomes the JSON S3 would send Lambda,
//! parsed by `aws_lambda_events` (the parser the deployed function uses) and handed to the function the template
//! triggers for its prefix. Like S3, delivery is asynchronous; like Lambda's async invoke, a failed handler is retried
//! twice.

use async_trait::async_trait;
use aws_lambda_events::event::s3::S3Event;
use framelift_local::s3_events::{ObjectCreated, s3_event_json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// A function an `ObjectCreated` event can trigger.
#[async_trait]
pub trait ObjectCreatedHandler: Send + Sync {
    async fn handle(&self, event: S3Event) -> anyhow::Result<()>;
}

/// "Objects created under `prefix` invoke `handler`": one notification rule of the bucket.
#[derive(Clone)]
pub struct Trigger {
    pub prefix: &'static str,
    pub handler: Arc<dyn ObjectCreatedHandler>,
}

/// Delivers every notification to the triggers whose prefix it matches, until the sender side closes.
pub async fn deliver(mut events: mpsc::UnboundedReceiver<ObjectCreated>, triggers: Vec<Trigger>) {
    while let Some(created) = events.recv().await {
        let json = s3_event_json(&created);
        for trigger in triggers.iter().filter(|t| created.key.starts_with(t.prefix)) {
            let event: S3Event = match serde_json::from_value(json.clone()) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(error = %e, "an S3 event did not parse");
                    continue;
                }
            };
            let handler = trigger.handler.clone();
            let key = created.key.clone();
            tokio::spawn(async move {
                for attempt in 1..=3u64 {
                    match handler.handle(event.clone()).await {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::warn!(key, attempt, error = format!("{e:#}"), "event handler failed");
                            tokio::time::sleep(Duration::from_secs(attempt)).await;
                        }
                    }
                }
            });
        }
    }
}

/// Keeps the events it is given, for the tests (and the log) to see what a trigger would receive.
#[derive(Default)]
pub struct EventRecorder {
    events: Mutex<Vec<S3Event>>,
    arrived: Notify,
}

impl EventRecorder {
    pub fn events(&self) -> Vec<S3Event> {
        self.events.lock().unwrap().clone()
    }

    /// Waits until some event's first record has `key`, or `timeout` passes.
    pub async fn wait_for_key(&self, key: &str, timeout: Duration) -> Option<S3Event> {
        let found = || self.events().into_iter().find(|e| e.records.first().and_then(|r| r.s3.object.key.as_deref()) == Some(key));
        tokio::time::timeout(timeout, async {
            loop {
                let notified = self.arrived.notified();
                if let Some(e) = found() {
                    return e;
                }
                notified.await;
            }
        })
        .await
        .ok()
    }
}

#[async_trait]
impl ObjectCreatedHandler for EventRecorder {
    async fn handle(&self, event: S3Event) -> anyhow::Result<()> {
        for r in &event.records {
            tracing::info!(
                event = r.event_name.as_deref().unwrap_or(""),
                key = r.s3.object.key.as_deref().unwrap_or(""),
                size = r.s3.object.size,
                "object created"
            );
        }
        self.events.lock().unwrap().push(event);
        self.arrived.notify_waiters();
        Ok(())
    }
}
