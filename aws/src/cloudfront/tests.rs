//! The signer against CloudFront's documented procedure: a custom policy stripped of white space, signed by
//! `openssl sha1 -sign` with the private key, base64 (`openssl base64 -A`), then `tr '+=/' '-_~'`. RSA PKCS#1 v1.5
//! signatures are deterministic, so the same key and policy must give the same characters.

use super::*;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BASE: &str = "https://d111111abcdef8.cloudfront.net";
const KEY_PAIR_ID: &str = "K2JCJMDEHXQW5F";

/// A fresh RSA 2048 key made by openssl in a folder of its own: `(folder, PEM)`, PKCS#8 or (`traditional`) PKCS#1.
fn openssl_key(traditional: bool) -> (PathBuf, String) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cloudfront-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key.pem");
    let mut cmd = Command::new("openssl");
    cmd.args(["genrsa", "-out"]).arg(&key);
    if traditional {
        cmd.arg("-traditional");
    }
    assert!(cmd.arg("2048").stderr(Stdio::null()).status().unwrap().success());
    let pem = std::fs::read_to_string(&key).unwrap();
    (dir, pem)
}

/// The documented procedure, run by openssl and tr: the signature of `policy` under the key in `dir`.
fn documented_signature(dir: &Path, policy: &str) -> String {
    let pipeline = "tr -d ' \\t\\n\\r' | openssl sha1 -sign key.pem | openssl base64 -A | tr -- '+=/' '-_~'";
    let mut child =
        Command::new("sh").args(["-c", pipeline]).current_dir(dir).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(policy.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn param<'a>(query: &'a str, name: &str) -> &'a str {
    query.split('&').find_map(|p| p.strip_prefix(name)?.strip_prefix('=')).unwrap_or_else(|| panic!("no {name} in {query}"))
}

fn from_url_safe(text: &str) -> Vec<u8> {
    let standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            c => c,
        })
        .collect();
    base64::engine::general_purpose::STANDARD.decode(standard).unwrap()
}

#[test]
fn the_signature_is_the_documented_one_for_either_key_format() {
    for traditional in [false, true] {
        let (dir, pem) = openssl_key(traditional);
        let signer = CloudFrontUrls::new(BASE, KEY_PAIR_ID, &pem).unwrap();
        let expires = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let policy = signer.policy("media/01jexample/", expires);
        let query = signer.signed_query(&policy);
        assert_eq!(param(&query, "Signature"), documented_signature(&dir, &policy), "PKCS#1 key: {traditional}");
        assert_eq!(param(&query, "Key-Pair-Id"), KEY_PAIR_ID);
        assert_eq!(from_url_safe(param(&query, "Policy")), policy.as_bytes(), "the policy travels as signed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn the_policy_grants_the_video_s_folder_until_the_expiry_in_cloudfront_s_shape() {
    let (dir, pem) = openssl_key(false);
    let signer = CloudFrontUrls::new(&format!("{BASE}/"), KEY_PAIR_ID, &pem).unwrap();
    let expires = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
    let policy = signer.policy("media/01jexample/", expires);
    assert!(!policy.contains(char::is_whitespace), "{policy}");
    let parsed: serde_json::Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(
        parsed,
        serde_json::json!({"Statement": [{
            "Resource": "https://d111111abcdef8.cloudfront.net/media/01jexample/*",
            "Condition": {"DateLessThan": {"AWS:EpochTime": 1_767_225_600}}
        }]})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_playlist_s_segments_share_one_signature_and_no_other_video_is_signed() {
    let (dir, pem) = openssl_key(false);
    let signer = CloudFrontUrls::new(BASE, KEY_PAIR_ID, &pem).unwrap();
    let (video, other) = (VideoId::generate(), VideoId::generate());
    let prefix = video.media_prefix();
    let keys = [format!("{prefix}720p/seg_0000.ts"), format!("{prefix}720p/seg_0001.ts")];
    let expires = OffsetDateTime::now_utc() + std::time::Duration::from_secs(3600);
    let urls = signer.urls(&video, &keys, expires).await.unwrap();
    for (url, key) in urls.iter().zip(&keys) {
        let (address, query) = url.split_once('?').unwrap();
        assert_eq!(address, format!("{BASE}/{key}"));
        assert_eq!(query, signer.signed_query(&signer.policy(&prefix, expires)));
        assert_eq!(param(query, "Signature"), documented_signature(&dir, &signer.policy(&prefix, expires)));
    }
    let err = signer.urls(&video, &[format!("{}poster.jpg", other.media_prefix())], expires).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wrong_address_or_key_says_what_to_fix() {
    let (dir, pem) = openssl_key(false);
    for base in ["http://d111111abcdef8.cloudfront.net", "https://d111111abcdef8.cloudfront.net/media", "d111111abcdef8.cloudfront.net"] {
        let err = CloudFrontUrls::new(base, KEY_PAIR_ID, &pem).err().unwrap();
        assert!(err.to_string().contains("FRAMELIFT_MEDIA_CDN_URL"), "{base}: {err}");
    }
    let public = pem.replace("PRIVATE", "PUBLIC");
    let err = CloudFrontUrls::new(BASE, KEY_PAIR_ID, &public).err().unwrap();
    assert!(err.to_string().contains("RSA private key"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
