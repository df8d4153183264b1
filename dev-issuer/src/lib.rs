//! The dev issuer: what Google is to a deployment, this is to the local stack. It keeps one RS256 key pair in the
//! state folder (made on first start, private to the user), publishes its public half as a JWKS, and signs ID-token-like
//! JWTs for whatever name a person types. It never runs in a deployment.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

/// The `iss` of dev tokens.
pub const ISSUER: &str = "framelift-dev";
/// The `aud` of dev tokens.
pub const AUDIENCE: &str = "framelift-local";
/// How long a dev token lives.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

pub struct DevIssuer {
    kid: String,
    encoding: EncodingKey,
    jwks: Value,
}

impl DevIssuer {
    /// A fresh key pair held only in memory (tests).
    pub fn generate() -> anyhow::Result<Self> {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).context("generating an RSA key")?;
        Self::from_key(&key)
    }

    /// The key pair kept in `dir/dev-issuer-key.pem`, made there (mode 0600) if there is none yet.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("dev-issuer-key.pem");
        if let Ok(pem) = std::fs::read_to_string(&path) {
            let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
                .with_context(|| format!("{} is not a PKCS#8 RSA key; delete it to make a new one", path.display()))?;
            return Self::from_key(&key);
        }
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).context("generating an RSA key")?;
        let pem = key.to_pkcs8_pem(LineEnding::LF).context("encoding the key")?;
        write_private(&path, pem.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        Self::from_key(&key)
    }

    fn from_key(key: &rsa::RsaPrivateKey) -> anyhow::Result<Self> {
        let public = key.to_public_key();
        let n = B64.encode(public.n().to_bytes_be());
        let e = B64.encode(public.e().to_bytes_be());
        let kid = hex(&Sha256::digest(format!("{n}.{e}").as_bytes())[..8]);
        let pem = key.to_pkcs8_pem(LineEnding::LF).context("encoding the key")?;
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).context("loading the signing key")?;
        let jwks = json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": e}]});
        Ok(Self { kid, encoding, jwks })
    }

    /// The public keys, as `GET /dev/jwks.json` serves them.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// A signed token for `name`. The subject is derived from the name, so the same name is the same user across
    /// restarts and devices.
    pub fn token_for(&self, name: &str) -> anyhow::Result<String> {
        let name = name.trim();
        anyhow::ensure!(!name.is_empty() && name.chars().count() <= 100, "name must be 1 to 100 characters");
        let sub = format!("dev-{}", hex(&Sha256::digest(name.to_lowercase().as_bytes())[..10]));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "name": name,
            "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME.as_secs() as i64,
        });
        self.sign(&claims)
    }

    /// Signs arbitrary claims with the issuer's key (tests use it to forge near-valid tokens).
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).context("signing")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a secret file readable by its owner only (0600), atomically: the dev issuer's key, the local S3's credentials.
#[cfg(unix)]
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_survives_a_restart_and_stays_private() {
        let dir = std::env::temp_dir().join(format!("issuer-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = DevIssuer::load_or_create(&dir).unwrap();
        let second = DevIssuer::load_or_create(&dir).unwrap();
        assert_eq!(first.jwks(), second.jwks());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("dev-issuer-key.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key file is readable by others: {mode:o}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_same_name_is_the_same_subject() {
        let issuer = DevIssuer::generate().unwrap();
        let sub = |t: String| {
            let payload = t.split('.').nth(1).unwrap().to_owned();
            serde_json::from_slice::<Value>(&B64.decode(payload).unwrap()).unwrap()["sub"].clone()
        };
        assert_eq!(sub(issuer.token_for("Alice").unwrap()), sub(issuer.token_for(" alice ").unwrap()));
        assert_ne!(sub(issuer.token_for("Alice").unwrap()), sub(issuer.token_for("Bob").unwrap()));
        assert!(issuer.token_for("  ").is_err());
    }
}
