//! Cold-start wiring for the deployed functions: JSON logs, configuration, and the AWS clients, each made once.

use crate::{dynamodb::DynamoMetadata, s3::S3Blobs};
use framelift_shared::auth::Verifier;
use framelift_shared::config::{AwsResources, Config};
use framelift_shared::ports::SearchIndex;
use framelift_shared::state::{AppState, PageCache, SignedUrls};
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
    Ok(AppState {
        objects: blobs.clone(),
        blobs,
        meta,
        search,
        auth: Arc::new(Verifier::from_config(&config.auth)),
        upload: config.upload,
        pages: PageCache::new(config.catalogue.page_cache_ttl),
        signed_urls: SignedUrls::new(config.catalogue.media_url_ttl),
        catalogue: config.catalogue,
    })
}

/// The adapters a deployed function reaches its resources through.
pub struct AwsBackends {
    pub blobs: Arc<S3Blobs>,
    pub meta: Arc<DynamoMetadata>,
    /// OpenSearch with the `opensearch` feature; without it, a function that never searches.
    pub search: Arc<dyn SearchIndex>,
}

/// The S3, DynamoDB and (with the `opensearch` feature) OpenSearch adapters for `aws`, with the SDK's default
/// credentials chain.
pub async fn aws_backends(aws: &AwsResources) -> Result<AwsBackends, Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let blobs = Arc::new(S3Blobs::new(&sdk, &aws.bucket, aws.s3_endpoint.as_deref())?);
    let meta = Arc::new(DynamoMetadata::new(crate::dynamodb_client(&sdk, aws.dynamodb_endpoint.as_deref()), &aws.table));
    Ok(AwsBackends { blobs, meta, search: search_index(&sdk, aws)? })
}

#[cfg(feature = "opensearch")]
fn search_index(sdk: &aws_config::SdkConfig, aws: &AwsResources) -> Result<Arc<dyn SearchIndex>, Error> {
    use crate::opensearch::{OpenSearchIndex, Signing};
    let signing = match (Signing::aws_service_of(&aws.opensearch_url), sdk.credentials_provider(), sdk.region()) {
        (Some(service), Some(credentials), Some(region)) => Signing::Aws { credentials, region: region.clone(), service },
        (Some(_), _, _) => return Err("an AWS OpenSearch endpoint needs AWS credentials and a region".into()),
        (None, _, _) => Signing::None,
    };
    Ok(Arc::new(OpenSearchIndex::connect(&aws.opensearch_url, &aws.search_index, signing)?))
}

#[cfg(not(feature = "opensearch"))]
fn search_index(_: &aws_config::SdkConfig, _: &AwsResources) -> Result<Arc<dyn SearchIndex>, Error> {
    Ok(Arc::new(NoSearchIndex))
}

/// The search port of a function built without OpenSearch: it has no route that searches, so any use is a fault.
#[cfg(not(feature = "opensearch"))]
struct NoSearchIndex;

#[cfg(not(feature = "opensearch"))]
#[async_trait::async_trait]
impl SearchIndex for NoSearchIndex {
    async fn put(&self, _: &framelift_shared::domain::SearchDocument) -> Result<(), framelift_shared::ports::StoreError> {
        Err(not_linked())
    }
    async fn remove(&self, _: &framelift_shared::domain::VideoId) -> Result<(), framelift_shared::ports::StoreError> {
        Err(not_linked())
    }
    async fn search(
        &self,
        _: &framelift_shared::domain::SearchText,
        _: usize,
    ) -> Result<framelift_shared::domain::SearchHits, framelift_shared::ports::StoreError> {
        Err(not_linked())
    }
}

#[cfg(not(feature = "opensearch"))]
fn not_linked() -> framelift_shared::ports::StoreError {
    framelift_shared::ports::StoreError::Unavailable("this function is built without its search index (feature opensearch)".into())
}
