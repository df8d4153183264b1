//! Running ffmpeg on files nobody vouches for.
//!
//! ffmpeg on hostile input has read local files and reached the network (playlists, `concat:`), and on Lambda the
//! process environment holds the role's credentials. So every run here gets: an empty environment, its own working
//! folder, no standard input, a wall-clock limit (killed when it passes), an address-space limit, no core dumps, and
//! death with its parent. The protocol and demuxer allow-lists are arguments ([`input_guard`]) because they are
//! ffmpeg's own options.

use crate::input::Input;
use crate::paths::AbsolutePath;
use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

/// The demuxers an upload may be read with: real video containers. No playlists (hls, concat), no image sequences,
/// no raw or text formats.
pub const DEMUXERS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,asf,ogg,mxf,dv";

/// How long and how large a run may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub wall: Duration,
    pub memory_bytes: u64,
}

/// A finished run.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    /// The start of stderr (where ffmpeg reports what it opened), up to 256 KiB.
    pub stderr_head: String,
    /// The last few KiB of stderr, for the log of a failure.
    pub stderr_tail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("still running after {0:?}; killed")]
    TimedOut(Duration),
    #[error("i/o around the run")]
    Io(#[from] std::io::Error),
}

/// The start of a run's arguments on a probed `input`: quiet, overwriting its outputs, and the input opened as probing
/// found it (`demuxer`).
pub fn quiet_run_on(input: &Input, demuxer: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"].map(Into::into).to_vec();
    args.extend(input_guard(input, Some(demuxer)));
    args
}

/// The options that pin how `input` is opened: its own protocols only (a file's, or http(s) for an address; never
/// concat, subfile, pipe ...), allow-listed demuxers, and, once probing has named the container, exactly that demuxer.
pub fn input_guard(input: &Input, demuxer: Option<&str>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-protocol_whitelist".into(), input.protocols().into(), "-format_whitelist".into(), DEMUXERS.into()];
    if let Some(d) = demuxer {
        args.extend(["-f".into(), d.into()]);
    }
    args
}

const STDERR_TAIL: u64 = 4 * 1024;
const STDERR_HEAD: u64 = 256 * 1024;
const STDOUT_MAX: u64 = 4 * 1024 * 1024;

/// How often a watched run's new standard output is handed over.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Runs `program` with `args` in `dir` under `limits`. Output goes to files in `dir` (no pipe can fill and stall).
/// Paths are absolute: the child's current folder is `dir`, so a relative one would name another file.
pub async fn run(program: &AbsolutePath, args: &[OsString], dir: &AbsolutePath, limits: Limits) -> Result<Finished, RunError> {
    run_watched(program, args, dir, limits, &|_| {}).await
}

/// [`run`], handing `watch` what the program adds to its standard output while it runs (ffmpeg's `-progress`), about
/// twice a second.
pub async fn run_watched(
    program: &AbsolutePath,
    args: &[OsString],
    dir: &AbsolutePath,
    limits: Limits,
    watch: &(dyn Fn(&str) + Sync),
) -> Result<Finished, RunError> {
    let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let out_path = dir.join(format!(".{name}.stdout"));
    let err_path = dir.join(format!(".{name}.stderr"));
    let stdout = std::fs::File::create(&out_path)?;
    let stderr = std::fs::File::create(&err_path)?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).current_dir(dir).env_clear().stdin(Stdio::null()).stdout(stdout).stderr(stderr).kill_on_drop(true);
    let memory = limits.memory_bytes;
    // SAFETY: only async-signal-safe calls (setrlimit, prctl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let as_limit = libc::rlimit { rlim_cur: memory, rlim_max: memory };
            if libc::setrlimit(libc::RLIMIT_AS, &as_limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            #[cfg(target_os = "linux")]
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|source| RunError::Spawn { program: program.display().to_string(), source })?;
    let waited = tokio::time::timeout(limits.wall, async {
        let mut seen = 0u64;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        loop {
            tokio::select! {
                status = child.wait() => return status,
                _ = tick.tick() => seen = hand_over(&out_path, seen, watch),
            }
        }
    });
    let status = match waited.await {
        Ok(status) => status?,
        Err(_) => {
            let _ = child.kill().await;
            let _ = std::fs::remove_file(&out_path);
            let _ = std::fs::remove_file(&err_path);
            return Err(RunError::TimedOut(limits.wall));
        }
    };
    let stdout = read_bounded(&out_path, STDOUT_MAX, false)?;
    let stderr_head = read_bounded(&err_path, STDERR_HEAD, false)?;
    let stderr_tail = read_bounded(&err_path, STDERR_TAIL, true)?;
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    Ok(Finished { status, stdout, stderr_head, stderr_tail })
}

/// Hands `watch` whatever `path` holds past `seen` (whole lines only); returns how far it has read.
fn hand_over(path: &Path, seen: u64, watch: &(dyn Fn(&str) + Sync)) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else { return seen };
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(seen)).is_err() || f.take(STDOUT_MAX).read_to_end(&mut buf).is_err() {
        return seen;
    }
    let Some(end) = buf.iter().rposition(|b| *b == b'\n') else { return seen };
    watch(&String::from_utf8_lossy(&buf[..=end]));
    seen + end as u64 + 1
}

/// At most `max` bytes of a file: its head, or (`tail`) its end.
fn read_bounded(path: &Path, max: u64, tail: bool) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if tail && len > max {
        f.seek(SeekFrom::Start(len - max))?;
    }
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of this test's own: tests run in parallel, and each removes its folder at the end.
    fn dir() -> AbsolutePath {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = AbsolutePath::resolve(std::env::temp_dir().join(format!("sandbox-test-{}-{n}", std::process::id()))).unwrap();
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn program(p: &str) -> AbsolutePath {
        AbsolutePath::resolve(p).unwrap()
    }

    const LIMITS: Limits = Limits { wall: Duration::from_secs(5), memory_bytes: 1 << 30 };

    #[tokio::test]
    async fn the_environment_is_empty() {
        let d = dir();
        // SAFETY: set before any thread of this test reads the environment.
        unsafe { std::env::set_var("AWS_SECRET_ACCESS_KEY", "canary-secret") };
        let out = run(&program("/usr/bin/env"), &[], &d, LIMITS).await.unwrap();
        assert!(out.status.success());
        assert!(!out.stdout.contains("canary-secret"), "{}", out.stdout);
        assert_eq!(out.stdout.trim(), "", "no variable at all reaches the child");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn a_run_past_its_time_is_killed() {
        let d = dir();
        let started = std::time::Instant::now();
        let limits = Limits { wall: Duration::from_millis(300), ..LIMITS };
        let err = run(&program("/bin/sleep"), &["30".into()], &d, limits).await.unwrap_err();
        assert!(matches!(err, RunError::TimedOut(_)));
        assert!(started.elapsed() < Duration::from_secs(5));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn memory_is_capped() {
        let d = dir();
        let limits = Limits { memory_bytes: 64 << 20, ..LIMITS };
        // Python (or any allocator) cannot map 256 MiB under a 64 MiB address-space limit.
        let script = "x = bytearray(256 * 1024 * 1024)";
        let out = run(&program("/usr/bin/env"), &["python3".into(), "-c".into(), script.into()], &d, limits).await;
        match out {
            Ok(f) => assert!(!f.status.success(), "allocation beyond the limit succeeded"),
            Err(RunError::Spawn { .. }) => {} // not even the interpreter fits: the limit holds
            Err(e) => panic!("{e}"),
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn a_watched_run_hands_over_its_output_as_it_comes() {
        let d = dir();
        let seen = std::sync::Mutex::new(Vec::<String>::new());
        let script = "echo out_time=1; sleep 1.2; echo out_time=2; printf partial";
        let out = run_watched(&program("/bin/sh"), &["-c".into(), script.into()], &d, LIMITS, &|s| seen.lock().unwrap().push(s.to_owned()))
            .await
            .unwrap();
        assert!(out.status.success());
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.first().map(String::as_str), Some("out_time=1\n"), "the first line arrives while it runs: {seen:?}");
        assert!(seen.concat().lines().all(|l| l.starts_with("out_time=")), "whole lines only: {seen:?}");
        assert!(out.stdout.ends_with("partial"), "the whole output is still kept: {}", out.stdout);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn stderr_is_kept_short() {
        let d = dir();
        let script = "for i in $(seq 1 5000); do echo line-$i >&2; done";
        let out = run(&program("/bin/sh"), &["-c".into(), script.into()], &d, LIMITS).await.unwrap();
        assert!(out.stderr_tail.len() <= STDERR_TAIL as usize);
        assert!(out.stderr_tail.trim_end().ends_with("line-5000"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
