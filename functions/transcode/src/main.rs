//! The `transcode` Lambda: S3 `ObjectCreated` events under `uploads/`.

use framelift_media::{AbsolutePath, Options, Tools};
use framelift_shared::config::AwsResources;
use framelift_transcode::{Faults, TranscodeState};
use lambda_runtime::{LambdaEvent, run, service_fn};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    framelift_shared::lambda::init_tracing();
    let backends = framelift_shared::lambda::aws_backends(&AwsResources::from_env()?).await?;
    let state = &TranscodeState {
        meta: Arc::new(backends.meta),
        objects: Arc::new(backends.blobs),
        search: Arc::new(backends.search),
        tools: Tools::locate()?,
        work_root: AbsolutePath::resolve(std::env::temp_dir())?,
        options: Options::default(),
        // Longer than the function's 900 s timeout, so a live attempt is never taken over.
        lease: Duration::from_secs(16 * 60),
        faults: Faults::NONE,
    };
    run(service_fn(move |event: LambdaEvent<aws_lambda_events::event::s3::S3Event>| async move {
        framelift_transcode::handle(state, event.payload).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
