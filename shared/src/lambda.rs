//! Cold-start wiring for the deployed functions: JSON logs, configuration, and the AWS clients, each made once.

use crate::adapters::{dynamodb::DynamoMetadata, s3::S3Blobs};
use crate::auth::Verifier;
use crate::config::{AwsResources, Config};
use crate::state::AppState;
use std::sync::Arc;

pub use lambda_http::Error;

/// Structured JSON logs (CloudWatch keeps one object per line, with the request id the runtime's span adds).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(false)
        .without_time()
        .try_init();
}

/// The state of a deployed HTTP function: configuration from the environment, the AWS SDK's default credentials.
pub async fn aws_state() -> Result<AppState, Error> {
    let config = Config::from_env()?;
    let (blobs, meta) = aws_backends(&config.aws).await;
    let blobs = Arc::new(blobs);
    Ok(AppState {
        objects: blobs.clone(),
        blobs,
        meta: Arc::new(meta),
        auth: Arc::new(Verifier::from_config(&config.auth)),
        upload: config.upload,
        catalogue: config.catalogue,
        signed_urls: Default::default(),
    })
}

/// The S3 and DynamoDB adapters for `aws`, with the SDK's default credentials chain.
pub async fn aws_backends(aws: &AwsResources) -> (S3Blobs, DynamoMetadata) {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let blobs = S3Blobs::new(crate::adapters::s3_client(&sdk, aws.s3_endpoint.as_deref()), &aws.bucket);
    let meta = DynamoMetadata::new(crate::adapters::dynamodb_client(&sdk, aws.dynamodb_endpoint.as_deref()), &aws.table);
    (blobs, meta)
}
