//! The transcode function: an S3 `ObjectCreated` event under `uploads/` turns the video's source into an HLS ladder
//! under `media/{id}/` and the video into `ready`, or into `failed` with a reason a person understands.
//!
//! S3 delivers events at least once and out of order, and Lambda retries failures, so every step is safe to repeat:
//! an attempt claims the video with a conditional write and a lease ([`VideoRecord::claim`]); a duplicate event finds
//! the video claimed (and does nothing) or finished (and does nothing); a crashed attempt's lease lapses and the next
//! event, retry or sweep takes over. A bad file is the uploader's problem: the video fails with the reason and the
//! function succeeds, so nothing retries it. A fault of ours (storage or database unreachable) releases the lease and
//! returns an error, so Lambda retries.
//!
//! The search document is written after the renditions and before the record says ready, so a video that is ready
//! can be found; if that write fails, the attempt gives the video back like any fault of ours and is retried.

use aws_lambda_events::event::s3::S3Event;
use framelift_media::{AbsolutePath, Options, Tools, TranscodeError};
use framelift_shared::domain::{
    Claim, ListQuery, MediaInfo, ObjectKey, Rendition, SearchDocument, Transition, VideoId, VideoRecord, VideoStatus,
};
use framelift_shared::ports::{MetadataStore, ObjectStore, SearchIndex, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// After this many attempts a video fails rather than being tried again.
pub const MAX_ATTEMPTS: u32 = 3;

/// The reason a video fails with when every attempt failed for a reason of ours: the file is not blamed.
pub fn gave_up() -> String {
    format!("processing failed {MAX_ATTEMPTS} times for reasons of ours, not of the file; upload it again later")
}

/// What the transcoder needs.
pub struct TranscodeState {
    pub meta: Arc<dyn MetadataStore>,
    pub objects: Arc<dyn ObjectStore>,
    pub search: Arc<dyn SearchIndex>,
    pub tools: Tools,
    /// Where sources are downloaded and outputs made (`/tmp` on Lambda).
    pub work_root: AbsolutePath,
    pub options: Options,
    /// How long an attempt owns a video: longer than the function may run.
    pub lease: Duration,
    /// Fault injection for reliability tests; [`Faults::NONE`] everywhere else.
    pub faults: Faults,
}

/// Faults a test can switch on. A crash stops a video's first attempt part way through publishing, as a killed
/// process would: some renditions written, the lease still held, nothing recorded; the lease must lapse and a retry
/// or sweep take over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Crash the first attempt of one video in this many (chosen by id, so the same videos every run); 0: never.
    pub crash_one_in: u32,
}

impl Faults {
    pub const NONE: Faults = Faults { crash_one_in: 0 };

    fn crashes(&self, record: &VideoRecord) -> bool {
        use std::hash::{Hash, Hasher};
        if self.crash_one_in == 0 || record.attempts != 1 {
            return false;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        record.id.hash(&mut h);
        h.finish().is_multiple_of(u64::from(self.crash_one_in))
    }
}

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
/// A sweep takes no further video once less than this is left of its invocation.
pub const SWEEP_MIN_LEFT: Duration = Duration::from_secs(300);

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

/// What became of one video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
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

/// [`process`] within an invocation's budget. While the attempt runs it beats: it renews its lease and writes its
/// progress every [`heartbeat_every`].
pub async fn process_within(state: &TranscodeState, id: VideoId, budget: Budget) -> anyhow::Result<Outcome> {
    let claimed = match claim_or_wait(state, id, budget).await? {
        Claimed::Mine(record) => *record,
        Claimed::Busy(_) => return Ok(Outcome::Skipped("another attempt is alive and working on it")),
        Claimed::Nothing => return Ok(Outcome::Skipped("finished, or no longer there")),
    };
    if claimed.attempts > MAX_ATTEMPTS {
        return finish(state, &claimed, Err(gave_up())).await;
    }
    let work = state.work_root.join(format!("framelift-{id}"));
    let held = Held::new(claimed.clone());
    let result = {
        let attempt = run(state, &claimed, &held, &work, budget);
        tokio::pin!(attempt);
        let mut tick = tokio::time::interval(heartbeat_every(state.lease));
        tick.tick().await;
        loop {
            tokio::select! {
                done = &mut attempt => break done,
                _ = tick.tick() => held.beat(state).await,
            }
        }
    };
    let _ = tokio::fs::remove_dir_all(&work).await;
    // Progress writes moved the record on; what follows writes over the latest of them.
    let claimed = held.record.into_inner();
    match result {
        Ok(media) => finish(state, &claimed, Ok(media)).await,
        Err(Attempt::Rejected(reason)) => finish(state, &claimed, Err(reason)).await,
        // As if the process had died: the lease stays until it lapses.
        Err(Attempt::Crashed) => anyhow::bail!("fault injection: the attempt crashed part way through publishing"),
        Err(Attempt::Transient(e)) => {
            // Give the video back at once so Lambda's retry can claim it; if even that fails, the lease lapses.
            if let Err(release) = state.meta.replace(&claimed.release()).await {
                tracing::warn!(video = %id, error = %release, "could not release the lease");
            }
            Err(e)
        }
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

/// Claims the video; while another attempt's lease runs, watches whether that attempt is alive. A live attempt writes
/// (a heartbeat, its progress) at least once per half lease; a dead one (timed out, crashed) writes nothing, and its
/// lease lapses into this attempt's hands. Lambda retries a failed attempt while its lease still runs, so without the
/// wait the retry would find the video busy, succeed having done nothing, and leave the video to the sweep.
async fn claim_or_wait(state: &TranscodeState, id: VideoId, budget: Budget) -> anyhow::Result<Claimed> {
    let mut seen: Option<u64> = None;
    loop {
        let record = match claim(state, id).await? {
            Claimed::Busy(record) => record,
            other => return Ok(other),
        };
        if seen.is_some_and(|v| v != record.version) {
            return Ok(Claimed::Busy(record));
        }
        seen = Some(record.version);
        let now = time::OffsetDateTime::now_utc();
        let lapses_in = record.lease_until.map_or(Duration::ZERO, |t| Duration::try_from(t - now).unwrap_or(Duration::ZERO));
        // Not worth waiting for when too little of the invocation would be left; the sweep takes it then.
        if budget.left().is_some_and(|left| left < lapses_in + budget.margin) {
            return Ok(Claimed::Busy(record));
        }
        tokio::time::sleep(heartbeat_every(state.lease).min(lapses_in).max(Duration::from_millis(20))).await;
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

/// How often an attempt writes how far its encode has got (and renews its lease).
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// How often an attempt beats: every [`PROGRESS_EVERY`], or oftener for a lease so short that it could lapse between.
pub fn heartbeat_every(lease: Duration) -> Duration {
    PROGRESS_EVERY.min(lease / 4).max(Duration::from_millis(50))
}

/// The claimed record as this attempt last wrote it. Progress writes move its version on; the final write starts from
/// the latest.
struct Held {
    record: tokio::sync::Mutex<VideoRecord>,
    /// Thousandths encoded, as ffmpeg last reported (`u32::MAX`: nothing yet).
    reported: std::sync::atomic::AtomicU32,
}

impl Held {
    fn new(record: VideoRecord) -> Self {
        Self { record: tokio::sync::Mutex::new(record), reported: std::sync::atomic::AtomicU32::new(u32::MAX) }
    }

    /// Keeps what the encoder said (called from the encode's watcher, often).
    fn heard(&self, p: framelift_media::Progress) {
        if p.total > 0.0 {
            let permille = ((p.done / p.total).clamp(0.0, 1.0) * 1000.0).round() as u32;
            self.reported.store(permille, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// One heartbeat: writes the last report if it moved by a percent or more, and renews the lease once half of it
    /// is spent. A lost write is not retried: the next beat may land, and a record that changed under us (deleted) is
    /// left for the final write to find.
    async fn beat(&self, state: &TranscodeState) {
        let heard = self.reported.load(std::sync::atomic::Ordering::Relaxed);
        let mut record = self.record.lock().await;
        let written = record.progress_permille.map_or(-100, i64::from);
        let moved = heard != u32::MAX && i64::from(heard) - written >= 10;
        let now = time::OffsetDateTime::now_utc();
        let half = time::Duration::try_from(state.lease / 2).unwrap_or(time::Duration::ZERO);
        let renew = record.lease_until.is_none_or(|until| until - now < half);
        if !moved && !renew {
            return;
        }
        let next = record.heartbeat(now, state.lease, moved.then(|| f64::from(heard) / 1000.0));
        match state.meta.replace(&next).await {
            Ok(()) => *record = next,
            Err(e) => tracing::debug!(video = %record.id, error = %e, "heartbeat not written"),
        }
    }
}

enum Attempt {
    Rejected(String),
    Transient(anyhow::Error),
    Crashed,
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        Attempt::Transient(e.into())
    }
}

/// Download, transcode, publish.
async fn run(state: &TranscodeState, record: &VideoRecord, held: &Held, work: &AbsolutePath, budget: Budget) -> Result<MediaInfo, Attempt> {
    let _ = tokio::fs::remove_dir_all(work).await;
    tokio::fs::create_dir_all(work).await.map_err(|e| Attempt::Transient(e.into()))?;
    // Named by us, without an extension: ffmpeg must not pick a demuxer from a name the client chose.
    let input = work.join("source");
    match state.objects.download(record.id.source_key().as_str(), &input).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(Attempt::Rejected("the uploaded file is missing from storage".into())),
        Err(e) => return Err(e.into()),
    }
    let out = work.join("out");
    // The encode ends in time to publish before the invocation does.
    let mut options = state.options.clone();
    if let Some(left) = budget.left() {
        options.max_wall = Some(left.saturating_sub(budget.margin));
    }
    let heard = |p| held.heard(p);
    let output = match framelift_media::transcode_watched(&state.tools, &input, &out, &options, &heard).await {
        Ok(output) => output,
        Err(TranscodeError::Rejected(reason)) => return Err(Attempt::Rejected(reason)),
        Err(TranscodeError::Failed(e)) => return Err(Attempt::Transient(e)),
    };
    let prefix = record.id.media_prefix();
    let crash_at = state.faults.crashes(record).then_some(output.files.len() / 2);
    for (i, (path, content_type)) in output.files.iter().enumerate() {
        if crash_at == Some(i) {
            return Err(Attempt::Crashed);
        }
        let key = format!("{prefix}{}", path.to_string_lossy());
        state.objects.upload(&key, &out.join(path), content_type, cache_control(content_type)).await?;
    }
    // Findable before the record says ready (a fault here gives the video back for a retry).
    state.search.put(&SearchDocument::of(record)).await?;
    Ok(MediaInfo {
        duration_seconds: (output.source.duration * 1000.0).round() / 1000.0,
        width: output.source.width,
        height: output.source.height,
        renditions: output.rungs.iter().map(|(r, m)| Rendition { width: r.width, height: r.height, bandwidth: m.peak_bps }).collect(),
        poster_key: output.poster.map(|p| format!("{prefix}{}", p.to_string_lossy())),
    })
}

/// Segments and posters never change under their key; playlists are cached for less in case a signer rewrites them.
fn cache_control(content_type: &str) -> &'static str {
    if content_type == "application/vnd.apple.mpegurl" { "public, max-age=300" } else { "public, max-age=31536000, immutable" }
}

/// Records the result on the claimed record; a record that changed meanwhile (deleted) keeps its new state.
async fn finish(state: &TranscodeState, claimed: &VideoRecord, result: Result<MediaInfo, String>) -> anyhow::Result<Outcome> {
    let (transition, outcome) = match result {
        Ok(media) => (Transition::Ready(media), Outcome::Ready),
        Err(reason) => (Transition::Failed(reason.clone()), Outcome::Failed(reason)),
    };
    let next = claimed.apply(transition)?;
    match state.meta.replace(&next).await {
        Ok(()) => Ok(outcome),
        Err(StoreError::NotFound) => {
            // Deleted while it was processed: what this attempt published would be an orphan.
            state.search.remove(&claimed.id).await?;
            state.objects.delete_prefix(&claimed.id.media_prefix()).await?;
            Ok(Outcome::Skipped("the video was deleted while it was processed"))
        }
        Err(StoreError::Conflict) => Ok(Outcome::Skipped("the video changed while it was processed")),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
