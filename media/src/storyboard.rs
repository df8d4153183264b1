//! Storyboards for seek-bar previews: one small frame at the start of every segment, tiled into one JPEG sprite per
//! chunk, made by the same ffmpeg run as the chunk's renditions; and the WebVTT index players read, whose cues name a
//! sprite and the frame's rectangle in it (`sprite.jpg#xywh=x,y,w,h`). The index is stored beside the playlists as
//! [`INDEX`] once the video is ready.

use crate::hls::SEGMENT_SECONDS;
use std::fmt::Write as _;

/// The folder of the sprites, beside the renditions'.
pub const FOLDER: &str = "storyboard";
/// The index's name under the video's media folder.
pub const INDEX: &str = "storyboard.vtt";
/// Frames per row of a sprite.
pub const COLUMNS: u32 = 5;
/// The width of a frame in a sprite; the height keeps the picture's shape.
pub const FRAME_WIDTH: u32 = 160;

/// The size of one frame for a picture of `width` x `height`: [`FRAME_WIDTH`] wide, the height even.
pub fn frame_size(width: u32, height: u32) -> (u32, u32) {
    let h = (u64::from(FRAME_WIDTH) * u64::from(height) / u64::from(width.max(1))) as u32;
    (FRAME_WIDTH, (h / 2 * 2).max(2))
}

/// The sprite of chunk `index`, under the video's media folder.
pub fn sprite(index: u32) -> String {
    format!("{FOLDER}/sprite_{index:04}.jpg")
}

/// The filter that makes the sprite of a chunk of `segments` segments from its picture: a frame every segment, scaled,
/// tiled [`COLUMNS`] wide (a shorter last row is left blank).
pub fn filter(segments: u32, width: u32, height: u32) -> String {
    let (w, h) = frame_size(width, height);
    let rows = segments.max(1).div_ceil(COLUMNS);
    // At the end, the last frame passes (a stretch shorter than a segment still gets its frame).
    format!("fps=1/{SEGMENT_SECONDS}:eof_action=pass,scale={w}:{h}:flags=bilinear,setsar=1,tile={COLUMNS}x{rows}")
}

/// The WebVTT index of the sprites of `chunks` (each its index and its segments' durations, in timeline order, with no
/// gap) for a picture of `width` x `height`: a cue per segment, naming its frame in its chunk's sprite by the sprite's
/// path under the video's media folder ([`sprite`]); whoever serves it signs those paths.
pub fn index(chunks: &[(u32, &[f64])], width: u32, height: u32) -> String {
    let (w, h) = frame_size(width, height);
    let mut out = String::from("WEBVTT\n");
    let mut at = 0.0;
    for (chunk, segments) in chunks {
        let url = sprite(*chunk);
        for (i, duration) in segments.iter().enumerate() {
            let (x, y) = ((i as u32 % COLUMNS) * w, (i as u32 / COLUMNS) * h);
            let _ = write!(out, "\n{} --> {}\n{url}#xywh={x},{y},{w},{h}\n", clock(at), clock(at + duration));
            at += duration;
        }
    }
    out
}

fn clock(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_per_segment_tiled_five_wide_and_indexed_by_time() {
        assert_eq!(frame_size(1920, 1080), (160, 90));
        assert_eq!(frame_size(640, 272), (160, 68));
        assert_eq!(filter(10, 1920, 1080), "fps=1/6:eof_action=pass,scale=160:90:flags=bilinear,setsar=1,tile=5x2");
        assert_eq!(filter(11, 1920, 1080), "fps=1/6:eof_action=pass,scale=160:90:flags=bilinear,setsar=1,tile=5x3");
        let first = [6.0; 10];
        let last = [6.0, 2.5];
        let vtt = index(&[(0, &first), (1, &last)], 1920, 1080);
        assert!(vtt.starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:06.000\nstoryboard/sprite_0000.jpg#xywh=0,0,160,90\n"), "{vtt}");
        assert!(vtt.contains("\n00:00:36.000 --> 00:00:42.000\nstoryboard/sprite_0000.jpg#xywh=160,90,160,90\n"), "{vtt}");
        assert!(vtt.ends_with("\n00:01:06.000 --> 00:01:08.500\nstoryboard/sprite_0001.jpg#xywh=160,0,160,90\n"), "{vtt}");
        assert_eq!(vtt.matches(" --> ").count(), 12);
    }
}
