//! The `transcode` Lambda, the planner: S3 `ObjectCreated` events under `uploads/`, the sweep schedule, and redriven
//! failure records.

use framelift_transcode::{Budget, deployed};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    framelift_aws::lambda::init_tracing();
    let state = &deployed::state().await?;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        // One invocation at a time per sandbox: whatever is in /tmp was left by a killed attempt.
        if let Err(e) = framelift_transcode::clear_work_root(&state.work_root) {
            tracing::warn!(error = %e, "could not clear the work folder");
        }
        let budget = Budget::until(deployed::deadline(event.context.deadline));
        framelift_transcode::invoke(state, event.payload, budget).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
