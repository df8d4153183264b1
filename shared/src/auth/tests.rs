//! The forged-token corpus: every way to fake a caller that we know of, each refused with 401.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{EncodingKey, Header, encode};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use std::sync::OnceLock;

const ISS: &str = "https://accounts.google.com";
const AUD: &str = "client-123.apps.googleusercontent.com";
const KID: &str = "key-1";

struct TestKey {
    private_pem: String,
    public_pem: String,
    jwk: Value,
}

fn make_key(kid: &str) -> TestKey {
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = private.to_public_key();
    TestKey {
        private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        jwk: json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": B64.encode(public.n().to_bytes_be()), "e": B64.encode(public.e().to_bytes_be())}),
    }
}

fn keys() -> &'static (TestKey, TestKey) {
    static KEYS: OnceLock<(TestKey, TestKey)> = OnceLock::new();
    KEYS.get_or_init(|| (make_key(KID), make_key(KID)))
}

fn trusted() -> &'static TestKey {
    &keys().0
}

/// Another key pair published nowhere, under the same `kid`.
fn foreign() -> &'static TestKey {
    &keys().1
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn good_claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "1234567890", "name": "Alice", "email": "alice@example.com",
        "iat": now(), "exp": now() + 3600})
}

fn sign_with(key: &TestKey, header: Header, claims: &Value) -> String {
    encode(&header, claims, &EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).unwrap()).unwrap()
}

fn rs256() -> Header {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(KID.into());
    h
}

fn sign(claims: &Value) -> String {
    sign_with(trusted(), rs256(), claims)
}

fn verifier_with(source: Arc<dyn KeySource>) -> Verifier {
    let issuers: Vec<String> = AuthConfig::GOOGLE_ISSUERS.iter().map(|s| s.to_string()).collect();
    Verifier::new(&issuers, AUD, JwksCache::new(source, Duration::from_secs(30)))
}

fn verifier() -> Verifier {
    verifier_with(Arc::new(StaticKeySource(json!({"keys": [trusted().jwk]}))))
}

fn with_claims(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = good_claims();
    edit(c.as_object_mut().unwrap());
    c
}

fn raw(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!("{}.{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()), B64.encode(signature))
}

#[tokio::test]
async fn a_good_token_names_the_caller() {
    let caller = verifier().verify(&sign(&good_claims())).await.unwrap();
    assert_eq!(caller, Caller { id: "1234567890".parse().unwrap(), name: "Alice".into() });
}

#[tokio::test]
async fn both_google_issuer_spellings_are_accepted() {
    for iss in AuthConfig::GOOGLE_ISSUERS {
        let t = sign(&with_claims(|c| {
            c.insert("iss".into(), json!(iss));
        }));
        assert!(verifier().verify(&t).await.is_ok(), "{iss}");
    }
}

#[tokio::test]
async fn the_display_name_falls_back_to_email_then_sub() {
    let v = verifier();
    let no_name = sign(&with_claims(|c| {
        c.remove("name");
    }));
    assert_eq!(v.verify(&no_name).await.unwrap().name, "alice@example.com");
    let neither = sign(&with_claims(|c| {
        c.remove("name");
        c.remove("email");
    }));
    assert_eq!(v.verify(&neither).await.unwrap().name, "1234567890");
}

#[tokio::test]
async fn leeway_is_at_most_a_minute() {
    let v = verifier();
    let just_expired = sign(&with_claims(|c| {
        c.insert("exp".into(), json!(now() - 30));
    }));
    assert!(v.verify(&just_expired).await.is_ok(), "30 s of clock skew is forgiven");
    let expired = sign(&with_claims(|c| {
        c.insert("exp".into(), json!(now() - 90));
    }));
    let e = v.verify(&expired).await.unwrap_err();
    assert_eq!(e.status(), 401);
    assert!(e.to_string().contains("expired"), "{e}");
}

/// The corpus: (class, token). Every one must be refused with a 401.
fn forged_corpus() -> Vec<(String, String)> {
    let good = sign(&good_claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut corpus: Vec<(String, String)> = Vec::new();
    let mut add = |class: &str, token: String| corpus.push((class.to_owned(), token));

    // 1. alg none, in every casing, with and without a signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        add(&format!("alg {alg}"), raw(&json!({"alg": alg, "typ": "JWT", "kid": KID}), &good_claims(), b""));
        add(&format!("alg {alg}, trailing sig"), raw(&json!({"alg": alg, "kid": KID}), &good_claims(), b"sig"));
    }
    // 2. HS256 keyed with the public key (algorithm confusion), as PEM text and as the JWK's modulus.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(KID.into());
    add("HS256 keyed with public PEM", encode(&hs, &good_claims(), &EncodingKey::from_secret(trusted().public_pem.as_bytes())).unwrap());
    let n = trusted().jwk["n"].as_str().unwrap().to_owned();
    add("HS256 keyed with modulus", encode(&hs, &good_claims(), &EncodingKey::from_secret(n.as_bytes())).unwrap());
    // 3. A foreign key under the trusted kid.
    add("foreign key, same kid", sign_with(foreign(), rs256(), &good_claims()));
    // 4. Another RSA algorithm, signed by the trusted key itself.
    for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
        let mut h = Header::new(alg);
        h.kid = Some(KID.into());
        add(&format!("{alg:?} by the trusted key"), sign_with(trusted(), h, &good_claims()));
    }
    // 5. Payload swapped under a valid signature.
    let mallory = with_claims(|c| {
        c.insert("sub".into(), json!("mallory"));
    });
    add("payload swapped", format!("{}.{}.{}", parts[0], B64.encode(mallory.to_string()), parts[2]));
    // 6. Header swapped under a valid signature (kid changed).
    add("header swapped", format!("{}.{}.{}", B64.encode(json!({"alg": "RS256", "kid": "key-2"}).to_string()), parts[1], parts[2]));
    // 7. Stripped, truncated and flipped signatures.
    add("signature stripped", format!("{}.{}.", parts[0], parts[1]));
    add("signature missing", format!("{}.{}", parts[0], parts[1]));
    add("signature truncated", format!("{}.{}.{}", parts[0], parts[1], &parts[2][..parts[2].len() / 2]));
    let mut flipped = B64.decode(parts[2]).unwrap();
    flipped[10] ^= 1;
    add("signature bit flipped", format!("{}.{}.{}", parts[0], parts[1], B64.encode(flipped)));
    // 8. Expiry and not-before games.
    add(
        "expired",
        sign(&with_claims(|c| {
            c.insert("exp".into(), json!(now() - 3600));
        })),
    );
    add(
        "not yet valid",
        sign(&with_claims(|c| {
            c.insert("nbf".into(), json!(now() + 3600));
        })),
    );
    add(
        "exp as string",
        sign(&with_claims(|c| {
            c.insert("exp".into(), json!((now() + 3600).to_string()));
        })),
    );
    add(
        "exp as float far future string",
        sign(&with_claims(|c| {
            c.insert("exp".into(), json!("9999999999"));
        })),
    );
    // 9. Issuer and audience mismatches.
    add(
        "wrong iss",
        sign(&with_claims(|c| {
            c.insert("iss".into(), json!("https://evil.example.com"));
        })),
    );
    add(
        "iss with trailing slash",
        sign(&with_claims(|c| {
            c.insert("iss".into(), json!("https://accounts.google.com/"));
        })),
    );
    add(
        "wrong aud",
        sign(&with_claims(|c| {
            c.insert("aud".into(), json!("someone-else.apps.googleusercontent.com"));
        })),
    );
    add(
        "aud list without ours",
        sign(&with_claims(|c| {
            c.insert("aud".into(), json!(["a", "b"]));
        })),
    );
    // 10. Missing claims.
    for claim in ["exp", "iss", "aud", "sub"] {
        add(
            &format!("missing {claim}"),
            sign(&with_claims(|c| {
                c.remove(claim);
            })),
        );
    }
    // 11. Claims of the wrong JSON type.
    add(
        "sub as number",
        sign(&with_claims(|c| {
            c.insert("sub".into(), json!(1234567890));
        })),
    );
    add(
        "sub empty",
        sign(&with_claims(|c| {
            c.insert("sub".into(), json!(""));
        })),
    );
    add(
        "name as object",
        sign(&with_claims(|c| {
            c.insert("name".into(), json!({"first": "A"}));
        })),
    );
    add("claims as array", sign_with(trusted(), rs256(), &json!([1, 2, 3])));
    // 12. Key ids: unknown, absent.
    let mut other_kid = rs256();
    other_kid.kid = Some("unknown".into());
    add("unknown kid", sign_with(trusted(), other_kid, &good_claims()));
    let mut no_kid = rs256();
    no_kid.kid = None;
    add("no kid", sign_with(trusted(), no_kid, &good_claims()));
    // 13. Header key injection: the attacker's key or key URL in the header, signature by the attacker.
    let mut jku = rs256();
    jku.jku = Some("http://127.0.0.1:1/jwks.json".into());
    add("jku header", sign_with(foreign(), jku, &good_claims()));
    let mut x5u = rs256();
    x5u.x5u = Some("http://127.0.0.1:1/cert.pem".into());
    add("x5u header", sign_with(foreign(), x5u, &good_claims()));
    let mut jwk = rs256();
    jwk.jwk = Some(serde_json::from_value(foreign().jwk.clone()).unwrap());
    add("embedded jwk header", sign_with(foreign(), jwk, &good_claims()));
    // 14. Oversized tokens.
    add(
        "oversized",
        sign(&with_claims(|c| {
            c.insert("pad".into(), json!("x".repeat(20_000)));
        })),
    );
    // 15. Garbage.
    for (i, g) in ["", ".", "..", "a.b.c", "not a token", "eyJhbGciOiJSUzI1NiJ9", "eyJ.eyJ.eyJ", "\u{0}\u{1}"].iter().enumerate() {
        add(&format!("garbage {i}"), g.to_string());
    }
    add("header not JSON", format!("{}.{}.{}", B64.encode("{not json"), parts[1], parts[2]));
    add("standard base64 padding", format!("{}=.{}.{}", parts[0], parts[1], parts[2]));
    corpus
}

#[tokio::test]
async fn the_forged_token_corpus_is_refused_every_one() {
    let v = verifier();
    let corpus = forged_corpus();
    let classes: std::collections::BTreeSet<_> = corpus.iter().map(|(c, _)| c.split(' ').next().unwrap().to_owned()).collect();
    assert!(corpus.len() >= 40, "corpus has {} tokens", corpus.len());
    let mut accepted = Vec::new();
    for (class, token) in &corpus {
        match v.verify(token).await {
            Ok(caller) => accepted.push(format!("{class}: accepted as {caller:?}")),
            Err(e) if e.status() == 401 => {}
            Err(e) => accepted.push(format!("{class}: {} instead of 401", e.status())),
        }
    }
    println!("forged tokens: {} in {} classes, accepted: {}", corpus.len(), classes.len(), accepted.len());
    assert!(accepted.is_empty(), "{accepted:#?}");
}

/// Counts fetches and serves a chosen key set.
struct CountingSource {
    jwks: std::sync::Mutex<Value>,
    max_age: Option<Duration>,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl KeySource for CountingSource {
    async fn fetch(&self) -> anyhow::Result<FetchedKeys> {
        if self.fail.load(Ordering::Relaxed) {
            anyhow::bail!("JWKS endpoint down");
        }
        Ok(FetchedKeys { jwks: self.jwks.lock().unwrap().clone(), max_age: self.max_age })
    }
}

fn counting(max_age: Option<Duration>) -> Arc<CountingSource> {
    Arc::new(CountingSource { jwks: std::sync::Mutex::new(json!({"keys": [trusted().jwk]})), max_age, fail: Default::default() })
}

#[tokio::test(start_paused = true)]
async fn the_key_set_is_fetched_once_while_fresh() {
    let source = counting(Some(Duration::from_secs(3600)));
    let v = verifier_with(source.clone());
    let token = sign(&good_claims());
    for _ in 0..10_000 {
        v.verify(&token).await.unwrap();
    }
    assert_eq!(v.keys().fetch_count(), 1);
    println!("JWKS: 10000 verifications, {} fetch", v.keys().fetch_count());
    tokio::time::advance(Duration::from_secs(3601)).await;
    v.verify(&token).await.unwrap();
    assert_eq!(v.keys().fetch_count(), 2, "max-age honoured: refetched once stale");
}

#[tokio::test(start_paused = true)]
async fn unknown_kids_cost_at_most_one_fetch_per_cooldown() {
    let source = counting(Some(Duration::from_secs(3600)));
    let v = verifier_with(source.clone());
    v.verify(&sign(&good_claims())).await.unwrap();
    let mut h = rs256();
    h.kid = Some("too-soon".into());
    let _ = v.verify(&sign_with(foreign(), h, &good_claims())).await;
    assert_eq!(v.keys().fetch_count(), 1, "no refetch within the cool-down of the first fetch");
    tokio::time::advance(Duration::from_secs(31)).await;
    for i in 0..500 {
        let mut h = rs256();
        h.kid = Some(format!("flood-{i}"));
        assert_eq!(v.verify(&sign_with(foreign(), h, &good_claims())).await.unwrap_err().status(), 401);
    }
    assert_eq!(v.keys().fetch_count(), 2, "the first unknown kid refetches, the rest wait out the cool-down");
    println!("JWKS: 500 unknown kids in one 30 s cool-down, 1 refetch");
    tokio::time::advance(Duration::from_secs(31)).await;
    let mut h = rs256();
    h.kid = Some("flood-after".into());
    let _ = v.verify(&sign_with(foreign(), h, &good_claims())).await;
    assert_eq!(v.keys().fetch_count(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_rotated_key_is_picked_up_by_its_kid() {
    let source = counting(Some(Duration::from_secs(3600)));
    let v = verifier_with(source.clone());
    v.verify(&sign(&good_claims())).await.unwrap();
    tokio::time::advance(Duration::from_secs(31)).await;
    let mut rotated = foreign().jwk.clone();
    rotated["kid"] = json!("key-2");
    *source.jwks.lock().unwrap() = json!({"keys": [trusted().jwk, rotated]});
    let mut h = rs256();
    h.kid = Some("key-2".into());
    assert!(v.verify(&sign_with(foreign(), h, &good_claims())).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn an_outage_of_the_key_endpoint_keeps_the_cached_keys() {
    let source = counting(Some(Duration::from_secs(60)));
    let v = verifier_with(source.clone());
    let token = sign(&good_claims());
    v.verify(&token).await.unwrap();
    source.fail.store(true, Ordering::Relaxed);
    tokio::time::advance(Duration::from_secs(120)).await;
    assert!(v.verify(&token).await.is_ok(), "stale keys still verify while the endpoint is down");
}

#[tokio::test]
async fn no_keys_at_all_is_our_fault_not_the_callers() {
    let source = counting(None);
    source.fail.store(true, Ordering::Relaxed);
    let v = verifier_with(source);
    let e = v.verify(&sign(&good_claims())).await.unwrap_err();
    assert_eq!(e.status(), 500);
}

#[test]
fn cache_control_max_age_is_read() {
    assert_eq!(parse_max_age("public, max-age=19845, must-revalidate, no-transform"), Some(Duration::from_secs(19845)));
    assert_eq!(parse_max_age("no-cache"), None);
    assert_eq!(parse_max_age("max-age=abc"), None);
}

#[test]
fn only_rsa_signing_keys_are_kept() {
    let mut enc = trusted().jwk.clone();
    enc["use"] = json!("enc");
    let mut hs = trusted().jwk.clone();
    hs["alg"] = json!("HS256");
    hs["kid"] = json!("hs");
    let keys = parse_jwks(&json!({"keys": [trusted().jwk, enc, hs, {"kty": "oct", "kid": "x", "k": "c2VjcmV0"}, "junk"]}));
    assert_eq!(keys.keys().collect::<Vec<_>>(), [&KID.to_string()]);
}
