//! HLS packaging: the one ffmpeg command that decodes the source once and encodes every rung, and the master playlist
//! written from what was actually made.
//!
//! Every rung gets keyframes at the same instants (every 2 s, forced by time, no scene-cut keyframes) and 6 s
//! segments, so segment boundaries are identical across rungs and players can switch cleanly.

use crate::ladder::Rung;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;

/// Seconds between keyframes.
pub const GOP_SECONDS: u32 = 2;
/// Target segment length (a multiple of the GOP).
pub const SEGMENT_SECONDS: u32 = 6;
/// How the muxer names segments, by their number, and [`segment_file`] the same in Rust.
const SEGMENT_PATTERN: &str = "seg_%04d.ts";
pub fn segment_file(number: u32) -> String {
    format!("seg_{number:04}.ts")
}
/// The master playlist's name.
pub const MASTER: &str = "master.m3u8";
/// Each rendition's playlist name, inside the rung's folder.
pub const VARIANT: &str = "index.m3u8";

pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
pub const SEGMENT_TYPE: &str = "video/mp2t";
pub const POSTER_TYPE: &str = "image/jpeg";

/// The content type of a file the ladder makes, by its extension; `None` for anything else.
pub fn content_type(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()? {
        "m3u8" => Some(PLAYLIST_TYPE),
        "ts" => Some(SEGMENT_TYPE),
        "jpg" => Some(POSTER_TYPE),
        _ => None,
    }
}

/// ffmpeg's arguments after the input: the scaling graph and one HLS output per rung, written under `out`.
/// `audio_channels`: 0 for none; the source's count otherwise (mono stays mono, more is mixed down to stereo).
pub fn ladder_args(rungs: &[Rung], audio_channels: u32, out: &Path) -> Vec<OsString> {
    let has_audio = audio_channels > 0;
    let mut args: Vec<OsString> = vec!["-filter_complex".into(), filter_graph(rungs).into()];
    for (i, r) in rungs.iter().enumerate() {
        let dir = out.join(&r.name);
        args.extend(["-map".into(), format!("[v{i}]").into()]);
        if has_audio {
            args.extend(["-map".into(), "0:a:0".into()]);
        }
        args.extend(video_encoder_args(r));
        if has_audio {
            args.extend(audio_encoder_args(r.audio_kbps, audio_channels));
        }
        args.extend(hls_output_args(&dir, 0, Listing::Vod));
    }
    args
}

/// The video encoder's settings for rung `r`: capped CRF, and keyframes every [`GOP_SECONDS`] counted from the run's
/// first frame, never at scene cuts.
pub(crate) fn video_encoder_args(r: &Rung) -> Vec<OsString> {
    let gop = (r.fps * f64::from(GOP_SECONDS)).round().max(1.0) as u32;
    let s = |v: &str| OsString::from(v);
    vec![
        s("-c:v"),
        s("libx264"),
        s("-preset"),
        s(r.preset),
        s("-tune"),
        s(r.tune),
        s("-profile:v"),
        s("high"),
        s("-level:v"),
        format!("{}.{}", r.level / 10, r.level % 10).into(),
        s("-pix_fmt"),
        s("yuv420p"),
        s("-crf"),
        format!("{}", r.crf).into(),
        s("-maxrate"),
        format!("{}k", r.max_video_kbps).into(),
        s("-bufsize"),
        format!("{}k", r.max_video_kbps * 2).into(),
        s("-g"),
        gop.to_string().into(),
        s("-keyint_min"),
        gop.to_string().into(),
        s("-sc_threshold"),
        s("0"),
        s("-force_key_frames"),
        format!("expr:gte(t,n_forced*{GOP_SECONDS})").into(),
    ]
}

/// The audio encoder's settings: AAC at `kbps`, mono kept mono and more channels mixed down to stereo.
pub(crate) fn audio_encoder_args(kbps: u32, channels: u32) -> Vec<OsString> {
    // The native encoder's fast coder: at these bitrates indistinguishable, at a third of the time.
    ["-c:a", "aac", "-aac_coder", "fast", "-b:a"]
        .map(OsString::from)
        .into_iter()
        .chain([format!("{kbps}k").into(), "-ac".into(), channels.min(2).to_string().into()])
        .collect()
}

/// What the muxer's playlist is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    /// The deliverable: written once, at the end, as VOD.
    Vod,
    /// A running account of the segments closed so far (an `EVENT` playlist is rewritten as each segment closes; a VOD
    /// one only at the end), read while the run goes on.
    AsTheyClose,
}

/// One HLS output in `dir`: [`SEGMENT_SECONDS`] MPEG-TS segments `seg_NNNN.ts` numbered from `first_segment`, and the
/// playlist of what this run made ([`VARIANT`]).
pub(crate) fn hls_output_args(dir: &Path, first_segment: u32, listing: Listing) -> Vec<OsString> {
    let s = |v: &str| OsString::from(v);
    vec![
        s("-f"),
        s("hls"),
        s("-hls_time"),
        SEGMENT_SECONDS.to_string().into(),
        s("-hls_playlist_type"),
        s(match listing {
            Listing::Vod => "vod",
            Listing::AsTheyClose => "event",
        }),
        s("-hls_list_size"),
        s("0"),
        s("-start_number"),
        first_segment.to_string().into(),
        s("-hls_flags"),
        s("independent_segments"),
        s("-hls_segment_type"),
        s("mpegts"),
        s("-hls_segment_filename"),
        dir.join(SEGMENT_PATTERN).into_os_string(),
        dir.join(VARIANT).into_os_string(),
    ]
}

/// Decode once; scale in a cascade (each rung from the next larger one, which costs far less than scaling every rung
/// from the source), with a sharp filter (lanczos) that keeps detail a plain bicubic loses.
pub(crate) fn filter_graph(rungs: &[Rung]) -> String {
    filter_graph_from("[0:v]", rungs)
}

/// [`filter_graph`] from the pad `input` rather than the first video stream.
pub(crate) fn filter_graph_from(input: &str, rungs: &[Rung]) -> String {
    let mut order: Vec<usize> = (0..rungs.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(rungs[*i].width * rungs[*i].height));
    let mut graph = String::new();
    let mut input = input.to_owned();
    for (k, &i) in order.iter().enumerate() {
        let r = &rungs[i];
        let fps = if r.fps_capped { format!(",fps={}", r.fps) } else { String::new() };
        let _ = write!(graph, "{input}scale={}:{}:flags=lanczos,setsar=1,format=yuv420p{fps}", r.width, r.height);
        if k + 1 < order.len() {
            let _ = write!(graph, ",split=2[v{i}][c{i}];");
            input = format!("[c{i}]");
        } else {
            let _ = write!(graph, "[v{i}]");
        }
    }
    graph
}

/// What one rendition turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Peak bits per second over its segments.
    pub peak_bps: u64,
    /// Average bits per second over the whole stream.
    pub average_bps: u64,
    /// Segment durations in seconds, in order.
    pub segments: Vec<f64>,
}

/// Measures a rendition from its playlist and the sizes of its segments on disk.
pub fn measure(dir: &Path) -> anyhow::Result<Measured> {
    use anyhow::Context;
    let text = std::fs::read(dir.join(VARIANT)).with_context(|| format!("reading {}", dir.join(VARIANT).display()))?;
    let playlist = match m3u8_rs::parse_playlist_res(&text) {
        Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => p,
        Ok(_) => anyhow::bail!("{} is a master playlist", dir.display()),
        Err(e) => anyhow::bail!("{} does not parse: {e:?}", dir.display()),
    };
    anyhow::ensure!(playlist.end_list, "{} was never finished (no #EXT-X-ENDLIST)", dir.join(VARIANT).display());
    let (mut peak, mut bits, mut seconds) = (0f64, 0f64, 0f64);
    let mut segments = Vec::new();
    for seg in &playlist.segments {
        let size = std::fs::metadata(dir.join(&seg.uri)).with_context(|| format!("segment {}", seg.uri))?.len() as f64 * 8.0;
        anyhow::ensure!(size > 0.0, "segment {} of {} is empty", seg.uri, dir.display());
        let d = f64::from(seg.duration).max(0.001);
        peak = peak.max(size / d);
        bits += size;
        seconds += d;
        segments.push(f64::from(seg.duration));
    }
    anyhow::ensure!(!segments.is_empty(), "{} has no segments", dir.display());
    Ok(Measured { peak_bps: peak.ceil() as u64, average_bps: (bits / seconds).ceil() as u64, segments })
}

/// A variant's `CODECS`: H.264 High at the rung's level, and AAC-LC when the variant plays sound.
pub(crate) fn codecs(r: &Rung, has_audio: bool) -> String {
    let video = format!("avc1.6400{:02x}", r.level);
    if has_audio { format!("{video},mp4a.40.2") } else { video }
}

/// The master playlist: one variant per rung, with measured BANDWIDTH and AVERAGE-BANDWIDTH, RESOLUTION, CODECS and
/// FRAME-RATE, lowest rung first.
pub fn master_playlist(rungs: &[(Rung, Measured)], has_audio: bool) -> String {
    let mut m = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for (r, measured) in rungs {
        let codecs = codecs(r, has_audio);
        let _ = writeln!(
            m,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},RESOLUTION={}x{},CODECS=\"{codecs}\",FRAME-RATE={:.3}",
            measured.peak_bps, measured.average_bps, r.width, r.height, r.fps
        );
        let _ = writeln!(m, "{}/{VARIANT}", r.name);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::ladder;
    use crate::probe::SourceInfo;

    fn rungs() -> Vec<Rung> {
        ladder(
            &SourceInfo {
                demuxer: "mov".into(),
                width: 1920,
                height: 1080,
                fps: 60.0,
                duration: 10.0,
                has_audio: true,
                audio_channels: 2,
                video_codec: "h264".into(),
            },
            None,
        )
    }

    #[test]
    fn the_graph_decodes_once_and_cascades() {
        let g = filter_graph(&rungs());
        assert_eq!(g.matches("[0:v]").count(), 1, "{g}");
        assert_eq!(
            g,
            "[0:v]scale=1920:1080:flags=lanczos,setsar=1,format=yuv420p,split=2[v3][c3];\
             [c3]scale=1280:720:flags=lanczos,setsar=1,format=yuv420p,split=2[v2][c2];\
             [c2]scale=854:480:flags=lanczos,setsar=1,format=yuv420p,fps=30,split=2[v1][c1];\
             [c1]scale=320:180:flags=lanczos,setsar=1,format=yuv420p,fps=30[v0]"
        );
    }

    #[test]
    fn every_rung_has_keyframes_every_two_seconds_whatever_its_rate() {
        let args: Vec<String> = ladder_args(&rungs(), 2, Path::new("/out")).iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let gops: Vec<&str> = args.windows(2).filter(|w| w[0] == "-g").map(|w| w[1].as_str()).collect();
        assert_eq!(gops, ["60", "60", "120", "120"]);
        assert_eq!(args.iter().filter(|a| *a == "expr:gte(t,n_forced*2)").count(), 4);
        assert_eq!(args.windows(2).filter(|w| w[0] == "-sc_threshold" && w[1] == "0").count(), 4);
        assert!(args.contains(&"/out/720p/index.m3u8".to_string()));
        let silent: Vec<String> = ladder_args(&rungs(), 0, Path::new("/out")).iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(!silent.iter().any(|a| a == "0:a:0" || a == "aac"));
    }

    #[test]
    fn the_master_playlist_carries_the_measured_figures() {
        let r = rungs();
        let measured = Measured { peak_bps: 2_900_000, average_bps: 2_400_000, segments: vec![6.0] };
        let text = master_playlist(&[(r[2].clone(), measured)], true);
        assert!(
            text.contains(
                "BANDWIDTH=2900000,AVERAGE-BANDWIDTH=2400000,RESOLUTION=1280x720,CODECS=\"avc1.640020,mp4a.40.2\",FRAME-RATE=60.000"
            ),
            "{text}"
        );
        let parsed = m3u8_rs::parse_playlist_res(text.as_bytes()).unwrap();
        let m3u8_rs::Playlist::MasterPlaylist(master) = parsed else { panic!("not a master playlist") };
        assert_eq!(master.variants[0].uri, "720p/index.m3u8");
        assert_eq!(master.variants[0].average_bandwidth, Some(2_400_000));
    }
}
