//! The web client in real headless Chromium against the dev server on port 0: `web/e2e/run.mjs` signs in, uploads a
//! shared clip, waits for ready, plays and switches quality, watches a six-minute video from 0 s while its later chunks
//! are still being encoded (My videos showing how far it has got), searches with a typo, previews the fake camera and plays
//! a link; uploads a second video from the same page; refuses a non-video and an oversized file before sending a byte;
//! pauses, retries a failing part, resumes after a reload from the parts storage holds, shows a failed video's reason
//! on My videos and on its page, retries with Start upload after the server was lost, and cancels; a notice is gone on
//! the next page. Screenshots go to `target/web-e2e/`. Needs the built page (`npm run build` in web/; `make test` does it),
//! Node, and Debian's `chromium`.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::config::UploadConfig;
use framelift_testkit::test_clip;
use framelift_tests::temp_dir;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_works_in_chromium() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    assert!(web.join("dist/index.html").is_file(), "the web client is not built: run `npm ci && npm run build` in web/ (make test does)");
    let dir = temp_dir("web-e2e");
    // A 64 MiB limit, so the page's 413 message can be checked with a file of 65 MiB.
    let upload = UploadConfig { max_upload_bytes: 64 << 20, ..UploadConfig::default() };
    let server = RunningServer::start(DevConfig { upload, ..DevConfig::for_tests(&dir) }).await.unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/web-e2e");
    let clip = test_clip("portrait-720x1280.mp4");
    // Six minutes: six chunks, encoded two at a time, so the start plays well before the end is encoded.
    let long = dir.join("long-lesson.mp4");
    let tools = framelift_media::Tools::locate().unwrap();
    framelift_tests::clips::TestPattern::new(640, 360, 25, 360.0).write(&tools.ffmpeg, &long);
    let status = tokio::process::Command::new("node")
        .arg("e2e/run.mjs")
        .arg(&server.url)
        .arg(&clip)
        .arg(&long)
        .arg(&shots)
        .current_dir(&web)
        .status()
        .await
        .expect("node runs");
    server.stop().await.unwrap();
    assert!(status.success(), "the browser test failed: see its output and target/web-e2e/");
    std::fs::remove_dir_all(dir).unwrap();
}
