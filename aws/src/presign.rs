//! SigV4 query-string presigning of S3 object URLs with aws-sigv4's own signing and the settings the SDK uses for S3
//! (the path encoded once and not normalised, an unsigned payload). The SDK's `.presigned()` would run a whole request
//! pipeline per URL; this signs the URL alone. Credentials are kept until they are about to expire.

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use framelift_shared::ports::{PresignedUrl, StoreError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What SigV4 leaves unencoded: unreserved characters (and, in a path, `/`).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const PATH: &AsciiSet = &QUERY.remove(b'/');

pub struct Presigner {
    /// Everything before the key: `https://{bucket}.s3.{region}.amazonaws.com/` on AWS, `{endpoint}/{bucket}/` (path
    /// style) on an S3-compatible server.
    base: String,
    region: String,
    provider: SharedCredentialsProvider,
    credentials: Mutex<Option<Credentials>>,
}

impl Presigner {
    /// Credentials are refreshed this long before they expire.
    const REFRESH_BEFORE: Duration = Duration::from_secs(300);

    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str, endpoint: Option<&str>) -> Result<Self, StoreError> {
        let missing = |what: &str| StoreError::Unavailable(format!("the AWS configuration has no {what} to sign URLs with").into());
        let region = sdk.region().ok_or_else(|| missing("region"))?.to_string();
        let provider = sdk.credentials_provider().ok_or_else(|| missing("credentials"))?;
        let base = match endpoint {
            Some(e) => format!("{}/{bucket}/", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        };
        if base.parse::<http::Uri>().ok().and_then(|u| u.authority().cloned()).is_none() {
            return Err(StoreError::Unavailable(format!("the S3 endpoint {base} is not a URL to sign").into()));
        }
        Ok(Self { base, region, provider, credentials: Mutex::new(None) })
    }

    /// Credentials that are not about to expire at `now`.
    async fn credentials(&self, now: SystemTime) -> Result<Credentials, StoreError> {
        let fresh = |c: &Credentials| c.expiry().is_none_or(|t| t > now + Self::REFRESH_BEFORE);
        if let Some(c) = self.credentials.lock().expect("not poisoned").clone().filter(fresh) {
            return Ok(c);
        }
        let c = self.provider.provide_credentials().await.map_err(StoreError::unavailable)?;
        *self.credentials.lock().expect("not poisoned") = Some(c.clone());
        Ok(c)
    }

    /// A URL that lets whoever holds it make `method` on `key` (with the query parameters `query`) until `ttl` passes.
    /// `headers` are signed too: the request must carry each with exactly that value (`content-length` pins the size).
    pub async fn presign(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        ttl: Duration,
    ) -> Result<PresignedUrl, StoreError> {
        let now = SystemTime::now();
        let credentials = self.credentials(now).await?;
        let mut url = format!("{}{}", self.base, utf8_percent_encode(key, PATH));
        for (name, value) in query {
            push_param(&mut url, name, value);
        }
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(StoreError::unavailable)?
            .into();
        let signable = SignableRequest::new(method, url.as_str(), headers.iter().copied(), SignableBody::UnsignedPayload)
            .map_err(StoreError::unavailable)?;
        let (instructions, _) = sign(signable, &params).map_err(StoreError::unavailable)?.into_parts();
        for (name, value) in instructions.params() {
            push_param(&mut url, name, value);
        }
        Ok(PresignedUrl { url, expires_at: time::OffsetDateTime::from(now) + ttl })
    }
}

/// Appends `name=value` to `url`'s query, each percent-encoded as SigV4 encodes them.
fn push_param(url: &mut String, name: &str, value: &str) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.extend(utf8_percent_encode(name, QUERY));
    url.push('=');
    url.extend(utf8_percent_encode(value, QUERY));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> aws_config::SdkConfig {
        crate::static_sdk_config("AKIDEXAMPLE", "secret")
    }

    /// Hands out new credentials each time, valid for `lifetime`.
    #[derive(Debug)]
    struct Rotating {
        served: std::sync::atomic::AtomicUsize,
        lifetime: Duration,
    }

    impl ProvideCredentials for Rotating {
        fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let expiry = SystemTime::now() + self.lifetime;
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                format!("secret{n}"),
                Some("token".into()),
                Some(expiry),
                "rotating",
            )))
        }
    }

    #[tokio::test]
    async fn credentials_about_to_expire_are_fetched_again() {
        for (lifetime, renewed) in [(Duration::from_secs(3600), false), (Duration::from_secs(60), true)] {
            let sdk = aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("eu-west-1"))
                .credentials_provider(SharedCredentialsProvider::new(Rotating { served: Default::default(), lifetime }))
                .build();
            let p = Presigner::new(&sdk, "media", None).unwrap();
            let a = p.presign("GET", "k", &[], &[], Duration::from_secs(60)).await.unwrap().url;
            let b = p.presign("GET", "k", &[], &[], Duration::from_secs(60)).await.unwrap().url;
            assert!(a.contains("X-Amz-Credential=AKID0%2F"), "{a}");
            assert!(a.contains("X-Amz-Security-Token=token"), "{a}");
            let second = if renewed { "AKID1%2F" } else { "AKID0%2F" };
            assert!(b.contains(&format!("X-Amz-Credential={second}")), "lifetime {lifetime:?}: {b}");
        }
    }

    #[tokio::test]
    async fn urls_carry_a_query_signature_for_the_key_and_parameters() {
        let p = Presigner::new(&config(), "media", None).unwrap();
        let u = p
            .presign("PUT", "uploads/a b/source", &[("partNumber", "3"), ("uploadId", "x/y=")], &[], Duration::from_secs(900))
            .await
            .unwrap();
        assert!(
            u.url.starts_with("https://media.s3.us-east-1.amazonaws.com/uploads/a%20b/source?partNumber=3&uploadId=x%2Fy%3D&"),
            "{}",
            u.url
        );
        for p in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Signature=",
        ] {
            assert!(u.url.contains(p), "{p} in {}", u.url);
        }
        let local = Presigner::new(&config(), "media", Some("http://127.0.0.1:8080/")).unwrap();
        let u = local.presign("GET", "media/x/poster.jpg", &[], &[], Duration::from_secs(60)).await.unwrap();
        assert!(u.url.starts_with("http://127.0.0.1:8080/media/media/x/poster.jpg?X-Amz-Algorithm="), "{}", u.url);
        let sized = p.presign("PUT", "k", &[], &[("content-length", "5242880")], Duration::from_secs(60)).await.unwrap();
        assert!(sized.url.contains("X-Amz-SignedHeaders=content-length%3Bhost"), "the length is signed: {}", sized.url);
    }
}
