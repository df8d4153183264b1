//! The ladder: which renditions a source gets, derived from the source.
//!
//! The original design's rungs (180p, 480p, 720p; AAC 64k/128k/192k) plus 1080p, each named by its short side so that
//! portrait video is scaled by its short side and stays portrait. Never upscaled: a rung taller than the source is
//! dropped, and a source smaller than the lowest rung gets one rung at its own size. Frame rate is kept up to 60,
//! capped at 30 at 480p and below.
//!
//! Rate control is capped CRF: each rung is encoded at a constant quality (`crf`), so easy content (slides, a still
//! camera) costs few bits, and never above the original design's bitrate for the rung (`max_video_kbps`, 500k, 1000k,
//! 2500k and 5000k, over a two-second buffer), so hard content costs no more than it did. Nothing depends on the rest of
//! the file, so any stretch of a video can be encoded alone at the same quality. The caps scale with the pixel count
//! for shapes other than 16:9, and by 1.5 above 30 fps.

use crate::probe::SourceInfo;

/// One rendition to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Rung {
    /// `720p` and so on, by the short side; also the rendition's folder name.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Output frame rate (the source's, or the cap).
    pub fps: f64,
    /// Whether the source's frame rate had to be reduced for this rung.
    pub fps_capped: bool,
    /// x264's constant rate factor: the quality every frame is encoded at.
    pub crf: f32,
    /// The most video bits per second, over a buffer of two seconds' worth.
    pub max_video_kbps: u32,
    pub audio_kbps: u32,
    /// H.264 level (e.g. 31 for 3.1), chosen for the rung's size and rate.
    pub level: u8,
    /// The x264 preset and tuning (measured: see docs/BENCHMARKS.md).
    pub preset: &'static str,
    pub tune: &'static str,
}

struct Base {
    short: u32,
    long: u32,
    crf: f32,
    video_kbps: u32,
    audio_kbps: u32,
}

/// The CRFs were chosen on real footage against the original design's ladder (docs/BENCHMARKS.md, "Rate control"): the
/// highest that keeps a film clip at the original's VMAF for no more bits.
const BASES: [Base; 4] = [
    Base { short: 180, long: 320, crf: 26.0, video_kbps: 500, audio_kbps: 64 },
    Base { short: 480, long: 854, crf: 26.0, video_kbps: 1000, audio_kbps: 128 },
    Base { short: 720, long: 1280, crf: 23.1, video_kbps: 2500, audio_kbps: 192 },
    Base { short: 1080, long: 1920, crf: 23.1, video_kbps: 5000, audio_kbps: 192 },
];

/// Frame rate ceilings.
const MAX_FPS: f64 = 60.0;
const SMALL_RUNG_MAX_FPS: f64 = 30.0;
/// Rungs at or below this short side are "small": capped at 30 fps.
const SMALL_RUNG: u32 = 480;
/// x264 settings, chosen by measurement on real footage against the original design's encode (default preset, one
/// process per rung): `tune=psnr` (no psychovisual tuning, no adaptive quantisation) scores higher VMAF for the bits
/// than the default tuning, and `slow` is the fastest preset that matches the original's bits and VMAF on film.
const PRESET: &str = "slow";
const TUNE: &str = "psnr";

/// A source's own size becomes the top rung when its short side is at least this much above the highest standard
/// rung it reaches: 10% more lines is visibly sharper; less is a rung nobody could tell from the one below.
const OWN_SIZE_MARGIN: f64 = 1.1;

/// The ladder for `src`, lowest rung first. `max_short_side` caps it (for example at 720 to skip 1080p).
pub fn ladder(src: &SourceInfo, max_short_side: Option<u32>) -> Vec<Rung> {
    let short = src.width.min(src.height);
    let long = src.width.max(src.height);
    let landscape = src.width >= src.height;
    let cap = max_short_side.unwrap_or(u32::MAX);
    let mut rungs: Vec<Rung> = BASES
        .iter()
        .filter(|b| b.short <= short && b.short <= cap)
        .map(|b| {
            // Never wider than the source either: the nearest even size can round up past an odd source side.
            let rung_long = nearest_even(f64::from(b.short) * f64::from(long) / f64::from(short)).min(even(long).max(2));
            let (w, h) = if landscape { (rung_long, b.short) } else { (b.short, rung_long) };
            rung(b, w, h, src.fps)
        })
        .collect();
    let (own_w, own_h) = (even(src.width).max(2), even(src.height).max(2));
    let own_short = own_w.min(own_h);
    let top_short = rungs.last().map_or(0, |r| r.width.min(r.height));
    // Between two rungs (and within the cap): the source's own size, with the bitrate of the rung above it scaled to
    // its pixels. Above the highest rung the ladder stops at that rung.
    let above = BASES.iter().find(|b| b.short > own_short);
    if let Some(base) = above
        && own_short <= cap
        && f64::from(own_short) >= f64::from(top_short) * OWN_SIZE_MARGIN
    {
        rungs.push(rung(base, own_w, own_h, src.fps));
    }
    if rungs.is_empty() {
        // A cap below every size the source could have: one rung at the source's own (even) size all the same.
        rungs.push(rung(&BASES[0], own_w, own_h, src.fps));
    }
    rungs
}

fn rung(base: &Base, width: u32, height: u32, source_fps: f64) -> Rung {
    let short = width.min(height);
    let ceiling = if short <= SMALL_RUNG { SMALL_RUNG_MAX_FPS } else { MAX_FPS };
    let fps_capped = source_fps > ceiling + 0.01;
    let fps = if fps_capped { ceiling } else { source_fps };
    let pixels = f64::from(width) * f64::from(height) / (f64::from(base.short) * f64::from(base.long));
    let rate = if fps > 31.0 { 1.5 } else { 1.0 };
    let max_video_kbps = ((f64::from(base.video_kbps) * pixels * rate / 10.0).round() as u32 * 10).max(100);
    Rung {
        name: format!("{short}p"),
        width,
        height,
        fps,
        fps_capped,
        crf: base.crf,
        max_video_kbps,
        audio_kbps: base.audio_kbps,
        level: level(width, height, fps),
        preset: PRESET,
        tune: TUNE,
    }
}

/// The smallest H.264 level whose frame size and macroblock rate fit.
fn level(width: u32, height: u32, fps: f64) -> u8 {
    let mbs = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    let mbps = (mbs as f64 * fps).ceil() as u64;
    const LEVELS: [(u8, u64, u64); 8] = [
        (30, 1620, 40_500),
        (31, 3600, 108_000),
        (32, 5120, 216_000),
        (40, 8192, 245_760),
        (42, 8704, 522_240),
        (50, 22_080, 589_824),
        (51, 36_864, 983_040),
        (52, 36_864, 2_073_600),
    ];
    LEVELS.iter().find(|(_, max_fs, max_mbps)| mbs <= *max_fs && mbps <= *max_mbps).map_or(52, |l| l.0)
}

fn even(n: u32) -> u32 {
    n & !1
}

/// 853.33 → 854: the even number closest to `x` (never 0).
fn nearest_even(x: f64) -> u32 {
    (((x / 2.0).round() as u32) * 2).max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(width: u32, height: u32, fps: f64) -> SourceInfo {
        SourceInfo {
            demuxer: "mov".into(),
            width,
            height,
            fps,
            duration: 10.0,
            has_audio: true,
            audio_channels: 2,
            video_codec: "h264".into(),
        }
    }

    fn shapes(l: &[Rung]) -> Vec<(u32, u32)> {
        l.iter().map(|r| (r.width, r.height)).collect()
    }

    #[test]
    fn a_1080p_source_gets_four_rungs_capped_at_the_original_bitrates() {
        let l = ladder(&src(1920, 1080, 30.0), None);
        assert_eq!(shapes(&l), [(320, 180), (854, 480), (1280, 720), (1920, 1080)]);
        assert_eq!(
            l.iter().map(|r| (r.max_video_kbps, r.audio_kbps)).collect::<Vec<_>>(),
            [(500, 64), (1000, 128), (2500, 192), (5000, 192)]
        );
        assert_eq!(l.iter().map(|r| r.crf).collect::<Vec<_>>(), [26.0, 26.0, 23.1, 23.1]);
        assert_eq!(l.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["180p", "480p", "720p", "1080p"]);
        assert_eq!(shapes(&ladder(&src(1920, 1080, 30.0), Some(720))), [(320, 180), (854, 480), (1280, 720)]);
    }

    #[test]
    fn never_upscales() {
        assert_eq!(shapes(&ladder(&src(1280, 720, 30.0), None)), [(320, 180), (854, 480), (1280, 720)]);
        assert_eq!(shapes(&ladder(&src(3840, 2160, 30.0), None)).last(), Some(&(1920, 1080)), "the ladder stops at 1080p");
        for (w, h) in [(640, 360), (853, 479), (1000, 563), (240, 426), (3840, 2160), (176, 144), (2, 2)] {
            let l = ladder(&src(w, h, 30.0), None);
            assert!(l.iter().all(|r| r.width <= w && r.height <= h), "{w}x{h}: {:?}", shapes(&l));
        }
    }

    #[test]
    fn a_source_between_rungs_keeps_its_own_size_as_the_top_rung() {
        // (source, expected ladder): landscape, portrait, odd sides, just above a rung, above the highest rung.
        type Shape = (u32, u32);
        let table: [(Shape, &[Shape]); 12] = [
            ((640, 360), &[(320, 180), (640, 360)]),
            ((853, 479), &[(320, 180), (852, 478)]),
            ((640, 272), &[(424, 180), (640, 272)]),
            ((360, 640), &[(180, 320), (360, 640)]),
            ((1024, 576), &[(320, 180), (854, 480), (1024, 576)]),
            ((1600, 900), &[(320, 180), (854, 480), (1280, 720), (1600, 900)]),
            ((1080, 1350), &[(180, 226), (480, 600), (720, 900), (1080, 1350)]),
            ((1000, 563), &[(320, 180), (852, 480), (1000, 562)]),
            ((858, 484), &[(320, 180), (850, 480)]),
            ((1280, 720), &[(320, 180), (854, 480), (1280, 720)]),
            ((2560, 1440), &[(320, 180), (854, 480), (1280, 720), (1920, 1080)]),
            ((200, 112), &[(200, 112)]),
        ];
        for ((w, h), want) in table {
            assert_eq!(shapes(&ladder(&src(w, h, 30.0), None)), want, "{w}x{h}");
        }
        // The cap holds: a 900p source capped at 720 tops out at 720p.
        assert_eq!(shapes(&ladder(&src(1600, 900, 30.0), Some(720))).last(), Some(&(1280, 720)));
        assert_eq!(shapes(&ladder(&src(640, 360, 30.0), Some(180))), [(320, 180)]);
        let own = ladder(&src(640, 360, 30.0), None).pop().unwrap();
        assert_eq!(own.name, "360p");
        assert_eq!(own.max_video_kbps, 560, "480p's bitrate for 854x480, scaled to 640x360's pixels");
        assert_eq!(own.audio_kbps, 128);
    }

    #[test]
    fn portrait_stays_portrait_scaled_by_its_short_side() {
        let l = ladder(&src(720, 1280, 30.0), None);
        assert_eq!(shapes(&l), [(180, 320), (480, 854), (720, 1280)]);
        assert!(l.iter().all(|r| r.height > r.width));
    }

    #[test]
    fn a_tiny_source_gets_one_rung_at_its_own_size() {
        let l = ladder(&src(160, 90, 15.0), None);
        assert_eq!(shapes(&l), [(160, 90)]);
        assert_eq!(l[0].fps, 15.0);
        assert!(l[0].max_video_kbps < 500, "bitrate scaled down with the pixels: {}", l[0].max_video_kbps);
        assert_eq!(shapes(&ladder(&src(161, 91, 30.0), None)), [(160, 90)], "even dimensions");
    }

    #[test]
    fn dimensions_are_even_and_bitrates_follow_the_pixels() {
        let l = ladder(&src(1440, 1080, 30.0), None); // 4:3
        assert_eq!(shapes(&l), [(240, 180), (640, 480), (960, 720), (1440, 1080)]);
        assert_eq!(shapes(&ladder(&src(176, 144, 30.0), None)), [(176, 144)], "smaller than 180p: one rung at its size");
        assert!(l.iter().all(|r| r.width % 2 == 0 && r.height % 2 == 0));
        assert_eq!(l[2].max_video_kbps, 1880, "720p at 4:3 has 0.75 of the pixels of 1280x720");
        assert_eq!(ladder(&src(1280, 720, 30.0), None)[1].width, 854, "480p is 854 wide, as 853.33 rounds");
        let odd = ladder(&src(1000, 563, 30.0), None);
        assert!(odd.iter().all(|r| r.width % 2 == 0 && r.height % 2 == 0), "{:?}", shapes(&odd));
    }

    #[test]
    fn frame_rate_is_kept_to_60_and_small_rungs_to_30() {
        let l = ladder(&src(1920, 1080, 60.0), None);
        assert_eq!(l.iter().map(|r| r.fps).collect::<Vec<_>>(), [30.0, 30.0, 60.0, 60.0]);
        assert_eq!(l[3].max_video_kbps, 7500, "60 fps gets 1.5x the bits");
        assert_eq!(l[3].level, 42);
        let fast = ladder(&src(1280, 720, 120.0), None);
        assert_eq!(fast.last().unwrap().fps, 60.0);
        assert!(fast.last().unwrap().fps_capped);
        let film = ladder(&src(1920, 1080, 23.976), None);
        assert!(film.iter().all(|r| (r.fps - 23.976).abs() < 1e-9 && !r.fps_capped));
    }

    #[test]
    fn levels_fit_the_rungs() {
        assert_eq!(level(320, 180, 30.0), 30);
        assert_eq!(level(854, 480, 30.0), 31);
        assert_eq!(level(640, 360, 30.0), 30);
        assert_eq!(level(1280, 720, 30.0), 31);
        assert_eq!(level(1280, 720, 60.0), 32);
        assert_eq!(level(1920, 1080, 30.0), 40);
    }
}
