//! What a file is: ffprobe's JSON report, read into [`SourceInfo`], or the reason it is not a usable video.

use crate::sandbox::{self, Limits};
use crate::tools::Tools;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// What the pipeline needs to know about a source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// The demuxer ffprobe chose (first of its names), used to pin ffmpeg to the same one.
    pub demuxer: String,
    /// Width and height as displayed: sample aspect ratio applied, rotation applied.
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Seconds; 0 when the container does not say.
    pub duration: f64,
    pub has_audio: bool,
    pub video_codec: String,
}

/// Why a file cannot be used, in words for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("not a video file: {0}")]
    NotAVideo(String),
    #[error("no video stream: the file has only audio")]
    AudioOnly,
    #[error("no video stream: the file holds no picture")]
    NoVideoStream,
    #[error("the video's dimensions ({0}x{1}) are not supported: the largest is 8192x8192")]
    Dimensions(u32, u32),
}

#[derive(Debug, Deserialize)]
pub struct Report {
    #[serde(default)]
    pub streams: Vec<Stream>,
    pub format: Option<Format>,
}

#[derive(Debug, Deserialize)]
pub struct Stream {
    pub codec_type: Option<String>,
    pub codec_name: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sample_aspect_ratio: Option<String>,
    pub avg_frame_rate: Option<String>,
    pub r_frame_rate: Option<String>,
    pub duration: Option<String>,
    #[serde(default)]
    pub disposition: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: Option<serde_json::Value>,
    #[serde(default)]
    pub side_data_list: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct Format {
    pub format_name: Option<String>,
    pub duration: Option<String>,
}

/// The largest frame side accepted (a header claiming more is refused before decoding).
pub const MAX_SIDE: u32 = 8192;

/// Probes `input` (a file in `dir`, named by us) with the sandboxed ffprobe.
pub async fn probe(tools: &Tools, input: &Path, dir: &Path) -> anyhow::Result<Result<SourceInfo, Unusable>> {
    let mut args = sandbox::input_guard(None);
    args.extend(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-i"].map(Into::into));
    args.push(input.as_os_str().to_owned());
    let limits = Limits { wall: Duration::from_secs(60), memory_bytes: 1 << 30 };
    let out = match sandbox::run(&tools.ffprobe, &args, dir, limits).await {
        Ok(out) => out,
        Err(sandbox::RunError::TimedOut(_)) => return Ok(Err(Unusable::NotAVideo("reading it took too long".into()))),
        Err(e) => return Err(e.into()),
    };
    if !out.status.success() {
        tracing::info!(stderr = out.stderr_tail, "ffprobe refused the file");
        return Ok(Err(Unusable::NotAVideo(explain(&out.stderr_tail))));
    }
    let report: Report = match serde_json::from_str(&out.stdout) {
        Ok(r) => r,
        Err(_) => return Ok(Err(Unusable::NotAVideo("its format could not be read".into()))),
    };
    Ok(interpret(&report))
}

/// ffprobe's complaint, as a person would put it.
fn explain(stderr: &str) -> String {
    let s = stderr.to_ascii_lowercase();
    if s.contains("moov atom not found") || s.contains("end of file") || s.contains("truncat") {
        "the file is incomplete (was the upload cut off?)".into()
    } else if s.contains("invalid data found") || s.contains("not in allowed") || s.contains("could not find codec") {
        "its contents are not a video format we can read".into()
    } else {
        "it could not be opened as a video".into()
    }
}

/// Reads a report. Public for tests, which feed it ffprobe's own output.
pub fn interpret(report: &Report) -> Result<SourceInfo, Unusable> {
    let demuxer = report.format.as_ref().and_then(|f| f.format_name.as_deref()).unwrap_or("").split(',').next().unwrap_or("").to_owned();
    let is_picture = |s: &&Stream| {
        s.codec_type.as_deref() == Some("video")
            && s.disposition.as_ref().and_then(|d| d.get("attached_pic")).and_then(|v| v.as_i64()) != Some(1)
            && s.width.unwrap_or(0) > 0
    };
    let has_audio = report.streams.iter().any(|s| s.codec_type.as_deref() == Some("audio"));
    let Some(video) = report.streams.iter().find(is_picture) else {
        return Err(if has_audio { Unusable::AudioOnly } else { Unusable::NoVideoStream });
    };
    if demuxer.is_empty() {
        return Err(Unusable::NotAVideo("its container could not be recognised".into()));
    }
    let (w, h) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(Unusable::Dimensions(w, h));
    }
    // Non-square pixels: the displayed width is the coded width times the sample aspect ratio.
    let sar = video.sample_aspect_ratio.as_deref().and_then(ratio).filter(|r| *r > 0.0 && r.is_finite()).unwrap_or(1.0);
    let display_w = ((f64::from(w) * sar).round() as u32).clamp(2, MAX_SIDE);
    let (width, height) = if rotation(video).rem_euclid(180) == 90 { (h, display_w) } else { (display_w, h) };
    let fps = [video.avg_frame_rate.as_deref(), video.r_frame_rate.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(ratio)
        .find(|f| *f > 0.0 && f.is_finite() && *f <= 1000.0)
        .unwrap_or(30.0);
    let duration = [report.format.as_ref().and_then(|f| f.duration.as_deref()), video.duration.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|d| d.parse::<f64>().ok())
        .find(|d| *d > 0.0 && d.is_finite())
        .unwrap_or(0.0);
    Ok(SourceInfo { demuxer, width, height, fps, duration, has_audio, video_codec: video.codec_name.clone().unwrap_or_default() })
}

/// Display rotation in degrees: the display matrix side data, or the older `rotate` tag.
fn rotation(s: &Stream) -> i64 {
    let from_side_data =
        s.side_data_list.iter().find_map(|d| d.get("rotation").and_then(|r| r.as_f64().or_else(|| r.as_str()?.parse().ok())));
    let from_tag = s.tags.as_ref().and_then(|t| t.get("rotate")).and_then(|r| r.as_str()).and_then(|r| r.parse::<f64>().ok());
    from_side_data.or(from_tag).map(|r| r.round() as i64).unwrap_or(0)
}

/// "30000/1001" or "16:9" as a number.
fn ratio(s: &str) -> Option<f64> {
    let (n, d) = s.split_once(['/', ':'])?;
    let (n, d): (f64, f64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (d != 0.0).then_some(n / d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(v: serde_json::Value) -> Report {
        serde_json::from_value(v).unwrap()
    }

    fn video(extra: serde_json::Value) -> serde_json::Value {
        let mut s = json!({"codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080,
            "sample_aspect_ratio": "1:1", "avg_frame_rate": "30/1", "r_frame_rate": "30/1"});
        s.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        s
    }

    #[test]
    fn a_plain_landscape_file() {
        let r = report(
            json!({"streams": [video(json!({})), {"codec_type": "audio"}], "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "10.000000"}}),
        );
        let info = interpret(&r).unwrap();
        assert_eq!((info.width, info.height, info.fps, info.duration, info.has_audio), (1920, 1080, 30.0, 10.0, true));
        assert_eq!(info.demuxer, "mov");
    }

    #[test]
    fn rotation_and_sample_aspect_ratio_give_the_displayed_shape() {
        let rotated = report(
            json!({"streams": [video(json!({"side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]}))], "format": {"format_name": "mov"}}),
        );
        let i = interpret(&rotated).unwrap();
        assert_eq!((i.width, i.height), (1080, 1920), "a phone video shot upright stays upright");
        let tagged = report(json!({"streams": [video(json!({"tags": {"rotate": "270"}}))], "format": {"format_name": "mov"}}));
        assert_eq!((interpret(&tagged).unwrap().width, interpret(&tagged).unwrap().height), (1080, 1920));
        let anamorphic = report(
            json!({"streams": [video(json!({"width": 720, "height": 576, "sample_aspect_ratio": "64:45"}))], "format": {"format_name": "mpeg"}}),
        );
        let a = interpret(&anamorphic).unwrap();
        assert_eq!((a.width, a.height), (1024, 576));
    }

    #[test]
    fn what_is_not_a_video_says_why() {
        let audio = report(json!({"streams": [{"codec_type": "audio"}], "format": {"format_name": "mp3"}}));
        assert_eq!(interpret(&audio), Err(Unusable::AudioOnly));
        assert_eq!(interpret(&audio).unwrap_err().to_string(), "no video stream: the file has only audio");
        let cover_art = report(
            json!({"streams": [{"codec_type": "audio"}, video(json!({"disposition": {"attached_pic": 1}}))], "format": {"format_name": "mov"}}),
        );
        assert_eq!(interpret(&cover_art), Err(Unusable::AudioOnly), "cover art is not a video");
        let nothing = report(json!({"streams": [], "format": {"format_name": "mov"}}));
        assert_eq!(interpret(&nothing), Err(Unusable::NoVideoStream));
        let huge = report(json!({"streams": [video(json!({"width": 60000, "height": 60000}))], "format": {"format_name": "mov"}}));
        assert!(matches!(interpret(&huge), Err(Unusable::Dimensions(60000, 60000))));
    }

    #[test]
    fn odd_rates_and_missing_durations_fall_back() {
        let r = report(
            json!({"streams": [video(json!({"avg_frame_rate": "0/0", "r_frame_rate": "30000/1001"}))], "format": {"format_name": "matroska,webm"}}),
        );
        let i = interpret(&r).unwrap();
        assert!((i.fps - 29.97).abs() < 0.01);
        assert_eq!(i.duration, 0.0);
        assert_eq!(i.demuxer, "matroska");
    }
}
