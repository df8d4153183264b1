//! Who is calling: verification of `Authorization: Bearer` JWTs against the trusted issuer's JWKS.
//!
//! RS256 only; `exp`, `iss`, `aud` and `sub` required; at most 60 s of leeway; keys chosen by `kid` from a cached JWKS
//! (Cache-Control honoured, one refetch for an unknown `kid`, no more than one fetch per cool-down). Header fields that
//! name keys or key locations (`jku`, `x5u`, `jwk`, `x5c`) are never read. The key source is the port: HTTP on AWS
//! (Google) and in the local stack (the dev issuer), a fixed set in tests.

use crate::domain::UserId;
use crate::error::AppError;
use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: UserId,
    /// The display name: the token's `name`, else `email`, else `sub`.
    pub name: String,
}

/// A set of verification keys as a JWKS endpoint serves it, with how long it may be cached.
#[derive(Debug, Clone)]
pub struct FetchedKeys {
    pub jwks: serde_json::Value,
    pub max_age: Option<Duration>,
}

/// Where verification keys come from.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn fetch(&self) -> anyhow::Result<FetchedKeys>;
}

/// A JWKS served over HTTP(S): Google's on AWS, the dev issuer's in the local stack.
pub struct HttpKeySource {
    client: reqwest::Client,
    url: String,
}

impl HttpKeySource {
    pub fn new(url: impl Into<String>) -> Self {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("a client with a timeout builds");
        Self { client, url: url.into() }
    }
}

#[async_trait]
impl KeySource for HttpKeySource {
    async fn fetch(&self) -> anyhow::Result<FetchedKeys> {
        use anyhow::Context;
        let res = self.client.get(&self.url).send().await.with_context(|| format!("fetching JWKS from {}", self.url))?;
        let res = res.error_for_status().with_context(|| format!("fetching JWKS from {}", self.url))?;
        let max_age = res.headers().get(http::header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).and_then(parse_max_age);
        let jwks = res.json().await.context("JWKS is not JSON")?;
        Ok(FetchedKeys { jwks, max_age })
    }
}

/// A fixed key set, for tests and for embedding.
pub struct StaticKeySource(pub serde_json::Value);

#[async_trait]
impl KeySource for StaticKeySource {
    async fn fetch(&self) -> anyhow::Result<FetchedKeys> {
        Ok(FetchedKeys { jwks: self.0.clone(), max_age: None })
    }
}

fn parse_max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|d| {
        let (k, v) = d.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("max-age").then(|| v.trim().trim_matches('"').parse().ok().map(Duration::from_secs))?
    })
}

/// How long keys are kept when the source says nothing, and the bounds on what it may say.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
const MIN_MAX_AGE: Duration = Duration::from_secs(60);
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The verification keys by `kid`, fetched on demand and cached.
pub struct JwksCache {
    source: Arc<dyn KeySource>,
    cooldown: Duration,
    keys: RwLock<CachedKeys>,
    /// Held while fetching, so that concurrent misses share one fetch; holds the time of the last attempt.
    last_fetch: Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

#[derive(Default)]
struct CachedKeys {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    fresh_until: Option<Instant>,
}

/// Why no key was found.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no key with that id")]
    UnknownKid,
    #[error("the key set could not be fetched")]
    Unavailable(#[source] anyhow::Error),
}

impl JwksCache {
    /// `cooldown`: the least time between two fetches triggered by unknown key ids.
    pub fn new(source: Arc<dyn KeySource>, cooldown: Duration) -> Self {
        Self { source, cooldown, keys: RwLock::default(), last_fetch: Mutex::new(None), fetches: AtomicU64::new(0) }
    }

    /// How many times the source has been asked, for tests and figures.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, KeyError> {
        if let Some(key) = self.cached(kid, Instant::now()).await {
            return Ok(key);
        }
        let mut last = self.last_fetch.lock().await;
        let now = Instant::now();
        // Someone may have fetched while we waited for the lock.
        if let Some(key) = self.cached(kid, now).await {
            return Ok(key);
        }
        let stale = self.keys.read().await.fresh_until.is_none_or(|t| now >= t);
        let cooled_down = last.is_none_or(|t| now.duration_since(t) >= self.cooldown);
        if cooled_down {
            *last = Some(now);
            self.fetches.fetch_add(1, Ordering::Relaxed);
            match self.source.fetch().await {
                Ok(fetched) => {
                    let by_kid = parse_jwks(&fetched.jwks);
                    let max_age = fetched.max_age.unwrap_or(DEFAULT_MAX_AGE).clamp(MIN_MAX_AGE, MAX_MAX_AGE);
                    *self.keys.write().await = CachedKeys { by_kid, fresh_until: Some(now + max_age) };
                }
                Err(e) => {
                    // Keep serving the keys we have: an outage of the key endpoint must not sign everyone out.
                    tracing::warn!(error = format!("{e:#}"), "JWKS fetch failed");
                    if self.keys.read().await.by_kid.is_empty() {
                        return Err(KeyError::Unavailable(e));
                    }
                }
            }
        } else if stale && self.keys.read().await.by_kid.is_empty() {
            return Err(KeyError::Unavailable(anyhow::anyhow!("no keys yet and the last fetch failed moments ago")));
        }
        self.keys.read().await.by_kid.get(kid).cloned().ok_or(KeyError::UnknownKid)
    }

    async fn cached(&self, kid: &str, now: Instant) -> Option<Arc<DecodingKey>> {
        let keys = self.keys.read().await;
        let fresh = keys.fresh_until.is_some_and(|t| now < t);
        if fresh { keys.by_kid.get(kid).cloned() } else { None }
    }
}

/// The RSA signing keys of a JWKS, by `kid`. Keys of other types or uses, and malformed entries, are skipped.
fn parse_jwks(jwks: &serde_json::Value) -> HashMap<String, Arc<DecodingKey>> {
    #[derive(Deserialize)]
    struct RsaJwk {
        kty: String,
        kid: String,
        alg: Option<String>,
        #[serde(rename = "use")]
        use_: Option<String>,
        n: String,
        e: String,
    }
    let entries = jwks.get("keys").and_then(|k| k.as_array()).cloned().unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|v| serde_json::from_value::<RsaJwk>(v).ok())
        .filter(|k| k.kty == "RSA" && k.alg.as_deref().is_none_or(|a| a == "RS256") && k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| Some((k.kid, Arc::new(DecodingKey::from_rsa_components(&k.n, &k.e).ok()?))))
        .collect()
}

/// Who may sign tokens, for whom, and where their keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Accepted `iss` values (Google uses two spellings).
    pub issuers: Vec<String>,
    /// The accepted `aud`: the Google client id, or the dev issuer's audience.
    pub audience: String,
    pub jwks_url: String,
}

impl AuthConfig {
    pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];
    pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
}

/// Verifies bearer tokens.
pub struct Verifier {
    validation: Validation,
    keys: JwksCache,
}

/// The longest token accepted: far above any real ID token, far below anything that costs to parse.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
const LEEWAY_SECS: u64 = 60;

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl Verifier {
    pub fn new(issuers: &[String], audience: &str, keys: JwksCache) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(issuers);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self { validation, keys }
    }

    /// A verifier that fetches keys over HTTP, refetching for unknown `kid`s at most every 30 s.
    pub fn from_config(config: &AuthConfig) -> Self {
        let keys = JwksCache::new(Arc::new(HttpKeySource::new(&config.jwks_url)), Duration::from_secs(30));
        Self::new(&config.issuers, &config.audience, keys)
    }

    pub fn keys(&self) -> &JwksCache {
        &self.keys
    }

    /// The caller a token proves, or a 401 that says what to do.
    pub async fn verify(&self, token: &str) -> Result<Caller, AppError> {
        let invalid = || AppError::Unauthorized("the sign-in token is not valid: sign in again".into());
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let key = match self.keys.key(&kid).await {
            Ok(key) => key,
            Err(KeyError::UnknownKid) => return Err(invalid()),
            Err(KeyError::Unavailable(e)) => return Err(AppError::Internal(e.context("verification keys unavailable"))),
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AppError::Unauthorized("your sign-in has expired: sign in again".into()),
            _ => invalid(),
        })?;
        let claims = data.claims;
        let id: UserId = claims.sub.parse().map_err(|_| invalid())?;
        let name = [claims.name, claims.email]
            .into_iter()
            .flatten()
            .map(|s| s.trim().chars().filter(|c| !c.is_control()).take(100).collect::<String>())
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| id.to_string());
        Ok(Caller { id, name })
    }
}

#[cfg(test)]
mod tests;
