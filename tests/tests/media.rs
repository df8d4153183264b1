//! The transcode pipeline on real clips (the shared test set) with the bundled ffmpeg: the ladder per clip, aligned
//! segments and keyframes, the master playlist's fields, a stream that decodes end to end, and reasons for bad files.

use framelift_media::hls::{MASTER, VARIANT};
use framelift_media::{Options, Output, TranscodeError, transcode};
use framelift_testkit::test_clip;
use framelift_tests::media::{abs, tools};
use framelift_tests::temp_dir;
use std::path::{Path, PathBuf};

/// Copies the clip to a file named `source` (as the Lambda does) and transcodes it.
async fn run(clip: &str) -> (PathBuf, Result<Output, TranscodeError>) {
    let dir = temp_dir("media");
    let input = dir.join("source");
    std::fs::copy(test_clip(clip), &input).unwrap();
    let out = dir.join("out");
    let result = transcode(&tools(), &abs(&input), &abs(&out), &Options::default()).await;
    (dir, result)
}

fn shapes(o: &Output) -> Vec<(u32, u32)> {
    o.rungs.iter().map(|(r, _)| (r.width, r.height)).collect()
}

/// Decodes every stream the master playlist leads to, with nothing but the playlist.
fn decodes(master: &Path) -> bool {
    std::process::Command::new(tools().ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,crypto,data", "-i"])
        .arg(master)
        .args(["-map", "0", "-f", "null", "-"])
        .status()
        .unwrap()
        .success()
}

/// Keyframe times of a rendition: ffmpeg decodes only keyframes and `showinfo` prints their times.
fn keyframes(variant: &Path) -> Vec<f64> {
    let out = std::process::Command::new(tools().ffmpeg)
        .args(["-hide_banner", "-protocol_whitelist", "file,crypto,data", "-skip_frame", "nokey", "-i"])
        .arg(variant)
        .args(["-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-"])
        .output()
        .unwrap();
    let times: Vec<f64> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("Parsed_showinfo") && l.contains("pts_time:"))
        .filter_map(|l| l.split("pts_time:").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    let first = times.first().copied().unwrap_or(0.0);
    times.iter().map(|t| ((t - first) * 1000.0).round() / 1000.0).collect()
}

fn master_variants(master: &Path) -> Vec<m3u8_rs::VariantStream> {
    match m3u8_rs::parse_playlist_res(&std::fs::read(master).unwrap()).unwrap() {
        m3u8_rs::Playlist::MasterPlaylist(m) => m.variants,
        _ => panic!("not a master playlist"),
    }
}

#[tokio::test]
async fn landscape_1080p_gets_four_aligned_rungs_that_play() {
    let (dir, result) = run("landscape-1080p.mp4").await;
    let out = result.unwrap();
    assert_eq!(shapes(&out), [(320, 180), (854, 480), (1280, 720), (1920, 1080)]);
    let master = dir.join("out").join(MASTER);
    let variants = master_variants(&master);
    assert_eq!(variants.len(), 4);
    for (v, (rung, measured)) in variants.iter().zip(&out.rungs) {
        assert_eq!(v.bandwidth, measured.peak_bps);
        assert!(v.average_bandwidth.unwrap() <= v.bandwidth && v.average_bandwidth.unwrap() > 0);
        assert_eq!(v.resolution.map(|r| (r.width as u32, r.height as u32)), Some((rung.width, rung.height)));
        assert!(v.codecs.as_deref().unwrap().starts_with("avc1.6400") && v.codecs.as_deref().unwrap().ends_with(",mp4a.40.2"));
        assert_eq!(v.frame_rate, Some(30.0));
    }
    // Identical segment boundaries and keyframe instants in every rung.
    let segments: Vec<&Vec<f64>> = out.rungs.iter().map(|(_, m)| &m.segments).collect();
    assert!(segments.windows(2).all(|w| w[0] == w[1]), "{segments:?}");
    assert_eq!(segments[0], &vec![6.0, 4.0]);
    let top = keyframes(&dir.join("out/1080p").join(VARIANT));
    let bottom = keyframes(&dir.join("out/180p").join(VARIANT));
    assert_eq!(top, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
    assert_eq!(top, bottom);
    assert!(out.poster.is_some() && dir.join("out/poster.jpg").is_file());
    assert!(decodes(&master), "ffmpeg plays the ladder from the master playlist alone");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn portrait_stays_portrait_and_is_not_upscaled() {
    let (dir, result) = run("portrait-720x1280.mp4").await;
    let out = result.unwrap();
    assert_eq!(shapes(&out), [(180, 320), (480, 854), (720, 1280)]);
    assert!(decodes(&dir.join("out").join(MASTER)));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_silent_360p_video_gets_video_only_renditions_up_to_its_own_size() {
    let (dir, result) = run("no-audio-360p.mp4").await;
    let out = result.unwrap();
    assert_eq!(shapes(&out), [(320, 180), (640, 360)], "a 360p upload is watched at 360p, not 180p");
    assert!(!out.source.has_audio);
    let variants = master_variants(&dir.join("out").join(MASTER));
    assert!(variants.iter().all(|v| !v.codecs.as_deref().unwrap().contains("mp4a")));
    assert_eq!(variants[1].resolution.map(|r| (r.width, r.height)), Some((640, 360)));
    assert!(decodes(&dir.join("out").join(MASTER)));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn small_short_and_other_codecs_work() {
    let (dir, tiny) = run("tiny-160x90.mp4").await;
    let tiny = tiny.unwrap();
    assert_eq!(shapes(&tiny), [(160, 90)], "smaller than the lowest rung: one rung at its own size");
    assert_eq!(tiny.rungs[0].0.fps, 15.0);
    std::fs::remove_dir_all(dir).unwrap();

    let (dir, one) = run("one-second.mp4").await;
    let one = one.unwrap();
    assert_eq!(one.rungs[0].1.segments.len(), 1);
    assert!(decodes(&dir.join("out").join(MASTER)));
    std::fs::remove_dir_all(dir).unwrap();

    let (dir, vp9) = run("vp9-opus.webm").await;
    let vp9 = vp9.unwrap();
    assert_eq!(shapes(&vp9), [(320, 180), (854, 480)]);
    assert_eq!(vp9.source.demuxer, "matroska");
    assert!(decodes(&dir.join("out").join(MASTER)));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn bad_files_fail_with_a_reason() {
    for (clip, reason) in [
        ("not-a-video.mp4", "not a video file: its contents are not a video format we can read"),
        ("truncated.mp4", "not a video file: the file is incomplete (was the upload cut off?)"),
    ] {
        let (dir, result) = run(clip).await;
        match result {
            Err(TranscodeError::Rejected(r)) => assert_eq!(r, reason, "{clip}"),
            other => panic!("{clip}: {other:?}"),
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// A copy of a clip with its container or bitstream saying something about its display, made by the bundled ffmpeg.
fn variant_of(clip: &str, name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let dir = temp_dir("media-variant");
    let made = dir.join(name);
    let status = std::process::Command::new(tools().ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args.iter().take_while(|a| **a != "--"))
        .arg("-i")
        .arg(test_clip(clip))
        .args(args.iter().skip_while(|a| **a != "--").skip(1))
        .arg(&made)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::rename(&made, dir.join("source")).unwrap();
    (dir.clone(), dir.join("source"))
}

#[tokio::test]
async fn display_rotation_and_sample_aspect_ratio_are_honoured() {
    // A landscape clip flagged to display rotated by 90 degrees: a phone held upright.
    let (dir, input) = variant_of("one-second.mp4", "rotated.mp4", &["-display_rotation", "90", "--", "-c", "copy"]);
    let out = transcode(&tools(), &abs(&input), &abs(&dir.join("out")), &Options::default()).await.unwrap();
    assert_eq!((out.source.width, out.source.height), (720, 1280));
    assert_eq!(shapes(&out), [(180, 320), (480, 854), (720, 1280)]);
    std::fs::remove_dir_all(dir).unwrap();

    // 4:3 pixels on a 1280x720 frame display 1707x720 (wider than the frame): the rungs follow the display shape.
    let (dir, input) = variant_of("one-second.mp4", "wide.mp4", &["--", "-c", "copy", "-aspect", "64:27"]);
    let out = transcode(&tools(), &abs(&input), &abs(&dir.join("out")), &Options::default()).await.unwrap();
    assert_eq!((out.source.width, out.source.height), (1707, 720));
    assert_eq!(shapes(&out), [(426, 180), (1138, 480), (1706, 720)]);
    std::fs::remove_dir_all(dir).unwrap();
}
