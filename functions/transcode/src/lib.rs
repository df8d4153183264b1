//! Transcoding in parallel chunks. The `transcode` function is the planner: an S3 `ObjectCreated` event under
//! `uploads/` makes it probe the source where it lies (by a presigned address, with range requests), cut the timeline
//! into chunks of whole segments, record the plan on the video and queue one job per chunk and one for the audio. The
//! `encode` function is the worker ([`worker`]): it encodes one job's part, stores its segments as they close and
//! records the part; the last part recorded assembles the playlists and makes the video ready. While the parts come in,
//! the record says how much can be watched from the start.
//!
//! S3 delivers events at least once and out of order, and Lambda retries failures, so every step is safe to repeat:
//! the planner claims the video with a conditional write and a lease ([`VideoRecord::claim`]); a duplicate event finds
//! the video claimed or planned (and does nothing) or finished (and does nothing). A planned encode holds the video for
//! [`TranscodeState::stall`] from its last recorded part; if nothing is recorded for that long the sweep plans it again,
//! which queues the parts not finished (the plan is the same: it depends only on the source). A bad file is the
//! uploader's problem: the video fails with the reason and the function succeeds, so nothing retries it. A fault of
//! ours releases the lease and returns an error, so Lambda retries.

use aws_lambda_events::event::s3::S3Event;
use framelift_media::{AbsolutePath, Options, Tools, TranscodeError};
use framelift_shared::domain::{
    Claim, Encoding, ListQuery, MediaInfo, ObjectKey, SearchDocument, Transition, VideoId, VideoRecord, VideoStatus,
};
use framelift_shared::ports::{JobQueue, MetadataStore, ObjectStore, SearchIndex, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// After this many attempts a video fails rather than being tried again.
pub const MAX_ATTEMPTS: u32 = 3;

/// The reason a video fails with when every attempt failed for a reason of ours: the file is not blamed.
pub fn gave_up() -> String {
    format!("processing failed {MAX_ATTEMPTS} times for reasons of ours, not of the file; upload it again later")
}

pub mod deployed;
pub mod jobs;
mod publish;
pub mod worker;

pub use jobs::{EncodeJob, Part};

/// What the planner and the workers need.
pub struct TranscodeState {
    pub meta: Arc<dyn MetadataStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub search: Arc<dyn SearchIndex>,
    /// Where the planner queues the jobs the workers take.
    pub queue: Arc<dyn JobQueue>,
    pub tools: Tools,
    /// Where probes run and segments are made before they are stored (`/tmp` on Lambda).
    pub work_root: AbsolutePath,
    pub options: Options,
    /// How long the planner (or the worker assembling a finished encode) owns a video.
    pub lease: Duration,
    /// How long a planned encode may go without a part being recorded before the sweep queues its unfinished parts
    /// again: longer than a part takes to be encoded, queueing behind other videos' parts included.
    pub stall: Duration,
    /// How many 6 s segments each chunk is.
    pub segments_per_chunk: u32,
    /// Fault injection for reliability tests; [`Faults::NONE`] everywhere else.
    pub faults: Faults,
}

/// Faults a test can switch on. A crash stops a chunk's first delivery after its segments are stored and before
/// they are recorded, as a killed worker would; the queue must deliver it again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Crash the first delivery of one chunk job in this many (chosen by video and chunk, so the same ones every
    /// run); 0: never.
    pub crash_one_in: u32,
}

impl Faults {
    pub const NONE: Faults = Faults { crash_one_in: 0 };

    fn crashes(&self, id: &VideoId, chunk: u32, receive_count: u32) -> bool {
        use std::hash::{Hash, Hasher};
        if self.crash_one_in == 0 || receive_count != 1 {
            return false;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (id, chunk).hash(&mut h);
        h.finish().is_multiple_of(u64::from(self.crash_one_in))
    }
}

/// Chunks of 60 s: long enough that a chunk's fixed costs (starting ffmpeg, seeking, the encoder's lookahead) are small
/// beside its work, short enough that a 2-hour lesson fans out over 120 workers.
pub const SEGMENTS_PER_CHUNK: u32 = 10;

/// What one invocation may spend: on Lambda, until its deadline (the function's timeout); in the dev server, without
/// one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub deadline: Option<std::time::Instant>,
    /// Time kept back from an encode for publishing what it made and recording the result.
    pub margin: Duration,
}

/// The publishing margin of a full 15-minute invocation; a shorter one keeps an eighth of itself.
pub const PUBLISH_MARGIN: Duration = Duration::from_secs(120);
/// A sweep plans no further video once less than this is left of its invocation (planning takes seconds).
pub const SWEEP_MIN_LEFT: Duration = Duration::from_secs(30);

impl Budget {
    pub const NONE: Budget = Budget { deadline: None, margin: Duration::ZERO };

    /// An invocation that must end by `deadline`, starting now.
    pub fn until(deadline: std::time::Instant) -> Budget {
        let length = deadline.saturating_duration_since(std::time::Instant::now());
        Budget { deadline: Some(deadline), margin: PUBLISH_MARGIN.min(length / 8) }
    }

    /// What is left of the invocation now, if it has a deadline.
    fn left(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()))
    }
}

/// What became of one video (or one job of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plan is recorded and this many jobs are queued.
    Planned(usize),
    /// A worker's part is recorded; others are still to come.
    Recorded,
    Ready,
    Failed(String),
    /// Nothing to do: finished already, claimed by another attempt, or no longer there.
    Skipped(&'static str),
}

/// What the transcode function is invoked with, as the template wires it.
#[derive(Debug)]
pub enum Trigger {
    /// The bucket's `ObjectCreated` notifications; also what a failure-destination record carries as its
    /// `requestPayload`, so a redriven record is handled as the event it failed on.
    Uploads(S3Event),
    /// The schedule (EventBridge), or a failed sweep redriven: take over lapsed leases, as the dev server's sweep does
    /// every minute.
    Sweep,
}

impl Trigger {
    pub fn parse(payload: serde_json::Value) -> anyhow::Result<Trigger> {
        let event = match payload.get("requestPayload") {
            Some(original) => original.clone(),
            None => payload,
        };
        if event.get("source").and_then(|s| s.as_str()) == Some("aws.events") {
            return Ok(Trigger::Sweep);
        }
        if event.get("Records").is_none() {
            anyhow::bail!("not an S3 notification, a schedule or a failure record: {}", short(&event));
        }
        Ok(Trigger::Uploads(serde_json::from_value(event)?))
    }
}

fn short(v: &serde_json::Value) -> String {
    v.to_string().chars().take(200).collect()
}

/// One invocation of the transcode function: an upload's event, a redriven failure record, or the schedule.
pub async fn invoke(state: &TranscodeState, payload: serde_json::Value, budget: Budget) -> anyhow::Result<()> {
    match Trigger::parse(payload)? {
        Trigger::Uploads(event) => handle_within(state, event, budget).await,
        Trigger::Sweep => {
            let done = sweep_within(state, false, budget).await?;
            tracing::info!(videos = done.len(), ?done, "swept lapsed leases");
            Ok(())
        }
    }
}

/// Removes what earlier attempts left in `root` (`framelift-*` folders): a Lambda sandbox is reused, and an attempt
/// killed at its timeout cleans nothing up. Only for a root no other attempt is using at the same time.
pub fn clear_work_root(root: &AbsolutePath) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("framelift-") {
            std::fs::remove_dir_all(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Handles an S3 event: every `ObjectCreated` record under `uploads/`. An error means "retry me".
pub async fn handle(state: &TranscodeState, event: S3Event) -> anyhow::Result<()> {
    handle_within(state, event, Budget::NONE).await
}

/// [`handle`] within an invocation's budget.
pub async fn handle_within(state: &TranscodeState, event: S3Event, budget: Budget) -> anyhow::Result<()> {
    let mut failure = None;
    for record in event.records {
        let name = record.event_name.as_deref().unwrap_or("");
        let key = record.s3.object.key.as_deref().map(framelift_shared::s3_events::decode_key).unwrap_or_default();
        let Some(id) = name.starts_with("ObjectCreated:").then(|| ObjectKey::source_of(&key)).flatten() else {
            tracing::info!(event = name, key, "not a source upload; ignored");
            continue;
        };
        match process_within(state, id, budget).await {
            Ok(outcome) => tracing::info!(video = %id, ?outcome, "transcode finished"),
            Err(e) => {
                tracing::error!(video = %id, error = format!("{e:#}"), "transcode will be retried");
                failure = Some(e);
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Re-drives videos stuck in processing: lapsed leases (crashed attempts) or, with `takeover`, any lease (a local
/// stack that just restarted knows no attempt of its own is alive).
pub async fn sweep(state: &TranscodeState, takeover: bool) -> anyhow::Result<Vec<(VideoId, Outcome)>> {
    sweep_within(state, takeover, Budget::NONE).await
}

/// [`sweep`] within an invocation's budget: no video is taken once too little is left to do it justice.
pub async fn sweep_within(state: &TranscodeState, takeover: bool, budget: Budget) -> anyhow::Result<Vec<(VideoId, Outcome)>> {
    let now = time::OffsetDateTime::now_utc();
    let mut done = Vec::new();
    let stuck = state.meta.list(&ListQuery::Status(VideoStatus::Processing), 100, None).await?;
    for record in stuck.records {
        let lapsed = record.lease_until.is_none_or(|t| t <= now);
        if budget.left().is_some_and(|left| left < SWEEP_MIN_LEFT) {
            break;
        }
        if lapsed || takeover {
            if takeover && !lapsed {
                state.meta.replace(&record.release()).await.ok();
            }
            let outcome = process_within(state, record.id, budget).await?;
            done.push((record.id, outcome));
        }
    }
    Ok(done)
}

/// Transcodes one video, once, whatever happened before.
pub async fn process(state: &TranscodeState, id: VideoId) -> anyhow::Result<Outcome> {
    process_within(state, id, Budget::NONE).await
}

/// [`process`] within an invocation's budget.
pub async fn process_within(state: &TranscodeState, id: VideoId, budget: Budget) -> anyhow::Result<Outcome> {
    let claimed = match claim_or_wait(state, id, budget).await? {
        Claimed::Mine(record) => *record,
        Claimed::Busy(_) => return Ok(Outcome::Skipped("another attempt is alive and working on it")),
        Claimed::Nothing => return Ok(Outcome::Skipped("finished, or no longer there")),
    };
    if claimed.attempts > MAX_ATTEMPTS {
        return finish(state, &claimed, Err(gave_up())).await;
    }
    let work = state.work_root.join(format!("framelift-{id}-plan-{}", VideoId::generate()));
    let result = plan(state, &claimed, &work).await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    match result {
        Ok(outcome) => Ok(outcome),
        Err(TranscodeError::Rejected(reason)) => finish(state, &claimed, Err(reason)).await,
        Err(TranscodeError::Failed(e)) => {
            // Give the video back at once so Lambda's retry can claim it; if even that fails, the lease lapses.
            if let Err(release) = release(state, &id).await {
                tracing::warn!(video = %id, error = %release, "could not release the lease");
            }
            Err(e)
        }
    }
}

/// Probes the source where it lies, records the plan (keeping what an earlier plan of the same source finished) and
/// queues every part not finished; assembles at once if every part is.
async fn plan(state: &TranscodeState, claimed: &VideoRecord, work: &AbsolutePath) -> Result<Outcome, TranscodeError> {
    let _ = tokio::fs::remove_dir_all(work).await;
    tokio::fs::create_dir_all(work).await.map_err(anyhow::Error::from)?;
    let input = worker::source(state, &claimed.id).await?;
    let source = framelift_media::probe::probe(&state.tools, &input, work).await?;
    let rungs = framelift_media::ladder::ladder(&source, state.options.max_short_side);
    let chunks = framelift_media::chunks::plan(source.duration, state.segments_per_chunk);
    let encoding = claimed.encoding.clone().unwrap_or_else(|| Encoding {
        chunks: chunks.len() as u32,
        renditions: rungs.iter().map(|r| r.name.clone()).collect(),
        has_audio: source.has_audio,
        width: source.width,
        height: source.height,
        done: vec![],
        audio_segments: vec![],
        audio_finished: false,
    });
    if encoding.is_complete() {
        return worker::assemble(state, claimed.clone(), &source).await.map_err(TranscodeError::Failed);
    }
    let mut jobs: Vec<String> = chunks
        .iter()
        .filter(|c| !encoding.has_chunk(c.index))
        .map(|c| EncodeJob { video: claimed.id, part: Part::Chunk(*c), source: source.clone() }.to_body())
        .collect();
    if encoding.has_audio && !encoding.audio_finished {
        // First: the start cannot be watched without its sound.
        jobs.insert(0, EncodeJob { video: claimed.id, part: Part::Audio, source: source.clone() }.to_body());
    }
    // The master playlist names every rendition from the start; its rates are the caps until the encode is measured.
    // Stored before the plan is recorded: a delete that comes between finds it, or the write below finds the delete.
    let master = framelift_media::chunks::master_playlist(
        &rungs.iter().map(|r| (r.clone(), None)).collect::<Vec<_>>(),
        framelift_media::chunks::AudioRendition::of(&source),
    );
    publish::store_playlist(state.objects.as_ref(), work, &claimed.id.media_prefix(), framelift_media::hls::MASTER, master).await?;
    let planned = claimed.encoding(encoding, time::OffsetDateTime::now_utc(), state.stall);
    match state.meta.replace(&planned).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => {
            state.objects.delete_prefix(&claimed.id.media_prefix()).await.map_err(anyhow::Error::from)?;
            return Ok(Outcome::Skipped("the video was deleted while it was planned"));
        }
        Err(e) => return Err(anyhow::Error::from(e).context("recording the plan").into()),
    }
    state.queue.send(&jobs).await.map_err(|e| anyhow::Error::from(e).context("queueing the jobs"))?;
    tracing::info!(video = %claimed.id, jobs = jobs.len(), duration = source.duration, "planned");
    Ok(Outcome::Planned(jobs.len()))
}

/// Gives the video's lease up (after a fault of ours), whatever was written since it was claimed.
async fn release(state: &TranscodeState, id: &VideoId) -> Result<(), StoreError> {
    match state.meta.get(id).await? {
        Some(r) if r.status == VideoStatus::Processing => state.meta.replace(&r.release()).await,
        _ => Ok(()),
    }
}

/// What claiming found.
enum Claimed {
    Mine(Box<VideoRecord>),
    /// Another attempt's lease runs (the record as read); after [`claim_or_wait`], that attempt is alive.
    Busy(Box<VideoRecord>),
    /// Finished, or deleted.
    Nothing,
}

/// Claims the video; while another planner's lease runs, watches whether that planner is alive. A live one writes its
/// plan within seconds; a dead one (timed out, crashed) writes nothing, and its lease lapses into this attempt's hands. Lambda retries a failed attempt while its lease still runs, so without the
/// wait the retry would find the video busy, succeed having done nothing, and leave the video to the sweep.
async fn claim_or_wait(state: &TranscodeState, id: VideoId, budget: Budget) -> anyhow::Result<Claimed> {
    let mut seen: Option<u64> = None;
    loop {
        let record = match claim(state, id).await? {
            Claimed::Busy(record) => record,
            other => return Ok(other),
        };
        // A planned encode's parts are the workers'; and a record that moved on has a live writer.
        if record.encoding.is_some() || seen.is_some_and(|v| v != record.version) {
            return Ok(Claimed::Busy(record));
        }
        seen = Some(record.version);
        let now = time::OffsetDateTime::now_utc();
        let lapses_in = record.lease_until.map_or(Duration::ZERO, |t| Duration::try_from(t - now).unwrap_or(Duration::ZERO));
        // Not worth waiting for when too little of the invocation would be left; the sweep takes it then.
        if budget.left().is_some_and(|left| left < lapses_in + budget.margin) {
            return Ok(Claimed::Busy(record));
        }
        tokio::time::sleep(recheck_every(state.lease).min(lapses_in).max(Duration::from_millis(20))).await;
    }
}

/// Claims the video for this attempt, or says why not: another attempt's lease runs, or there is nothing to do
/// (finished or deleted).
///
/// A lost conditional write is read again rather than taken as "someone else has it": the writer that won may have been
/// `complete` recording the upload (the storage event can overtake it), which leaves the video for us to claim.
async fn claim(state: &TranscodeState, id: VideoId) -> anyhow::Result<Claimed> {
    for _ in 0..5 {
        let Some(record) = state.meta.get(&id).await? else { return Ok(Claimed::Nothing) };
        let next = match record.claim(time::OffsetDateTime::now_utc(), state.lease) {
            Claim::Claimed(next) => *next,
            Claim::Busy => return Ok(Claimed::Busy(Box::new(record))),
            Claim::Done => return Ok(Claimed::Nothing),
        };
        match state.meta.replace(&next).await {
            Ok(()) => return Ok(Claimed::Mine(Box::new(next))),
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound) => return Ok(Claimed::Nothing),
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("the video's record kept changing while it was being claimed")
}

/// How often a waiting duplicate looks at the record again: a planner's lease is short and its claim lapses fast.
fn recheck_every(lease: Duration) -> Duration {
    Duration::from_secs(2).min(lease / 4).max(Duration::from_millis(50))
}

/// Records the result on the claimed record; a record that changed meanwhile (deleted) keeps its new state.
pub(crate) async fn finish(state: &TranscodeState, claimed: &VideoRecord, result: Result<MediaInfo, String>) -> anyhow::Result<Outcome> {
    let (transition, outcome) = match result {
        Ok(media) => (Transition::Ready(media), Outcome::Ready),
        Err(reason) => (Transition::Failed(reason.clone()), Outcome::Failed(reason)),
    };
    let mut current = claimed.clone();
    // The owner may edit the video (title, description, visibility) while it is processed: the end is applied to the
    // record as it is now, keeping the edit.
    for _ in 0..10 {
        let next = current.apply(transition.clone())?;
        match state.meta.replace(&next).await {
            Ok(()) => {
                settle_search(state, claimed, &next).await?;
                return Ok(outcome);
            }
            Err(StoreError::NotFound) => {
                // Deleted while it was processed: what this attempt published would be an orphan.
                state.search.remove(&claimed.id).await?;
                state.objects.delete_prefix(&claimed.id.media_prefix()).await?;
                return Ok(Outcome::Skipped("the video was deleted while it was processed"));
            }
            Err(StoreError::Conflict) => match state.meta.get(&claimed.id).await? {
                Some(now) if now.status == VideoStatus::Processing => current = now,
                Some(_) => return Ok(Outcome::Skipped("the video was finished by another attempt")),
                None => continue,
            },
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("the record of {} kept changing while it was being finished", claimed.id)
}

/// The search index after a video is finished: its document as the record now says if it is listed (a document put
/// before from an older record is replaced), none if it is ready but not listed.
async fn settle_search(state: &TranscodeState, indexed: &VideoRecord, finished: &VideoRecord) -> anyhow::Result<()> {
    if finished.is_listed() {
        if SearchDocument::of(finished) != SearchDocument::of(indexed) || !indexed.is_listed_when_ready() {
            state.search.put(&SearchDocument::of(finished)).await?;
        }
    } else if finished.status == VideoStatus::Ready {
        // Made unlisted or private while it was processed, perhaps after its document was put.
        state.search.remove(&finished.id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
