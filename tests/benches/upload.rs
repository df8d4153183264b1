//! Upload throughput through the whole local flow, beside its floor, in one run on one machine.
//!
//! Flow: initialize, sign part URLs, PUT every part with 4 in flight, complete (which assembles the object).
//! Floor: one presigned PutObject of the same bytes to the same in-process S3 with the same HTTP client.
//! The two alternate, 5 runs each; the medians and their ratio are printed. Goal: flow at least half the floor.
//! `FRAMELIFT_BENCH_MIB` overrides the size (default 1024).

use bytes::Bytes;
use framelift_devserver::{BUCKET, DevConfig, RunningServer};
use framelift_shared::domain::VideoId;
use framelift_tests::api::{Api, test_bytes};
use framelift_tests::temp_dir;
use futures::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};

const IN_FLIGHT: usize = 4;
const RUNS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mib: usize = std::env::var("FRAMELIFT_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let size = mib * 1024 * 1024;
    let dir = temp_dir("bench-upload");
    // Transcoding off: this measures the upload path alone (the transcoder would otherwise probe each gigabyte).
    let server = RunningServer::start(DevConfig { transcode_concurrency: 0, ..DevConfig::for_tests(&dir) }).await?;
    let api = Api::new(&server.url);
    let token = api.token("Bench").await;
    let file = Bytes::from(test_bytes(size, 42));
    println!("upload benchmark: {mib} MiB, {IN_FLIGHT} parts in flight, {RUNS} alternating runs each");

    let (mut flow, mut floor) = (Vec::new(), Vec::new());
    for run in 1..=RUNS {
        let t = put_object_floor(&server, &api, &file).await?;
        println!("  run {run}: floor (one PutObject)      {:>8.1} MiB/s  ({:.2} s)", mib as f64 / t.as_secs_f64(), t.as_secs_f64());
        floor.push(t);
        let t = multipart_flow(&server, &api, &token, &file).await?;
        println!("  run {run}: flow (multipart, complete) {:>8.1} MiB/s  ({:.2} s)", mib as f64 / t.as_secs_f64(), t.as_secs_f64());
        flow.push(t);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (flow_t, floor_t) = (median(&mut flow), median(&mut floor));
    let (flow_rate, floor_rate) = (mib as f64 / flow_t.as_secs_f64(), mib as f64 / floor_t.as_secs_f64());
    println!("median: flow {flow_rate:.1} MiB/s, floor {floor_rate:.1} MiB/s, ratio {:.2} (goal >= 0.50)", flow_rate / floor_rate);
    server.stop().await?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

async fn put_object_floor(server: &RunningServer, api: &Api, file: &Bytes) -> anyhow::Result<Duration> {
    let key = format!("bench/{}", VideoId::generate());
    let presigned = server
        .stack
        .s3_client()
        .put_object()
        .bucket(BUCKET)
        .key(&key)
        .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(600))?)
        .await?;
    let started = Instant::now();
    let res = api.http.put(presigned.uri()).body(file.clone()).send().await?;
    anyhow::ensure!(res.status().is_success(), "PutObject: {}", res.status());
    let elapsed = started.elapsed();
    server.stack.s3_client().delete_object().bucket(BUCKET).key(&key).send().await?;
    Ok(elapsed)
}

async fn multipart_flow(server: &RunningServer, api: &Api, token: &str, file: &Bytes) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let init_body = json!({"filename": "bench.mp4", "contentType": "video/mp4", "size": file.len(), "title": "Bench"});
    let (status, init) = api.call("POST", "/api/uploads", Some(init_body), Some(token)).await;
    anyhow::ensure!(status == 201, "initialize: {init}");
    let id = init["video"]["id"].as_str().unwrap().to_owned();
    let part_size = init["partSize"].as_u64().unwrap() as usize;
    let count = init["partCount"].as_u64().unwrap() as u32;
    let numbers: Vec<u32> = (1..=count).collect();
    let mut urls = Vec::new();
    for batch in numbers.chunks(100) {
        urls.extend(api.part_urls(&id, batch, token).await);
    }
    let puts = urls.into_iter().enumerate().map(|(i, url)| {
        let chunk = file.slice(i * part_size..((i + 1) * part_size).min(file.len()));
        async move { api.http.put(url).body(chunk).send().await.map(|r| r.status()) }
    });
    let statuses: Vec<_> = futures::stream::iter(puts).buffer_unordered(IN_FLIGHT).collect().await;
    for s in statuses {
        anyhow::ensure!(s?.is_success(), "a part PUT failed");
    }
    let (status, done) = api.call("POST", &format!("/api/uploads/{id}/complete"), Some(json!({})), Some(token)).await;
    anyhow::ensure!(status == 200, "complete: {done}");
    let elapsed = started.elapsed();
    let video: VideoId = id.parse()?;
    server.stack.s3_client().delete_object().bucket(BUCKET).key(video.source_key().as_str()).send().await?;
    Ok(elapsed)
}
