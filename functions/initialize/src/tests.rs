use super::*;
use framelift_shared::config::UploadConfig;
use framelift_shared::domain::VideoStatus;
use framelift_shared::ports::BlobStore;
use framelift_testkit::{World, parts, request};
use serde_json::{Value, json};

fn body(size: u64) -> Value {
    json!({"filename": "../../etc/passwd;rm -rf.mp4", "contentType": "video/mp4", "size": size, "title": " Day 9 ", "description": "Adaptive"})
}

async fn call(w: &World, body: Value, token: Option<&str>) -> (u16, Value) {
    parts(handle(&w.state, request("POST", "/api/uploads", Some(body), token)).await)
}

#[tokio::test]
async fn starts_an_upload_at_a_key_the_client_cannot_choose() {
    let w = World::default();
    let (status, res) = call(&w, body(61_581_333), Some(&w.token("Alice"))).await;
    assert_eq!(status, 201, "{res}");
    let video = &res["video"];
    assert_eq!(video["status"], "uploading");
    assert_eq!(video["title"], "Day 9");
    assert_eq!(video["author"]["name"], "Alice");
    assert_eq!(video["sizeBytes"], 61_581_333);
    assert_eq!(res["partSize"], 8 * 1024 * 1024);
    assert_eq!(res["partCount"], 8);
    let id: VideoId = video["id"].as_str().unwrap().parse().unwrap();
    let record = w.state.meta.get(&id).await.unwrap().unwrap();
    assert_eq!(record.status, VideoStatus::Uploading);
    assert_eq!(record.upload.upload_id.as_str(), res["uploadId"]);
    assert_eq!(w.blobs.open_uploads(), 1);
    // The upload lives at the id's key and nowhere the file name points.
    let parts = w.blobs.list_parts(&id.source_key(), &record.upload.upload_id).await.unwrap();
    assert!(parts.is_empty());
    assert_eq!(id.source_key().as_str(), format!("uploads/{id}/source"));
}

#[tokio::test]
async fn every_refusal_says_what_to_fix() {
    let w = World::with_upload(UploadConfig { max_upload_bytes: 1_000_000, ..UploadConfig::default() });
    let t = w.token("Alice");
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"filename": "a.png", "contentType": "image/png", "size": 10, "title": "t"}), 415, "not a video type"),
        (json!({"filename": "a", "contentType": "application/octet-stream", "size": 10, "title": "t"}), 415, "not a video type"),
        (json!({"filename": "a", "contentType": "nonsense", "size": 10, "title": "t"}), 400, "not a media type"),
        (body(1_000_001), 413, "size 1000001 bytes (976.6 KiB) is above the limit of 1000000 bytes (976.6 KiB)"),
        (body(0), 400, "file is empty"),
        (json!({"filename": "a", "contentType": "video/mp4", "size": -5, "title": "t"}), 400, "size -5 is not a file size"),
        (json!({"filename": "a", "contentType": "video/mp4", "size": "5", "title": "t"}), 400, "invalid type"),
        (json!({"filename": "a", "contentType": "video/mp4", "size": 5}), 400, "missing field `title`"),
        (json!({"filename": "a", "contentType": "video/mp4", "size": 5, "title": "   "}), 400, "title is empty"),
        (json!({"filename": "", "contentType": "video/mp4", "size": 5, "title": "t"}), 400, "filename"),
        (json!({"contentType": "video/mp4", "size": 5, "title": "t"}), 400, "missing field `filename`"),
        (
            json!({"filename": "a", "contentType": "video/mp4", "size": 5, "title": "t", "description": "x".repeat(5001)}),
            400,
            "description is longer",
        ),
        (json!([1, 2]), 400, "the body must be a JSON object"),
    ];
    for (body, want, says) in cases {
        let (status, res) = call(&w, body.clone(), Some(&t)).await;
        assert_eq!(status, want, "{body} -> {res}");
        let message = res["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message:?} should say {says:?}");
    }
    let raw = handle(&w.state, {
        let mut r = request("POST", "/api/uploads", None, Some(&t));
        *r.body_mut() = lambda_http::Body::Text("{not json".into());
        r
    })
    .await;
    assert_eq!(parts(raw).0, 400);
    assert_eq!(w.blobs.open_uploads(), 0, "nothing was started for a refused request");
}

#[tokio::test]
async fn no_token_no_upload() {
    let w = World::default();
    let (status, res) = call(&w, body(10), None).await;
    assert_eq!(status, 401);
    assert_eq!(res["error"]["code"], "unauthorized");
    let (status, _) = call(&w, body(10), Some("not-a-token")).await;
    assert_eq!(status, 401);
    assert_eq!(w.blobs.open_uploads(), 0);
}
