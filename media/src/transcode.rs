//! The whole pipeline: probe, ladder, one ffmpeg run, measurements, poster, master playlist.

use crate::hls::{self, MASTER, Measured};
use crate::input::Input;
use crate::ladder::{Rung, ladder};
use crate::paths::AbsolutePath;
use crate::probe::{MAX_DURATION, SourceInfo, clock, probe};
use crate::sandbox::{self, Limits, RunError};
use crate::tools::Tools;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Knobs of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Cap the ladder at this short side (e.g. 720 to skip 1080p).
    pub max_short_side: Option<u32>,
    /// ffmpeg's address-space limit.
    pub memory_bytes: u64,
    /// The wall-clock limit is `max(min_wall, duration * wall_per_second)`, and never past `max_wall`.
    pub min_wall: Duration,
    pub wall_per_second: f64,
    /// The most the encode may take whatever the video, when the run itself has a deadline (a Lambda's timeout).
    pub max_wall: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self { max_short_side: None, memory_bytes: 3 << 30, min_wall: Duration::from_secs(120), wall_per_second: 4.0, max_wall: None }
    }
}

impl Options {
    /// What `duration` seconds of source are allowed, before any cap.
    pub fn allowed_for(&self, duration: f64) -> Duration {
        let scaled = Duration::from_secs_f64((duration.max(0.0) * self.wall_per_second).min(24.0 * 3600.0));
        scaled.max(self.min_wall)
    }

    /// The encode's wall-clock limit, and whether it is the run's cap (`max_wall`) rather than the video's allowance.
    fn wall_for(&self, duration: f64) -> (Duration, bool) {
        let allowed = self.allowed_for(duration);
        match self.max_wall {
            Some(cap) if cap < allowed => (cap, true),
            _ => (allowed, false),
        }
    }
}

/// What was made, with paths relative to the output folder.
#[derive(Debug, Clone)]
pub struct Output {
    pub source: SourceInfo,
    pub rungs: Vec<(Rung, Measured)>,
    /// `poster.jpg`, if a frame could be taken.
    pub poster: Option<PathBuf>,
    /// Every file to publish, with its content type; the master playlist is `master.m3u8`.
    pub files: Vec<(PathBuf, &'static str)>,
}

/// How a run ended, if not with an [`Output`].
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The file is at fault; the message is for the person who uploaded it. Retrying cannot help.
    #[error("{0}")]
    Rejected(String),
    /// We are at fault (missing tools, a full disk); worth a retry.
    #[error("transcode failed")]
    Failed(#[from] anyhow::Error),
}

pub const POSTER: &str = "poster.jpg";

/// How far an encode has got, as ffmpeg reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Seconds of the source encoded so far.
    pub done: f64,
    /// The source's length in seconds (0 when the container does not say).
    pub total: f64,
}

/// Transcodes `input` (a file we named, with no extension a client chose) into an HLS ladder in `out`.
pub async fn transcode(tools: &Tools, input: &AbsolutePath, out: &AbsolutePath, opts: &Options) -> Result<Output, TranscodeError> {
    transcode_watched(tools, input, out, opts, &|_| {}).await
}

/// [`transcode`], telling `progress` how far the encode has got about twice a second.
pub async fn transcode_watched(
    tools: &Tools,
    input: &AbsolutePath,
    out: &AbsolutePath,
    opts: &Options,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Output, TranscodeError> {
    std::fs::create_dir_all(out).map_err(anyhow::Error::from)?;
    let file = Input::File(input.clone());
    let source = probe(tools, &file, out).await?;
    let rungs = ladder(&source, opts.max_short_side);
    for r in &rungs {
        std::fs::create_dir_all(out.join(&r.name)).map_err(anyhow::Error::from)?;
    }
    let mut args: Vec<OsString> =
        ["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1"].map(Into::into).to_vec();
    args.extend(sandbox::input_guard(&file, Some(&source.demuxer)));
    // Read no further than the longest video accepted, whatever the header said about the length.
    args.extend(["-t".into(), format!("{MAX_DURATION}").into(), "-i".into(), file.arg()]);
    args.extend(hls::ladder_args(&rungs, source.audio_channels, out));
    let (wall, capped) = opts.wall_for(source.duration);
    let limits = Limits { wall, memory_bytes: opts.memory_bytes };
    let started = std::time::Instant::now();
    let total = source.duration;
    let watch = |chunk: &str| {
        if let Some(done) = last_out_time(chunk) {
            progress(Progress { done, total });
        }
    };
    let run = match sandbox::run_watched(&tools.ffmpeg, &args, out, limits, &watch).await {
        Ok(run) => run,
        // The run's own deadline: retrying cannot help, and the file is not to blame.
        Err(RunError::TimedOut(limit)) if capped => {
            return Err(TranscodeError::Rejected(format!(
                "this video needs longer to process than one transcode may run ({} s were left of it): videos this long cannot be published yet",
                limit.as_secs()
            )));
        }
        Err(RunError::TimedOut(limit)) => {
            return Err(TranscodeError::Rejected(format!(
                "processing took longer than {} s, the limit for a video of this length",
                limit.as_secs()
            )));
        }
        Err(e) => return Err(TranscodeError::Failed(e.into())),
    };
    if !run.status.success() {
        tracing::warn!(stderr = run.stderr_tail, status = ?run.status, "ffmpeg failed");
        if let Some(cause) = our_fault(&run, out) {
            return Err(TranscodeError::Failed(anyhow::anyhow!("ffmpeg stopped: {cause}")));
        }
        let at = clock(last_out_time(&run.stdout).unwrap_or(0.0).floor());
        return Err(TranscodeError::Rejected(format!("decoding failed at {at}")));
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), rungs = rungs.len(), "ladder encoded");

    // ffmpeg's HLS muxer can exit 0 having written nothing when its disk fills: every rendition is checked whole.
    let mut made = Vec::new();
    for r in rungs {
        let m = hls::measure(&out.join(&r.name)).map_err(|e| TranscodeError::Failed(with_disk_state(e, out)))?;
        made.push((r, m));
    }
    let poster = take_poster(tools, &file, out, &source, &made[made.len() - 1].0, opts.memory_bytes).await;
    std::fs::write(out.join(MASTER), hls::master_playlist(&made, source.has_audio)).map_err(anyhow::Error::from)?;
    let files = collect_files(out).map_err(TranscodeError::Failed)?;
    Ok(Output { source, rungs: made, poster, files })
}

/// A still from about 10% into the video, at the top rung's size, as `out/poster.jpg`; the first frame if that fails.
pub async fn take_poster(
    tools: &Tools,
    input: &Input,
    out: &AbsolutePath,
    src: &SourceInfo,
    top: &Rung,
    memory_bytes: u64,
) -> Option<PathBuf> {
    for at in [src.duration * 0.1, 0.0] {
        let mut args = sandbox::quiet_run_on(input, &src.demuxer);
        args.extend(["-ss".into(), format!("{at:.3}").into(), "-i".into(), input.arg()]);
        args.extend(["-frames:v", "1", "-vf"].map(Into::into));
        args.push(format!("scale={}:{}:flags=lanczos,setsar=1", top.width, top.height).into());
        args.extend(["-q:v".into(), "3".into(), out.join(POSTER).into_path_buf().into_os_string()]);
        let limits = Limits { wall: Duration::from_secs(60), memory_bytes };
        if let Ok(run) = sandbox::run(&tools.ffmpeg, &args, out, limits).await
            && run.status.success()
            && out.join(POSTER).is_file()
        {
            return Some(PathBuf::from(POSTER));
        }
    }
    tracing::warn!("no poster frame could be taken");
    None
}

/// Errors of the machine, not of the file, in ffmpeg's words (strerror texts): a disk that is full or fails, memory that
/// runs out, a file that vanished or may not be read or written.
const OUR_FAULTS: [&str; 13] = [
    "No space left on device",
    "Disk quota exceeded",
    "Cannot allocate memory",
    "Input/output error",
    "Read-only file system",
    "Permission denied",
    "No such file or directory",
    // A source read by its address: storage or the network failed, or the address expired or was wrong.
    "Connection refused",
    "Connection timed out",
    "Connection reset by peer",
    "Network is unreachable",
    "Server returned",
    "HTTP error",
];

/// Why a failed ffmpeg run is our fault, if it is: killed by a signal (nobody but us or the kernel sends one), or one
/// of [`OUR_FAULTS`] in its last words, or a disk with no room left.
pub(crate) fn our_fault(run: &sandbox::Finished, out: &Path) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = run.status.signal() {
        return Some(format!("killed by signal {signal}"));
    }
    if let Some(fault) = OUR_FAULTS.iter().find(|f| run.stderr_tail.contains(**f)) {
        return Some((*fault).to_owned());
    }
    disk_full(out).then(|| "No space left on device".to_owned())
}

/// Whether the file system holding `dir` has (almost) no room left.
fn disk_full(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    // SAFETY: a valid C string and a zeroed struct for statvfs to fill.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
        return false;
    }
    (s.f_bavail as u64).saturating_mul(s.f_frsize as u64) < 1 << 20
}

/// A rendition that did not come out whole, with the likeliest cause when the disk is full.
fn with_disk_state(e: anyhow::Error, out: &Path) -> anyhow::Error {
    if disk_full(out) { e.context(format!("the disk holding {} is full", out.display())) } else { e.context("a rendition is incomplete") }
}

/// How far ffmpeg got, in seconds: the last `out_time_us` of its `-progress` report.
fn last_out_time(progress: &str) -> Option<f64> {
    progress.lines().rev().find_map(|l| l.strip_prefix("out_time_us=")?.trim().parse::<i64>().ok()).map(|us| us.max(0) as f64 / 1e6)
}

/// Every output file, relative to `out`, with its content type.
fn collect_files(out: &Path) -> anyhow::Result<Vec<(PathBuf, &'static str)>> {
    let mut files = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Some(content_type) = crate::hls::content_type(&path) else { continue };
            files.push((path.strip_prefix(out)?.to_path_buf(), content_type));
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_names_where_decoding_stopped() {
        let p = "frame=10\nout_time_us=1200000\nout_time=00:00:01.200000\nprogress=continue\nframe=20\nout_time_us=72933000\nout_time=00:01:12.933000\nprogress=end\n";
        assert_eq!(clock(last_out_time(p).unwrap().floor()), "00:01:12");
        assert_eq!(last_out_time(""), None);
    }

    #[test]
    fn progress_reads_the_last_position() {
        assert_eq!(last_out_time("out_time_us=1000000\nprogress=continue\nout_time_us=2500000\n"), Some(2.5));
        assert_eq!(last_out_time("out_time_us=-23000\n"), Some(0.0));
        assert_eq!(last_out_time("out_time_us=N/A\nframe=1\n"), None);
    }

    #[test]
    fn the_time_limit_scales_with_duration_up_to_the_runs_cap() {
        let o = Options::default();
        assert_eq!(o.wall_for(0.0), (Duration::from_secs(120), false));
        assert_eq!(o.wall_for(600.0), (Duration::from_secs(2400), false));
        let lambda = Options { max_wall: Some(Duration::from_secs(780)), ..o };
        assert_eq!(lambda.wall_for(60.0), (Duration::from_secs(240), false), "a short video keeps its own limit");
        assert_eq!(lambda.wall_for(600.0), (Duration::from_secs(780), true), "a long one stops before the function does");
    }
}
