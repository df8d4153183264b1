//! Hostile files: playlists and concat scripts disguised as uploads, aimed at a local canary file and a loopback
//! listener; empty and plain-text files. Each is refused with a reason; no canary byte reaches any output, and the
//! listener is never contacted.

use framelift_media::{Options, Tools, TranscodeError, transcode};
use framelift_testkit::test_clip;
use framelift_tests::temp_dir;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const CANARY: &str = "CANARY-7f3c9a1e-framelift-secret";

/// A listener on loopback that counts connections.
fn listener() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            if l.accept().is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (port, hits)
}

fn contains_canary(dir: &Path) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).unwrap().windows(CANARY.len()).any(|w| w == CANARY.as_bytes()) {
                return true;
            }
        }
    }
    false
}

#[tokio::test]
async fn disguised_playlists_and_scripts_are_refused_and_reach_nothing() {
    let tools = Tools::locate().unwrap();
    let (port, hits) = listener();
    let bait = temp_dir("bait");
    let canary_txt = bait.join("canary.txt");
    std::fs::write(&canary_txt, CANARY.repeat(100)).unwrap();
    // A real, decodable video outside the work folder: if any of these were followed, it would transcode fine.
    let canary_video = bait.join("canary.mp4");
    std::fs::copy(test_clip("one-second.mp4"), &canary_video).unwrap();
    let url = format!("http://127.0.0.1:{port}/segment.ts");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "hls playlist to a local file",
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{}\n#EXT-X-ENDLIST\n", canary_video.display()).into_bytes(),
        ),
        (
            "hls playlist to a text canary",
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{}\n#EXT-X-ENDLIST\n", canary_txt.display()).into_bytes(),
        ),
        ("hls playlist to the listener", format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{url}\n#EXT-X-ENDLIST\n").into_bytes()),
        ("concat script", format!("ffconcat version 1.0\nfile '{}'\nfile '{url}'\n", canary_video.display()).into_bytes()),
        ("concat protocol name", format!("concat:{}|{}", canary_video.display(), canary_txt.display()).into_bytes()),
        ("empty file", Vec::new()),
        ("plain text", b"hello, this is not a video\n".repeat(100)),
    ];
    for (name, bytes) in cases {
        let dir = temp_dir("hostile");
        let input = dir.join("source");
        std::fs::write(&input, &bytes).unwrap();
        let out = dir.join("out");
        let result = transcode(&tools, &input, &out, &Options::default()).await;
        match &result {
            Err(TranscodeError::Rejected(reason)) => {
                assert!(reason.starts_with("not a video file") || reason.starts_with("no video stream"), "{name}: {reason}");
                assert!(!reason.contains(CANARY), "{name}");
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        assert!(!contains_canary(&dir), "{name}: canary bytes in the output");
        assert!(!out.join("master.m3u8").exists(), "{name}: something was transcoded");
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the loopback listener was contacted");
    std::fs::remove_dir_all(bait).unwrap();
}
