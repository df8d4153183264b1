//! What a deployed function runs on: the S3 and DynamoDB adapters behind the ports (every function uses both) and the
//! cold-start wiring ([`lambda`]). The OpenSearch adapter is a crate of its own, `framelift-opensearch`, linked only
//! by the functions that search or index; the local stack's backends and the in-memory fakes are in `framelift-local`
//! and `framelift-devserver`. The CloudFront signer (`cdn`) and the SQS queue (`sqs`) are features, linked by the
//! functions that show media and the planner.

#[cfg(feature = "cdn")]
pub mod cloudfront;
pub mod dynamodb;
pub mod lambda;
pub mod presign;
pub mod s3;
#[cfg(feature = "sqs")]
pub mod sqs;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};

/// An SDK configuration with fixed credentials, for S3- and DynamoDB-compatible servers on loopback.
pub fn static_sdk_config(access_key: &str, secret_key: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(access_key, secret_key, None, None, "framelift-static")))
        .build()
}

/// An S3 client; with `endpoint`, path-style requests to that server instead of AWS.
pub fn s3_client(sdk: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
    // Checksums only where S3 requires them: a default CRC32 would be baked into presigned part URLs as the checksum of
    // an empty body, and every browser PUT would then fail.
    let mut b = aws_sdk_s3::config::Builder::from(sdk)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = endpoint {
        b = b.endpoint_url(endpoint).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

/// An SQS client; with `endpoint`, that server instead of AWS.
#[cfg(feature = "sqs")]
pub fn sqs_client(sdk: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_sqs::Client {
    let mut b = aws_sdk_sqs::config::Builder::from(sdk);
    if let Some(endpoint) = endpoint {
        b = b.endpoint_url(endpoint);
    }
    aws_sdk_sqs::Client::from_conf(b.build())
}

/// A Secrets Manager client; with `endpoint`, that server instead of AWS.
#[cfg(feature = "cdn")]
pub fn secretsmanager_client(sdk: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_secretsmanager::Client {
    let mut b = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(endpoint) = endpoint {
        b = b.endpoint_url(endpoint);
    }
    aws_sdk_secretsmanager::Client::from_conf(b.build())
}

/// A DynamoDB client; with `endpoint`, that server instead of AWS.
pub fn dynamodb_client(sdk: &SdkConfig, endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let mut b = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(endpoint) = endpoint {
        b = b.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(b.build())
}
