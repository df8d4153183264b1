//! Media through CloudFront: viewers fetch a video's segments and posters from the distribution in front of the
//! private bucket, with CloudFront signed URLs. One custom policy covers everything under the video's media folder until
//! the expiry, so a playlist costs one signature however many segments it lists, and a segment's URL stays the same
//! for the life of a playback link. The policy is signed with RSA-SHA1 (what CloudFront verifies) under the private key
//! of the distribution's trusted key group, read from Secrets Manager once per cold start.

use async_trait::async_trait;
use base64::Engine as _;
use framelift_shared::domain::VideoId;
use framelift_shared::ports::{MediaUrls, StoreError};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use sha1::Sha1;
use time::OffsetDateTime;

pub struct CloudFrontUrls {
    /// The distribution's address, `https://d111111abcdef8.cloudfront.net`, without a trailing slash.
    base: String,
    /// The id of the public key (in the trusted key group) that the signatures verify under.
    key_pair_id: String,
    key: SigningKey<Sha1>,
}

#[derive(Debug, thiserror::Error)]
pub enum CloudFrontError {
    #[error("FRAMELIFT_MEDIA_CDN_URL must be an https address with no path, like https://d111111abcdef8.cloudfront.net: {0}")]
    Address(String),
    #[error("the media signing key is not an RSA private key in PEM (PKCS#8 or PKCS#1)")]
    Key,
    #[error("reading the media signing key from Secrets Manager: {0}")]
    Secret(String),
}

impl CloudFrontUrls {
    /// Signs for the distribution at `base` with the key `key_pair_id` names, whose private half is `private_key_pem`.
    pub fn new(base: &str, key_pair_id: &str, private_key_pem: &str) -> Result<Self, CloudFrontError> {
        let parsed = url::Url::parse(base).map_err(|e| CloudFrontError::Address(e.to_string()))?;
        if parsed.scheme() != "https" || parsed.host_str().is_none() || parsed.path() != "/" || parsed.query().is_some() {
            return Err(CloudFrontError::Address(base.to_owned()));
        }
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(private_key_pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(private_key_pem))
            .map_err(|_| CloudFrontError::Key)?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), key_pair_id: key_pair_id.to_owned(), key: SigningKey::new(key) })
    }

    /// As [`Self::new`], with the private key read from the Secrets Manager secret `secret_id` (its `SecretString`).
    pub async fn from_secret(
        client: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
        base: &str,
        key_pair_id: &str,
    ) -> Result<Self, CloudFrontError> {
        let secret = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| CloudFrontError::Secret(format!("{secret_id}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e))))?;
        let pem = secret.secret_string().ok_or_else(|| CloudFrontError::Secret(format!("{secret_id} holds no text")))?;
        Self::new(base, key_pair_id, pem)
    }

    /// The custom policy that lets whoever holds its signature GET anything under `folder` until `expires`, in
    /// CloudFront's own shape, without white space.
    pub fn policy(&self, folder: &str, expires: OffsetDateTime) -> String {
        let resource = serde_json::Value::String(format!("{}/{folder}*", self.base));
        format!(
            r#"{{"Statement":[{{"Resource":{resource},"Condition":{{"DateLessThan":{{"AWS:EpochTime":{}}}}}}}]}}"#,
            expires.unix_timestamp()
        )
    }

    /// The query string that carries `policy`: `Policy`, `Signature` and `Key-Pair-Id`, as CloudFront reads them.
    pub fn signed_query(&self, policy: &str) -> String {
        let signature = self.key.sign(policy.as_bytes()).to_bytes();
        format!("Policy={}&Signature={}&Key-Pair-Id={}", url_safe(policy.as_bytes()), url_safe(&signature), self.key_pair_id)
    }
}

/// CloudFront's URL-safe base64: the standard alphabet, with `+`, `=` and `/` written `-`, `_` and `~`.
pub fn url_safe(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            c => c,
        })
        .collect()
}

#[async_trait]
impl MediaUrls for CloudFrontUrls {
    async fn urls(&self, video: &VideoId, keys: &[String], expires: OffsetDateTime) -> Result<Vec<String>, StoreError> {
        let folder = video.media_prefix();
        if let Some(other) = keys.iter().find(|k| !k.starts_with(&folder)) {
            return Err(StoreError::Rejected(format!("{other} is not media of {video}")));
        }
        let query = self.signed_query(&self.policy(&folder, expires));
        Ok(keys.iter().map(|key| format!("{}/{key}?{query}", self.base)).collect())
    }
}

#[cfg(test)]
mod tests;
