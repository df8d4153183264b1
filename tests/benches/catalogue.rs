//! Catalogue latency with 10,000 videos in the local stack: list (first page of 20, posters signed), detail, search
//! (typos and prefixes, a page of 20), each beside a trivial handler on the same server (the floor), at 32 concurrent
//! clients on loopback, 20,000 requests per kind, in one run. Each route alternates with its own floor in blocks, so
//! both are measured over the same stretch of the run. Goal: search's p99 at most 15x the floor's (tantivy's own queries;
//! docs/BENCHMARKS.md).

use framelift_devserver::tantivy_search::TantivySearch;
use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::domain::{
    Author, ContentType, MediaInfo, Rendition, SearchDocument, Transition, UploadPlan, UploadState, VideoId, VideoRecord,
};
use framelift_tests::{cpu_time, rusage, temp_dir};
use futures::StreamExt;
use std::time::{Duration, Instant};

/// The dev server binary's allocator (devserver/src/main.rs), so the server measured here is the one `make dev` runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const VIDEOS: usize = 10_000;
const CLIENTS: usize = 32;
/// Requests per kind unless `FRAMELIFT_BENCH_REQUESTS` says otherwise (more, to profile one route). Enough that the
/// p99 is the 200th-worst request: with 3,200 it was the 32nd, and one scheduler hiccup moved the floor's by half.
const REQUESTS: usize = 20_000;

fn video(i: usize) -> VideoRecord {
    let id = VideoId::generate();
    let upload = UploadState {
        upload_id: "u".parse().unwrap(),
        content_type: ContentType::parse("video/mp4").unwrap(),
        plan: UploadPlan::new(50_000_000, 8 << 20).unwrap(),
    };
    let author = Author { id: format!("user-{}", i % 50).parse().unwrap(), name: format!("User {}", i % 50) };
    let created = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000) + time::Duration::seconds(i as i64);
    let r = VideoRecord::new_upload(
        id,
        format!("Video number {i}").parse().unwrap(),
        Some("A benchmark video".parse().unwrap()),
        author,
        upload,
        created,
    );
    let media = MediaInfo {
        duration_seconds: 60.0,
        width: 1920,
        height: 1080,
        renditions: vec![Rendition { width: 1280, height: 720, bandwidth: 2_700_000 }],
        poster_key: Some(format!("{}poster.jpg", id.media_prefix())),
        storyboard: false,
    };
    let mut ready = r.apply(Transition::BeginProcessing).unwrap().apply(Transition::Ready(media)).unwrap();
    ready.version = 1;
    ready
}

/// What people type: a title with a typo, an author half typed, a number.
fn search_text(i: usize) -> String {
    match i % 4 {
        0 => format!("vidoe%20numbr%20{}", (i * 7919) % VIDEOS),
        1 => format!("usr%20{}", i % 50),
        2 => format!("{}", (i * 31) % VIDEOS),
        _ => "benchmrk%20vid".to_owned(),
    }
}

/// CPU time this process (server and clients) has used so far.
fn cpu_so_far() -> Duration {
    cpu_time(&rusage(libc::RUSAGE_SELF))
}

/// The latencies of `urls`, and the CPU time (server and clients) they took.
async fn load(http: &reqwest::Client, urls: &[String]) -> (Vec<Duration>, Duration) {
    let cpu = cpu_so_far();
    let latencies: Vec<Duration> = futures::stream::iter(urls)
        .map(|url| async move {
            let started = Instant::now();
            let res = http.get(url).send().await.expect("the server answers");
            assert!(res.status().is_success(), "{url}: {}", res.status());
            res.bytes().await.unwrap();
            started.elapsed()
        })
        .buffer_unordered(CLIENTS)
        .collect()
        .await;
    (latencies, cpu_so_far() - cpu)
}

/// What one kind of request measured: every latency and the CPU time they took.
#[derive(Default)]
struct Measured {
    latencies: Vec<Duration>,
    cpu: Duration,
}

impl Measured {
    fn add(&mut self, (latencies, cpu): (Vec<Duration>, Duration)) {
        self.latencies.extend(latencies);
        self.cpu += cpu;
    }

    /// p50, p99 and the CPU time per request.
    fn summary(mut self) -> (Duration, Duration, Duration) {
        self.latencies.sort();
        let n = self.latencies.len();
        (self.latencies[n / 2], self.latencies[(n * 99).div_ceil(100) - 1], self.cpu / n as u32)
    }
}

/// A route's requests in `ROUNDS` blocks, each right after a block of as many floor requests, so that the route and
/// its floor are measured over the same stretch of the run: a drift of the machine's speed moves both.
const ROUNDS: usize = 10;

async fn beside_the_floor(http: &reqwest::Client, floor_url: &str, urls: &[String]) -> (Measured, Measured) {
    let (mut floor, mut route) = (Measured::default(), Measured::default());
    for block in urls.chunks(urls.len().div_ceil(ROUNDS)) {
        floor.add(load(http, &vec![floor_url.to_owned(); block.len()]).await);
        route.add(load(http, block).await);
    }
    (floor, route)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    // As the dev server's main does.
    framelift_devserver::process::no_transparent_huge_pages();
    let requests: usize = std::env::var("FRAMELIFT_BENCH_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(REQUESTS);
    let dir = temp_dir("bench-catalogue");
    let seeding = Instant::now();
    let videos: Vec<VideoRecord> = (0..VIDEOS).map(video).collect();
    {
        // The search index is seeded in one commit before the server opens it.
        let index = TantivySearch::open(&dir.join("search")).unwrap();
        index.put_all(&videos.iter().map(SearchDocument::of).collect::<Vec<_>>()).await.unwrap();
    }
    let server = RunningServer::start(DevConfig { transcode_concurrency: 0, ..DevConfig::for_tests(&dir) }).await.unwrap();
    let meta = server.stack.state().meta.clone();
    let mut ids = Vec::with_capacity(VIDEOS);
    for v in &videos {
        ids.push(v.id);
        meta.insert(v).await.unwrap();
    }
    println!(
        "catalogue benchmark: {VIDEOS} ready videos (seeded in {:.1} s), {CLIENTS} clients, {requests} requests per kind",
        seeding.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().unwrap();
    let base = server.url.clone();
    // Warm up the connections and the caches.
    load(&http, &vec![format!("{base}/dev/health"); CLIENTS * 4]).await;
    let floor_url = format!("{base}/dev/health");
    let kinds: Vec<(&str, Vec<String>)> = vec![
        ("list (first page of 20)", vec![format!("{base}/api/videos?limit=20"); requests]),
        ("detail", (0..requests).map(|i| format!("{base}/api/videos/{}", ids[(i * 7919) % VIDEOS])).collect()),
        ("search (typos, prefixes; page of 20)", (0..requests).map(|i| format!("{base}/api/search?q={}", search_text(i))).collect()),
    ];
    // `FRAMELIFT_BENCH_ROUTES=search` (a comma-separated list) measures only those routes, to profile one.
    let only = std::env::var("FRAMELIFT_BENCH_ROUTES").ok();
    let kinds =
        kinds.into_iter().filter(|(name, _)| only.as_deref().is_none_or(|only| only.split(',').any(|o| name.starts_with(o.trim()))));
    println!();
    println!("Each route beside its floor (a trivial handler), in {ROUNDS} alternating blocks. CPU: server and clients.");
    println!();
    println!("| route | p50 (ms) | p99 (ms) | floor p50 (ms) | floor p99 (ms) | p99 / floor p99 | CPU per request (µs) | floor CPU (µs) |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, urls) in kinds {
        let (floor, route) = beside_the_floor(&http, &floor_url, &urls).await;
        let ((p50, p99, cpu), (f50, f99, fcpu)) = (route.summary(), floor.summary());
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}x | {:.0} | {:.0} |",
            ms(p50),
            ms(p99),
            ms(f50),
            ms(f99),
            p99.as_secs_f64() / f99.as_secs_f64(),
            cpu.as_secs_f64() * 1e6,
            fcpu.as_secs_f64() * 1e6
        );
    }
    println!();
    println!("goal: search's p99 at most 15x the floor's");
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
