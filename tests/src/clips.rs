//! Synthetic clips made on the spot by the bundled ffmpeg, for tests and benchmarks that need a source of a given
//! shape, length or weight: ffmpeg's moving test pattern (`testsrc2`) with a 440 Hz tone, H.264 and AAC in MP4.

use std::path::Path;

/// What the clip is like. [`TestPattern::new`] gives x264 `veryfast` at its default rate control, and keyframes where
/// x264 puts them.
#[derive(Debug, Clone)]
pub struct TestPattern {
    width: u32,
    height: u32,
    fps: u32,
    seconds: f64,
    /// Temporal noise over the picture (ffmpeg's `noise` filter, `alls`); 0 for none.
    noise: u32,
    preset: &'static str,
    /// The encoder's rate control, e.g. `["-crf", "21"]`.
    rate: Vec<String>,
    /// Frames between keyframes, if fixed.
    keyframes_every: Option<u32>,
}

impl TestPattern {
    pub fn new(width: u32, height: u32, fps: u32, seconds: f64) -> Self {
        Self { width, height, fps, seconds, noise: 0, preset: "veryfast", rate: Vec::new(), keyframes_every: None }
    }

    pub fn noise(self, strength: u32) -> Self {
        Self { noise: strength, ..self }
    }

    pub fn preset(self, preset: &'static str) -> Self {
        Self { preset, ..self }
    }

    pub fn rate(self, args: &[&str]) -> Self {
        Self { rate: args.iter().map(|a| a.to_string()).collect(), ..self }
    }

    pub fn keyframes_every(self, frames: u32) -> Self {
        Self { keyframes_every: Some(frames), ..self }
    }

    /// Writes the clip to `out` with `ffmpeg`; panics with ffmpeg's complaint if it cannot.
    pub fn write(&self, ffmpeg: &Path, out: &Path) {
        let mut video = format!("testsrc2=size={}x{}:rate={}", self.width, self.height, self.fps);
        if self.noise > 0 {
            video += &format!(",noise=alls={}:allf=t", self.noise);
        }
        let mut cmd = std::process::Command::new(ffmpeg);
        cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i", &video])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &self.seconds.to_string()])
            .args(["-c:v", "libx264", "-preset", self.preset])
            .args(&self.rate);
        if let Some(frames) = self.keyframes_every {
            cmd.args(["-g", &frames.to_string()]);
        }
        let result = cmd.args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest", "-f", "mp4"]).arg(out).output().unwrap();
        assert!(result.status.success(), "making {}: {}", out.display(), String::from_utf8_lossy(&result.stderr));
    }
}
