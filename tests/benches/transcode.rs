//! `framelift transcode` beside the original design's transcoder (`../shared/bench/seed-transcode.sh`), in one run on
//! one machine, alternating.
//!
//! Source: 60 s of 1080p30 with audio, generated like the shared test clips (testsrc2 with temporal noise, a sine).
//! Compared like for like, on the original three rungs (`--max-height 720`), and, for the record, the full ladder
//! with its 1080p rung. Figures: wall and CPU time, peak memory, and for the 720p and 480p rungs VMAF (libvmaf model
//! vmaf_v0.6.1, every 5th frame, each rendition scaled back to 1080p with bicubic) and the measured video bitrate.
//! Goal (issue 4): at least 3.0x faster wall time, VMAF within 0.5 at each compared rung, at most 5% more bits, under
//! 1 GiB. `FRAMELIFT_BENCH_RUNS` sets the number of alternations (default 3); the tables show medians.
//!
//! Then rate control on real footage (issue 27), once each: a film clip (Big Buck Bunny, 720p, from the tests' real
//! footage) and a lesson-like source (60 s of 1080p30: still slides of dense text-like lines, a new one every 15 s, and
//! a small camera inset of real street footage), bits and VMAF per rung beside the original design's ladder. Goal: at
//! least 50% fewer bits on the lesson-like source and no more bits on film, each at a VMAF no lower than the original's.
//!
//! Then chunked encoding (issue 27) on the 60 s pattern: the full ladder in 12 s chunks, one after another, and the audio
//! once, beside one pass of the same settings: CPU time in all (goal: at most 10% more) and the slowest chunk's wall
//! time.

use framelift_media::Tools;
use framelift_tests::clips::TestPattern;
use framelift_tests::{children, cpu_time};
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

/// VMAF of `rendition` against `source`, scaled back to the source's `size` (`W:H`); every `subsample`th frame.
fn vmaf(ffmpeg: &Path, rendition: &Path, source: &Path, size: &str, subsample: u32) -> f64 {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-protocol_whitelist", "file,crypto,data", "-i"])
        .arg(rendition)
        .arg("-i")
        .arg(source)
        .args([
            "-lavfi",
            &format!(
                "[0:v]scale={size}:flags=bicubic,setpts=PTS-STARTPTS[d];[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf=n_threads=2:n_subsample={subsample}"
            ),
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

/// The video stream's bitrate in kbit/s over `seconds`.
fn video_kbps(ffmpeg: &Path, rendition: &Path, seconds: f64) -> f64 {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-nostdin", "-protocol_whitelist", "file,crypto,data", "-i"])
        .arg(rendition)
        .args(["-map", "0:v", "-c", "copy", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let kib: f64 = log.split("video:").nth(1).and_then(|s| s.split("KiB").next()?.trim().parse().ok()).expect("a size report");
    kib * 8.192 / seconds
}

/// The full ladder of `source` in 12 s chunks, one after another, and its audio once: (CPU time, the slowest chunk's
/// wall time, the chunks' count).
fn chunked(tools: &Tools, source: &Path, work: &Path) -> (Duration, Duration, usize) {
    use framelift_media::chunks;
    use framelift_media::{AbsolutePath, Input};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).unwrap();
    let work = AbsolutePath::resolve(work).unwrap();
    let input = Input::File(AbsolutePath::resolve(source).unwrap());
    let limits = framelift_media::sandbox::Limits { wall: Duration::from_secs(3600), memory_bytes: 3 << 30 };
    runtime.block_on(async {
        let info = framelift_media::probe::probe(tools, &input, &work).await.unwrap();
        let rungs = framelift_media::ladder::ladder(&info, None);
        let (cpu, _) = children();
        let mut slowest = Duration::ZERO;
        let plan = chunks::plan(info.duration, 2);
        for chunk in &plan {
            let started = Instant::now();
            let out = work.join(format!("chunk-{}", chunk.index));
            chunks::encode_chunk(&tools.ffmpeg, &input, &info, &rungs, chunk, &out, limits).await.unwrap();
            slowest = slowest.max(started.elapsed());
        }
        chunks::encode_audio(&tools.ffmpeg, &input, &info, &work, limits).await.unwrap();
        (children().0 - cpu, slowest, plan.len())
    })
}

/// The two transcoders compared, the ffmpeg that measures them and where they write.
struct Contestants<'a> {
    framelift: &'a Path,
    seed: &'a Path,
    ffmpeg: &'a Path,
    work: &'a Path,
}

/// Bits and VMAF of the 720p and 480p rungs of `framelift transcode` and of the original design's ladder, on `source`
/// of `size` (`W:H`) and `seconds`.
fn rate_control(c: &Contestants, name: &str, source: &Path, size: &str, seconds: f64) {
    let Contestants { framelift, seed, ffmpeg, work } = *c;
    let slug = name.split(' ').next().unwrap_or(name);
    let (theirs, ours) = (work.join(format!("{slug}-baseline")), work.join(format!("{slug}-framelift")));
    for d in [&theirs, &ours] {
        let _ = std::fs::remove_dir_all(d);
    }
    measure(Command::new("bash").arg(seed).arg(source).arg(&theirs).env("FFMPEG", ffmpeg));
    measure(Command::new(framelift).arg("transcode").arg(source).arg(&ours).args(["--max-height", "720"]));
    for (rung, t, o) in [("720p", "1280x720.m3u8", "720p/index.m3u8"), ("480p", "854x480.m3u8", "480p/index.m3u8")] {
        let (t, o) = (theirs.join(t), ours.join(o));
        // Every frame of a short clip; every 5th of a long one.
        let subsample = if seconds < 20.0 { 1 } else { 5 };
        let (vt, vo) = (vmaf(ffmpeg, &t, source, size, subsample), vmaf(ffmpeg, &o, source, size, subsample));
        let (bt, bo) = (video_kbps(ffmpeg, &t, seconds), video_kbps(ffmpeg, &o, seconds));
        println!("| {name} | {rung} | {vt:.2} | {vo:.2} | {:+.2} | {bt:.0} | {bo:.0} | {:+.1}% |", vo - vt, (bo / bt - 1.0) * 100.0);
    }
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
        TestPattern::new(1920, 1080, 30, 60.0).noise(4).rate(&["-crf", "21"]).write(&tools.ffmpeg, &source);
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
        let (vt, vo) = (vmaf(&tools.ffmpeg, &t, &source, "1920:1080", 5), vmaf(&tools.ffmpeg, &o, &source, "1920:1080", 5));
        let (bt, bo) = (video_kbps(&tools.ffmpeg, &t, 60.0), video_kbps(&tools.ffmpeg, &o, 60.0));
        println!("| {rung} | {vt:.2} | {vo:.2} | {:+.2} | {bt:.0} | {bo:.0} | {:+.1}% |", vo - vt, (bo / bt - 1.0) * 100.0);
    }
    println!();
    println!("goals: speed-up >= 3.0x (3 rungs), VMAF difference >= -0.5, bits <= +5%, peak memory < 1024 MiB");

    println!();
    println!("rate control on real footage, beside the original design's ladder:");
    let lesson = work.join("lesson-like-60s-1080p30.mp4");
    if !lesson.is_file() {
        framelift_tests::clips::lesson_like(&tools.ffmpeg, &framelift_testkit::real_clip("bikes-640x272.mp4"), &lesson);
    }
    println!();
    println!("| source | rung | baseline VMAF | framelift VMAF | difference | baseline kbit/s | framelift kbit/s | bits |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let film = framelift_testkit::real_clip("film-5.1-720p.mp4");
    let contestants = Contestants { framelift: &framelift, seed: &seed, ffmpeg: &tools.ffmpeg, work: &work };
    rate_control(&contestants, "film (5.3 s, 720p25)", &film, "1280:720", 5.312);
    rate_control(&contestants, "lesson-like (60 s, 1080p30)", &lesson, "1920:1080", 60.0);
    println!();
    println!("goals: film bits <= +0% at VMAF difference >= 0; lesson-like bits <= -50% at VMAF difference >= 0");

    println!();
    let one_pass = measure(Command::new(&framelift).arg("transcode").arg(&source).arg(out("framelift-full")));
    let (cpu, slowest, count) = chunked(&tools, &source, &work.join("chunked"));
    println!("| 60 s pattern, full ladder | CPU (s) | wall (s) | largest ffmpeg's peak memory (MiB) |");
    println!("| --- | --- | --- | --- |");
    println!("| one pass | {:.2} | {:.2} | {} |", one_pass.cpu.as_secs_f64(), one_pass.wall.as_secs_f64(), one_pass.peak_kib / 1024);
    println!(
        "| {count} chunks of 12 s, one after another, and the audio once | {:.2} ({:+.1}%) | slowest chunk {:.2} | not measured per run |",
        cpu.as_secs_f64(),
        (cpu.as_secs_f64() / one_pass.cpu.as_secs_f64() - 1.0) * 100.0,
        slowest.as_secs_f64(),
    );
    println!();
    println!("goal: chunked CPU at most 10% above one pass");
}
