//! What the dev server's binary tests share: the API's calls, made as any HTTP client makes them.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A dev token for Alice.
pub async fn token(http: &reqwest::Client, base: &str) -> String {
    http.post(format!("{base}/dev/token")).json(&json!({"name": "Alice"})).send().await.unwrap().json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Uploads `file` through the API in parts, completes it and returns the video's id.
pub async fn upload(http: &reqwest::Client, base: &str, token: &str, file: &std::path::Path) -> String {
    let bytes = std::fs::read(file).unwrap();
    let (status, init) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/uploads"),
        token,
        Some(json!({"filename": "clip.mp4", "contentType": "video/mp4", "size": bytes.len(), "title": "Harbour at dusk"})),
    )
    .await;
    assert_eq!(status, 201, "{init}");
    let id = init["video"]["id"].as_str().unwrap().to_owned();
    let part_size = init["partSize"].as_u64().unwrap() as usize;
    let numbers: Vec<usize> = (1..=init["partCount"].as_u64().unwrap() as usize).collect();
    let (_, urls) =
        call(http, reqwest::Method::POST, format!("{base}/api/uploads/{id}/part-urls"), token, Some(json!({"partNumbers": numbers}))).await;
    for (i, chunk) in bytes.chunks(part_size).enumerate() {
        let url = urls["urls"][(i + 1).to_string()].as_str().unwrap();
        assert_eq!(http.put(url).body(chunk.to_vec()).send().await.unwrap().status(), 200);
    }
    let (status, done) = call(http, reqwest::Method::POST, format!("{base}/api/uploads/{id}/complete"), token, Some(json!({}))).await;
    assert_eq!(status, 200, "{done}");
    id
}

/// Polls the video (as its owner) until it is ready or failed, up to `limit`; returns its JSON.
pub async fn wait_settled(http: &reqwest::Client, base: &str, token: &str, id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = call(http, reqwest::Method::GET, format!("{base}/api/videos/{id}"), token, None).await;
        assert_eq!(status, 200, "{body}");
        if matches!(body["video"]["status"].as_str(), Some("ready" | "failed")) {
            return body["video"].clone();
        }
        assert!(started.elapsed() < limit, "still {} after {limit:?}", body["video"]["status"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
