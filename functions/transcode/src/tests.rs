//! The planner and the workers on in-memory stores with the real ffmpeg on real clips: once-only work under duplicate,
//! late and out-of-order deliveries, playback from the start before the end is encoded, reasons for bad files, retries
//! for our own faults.

use super::*;
use framelift_local::memory::{MemoryBlobs, MemoryMetadata, MemoryQueue, MemorySearch};
use framelift_shared::domain::{SearchDocument, SearchHits, SearchText};
use framelift_testkit::{test_clip, upload_event, uploading_record};

struct Fixture {
    state: TranscodeState,
    blobs: Arc<MemoryBlobs>,
    meta: Arc<MemoryMetadata>,
    search: Arc<MemorySearch>,
    queue: Arc<MemoryQueue>,
}

fn fixture() -> Fixture {
    let blobs = Arc::new(MemoryBlobs::default());
    let meta = Arc::new(MemoryMetadata::default());
    let search = Arc::new(MemorySearch::default());
    let queue = Arc::new(MemoryQueue::default());
    let work_root = AbsolutePath::resolve(std::env::temp_dir().join(format!("transcode-test-{}", VideoId::generate()))).unwrap();
    let state = TranscodeState {
        meta: meta.clone(),
        objects: blobs.clone(),
        search: search.clone(),
        queue: queue.clone(),
        tools: Tools::locate().expect("the bundled ffmpeg: run scripts/fetch-ffmpeg.sh"),
        work_root,
        options: Options::default(),
        lease: Duration::from_secs(900),
        stall: Duration::from_secs(3600),
        segments_per_chunk: SEGMENTS_PER_CHUNK,
        faults: Faults::NONE,
    };
    Fixture { state, blobs, meta, search, queue }
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

/// Delivers every queued job, and again (counting deliveries, as SQS does) each that failed, until none is left.
async fn drain(f: &Fixture) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let mut pending: Vec<(String, u32)> = Vec::new();
    loop {
        pending.extend(f.queue.take().into_iter().map(|b| (b, 1)));
        if pending.is_empty() {
            return outcomes;
        }
        for (body, count) in std::mem::take(&mut pending) {
            match worker::work(&f.state, &body, count, Budget::NONE).await {
                Ok(o) => outcomes.push(o),
                Err(_) => pending.push((body, count + 1)),
            }
        }
    }
}

async fn record(f: &Fixture, id: &VideoId) -> VideoRecord {
    f.meta.get(id).await.unwrap().unwrap()
}

fn chunk_of(body: &str) -> Option<u32> {
    match EncodeJob::parse(body).unwrap().part {
        Part::Chunk(c) => Some(c.index),
        Part::Audio => None,
    }
}

#[tokio::test]
async fn an_upload_is_planned_encoded_in_parts_and_becomes_ready_with_its_ladder_published() {
    let f = fixture();
    let id = uploaded(&f, "one-second.mp4").await;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let planned = record(&f, &id).await;
    assert_eq!(planned.status, VideoStatus::Processing);
    let encoding = planned.encoding.as_ref().expect("the plan is recorded");
    assert_eq!((encoding.chunks, encoding.has_audio, &encoding.renditions[..]), (1, true, &["180p", "480p", "720p"].map(String::from)[..]));
    assert_eq!(drain(&f).await.iter().filter(|o| **o == Outcome::Ready).count(), 1);
    let r = record(&f, &id).await;
    assert_eq!(r.status, VideoStatus::Ready, "{:?}", r.failure_reason);
    assert!(r.encoding.is_none(), "the plan goes once the video is ready");
    let media = r.media.unwrap();
    assert_eq!((media.width, media.height), (1280, 720));
    assert!((media.duration_seconds - 1.0).abs() < 0.1, "{}", media.duration_seconds);
    assert_eq!(media.renditions.iter().map(|r| r.height).collect::<Vec<_>>(), [180, 480, 720]);
    assert!(media.renditions.iter().all(|r| r.bandwidth > 0));
    let prefix = id.media_prefix();
    assert_eq!(media.poster_key.as_deref(), Some(format!("{prefix}poster.jpg").as_str()));
    assert!(media.storyboard, "the storyboard is stored");
    let keys = f.blobs.keys();
    for key in [
        "master.m3u8",
        "720p/index.m3u8",
        "audio/index.m3u8",
        "720p/seg_0000.ts",
        "audio/seg_0000.ts",
        "poster.jpg",
        "storyboard/sprite_0000.jpg",
        "storyboard.vtt",
    ] {
        assert!(keys.contains(&format!("{prefix}{key}")), "{key} in {keys:?}");
    }
    assert_eq!(f.blobs.content_type(&format!("{prefix}720p/seg_0000.ts")).as_deref(), Some("video/mp2t"));
    assert_eq!(f.blobs.content_type(&format!("{prefix}master.m3u8")).as_deref(), Some("application/vnd.apple.mpegurl"));
    let master = String::from_utf8(f.blobs.object(&format!("{prefix}master.m3u8")).unwrap()).unwrap();
    assert!(master.contains("TYPE=AUDIO") && master.contains("AVERAGE-BANDWIDTH="), "measured once ready: {master}");
    let vod = String::from_utf8(f.blobs.object(&format!("{prefix}720p/index.m3u8")).unwrap()).unwrap();
    assert!(vod.contains("#EXT-X-PLAYLIST-TYPE:VOD") && vod.ends_with("#EXT-X-ENDLIST\n"), "{vod}");
    let left: Vec<_> = std::fs::read_dir(&f.state.work_root).unwrap().collect();
    assert!(left.is_empty(), "every work folder is cleaned up: {left:?}");
    assert_eq!(found(&f, "one second").await.ids, [id], "the ready video is searchable");
}

async fn found(f: &Fixture, q: &str) -> SearchHits {
    f.search.search(&SearchText::parse(q).unwrap(), 10).await.unwrap()
}

#[tokio::test]
async fn the_start_can_be_watched_once_the_first_chunk_and_its_sound_are_in() {
    let mut f = fixture();
    f.state.segments_per_chunk = 1;
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    assert_eq!(process(&f.state, id).await.unwrap(), Outcome::Planned(3), "audio and two chunks of 6 s");
    let jobs = f.queue.take();
    let (first, rest): (Vec<_>, Vec<_>) = jobs.into_iter().partition(|b| chunk_of(b) != Some(1));
    // The second chunk first: nothing plays without the first.
    f.queue.send(&rest).await.unwrap();
    drain(&f).await;
    let r = record(&f, &id).await;
    assert_eq!((r.status, r.playable_seconds(), r.is_watchable()), (VideoStatus::Processing, None, false));
    f.queue.send(&first).await.unwrap();
    // The audio and the first chunk, one at a time.
    let audio = f.queue.take().into_iter().find(|b| chunk_of(b).is_none()).unwrap();
    assert_eq!(worker::work(&f.state, &audio, 1, Budget::NONE).await.unwrap(), Outcome::Recorded);
    let r = record(&f, &id).await;
    assert_eq!(r.playable_seconds(), None, "sound alone does not play");
    let video = r.to_video();
    assert_eq!(video.progress, Some(0.667), "two parts of three");
    let chunk0 = EncodeJob { video: id, part: Part::Chunk(framelift_media::chunks::plan(10.0, 1)[0]), source: source_of(&audio) };
    assert_eq!(worker::work(&f.state, &chunk0.to_body(), 1, Budget::NONE).await.unwrap(), Outcome::Ready);
    let r = record(&f, &id).await;
    assert_eq!((r.status, r.media.as_ref().map(|m| m.duration_seconds)), (VideoStatus::Ready, Some(10.0)));
    let vod = String::from_utf8(f.blobs.object(&format!("{}480p/index.m3u8", id.media_prefix())).unwrap()).unwrap();
    assert_eq!(vod.matches("#EXTINF:").count(), 2, "both chunks, in order: {vod}");
}

fn source_of(body: &str) -> framelift_media::SourceInfo {
    EncodeJob::parse(body).unwrap().source
}

#[tokio::test]
async fn playable_seconds_grow_with_the_unbroken_run_and_the_sound() {
    let mut f = fixture();
    f.state.segments_per_chunk = 1;
    f.state.options.max_short_side = Some(720);
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    process(&f.state, id).await.unwrap();
    let jobs = f.queue.take();
    let chunk0 = jobs.iter().find(|b| chunk_of(b) == Some(0)).unwrap();
    let audio = jobs.iter().find(|b| chunk_of(b).is_none()).unwrap();
    worker::work(&f.state, chunk0, 1, Budget::NONE).await.unwrap();
    assert_eq!(record(&f, &id).await.playable_seconds(), None, "no sound yet");
    worker::work(&f.state, audio, 1, Budget::NONE).await.unwrap();
    let r = record(&f, &id).await;
    assert_eq!((r.status, r.playable_seconds()), (VideoStatus::Processing, Some(6.0)));
    assert!(r.is_watchable());
    assert_eq!(r.to_video().playable_seconds, Some(6.0));
    let encoding = r.encoding.unwrap();
    assert_eq!(encoding.video_segments(), [6.0]);
    assert!(f.blobs.keys().contains(&format!("{}720p/seg_0000.ts", id.media_prefix())), "stored as it closed");
    assert!(!f.blobs.keys().contains(&format!("{}1080p/seg_0000.ts", id.media_prefix())), "the ladder is capped as set");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_late_and_reordered_deliveries_do_the_work_once() {
    let mut f = fixture();
    f.state.segments_per_chunk = 1;
    // One rung keeps nine encodes quick.
    f.state.options.max_short_side = Some(180);
    let f = Arc::new(f);
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    // Concurrent duplicate events: one plans, the others find it claimed or planned.
    let (a, b, c) = tokio::join!(process(&f.state, id), process(&f.state, id), process(&f.state, id));
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Outcome::Planned(_))).count(), 1, "{outcomes:?}");
    // Every job three times, last first, all at once.
    let mut jobs = f.queue.take();
    jobs.reverse();
    let deliveries: Vec<_> = jobs.iter().flat_map(|j| std::iter::repeat_n(j.clone(), 3)).collect();
    let runs = deliveries.into_iter().map(|body| {
        let f = f.clone();
        tokio::spawn(async move { worker::work(&f.state, &body, 1, Budget::NONE).await.unwrap() })
    });
    let outcomes: Vec<Outcome> = futures::future::join_all(runs).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Ready).count(), 1, "ready once: {outcomes:?}");
    let r = record(&f, &id).await;
    assert_eq!(r.status, VideoStatus::Ready);
    let version = r.version;
    // Late deliveries and a replayed event change nothing.
    for job in &jobs {
        assert!(matches!(worker::work(&f.state, job, 1, Budget::NONE).await.unwrap(), Outcome::Skipped(_)));
    }
    handle(&f.state, upload_event(&id)).await.unwrap();
    assert_eq!(record(&f, &id).await.version, version);
    assert_eq!(found(&f, "landscape").await.ids, [id]);
}

#[tokio::test]
async fn a_bad_file_fails_with_its_reason_and_is_not_retried() {
    let f = fixture();
    let id = uploaded(&f, "not-a-video.mp4").await;
    handle(&f.state, upload_event(&id)).await.expect("a bad file is not our fault: no retry");
    let r = record(&f, &id).await;
    assert_eq!(r.status, VideoStatus::Failed);
    assert_eq!(r.failure_reason.as_deref(), Some("not a video file: its contents are not a video format we can read"));
    assert!(f.queue.take().is_empty(), "nothing is queued for it");
    assert!(f.blobs.keys().iter().all(|k| !k.starts_with("media/")));
    assert_eq!(found(&f, "clip").await.total, 0, "a failed video is not searchable");
}

#[tokio::test]
async fn an_event_before_complete_is_recorded_still_transcodes() {
    let f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    // Put the record back to uploading, as if complete's write had not landed yet.
    let r = record(&f, &id).await;
    f.meta.delete(&id, r.version).await.unwrap();
    let mut early = r.clone();
    early.status = VideoStatus::Uploading;
    early.version = 1;
    f.meta.insert(&early).await.unwrap();
    assert!(matches!(process(&f.state, id).await.unwrap(), Outcome::Planned(_)));
    drain(&f).await;
    assert_eq!(record(&f, &id).await.status, VideoStatus::Ready);
}

#[tokio::test]
async fn a_missing_record_or_source_is_handled() {
    let f = fixture();
    let ghost = VideoId::generate();
    assert!(matches!(process(&f.state, ghost).await.unwrap(), Outcome::Skipped(_)), "an aborted upload's late event");
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    f.blobs.put_object(id.source_key().as_str(), Vec::new());
    assert!(matches!(process(&f.state, id).await.unwrap(), Outcome::Failed(_)));
    let gone = uploaded(&f, "tiny-160x90.mp4").await;
    f.blobs.delete_prefix(gone.source_key().as_str()).await.unwrap();
    assert_eq!(process(&f.state, gone).await.unwrap(), Outcome::Failed("the uploaded file is missing from storage".into()));
}

/// An object store that is down.
struct Down;

fn refused() -> StoreError {
    StoreError::unavailable(std::io::Error::other("connection refused"))
}

#[async_trait::async_trait]
impl ObjectStore for Down {
    async fn download(&self, _: &str, _: &std::path::Path) -> Result<u64, StoreError> {
        Err(refused())
    }
    async fn upload(&self, _: &str, _: &std::path::Path, _: &str, _: &str) -> Result<(), StoreError> {
        Err(refused())
    }
    async fn put(&self, _: &str, _: Vec<u8>, _: &str, _: &str) -> Result<(), StoreError> {
        Err(refused())
    }
    async fn read(&self, _: &str) -> Result<Vec<u8>, StoreError> {
        Err(refused())
    }
    async fn delete_prefix(&self, _: &str) -> Result<usize, StoreError> {
        Err(refused())
    }
    async fn readable(&self, _: &str, _: Duration) -> Result<framelift_shared::ports::Readable, StoreError> {
        Err(refused())
    }
}

#[tokio::test]
async fn our_own_faults_ask_for_a_retry_and_release_the_video() {
    let mut f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    let working = f.state.objects.clone();
    f.state.objects = Arc::new(Down);
    assert!(handle(&f.state, upload_event(&id)).await.is_err(), "storage down: Lambda must retry");
    let r = record(&f, &id).await;
    assert_eq!((r.status, r.lease_until), (VideoStatus::Processing, None), "released for the retry");
    f.state.objects = working;
    handle(&f.state, upload_event(&id)).await.unwrap();
    // Storage fails a worker: its job is delivered again, and the retry lands.
    let jobs = f.queue.take();
    f.state.objects = Arc::new(Down);
    for job in &jobs {
        assert!(worker::work(&f.state, job, 1, Budget::NONE).await.is_err(), "storage down: deliver again");
    }
    f.state.objects = f.blobs.clone();
    f.queue.send(&jobs).await.unwrap();
    drain(&f).await;
    let r = record(&f, &id).await;
    assert_eq!((r.status, r.attempts, r.failure_reason), (VideoStatus::Ready, 2, None));
}

#[tokio::test]
async fn a_part_that_keeps_failing_fails_the_video_without_blaming_the_file() {
    let mut f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let jobs = f.queue.take();
    let working = f.state.tools.clone();
    f.state.tools = Tools::in_dir(std::path::Path::new("/nonexistent-ffmpeg-folder")).unwrap();
    for count in 1..=MAX_ATTEMPTS {
        assert!(worker::work(&f.state, &jobs[0], count, Budget::NONE).await.is_err(), "a missing tool: deliver again");
        assert_eq!(record(&f, &id).await.status, VideoStatus::Processing, "not failed after {count} deliveries");
    }
    f.state.tools = working;
    let outcome = worker::work(&f.state, &jobs[0], MAX_ATTEMPTS + 1, Budget::NONE).await.unwrap();
    assert_eq!(outcome, Outcome::Failed(gave_up()));
    let r = record(&f, &id).await;
    assert_eq!((r.status, r.failure_reason), (VideoStatus::Failed, Some(gave_up())));
    assert!(f.blobs.keys().iter().all(|k| !k.starts_with(&id.media_prefix())), "what its parts stored is removed");
    assert!(matches!(worker::work(&f.state, &jobs[1], 1, Budget::NONE).await.unwrap(), Outcome::Skipped(_)), "its other jobs stop");
}

#[tokio::test]
async fn a_worker_that_dies_after_storing_its_segments_is_done_again_by_the_next_delivery() {
    let mut f = fixture();
    f.state.faults = Faults { crash_one_in: 1 };
    let id = uploaded(&f, "one-second.mp4").await;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let jobs = f.queue.take();
    let chunk = jobs.iter().find(|b| chunk_of(b) == Some(0)).unwrap();
    assert!(worker::work(&f.state, chunk, 1, Budget::NONE).await.is_err(), "the first delivery dies");
    let r = record(&f, &id).await;
    assert!(!r.encoding.unwrap().has_chunk(0), "nothing recorded");
    assert!(f.blobs.keys().contains(&format!("{}720p/seg_0000.ts", id.media_prefix())), "its segments were stored");
    f.queue.send(&jobs).await.unwrap();
    drain(&f).await;
    assert_eq!(record(&f, &id).await.status, VideoStatus::Ready);
}

#[tokio::test]
async fn repeated_planner_crashes_end_in_failed_not_a_loop() {
    let f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    let r = record(&f, &id).await;
    // Three planners that died holding a lease, each lapsed.
    let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let mut crashed = r.clone();
    crashed.attempts = MAX_ATTEMPTS;
    crashed.lease_until = Some(past);
    crashed.version += 1;
    f.meta.replace(&crashed).await.unwrap();
    let swept = sweep(&f.state, false).await.unwrap();
    assert_eq!(swept, [(id, Outcome::Failed(gave_up()))]);
    assert_eq!(record(&f, &id).await.status, VideoStatus::Failed);
}

#[tokio::test]
async fn a_stalled_encode_is_queued_again_by_the_sweep_without_redoing_what_is_finished() {
    let mut f = fixture();
    f.state.segments_per_chunk = 1;
    f.state.options.max_short_side = Some(180);
    f.state.stall = Duration::from_millis(300);
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let jobs = f.queue.take();
    // One part is done; the other jobs are lost (a local stack that restarted, a queue that dropped them).
    let chunk1 = jobs.iter().find(|b| chunk_of(b) == Some(1)).unwrap();
    worker::work(&f.state, chunk1, 1, Budget::NONE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let swept = sweep(&f.state, false).await.unwrap();
    assert_eq!(swept, [(id, Outcome::Planned(2))], "the audio and chunk 0 again, not chunk 1");
    let r = record(&f, &id).await;
    assert_eq!(r.attempts, 1, "queueing parts again is not another attempt");
    drain(&f).await;
    assert_eq!(record(&f, &id).await.status, VideoStatus::Ready);
}

/// A search index that is down.
struct SearchDown;

#[async_trait::async_trait]
impl SearchIndex for SearchDown {
    async fn put(&self, _: &SearchDocument) -> Result<(), StoreError> {
        Err(refused())
    }
    async fn remove(&self, _: &VideoId) -> Result<(), StoreError> {
        Err(refused())
    }
    async fn search(&self, _: &SearchText, _: usize) -> Result<SearchHits, StoreError> {
        Err(refused())
    }
}

#[tokio::test]
async fn an_index_that_is_down_holds_the_video_back_until_a_redelivery_assembles_it() {
    let mut f = fixture();
    f.state.lease = Duration::from_millis(300);
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    handle(&f.state, upload_event(&id)).await.unwrap();
    let jobs = f.queue.take();
    let working = f.state.search.clone();
    f.state.search = Arc::new(SearchDown);
    let mut failed = Vec::new();
    for job in &jobs {
        if worker::work(&f.state, job, 1, Budget::NONE).await.is_err() {
            failed.push(job.clone());
        }
    }
    assert_eq!(failed.len(), 1, "the job that finished the encode could not make it findable");
    let r = record(&f, &id).await;
    assert_eq!(r.status, VideoStatus::Processing, "not ready while not findable");
    f.state.search = working;
    assert!(
        matches!(worker::work(&f.state, &failed[0], 2, Budget::NONE).await.unwrap(), Outcome::Skipped(_)),
        "the assembler's lease still runs"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(worker::work(&f.state, &failed[0], 3, Budget::NONE).await.unwrap(), Outcome::Ready);
    assert_eq!(found(&f, "tiny").await.ids, [id], "ready and findable together");
}

#[tokio::test]
async fn an_ffmpeg_that_cannot_run_is_retried_and_never_blamed_on_the_file() {
    let mut f = fixture();
    let id = uploaded(&f, "one-second.mp4").await;
    let working = f.state.tools.clone();
    f.state.tools = Tools::in_dir(std::path::Path::new("/nonexistent-ffmpeg-folder")).unwrap();
    assert!(handle(&f.state, upload_event(&id)).await.is_err(), "a missing tool: Lambda must retry");
    let r = record(&f, &id).await;
    assert_eq!((r.status, r.lease_until, r.failure_reason), (VideoStatus::Processing, None, None), "released, not failed");
    f.state.tools = working;
    handle(&f.state, upload_event(&id)).await.unwrap();
    drain(&f).await;
    assert_eq!(record(&f, &id).await.status, VideoStatus::Ready);
}

#[tokio::test]
async fn a_chunk_that_does_not_decode_fails_the_video_naming_where() {
    let f = fixture();
    // The first 300 kB of a 10 s clip: it opens, and decoding stops part way.
    let bytes = std::fs::read(test_clip("landscape-1080p.mp4")).unwrap();
    let id = uploaded(&f, "landscape-1080p.mp4").await;
    let mut cut = bytes;
    cut.truncate(cut.len() / 3);
    f.blobs.put_object(id.source_key().as_str(), cut);
    match process(&f.state, id).await.unwrap() {
        // A cut file whose index is at the end does not even open: the planner says so.
        Outcome::Failed(reason) => assert!(reason.contains("not a video") || reason.contains("decoding"), "{reason}"),
        Outcome::Planned(_) => {
            drain(&f).await;
            let r = record(&f, &id).await;
            assert_eq!(r.status, VideoStatus::Failed);
            assert!(r.failure_reason.as_deref().unwrap().starts_with("decoding failed in the stretch from"), "{:?}", r.failure_reason);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn what_a_killed_attempt_left_in_the_work_folder_is_cleared() {
    let f = fixture();
    std::fs::create_dir_all(f.state.work_root.join("framelift-01JDX3W9K7Q4T2B8N6M5R0ZC1A-chunk-3/720p")).unwrap();
    std::fs::write(f.state.work_root.join("framelift-01JDX3W9K7Q4T2B8N6M5R0ZC1A-chunk-3/720p/seg_0030.ts"), vec![0u8; 1 << 20]).unwrap();
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

#[tokio::test]
async fn a_sweep_near_the_end_of_its_invocation_plans_nothing() {
    let f = fixture();
    let id = uploaded(&f, "tiny-160x90.mp4").await;
    let short = Budget::until(std::time::Instant::now() + SWEEP_MIN_LEFT / 2);
    assert_eq!(sweep_within(&f.state, false, short).await.unwrap(), []);
    assert_eq!(record(&f, &id).await.status, VideoStatus::Processing);
    // The planner's own timeout (300 s on AWS) leaves it room.
    let planner = Budget::until(std::time::Instant::now() + Duration::from_secs(300));
    assert!(matches!(sweep_within(&f.state, false, planner).await.unwrap()[..], [(v, Outcome::Planned(_))] if v == id));
}
