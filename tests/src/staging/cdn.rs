//! The web distribution's `/media/*` behaviour, staged: the key pair `scripts/media-key.py` makes on the first deploy
//! (run against moto's Secrets Manager, as `scripts/deploy.sh` runs it against AWS), and a stand-in for CloudFront
//! that serves a signed URL as a distribution with that key in its trusted key group does: it checks the key pair id,
//! the signature of the policy (RSA-SHA1, verified by openssl under the public key the template is given), the
//! policy's resource against the URL and its expiry, and only then reads the object from the bucket (the origin).

use base64::Engine as _;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The staged CloudFront in front of the media bucket.
#[derive(Debug, Clone)]
pub struct StagedCdn {
    /// What the template gives the functions as `FRAMELIFT_MEDIA_CDN_URL`'s host: the distribution's domain name.
    pub domain: String,
    /// The id CloudFront gives the public key (`Ref MediaPublicKeyEntry`).
    pub key_pair_id: String,
    /// The Secrets Manager secret holding the private key (`MediaKeySecretName`).
    pub secret_name: String,
    /// The public key's base64 body, as `media-key.py` printed it (`MediaPublicKey`).
    pub public_key: String,
    folder: PathBuf,
    moto: String,
    bucket: String,
}

/// Why the stand-in refused a URL, as CloudFront would answer (403 with a reason).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub String);

impl StagedCdn {
    /// Makes (or reads) the stack's media signing key in moto's Secrets Manager with the deploy's own script.
    pub fn deploy(stack_guid: &str, moto: &str, bucket: &str) -> Self {
        let secret_name = format!("framelift/staged-{stack_guid}/media-signing-key");
        let python = super::tool("FRAMELIFT_SAM_PYTHON", "sam", "python");
        let out = Command::new(python)
            .arg(super::repo().join("scripts/media-key.py"))
            .arg(&secret_name)
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto)
            .env("AWS_DEFAULT_REGION", super::iam::REGION)
            .env("AWS_ACCESS_KEY_ID", "deployer")
            .env("AWS_SECRET_ACCESS_KEY", "deployer")
            .stderr(Stdio::piped())
            .output()
            .expect("media-key.py runs");
        assert!(out.status.success(), "media-key.py failed: {}", String::from_utf8_lossy(&out.stderr));
        let public_key = String::from_utf8(out.stdout).expect("text").trim().to_owned();
        let folder = crate::temp_dir("staged-cdn");
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{public_key}\n-----END PUBLIC KEY-----\n");
        std::fs::write(folder.join("public.pem"), pem).expect("the public key is written");
        let short = &stack_guid[stack_guid.len() - 12..];
        Self {
            domain: format!("d{short}.cloudfront.net"),
            key_pair_id: format!("K{}", short.to_uppercase()),
            secret_name,
            public_key,
            folder,
            moto: moto.to_owned(),
            bucket: bucket.to_owned(),
        }
    }

    /// The stack parameters a deploy with media through CloudFront passes.
    pub fn parameters(&self) -> Value {
        serde_json::json!({"MediaPublicKey": self.public_key, "MediaKeySecretName": self.secret_name})
    }

    /// GET `url` as a viewer would through the distribution: the object's bytes, or why CloudFront refuses it.
    pub async fn get(&self, url: &str) -> Result<bytes::Bytes, Refused> {
        let parsed = url::Url::parse(url).map_err(|e| Refused(format!("not a URL: {e}")))?;
        if parsed.scheme() != "https" || parsed.host_str() != Some(self.domain.as_str()) {
            return Err(Refused(format!("{url} is not on https://{}", self.domain)));
        }
        let key = parsed.path().trim_start_matches('/');
        if !key.starts_with("media/") {
            return Err(Refused(format!("{key} is outside the media/* behaviour")));
        }
        let query: std::collections::BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
        let param = |name: &str| query.get(name).ok_or_else(|| Refused(format!("missing {name}")));
        if param("Key-Pair-Id")? != &self.key_pair_id {
            return Err(Refused(format!("Key-Pair-Id {} is not in the trusted key group", query["Key-Pair-Id"])));
        }
        let policy = from_url_safe(param("Policy")?)?;
        let signature = from_url_safe(param("Signature")?)?;
        self.verify(&policy, &signature)?;
        let policy: Value = serde_json::from_slice(&policy).map_err(|e| Refused(format!("the policy is not JSON: {e}")))?;
        let statement = &policy["Statement"][0];
        let resource = statement["Resource"].as_str().ok_or_else(|| Refused("the policy names no resource".into()))?;
        let unsigned = format!("https://{}{}", self.domain, parsed.path());
        if !super::iam::wildcard(resource, &unsigned) {
            return Err(Refused(format!("the policy's resource {resource} does not cover {unsigned}")));
        }
        let expires = statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
            .as_i64()
            .ok_or_else(|| Refused("the policy has no DateLessThan".into()))?;
        if expires <= time::OffsetDateTime::now_utc().unix_timestamp() {
            return Err(Refused(format!("expired at {expires}")));
        }
        // The origin, reached with origin access control: requests signed by CloudFront's service principal.
        let s3 = framelift_aws::s3_client(&crate::moto_sdk(), Some(&self.moto));
        let object = s3.get_object().bucket(&self.bucket).key(key).send().await.map_err(|e| Refused(format!("the origin: {e}")))?;
        let body = object.body.collect().await.map_err(|e| Refused(format!("the origin: {e}")))?;
        Ok(body.into_bytes())
    }

    /// The policy's signature checked as CloudFront checks it: RSA PKCS#1 v1.5 over SHA-1, under the public key.
    fn verify(&self, policy: &[u8], signature: &[u8]) -> Result<(), Refused> {
        let name = format!("signature-{}", ulid::Ulid::new());
        let path = self.folder.join(&name);
        std::fs::write(&path, signature).expect("the signature is written");
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha1", "-verify", "public.pem", "-signature", &name])
            .current_dir(&self.folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl runs");
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), policy).expect("openssl reads");
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("openssl ends");
        let _ = std::fs::remove_file(path);
        if out.status.success() { Ok(()) } else { Err(Refused("the signature does not verify under the key group's key".into())) }
    }
}

/// CloudFront's URL-safe base64 decoded (`-`, `_` and `~` for `+`, `=` and `/`).
fn from_url_safe(text: &str) -> Result<Vec<u8>, Refused> {
    let standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            c => c,
        })
        .collect();
    base64::engine::general_purpose::STANDARD.decode(standard).map_err(|e| Refused(format!("not CloudFront's base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::super::iam::wildcard as wildcard_match;

    #[test]
    fn a_policy_resource_matches_as_cloudfront_reads_its_wildcards() {
        assert!(wildcard_match("https://d.net/media/01a/*", "https://d.net/media/01a/720p/segment_00001.ts"));
        assert!(!wildcard_match("https://d.net/media/01a/*", "https://d.net/media/01b/poster.jpg"));
        assert!(wildcard_match("https://d.net/media/0?a/*", "https://d.net/media/01a/x"));
        assert!(!wildcard_match("https://d.net/media/01a/poster.jpg", "https://d.net/media/01a/poster.jpgx"));
    }
}
