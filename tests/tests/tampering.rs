//! Upload tampering, all in one place and counted: against the in-process S3 (which checks SigV4 as S3 does), every way
//! of bending a part URL or the upload routes is tried. 0 may be accepted, and afterwards the upload resumes and
//! completes with exactly the bytes its owner sent.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::config::UploadConfig;
use framelift_shared::domain::VideoId;
use framelift_tests::api::{Api, test_bytes};
use framelift_tests::temp_dir;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: usize = 1024 * 1024;
const TTL: Duration = Duration::from_secs(4);

/// The attempts made and the ones storage or the API accepted, by class.
#[derive(Default)]
struct Tally {
    rows: Vec<(&'static str, usize, usize)>,
}

impl Tally {
    fn record(&mut self, class: &'static str, accepted: bool) {
        match self.rows.iter_mut().find(|r| r.0 == class) {
            Some(r) => {
                r.1 += 1;
                r.2 += usize::from(accepted);
            }
            None => self.rows.push((class, 1, usize::from(accepted))),
        }
    }
}

struct Upload {
    id: String,
    upload_id: String,
    part_size: usize,
}

async fn start_upload(api: &Api, token: &str, size: usize) -> Upload {
    let body = json!({"filename": "a.mp4", "contentType": "video/mp4", "size": size, "title": "Tampered with"});
    let (status, init) = api.call("POST", "/api/uploads", Some(body), Some(token)).await;
    assert_eq!(status, 201, "{init}");
    Upload {
        id: init["video"]["id"].as_str().unwrap().to_owned(),
        upload_id: init["uploadId"].as_str().unwrap().to_owned(),
        part_size: init["partSize"].as_u64().unwrap() as usize,
    }
}

/// A PUT with a body whose length the client states (`Content-Length`) and sends (`body`), over a raw connection:
/// returns the status line's code, or 0 if the server closed without one.
async fn raw_put(url: &str, content_length: Option<usize>, body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut conn = tokio::net::TcpStream::connect(host).await.unwrap();
    let length = match content_length {
        Some(n) => format!("Content-Length: {n}\r\n"),
        None => "Transfer-Encoding: chunked\r\n".into(),
    };
    let head = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\n{length}\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    if content_length.is_some() {
        let _ = conn.write_all(body).await;
    } else {
        let _ = conn.write_all(format!("{:x}\r\n", body.len()).as_bytes()).await;
        let _ = conn.write_all(body).await;
        let _ = conn.write_all(b"\r\n0\r\n\r\n").await;
    }
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = conn.read(&mut buf).await {
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buf[..n]);
            if response.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    String::from_utf8_lossy(&response).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

async fn held(api: &Api, id: &str, token: &str) -> Value {
    let (status, parts) = api.call("GET", &format!("/api/uploads/{id}/parts"), None, Some(token)).await;
    assert_eq!(status, 200, "{parts}");
    parts["parts"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tampered_upload_request_is_accepted_and_the_upload_stays_resumable() {
    let dir = temp_dir("tampering");
    let upload = UploadConfig { part_url_ttl: TTL, ..UploadConfig::default() };
    let server = RunningServer::start(DevConfig { upload, transcode_concurrency: 0, ..DevConfig::for_tests(&dir) }).await.unwrap();
    let api = Api::new(&server.url);
    let (alice, bob) = (api.token("Alice").await, api.token("Bob").await);

    // Alice's upload under attack: three parts, the first of which she sends honestly.
    let size = 2 * 8 * MIB + 12_345;
    let file = test_bytes(size, 11);
    let a = start_upload(&api, &alice, size).await;
    let chunks: Vec<&[u8]> = file.chunks(a.part_size).collect();
    assert_eq!(chunks.len(), 3);
    let url1 = api.part_urls(&a.id, &[1], &alice).await.remove(0);
    let (status, etag1) = api.put_part(&url1, chunks[0].to_vec()).await;
    assert_eq!(status, 200);
    let etag1 = etag1.unwrap();
    let other = start_upload(&api, &alice, 6 * MIB).await;
    let bobs = start_upload(&api, &bob, 6 * MIB).await;
    let other_key = format!("uploads/{}/source", other.id);
    let a_key = format!("uploads/{}/source", a.id);
    let mut tally = Tally::default();
    let small = test_bytes(64 * 1024, 5);

    // A part URL reused for another part number, another key, another upload id (each also with a body of the size
    // signed for it, so only the reuse is wrong).
    let url2 = api.part_urls(&a.id, &[2], &alice).await.remove(0);
    let reused = [
        ("another part number", url2.replace("partNumber=2", "partNumber=3")),
        ("another part number", url2.replace("partNumber=2", "partNumber=1")),
        ("another key", url2.replace(&a_key, &other_key)),
        ("another upload id", url2.replace(&urlencode(&a.upload_id), &urlencode(&other.upload_id))),
        (
            "another upload id",
            url2.replace(&urlencode(&a.upload_id), &urlencode(&bobs.upload_id)).replace(&a_key, &format!("uploads/{}/source", bobs.id)),
        ),
    ];
    for (class, url) in &reused {
        assert_ne!(url, &url2, "{class}: the URL was changed");
        let status = api.put_part(url, chunks[1].to_vec()).await.0;
        tally.record(class, (200..300).contains(&status));
    }
    // Bob's own part URL pointed at Alice's upload.
    let bob_url = api.part_urls(&bobs.id, &[1], &bob).await.remove(0);
    let aimed =
        bob_url.replace(&format!("uploads/{}/source", bobs.id), &a_key).replace(&urlencode(&bobs.upload_id), &urlencode(&a.upload_id));
    tally.record("another user's URL aimed at this upload", (200..300).contains(&api.put_part(&aimed, small.clone()).await.0));
    // Extending the expiry or dropping the signature.
    let longer = url2.replace(&format!("X-Amz-Expires={}", TTL.as_secs()), "X-Amz-Expires=604800");
    tally.record("expiry extended", (200..300).contains(&api.put_part(&longer, chunks[1].to_vec()).await.0));
    let unsigned = url2.split('?').next().unwrap().to_owned() + &format!("?partNumber=2&uploadId={}", urlencode(&a.upload_id));
    tally.record("signature removed", (200..300).contains(&api.put_part(&unsigned, chunks[1].to_vec()).await.0));

    // Bodies other than the length signed: longer and shorter, said honestly; chunked, saying nothing; and a body that
    // runs on past the length it states.
    // (A fresh URL for each group, so that no refusal below is the expiry's doing.)
    let url2 = api.part_urls(&a.id, &[2], &alice).await.remove(0);
    let part2 = chunks[1];
    let mut longer_body = part2.to_vec();
    longer_body.extend_from_slice(&small);
    tally.record("a longer body", (200..300).contains(&raw_put(&url2, Some(longer_body.len()), &longer_body).await));
    tally.record("a shorter body", (200..300).contains(&raw_put(&url2, Some(part2.len() - 1), &part2[..part2.len() - 1]).await));
    tally.record("a body of unstated length (chunked)", (200..300).contains(&raw_put(&url2, None, part2).await));
    // The bytes past the stated length are not part of the request: whatever happens, storage may hold no more than the
    // part's size. (Sent to part 2's URL with part 2's exact length; its first `len` bytes are the real part.)
    let url2 = api.part_urls(&a.id, &[2], &alice).await.remove(0);
    raw_put(&url2, Some(part2.len()), &longer_body).await;
    let after = held(&api, &a.id, &alice).await;
    let part2_held = after.as_array().unwrap().iter().find(|p| p["partNumber"] == 2).map(|p| p["size"].as_u64().unwrap());
    tally.record("a body running past its stated length", part2_held.is_some_and(|s| s as usize > part2.len()));

    // Expired.
    let url3 = api.part_urls(&a.id, &[3], &alice).await.remove(0);
    tokio::time::sleep(TTL + Duration::from_millis(1_100)).await;
    tally.record("expired", (200..300).contains(&api.put_part(&url3, chunks[2].to_vec()).await.0));

    // Another user on every upload route.
    for (method, path, body) in [
        ("POST", format!("/api/uploads/{}/part-urls", a.id), Some(json!({"partNumbers": [3]}))),
        ("GET", format!("/api/uploads/{}/parts", a.id), None),
        ("POST", format!("/api/uploads/{}/complete", a.id), Some(json!({}))),
        ("DELETE", format!("/api/uploads/{}", a.id), None),
    ] {
        let (status, _) = api.call(method, &path, body, Some(&bob)).await;
        tally.record("another user's upload", status != 403);
    }

    // Completing with parts never sent, with wrong ETags, with another upload's ETag, or before every part is held.
    let never_sent = "\"0123456789abcdef0123456789abcdef\"";
    for (class, parts) in [
        ("complete with a part never sent", json!([{"partNumber": 1, "etag": etag1}, {"partNumber": 3, "etag": never_sent}])),
        ("complete with a wrong ETag", json!([{"partNumber": 1, "etag": never_sent}])),
        ("complete with a wrong ETag", json!([{"partNumber": 1, "etag": etag1.replace('a', "b").replace('1', "2")}])),
        (
            "complete with a part never sent",
            json!([{"partNumber": 1, "etag": etag1}, {"partNumber": 2, "etag": etag1}, {"partNumber": 3, "etag": etag1}]),
        ),
    ] {
        let (status, res) = api.call("POST", &format!("/api/uploads/{}/complete", a.id), Some(json!({"parts": parts})), Some(&alice)).await;
        assert!(status == 400 || status == 409, "{class}: {status} {res}");
        tally.record(class, (200..300).contains(&status));
    }
    let (status, res) = api.call("POST", &format!("/api/uploads/{}/complete", a.id), Some(json!({})), Some(&alice)).await;
    assert!(res["error"]["message"].as_str().unwrap_or("").contains("missing"), "{res}");
    tally.record("complete before every part is held", (200..300).contains(&status));

    // The tally: nothing accepted.
    let attempts: usize = tally.rows.iter().map(|r| r.1).sum();
    let accepted: usize = tally.rows.iter().map(|r| r.2).sum();
    for (class, tried, ok) in &tally.rows {
        println!("  {class}: {tried} tried, {ok} accepted");
    }
    assert_eq!(accepted, 0, "accepted tampered requests");

    // Still resumable. Storage holds part 1 as sent and part 2 as far as its stated length (the run-on request's first
    // bytes were exactly the real part 2; the rest was never stored); the owner sends the one part missing and completes.
    let parts = held(&api, &a.id, &alice).await;
    let sizes: Vec<(u64, u64)> =
        parts.as_array().unwrap().iter().map(|p| (p["partNumber"].as_u64().unwrap(), p["size"].as_u64().unwrap())).collect();
    assert_eq!(sizes, [(1, chunks[0].len() as u64), (2, chunks[1].len() as u64)], "only what the signatures allowed is held");
    assert_eq!(parts[0]["etag"].as_str(), Some(etag1.as_str()));
    let url3 = api.part_urls(&a.id, &[3], &alice).await.remove(0);
    assert_eq!(api.put_part(&url3, chunks[2].to_vec()).await.0, 200);
    let (status, done) = api.call("POST", &format!("/api/uploads/{}/complete", a.id), Some(json!({})), Some(&alice)).await;
    assert_eq!(status, 200, "{done}");
    let id: VideoId = a.id.parse().unwrap();
    let stored =
        server.stack.s3_client().get_object().bucket(framelift_devserver::BUCKET).key(id.source_key().as_str()).send().await.unwrap();
    assert!(stored.body.collect().await.unwrap().into_bytes() == file, "storage holds exactly the owner's bytes");
    // Bob's upload and Alice's other one are untouched.
    assert_eq!(held(&api, &bobs.id, &bob).await.as_array().unwrap().len(), 0);
    assert_eq!(held(&api, &other.id, &alice).await.as_array().unwrap().len(), 0);
    println!(
        "tampering: {attempts} attempts in {} classes, {accepted} accepted; the upload then completed with exactly the owner's {size} bytes",
        tally.rows.len()
    );
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

/// Percent-encodes a query value as the presigner does.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}
