//! The chunk worker: one job, one chunk of every rendition (or the audio), stored as it is encoded and recorded by a
//! conditional write. Deliveries come at least once, late and in any order:
//!
//! - a job whose part is recorded already does nothing (a duplicate), and so does one whose video is no longer being
//!   processed (late, or deleted);
//! - a file fault fails the video with its reason; a fault of ours is an error, so the queue delivers the job again,
//!   and after [`MAX_ATTEMPTS`] deliveries the video fails with a reason that does not blame the file;
//! - the write that records the last part is the one that assembles: it takes the video's lease with that write, so
//!   a redelivered job assembles only if that worker died (its lease lapsed). Ready is one more conditional write.

use crate::jobs::{EncodeJob, Part};
use crate::publish::{Publisher, cache_control, store_playlist};
use crate::{Budget, MAX_ATTEMPTS, Outcome, TranscodeState, gave_up};
use framelift_media::chunks::{self, AUDIO, AudioRendition};
use framelift_media::hls::{MASTER, Measured, PLAYLIST_TYPE, POSTER_TYPE, VARIANT};
use framelift_media::sandbox::Limits;
use framelift_media::{AbsolutePath, Input, Rung, SourceInfo, SourceUrl, TranscodeError};
use framelift_shared::domain::{
    EncodedChunk, Encoding, MediaInfo, Recorded, Rendition, SearchDocument, Transition, VideoId, VideoRecord, VideoStatus,
};
use framelift_shared::ports::{Readable, StoreError};
use std::time::Duration;

/// How long a presigned source address works: longer than any worker may run.
pub const SOURCE_TTL: Duration = Duration::from_secs(3 * 3600);
/// How often the audio worker records how far it has got, so the start can be watched before it ends.
pub const AUDIO_REPORT_EVERY: Duration = Duration::from_secs(2);

/// How a job ended, when it did not end in an error to be retried.
enum Failure {
    /// The file's fault: the video fails with this reason.
    File(String),
    /// Ours: the queue delivers the job again.
    Ours(anyhow::Error),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Ours(e.into())
    }
}

impl From<TranscodeError> for Failure {
    fn from(e: TranscodeError) -> Self {
        match e {
            TranscodeError::Rejected(reason) => Failure::File(reason),
            TranscodeError::Failed(e) => Failure::Ours(e),
        }
    }
}

/// Where ffmpeg reads the video's source; a source that is gone is the upload's problem.
pub(crate) async fn source(state: &TranscodeState, id: &VideoId) -> Result<Input, TranscodeError> {
    match state.objects.readable(id.source_key().as_str(), SOURCE_TTL).await {
        Ok(Readable::Url(url)) => {
            Ok(Input::Url(SourceUrl::parse(&url).map_err(|e| anyhow::anyhow!("storage gave an address ffmpeg cannot read: {e}"))?))
        }
        Ok(Readable::File(path)) => Ok(Input::File(AbsolutePath::resolve(path).map_err(anyhow::Error::from)?)),
        Err(StoreError::NotFound) => Err(TranscodeError::Rejected("the uploaded file is missing from storage".into())),
        Err(e) => Err(TranscodeError::Failed(e.into())),
    }
}

/// Does one job, delivered for the `receive_count`th time. An error means "deliver it again".
pub async fn work(state: &TranscodeState, body: &str, receive_count: u32, budget: Budget) -> anyhow::Result<Outcome> {
    let job = EncodeJob::parse(body)?;
    let id = job.video;
    let Some(record) = state.meta.get(&id).await? else { return Ok(Outcome::Skipped("no longer there")) };
    let Some(encoding) = record.encoding.as_ref().filter(|_| record.status == VideoStatus::Processing) else {
        return Ok(Outcome::Skipped("not being encoded (finished, failed, or not planned)"));
    };
    let finished = match job.part {
        Part::Chunk(c) => encoding.has_chunk(c.index),
        Part::Audio => encoding.audio_finished || !encoding.has_audio,
    };
    if finished {
        return assemble_if_abandoned(state, record, &job.source).await;
    }
    if receive_count > MAX_ATTEMPTS {
        return fail(state, &id, gave_up()).await;
    }
    // Its own folder: a duplicate delivery may run beside it on the same machine (the local stack).
    let work = state.work_root.join(format!("framelift-{id}-{}-{}", part_folder(&job.part), VideoId::generate()));
    let _ = tokio::fs::remove_dir_all(&work).await;
    tokio::fs::create_dir_all(&work).await?;
    let result = encode(state, &job, &work, receive_count, budget).await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    match result {
        Ok(Written::Last(record)) => assemble(state, *record, &job.source).await,
        Ok(Written::Part) => Ok(Outcome::Recorded),
        Ok(Written::Already) => Ok(Outcome::Skipped("recorded already by a duplicate delivery")),
        Ok(Written::Abandoned) => {
            // Deleted or failed meanwhile: what this part stored would be an orphan.
            state.objects.delete_prefix(&id.media_prefix()).await?;
            Ok(Outcome::Skipped("the video was deleted or failed while this part was encoded"))
        }
        Err(Failure::File(reason)) => fail(state, &id, reason).await,
        Err(Failure::Ours(e)) => {
            tracing::warn!(job = job.name(), receive_count, error = format!("{e:#}"), "the job will be delivered again");
            Err(e)
        }
    }
}

fn part_folder(part: &Part) -> String {
    match part {
        Part::Chunk(c) => format!("chunk-{}", c.index),
        Part::Audio => "audio".into(),
    }
}

/// The wall-clock limit of encoding `seconds` of source within `budget`.
fn limits(state: &TranscodeState, seconds: f64, budget: Budget) -> Limits {
    let mut wall = state.options.allowed_for(seconds);
    if let Some(left) = budget.deadline.map(|d| d.saturating_duration_since(std::time::Instant::now())) {
        wall = wall.min(left.saturating_sub(budget.margin));
    }
    Limits { wall, memory_bytes: state.options.memory_bytes }
}

/// Encodes the job's part, storing it as it goes, and records it.
async fn encode(
    state: &TranscodeState,
    job: &EncodeJob,
    work: &AbsolutePath,
    receive_count: u32,
    budget: Budget,
) -> Result<Written, Failure> {
    let id = job.video;
    let input = source(state, &id).await?;
    let rungs = framelift_media::ladder::ladder(&job.source, state.options.max_short_side);
    let prefix = id.media_prefix();
    match job.part {
        Part::Chunk(chunk) => {
            let folders: Vec<String> = rungs.iter().map(|r| r.name.clone()).collect();
            let mut publisher = Publisher::new(state.objects.as_ref(), prefix.clone(), work.clone(), &folders);
            let length = chunk.length.unwrap_or(job.source.duration - chunk.start);
            let encode =
                chunks::encode_chunk(&state.tools.ffmpeg, &input, &job.source, &rungs, &chunk, work, limits(state, length, budget));
            let made = publisher.alongside(async { encode.await.map_err(Failure::from) }, |_| async {}).await?;
            if state.faults.crashes(&id, chunk.index, receive_count) {
                return Err(Failure::Ours(anyhow::anyhow!("fault injection: the worker crashed after storing its segments")));
            }
            let poster = chunk.index == 0 && store_poster(state, &input, job, rungs.last(), work).await?;
            let storyboard = store_storyboard(state, &id, chunk.index, work).await?;
            let done = EncodedChunk {
                index: chunk.index,
                first_segment: chunk.first_segment,
                segments: made.first().map(|s| s.iter().map(|s| s.duration).collect()).unwrap_or_default(),
                weights: publisher.weights(),
                poster,
                storyboard,
            };
            if done.segments.is_empty() {
                return Err(Failure::Ours(anyhow::anyhow!("chunk {} of {id} made no segments", chunk.index)));
            }
            tracing::info!(job = job.name(), segments = done.segments.len(), "part encoded");
            Ok(record(state, &id, |e| e.finish_chunk(done.clone())).await?)
        }
        Part::Audio => {
            let mut publisher = Publisher::new(state.objects.as_ref(), prefix, work.clone(), &[AUDIO.to_owned()]);
            let encode = chunks::encode_audio(&state.tools.ffmpeg, &input, &job.source, work, limits(state, job.source.duration, budget));
            let mut reported = std::time::Instant::now();
            let made = publisher
                .alongside(async { encode.await.map_err(Failure::from) }, |so_far| {
                    let due = reported.elapsed() >= AUDIO_REPORT_EVERY;
                    if due {
                        reported = std::time::Instant::now();
                    }
                    let so_far = so_far.to_vec();
                    async move {
                        if due && let Err(e) = record(state, &id, |e| e.advance_audio(&so_far, false)).await {
                            tracing::debug!(video = %id, error = %e, "audio progress not recorded");
                        }
                    }
                })
                .await?;
            let all: Vec<f64> = made.iter().map(|s| s.duration).collect();
            tracing::info!(job = job.name(), segments = all.len(), "part encoded");
            Ok(record(state, &id, |e| e.advance_audio(&all, true)).await?)
        }
    }
}

/// Stores the chunk's storyboard sprite beside the renditions; a chunk whose ffmpeg made none (a picture too short to
/// hold a frame) has none, and its stretch of the seek bar shows no preview.
async fn store_storyboard(state: &TranscodeState, id: &VideoId, chunk: u32, work: &AbsolutePath) -> Result<bool, StoreError> {
    let name = framelift_media::storyboard::sprite(chunk);
    let file = work.join(&name);
    if !file.is_file() {
        return Ok(false);
    }
    state.objects.upload(&format!("{}{name}", id.media_prefix()), &file, POSTER_TYPE, cache_control(POSTER_TYPE)).await?;
    let _ = tokio::fs::remove_file(&file).await;
    Ok(true)
}

/// Stores the poster beside the renditions; a poster that cannot be taken is not a failure (the page shows none).
async fn store_poster(
    state: &TranscodeState,
    input: &Input,
    job: &EncodeJob,
    top: Option<&Rung>,
    work: &AbsolutePath,
) -> Result<bool, StoreError> {
    let Some(top) = top else { return Ok(false) };
    let Some(file) = framelift_media::transcode::take_poster(&state.tools, input, work, &job.source, top, state.options.memory_bytes).await
    else {
        return Ok(false);
    };
    let key = format!("{}{}", job.video.media_prefix(), file.to_string_lossy());
    state.objects.upload(&key, &work.join(&file), POSTER_TYPE, cache_control(POSTER_TYPE)).await?;
    Ok(true)
}

/// What recording a part came to.
enum Written {
    /// Recorded; other parts are still to come.
    Part,
    /// Recorded, and it finished the encode: the writer holds the video's lease to assemble it.
    Last(Box<VideoRecord>),
    /// Recorded before (a duplicate delivery), or an older report than the one recorded.
    Already,
    /// The video was deleted or failed meanwhile.
    Abandoned,
}

/// Records a part with a conditional write, reading again when another worker wrote first.
async fn record(state: &TranscodeState, id: &VideoId, update: impl Fn(&Encoding) -> Recorded) -> Result<Written, StoreError> {
    for attempt in 0..50u64 {
        let Some(current) = state.meta.get(id).await? else { return Ok(Written::Abandoned) };
        if current.status != VideoStatus::Processing {
            return Ok(if current.status == VideoStatus::Ready { Written::Already } else { Written::Abandoned });
        }
        let Some(encoding) = current.encoding.as_ref() else { return Ok(Written::Abandoned) };
        let (next, complete) = match update(encoding) {
            Recorded::Already => return Ok(Written::Already),
            Recorded::Write { next, complete } => (*next, complete),
        };
        let hold = if complete { state.lease } else { state.stall };
        let next = current.encoding(next, time::OffsetDateTime::now_utc(), hold);
        match state.meta.replace(&next).await {
            Ok(()) if complete => return Ok(Written::Last(Box::new(next))),
            Ok(()) => return Ok(Written::Part),
            Err(StoreError::Conflict) => tokio::time::sleep(Duration::from_millis(5 + attempt * 7 % 40)).await,
            Err(StoreError::NotFound) => return Ok(Written::Abandoned),
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::unavailable(std::io::Error::other(format!("the record of {id} kept changing while a part was recorded"))))
}

/// A redelivered job of a finished part: if the encode is complete and whoever recorded its last part died before
/// making it ready (the lease it took lapsed), this delivery takes the lease over and assembles.
async fn assemble_if_abandoned(state: &TranscodeState, record: VideoRecord, source: &SourceInfo) -> anyhow::Result<Outcome> {
    let now = time::OffsetDateTime::now_utc();
    let Some(encoding) = record.encoding.clone().filter(|e| e.is_complete()) else { return Ok(Outcome::Skipped("recorded already")) };
    if record.lease_until.is_some_and(|t| t > now) {
        return Ok(Outcome::Skipped("recorded already; another worker is assembling"));
    }
    let taken = record.encoding(encoding, now, state.lease);
    match state.meta.replace(&taken).await {
        Ok(()) => assemble(state, taken, source).await,
        Err(StoreError::Conflict | StoreError::NotFound) => Ok(Outcome::Skipped("recorded already; another worker took it over")),
        Err(e) => Err(e.into()),
    }
}

/// Publishes the finished playlists (VOD now), makes the video findable and then ready. Every step can be repeated:
/// a worker that dies part way leaves its lease to lapse, and a redelivery assembles again.
pub(crate) async fn assemble(state: &TranscodeState, record: VideoRecord, source: &SourceInfo) -> anyhow::Result<Outcome> {
    let id = record.id;
    let encoding = record.encoding.clone().ok_or_else(|| anyhow::anyhow!("{id} has no encode to assemble"))?;
    let rungs = framelift_media::ladder::ladder(source, state.options.max_short_side);
    anyhow::ensure!(
        rungs.iter().map(|r| &r.name).eq(encoding.renditions.iter()),
        "the ladder of {id} is not the one planned: {:?} against {:?}",
        rungs.iter().map(|r| &r.name).collect::<Vec<_>>(),
        encoding.renditions
    );
    let work = state.work_root.join(format!("framelift-{id}-assemble-{}", VideoId::generate()));
    tokio::fs::create_dir_all(&work).await?;
    let prefix = id.media_prefix();
    let store = async |path: String, text: String| store_playlist(state.objects.as_ref(), &work, &prefix, &path, text).await;
    let video = chunks::numbered(&encoding.video_segments());
    for r in &rungs {
        store(format!("{}/{VARIANT}", r.name), chunks::media_playlist(&video, true)).await?;
    }
    let audio = AudioRendition::of(source);
    if audio.is_some() {
        store(format!("{AUDIO}/{VARIANT}"), chunks::media_playlist(&chunks::numbered(&encoding.audio_segments), true)).await?;
    }
    let rates = encoding.rates();
    let measured: Vec<(Rung, Option<Measured>)> = rungs
        .iter()
        .zip(&rates)
        .map(|(r, (average, peak))| (r.clone(), Some(Measured { peak_bps: *peak, average_bps: *average, segments: vec![] })))
        .collect();
    store(MASTER.to_owned(), chunks::master_playlist(&measured, audio)).await?;
    // The storyboard's index, if every chunk made its sprite (the seek bar previews the whole video or none of it).
    let run = encoding.storyboard_run();
    let storyboard = run.len() == encoding.done.len() && !run.is_empty();
    if storyboard {
        let index = framelift_media::storyboard::index(&run, encoding.width, encoding.height);
        let key = format!("{prefix}{}", framelift_media::storyboard::INDEX);
        state.objects.put(&key, index.into_bytes(), "text/vtt; charset=utf-8", cache_control(PLAYLIST_TYPE)).await?;
    }
    let _ = tokio::fs::remove_dir_all(&work).await;
    // Findable before the record says ready (if it is to be listed; `finish` settles the index with the final record).
    if record.is_listed_when_ready() {
        state.search.put(&SearchDocument::of(&record)).await?;
    }
    let media = MediaInfo {
        duration_seconds: (encoding.duration() * 1000.0).round() / 1000.0,
        width: encoding.width,
        height: encoding.height,
        renditions: rungs
            .iter()
            .zip(&rates)
            .map(|(r, (_, peak))| Rendition {
                width: r.width,
                height: r.height,
                bandwidth: peak + audio.map_or(0, |a| u64::from(a.kbps) * 1000),
            })
            .collect(),
        poster_key: encoding.has_poster().then(|| format!("{prefix}{}", framelift_media::transcode::POSTER)),
        storyboard,
    };
    crate::finish(state, &record, Ok(media)).await
}

/// Fails the video with `reason`, whatever other workers wrote meanwhile; a video no longer processing is left alone.
async fn fail(state: &TranscodeState, id: &VideoId, reason: String) -> anyhow::Result<Outcome> {
    for _ in 0..50 {
        let Some(current) = state.meta.get(id).await? else { return Ok(Outcome::Skipped("no longer there")) };
        if current.status != VideoStatus::Processing {
            return Ok(Outcome::Skipped("no longer processing"));
        }
        let next = current.apply(Transition::Failed(reason.clone()))?;
        match state.meta.replace(&next).await {
            Ok(()) => {
                // What its chunks stored would never play. (A worker still encoding finds the video failed when it
                // records, and what it stores after this is removed with the video.)
                state.objects.delete_prefix(&id.media_prefix()).await?;
                return Ok(Outcome::Failed(reason));
            }
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound) => return Ok(Outcome::Skipped("no longer there")),
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("the record of {id} kept changing while it was being failed")
}

/// One invocation of the `encode` function: a batch of jobs from the queue (one, as the template wires it). A job that
/// failed for a reason of ours is reported back, alone, so the queue delivers it again and deletes the rest.
pub async fn batch(
    state: &TranscodeState,
    event: aws_lambda_events::event::sqs::SqsEvent,
    budget: Budget,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let receive_count = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        let outcome = match message.body.as_deref() {
            Some(body) => work(state, body, receive_count, budget).await,
            None => Err(anyhow::anyhow!("a message without a body")),
        };
        match outcome {
            Ok(outcome) => tracing::info!(message = id, ?outcome, "job done"),
            Err(e) => {
                tracing::error!(message = id, receive_count, error = format!("{e:#}"), "job failed; the queue delivers it again");
                let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}
