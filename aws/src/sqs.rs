//! [`JobQueue`] on SQS: jobs sent in batches of ten, the most one `SendMessageBatch` takes. The queue's redrive policy
//! (in the template) moves a job that keeps failing to the dead-letter queue.

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use framelift_shared::ports::{JobQueue, StoreError};

pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, jobs: &[String]) -> Result<(), StoreError> {
        for batch in jobs.chunks(10) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, body)| SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::unavailable)?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            if let Some(failed) = out.failed().first() {
                return Err(StoreError::Rejected(format!("the queue refused a job: {} {}", failed.code(), failed.message().unwrap_or(""))));
            }
        }
        Ok(())
    }
}
