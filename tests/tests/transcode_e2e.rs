//! Uploads through `make dev`'s stack become ready by themselves: the in-process S3 fires the event, the transcode
//! function runs in the background, and a restart picks up what was left in processing.

use framelift_devserver::sqlite_store::SqliteMetadata;
use framelift_devserver::{BUCKET, DevConfig, RunningServer};
use framelift_shared::domain::{VideoId, VideoStatus};
use framelift_shared::ports::MetadataStore;
use framelift_testkit::test_clip;
use framelift_tests::api::Api;
use framelift_tests::{temp_dir, wait_until_settled};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_becomes_ready_and_a_bad_one_fails_with_its_reason() {
    let dir = temp_dir("transcode-e2e");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let api = Api::new(&server.url);
    let alice = api.token("Alice").await;

    let good: VideoId = api.upload(&std::fs::read(test_clip("one-second.mp4")).unwrap(), "Good", &alice).await.parse().unwrap();
    let bad: VideoId = api.upload(&std::fs::read(test_clip("not-a-video.mp4")).unwrap(), "Bad", &alice).await.parse().unwrap();

    let ready = wait_until_settled(&server, &good).await;
    assert_eq!(ready.status, VideoStatus::Ready, "{:?}", ready.failure_reason);
    let media = ready.media.unwrap();
    assert_eq!((media.width, media.height, media.renditions.len()), (1280, 720, 3));
    let head =
        server.stack.s3_client().head_object().bucket(BUCKET).key(format!("{}master.m3u8", good.media_prefix())).send().await.unwrap();
    assert_eq!(head.content_type(), Some("application/vnd.apple.mpegurl"));

    // The catalogue shows it, with a poster only a signed URL can fetch; the failed one only its owner sees.
    let (status, list) = api.call("GET", "/api/videos", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["videos"][0]["id"], good.to_string());
    let poster = list["videos"][0]["posterUrl"].as_str().unwrap();
    let fetched = api.http.get(poster).send().await.unwrap();
    assert_eq!((fetched.status().as_u16(), fetched.headers()["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    let unsigned = poster.split('?').next().unwrap();
    assert_eq!(api.http.get(unsigned).send().await.unwrap().status().as_u16(), 403, "the bucket is private");

    let failed = wait_until_settled(&server, &bad).await;
    assert_eq!(failed.status, VideoStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("not a video file: its contents are not a video format we can read"));
    assert_eq!(api.call("GET", &format!("/api/videos/{bad}"), None, None).await.0, 404);
    let (_, mine) = api.call("GET", "/api/videos?mine=true", None, Some(&alice)).await;
    assert_eq!(mine["videos"][0]["status"], "failed");
    assert_eq!(mine["videos"][0]["failureReason"], "not a video file: its contents are not a video format we can read");

    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_picks_up_a_video_left_in_processing() {
    let dir = temp_dir("transcode-restart");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let api = Api::new(&server.url);
    let alice = api.token("Alice").await;
    let id: VideoId = api.upload(&std::fs::read(test_clip("tiny-160x90.mp4")).unwrap(), "Tiny", &alice).await.parse().unwrap();
    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done.status, VideoStatus::Ready);
    server.stop().await.unwrap();

    // As if the process had died mid-transcode: processing, with a lease that has not run out.
    let store = SqliteMetadata::open(&dir.join("metadata.sqlite3")).unwrap();
    let mut stuck = done.clone();
    stuck.status = VideoStatus::Processing;
    stuck.media = None;
    stuck.lease_until = Some(time::OffsetDateTime::now_utc() + time::Duration::minutes(10));
    stuck.attempts = 1;
    stuck.version += 1;
    store.replace(&stuck).await.unwrap();
    drop(store);

    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let again = wait_until_settled(&server, &id).await;
    assert_eq!((again.status, again.attempts), (VideoStatus::Ready, 2), "{:?}", again.failure_reason);
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
