//! S3 events and queued jobs as S3, Lambda and SQS deliver them at their worst. Every upload's event arrives 1 to 3
//! times, a fifth of them out of order, four at a time; then every job the planner queued is delivered 1 to 3 times,
//! shuffled, four at a time, and one chunk job in ten has its first delivery crash after storing its segments (the
//! fault-injection switch), so the queue delivers it again. Every video must be ready exactly once (one worker returns
//! `Ready`), with the same files as every other and nothing extra, indexed once, and nothing left in processing.
//!
//! `make test` runs 30 uploads; `make soak` runs 200 (`FRAMELIFT_CHAOS_UPLOADS`).

use framelift_local::memory::{MemoryBlobs, MemoryMetadata, MemoryQueue, MemorySearch};
use framelift_shared::domain::{ListQuery, SearchText, Transition, VideoId, VideoStatus};
use framelift_shared::ports::{MetadataStore, SearchIndex};
use framelift_testkit::{upload_event, uploading_record};
use framelift_tests::clips::TestPattern;
use framelift_transcode::{Budget, EncodeJob, Faults, Outcome, Part, TranscodeState, handle, worker};
use futures::StreamExt;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_reordered_and_crashing_deliveries_make_each_video_ready_once() {
    let uploads: usize = std::env::var("FRAMELIFT_CHAOS_UPLOADS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let (blobs, meta, search) = (Arc::new(MemoryBlobs::default()), Arc::new(MemoryMetadata::default()), Arc::new(MemorySearch::default()));
    let queue = Arc::new(MemoryQueue::default());
    let work_root = framelift_media::AbsolutePath::resolve(std::env::temp_dir().join(format!("chaos-{}", VideoId::generate()))).unwrap();
    let state = TranscodeState {
        meta: meta.clone(),
        objects: blobs.clone(),
        search: search.clone(),
        queue: queue.clone(),
        tools: framelift_media::Tools::locate().unwrap(),
        work_root: work_root.clone(),
        options: framelift_media::Options::default(),
        lease: Duration::from_secs(60),
        stall: Duration::from_secs(3600),
        // 15 s of 160x90 in chunks of 6 s: three chunks and the audio per video.
        segments_per_chunk: 1,
        faults: Faults { crash_one_in: 10 },
    };
    std::fs::create_dir_all(&work_root).unwrap();
    let clip = work_root.join("clip.mp4");
    TestPattern::new(160, 90, 10, 15.0).write(&state.tools.ffmpeg, &clip);
    let bytes = std::fs::read(&clip).unwrap();
    let mut ids = Vec::new();
    for i in 0..uploads {
        let r = uploading_record(&format!("Chaos {i}"), bytes.len() as u64);
        let id = r.id;
        meta.insert(&r).await.unwrap();
        meta.replace(&r.apply(Transition::BeginProcessing).unwrap()).await.unwrap();
        blobs.put_object(id.source_key().as_str(), bytes.clone());
        ids.push(id);
    }

    // 1 to 3 deliveries of each event, in upload order, then a fifth of them moved elsewhere.
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261125);
    let mut deliveries: Vec<VideoId> = ids.iter().flat_map(|id| std::iter::repeat_n(*id, rng.gen_range(1..=3))).collect();
    let moved = deliveries.len() / 5;
    for _ in 0..moved {
        let (a, b) = (rng.gen_range(0..deliveries.len()), rng.gen_range(0..deliveries.len()));
        deliveries.swap(a, b);
    }
    let started = Instant::now();
    let planner_failures = futures::stream::iter(deliveries.iter().map(|id| handle(&state, upload_event(id))))
        .buffer_unordered(4)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    assert_eq!(planner_failures, 0);

    // Every job 1 to 3 times, shuffled; a failed delivery comes back with its count raised, as SQS's would.
    let mut pending: Vec<(String, u32)> = Vec::new();
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    let (mut jobs, mut job_deliveries, mut crashes) = (0, 0, 0);
    loop {
        let sent = queue.take();
        jobs += sent.len();
        for body in sent {
            pending.extend(std::iter::repeat_n((body, 1), rng.gen_range(1..=3)));
        }
        if pending.is_empty() {
            break;
        }
        pending.shuffle(&mut rng);
        job_deliveries += pending.len();
        let round: Vec<_> = futures::stream::iter(std::mem::take(&mut pending).into_iter().map(|(body, count)| {
            let state = &state;
            async move {
                let result = worker::work(state, &body, count, Budget::NONE).await;
                (body, count, result)
            }
        }))
        .buffer_unordered(4)
        .collect()
        .await;
        for (body, count, result) in round {
            match result {
                Ok(outcome) => outcomes.push((body, outcome)),
                Err(e) => {
                    assert!(format!("{e:#}").contains("fault injection"), "only injected crashes fail: {e:#}");
                    crashes += 1;
                    pending.push((body, count + 1));
                }
            }
        }
    }

    let mut ready_by_video: BTreeMap<VideoId, usize> = BTreeMap::new();
    for (body, outcome) in &outcomes {
        if *outcome == Outcome::Ready {
            *ready_by_video.entry(EncodeJob::parse(body).unwrap().video).or_default() += 1;
        }
        assert!(!matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    }
    let mut files: Option<BTreeSet<String>> = None;
    for id in &ids {
        let r = meta.get(id).await.unwrap().unwrap();
        assert_eq!(r.status, VideoStatus::Ready, "{id}: {:?}", r.failure_reason);
        assert_eq!(ready_by_video.get(id), Some(&1), "{id}: made ready by exactly one worker");
        assert_eq!(r.attempts, 1, "{id}: planned once");
        assert!((r.media.as_ref().unwrap().duration_seconds - 15.0).abs() < 0.2, "{id}: {:?}", r.media);
        let prefix = id.media_prefix();
        let keys: BTreeSet<String> = blobs.keys().into_iter().filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned)).collect();
        match &files {
            None => files = Some(keys),
            Some(first) => assert_eq!(&keys, first, "{id}: the same files as every other video, no more"),
        }
    }
    let files = files.unwrap();
    assert!(files.contains("90p/seg_0002.ts") && files.contains("audio/index.m3u8"), "{files:?}");
    assert_eq!(
        meta.list(&ListQuery::Status(VideoStatus::Processing), 10, None).await.unwrap().records.len(),
        0,
        "nothing stuck in processing"
    );
    let hits = search.search(&SearchText::parse("chaos").unwrap(), 100).await.unwrap();
    assert_eq!(hits.total as usize, uploads, "each ready video indexed once");
    let chunk_jobs = outcomes.iter().filter(|(b, _)| matches!(EncodeJob::parse(b).unwrap().part, Part::Chunk(_))).count();
    assert!(crashes > 0 && chunk_jobs > 0, "the fault injection crashed nothing");
    println!(
        "events: {uploads} uploads, {} event deliveries ({moved} moved out of order), {jobs} jobs in {job_deliveries} deliveries, \
         {crashes} crashed after storing; all {uploads} ready exactly once, {} files each, 0 stuck, in {:.1} s",
        deliveries.len(),
        files.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work_root);
}
