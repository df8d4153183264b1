//! Cold-start wiring for the deployed functions: JSON logs, configuration, and the AWS clients, each made once.

use crate::adapters::opensearch::{OpenSearchIndex, Signing};
use crate::adapters::{dynamodb::DynamoMetadata, s3::S3Blobs};
use crate::auth::Verifier;
use crate::config::{AwsResources, Config};
use crate::state::{AppState, PageCache, SignedUrls};
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
    let AwsBackends { blobs, meta, search } = aws_backends(&config.aws).await?;
    let blobs = Arc::new(blobs);
    Ok(AppState {
        objects: blobs.clone(),
        blobs,
        meta: Arc::new(meta),
        search: Arc::new(search),
        auth: Arc::new(Verifier::from_config(&config.auth)),
        upload: config.upload,
        pages: PageCache::new(config.catalogue.page_cache_ttl),
        signed_urls: SignedUrls::new(config.catalogue.media_url_ttl),
        catalogue: config.catalogue,
    })
}

/// The adapters a deployed function reaches its resources through.
pub struct AwsBackends {
    pub blobs: S3Blobs,
    pub meta: DynamoMetadata,
    pub search: OpenSearchIndex,
}

/// The S3, DynamoDB and OpenSearch adapters for `aws`, with the SDK's default credentials chain.
pub async fn aws_backends(aws: &AwsResources) -> Result<AwsBackends, Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let blobs = S3Blobs::new(&sdk, &aws.bucket, aws.s3_endpoint.as_deref())?;
    let meta = DynamoMetadata::new(crate::adapters::dynamodb_client(&sdk, aws.dynamodb_endpoint.as_deref()), &aws.table);
    let signing = match (Signing::aws_service_of(&aws.opensearch_url), sdk.credentials_provider(), sdk.region()) {
        (Some(service), Some(credentials), Some(region)) => Signing::Aws { credentials, region: region.clone(), service },
        (Some(_), _, _) => return Err("an AWS OpenSearch endpoint needs AWS credentials and a region".into()),
        (None, _, _) => Signing::None,
    };
    let search = OpenSearchIndex::connect(&aws.opensearch_url, &aws.search_index, signing)?;
    Ok(AwsBackends { blobs, meta, search })
}
