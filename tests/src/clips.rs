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

/// Writes the lesson-like source: 60 s of 1080p30 with a tone, still slides (lines of glyph-sized cells from ffmpeg's
/// `life` source, one generation per 15 s slide) and a camera inset of `camera` (real footage, looped).
pub fn lesson_like(ffmpeg: &Path, camera: &Path, out: &Path) {
    let mut lines = String::new();
    for l in 0..7 {
        let (w, y) = (700 + ((l * 13) % 9) * 110, 280 + l * 86);
        lines += &format!("drawbox=x=140:y={y}:w={w}:h=30:color=white:t=fill,");
    }
    let graph = format!(
        "[1:v]fps=30,scale=1920:1080:flags=neighbor,format=yuv420p[text];\
         [2:v]{lines}drawbox=x=140:y=120:w=1000:h=64:color=white:t=fill,format=yuv420p,lut=y=if(gt(val\\,128)\\,255\\,0)[mask];\
         [0:v]format=yuv420p[paper];[paper][text][mask]maskedmerge=planes=1[slide];\
         [3:v]scale=480:204,setpts=PTS-STARTPTS[camera];[slide][camera]overlay=x=1400:y=840[v]"
    );
    let status = std::process::Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=0xf4f4f0:size=1920x1080:rate=30"])
        .args(["-f", "lavfi", "-i", "life=size=640x360:ratio=0.3:mold=0:rate=1/15:random_seed=7:death_color=0x303840:life_color=0xf4f4f0"])
        .args(["-f", "lavfi", "-i", "color=c=black:size=1920x1080:rate=30", "-stream_loop", "-1", "-i"])
        .arg(camera)
        .args(["-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000", "-filter_complex", &graph])
        .args(["-map", "[v]", "-map", "4:a", "-t", "60", "-c:v", "libx264", "-preset", "veryfast", "-crf", "16"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "the lesson-like source could not be made");
}
