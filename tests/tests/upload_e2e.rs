//! The upload half of API.md end to end on the local stack: a plain HTTP client, presigned PUTs straight to the
//! in-process S3, the storage event, and every error row the upload routes can produce.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::config::UploadConfig;
use framelift_shared::domain::{VideoId, VideoStatus};
use framelift_tests::api::{Api, test_bytes};
use framelift_tests::temp_dir;
use serde_json::{Value, json};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

async fn start(upload: UploadConfig) -> (RunningServer, Api, std::path::PathBuf) {
    let dir = temp_dir("e2e");
    // Transcoding off: these uploads are random bytes, and the upload routes are what is under test.
    let server = RunningServer::start(DevConfig { upload, transcode_concurrency: 0, ..DevConfig::for_tests(&dir) }).await.unwrap();
    let api = Api::new(&server.url);
    (server, api, dir)
}

fn init_body(size: usize) -> Value {
    json!({"filename": "holiday.mp4", "contentType": "video/mp4", "size": size, "title": "Holiday", "description": "Sea and sand"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_goes_from_initialize_to_processing() {
    let (server, api, dir) = start(UploadConfig::default()).await;
    let alice = api.token("Alice").await;
    let size = 20 * MIB + 12_345;
    let file = test_bytes(size, 7);

    let (status, init) = api.call("POST", "/api/uploads", Some(init_body(size)), Some(&alice)).await;
    assert_eq!(status, 201, "{init}");
    let id = init["video"]["id"].as_str().unwrap().to_owned();
    let part_size = init["partSize"].as_u64().unwrap() as usize;
    assert!(part_size >= 5 * MIB);
    assert_eq!(init["partCount"].as_u64().unwrap() as usize, size.div_ceil(part_size));

    // Every part straight to storage through its presigned URL, all in flight at once.
    let count = init["partCount"].as_u64().unwrap() as u32;
    let numbers: Vec<u32> = (1..=count).collect();
    let urls = api.part_urls(&id, &numbers, &alice).await;
    let puts = urls.iter().zip(file.chunks(part_size)).map(|(url, chunk)| api.put_part(url, chunk.to_vec()));
    let results = futures::future::join_all(puts).await;
    let etags: Vec<String> = results
        .into_iter()
        .map(|(s, e)| {
            assert_eq!(s, 200);
            e.expect("the ETag header is readable")
        })
        .collect();

    let (status, listed) = api.call("GET", &format!("/api/uploads/{id}/parts"), None, Some(&alice)).await;
    assert_eq!(status, 200);
    let listed_tags: Vec<&str> = listed["parts"].as_array().unwrap().iter().map(|p| p["etag"].as_str().unwrap()).collect();
    assert_eq!(listed_tags, etags.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(listed["parts"][count as usize - 1]["size"].as_u64().unwrap() as usize, size - part_size * (count as usize - 1));

    let parts: Vec<Value> = etags.iter().enumerate().map(|(i, e)| json!({"partNumber": i + 1, "etag": e})).collect();
    let (status, done) = api.call("POST", &format!("/api/uploads/{id}/complete"), Some(json!({"parts": parts})), Some(&alice)).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["video"]["status"], "processing");
    assert_eq!(
        api.call("POST", &format!("/api/uploads/{id}/complete"), Some(json!({})), Some(&alice)).await,
        (200, done.clone()),
        "complete is idempotent"
    );

    // The record, the bytes and the event that will start the transcode.
    let video_id: VideoId = id.parse().unwrap();
    let record = server.stack.state().meta.get(&video_id).await.unwrap().unwrap();
    assert_eq!((record.status, record.upload.plan.size), (VideoStatus::Processing, size as u64));
    let object =
        server.stack.s3_client().get_object().bucket(framelift_devserver::BUCKET).key(video_id.source_key().as_str()).send().await.unwrap();
    assert!(object.body.collect().await.unwrap().into_bytes() == file, "storage holds exactly the uploaded bytes");
    let key = format!("uploads/{id}/source");
    let event = server.stack.events().wait_for_key(&key, Duration::from_secs(5)).await.expect("an ObjectCreated event for the source");
    let record = &event.records[0];
    assert_eq!(record.event_name.as_deref(), Some("ObjectCreated:CompleteMultipartUpload"));
    assert_eq!(record.s3.object.size, Some(size as i64));
    assert_eq!(record.s3.bucket.name.as_deref(), Some(framelift_devserver::BUCKET));

    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_row_of_the_upload_routes() {
    let (server, api, dir) = start(UploadConfig { max_upload_bytes: 64 * MIB as u64, ..UploadConfig::default() }).await;
    let alice = api.token("Alice").await;
    let bob = api.token("Bob").await;
    let (_, init) = api.call("POST", "/api/uploads", Some(init_body(10 * MIB)), Some(&alice)).await;
    let id = init["video"]["id"].as_str().unwrap().to_owned();
    let routes = [
        ("POST", format!("/api/uploads/{id}/part-urls"), Some(json!({"partNumbers": [1]}))),
        ("GET", format!("/api/uploads/{id}/parts"), None),
        ("POST", format!("/api/uploads/{id}/complete"), Some(json!({}))),
        ("DELETE", format!("/api/uploads/{id}"), None),
    ];

    // 401: no token, a garbage token, a token from another issuer's key.
    assert_eq!(api.call("POST", "/api/uploads", Some(init_body(10)), None).await.0, 401);
    for (method, path, body) in &routes {
        assert_eq!(api.call(method, path, body.clone(), None).await.0, 401, "{method} {path}");
        assert_eq!(api.call(method, path, body.clone(), Some("abc.def.ghi")).await.0, 401, "{method} {path}");
    }
    let foreign = framelift_dev_issuer::DevIssuer::generate().unwrap().token_for("Alice").unwrap();
    assert_eq!(api.call("POST", "/api/uploads", Some(init_body(10)), Some(&foreign)).await.0, 401);

    // 403: someone else's upload.
    for (method, path, body) in &routes {
        let (status, res) = api.call(method, path, body.clone(), Some(&bob)).await;
        assert_eq!(status, 403, "{method} {path}: {res}");
    }

    // 404: no such upload.
    for path in ["/api/uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/parts", "/api/uploads/nonsense/parts"] {
        assert_eq!(api.call("GET", path, None, Some(&alice)).await.0, 404, "{path}");
    }

    // 400: malformed JSON, part out of range, missing parts.
    let res = api.http.post(format!("{}/api/uploads", api.base)).bearer_auth(&alice).body("{\"title\": ").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let (status, res) = api.call("POST", &format!("/api/uploads/{id}/part-urls"), Some(json!({"partNumbers": [3]})), Some(&alice)).await;
    assert_eq!(status, 400);
    assert!(res["error"]["message"].as_str().unwrap().contains("parts 1 to 2"), "{res}");
    let (status, res) = api.call("POST", &format!("/api/uploads/{id}/complete"), Some(json!({})), Some(&alice)).await;
    assert_eq!(status, 400);
    assert!(res["error"]["message"].as_str().unwrap().contains("missing"), "{res}");

    // 413 and 415 at initialize.
    assert_eq!(api.call("POST", "/api/uploads", Some(init_body(64 * MIB + 1)), Some(&alice)).await.0, 413);
    let png = json!({"filename": "a.png", "contentType": "image/png", "size": 10, "title": "t"});
    assert_eq!(api.call("POST", "/api/uploads", Some(png), Some(&alice)).await.0, 415);

    // 409 after complete; 404 for complete after abort.
    let urls = api.part_urls(&id, &[1, 2], &alice).await;
    api.put_part(&urls[0], test_bytes(8 * MIB, 1)).await;
    api.put_part(&urls[1], test_bytes(2 * MIB, 2)).await;
    assert_eq!(api.call("POST", &format!("/api/uploads/{id}/complete"), Some(json!({})), Some(&alice)).await.0, 200);
    assert_eq!(api.call("POST", &format!("/api/uploads/{id}/part-urls"), Some(json!({"partNumbers": [1]})), Some(&alice)).await.0, 409);
    assert_eq!(api.call("DELETE", &format!("/api/uploads/{id}"), None, Some(&alice)).await.0, 409);
    let (_, other) = api.call("POST", "/api/uploads", Some(init_body(6 * MIB)), Some(&alice)).await;
    let other = other["video"]["id"].as_str().unwrap().to_owned();
    assert_eq!(api.call("DELETE", &format!("/api/uploads/{other}"), None, Some(&alice)).await.0, 204);
    assert_eq!(api.call("POST", &format!("/api/uploads/{other}/complete"), Some(json!({})), Some(&alice)).await.0, 404);

    // More bytes than declared: a part URL signs its part's exact length, so storage refuses the extra bytes before
    // complete could see them (the 413 complete still gives for parts that add up to more is tested in
    // functions/complete; tests/tests/tampering.rs tries every way of sending more).
    let (_, big) = api.call("POST", "/api/uploads", Some(init_body(6 * MIB)), Some(&alice)).await;
    let big = big["video"]["id"].as_str().unwrap().to_owned();
    let url = api.part_urls(&big, &[1], &alice).await.remove(0);
    let status = api.put_part(&url, test_bytes(7 * MIB, 3)).await.0;
    assert!(status == 403 || status == 0, "refused, by a 403 or by closing: {status}");
    let (status, res) = api.call("GET", &format!("/api/uploads/{big}/parts"), None, Some(&alice)).await;
    assert_eq!((status, res["parts"].as_array().map(Vec::len)), (200, Some(0)), "{res}");

    // Unknown routes and methods answer in the same shape.
    assert_eq!(api.call("GET", "/api/uploads", None, Some(&alice)).await.0, 405);
    assert_eq!(api.call("GET", "/api/nothing", None, None).await.0, 404);

    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_urls_work_only_as_signed_and_only_until_they_expire() {
    let (server, api, dir) = start(UploadConfig { part_url_ttl: Duration::from_secs(2), ..UploadConfig::default() }).await;
    let alice = api.token("Alice").await;
    let (_, init) = api.call("POST", "/api/uploads", Some(init_body(12 * MIB)), Some(&alice)).await;
    let id = init["video"]["id"].as_str().unwrap().to_owned();
    let urls = api.part_urls(&id, &[1, 2], &alice).await;

    // Tampering with what was signed is refused. (Small bodies: the server answers before reading a refused body, and a
    // client still sending megabytes would see the connection close rather than the 403.)
    let tampered = [
        urls[0].replace("partNumber=1", "partNumber=2"),
        urls[0].replace(&format!("uploads/{id}/source"), "uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source"),
        urls[0].replace("X-Amz-Expires=2", "X-Amz-Expires=9999"),
        urls[0].split('?').next().unwrap().to_owned(),
    ];
    for url in &tampered {
        let (status, _) = api.put_part(url, test_bytes(1024, 9)).await;
        assert_eq!(status, 403, "{url}");
    }
    // A browser may PUT from another origin and read the ETag.
    let preflight = api
        .http
        .request(reqwest::Method::OPTIONS, &urls[0])
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.headers()["access-control-expose-headers"], "ETag");
    assert_eq!(preflight.headers()["access-control-allow-origin"], "http://localhost:5173");
    let (status, _) = api.put_part(&urls[0], test_bytes(8 * MIB, 1)).await;
    assert_eq!(status, 200, "the untampered URL works");

    // Expired: refused; a fresh URL for the same part works, and nothing acknowledged was lost.
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert_eq!(api.put_part(&urls[1], test_bytes(1024, 2)).await.0, 403, "an expired URL is refused");
    let fresh = api.part_urls(&id, &[2], &alice).await;
    assert_eq!(api.put_part(&fresh[0], test_bytes(4 * MIB, 2)).await.0, 200);
    assert_eq!(api.call("POST", &format!("/api/uploads/{id}/complete"), Some(json!({})), Some(&alice)).await.0, 200);

    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_every_acknowledged_part() {
    let dir = temp_dir("restart");
    let config = || DevConfig { transcode_concurrency: 0, ..DevConfig::for_tests(&dir) };
    let server = RunningServer::start(config()).await.unwrap();
    let api = Api::new(&server.url);
    let alice = api.token("Alice").await;
    let (_, init) = api.call("POST", "/api/uploads", Some(init_body(9 * MIB)), Some(&alice)).await;
    let id = init["video"]["id"].as_str().unwrap().to_owned();
    let url = api.part_urls(&id, &[1], &alice).await.remove(0);
    let (_, etag) = api.put_part(&url, test_bytes(8 * MIB, 1)).await;
    server.stop().await.unwrap();

    let server = RunningServer::start(config()).await.unwrap();
    let api = Api::new(&server.url);
    let (status, listed) = api.call("GET", &format!("/api/uploads/{id}/parts"), None, Some(&alice)).await;
    assert_eq!(status, 200, "the token and the upload survive the restart");
    assert_eq!(listed["parts"][0]["etag"].as_str(), etag.as_deref());
    let url = api.part_urls(&id, &[2], &alice).await.remove(0);
    assert_eq!(api.put_part(&url, test_bytes(MIB, 2)).await.0, 200);
    assert_eq!(api.call("POST", &format!("/api/uploads/{id}/complete"), Some(json!({})), Some(&alice)).await.0, 200);
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
