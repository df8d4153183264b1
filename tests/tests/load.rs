//! Load on the local stack, loopback only.
//!
//! Mixed requests: list, detail, search and part-url, 64 at a time, against 1,000 ready videos and an upload in
//! progress. 0 errors allowed; p50 and p99 printed. `make test` sends 2,000 requests; `make soak` 10,000
//! (`FRAMELIFT_LOAD_REQUESTS`).
//!
//! Concurrent uploads: 50 MB videos uploaded at once through the whole multipart flow, every one ready at the end.
//! `make test` sends 3; `make soak` 20 (`FRAMELIFT_LOAD_UPLOADS`).

use framelift_devserver::tantivy_search::TantivySearch;
use framelift_devserver::{DevConfig, RunningServer};
use framelift_media::Tools;
use framelift_shared::domain::VideoStatus;
use framelift_shared::domain::{
    Author, ContentType, MediaInfo, Rendition, SearchDocument, Transition, UploadPlan, UploadState, VideoId, VideoRecord,
};
use framelift_tests::api::Api;
use framelift_tests::clips::TestPattern;
use framelift_tests::temp_dir;
use futures::StreamExt;
use std::time::{Duration, Instant};

const CONCURRENT: usize = 64;
const VIDEOS: usize = 1_000;

fn ready(i: usize) -> VideoRecord {
    let id = VideoId::generate();
    let upload = UploadState {
        upload_id: "u".parse().unwrap(),
        content_type: ContentType::parse("video/mp4").unwrap(),
        plan: UploadPlan::new(50_000_000, 8 << 20).unwrap(),
    };
    let author = Author { id: format!("user-{}", i % 20).parse().unwrap(), name: format!("Creator {}", i % 20) };
    let r = VideoRecord::new_upload(id, format!("Load test {i}").parse().unwrap(), None, author, upload, time::OffsetDateTime::now_utc());
    let media = MediaInfo {
        duration_seconds: 30.0,
        width: 1280,
        height: 720,
        renditions: vec![Rendition { width: 1280, height: 720, bandwidth: 2_700_000 }],
        poster_key: Some(format!("{}poster.jpg", id.media_prefix())),
        storyboard: false,
    };
    let mut r = r.apply(Transition::BeginProcessing).unwrap().apply(Transition::Ready(media)).unwrap();
    r.version = 1;
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_requests_at_64_concurrent_make_no_errors() {
    let requests: usize = std::env::var("FRAMELIFT_LOAD_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let dir = temp_dir("load");
    let videos: Vec<VideoRecord> = (0..VIDEOS).map(ready).collect();
    // The search index is seeded in one commit before the server opens it.
    TantivySearch::open(&dir.join("search")).unwrap().put_all(&videos.iter().map(SearchDocument::of).collect::<Vec<_>>()).await.unwrap();
    let server = RunningServer::start(DevConfig { transcode_concurrency: 0, ..DevConfig::for_tests(&dir) }).await.unwrap();
    let ids: Vec<VideoId> = videos.iter().map(|r| r.id).collect();
    for r in &videos {
        server.stack.state().meta.insert(r).await.unwrap();
    }
    let api = Api::new(&server.url);
    let token = api.token("Loader").await;
    let (status, init) = api
        .call(
            "POST",
            "/api/uploads",
            Some(serde_json::json!({"filename": "big.mp4", "contentType": "video/mp4", "size": 10_000_000_000u64, "title": "Big"})),
            Some(&token),
        )
        .await;
    assert_eq!(status, 201, "{init}");
    let upload = init["video"]["id"].as_str().unwrap().to_owned();
    let parts = init["partCount"].as_u64().unwrap();

    let base = server.url.clone();
    let plan: Vec<(&str, reqwest::RequestBuilder)> = (0..requests)
        .map(|i| match i % 4 {
            0 => ("list", api.http.get(format!("{base}/api/videos?limit=20"))),
            1 => ("detail", api.http.get(format!("{base}/api/videos/{}", ids[(i * 7919) % VIDEOS]))),
            2 => ("search", api.http.get(format!("{base}/api/search?q=lod%20tst%20{}", i % VIDEOS))),
            _ => (
                "part-url",
                api.http
                    .post(format!("{base}/api/uploads/{upload}/part-urls"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"partNumbers": [1 + (i as u64 * 31) % parts]})),
            ),
        })
        .collect();
    let started = Instant::now();
    let mut results: Vec<(&str, u16, Duration)> = futures::stream::iter(plan)
        .map(|(kind, req)| async move {
            let t = Instant::now();
            let status = match req.send().await {
                Ok(res) => {
                    let s = res.status().as_u16();
                    let _ = res.bytes().await;
                    s
                }
                Err(_) => 0,
            };
            (kind, status, t.elapsed())
        })
        .buffer_unordered(CONCURRENT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let errors: Vec<_> = results.iter().filter(|(_, s, _)| *s != 200).map(|(k, s, _)| format!("{k}: {s}")).collect();
    assert!(errors.is_empty(), "{} of {requests} failed: {:?}", errors.len(), &errors[..errors.len().min(10)]);
    results.sort_by_key(|r| r.2);
    let p = |q: usize| results[(results.len() * q).div_ceil(100).max(1) - 1].2.as_secs_f64() * 1e3;
    println!(
        "load: {requests} mixed requests (list, detail, search, part-url) at {CONCURRENT} concurrent: 0 errors, p50 {:.1} ms, p99 {:.1} ms, {:.0} requests/s",
        p(50),
        p(99),
        requests as f64 / elapsed.as_secs_f64()
    );
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

/// A 10.5 s 720p clip with sound, noisy enough that it weighs over 50 MB: an upload of the size the promise names.
fn fifty_megabyte_clip(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("fifty.mp4");
    TestPattern::new(1280, 720, 30, 10.5)
        .noise(40)
        .preset("ultrafast")
        .rate(&["-b:v", "40M", "-maxrate", "40M", "-bufsize", "20M"])
        .write(&Tools::locate().unwrap().ffmpeg, &path);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() >= 50_000_000, "the clip is {} bytes", bytes.len());
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_of_50_mb_all_become_ready() {
    let uploads: usize = std::env::var("FRAMELIFT_LOAD_UPLOADS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = temp_dir("uploads");
    let clip = fifty_megabyte_clip(&dir);
    let server = RunningServer::start(DevConfig::for_tests(dir.join("state"))).await.unwrap();
    let api = Api::new(&server.url);
    let token = api.token("Uploader").await;

    let started = Instant::now();
    let titles: Vec<String> = (0..uploads).map(|i| format!("Fifty megabytes {i}")).collect();
    let ids: Vec<String> = futures::future::join_all(titles.iter().map(|title| api.upload(&clip, title, &token))).await;
    let uploaded = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60 + 60 * uploads as u64);
    let mut settled = Vec::new();
    for id in &ids {
        let id: VideoId = id.parse().unwrap();
        let record = loop {
            let r = server.stack.state().meta.get(&id).await.unwrap().expect("the record exists");
            if matches!(r.status, VideoStatus::Ready | VideoStatus::Failed) {
                break r;
            }
            assert!(Instant::now() < deadline, "{id} still {:?} after {:?}", r.status, started.elapsed());
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        settled.push(record);
    }
    let all_ready = started.elapsed();
    for r in &settled {
        assert_eq!(r.status, VideoStatus::Ready, "{}: {:?}", r.title, r.failure_reason);
        assert_eq!(r.upload.plan.size, clip.len() as u64);
        let media = r.media.as_ref().unwrap();
        assert_eq!((media.width, media.height, media.renditions.len()), (1280, 720, 3), "{}", r.title);
        assert!((media.duration_seconds - 10.5).abs() < 0.2, "the whole clip: {} s", media.duration_seconds);
    }
    let (_, mine) = api.call("GET", "/api/videos?mine=true&limit=100", None, Some(&token)).await;
    assert_eq!(mine["videos"].as_array().unwrap().len(), uploads);
    println!(
        "uploads: {uploads} of {} bytes at once: all stored in {:.1} s ({:.0} MB/s), all {uploads} ready after {:.1} s",
        clip.len(),
        uploaded.as_secs_f64(),
        (uploads * clip.len()) as f64 / 1e6 / uploaded.as_secs_f64(),
        all_ready.as_secs_f64()
    );
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
