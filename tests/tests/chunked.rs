//! Chunked encoding (issue 27) on a 3-minute 720p source (10 fps, to keep `make test` quick) cut into 12 s chunks: its pieces play as one stream. Each chunk is
//! encoded alone by `framelift_media::chunks`, as separate workers would, and the audio once. Checked:
//!
//! - Timestamps run on across every seam: no gap or overlap of a frame, no discontinuity.
//! - Every rung has the same segment boundaries.
//! - The decoded audio is as long as the source's within one AAC frame (besides the encoder's priming, which MPEG-TS
//!   cannot signal), and exactly as long as a single pass's.
//! - The chunked 720p and 480p are within 0.3 VMAF and 3% of the bits of a single pass with the same settings.

use framelift_media::chunks::{self, AudioRendition, Segment};
use framelift_media::hls::{MASTER, VARIANT};
use framelift_media::ladder::ladder;
use framelift_media::probe::probe;
use framelift_media::sandbox::Limits;
use framelift_media::{Input, Options, transcode};
use framelift_tests::clips::TestPattern;
use framelift_tests::media::{abs, tools};
use framelift_tests::temp_dir;
use futures::StreamExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SECONDS: u32 = 180;
const FPS: u32 = 10;
const SAMPLE_RATE: usize = 48_000;
/// Samples in an AAC frame.
const AAC_FRAME: usize = 1024;

fn ffmpeg(args: &[&str]) -> std::process::Output {
    let out = Command::new(tools().ffmpeg)
        .args(["-hide_banner", "-nostdin", "-protocol_whitelist", "file,crypto,data"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Each packet's presentation time in 90 kHz ticks of the playlist's first stream of `kind` (`v`, `a`), in order.
fn pts(playlist: &Path, kind: &str) -> Vec<i64> {
    let map = format!("0:{kind}:0");
    let out =
        ffmpeg(&["-loglevel", "error", "-copyts", "-i", playlist.to_str().unwrap(), "-map", &map, "-c", "copy", "-f", "framecrc", "-"]);
    let mut pts: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(',').nth(2)?.trim().parse().ok())
        .collect();
    pts.sort();
    pts
}

/// How many samples the first audio stream of `input` decodes to, at the source's rate, in mono.
fn audio_samples(input: &Path) -> usize {
    let out =
        ffmpeg(&["-loglevel", "error", "-i", input.to_str().unwrap(), "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"]);
    out.stdout.len() / 2
}

fn vmaf(rendition: &Path, source: &Path) -> f64 {
    let graph =
        "[0:v]scale=1280:720:flags=bicubic,setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf=n_threads=2:n_subsample=5";
    let out = ffmpeg(&["-i", rendition.to_str().unwrap(), "-i", source.to_str().unwrap(), "-lavfi", graph, "-f", "null", "-"]);
    let log = String::from_utf8_lossy(&out.stderr);
    log.split("VMAF score: ").nth(1).and_then(|s| s.split_whitespace().next()?.parse().ok()).expect("a VMAF score")
}

fn video_kib(rendition: &Path) -> f64 {
    let out = ffmpeg(&["-i", rendition.to_str().unwrap(), "-map", "0:v", "-c", "copy", "-f", "null", "-"]);
    let log = String::from_utf8_lossy(&out.stderr);
    log.split("video:").nth(1).and_then(|s| s.split("KiB").next()?.trim().parse().ok()).expect("a size report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_encoded_alone_play_as_one_seamless_stream() {
    let tools = tools();
    let dir = temp_dir("chunked");
    let input = dir.join("source");
    // Keyframes 25 s apart: none of the chunks starts on one.
    TestPattern::new(1280, 720, FPS, f64::from(SECONDS)).keyframes_every(250).write(&tools.ffmpeg, &input);
    let (input, chunked, single) = (abs(&input), abs(&dir.join("chunked")), abs(&dir.join("single")));
    std::fs::create_dir_all(&chunked).unwrap();
    let source = probe(&tools, &Input::File(input.clone()), &chunked).await.unwrap();
    let rungs = ladder(&source, Some(720));
    assert_eq!(rungs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["180p", "480p", "720p"]);
    let plan = chunks::plan(source.duration, 2);
    assert_eq!(plan.len(), 15);
    let limits = Limits { wall: Duration::from_secs(600), memory_bytes: 3 << 30 };

    // Two chunks at a time, each in a folder of its own, as two workers would.
    let encoded: Vec<Vec<Vec<Segment>>> =
        futures::stream::iter(&plan)
            .map(|chunk| {
                let (tools, input, source, rungs, out) = (&tools, &input, &source, &rungs, chunked.join(format!("chunk-{}", chunk.index)));
                async move {
                    chunks::encode_chunk(&tools.ffmpeg, &Input::File(input.clone()), source, rungs, chunk, &out, limits).await.unwrap()
                }
            })
            .buffered(2)
            .collect()
            .await;
    let audio = chunks::encode_audio(&tools.ffmpeg, &Input::File(input.clone()), &source, &chunked, limits).await.unwrap();

    // Publish as the last worker would: each rung's segments gathered in its folder, finished playlists, a master.
    let mut per_rung: Vec<Vec<Segment>> = vec![Vec::new(); rungs.len()];
    for (chunk, made) in plan.iter().zip(&encoded) {
        for ((rung, segments), all) in rungs.iter().zip(made).zip(&mut per_rung) {
            let from = chunked.join(format!("chunk-{}", chunk.index)).join(&rung.name);
            std::fs::create_dir_all(chunked.join(&rung.name)).unwrap();
            for s in segments {
                std::fs::rename(from.join(&s.file), chunked.join(&rung.name).join(&s.file)).unwrap();
            }
            all.extend(segments.iter().cloned());
        }
    }
    for (rung, segments) in rungs.iter().zip(&per_rung) {
        std::fs::write(chunked.join(&rung.name).join(VARIANT), chunks::media_playlist(segments, true)).unwrap();
    }
    std::fs::write(chunked.join(chunks::AUDIO).join(VARIANT), chunks::media_playlist(&audio, true)).unwrap();
    let master: Vec<_> = rungs.iter().cloned().map(|r| (r, None)).collect();
    let audio_rendition = AudioRendition { kbps: 128, channels: source.audio_channels };
    std::fs::write(chunked.join(MASTER), chunks::master_playlist(&master, Some(audio_rendition))).unwrap();

    // The same boundaries in every rung: 30 segments of 6 s.
    let boundaries = |segments: &[Segment]| segments.iter().map(|s| (s.number, (s.duration * 1000.0).round() as i64)).collect::<Vec<_>>();
    assert_eq!(per_rung[0].len(), (SECONDS / 6) as usize);
    for segments in &per_rung[1..] {
        assert_eq!(boundaries(segments), boundaries(&per_rung[0]));
    }
    assert!(per_rung[0].iter().all(|s| (s.duration - 6.0).abs() < 1e-3), "{:?}", boundaries(&per_rung[0]));

    // Every frame once, one frame apart, across every seam.
    let frame = 90_000 / i64::from(FPS);
    for rung in &rungs {
        let playlist = chunked.join(&rung.name).join(VARIANT);
        assert!(!std::fs::read_to_string(&playlist).unwrap().contains("DISCONTINUITY"));
        let times = pts(&playlist, "v");
        assert_eq!(times.len(), (SECONDS * FPS) as usize, "{}: every frame of the source once", rung.name);
        assert_eq!(times[0], chunks::MPEGTS_OF_SOURCE_START as i64, "{}: the source's start, where captions put their zero", rung.name);
        let steps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let seams: Vec<(usize, i64)> = steps.iter().copied().enumerate().filter(|(_, d)| (d - frame).abs() > 1).collect();
        assert!(seams.is_empty(), "{}: gaps or overlaps at {seams:?}", rung.name);
        // On the same timeline as the audio: the first sound and the first picture within a frame of each other.
        let sound = pts(&chunked.join(chunks::AUDIO).join(VARIANT), "a")[0];
        assert!((times[0] - sound).abs() <= frame, "{}: video starts at {}, audio at {sound}", rung.name, times[0]);
    }

    // Audio: encoded once, as long as the source's within one AAC frame once the encoder's priming (one frame of
    // silence before the first sample, which MPEG-TS cannot tell a decoder to drop) is set aside.
    let (ours, theirs) = (audio_samples(&chunked.join(chunks::AUDIO).join(VARIANT)), audio_samples(&input));
    assert_eq!(theirs, SECONDS as usize * SAMPLE_RATE);
    assert!(ours.abs_diff(theirs + AAC_FRAME) < AAC_FRAME, "audio {ours} samples against the source's {theirs} and {AAC_FRAME} of priming");

    // Against one pass of the same settings.
    transcode(&tools, &input, &single, &Options { max_short_side: Some(720), ..Options::default() }).await.unwrap();
    for rung in ["720p", "480p"] {
        let (c, s) = (chunked.join(rung).join(VARIANT), single.join(rung).join(VARIANT));
        let (vc, vs) = (vmaf(&c, &input), vmaf(&s, &input));
        let (bc, bs) = (video_kib(&c), video_kib(&s));
        assert!((vc - vs).abs() <= 0.3, "{rung}: VMAF chunked {vc:.2}, single pass {vs:.2}");
        assert!((bc / bs - 1.0).abs() <= 0.03, "{rung}: {bc:.0} KiB chunked, {bs:.0} KiB in one pass");
        assert_eq!(audio_samples(&s), ours, "{rung}: the single pass's audio is as long");
        eprintln!("{rung}: VMAF chunked {vc:.2}, single pass {vs:.2}; video {bc:.0} KiB chunked, {bs:.0} KiB in one pass");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
