//! What the server signs with its secret (HMAC-SHA256), each under its own domain so one can never pass for another:
//! paging cursors (opaque, tamper-evident: a garbled, forged or borrowed cursor is a 400) and playback URLs (a
//! playlist URL works only as issued and only until it expires).

use crate::domain::{PageKey, VideoId};
use crate::error::AppError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The server's signing secret.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

const MAX_CURSOR: usize = 512;

impl SigningKey {
    /// A key from configuration: at least 32 bytes of secret.
    pub fn from_secret(secret: &str) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err("must be at least 32 characters of random secret".into());
        }
        Ok(Self(secret.as_bytes().to_vec()))
    }

    /// A fresh random key (the local stack keeps one in its state folder).
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut k = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        Self(k)
    }

    pub fn as_secret(&self) -> String {
        B64.encode(&self.0)
    }

    fn mac(&self, domain: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        mac.update(payload);
        mac
    }

    /// A URL-safe signature of `payload` under `domain` (128 bits).
    pub fn tag(&self, domain: &str, payload: &str) -> String {
        B64.encode(&self.mac(domain, payload.as_bytes()).finalize().into_bytes()[..16])
    }

    /// Whether `tag` is the signature of `payload` under `domain` (compared in constant time).
    pub fn verify(&self, domain: &str, payload: &str, tag: &str) -> bool {
        match B64.decode(tag) {
            Ok(t) if t.len() == 16 => self.mac(domain, payload.as_bytes()).verify_truncated_left(&t).is_ok(),
            _ => false,
        }
    }

    /// The cursor for the page after `key` in the listing named `scope`.
    pub fn encode(&self, scope: &str, key: &PageKey) -> String {
        let payload = format!("{scope}|{}|{}", key.created_at.unix_timestamp(), key.id);
        let tag = self.mac("cursor", payload.as_bytes()).finalize().into_bytes();
        format!("{}.{}", B64.encode(payload), B64.encode(&tag[..16]))
    }

    /// The page key a cursor names, if it is one of ours, unaltered, for this listing.
    pub fn decode(&self, scope: &str, cursor: &str) -> Result<PageKey, AppError> {
        let invalid = || AppError::BadRequest("cursor is not valid for this listing: start again from the first page (no cursor)".into());
        if cursor.len() > MAX_CURSOR {
            return Err(invalid());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = B64.decode(payload).map_err(|_| invalid())?;
        let tag = B64.decode(tag).map_err(|_| invalid())?;
        if tag.len() != 16 {
            return Err(invalid());
        }
        self.mac("cursor", &payload).verify_truncated_left(&tag).map_err(|_| invalid())?;
        let text = String::from_utf8(payload).map_err(|_| invalid())?;
        let mut parts = text.rsplitn(3, '|');
        let (id, time, named_scope) = (parts.next(), parts.next(), parts.next());
        if named_scope != Some(scope) {
            return Err(invalid());
        }
        let id: VideoId = id.ok_or_else(invalid)?.parse().map_err(|_| invalid())?;
        let t: i64 = time.ok_or_else(invalid)?.parse().map_err(|_| invalid())?;
        let created_at = time::OffsetDateTime::from_unix_timestamp(t).map_err(|_| invalid())?;
        Ok(PageKey { created_at, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageKey {
        PageKey { created_at: time::macros::datetime!(2026-11-24 10:00:00 UTC), id: "01JDX3W9K7Q4T2B8N6M5R0ZC1A".parse().unwrap() }
    }

    #[test]
    fn a_cursor_round_trips_in_its_own_listing_only() {
        let k = SigningKey::generate();
        let c = k.encode("ready", &key());
        assert_eq!(k.decode("ready", &c).unwrap(), key());
        assert_eq!(k.decode("mine:alice", &c).unwrap_err().status(), 400, "a cursor of another listing");
        assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "URL-safe: {c}");
    }

    #[test]
    fn garbled_forged_and_foreign_cursors_are_400s() {
        let k = SigningKey::generate();
        let c = k.encode("mine:alice", &key());
        let (payload, tag) = c.split_once('.').unwrap();
        let forged_payload = B64.encode("mine:bob|1795000000|01JDX3W9K7Q4T2B8N6M5R0ZC1A");
        let bad = [
            String::new(),
            "abc".into(),
            ".".into(),
            format!("{payload}."),
            format!(".{tag}"),
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", B64.encode([0u8; 16])),
            format!("{payload}x.{tag}"),
            SigningKey::generate().encode("mine:alice", &key()),
            "x".repeat(10_000),
            format!("{payload}.{}", &tag[..4]),
        ];
        for b in bad {
            let e = k.decode("mine:alice", &b).unwrap_err();
            assert_eq!(e.status(), 400, "{b}");
        }
        assert!(SigningKey::from_secret("short").is_err());
    }
}
