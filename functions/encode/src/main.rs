//! The `encode` Lambda, the worker: batches of encode jobs from the queue the planner fills.

use aws_lambda_events::event::sqs::SqsEvent;
use framelift_transcode::{Budget, deployed, worker};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    framelift_aws::lambda::init_tracing();
    let state = &deployed::state().await?;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        // One invocation at a time per sandbox: whatever is in /tmp was left by a killed attempt.
        if let Err(e) = framelift_transcode::clear_work_root(&state.work_root) {
            tracing::warn!(error = %e, "could not clear the work folder");
        }
        let budget = Budget::until(deployed::deadline(event.context.deadline));
        Ok::<_, lambda_runtime::Error>(worker::batch(state, event.payload, budget).await)
    }))
    .await
}
