//! Real camera and film footage, not test patterns, through the dev server as a user sends it: each clip is uploaded
//! through the API, becomes `ready` with the shape a viewer expects, and its signed HLS plays, with sound where the
//! clip has sound.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::domain::{VideoId, VideoStatus};
use framelift_testkit::real_clip;
use framelift_tests::api::Api;
use framelift_tests::{temp_dir, wait_until_settled};

struct Case {
    clip: &'static str,
    /// The displayed size the record reports (sample aspect ratio applied).
    size: (u32, u32),
    rungs: &'static [(u32, u32)],
    /// Audio channels a viewer gets (5.1 is mixed to stereo); 0 for a silent clip.
    channels: u32,
}

const CASES: [Case; 4] = [
    Case { clip: "film-5.1-720p.mp4", size: (1280, 720), rungs: &[(320, 180), (854, 480), (1280, 720)], channels: 2 },
    Case { clip: "bikes-640x272.mp4", size: (640, 272), rungs: &[(424, 180), (640, 272)], channels: 0 },
    Case { clip: "carphone-sar-176x144.mp4", size: (193, 144), rungs: &[(192, 144)], channels: 0 },
    Case { clip: "lsmash-1080p.mp4", size: (1920, 1080), rungs: &[(320, 180), (854, 480), (1280, 720), (1920, 1080)], channels: 2 },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_footage_becomes_ready_with_its_shape_and_plays_with_its_sound() {
    let dir = temp_dir("real-footage");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let api = Api::new(&server.url);
    let token = api.token("Camera Operator").await;
    let tools = framelift_media::Tools::locate().unwrap();
    for case in CASES {
        let bytes = std::fs::read(real_clip(case.clip)).unwrap();
        let id: VideoId = api.upload(&bytes, case.clip, &token).await.parse().unwrap();
        let record = wait_until_settled(&server, &id).await;
        assert_eq!(record.status, VideoStatus::Ready, "{}: {:?}", case.clip, record.failure_reason);
        let (status, detail) = api.call("GET", &format!("/api/videos/{id}"), None, None).await;
        assert_eq!(status, 200, "{detail}");
        let v = &detail["video"];
        assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(case.size.0.into()), Some(case.size.1.into())), "{}", case.clip);
        let rungs: Vec<(u32, u32)> = v["renditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["width"].as_u64().unwrap() as u32, r["height"].as_u64().unwrap() as u32))
            .collect();
        assert_eq!(rungs, case.rungs, "{}", case.clip);

        // A player given the signed URL alone: every stream decodes, and the sound is there and is not silence.
        let (_, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, None).await;
        let hls = watch["hls"].as_str().unwrap();
        let played = std::process::Command::new(&tools.ffmpeg)
            .args(["-hide_banner", "-nostdin", "-i", hls, "-map", "0", "-af", "volumedetect", "-f", "null", "-"])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&played.stderr);
        assert!(played.status.success(), "{}: ffmpeg could not play it: {report}", case.clip);
        let audio_lines: Vec<&str> = report.lines().filter(|l| l.contains("Stream #0:") && l.contains("Audio:")).collect();
        if case.channels == 0 {
            assert!(audio_lines.is_empty(), "{}: a silent clip has no audio rendition: {audio_lines:?}", case.clip);
            println!("{}: ready, {:?}, plays (no sound in the source)", case.clip, rungs);
            continue;
        }
        assert!(audio_lines.iter().all(|l| l.contains("stereo")), "{}: {audio_lines:?}", case.clip);
        let mean = mean_volume(&report).unwrap_or_else(|| panic!("{}: no audio was decoded: {report}", case.clip));
        // The source's own level: a quiet recording stays quiet, but never becomes silence (about -91 dB).
        let source = std::process::Command::new(&tools.ffmpeg)
            .args(["-hide_banner", "-nostdin", "-i"])
            .arg(real_clip(case.clip))
            .args(["-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-"])
            .output()
            .unwrap();
        let source_mean = mean_volume(&String::from_utf8_lossy(&source.stderr)).unwrap();
        assert!(mean > -80.0, "{}: the sound is silence ({mean} dB)", case.clip);
        // A 5.1 mix folded to stereo sums channels, so the level may rise a few dB.
        assert!((mean - source_mean).abs() < 6.0, "{}: {mean:.1} dB played against {source_mean:.1} dB in the source", case.clip);
        println!("{}: ready, {:?}, plays with sound ({mean:.1} dB mean, source {source_mean:.1} dB)", case.clip, rungs);
    }
    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

/// The `mean_volume` ffmpeg's volumedetect reports, in dB.
fn mean_volume(report: &str) -> Option<f64> {
    report.lines().find_map(|l| l.split("mean_volume: ").nth(1)).and_then(|v| v.trim_end_matches(" dB").trim().parse().ok())
}
