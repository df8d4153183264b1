//! The `edit` Lambda: `PATCH /api/videos/{id}`.

use lambda_http::{run, service_fn};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    framelift_aws::lambda::init_tracing();
    let state = &framelift_aws::lambda::aws_state(framelift_opensearch::search_index).await?;
    run(service_fn(move |req| async move { Ok::<_, Infallible>(framelift_edit::handle(state, req).await) })).await
}
