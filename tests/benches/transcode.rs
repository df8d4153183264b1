//! `framelift transcode` beside the original design's transcoder (`../shared/bench/seed-transcode.sh`), in one run on
//! one machine, alternating.
//!
//! Source: 60 s of 1080p30 with audio, generated like the shared test clips (testsrc2 with temporal noise, a sine).
//! Compared like for like, on the original three rungs (`--max-height 720`), and, for the record, the full ladder
//! with its 1080p rung. Figures: wall and CPU time, peak memory, and for the 720p and 480p rungs VMAF (libvmaf model
//! vmaf_v0.6.1, every 5th frame, each rendition scaled back to 1080p with bicubic) and the measured video bitrate.
//! Goal: at least 3.0x faster wall time, VMAF within 0.5 at each compared rung, at most 5% more bits, under 1 GiB.
//! `FRAMELIFT_BENCH_RUNS` sets the number of alternations (default 3); the tables show medians.

use framelift_media::Tools;
use framelift_tests::cpu_time;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Usage {
    wall: Duration,
    cpu: Duration,
    peak_kib: u64,
}

/// Runs a command to completion and reads its resource usage (children included) from wait4.
fn measure(cmd: &mut Command) -> Usage {
    let started = Instant::now();
    let child = cmd.stdout(std::process::Stdio::null()).spawn().expect("the command starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain FFI calls with valid out-pointers; the child is ours and not waited for elsewhere.
    let usage = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut ru), pid);
        ru
    };
    let wall = started.elapsed();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{cmd:?} failed");
    std::mem::forget(child);
    Usage { wall, cpu: cpu_time(&usage), peak_kib: usage.ru_maxrss as u64 }
}

fn vmaf(ffmpeg: &Path, rendition: &Path, source: &Path) -> f64 {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-protocol_whitelist", "file,crypto,data", "-i"])
        .arg(rendition)
        .arg("-i")
        .arg(source)
        .args([
            "-lavfi",
            "[0:v]scale=1920:1080:flags=bicubic,setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf=n_threads=2:n_subsample=5",
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    log.split("VMAF score: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no VMAF score: {log}"))
}

/// The video stream's bitrate in kbit/s over the 60 s.
fn video_kbps(ffmpeg: &Path, rendition: &Path) -> f64 {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-protocol_whitelist", "file,crypto,data", "-i"])
        .arg(rendition)
        .args(["-map", "0:v", "-c", "copy", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let kib: f64 = log.split("video:").nth(1).and_then(|s| s.split("KiB").next()?.trim().parse().ok()).expect("a size report");
    kib * 8.192 / 60.0
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let runs: usize = std::env::var("FRAMELIFT_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let tools = Tools::locate().expect("the bundled ffmpeg (scripts/fetch-ffmpeg.sh)");
    let framelift = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("framelift");
    assert!(framelift.is_file(), "{} is missing: `make bench` builds it first", framelift.display());
    let seed = repo.join("../shared/bench/seed-transcode.sh");
    assert!(seed.is_file(), "{} is missing: the shared folder must sit beside the checkout", seed.display());

    let work = repo.join("target/bench-transcode");
    std::fs::create_dir_all(&work).unwrap();
    let source = work.join("source-60s-1080p30.mp4");
    if !source.is_file() {
        println!("generating the 60 s 1080p30 source...");
        let status = Command::new(&tools.ffmpeg)
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=1920x1080:rate=30,noise=alls=4:allf=t",
            ])
            .args([
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                "60",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "21",
            ])
            .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest"])
            .arg(&source)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let out = |name: &str| -> PathBuf {
        let d = work.join(name);
        let _ = std::fs::remove_dir_all(&d);
        d
    };

    println!("transcode benchmark: 60 s 1080p30 source, {runs} alternating runs");
    let (mut base, mut like, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let b = measure(Command::new("bash").arg(&seed).arg(&source).arg(out("baseline")).env("FFMPEG", &tools.ffmpeg));
        let l = measure(Command::new(&framelift).arg("transcode").arg(&source).arg(out("framelift-720")).args(["--max-height", "720"]));
        let f = measure(Command::new(&framelift).arg("transcode").arg(&source).arg(out("framelift-full")));
        for (name, u) in [("baseline (3 rungs)", &b), ("framelift (3 rungs)", &l), ("framelift (4 rungs)", &f)] {
            println!(
                "  run {run}: {name:<20} wall {:>6.2} s  cpu {:>6.2} s  peak {:>5} MiB",
                u.wall.as_secs_f64(),
                u.cpu.as_secs_f64(),
                u.peak_kib / 1024
            );
        }
        base.push(b);
        like.push(l);
        full.push(f);
    }
    let median = |v: &Vec<Usage>, f: fn(&Usage) -> f64| {
        let mut xs: Vec<f64> = v.iter().map(f).collect();
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    let wall = |u: &Usage| u.wall.as_secs_f64();
    let cpu = |u: &Usage| u.cpu.as_secs_f64();
    let peak = |u: &Usage| u.peak_kib as f64 / 1024.0;
    println!();
    println!("| transcoder | wall (s) | CPU (s) | peak memory (MiB) | speed-up (wall) |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, v) in [("baseline, 3 rungs", &base), ("framelift, 3 rungs", &like), ("framelift, 4 rungs (with 1080p)", &full)] {
        println!(
            "| {name} | {:.2} | {:.2} | {:.0} | {:.2}x |",
            median(v, wall),
            median(v, cpu),
            median(v, peak),
            median(&base, wall) / median(v, wall)
        );
    }
    println!();
    println!("| rung | baseline VMAF | framelift VMAF | difference | baseline kbit/s | framelift kbit/s | bits |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (rung, theirs, ours) in [
        ("720p", "baseline/1280x720.m3u8", "framelift-720/720p/index.m3u8"),
        ("480p", "baseline/854x480.m3u8", "framelift-720/480p/index.m3u8"),
    ] {
        let (t, o) = (work.join(theirs), work.join(ours));
        let (vt, vo) = (vmaf(&tools.ffmpeg, &t, &source), vmaf(&tools.ffmpeg, &o, &source));
        let (bt, bo) = (video_kbps(&tools.ffmpeg, &t), video_kbps(&tools.ffmpeg, &o));
        println!("| {rung} | {vt:.2} | {vo:.2} | {:+.2} | {bt:.0} | {bo:.0} | {:+.1}% |", vo - vt, (bo / bt - 1.0) * 100.0);
    }
    println!();
    println!("goals: speed-up >= 3.0x (3 rungs), VMAF difference >= -0.5, bits <= +5%, peak memory < 1024 MiB");
}
