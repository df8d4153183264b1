//! What a file is: ffmpeg's report on opening it, read into [`SourceInfo`], or the reason it is not a usable video.

use crate::input::Input;
use crate::paths::AbsolutePath;
use crate::sandbox::{self, Limits};
use crate::tools::Tools;
use crate::transcode::TranscodeError;
use anyhow::Context;
use std::time::Duration;

/// What the pipeline needs to know about a source.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// The demuxer ffmpeg chose (first of its names), used to pin the transcode to the same one.
    pub demuxer: String,
    /// Width and height as displayed: sample aspect ratio applied, rotation applied.
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Seconds; 0 when the container does not say.
    pub duration: f64,
    pub has_audio: bool,
    /// Channels of the first audio stream (0 without audio).
    pub audio_channels: u32,
    pub video_codec: String,
}

/// Why a file cannot be used, in words for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unusable {
    #[error("not a video file: {0}")]
    NotAVideo(String),
    #[error("no video stream: the file has only audio")]
    AudioOnly,
    #[error("no video stream: the file holds no picture")]
    NoVideoStream,
    #[error("the video's dimensions ({0}x{1}) are not supported: the largest is 8192x8192")]
    Dimensions(u32, u32),
    #[error("not a video file: its picture size could not be read")]
    NoPictureSize,
    #[error("the video's frame rate ({0} fps) is above the highest accepted, 240 fps")]
    FrameRate(f64),
    #[error("the video is {} long; the longest accepted is 12:00:00", clock(*.0))]
    TooLong(f64),
}

/// The largest frame side accepted (a header claiming more is refused before decoding).
pub const MAX_SIDE: u32 = 8192;
/// The highest declared frame rate accepted: slow-motion cameras record 240; a file declaring more is a pile of frames
/// nobody can watch, each costing a decode.
pub const MAX_FPS: f64 = 240.0;
/// The longest video accepted, in seconds (12 hours). The transcode also stops its output here, so a header that
/// understates the length cannot make it run on.
pub const MAX_DURATION: f64 = 12.0 * 3600.0;

/// `hh:mm:ss`.
pub(crate) fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Probes `input` (a file in `dir`, named by us) with the sandboxed ffmpeg itself: the report it prints on opening a
/// file. The same binary that will decode the file says what it sees, and the bundle needs no second tool. (The
/// static ffprobe of the npm packages crashes on every MPEG-TS file on this hardware; see docs/ARCHITECTURE.md.)
///
/// The file is blamed ([`TranscodeError::Rejected`]) only when ffmpeg read it and judged it; a source that is not
/// there or cannot be read, or an ffmpeg that cannot start, is a fault of ours ([`TranscodeError::Failed`]).
pub async fn probe(tools: &Tools, input: &Input, dir: &AbsolutePath) -> Result<SourceInfo, TranscodeError> {
    if let Input::File(path) = input {
        let meta = std::fs::metadata(path).with_context(|| format!("the source {input} cannot be read"))?;
        if !meta.is_file() {
            return Err(anyhow::anyhow!("the source {input} is not a file").into());
        }
        std::fs::File::open(path).with_context(|| format!("the source {input} cannot be read"))?;
    }
    let mut args: Vec<std::ffi::OsString> = vec!["-hide_banner".into(), "-nostdin".into()];
    args.extend(sandbox::input_guard(input, None));
    args.extend(["-i".into(), input.arg()]);
    let limits = Limits { wall: Duration::from_secs(60), memory_bytes: 1 << 30 };
    let out = match sandbox::run(&tools.ffmpeg, &args, dir, limits).await {
        Ok(out) => out,
        Err(sandbox::RunError::TimedOut(_)) => {
            return Err(TranscodeError::Rejected(Unusable::NotAVideo("reading it took too long".into()).to_string()));
        }
        Err(e) => return Err(anyhow::Error::from(e).context("probing the source").into()),
    };
    // Without an output ffmpeg always exits non-zero; what matters is whether it could open the input.
    match interpret(&out.stderr_head) {
        Ok(info) => Ok(info),
        Err(NotProbed::Unusable(u)) => Err(TranscodeError::Rejected(u.to_string())),
        Err(NotProbed::Unread(words)) => Err(anyhow::anyhow!("ffmpeg could not read the source {input}: {words}").into()),
    }
}

/// Why a report gives no [`SourceInfo`].
#[derive(Debug, Clone, PartialEq)]
pub enum NotProbed {
    /// ffmpeg read the file and judged it: the uploader's to fix.
    Unusable(Unusable),
    /// ffmpeg could not read the file at all (not there, no permission, no memory, a read error): ours to retry. Its
    /// own words.
    Unread(String),
}

impl From<Unusable> for NotProbed {
    fn from(u: Unusable) -> Self {
        NotProbed::Unusable(u)
    }
}

/// Reads ffmpeg's report on an input. Public for tests, which feed it ffmpeg's own output.
pub fn interpret(report: &str) -> Result<SourceInfo, NotProbed> {
    let Some(input_line) = report.lines().find(|l| l.starts_with("Input #0, ")) else {
        tracing::info!(report, "ffmpeg could not open the file");
        return Err(match judgement(report) {
            Some(why) => Unusable::NotAVideo(why.into()).into(),
            None => NotProbed::Unread(last_words(report)),
        });
    };
    let demuxer = input_line["Input #0, ".len()..].split([',', ' ']).next().unwrap_or("").to_owned();
    let duration =
        report.lines().find_map(|l| l.trim().strip_prefix("Duration: ")).and_then(|d| parse_clock(d.split(',').next()?)).unwrap_or(0.0);
    let streams = streams(report);
    let has_audio = streams.iter().any(|s| s.kind == "Audio");
    let Some(video) = streams.iter().find(|s| s.kind == "Video" && !s.attached_pic) else {
        return Err(if has_audio { Unusable::AudioOnly } else { Unusable::NoVideoStream }.into());
    };
    if demuxer.is_empty() {
        return Err(Unusable::NotAVideo("its container could not be recognised".into()).into());
    }
    let Some((w, h)) = video.size else { return Err(Unusable::NoPictureSize.into()) };
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(Unusable::Dimensions(w, h).into());
    }
    // Only a declared average rate counts here: `tbr` is a timebase guess (1k for most browser recordings).
    if let Some(declared) = video.declared_fps.filter(|f| *f > MAX_FPS) {
        return Err(Unusable::FrameRate(declared).into());
    }
    if duration > MAX_DURATION {
        return Err(Unusable::TooLong(duration).into());
    }
    // Non-square pixels: the displayed width is the coded width times the sample aspect ratio.
    let sar = video.sar.filter(|r| *r > 0.0 && r.is_finite()).unwrap_or(1.0);
    let display_w = ((f64::from(w) * sar).round() as u32).clamp(2, MAX_SIDE);
    let (width, height) = if (video.rotation.round() as i64).rem_euclid(180) == 90 { (h, display_w) } else { (display_w, h) };
    let fps = video.fps.filter(|f| *f > 0.0 && f.is_finite() && *f <= 1000.0).unwrap_or(30.0);
    let audio_channels = streams.iter().find(|s| s.kind == "Audio").map_or(0, |a| a.channels.unwrap_or(2));
    Ok(SourceInfo { demuxer, width, height, fps, duration, has_audio, audio_channels, video_codec: video.codec.clone() })
}

/// ffmpeg's judgement of a file it read and could not open, as a person would put it; `None` when the report shows no
/// judgement of the contents (the file could not be read at all).
fn judgement(report: &str) -> Option<&'static str> {
    let s = report.to_ascii_lowercase();
    if s.contains("moov atom not found") || s.contains("end of file") || s.contains("truncat") {
        Some("the file is incomplete (was the upload cut off?)")
    } else if s.contains("invalid data found") || s.contains("not on whitelist") || s.contains("could not find codec") {
        Some("its contents are not a video format we can read")
    } else {
        None
    }
}

/// The last thing ffmpeg said, for the log and an operator: `Error opening input: No such file or directory`.
fn last_words(report: &str) -> String {
    let line = report.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no report at all");
    line.chars().take(300).collect()
}

/// One `Stream #0:N ...: Video|Audio: ...` line of the report, and the side data under it.
#[derive(Debug, Default)]
struct StreamLine {
    kind: String,
    codec: String,
    size: Option<(u32, u32)>,
    sar: Option<f64>,
    fps: Option<f64>,
    /// The average rate the stream declares (`N fps`), as opposed to the `tbr` guess.
    declared_fps: Option<f64>,
    attached_pic: bool,
    rotation: f64,
    channels: Option<u32>,
}

fn streams(report: &str) -> Vec<StreamLine> {
    let mut out: Vec<StreamLine> = Vec::new();
    for line in report.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Stream #0:") {
            let Some((_, desc)) = rest.split_once(": ") else { continue };
            let Some((kind, params)) = desc.split_once(": ") else { continue };
            let parts = split_top_level(params);
            let mut s = StreamLine { kind: kind.to_owned(), attached_pic: t.contains("(attached pic)"), ..Default::default() };
            s.codec = parts.first().and_then(|p| p.split_whitespace().next()).unwrap_or("").to_owned();
            for p in &parts {
                let p = p.trim();
                if s.size.is_none()
                    && let Some(first) = p.split_whitespace().next()
                    && let Some((w, h)) = first.split_once('x')
                    && !w.is_empty()
                    && w.bytes().all(|b| b.is_ascii_digit())
                    && !w.starts_with('0')
                {
                    s.size = Some((w.parse().unwrap_or(0), h.parse().unwrap_or(0)));
                }
                if let Some(i) = p.find("SAR ") {
                    s.sar = p[i + 4..].split_whitespace().next().and_then(ratio);
                }
                if s.channels.is_none() {
                    s.channels = match p.split('(').next().unwrap_or("") {
                        "mono" => Some(1),
                        "stereo" | "downmix" => Some(2),
                        layout => layout.strip_suffix(" channels").and_then(|n| n.parse().ok()).or_else(|| {
                            // "5.1", "7.1(wide)" ...: the sum of the parts.
                            let parts: Option<Vec<u32>> = layout.split('.').map(|n| n.parse().ok()).collect();
                            parts.filter(|p| p.len() == 2).map(|p| p.iter().sum())
                        }),
                    };
                }
                if let Some(f) = p.strip_suffix(" fps") {
                    s.fps = parse_rate(f);
                    s.declared_fps = s.fps;
                } else if s.fps.is_none()
                    && let Some(f) = p.strip_suffix(" tbr")
                {
                    s.fps = parse_rate(f);
                }
            }
            out.push(s);
        } else if let Some(last) = out.last_mut()
            && let Some(i) = t.find("rotation of ")
        {
            last.rotation = t[i + "rotation of ".len()..].split_whitespace().next().and_then(|r| r.parse().ok()).unwrap_or(0.0);
        }
    }
    out
}

/// Splits on commas outside parentheses and brackets: `yuv420p(tv, bt709)` stays whole.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0i32, 0usize, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts
}

/// `30`, `29.97`, `1k`.
fn parse_rate(s: &str) -> Option<f64> {
    let s = s.trim();
    match s.strip_suffix('k') {
        Some(k) => k.parse::<f64>().ok().map(|v| v * 1000.0),
        None => s.parse().ok(),
    }
}

/// `00:01:12.34` in seconds.
fn parse_clock(s: &str) -> Option<f64> {
    let mut parts = s.trim().split(':');
    let (h, m, sec) = (parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?);
    Some(h * 3600.0 + m * 60.0 + sec)
}

/// `16:9` or `30000/1001` as a number.
fn ratio(s: &str) -> Option<f64> {
    let (n, d) = s.split_once([':', '/'])?;
    let (n, d): (f64, f64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (d != 0.0).then_some(n / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ffmpeg 9.0.2's own report on the shared landscape clip.
    const LANDSCAPE: &str = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'source':
  Metadata:
    major_brand     : isom
  Duration: 00:00:10.00, start: 0.000000, bitrate: 7291 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 7154 kb/s, 30 fps, 30 tbr, 15360 tbn (default)
    Metadata:
      handler_name    : VideoHandler
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 127 kb/s (default)
At least one output file must be specified";

    #[test]
    fn a_plain_landscape_file() {
        let info = interpret(LANDSCAPE).unwrap();
        assert_eq!((info.width, info.height, info.fps, info.duration, info.has_audio), (1920, 1080, 30.0, 10.0, true));
        assert_eq!((info.demuxer.as_str(), info.video_codec.as_str()), ("mov", "h264"));
        assert_eq!(info.audio_channels, 1, "mono");
        let surround = LANDSCAPE.replace("48000 Hz, mono", "48000 Hz, 5.1(side)");
        assert_eq!(interpret(&surround).unwrap().audio_channels, 6);
    }

    #[test]
    fn rotation_and_sample_aspect_ratio_give_the_displayed_shape() {
        let rotated = LANDSCAPE.replace(
            "    Metadata:\n      handler_name    : VideoHandler",
            "    Side data:\n      Display Matrix: rotation of -90.00 degrees",
        );
        let i = interpret(&rotated).unwrap();
        assert_eq!((i.width, i.height), (1080, 1920), "a phone video shot upright stays upright");
        let anamorphic = "Input #0, mpeg, from 'source':\n  Duration: 00:00:05.00, start: 0.5, bitrate: 1 kb/s\n  Stream #0:0[0x1e0]: Video: mpeg2video (Main), yuv420p(tv, top first), 720x576 [SAR 64:45 DAR 16:9], 25 fps, 25 tbr, 90k tbn";
        let a = interpret(anamorphic).unwrap();
        assert_eq!((a.width, a.height, a.fps), (1024, 576, 25.0));
        let webm = "Input #0, matroska,webm, from 'source':\n  Duration: 00:00:06.01, start: 0.000000, bitrate: 1099 kb/s\n  Stream #0:0: Video: vp9 (Profile 0), yuv420p(tv, progressive), 854x480, SAR 1:1 DAR 427:240, 29.97 fps, 29.97 tbr, 1k tbn\n  Stream #0:1: Audio: opus, 48000 Hz, mono, fltp";
        let w = interpret(webm).unwrap();
        assert_eq!((w.demuxer.as_str(), w.width, w.height, w.fps, w.duration), ("matroska", 854, 480, 29.97, 6.01));
    }

    #[test]
    fn what_is_not_a_video_says_why() {
        let audio = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.m4a':\n  Duration: 00:00:01.00\n  Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 70 kb/s (default)";
        assert_eq!(interpret(audio), Err(Unusable::AudioOnly.into()));
        assert_eq!(reason(audio), "no video stream: the file has only audio");
        let cover = format!(
            "{audio}\n  Stream #0:1[0x0]: Video: mjpeg (Baseline), yuvj420p(pc), 600x600 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)"
        );
        assert_eq!(interpret(&cover), Err(Unusable::AudioOnly.into()), "cover art is not a video");
        let truncated = "[in#0 @ 0x55] moov atom not found\n[in#0 @ 0x55] Error opening input: Invalid data found when processing input";
        assert_eq!(interpret(truncated), Err(Unusable::NotAVideo("the file is incomplete (was the upload cut off?)".into()).into()));
        let text = "[in#0 @ 0x55] Error opening input: Invalid data found when processing input";
        assert_eq!(interpret(text), Err(Unusable::NotAVideo("its contents are not a video format we can read".into()).into()));
        let script = "[in#0 @ 0x55] Format not on whitelist 'mov,mp4'\n[in#0 @ 0x55] Error opening input: Invalid argument";
        assert_eq!(reason(script), "not a video file: its contents are not a video format we can read");
        let huge = LANDSCAPE.replace("1920x1080", "16000x16000");
        assert_eq!(interpret(&huge), Err(Unusable::Dimensions(16000, 16000).into()));
        // ffmpeg leaves out a size it will not allocate (60000x60000): no size is no picture.
        let sizeless = LANDSCAPE.replace("1920x1080 [SAR 1:1 DAR 16:9], ", "");
        assert_eq!(reason(&sizeless), "not a video file: its picture size could not be read");
    }

    /// The reason a person would read for a report that is the file's fault.
    fn reason(report: &str) -> String {
        match interpret(report) {
            Err(NotProbed::Unusable(u)) => u.to_string(),
            other => panic!("expected the file to be judged, got {other:?}"),
        }
    }

    #[test]
    fn a_file_ffmpeg_could_not_read_is_never_blamed_on_its_contents() {
        // ffmpeg 9.0.2's own words for each: none of them judged the contents.
        for words in [
            "No such file or directory",
            "Permission denied",
            "Is a directory",
            "Cannot allocate memory",
            "Input/output error",
            "Too many open files",
        ] {
            let report = format!(
                "[in#0 @ 0x55] Error opening input: {words}\nError opening input file /w/source.\nError opening input files: {words}"
            );
            assert_eq!(interpret(&report), Err(NotProbed::Unread(format!("Error opening input files: {words}"))), "{words}");
        }
        assert_eq!(interpret(""), Err(NotProbed::Unread("no report at all".into())));
    }

    #[test]
    fn floods_of_frames_and_endless_files_are_refused() {
        let fast = LANDSCAPE.replace("30 fps, 30 tbr", "1k fps, 1k tbr");
        assert_eq!(reason(&fast), "the video's frame rate (1000 fps) is above the highest accepted, 240 fps");
        assert!(interpret(&LANDSCAPE.replace("30 fps, 30 tbr", "240 fps, 240 tbr")).is_ok(), "slow motion is fine");
        // A browser recording declares no rate, only a 1k timebase guess: accepted.
        assert!(interpret(&LANDSCAPE.replace("30 fps, 30 tbr", "1k tbr")).is_ok());
        let long = LANDSCAPE.replace("Duration: 00:00:10.00", "Duration: 13:00:10.00");
        assert_eq!(reason(&long), "the video is 13:00:10 long; the longest accepted is 12:00:00");
        assert!(interpret(&LANDSCAPE.replace("Duration: 00:00:10.00", "Duration: 12:00:00.00")).is_ok());
    }

    #[test]
    fn odd_rates_and_missing_durations_fall_back() {
        let r = LANDSCAPE.replace("30 fps, 30 tbr", "29.97 tbr").replace("Duration: 00:00:10.00", "Duration: N/A");
        let i = interpret(&r).unwrap();
        assert!((i.fps - 29.97).abs() < 0.01);
        assert_eq!(i.duration, 0.0);
        assert_eq!(parse_clock("01:02:03.50"), Some(3723.5));
    }
}
