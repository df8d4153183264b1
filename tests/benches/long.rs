//! Long videos (issue 27): sources of 1, 10, 60 and 120 minutes of 1080p30, each the lesson-like minute of the
//! transcode benchmark (still slides, a camera inset of real footage, a tone) repeated by stream copy.
//!
//! For each source, in one run on this machine:
//!
//! - **The local stack's wall time.** A dev server with its default settings (two workers) takes the upload; from the
//!   moment `complete` answers, the API is read every 100 ms: time to playable (the first `playableSeconds`) and, for
//!   the 1- and 10-minute sources, time to ready, with the CPU time of every ffmpeg it ran, the largest one's peak
//!   memory and the work folder's peak size. (Longer sources take most of an hour or more to encode on two cores: by
//!   default their encodes are stopped once playable; `FRAMELIFT_BENCH_READY_UP_TO=120` waits for them too.)
//! - **The critical path, step by step**, on a second dev server over the same storage with transcoding off, so
//!   nothing else runs: the plan (probing the source by its presigned address), the first chunk, a middle chunk and the
//!   last (wall and CPU time), the sound's first minute and all of it, and the assembly (the playlists of every segment,
//!   stored). Time to playable is plan + the first chunk, the sound running beside it; time to ready with a worker for
//!   every part is plan + the slowest part + assembly.
//!
//! Beside it, one pass of the same ladder on the 60 s source: chunked CPU per minute of video against it (goal: at most
//! 10% more). Goal: time to playable flat in length (the 2-hour source within 1.3x of the 1-minute one). `make bench`
//! runs it; `FRAMELIFT_BENCH_MINUTES=1,10` runs fewer lengths.
//!
//! Last, a projection for Lambda from these CPU-seconds: a worker has six vCPUs (10,240 MB), and is taken to use them
//! as well as a chunk here used this machine's two (its CPU-seconds over wall-seconds times two), at this machine's
//! speed per core; the queue starts at most 20 workers at once (the template's `EncodeConcurrency`); cost at Lambda's
//! arm64 price, $0.0000133334 per GB-second (us-east-1), beside MediaConvert's on-demand Basic tier list price for the
//! same four renditions: two SD outputs at $0.0075 and two HD at $0.015 per output minute (AVC, at most 30 fps).

use framelift_devserver::{DevConfig, RunningServer};
use framelift_media::chunks;
use framelift_media::{AbsolutePath, Input, SourceUrl, Tools};
use framelift_shared::ports::{BlobStore, ObjectStore};
use framelift_tests::api::Api;
use framelift_tests::children;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `copies` of `one` joined by stream copy into `out`.
fn repeat(ffmpeg: &Path, one: &Path, copies: u32, out: &Path) {
    let list = out.with_extension("txt");
    let line = format!("file '{}'\n", one.display());
    std::fs::write(&list, line.repeat(copies as usize)).unwrap();
    let status = std::process::Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .args(["-c", "copy"])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "joining {copies} copies failed");
}

/// Bytes under `dir`, every file.
fn size_of(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// What the local stack did with one source.
struct LocalRun {
    playable: Duration,
    playable_seconds: f64,
    ready: Option<Duration>,
    cpu: Option<Duration>,
    peak_rss_mib: u64,
    peak_work_mib: u64,
}

/// Uploads `source` to a dev server with default settings in `data` and times it.
fn local_run(source: &Path, data: &Path, wait_ready: bool) -> LocalRun {
    // A runtime of its own: dropping it stops every worker (and kills their ffmpeg) of a run stopped at playable.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let work = data.join("work");
    let watching = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (watching, peak, work) = (watching.clone(), peak.clone(), work.clone());
        std::thread::spawn(move || {
            while watching.load(Ordering::Relaxed) {
                peak.fetch_max(size_of(&work), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let bytes = std::fs::read(source).unwrap();
    let run = runtime.block_on(async {
        let server = RunningServer::start(DevConfig::for_tests(data)).await.unwrap();
        let api = Api::new(&server.url);
        let token = api.token("Bench").await;
        let id = api.upload(&bytes, "A long lesson", &token).await;
        let (cpu_before, _) = children();
        let started = Instant::now();
        let mut playable = None;
        let video = loop {
            let (_, detail) = api.call("GET", &format!("/api/videos/{id}"), None, Some(&token)).await;
            let v = detail["video"].clone();
            if playable.is_none()
                && let Some(s) = v["playableSeconds"].as_f64()
            {
                playable = Some((started.elapsed(), s));
                if !wait_ready {
                    break v;
                }
            }
            if v["status"] == "ready" || v["status"] == "failed" {
                break v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_ne!(video["status"], "failed", "{video}");
        let ready = (video["status"] == "ready").then(|| started.elapsed());
        let cpu = ready.map(|_| children().0 - cpu_before);
        let (playable, playable_seconds) = playable.expect("playable before ready");
        server.stop().await.unwrap();
        (playable, playable_seconds, ready, cpu)
    });
    drop(runtime);
    watching.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let (playable, playable_seconds, ready, cpu) = run;
    LocalRun {
        playable,
        playable_seconds,
        ready,
        cpu,
        peak_rss_mib: children().1 / 1024,
        peak_work_mib: peak.load(Ordering::Relaxed) >> 20,
    }
}

/// Wall and CPU time of one step.
#[derive(Clone, Copy, Default)]
struct Step {
    wall: Duration,
    cpu: Duration,
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Step) {
    let (cpu, _) = children();
    let started = Instant::now();
    let out = f.await;
    (out, Step { wall: started.elapsed(), cpu: children().0 - cpu })
}

/// The critical path's steps, each alone.
struct Steps {
    chunks: usize,
    plan: Step,
    first_chunk: Step,
    sampled: Vec<(u32, Step)>,
    sound_first_minute: Duration,
    sound: Step,
    assembly: Duration,
}

/// Times each step of the critical path on the source the local run stored, with transcoding off.
fn steps(tools: &Tools, data: &Path) -> Steps {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let server = RunningServer::start(DevConfig { transcode_concurrency: 0, ..DevConfig::for_tests(data) }).await.unwrap();
        let blobs = server.stack.s3_blobs();
        let key = {
            let s3 = server.stack.s3_client();
            let listed = s3.list_objects_v2().bucket(framelift_devserver::BUCKET).prefix("uploads/").send().await.unwrap();
            listed.contents()[0].key().unwrap().to_owned()
        };
        let url = blobs.presign_get(&key, Duration::from_secs(6 * 3600)).await.unwrap().url;
        let input = Input::Url(SourceUrl::parse(&url).unwrap());
        let work = AbsolutePath::resolve(data.join("bench-steps")).unwrap();
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let limits = framelift_media::sandbox::Limits { wall: Duration::from_secs(6 * 3600), memory_bytes: 3 << 30 };

        let ((info, plan), plan_step) = timed(async {
            let info = framelift_media::probe::probe(tools, &input, &work).await.unwrap();
            let plan = chunks::plan(info.duration, framelift_transcode::SEGMENTS_PER_CHUNK);
            (info, plan)
        })
        .await;
        let rungs = framelift_media::ladder::ladder(&info, None);
        let encode = async |index: usize| {
            let out = work.join(format!("chunk-{index}"));
            let (made, step) = timed(chunks::encode_chunk(&tools.ffmpeg, &input, &info, &rungs, &plan[index], &out, limits)).await;
            made.unwrap();
            let _ = std::fs::remove_dir_all(&out);
            step
        };
        let first_chunk = encode(0).await;
        let mut sampled = vec![(0, first_chunk)];
        for index in [plan.len() / 2, plan.len() - 1] {
            if sampled.iter().all(|(i, _)| *i as usize != index) {
                sampled.push((index as u32, encode(index).await));
            }
        }

        // The sound, watched as the worker's publisher watches it: when its playlist first lists a minute.
        let audio_dir = work.join(chunks::AUDIO);
        let started = Instant::now();
        let (cpu_before, _) = children();
        let sound = chunks::encode_audio(&tools.ffmpeg, &input, &info, &work, limits);
        tokio::pin!(sound);
        let mut first_minute = None;
        let segments = loop {
            tokio::select! {
                done = &mut sound => break done.unwrap(),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if first_minute.is_none() {
                        let listed = std::fs::read(audio_dir.join(framelift_media::hls::VARIANT)).ok()
                            .and_then(|t| m3u8_rs::parse_media_playlist_res(&t).ok())
                            .map_or(0.0, |p| p.segments.iter().map(|s| f64::from(s.duration)).sum::<f64>());
                        if listed >= 60.0 {
                            first_minute = Some(started.elapsed());
                        }
                    }
                }
            }
        };
        let sound_step = Step { wall: started.elapsed(), cpu: children().0 - cpu_before };
        let sound_first_minute = first_minute.unwrap_or(sound_step.wall);

        // Assembly: every rendition's VOD playlist, the sound's and the master, stored.
        let started = Instant::now();
        let video: Vec<f64> = (0..plan.len() * framelift_transcode::SEGMENTS_PER_CHUNK as usize).map(|_| 6.0).collect();
        let file = work.join("playlist.m3u8");
        for r in &rungs {
            std::fs::write(&file, chunks::media_playlist(&chunks::numbered(&video), true)).unwrap();
            blobs.upload(&format!("media/bench/{}/index.m3u8", r.name), &file, "application/vnd.apple.mpegurl", "no-cache").await.unwrap();
        }
        let sound: Vec<f64> = segments.iter().map(|s| s.duration).collect();
        std::fs::write(&file, chunks::media_playlist(&chunks::numbered(&sound), true)).unwrap();
        blobs.upload("media/bench/audio/index.m3u8", &file, "application/vnd.apple.mpegurl", "no-cache").await.unwrap();
        let master = chunks::master_playlist(&rungs.iter().map(|r| (r.clone(), None)).collect::<Vec<_>>(), None);
        std::fs::write(&file, master).unwrap();
        blobs.upload("media/bench/master.m3u8", &file, "application/vnd.apple.mpegurl", "no-cache").await.unwrap();
        let assembly = started.elapsed();

        let _ = std::fs::remove_dir_all(&work);
        server.stop().await.unwrap();
        Steps { chunks: plan.len(), plan: plan_step, first_chunk, sampled, sound_first_minute, sound: sound_step, assembly }
    })
}

fn s(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let tools = Tools::locate().expect("the bundled ffmpeg (scripts/fetch-ffmpeg.sh)");
    let minutes: Vec<u32> = std::env::var("FRAMELIFT_BENCH_MINUTES")
        .ok()
        .map(|v| v.split(',').filter_map(|m| m.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 60, 120]);
    let ready_up_to: u32 = std::env::var("FRAMELIFT_BENCH_READY_UP_TO").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let work = repo.join("target/bench-long");
    std::fs::create_dir_all(&work).unwrap();
    let minute = work.join("lesson-like-60s-1080p30.mp4");
    if !minute.is_file() {
        println!("generating the lesson-like minute...");
        framelift_tests::clips::lesson_like(&tools.ffmpeg, &framelift_testkit::real_clip("bikes-640x272.mp4"), &minute);
    }

    // One pass of the full ladder on the minute, for CPU per minute of video.
    let one_pass = {
        let out = work.join("one-pass");
        let _ = std::fs::remove_dir_all(&out);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (cpu, _) = children();
        let input = AbsolutePath::resolve(&minute).unwrap();
        let out = AbsolutePath::resolve(&out).unwrap();
        runtime.block_on(framelift_media::transcode(&tools, &input, &out, &framelift_media::Options::default())).unwrap();
        children().0 - cpu
    };
    println!("one pass of the full ladder on the lesson-like minute: {} CPU-s", s(one_pass));

    let mut rows = Vec::new();
    for m in minutes {
        let source: PathBuf = work.join(format!("lesson-like-{m}min.mp4"));
        if !source.is_file() {
            repeat(&tools.ffmpeg, &minute, m, &source);
        }
        let data = work.join(format!("data-{m}min"));
        let _ = std::fs::remove_dir_all(&data);
        println!("{m} min ({} MiB): the local stack...", std::fs::metadata(&source).unwrap().len() >> 20);
        let local = local_run(&source, &data, m <= ready_up_to);
        println!("{m} min: each step alone...");
        let steps = steps(&tools, &data);
        let _ = std::fs::remove_dir_all(&data);
        rows.push((m, local, steps));
    }

    println!();
    println!(
        "| source | chunks | plan (s) | first chunk wall / CPU (s) | slowest sampled chunk (s) | sound: first minute / all (s) | assembly (s) | critical path to playable / ready (s) | local stack: playable / ready (s) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (m, local, st) in &rows {
        let slowest = st.sampled.iter().map(|(_, x)| x.wall).max().unwrap();
        let to_playable = st.plan.wall + st.first_chunk.wall.max(st.sound_first_minute);
        let to_ready = st.plan.wall + slowest.max(st.sound.wall) + st.assembly;
        println!(
            "| {m} min | {} | {} | {} / {} | {} | {} / {} | {:.2} | {} / {} | {} ({:.0} s playable) / {} |",
            st.chunks,
            s(st.plan.wall),
            s(st.first_chunk.wall),
            s(st.first_chunk.cpu),
            s(slowest),
            s(st.sound_first_minute),
            s(st.sound.wall),
            st.assembly.as_secs_f64(),
            s(to_playable),
            s(to_ready),
            s(local.playable),
            local.playable_seconds,
            local.ready.map_or("stopped once playable".to_owned(), s),
        );
    }
    println!();
    println!(
        "| source | chunked CPU per minute of video (s) | one pass per minute (s) | overhead | sound CPU (s) | largest ffmpeg's peak memory (MiB) | work folder's peak, two workers (MiB) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (m, local, st) in &rows {
        let sampled_cpu = st.sampled.iter().map(|(_, x)| x.cpu.as_secs_f64()).sum::<f64>() / st.sampled.len() as f64;
        let (per_minute, how) = match local.cpu {
            Some(cpu) => (cpu.as_secs_f64() / f64::from(*m), "the whole encode"),
            None => (sampled_cpu + st.sound.cpu.as_secs_f64() / f64::from(*m), "sampled chunks and the sound"),
        };
        println!(
            "| {m} min ({how}) | {per_minute:.1} | {:.1} | {:+.1}% | {} | {} | {} |",
            one_pass.as_secs_f64(),
            (per_minute / one_pass.as_secs_f64() - 1.0) * 100.0,
            s(st.sound.cpu),
            local.peak_rss_mib,
            local.peak_work_mib,
        );
    }
    // Lambda, projected from the CPU-seconds measured above.
    const VCPUS: f64 = 6.0;
    const WORKERS: f64 = 20.0;
    const GB: f64 = 10.0;
    const PRICE_GB_S: f64 = 0.000_013_333_4;
    const MEDIACONVERT_PER_MINUTE: f64 = 2.0 * 0.0075 + 2.0 * 0.015;
    println!();
    println!(
        "| source | Lambda: time to playable (s) | time to ready (s) | worker-seconds | cost per minute of video | MediaConvert per minute |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (m, _, st) in &rows {
        let efficiency = (st.first_chunk.cpu.as_secs_f64() / (st.first_chunk.wall.as_secs_f64() * 2.0)).min(1.0);
        let chunk_cpu = st.sampled.iter().map(|(_, x)| x.cpu.as_secs_f64()).fold(0.0, f64::max);
        let on_lambda = |cpu: f64| cpu / (VCPUS * efficiency);
        let first = on_lambda(st.first_chunk.cpu.as_secs_f64());
        let slowest = on_lambda(chunk_cpu);
        // The sound is one job: AAC is one thread, so it takes its wall time here.
        let sound = st.sound.wall.as_secs_f64();
        let waves = (st.chunks as f64 / WORKERS).ceil();
        let playable = st.plan.wall.as_secs_f64() + first.max(st.sound_first_minute.as_secs_f64());
        let ready = st.plan.wall.as_secs_f64() + (waves * slowest).max(sound) + st.assembly.as_secs_f64();
        let mean_cpu = st.sampled.iter().map(|(_, x)| x.cpu.as_secs_f64()).sum::<f64>() / st.sampled.len() as f64;
        let worker_seconds = on_lambda(mean_cpu) * st.chunks as f64 + sound;
        let per_minute = worker_seconds * GB * PRICE_GB_S / f64::from(*m);
        println!("| {m} min | {playable:.1} | {ready:.1} | {worker_seconds:.0} | ${per_minute:.4} | ${MEDIACONVERT_PER_MINUTE:.4} |");
    }
    if let (Some((_, first, _)), Some((_, last, _))) = (rows.first(), rows.last()) {
        println!();
        println!(
            "time to playable on the local stack: {} s for the shortest source, {} s for the longest ({:.2}x; goal at most 1.3x)",
            s(first.playable),
            s(last.playable),
            last.playable.as_secs_f64() / first.playable.as_secs_f64()
        );
    }
}
