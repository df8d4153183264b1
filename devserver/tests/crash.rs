//! `kill -9` of the dev server mid-upload and mid-transcode: after a restart every acknowledged part and record is still
//! there, the upload resumes and completes, and the interrupted transcode is redone. The real binary, killed for real.

mod support;

use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{call, token, upload};

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
    framelift_testkit::wait_until_listening(port, Duration::from_secs(20), "the dev server", "");
    Server { child, base: format!("http://127.0.0.1:{port}") }
}

/// A dev server on a fresh state folder and a free port (both kept for the restarts), and a client.
fn first_start(test: &str) -> (std::path::PathBuf, u16, reqwest::Client, Server) {
    let data = std::env::temp_dir().join(format!("framelift-crash-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = spawn(&data, port);
    (data, port, reqwest::Client::new(), server)
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill_9(mut self) {
        // SIGKILL: no chance to flush or clean up.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_upload_loses_nothing_acknowledged() {
    let (data, port, http, server) = first_start("upload");
    let token = token(&http, &server.base).await;
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

/// The ffmpeg processes whose parent is `parent`, with their command lines.
fn ffmpeg_children(parent: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
        let Some((head, rest)) = stat.rsplit_once(") ") else { continue };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
        if head.ends_with("(ffmpeg") && ppid == Some(parent) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    // A killed child of a dead parent is reaped by init at once; a zombie would still show its stat.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_transcode_redoes_the_transcode_after_restart() {
    let (data, port, http, server) = first_start("transcode");
    let token = token(&http, &server.base).await;
    let id = upload(&http, &server.base, &token, &framelift_testkit::test_clip("landscape-1080p.mp4")).await;

    // Wait for a chunk's ffmpeg (the one scaling every rung, not the probe or the sound's) and let it write some
    // segments.
    let deadline = Instant::now() + Duration::from_secs(60);
    let encoder = loop {
        if let Some((pid, _)) = ffmpeg_children(server.pid()).into_iter().find(|(_, cmd)| cmd.contains("-filter_complex")) {
            break pid;
        }
        assert!(Instant::now() < deadline, "no transcode started within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(alive(encoder), "the encoder finished before the kill; the clip is too short to test this");
    server.kill_9();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(encoder) {
        assert!(Instant::now() < deadline, "ffmpeg outlived the dev server it worked for");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("kill -9 mid-transcode: the encoder (pid {encoder}) died with the server");

    let server = spawn(&data, port);
    let (status, video) = call(&http, reqwest::Method::GET, format!("{}/api/videos/{id}", server.base), &token, None).await;
    assert_eq!(status, 200, "{video}");
    let started = Instant::now();
    let video = loop {
        let (_, body) = call(&http, reqwest::Method::GET, format!("{}/api/videos/{id}", server.base), &token, None).await;
        match body["video"]["status"].as_str() {
            Some("ready") => break body["video"].clone(),
            Some("processing") => {}
            other => panic!("after the restart the video became {other:?}: {body}"),
        }
        assert!(started.elapsed() < Duration::from_secs(180), "still not ready 180 s after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rungs = video["renditions"].as_array().unwrap().len();
    assert!(rungs >= 3, "the redone ladder is whole: {video}");
    let (status, watch) = call(&http, reqwest::Method::GET, format!("{}/api/videos/{id}/watch", server.base), &token, None).await;
    assert_eq!(status, 200, "{watch}");
    let master = http.get(watch["hls"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(master.status(), 200);
    let master = master.text().await.unwrap();
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), rungs, "{master}");
    println!("after the restart: ready in {:.1} s with {rungs} renditions", started.elapsed().as_secs_f64());
    server.kill_9();
    std::fs::remove_dir_all(&data).unwrap();
}
