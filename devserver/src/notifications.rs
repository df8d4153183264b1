//! S3 event notifications, locally: each object the in-process S3 creates becomes the JSON S3 would send Lambda,
//! parsed by `aws_lambda_events` (the parser the deployed function uses) and handed to the function the template
//! triggers for its prefix. Like S3, delivery is asynchronous; like Lambda's async invoke, a failed handler is retried
//! twice.

use crate::local_s3::ObjectCreated;
use async_trait::async_trait;
use aws_lambda_events::event::s3::S3Event;
use serde_json::{Value, json};
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

/// The event S3 sends Lambda for one created object.
pub fn s3_event_json(o: &ObjectCreated) -> Value {
    let key = event_key_encoding(&o.key);
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "eventName": o.event_name,
        "userIdentity": {"principalId": "framelift-local"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": o.sequencer, "x-amz-id-2": "local"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "framelift-uploads",
            "bucket": {"name": o.bucket, "ownerIdentity": {"principalId": "framelift-local"}, "arn": format!("arn:aws:s3:::{}", o.bucket)},
            "object": {"key": key, "size": o.size, "eTag": o.etag, "sequencer": o.sequencer},
        },
    }]})
}

/// S3 URL-encodes keys in events, keeping `/` and writing a space as `+`.
fn event_key_encoding(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_is_what_lambda_parses() {
        let created = ObjectCreated {
            bucket: "media".into(),
            key: "uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source".into(),
            size: 42,
            etag: "abc-2".into(),
            event_name: "ObjectCreated:CompleteMultipartUpload",
            sequencer: "0000000000000001".into(),
        };
        let event: S3Event = serde_json::from_value(s3_event_json(&created)).unwrap();
        let r = &event.records[0];
        assert_eq!(r.event_name.as_deref(), Some("ObjectCreated:CompleteMultipartUpload"));
        assert_eq!(r.s3.bucket.name.as_deref(), Some("media"));
        assert_eq!(r.s3.object.key.as_deref(), Some("uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source"));
        assert_eq!(event_key_encoding("a b/c=d"), "a+b/c%3Dd");
        assert_eq!(r.s3.object.size, Some(42));
    }
}
