//! Cold-start wiring for the deployed functions: JSON logs, configuration, and the AWS clients, each made once.

use crate::{dynamodb::DynamoMetadata, s3::S3Blobs};
use framelift_shared::auth::Verifier;
use framelift_shared::config::{AwsResources, Config};
use framelift_shared::domain::{SearchDocument, SearchHits, SearchText, VideoId};
use framelift_shared::media_urls::StorageUrls;
use framelift_shared::ports::{MediaUrls, SearchIndex, StoreError};
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

/// Makes a function's search index from the SDK's configuration and the resources: [`no_search`], or
/// `framelift_opensearch::search_index` in the functions that search or index.
pub type SearchFactory = fn(&aws_config::SdkConfig, &AwsResources) -> Result<Arc<dyn SearchIndex>, Error>;

/// The state of a deployed HTTP function: configuration from the environment, the AWS SDK's default credentials, and
/// the search index `search` makes.
pub async fn aws_state(search: SearchFactory) -> Result<AppState, Error> {
    let config = Config::from_env()?;
    let AwsBackends { sdk, blobs, meta, search } = aws_backends(&config.aws, search).await?;
    let media = media_urls(&sdk, &config.aws, blobs.clone()).await?;
    Ok(AppState {
        objects: blobs.clone(),
        blobs: blobs.clone(),
        meta,
        search,
        media,
        auth: Arc::new(Verifier::from_config(&config.auth)),
        upload: config.upload,
        pages: PageCache::new(config.catalogue.page_cache_ttl),
        signed_urls: SignedUrls::new(config.catalogue.media_url_ttl),
        catalogue: config.catalogue,
    })
}

/// Where viewers fetch media: through the CDN when one is configured, in a function that shows media (built with the
/// `cdn` feature); from storage by presigned URLs otherwise.
#[cfg(feature = "cdn")]
async fn media_urls(sdk: &aws_config::SdkConfig, aws: &AwsResources, blobs: Arc<S3Blobs>) -> Result<Arc<dyn MediaUrls>, Error> {
    match &aws.media_cdn {
        Some(cdn) => {
            let secrets = crate::secretsmanager_client(sdk, aws.secretsmanager_endpoint.as_deref());
            Ok(Arc::new(crate::cloudfront::CloudFrontUrls::from_secret(&secrets, &cdn.key_secret, &cdn.url, &cdn.key_pair_id).await?))
        }
        None => Ok(Arc::new(StorageUrls(blobs))),
    }
}

#[cfg(not(feature = "cdn"))]
async fn media_urls(_: &aws_config::SdkConfig, _: &AwsResources, blobs: Arc<S3Blobs>) -> Result<Arc<dyn MediaUrls>, Error> {
    Ok(Arc::new(StorageUrls(blobs)))
}

/// The adapters a deployed function reaches its resources through.
pub struct AwsBackends {
    /// The SDK's configuration, for a function that needs one more client.
    pub sdk: aws_config::SdkConfig,
    pub blobs: Arc<S3Blobs>,
    pub meta: Arc<DynamoMetadata>,
    pub search: Arc<dyn SearchIndex>,
}

/// The S3 and DynamoDB adapters for `aws`, with the SDK's default credentials chain, and the search index `search`
/// makes.
pub async fn aws_backends(aws: &AwsResources, search: SearchFactory) -> Result<AwsBackends, Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let blobs = Arc::new(S3Blobs::new(&sdk, &aws.bucket, aws.s3_endpoint.as_deref())?);
    let meta = Arc::new(DynamoMetadata::new(crate::dynamodb_client(&sdk, aws.dynamodb_endpoint.as_deref()), &aws.table));
    let search = search(&sdk, aws)?;
    Ok(AwsBackends { sdk, blobs, meta, search })
}

/// The search index of a function that has no route that searches or indexes: any use is a fault of ours.
pub fn no_search(_: &aws_config::SdkConfig, _: &AwsResources) -> Result<Arc<dyn SearchIndex>, Error> {
    Ok(Arc::new(NoSearchIndex))
}

struct NoSearchIndex;

#[async_trait::async_trait]
impl SearchIndex for NoSearchIndex {
    async fn put(&self, _: &SearchDocument) -> Result<(), StoreError> {
        Err(not_linked())
    }
    async fn remove(&self, _: &VideoId) -> Result<(), StoreError> {
        Err(not_linked())
    }
    async fn search(&self, _: &SearchText, _: usize) -> Result<SearchHits, StoreError> {
        Err(not_linked())
    }
}

fn not_linked() -> StoreError {
    StoreError::Unavailable("this function is built without a search index".into())
}
