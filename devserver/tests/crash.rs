//! `kill -9` of the dev server mid-upload: after a restart every acknowledged part and record is still there, and the
//! upload resumes and completes. The real binary, killed for real.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
}

fn spawn(data: &std::path::Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_framelift-devserver"))
        .env("PORT", port.to_string())
        .env("FRAMELIFT_DATA", data)
        .env("FRAMELIFT_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the dev server starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the dev server did not listen within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, base: format!("http://127.0.0.1:{port}") }
}

impl Server {
    fn kill_9(mut self) {
        // SIGKILL: no chance to flush or clean up.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_upload_loses_nothing_acknowledged() {
    let data = std::env::temp_dir().join(format!("framelift-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let http = reqwest::Client::new();
    let server = spawn(&data, port);
    let token = http
        .post(format!("{}/dev/token", server.base))
        .json(&json!({"name": "Alice"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let size = 8 * 1024 * 1024 + 100;
    let (status, init) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/uploads", server.base),
        &token,
        Some(json!({"filename": "a.mp4", "contentType": "video/mp4", "size": size, "title": "Crash"})),
    )
    .await;
    assert_eq!(status, 201);
    let id = init["video"]["id"].as_str().unwrap().to_owned();
    let (_, urls) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/uploads/{id}/part-urls", server.base),
        &token,
        Some(json!({"partNumbers": [1, 2]})),
    )
    .await;
    let part1 = vec![1u8; 8 * 1024 * 1024];
    let res = http.put(urls["urls"]["1"].as_str().unwrap()).body(part1).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let etag1 = res.headers()["etag"].to_str().unwrap().to_owned();

    // Part 2 is on the wire when the server dies.
    let url2 = urls["urls"]["2"].as_str().unwrap().to_owned();
    let in_flight = tokio::spawn({
        let http = http.clone();
        async move {
            let slow = futures_stream();
            http.put(url2).header("content-length", "100").body(reqwest::Body::wrap_stream(slow)).send().await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.kill_9();
    let answered = in_flight.await.unwrap();
    assert!(answered.is_err(), "the in-flight part was never acknowledged: {answered:?}");

    let server = spawn(&data, port);
    let (status, parts) = call(&http, reqwest::Method::GET, format!("{}/api/uploads/{id}/parts", server.base), &token, None).await;
    assert_eq!(status, 200, "{parts}");
    let held = parts["parts"].as_array().unwrap();
    assert_eq!(held.len(), 1, "the acknowledged part and only it: {parts}");
    assert_eq!(held[0]["etag"].as_str(), Some(etag1.as_str()));

    // Resume: sign part 2 again, send it, complete.
    let (_, urls) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/uploads/{id}/part-urls", server.base),
        &token,
        Some(json!({"partNumbers": [2]})),
    )
    .await;
    assert_eq!(http.put(urls["urls"]["2"].as_str().unwrap()).body(vec![2u8; 100]).send().await.unwrap().status(), 200);
    let (status, done) =
        call(&http, reqwest::Method::POST, format!("{}/api/uploads/{id}/complete", server.base), &token, Some(json!({}))).await;
    assert_eq!(status, 200, "{done}");
    server.kill_9();

    // The completed state survives a second kill.
    let server = spawn(&data, port);
    let (status, again) =
        call(&http, reqwest::Method::POST, format!("{}/api/uploads/{id}/complete", server.base), &token, Some(json!({}))).await;
    assert_eq!((status, again["video"]["status"].as_str()), (200, Some("processing")));
    server.kill_9();
    std::fs::remove_dir_all(&data).unwrap();
}

/// A body that sends a little and then stalls, so the request is mid-flight when the server is killed.
fn futures_stream() -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::unfold(0, |sent| async move {
        if sent == 0 {
            Some((Ok(vec![2u8; 10]), 1))
        } else {
            tokio::time::sleep(Duration::from_secs(30)).await;
            None
        }
    })
}
