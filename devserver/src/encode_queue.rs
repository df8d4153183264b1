//! The queue of encode jobs in the local stack, with SQS's delivery rules in-process: a job that fails is delivered
//! again after a pause, counting its deliveries as SQS's `ApproximateReceiveCount` does, and after
//! [`MAX_RECEIVES`] it is set aside as dead letters are. At most `workers` jobs run at once. Jobs live in memory:
//! a restart loses the queue, and the start-up sweep queues every unfinished part again.

use async_trait::async_trait;
use framelift_shared::ports::{JobQueue, StoreError};
use framelift_transcode::{Budget, TranscodeState};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Deliveries before a job is set aside: the template's `maxReceiveCount`. The worker itself fails the video on the
/// delivery after its last attempt, so a job only ends here if even that could not be written.
pub const MAX_RECEIVES: u32 = framelift_transcode::MAX_ATTEMPTS + 2;
/// The pause before a failed job is delivered again (SQS: the visibility timeout).
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

struct Delivery {
    body: String,
    receive_count: u32,
}

/// The sending end, the planner's [`JobQueue`].
#[derive(Clone)]
pub struct EncodeQueue {
    tx: mpsc::UnboundedSender<Delivery>,
    dead: Arc<Mutex<Vec<String>>>,
}

/// The receiving end, until [`EncodeQueue::run`] takes it.
pub struct Jobs(mpsc::UnboundedReceiver<Delivery>);

impl EncodeQueue {
    pub fn new() -> (Self, Jobs) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx, dead: Arc::default() }, Jobs(rx))
    }

    /// The jobs set aside after [`MAX_RECEIVES`] failed deliveries.
    pub fn dead_letters(&self) -> Vec<String> {
        self.dead.lock().unwrap().clone()
    }

    /// Delivers jobs to the workers, `workers` at a time, for as long as the process runs.
    pub fn run(&self, jobs: Jobs, state: Arc<TranscodeState>, workers: usize) {
        let permits = Arc::new(Semaphore::new(workers.max(1)));
        let me = self.clone();
        let mut rx = jobs.0;
        tokio::spawn(async move {
            while let Some(mut delivery) = rx.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let (me, state) = (me.clone(), state.clone());
                tokio::spawn(async move {
                    delivery.receive_count += 1;
                    let result = framelift_transcode::worker::work(&state, &delivery.body, delivery.receive_count, Budget::NONE).await;
                    drop(permit);
                    match result {
                        Ok(outcome) => tracing::info!(?outcome, "encode job done"),
                        Err(e) if delivery.receive_count >= MAX_RECEIVES => {
                            tracing::error!(
                                error = format!("{e:#}"),
                                job = delivery.body,
                                "encode job set aside after {MAX_RECEIVES} deliveries"
                            );
                            me.dead.lock().unwrap().push(delivery.body);
                        }
                        Err(e) => {
                            tracing::warn!(
                                error = format!("{e:#}"),
                                receive_count = delivery.receive_count,
                                "encode job failed; delivered again"
                            );
                            tokio::time::sleep(RETRY_AFTER).await;
                            let _ = me.tx.send(delivery);
                        }
                    }
                });
            }
        });
    }
}

#[async_trait]
impl JobQueue for EncodeQueue {
    async fn send(&self, jobs: &[String]) -> Result<(), StoreError> {
        for body in jobs {
            self.tx.send(Delivery { body: body.clone(), receive_count: 0 }).map_err(StoreError::unavailable)?;
        }
        Ok(())
    }
}
