//! Chunked encoding: a video's timeline cut on the segment grid into chunks that are encoded alone, each in one ffmpeg
//! process for every rung, and its audio encoded once, as a rendition of its own.
//!
//! The pieces fit without a join. A chunk starts on a segment boundary, and keyframes are forced every
//! [`GOP_SECONDS`](crate::hls::GOP_SECONDS) counted from its first frame, so its segments are the ones a single pass
//! would cut. Its segments carry their global numbers. Every output timestamp is the source's plus
//! [`TIMELINE_OFFSET`], so timestamps run on across seams without `EXT-X-DISCONTINUITY`. Audio is not cut at all: AAC
//! frames do not fall on segment boundaries, and MPEG-TS cannot say how much of a frame to drop.

use crate::hls::{self, SEGMENT_SECONDS, VARIANT};
use crate::input::Input;
use crate::ladder::Rung;
use crate::paths::AbsolutePath;
use crate::probe::{SourceInfo, clock};
use crate::sandbox::{self, Limits};
use crate::storyboard;
use crate::transcode::{TranscodeError, our_fault};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Seconds added to every output timestamp of every chunk and of the audio. A chunk's first decoding timestamp comes
/// before its first frame (B-frames). At zero, the first chunk's would be negative and the muxer would shift that chunk
/// alone. Ten seconds is more than any encoder delay.
pub const TIMELINE_OFFSET: f64 = 10.0;

/// The MPEG-TS time (90 kHz ticks) of the source's first instant in every rendition: [`TIMELINE_OFFSET`] plus the
/// 1.4 s the MPEG-TS muxer adds before the first frame. Captions map their zero to it (`X-TIMESTAMP-MAP`).
pub const MPEGTS_OF_SOURCE_START: u64 = ((TIMELINE_OFFSET + 1.4) * 90_000.0) as u64;

/// The audio rendition's folder, beside the rungs'.
pub const AUDIO: &str = "audio";

/// The audio rendition's rate, one for every rung: AAC-LC at 128 kbit/s, within Apple's authoring range for stereo.
/// The sound is one job, and ffmpeg's AAC encoder at 192 kbit/s would take longer than a worker may run on a
/// 12-hour source (docs/BENCHMARKS.md).
pub const AUDIO_KBPS: u32 = 128;

/// One stretch of the timeline, encoded alone.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chunk {
    pub index: u32,
    /// The global number of its first segment.
    pub first_segment: u32,
    /// Where it starts in the source, in seconds (a segment boundary).
    pub start: f64,
    /// How long it is; `None` for the last chunk, which reads to the end of the source whatever its header said.
    pub length: Option<f64>,
}

/// The chunks of a source of `duration` seconds, each `segments_per_chunk` segments long but the last. Chunks of
/// several segments take in a remainder shorter than a segment rather than leave it to a chunk of its own (a minute and
/// a few frames is one chunk, not two).
pub fn plan(duration: f64, segments_per_chunk: u32) -> Vec<Chunk> {
    let per_chunk = segments_per_chunk.max(1);
    let seconds = f64::from(per_chunk * SEGMENT_SECONDS);
    let duration = duration.max(0.0);
    let mut count = ((duration / seconds).ceil() as u32).max(1);
    if count > 1 && per_chunk > 1 && duration - f64::from(count - 1) * seconds < f64::from(SEGMENT_SECONDS) {
        count -= 1;
    }
    (0..count)
        .map(|index| Chunk {
            index,
            first_segment: index * per_chunk,
            start: f64::from(index) * seconds,
            length: (index + 1 < count).then_some(seconds),
        })
        .collect()
}

/// A finished segment of one rendition.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its global number: the `NNNN` of `seg_NNNN.ts`.
    pub number: u32,
    pub duration: f64,
    /// Its path, relative to the rendition's folder.
    pub file: PathBuf,
}

/// Encodes `chunk` of `input` for every rung into `out/{rung}/`, video only. Returns each rung's segments, in the order
/// of `rungs`.
pub async fn encode_chunk(
    ffmpeg: &AbsolutePath,
    input: &Input,
    source: &SourceInfo,
    rungs: &[Rung],
    chunk: &Chunk,
    out: &AbsolutePath,
    limits: Limits,
) -> Result<Vec<Vec<Segment>>, TranscodeError> {
    let mut args = sandbox::quiet_run_on(input, &source.demuxer);
    args.extend(["-ss".into(), format!("{:.6}", chunk.start).into()]);
    if let Some(length) = chunk.length {
        args.extend(["-t".into(), format!("{length:.6}").into()]);
    }
    // The picture splits in two: the ladder, and the storyboard's frames (one per segment, tiled into one sprite).
    let length = chunk.length.unwrap_or(source.duration - chunk.start).max(0.0);
    let frames = (length / f64::from(hls::SEGMENT_SECONDS)).ceil().max(1.0) as u32;
    let graph = format!(
        "[0:v]split=2[ladder][frames];[frames]{}[storyboard];{}",
        storyboard::filter(frames, source.width, source.height),
        hls::filter_graph_from("[ladder]", rungs)
    );
    args.extend(["-i".into(), input.arg(), "-filter_complex".into(), graph.into()]);
    for (i, r) in rungs.iter().enumerate() {
        let dir = out.join(&r.name);
        std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
        args.extend(["-map".into(), format!("[v{i}]").into()]);
        args.extend(hls::video_encoder_args(r));
        args.extend(offset(chunk.start));
        args.extend(hls::hls_output_args(&dir, chunk.first_segment, hls::Listing::AsTheyClose));
    }
    std::fs::create_dir_all(out.join(storyboard::FOLDER)).map_err(anyhow::Error::from)?;
    args.extend(["-map".into(), "[storyboard]".into(), "-frames:v".into(), "1".into(), "-q:v".into(), "5".into()]);
    args.extend(["-f".into(), "image2".into(), "-update".into(), "1".into(), out.join(storyboard::sprite(chunk.index)).as_os_str().into()]);
    run(ffmpeg, &args, out, limits, chunk.start).await?;
    rungs.iter().map(|r| segments(&out.join(&r.name))).collect()
}

/// Encodes the whole of `input`'s first audio stream, once, into `out/audio/` at [`AUDIO_KBPS`].
pub async fn encode_audio(
    ffmpeg: &AbsolutePath,
    input: &Input,
    source: &SourceInfo,
    out: &AbsolutePath,
    limits: Limits,
) -> Result<Vec<Segment>, TranscodeError> {
    let dir = out.join(AUDIO);
    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
    let mut args = sandbox::quiet_run_on(input, &source.demuxer);
    args.extend(["-i".into(), input.arg(), "-map".into(), "0:a:0".into(), "-vn".into()]);
    args.extend(hls::audio_encoder_args(AUDIO_KBPS, source.audio_channels));
    args.extend(offset(0.0));
    args.extend(hls::hls_output_args(&dir, 0, hls::Listing::AsTheyClose));
    run(ffmpeg, &args, out, limits, 0.0).await?;
    segments(&dir)
}

/// The output option that puts a run starting at `start` in the source where it belongs on the common timeline.
fn offset(start: f64) -> [OsString; 2] {
    ["-output_ts_offset".into(), format!("{:.6}", start + TIMELINE_OFFSET).into()]
}

/// Runs one encode of a stretch starting at `start`. A failure is ours when [`our_fault`] says so (the source's
/// address failing is one), and otherwise the file's, named by where the stretch begins.
async fn run(ffmpeg: &AbsolutePath, args: &[OsString], dir: &AbsolutePath, limits: Limits, start: f64) -> Result<(), TranscodeError> {
    let run = match sandbox::run(ffmpeg, args, dir, limits).await {
        Ok(run) => run,
        Err(sandbox::RunError::TimedOut(limit)) => {
            return Err(TranscodeError::Failed(anyhow::anyhow!("the encode from {} ran past its {} s", clock(start), limit.as_secs())));
        }
        Err(e) => return Err(TranscodeError::Failed(e.into())),
    };
    if run.status.success() {
        return Ok(());
    }
    tracing::warn!(stderr = run.stderr_tail, status = ?run.status, start, "ffmpeg failed");
    match our_fault(&run, dir) {
        Some(cause) => Err(TranscodeError::Failed(anyhow::anyhow!("ffmpeg stopped: {cause}"))),
        None => Err(TranscodeError::Rejected(format!("decoding failed in the stretch from {}", clock(start.floor())))),
    }
}

/// The segments a run wrote into `dir`, from the playlist it wrote there.
fn segments(dir: &AbsolutePath) -> Result<Vec<Segment>, TranscodeError> {
    let text = std::fs::read(dir.join(VARIANT)).map_err(anyhow::Error::from)?;
    let playlist = match m3u8_rs::parse_playlist_res(&text) {
        Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => p,
        _ => return Err(anyhow::anyhow!("{dir}/{VARIANT} is not a media playlist").into()),
    };
    let first = playlist.media_sequence as u32;
    Ok(playlist
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| Segment { number: first + i as u32, duration: f64::from(s.duration), file: PathBuf::from(&s.uri) })
        .collect())
}

/// The segments of a rendition numbered from 0, with the file names the encoder gives them, from their lengths.
pub fn numbered(durations: &[f64]) -> Vec<Segment> {
    durations
        .iter()
        .enumerate()
        .map(|(n, d)| Segment { number: n as u32, duration: *d, file: PathBuf::from(hls::segment_file(n as u32)) })
        .collect()
}

/// A rendition's playlist. While the video is still being encoded (`finished` false) it is an `EVENT` playlist of the
/// unbroken run of segments from the first, which starts players at the beginning; once finished it is VOD and ends.
/// `segments` may come in any order and with gaps: those after the first gap are left out until it is filled.
pub fn media_playlist(segments: &[Segment], finished: bool) -> String {
    let run = unbroken_run(segments);
    let target = run.iter().map(|s| s.duration.round() as u32).max().unwrap_or(SEGMENT_SECONDS).max(SEGMENT_SECONDS);
    let kind = if finished { "VOD" } else { "EVENT" };
    let mut m = format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:{kind}\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    );
    if !finished {
        m.push_str("#EXT-X-START:TIME-OFFSET=0\n");
    }
    for s in run {
        let _ = writeln!(m, "#EXTINF:{:.6},\n{}", s.duration, s.file.display());
    }
    if finished {
        m.push_str("#EXT-X-ENDLIST\n");
    }
    m
}

/// The audio rendition, as the master playlist names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioRendition {
    pub kbps: u32,
    pub channels: u32,
}

impl AudioRendition {
    /// The rendition a source gets: none without sound.
    pub fn of(source: &SourceInfo) -> Option<AudioRendition> {
        source.has_audio.then_some(AudioRendition { kbps: AUDIO_KBPS, channels: source.audio_channels })
    }
}

/// The master playlist of a chunked ladder: the audio rendition once (`EXT-X-MEDIA`, `TYPE=AUDIO`), and a variant per
/// rung that plays it. `BANDWIDTH` is the rung's measured peak once it is known (`Some`), and its cap until then, plus
/// the audio's rate.
pub fn master_playlist(rungs: &[(Rung, Option<hls::Measured>)], audio: Option<AudioRendition>) -> String {
    let mut m = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if let Some(a) = audio {
        let _ = writeln!(
            m,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{AUDIO}/{VARIANT}\"",
            a.channels.min(2)
        );
    }
    let audio_bps = audio.map_or(0, |a| u64::from(a.kbps) * 1000);
    for (r, measured) in rungs {
        let video_bps = measured.as_ref().map_or(u64::from(r.max_video_kbps) * 1000, |m| m.peak_bps);
        let (codecs, group) = (hls::codecs(r, audio.is_some()), if audio.is_some() { ",AUDIO=\"audio\"" } else { "" });
        let average = measured.as_ref().map(|m| format!(",AVERAGE-BANDWIDTH={}", m.average_bps + audio_bps)).unwrap_or_default();
        let _ = writeln!(
            m,
            "#EXT-X-STREAM-INF:BANDWIDTH={}{average},RESOLUTION={}x{},CODECS=\"{codecs}\",FRAME-RATE={:.3}{group}\n{}/{VARIANT}",
            video_bps + audio_bps,
            r.width,
            r.height,
            r.fps,
            r.name
        );
    }
    m
}

/// How long the unbroken run of `segments` from the first plays, in seconds.
pub fn playable_seconds(segments: &[Segment]) -> f64 {
    unbroken_run(segments).iter().map(|s| s.duration).sum()
}

/// The segments numbered 0, 1, 2 ... in order, up to the first one missing.
fn unbroken_run(segments: &[Segment]) -> Vec<&Segment> {
    let mut sorted: Vec<&Segment> = segments.iter().collect();
    sorted.sort_by_key(|s| s.number);
    sorted.into_iter().enumerate().take_while(|(i, s)| s.number == *i as u32).map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_whole_segments_and_the_last_reads_to_the_end() {
        let p = plan(100.0, 2);
        assert_eq!(p.len(), 8, "the last 4 s go with the chunk before");
        assert_eq!(p[1], Chunk { index: 1, first_segment: 2, start: 12.0, length: Some(12.0) });
        assert_eq!(p[7], Chunk { index: 7, first_segment: 14, start: 84.0, length: None });
        assert_eq!(plan(103.0, 2)[8], Chunk { index: 8, first_segment: 16, start: 96.0, length: None });
        assert_eq!(plan(12.0, 2).len(), 1, "exactly one chunk long");
        assert_eq!(plan(60.02, 10).len(), 1, "a minute and a frame is one chunk");
        assert_eq!(plan(65.9, 10).len(), 1, "less than a segment over");
        assert_eq!(plan(66.0, 10)[1], Chunk { index: 1, first_segment: 10, start: 60.0, length: None }, "a whole segment over");
        assert_eq!(plan(10.0, 1).len(), 2, "one-segment chunks: the remainder is a segment of its own anyway");
        assert_eq!(plan(0.0, 10), [Chunk { index: 0, first_segment: 0, start: 0.0, length: None }], "a length the header did not give");
    }

    fn seg(number: u32) -> Segment {
        Segment { number, duration: 6.0, file: PathBuf::from(format!("seg_{number:04}.ts")) }
    }

    #[test]
    fn an_unfinished_playlist_lists_the_unbroken_run_and_starts_at_the_beginning() {
        let text = media_playlist(&[seg(2), seg(0), seg(1), seg(4)], false);
        assert!(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n") && text.contains("#EXT-X-START:TIME-OFFSET=0\n"), "{text}");
        assert!(text.contains("seg_0002.ts") && !text.contains("seg_0004.ts"), "{text}");
        assert!(!text.contains("#EXT-X-ENDLIST"));
        assert_eq!(playable_seconds(&[seg(2), seg(0), seg(1), seg(4)]), 18.0);
        let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
        assert_eq!(parsed.segments.len(), 3);
        assert_eq!(parsed.playlist_type, Some(m3u8_rs::MediaPlaylistType::Event));
    }

    #[test]
    fn a_finished_playlist_is_vod_and_ends() {
        let text = media_playlist(&[seg(0), seg(1)], true);
        let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
        assert!(parsed.end_list && parsed.playlist_type == Some(m3u8_rs::MediaPlaylistType::Vod), "{text}");
        assert!(!text.contains("EXT-X-START"));
        assert_eq!(playable_seconds(&[seg(1)]), 0.0, "nothing plays without the first segment");
    }
}
