//! The handler on in-memory stores with the real ffmpeg on real clips: once-only work under duplicate and
//! out-of-order events, reasons for bad files, retries for our own faults.

use super::*;
use framelift_local::memory::{MemoryBlobs, MemoryMetadata, MemorySearch};
use framelift_shared::domain::{SearchHits, SearchText};
use framelift_testkit::{test_clip, upload_event, uploading_record};

struct Fixture {
    state: TranscodeState,
    blobs: Arc<MemoryBlobs>,
    meta: Arc<MemoryMetadata>,
    search: Arc<MemorySearch>,
}

fn fixture() -> Fixture {
    let blobs = Arc::new(MemoryBlobs::default());
    let meta = Arc::new(MemoryMetadata::default());
    let search = Arc::new(MemorySearch::default());
    let work_root = AbsolutePath::resolve(std::env::temp_dir().join(format!("transcode-test-{}", VideoId::generate()))).unwrap();
    let state = TranscodeState {
        meta: meta.clone(),
        objects: blobs.clone(),
        search: search.clone(),
        tools: Tools::locate().expect("the bundled ffmpeg: run scripts/fetch-ffmpeg.sh"),
        work_root,
        options: Options::default(),
        lease: Duration::from_secs(900),
        faults: Faults::NONE,
    };
    Fixture { state, blobs, meta, search }
}

/// A video whose upload completed with the bytes of `clip`.
async fn uploaded(f: &Fixture, clip: &str) -> VideoId {
    let bytes = std::fs::read(test_clip(clip)).unwrap();
    let record = uploading_record(&format!("Clip {clip}"), bytes.len() as u64);
    let id = record.id;
    f.meta.insert(&record).await.unwrap();
    f.meta.replace(&record.apply(Transition::BeginProcessing).unwrap()).await.unwrap();
    f.blobs.put_object(id.source_key().as_str(), bytes);
    id
}

#[tokio::test]
async fn an_upload_becomes_ready_with_its_ladder_published() {
    let f = fixture();
    let id = uploaded(&f, "one-second.mp4").await;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, VideoStatus::Ready, "{:?}", r.failure_reason);
    let media = r.media.unwrap();
    assert_eq!((media.width, media.height), (1280, 720));
    assert!((media.duration_seconds - 1.0).abs() < 0.1, "{}", media.duration_seconds);
    assert_eq!(media.renditions.iter().map(|r| r.height).collect::<Vec<_>>(), [180, 480, 720]);
    assert!(media.renditions.iter().all(|r| r.bandwidth > 0));
    let prefix = id.media_prefix();
    assert_eq!(media.poster_key.as_deref(), Some(format!("{prefix}poster.jpg").as_str()));
    let keys = f.blobs.keys();
    assert!(keys.contains(&format!("{prefix}master.m3u8")));
    assert!(keys.contains(&format!("{prefix}720p/index.m3u8")));
    assert!(keys.iter().filter(|k| k.starts_with(&prefix)).all(|k| !k.starts_with("uploads/")), "outputs stay out of the trigger prefix");
    assert_eq!(f.blobs.content_type(&format!("{prefix}720p/seg_0000.ts")).as_deref(), Some("video/mp2t"));
    assert_eq!(f.blobs.content_type(&format!("{prefix}master.m3u8")).as_deref(), Some("application/vnd.apple.mpegurl"));
    assert!(!f.state.work_root.join(format!("framelift-{id}")).exists(), "the work folder is cleaned up");
    assert_eq!(found(&f, "one second").await.ids, [id], "the ready video is searchable");
}

async fn found(f: &Fixture, q: &str) -> SearchHits {
    f.search.search(&SearchText::parse(q).unwrap(), 10).await.unwrap()
}

#[tokio::test]
async fn the_same_event_three_times_and_out_of_order_does_the_work_once() {
    let f = fixture();
    let id = uploaded(&f, "one-second.mp4").await;
    let other = uploaded(&f, "tiny-160x90.mp4").await;
    // Concurrent duplicates: one claims, the others find it claimed.
    let (a, b, c) = tokio::join!(process(&f.state, id), process(&f.state, id), process(&f.state, id));
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Ready).count(), 1, "{outcomes:?}");
    let version = f.meta.get(&id).await.unwrap().unwrap().version;
    // Late and replayed events, in any order, change nothing.
    handle(&f.state, upload_event(&other)).await.unwrap();
    handle(&f.state, upload_event(&id)).await.unwrap();
    handle(&f.state, upload_event(&other)).await.unwrap();
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.version, r.attempts), (VideoStatus::Ready, version, 1));
    assert_eq!(f.meta.get(&other).await.unwrap().unwrap().status, VideoStatus::Ready);
}

#[tokio::test]
async fn a_bad_file_fails_with_its_reason_and_is_not_retried() {
    let f = fixture();
    let id = uploaded(&f, "not-a-video.mp4").await;
    handle(&f.state, upload_event(&id)).await.expect("a bad file is not our fault: no retry");
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!(r.status, VideoStatus::Failed);
    assert_eq!(r.failure_reason.as_deref(), Some("not a video file: its contents are not a video format we can read"));
    assert!(f.blobs.keys().iter().all(|k| !k.starts_with("media/")));
    assert_eq!(found(&f, "clip").await.total, 0, "a failed video is not searchable");
}

#[tokio::test]
async fn an_event_before_complete_is_recorded_still_transcodes() {
    let f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    // Put the record back to uploading, as if complete's write had not landed yet.
    let r = f.meta.get(&id).await.unwrap().unwrap();
    f.meta.delete(&id, r.version).await.unwrap();
    let mut early = r.clone();
    early.status = VideoStatus::Uploading;
    early.version = 1;
    f.meta.insert(&early).await.unwrap();
    assert_eq!(process(&f.state, id).await.unwrap(), Outcome::Ready);
}

#[tokio::test]
async fn a_missing_record_or_source_is_handled() {
    let f = fixture();
    let ghost = VideoId::generate();
    assert!(matches!(process(&f.state, ghost).await.unwrap(), Outcome::Skipped(_)), "an aborted upload's late event");
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    f.blobs.put_object(id.source_key().as_str(), Vec::new());
    assert!(matches!(process(&f.state, id).await.unwrap(), Outcome::Failed(_)));
}

/// An object store that is down.
struct Down;

#[async_trait::async_trait]
impl ObjectStore for Down {
    async fn download(&self, _: &str, _: &std::path::Path) -> Result<u64, StoreError> {
        Err(StoreError::unavailable(std::io::Error::other("connection refused")))
    }
    async fn upload(&self, _: &str, _: &std::path::Path, _: &str, _: &str) -> Result<(), StoreError> {
        Err(StoreError::unavailable(std::io::Error::other("connection refused")))
    }
    async fn read(&self, _: &str) -> Result<Vec<u8>, StoreError> {
        Err(StoreError::unavailable(std::io::Error::other("connection refused")))
    }
    async fn delete_prefix(&self, _: &str) -> Result<usize, StoreError> {
        Err(StoreError::unavailable(std::io::Error::other("connection refused")))
    }
}

#[tokio::test]
async fn our_own_faults_ask_for_a_retry_and_release_the_video() {
    let mut f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    let working = f.state.objects.clone();
    f.state.objects = Arc::new(Down);
    assert!(handle(&f.state, upload_event(&id)).await.is_err(), "storage down: Lambda must retry");
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.lease_until), (VideoStatus::Processing, None), "released for the retry");
    f.state.objects = working;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (VideoStatus::Ready, 2));
}

#[tokio::test]
async fn repeated_crashes_end_in_failed_not_a_loop() {
    let f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    let r = f.meta.get(&id).await.unwrap().unwrap();
    // Three attempts that died holding a lease, each lapsed.
    let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let mut crashed = r.clone();
    crashed.attempts = MAX_ATTEMPTS;
    crashed.lease_until = Some(past);
    crashed.version += 1;
    f.meta.replace(&crashed).await.unwrap();
    let swept = sweep(&f.state, false).await.unwrap();
    assert_eq!(swept, [(id, Outcome::Failed(gave_up()))]);
    assert_eq!(f.meta.get(&id).await.unwrap().unwrap().status, VideoStatus::Failed);
}

/// A search index that is down.
struct SearchDown;

#[async_trait::async_trait]
impl SearchIndex for SearchDown {
    async fn put(&self, _: &SearchDocument) -> Result<(), StoreError> {
        Err(StoreError::unavailable(std::io::Error::other("connection refused")))
    }
    async fn remove(&self, _: &VideoId) -> Result<(), StoreError> {
        Err(StoreError::unavailable(std::io::Error::other("connection refused")))
    }
    async fn search(&self, _: &SearchText, _: usize) -> Result<SearchHits, StoreError> {
        Err(StoreError::unavailable(std::io::Error::other("connection refused")))
    }
}

#[tokio::test]
async fn an_index_that_is_down_holds_the_video_back_until_a_retry_makes_it_ready_and_findable() {
    let mut f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    let working = f.state.search.clone();
    f.state.search = Arc::new(SearchDown);
    assert!(handle(&f.state, upload_event(&id)).await.is_err(), "index down: Lambda must retry");
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.lease_until), (VideoStatus::Processing, None), "not ready while not findable; released for the retry");
    f.state.search = working;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (VideoStatus::Ready, 2));
    assert_eq!(found(&f, "tiny").await.ids, [id], "ready and findable together");
}

#[tokio::test]
async fn an_ffmpeg_that_cannot_run_is_retried_and_never_blamed_on_the_file() {
    let mut f = fixture();
    let id = uploaded(&f, "one-second.mp4").await;
    let working = f.state.tools.clone();
    f.state.tools = Tools::in_dir(std::path::Path::new("/nonexistent-ffmpeg-folder")).unwrap();
    assert!(handle(&f.state, upload_event(&id)).await.is_err(), "a missing tool: Lambda must retry");
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.lease_until, r.failure_reason), (VideoStatus::Processing, None, None), "released, not failed");
    f.state.tools = working;
    handle(&f.state, upload_event(&id)).await.unwrap();
    assert_eq!(f.meta.get(&id).await.unwrap().unwrap().status, VideoStatus::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_encoders_progress_is_written_while_it_runs_and_the_final_write_still_lands() {
    let f = Arc::new(fixture());
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    let running = {
        let f = f.clone();
        tokio::spawn(async move { process(&f.state, id).await })
    };
    let mut seen = Vec::new();
    while !running.is_finished() {
        let r = f.meta.get(&id).await.unwrap().unwrap();
        if let Some(p) = r.to_video().progress
            && seen.last() != Some(&p)
        {
            seen.push(p);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(running.await.unwrap().unwrap(), Outcome::Ready, "progress writes do not make the final write conflict");
    assert!(!seen.is_empty() && seen.iter().all(|p| *p >= 0.0 && *p <= 1.0), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "it only moves forward: {seen:?}");
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.to_video().progress), (VideoStatus::Ready, None));
    println!("progress seen while encoding: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_attempt_keeps_its_short_lease_and_a_duplicate_finds_it_busy() {
    let mut f = fixture();
    f.state.lease = Duration::from_millis(800);
    let f = Arc::new(f);
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    let running = {
        let f = f.clone();
        tokio::spawn(async move { process(&f.state, id).await })
    };
    let (mut checks, mut duplicates) = (0, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    while !running.is_finished() {
        let r = f.meta.get(&id).await.unwrap().unwrap();
        if r.status == VideoStatus::Processing {
            let now = time::OffsetDateTime::now_utc();
            assert!(r.lease_until.is_some_and(|t| t > now), "the lease lapsed while the attempt was alive: {:?}", r.lease_until);
            checks += 1;
            if checks % 10 == 0 {
                assert!(matches!(process(&f.state, id).await.unwrap(), Outcome::Skipped(_)), "a duplicate took over a live attempt");
                duplicates += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(running.await.unwrap().unwrap(), Outcome::Ready);
    let r = f.meta.get(&id).await.unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (VideoStatus::Ready, 1));
    assert!(checks > 10 && duplicates > 0, "{checks} checks, {duplicates} duplicates: the encode was too short to test this");
    println!("an 800 ms lease held through {checks} checks over the encode; {duplicates} duplicates found it busy");
}

#[tokio::test]
async fn an_encode_that_cannot_finish_before_the_invocation_does_fails_with_a_reason_not_a_timeout() {
    let f = fixture();
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    // An invocation with 1 s left for encoding once publishing's share is kept back.
    let budget = Budget { deadline: Some(std::time::Instant::now() + PUBLISH_MARGIN + Duration::from_secs(1)), margin: PUBLISH_MARGIN };
    let started = std::time::Instant::now();
    let outcome = process_within(&f.state, id, budget).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "stopped at its cap, not at the video's own limit");
    let Outcome::Failed(reason) = outcome else { panic!("{outcome:?}") };
    assert!(reason.starts_with("this video needs longer to process than one transcode may run"), "{reason}");
    assert!(!reason.contains("not a video"), "{reason}");
    assert_eq!(f.meta.get(&id).await.unwrap().unwrap().status, VideoStatus::Failed);

    // A sweep with less than SWEEP_MIN_LEFT to go takes nothing on.
    let other = uploaded(&f, "tiny-160x90.mp4").await;
    let short = Budget::until(std::time::Instant::now() + SWEEP_MIN_LEFT / 2);
    assert_eq!(sweep_within(&f.state, false, short).await.unwrap(), []);
    assert_eq!(f.meta.get(&other).await.unwrap().unwrap().status, VideoStatus::Processing);
}

#[tokio::test]
async fn what_a_killed_attempt_left_in_the_work_folder_is_cleared() {
    let f = fixture();
    std::fs::create_dir_all(f.state.work_root.join("framelift-01JDX3W9K7Q4T2B8N6M5R0ZC1A/out/720p")).unwrap();
    std::fs::write(f.state.work_root.join("framelift-01JDX3W9K7Q4T2B8N6M5R0ZC1A/source"), vec![0u8; 1 << 20]).unwrap();
    std::fs::write(f.state.work_root.join("not-ours.txt"), b"kept").unwrap();
    assert_eq!(clear_work_root(&f.state.work_root).unwrap(), 1);
    let left: Vec<String> =
        std::fs::read_dir(&f.state.work_root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["not-ours.txt"]);
}

#[test]
fn an_invocation_keeps_an_eighth_of_itself_for_publishing_at_most_two_minutes() {
    let now = std::time::Instant::now();
    assert_eq!(Budget::until(now + Duration::from_secs(1200)).margin, PUBLISH_MARGIN, "capped");
    let lambda = Budget::until(std::time::Instant::now() + Duration::from_secs(900)).margin;
    assert!(lambda > Duration::from_secs(112) && lambda <= Duration::from_millis(112_500), "a full Lambda invocation: {lambda:?}");
    let short = Budget::until(std::time::Instant::now() + Duration::from_secs(80)).margin;
    assert!(short <= Duration::from_secs(10) && short > Duration::from_secs(9), "{short:?}");
    assert_eq!(Budget::NONE.margin, Duration::ZERO);
}
