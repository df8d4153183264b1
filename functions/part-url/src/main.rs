//! The `part-url` Lambda: `POST /api/uploads/{id}/part-urls` and `GET /api/uploads/{id}/parts`.

use lambda_http::{run, service_fn};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    framelift_aws::lambda::init_tracing();
    let state = &framelift_aws::lambda::aws_state(framelift_aws::lambda::no_search).await?;
    run(service_fn(move |req| async move { Ok::<_, Infallible>(framelift_part_url::handle(state, req).await) })).await
}
