//! Typed configuration, read once at cold start from the environment. A missing resource name fails the start with a
//! message naming the variable; nothing on the request path reads the environment.

use crate::auth::AuthConfig;
use crate::signing::SigningKey;
use std::time::Duration;

/// What the upload routes need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadConfig {
    /// `FRAMELIFT_MAX_UPLOAD_BYTES`: the largest declared size accepted (default 20 GiB).
    pub max_upload_bytes: u64,
    /// `FRAMELIFT_PART_SIZE_BYTES`: the preferred part size (default 8 MiB, never below S3's 5 MiB).
    pub part_size: u64,
    /// `FRAMELIFT_PART_URL_TTL_SECONDS`: how long a presigned part URL works (default 900).
    pub part_url_ttl: Duration,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self { max_upload_bytes: 20 * 1024 * 1024 * 1024, part_size: 8 * 1024 * 1024, part_url_ttl: Duration::from_secs(900) }
    }
}

/// Where the AWS resources are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    /// `FRAMELIFT_BUCKET`: the media bucket.
    pub bucket: String,
    /// `FRAMELIFT_TABLE`: the DynamoDB table of video records.
    pub table: String,
    /// `FRAMELIFT_S3_ENDPOINT`: an S3-compatible endpoint instead of AWS's (path-style), for local servers.
    pub s3_endpoint: Option<String>,
    /// `FRAMELIFT_DYNAMODB_ENDPOINT`: a DynamoDB-compatible endpoint instead of AWS's.
    pub dynamodb_endpoint: Option<String>,
    /// `FRAMELIFT_SECRETSMANAGER_ENDPOINT`: a Secrets Manager-compatible endpoint instead of AWS's.
    pub secretsmanager_endpoint: Option<String>,
    /// `FRAMELIFT_OPENSEARCH_URL`: the search cluster's endpoint (requests are SigV4-signed when it is an AWS one).
    pub opensearch_url: String,
    /// `FRAMELIFT_SEARCH_INDEX`: the index of ready videos (default `framelift-videos`).
    pub search_index: String,
    /// The CDN viewers fetch media through, if there is one; otherwise presigned storage URLs.
    pub media_cdn: Option<MediaCdn>,
}

/// A CDN in front of the media bucket (CloudFront with a trusted key group): all three variables, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCdn {
    /// `FRAMELIFT_MEDIA_CDN_URL`: the distribution's address, `https://d111111abcdef8.cloudfront.net`.
    pub url: String,
    /// `FRAMELIFT_MEDIA_KEY_PAIR_ID`: the id of the public key in the distribution's trusted key group.
    pub key_pair_id: String,
    /// `FRAMELIFT_MEDIA_KEY_SECRET`: the Secrets Manager secret holding its private key (PEM).
    pub key_secret: String,
}

/// What the reading routes need.
#[derive(Debug, Clone)]
pub struct CatalogueConfig {
    /// `FRAMELIFT_SIGNING_SECRET`: at least 32 characters of random secret that paging cursors are signed with.
    pub signing_key: SigningKey,
    /// `FRAMELIFT_MEDIA_URL_TTL_SECONDS`: how long signed poster and playback URLs work (default 3600).
    pub media_url_ttl: Duration,
    /// `FRAMELIFT_PAGE_CACHE_SECONDS`: how long a finished public catalogue page may be served again (default 2, at
    /// most 60; 0 turns it off). Locally pages are never stale (the store counts its writes); on AWS the public list may
    /// lag a change by up to this long.
    pub page_cache_ttl: Duration,
}

impl CatalogueConfig {
    pub const DEFAULT_MEDIA_URL_TTL: Duration = Duration::from_secs(3600);
    pub const DEFAULT_PAGE_CACHE_TTL: Duration = Duration::from_secs(2);

    /// The defaults, with `signing_key`.
    pub fn with_key(signing_key: SigningKey) -> Self {
        Self { signing_key, media_url_ttl: Self::DEFAULT_MEDIA_URL_TTL, page_cache_ttl: Self::DEFAULT_PAGE_CACHE_TTL }
    }
}

/// Everything a deployed function is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub upload: UploadConfig,
    pub auth: AuthConfig,
    pub aws: AwsResources,
    pub catalogue: CatalogueConfig,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set: it names {1}")]
    Missing(&'static str, &'static str),
    #[error("{0} is not valid: {1}")]
    Invalid(&'static str, String),
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `get`, so that tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let required = |k: &'static str, what: &'static str| get(k).ok_or(ConfigError::Missing(k, what));
        let upload = upload_config(&get)?;
        let issuers = match get("FRAMELIFT_AUTH_ISSUERS") {
            Some(list) => list.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
            None => AuthConfig::GOOGLE_ISSUERS.iter().map(|s| s.to_string()).collect(),
        };
        let auth = AuthConfig {
            issuers,
            audience: required("FRAMELIFT_AUTH_AUDIENCE", "the token audience: the Google OAuth client id")?,
            jwks_url: get("FRAMELIFT_JWKS_URL").unwrap_or_else(|| AuthConfig::GOOGLE_JWKS_URL.to_owned()),
        };
        let aws = AwsResources::from_lookup(&get)?;
        let secret = required("FRAMELIFT_SIGNING_SECRET", "the secret paging cursors are signed with")?;
        let signing_key = SigningKey::from_secret(&secret).map_err(|e| ConfigError::Invalid("FRAMELIFT_SIGNING_SECRET", e))?;
        let ttl = match get("FRAMELIFT_MEDIA_URL_TTL_SECONDS") {
            Some(v) => v.parse::<u64>().ok().filter(|t| (60..=7 * 24 * 3600).contains(t)).map(Duration::from_secs).ok_or_else(|| {
                ConfigError::Invalid("FRAMELIFT_MEDIA_URL_TTL_SECONDS", format!("'{v}' is not a number of seconds from 60 to 604800"))
            })?,
            None => CatalogueConfig::DEFAULT_MEDIA_URL_TTL,
        };
        let page_cache_ttl = match get("FRAMELIFT_PAGE_CACHE_SECONDS") {
            Some(v) => v.parse::<u64>().ok().filter(|t| *t <= 60).map(Duration::from_secs).ok_or_else(|| {
                ConfigError::Invalid("FRAMELIFT_PAGE_CACHE_SECONDS", format!("'{v}' is not a number of seconds from 0 to 60"))
            })?,
            None => CatalogueConfig::DEFAULT_PAGE_CACHE_TTL,
        };
        Ok(Self { upload, auth, aws, catalogue: CatalogueConfig { signing_key, media_url_ttl: ttl, page_cache_ttl } })
    }
}

impl AwsResources {
    pub const DEFAULT_SEARCH_INDEX: &str = "framelift-videos";

    /// The resources alone, for functions that serve no HTTP route (the transcoder).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |k: &'static str, what: &'static str| get(k).ok_or(ConfigError::Missing(k, what));
        Ok(Self {
            bucket: required("FRAMELIFT_BUCKET", "the media bucket")?,
            table: required("FRAMELIFT_TABLE", "the DynamoDB table of videos")?,
            s3_endpoint: get("FRAMELIFT_S3_ENDPOINT"),
            dynamodb_endpoint: get("FRAMELIFT_DYNAMODB_ENDPOINT"),
            secretsmanager_endpoint: get("FRAMELIFT_SECRETSMANAGER_ENDPOINT"),
            opensearch_url: required("FRAMELIFT_OPENSEARCH_URL", "the OpenSearch endpoint of the search index")?,
            search_index: get("FRAMELIFT_SEARCH_INDEX").unwrap_or_else(|| AwsResources::DEFAULT_SEARCH_INDEX.to_owned()),
            media_cdn: match (get("FRAMELIFT_MEDIA_CDN_URL"), get("FRAMELIFT_MEDIA_KEY_PAIR_ID"), get("FRAMELIFT_MEDIA_KEY_SECRET")) {
                (None, None, None) => None,
                (Some(url), Some(key_pair_id), Some(key_secret)) => Some(MediaCdn { url, key_pair_id, key_secret }),
                _ => {
                    return Err(ConfigError::Invalid(
                        "FRAMELIFT_MEDIA_CDN_URL",
                        "set all three of FRAMELIFT_MEDIA_CDN_URL, FRAMELIFT_MEDIA_KEY_PAIR_ID and FRAMELIFT_MEDIA_KEY_SECRET, or none"
                            .into(),
                    ));
                }
            },
        })
    }
}

/// The upload settings, shared by the deployed config and the dev server.
pub fn upload_config(get: &impl Fn(&str) -> Option<String>) -> Result<UploadConfig, ConfigError> {
    let d = UploadConfig::default();
    let number = |k: &'static str, default: u64| -> Result<u64, ConfigError> {
        get(k).map_or(Ok(default), |v| v.parse::<u64>().map_err(|_| ConfigError::Invalid(k, format!("'{v}' is not a whole number"))))
    };
    let max_upload_bytes = number("FRAMELIFT_MAX_UPLOAD_BYTES", d.max_upload_bytes)?;
    let part_size = number("FRAMELIFT_PART_SIZE_BYTES", d.part_size)?;
    let ttl = number("FRAMELIFT_PART_URL_TTL_SECONDS", d.part_url_ttl.as_secs())?;
    if max_upload_bytes == 0 {
        return Err(ConfigError::Invalid("FRAMELIFT_MAX_UPLOAD_BYTES", "must be above 0".into()));
    }
    if !(1..=7 * 24 * 3600).contains(&ttl) {
        return Err(ConfigError::Invalid("FRAMELIFT_PART_URL_TTL_SECONDS", "must be 1 to 604800 (S3's limit of 7 days)".into()));
    }
    Ok(UploadConfig { max_upload_bytes, part_size, part_url_ttl: Duration::from_secs(ttl) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("FRAMELIFT_AUTH_AUDIENCE", "client"),
        ("FRAMELIFT_BUCKET", "b"),
        ("FRAMELIFT_TABLE", "t"),
        ("FRAMELIFT_OPENSEARCH_URL", "https://search-x.eu-west-1.es.amazonaws.com"),
        ("FRAMELIFT_SIGNING_SECRET", "0123456789abcdef0123456789abcdef"),
    ];

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::from_lookup(env(MINIMAL)).unwrap();
        assert_eq!(c.upload, UploadConfig::default());
        assert_eq!(c.upload.max_upload_bytes, 21_474_836_480);
        assert_eq!(c.auth.issuers, ["https://accounts.google.com", "accounts.google.com"]);
        assert_eq!(c.auth.jwks_url, AuthConfig::GOOGLE_JWKS_URL);
        assert_eq!(c.aws.s3_endpoint, None);
        assert_eq!(c.aws.search_index, "framelift-videos");
        assert_eq!(c.aws.media_cdn, None, "media from storage unless a CDN is named");
        assert_eq!(c.catalogue.page_cache_ttl, Duration::from_secs(2));
    }

    #[test]
    fn a_media_cdn_is_all_three_settings_or_none() {
        let cdn = [
            ("FRAMELIFT_MEDIA_CDN_URL", "https://d111111abcdef8.cloudfront.net"),
            ("FRAMELIFT_MEDIA_KEY_PAIR_ID", "K2JCJMDEHXQW5F"),
            ("FRAMELIFT_MEDIA_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:media-key"),
        ];
        let all: Vec<_> = MINIMAL.iter().chain(&cdn).copied().collect();
        let c = Config::from_lookup(env(&all)).unwrap();
        assert_eq!(c.aws.media_cdn, Some(MediaCdn { url: cdn[0].1.into(), key_pair_id: cdn[1].1.into(), key_secret: cdn[2].1.into() }));
        for left_out in cdn.map(|(k, _)| k) {
            let pairs: Vec<_> = all.iter().copied().filter(|(k, _)| *k != left_out).collect();
            let e = Config::from_lookup(env(&pairs)).unwrap_err();
            assert!(e.to_string().contains("set all three"), "{left_out}: {e}");
        }
    }

    #[test]
    fn resource_names_have_no_silent_default() {
        for missing in
            ["FRAMELIFT_AUTH_AUDIENCE", "FRAMELIFT_BUCKET", "FRAMELIFT_TABLE", "FRAMELIFT_OPENSEARCH_URL", "FRAMELIFT_SIGNING_SECRET"]
        {
            let pairs: Vec<_> = MINIMAL.iter().copied().filter(|(k, _)| *k != missing).collect();
            let e = Config::from_lookup(env(&pairs)).unwrap_err();
            assert!(e.to_string().starts_with(missing), "{e}");
        }
    }

    #[test]
    fn bad_numbers_fail_loudly() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("FRAMELIFT_MAX_UPLOAD_BYTES", "20GB"));
        assert!(matches!(Config::from_lookup(env(&pairs)), Err(ConfigError::Invalid("FRAMELIFT_MAX_UPLOAD_BYTES", _))));
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("FRAMELIFT_PART_URL_TTL_SECONDS", "0"));
        assert!(Config::from_lookup(env(&pairs)).is_err());
        for (cache, ok) in [("0", true), ("60", true), ("61", false), ("2s", false)] {
            let mut pairs = MINIMAL.to_vec();
            pairs.push(("FRAMELIFT_PAGE_CACHE_SECONDS", cache));
            assert_eq!(Config::from_lookup(env(&pairs)).is_ok(), ok, "{cache}");
        }
    }
}
