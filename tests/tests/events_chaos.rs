//! S3 events as S3 and Lambda deliver them at their worst: every upload's event arrives 1 to 3 times, a fifth of the
//! deliveries out of order, four at a time, and one video in ten has its first transcode crash part way through
//! publishing (the fault-injection switch; the lease is left held, as by a dead process). After the leases lapse one
//! sweep runs, as the dev server's and Lambda's retries would. Every video must be ready exactly once, with the same
//! renditions as a clean run and nothing extra, and nothing left in processing.
//!
//! `make test` runs 30 uploads; `make soak` runs 200 (`FRAMELIFT_CHAOS_UPLOADS`).

use framelift_local::memory::{MemoryBlobs, MemoryMetadata, MemorySearch};
use framelift_shared::domain::{ListQuery, SearchText, Transition, VideoId, VideoStatus};
use framelift_shared::ports::{MetadataStore, SearchIndex};
use framelift_testkit::{test_clip, upload_event, uploading_record};
use framelift_transcode::{Faults, TranscodeState, handle, sweep};
use futures::StreamExt;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicated_reordered_and_crashing_deliveries_make_each_video_ready_once() {
    let uploads: usize = std::env::var("FRAMELIFT_CHAOS_UPLOADS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let (blobs, meta, search) = (Arc::new(MemoryBlobs::default()), Arc::new(MemoryMetadata::default()), Arc::new(MemorySearch::default()));
    let lease = Duration::from_secs(2);
    let state = TranscodeState {
        meta: meta.clone(),
        objects: blobs.clone(),
        search: search.clone(),
        tools: framelift_media::Tools::locate().unwrap(),
        work_root: framelift_media::AbsolutePath::resolve(std::env::temp_dir().join(format!("chaos-{}", VideoId::generate()))).unwrap(),
        options: framelift_media::Options::default(),
        lease,
        faults: Faults { crash_one_in: 10 },
    };
    let bytes = std::fs::read(test_clip("tiny-160x90.mp4")).unwrap();
    let mut ids = Vec::new();
    for i in 0..uploads {
        let r = uploading_record(&format!("Chaos {i}"), bytes.len() as u64);
        let id = r.id;
        meta.insert(&r).await.unwrap();
        meta.replace(&r.apply(Transition::BeginProcessing).unwrap()).await.unwrap();
        blobs.put_object(id.source_key().as_str(), bytes.clone());
        ids.push(id);
    }

    // 1 to 3 deliveries each, in upload order, then a fifth of them moved elsewhere.
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261125);
    let mut deliveries: Vec<VideoId> = ids.iter().flat_map(|id| std::iter::repeat_n(*id, rng.gen_range(1..=3))).collect();
    let moved = deliveries.len() / 5;
    for _ in 0..moved {
        let (a, b) = (rng.gen_range(0..deliveries.len()), rng.gen_range(0..deliveries.len()));
        deliveries.swap(a, b);
    }
    let started = Instant::now();
    let failures = futures::stream::iter(deliveries.iter().map(|id| handle(&state, upload_event(id))))
        .buffer_unordered(4)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;

    // The crashed attempts' leases lapse; the sweep (every minute in the dev server) takes them over.
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let swept = sweep(&state, false).await.unwrap();

    let mut crashed = 0;
    let mut renditions: Option<BTreeSet<String>> = None;
    for id in &ids {
        let r = meta.get(id).await.unwrap().unwrap();
        assert_eq!(r.status, VideoStatus::Ready, "{id}: {:?}", r.failure_reason);
        // Ready once: uploading, processing, claimed per attempt, ready; a crashed video was claimed twice.
        assert!(r.attempts == 1 || r.attempts == 2, "{id}: {} attempts", r.attempts);
        assert_eq!(r.version, 3 + u64::from(r.attempts), "{id}: written {} times", r.version);
        crashed += usize::from(r.attempts == 2);
        let prefix = id.media_prefix();
        let keys: BTreeSet<String> = blobs.keys().into_iter().filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned)).collect();
        match &renditions {
            None => renditions = Some(keys),
            Some(first) => assert_eq!(&keys, first, "{id}: the same renditions as every other video, no more"),
        }
    }
    assert_eq!(
        meta.list(&ListQuery::Status(VideoStatus::Processing), 10, None).await.unwrap().records.len(),
        0,
        "nothing stuck in processing"
    );
    let hits = search.search(&SearchText::parse("chaos").unwrap(), 100).await.unwrap();
    assert_eq!(hits.total as usize, uploads, "each ready video indexed once");
    assert_eq!(crashed, failures, "each crash was reported as a failure for Lambda to retry");
    // A crashed video is taken over by a duplicate delivery arriving after its lease lapsed, or else by the sweep.
    assert!(swept.len() <= crashed, "the sweep took over {} videos, more than the {crashed} that crashed", swept.len());
    println!(
        "events: {uploads} uploads, {} deliveries ({moved} moved out of order), {crashed} first attempts crashed part way \
         ({} taken over by the sweep); all {uploads} ready exactly once, {} files each, 0 stuck, in {:.1} s",
        deliveries.len(),
        swept.len(),
        renditions.map_or(0, |r| r.len()),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&state.work_root);
}
