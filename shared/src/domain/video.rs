//! The video record and its status machine: uploading → processing → ready | failed. Nothing else moves.

use super::{ContentType, Description, Encoding, Title, UploadId, UploadPlan, UserId, VideoId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a video is in its life.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoStatus {
    Uploading,
    Processing,
    Ready,
    Failed,
}

impl VideoStatus {
    /// The only moves the machine allows.
    pub fn can_become(self, next: VideoStatus) -> bool {
        use VideoStatus::*;
        matches!((self, next), (Uploading, Processing) | (Processing, Ready) | (Processing, Failed))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VideoStatus::Uploading => "uploading",
            VideoStatus::Processing => "processing",
            VideoStatus::Ready => "ready",
            VideoStatus::Failed => "failed",
        }
    }
}

/// Who may see a video. Public: anyone, and it is listed and found by search. Unlisted: anyone with its link, never
/// listed or found. Private: its owner alone.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Unlisted,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
        }
    }
}

impl std::str::FromStr for Visibility {
    type Err = super::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" => Ok(Visibility::Public),
            "unlisted" => Ok(Visibility::Unlisted),
            "private" => Ok(Visibility::Private),
            other => Err(super::ParseError::new(format!(
                "visibility '{other}' is not one of public (listed and searchable), unlisted (anyone with the link) or private (only you)"
            ))),
        }
    }
}

/// What an owner changes about a video after uploading it; what is `None` stays as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edit {
    pub title: Option<Title>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<Description>>,
    pub visibility: Option<Visibility>,
}

/// Who made a video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub id: UserId,
    pub name: String,
}

/// The storage side of an upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadState {
    pub upload_id: UploadId,
    pub content_type: ContentType,
    pub plan: UploadPlan,
}

/// One rung of the HLS ladder.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    pub bandwidth: u64,
}

/// What the transcoder learnt and made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaInfo {
    pub duration_seconds: f64,
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<Rendition>,
    /// Key of the poster image in the bucket.
    pub poster_key: Option<String>,
    /// Whether the storyboard (seek-bar previews: `storyboard.vtt` and its sprites) was stored.
    #[serde(default)]
    pub storyboard: bool,
}

/// The stored record of a video: the public fields plus what the platform needs to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoRecord {
    pub id: VideoId,
    pub title: Title,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    pub author: Author,
    pub status: VideoStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub upload: UploadState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaInfo>,
    /// While processing: until when the current transcode attempt owns the video. Past it, another may take over.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    /// How many transcode attempts have claimed the video.
    #[serde(default)]
    pub attempts: u32,
    /// While processing in chunks: the plan and what of it is finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    /// Who may see it (records from before this field are public).
    #[serde(default)]
    pub visibility: Visibility,
    /// Captions by language, in the order of their tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captions: Vec<super::CaptionTrack>,
    /// Bumped by every write; stores replace a record only if the version they hold is the one the writer read.
    pub version: u64,
}

/// A move of the status machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// Every part is held and storage assembled the source.
    BeginProcessing,
    Ready(MediaInfo),
    Failed(String),
}

impl Transition {
    fn target(&self) -> VideoStatus {
        match self {
            Transition::BeginProcessing => VideoStatus::Processing,
            Transition::Ready(_) => VideoStatus::Ready,
            Transition::Failed(_) => VideoStatus::Failed,
        }
    }
}

/// The answer to [`VideoRecord::claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Write this record (conditionally) and the attempt owns the video.
    Claimed(Box<VideoRecord>),
    /// Another attempt holds a live lease.
    Busy,
    /// The video is ready or failed already.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a video that is {} cannot become {}", .from.as_str(), .to.as_str())]
pub struct TransitionError {
    pub from: VideoStatus,
    pub to: VideoStatus,
}

impl VideoRecord {
    /// A video whose bytes are about to be uploaded.
    pub fn new_upload(
        id: VideoId,
        title: Title,
        description: Option<Description>,
        author: Author,
        upload: UploadState,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            title,
            description,
            author,
            status: VideoStatus::Uploading,
            failure_reason: None,
            // Whole seconds: the API shows `2026-11-24T10:00:00Z`.
            created_at: now.replace_nanosecond(0).expect("0 is a valid nanosecond"),
            upload,
            media: None,
            lease_until: None,
            attempts: 0,
            encoding: None,
            visibility: Visibility::Public,
            captions: Vec::new(),
            version: 1,
        }
    }

    pub fn is_owned_by(&self, user: &UserId) -> bool {
        &self.author.id == user
    }

    /// Whether `viewer` (anonymous when `None`) may see the video and watch what of it is encoded: its owner always;
    /// anyone else once it can be watched, unless it is private.
    pub fn is_visible_to(&self, viewer: Option<&UserId>) -> bool {
        viewer.is_some_and(|v| self.is_owned_by(v)) || (self.is_watchable() && self.visibility != Visibility::Private)
    }

    /// Whether the video belongs in the public catalogue and in search: ready and public.
    pub fn is_listed(&self) -> bool {
        self.status == VideoStatus::Ready && self.visibility == Visibility::Public
    }

    /// Whether the video will be listed once it is ready: it is public.
    pub fn is_listed_when_ready(&self) -> bool {
        self.visibility == Visibility::Public
    }

    /// The record with `track` among its captions (replacing the same language's) and its version bumped.
    pub fn with_captions(&self, track: super::CaptionTrack) -> VideoRecord {
        let mut next = self.clone();
        next.captions.retain(|t| t.language != track.language);
        next.captions.push(track);
        next.captions.sort_by(|a, b| a.language.cmp(&b.language));
        next.version += 1;
        next
    }

    /// The record without the captions in `language` (`None` if it has none) and its version bumped.
    pub fn without_captions(&self, language: &super::Language) -> Option<VideoRecord> {
        let mut next = self.clone();
        next.captions.retain(|t| &t.language != language);
        (next.captions.len() < self.captions.len()).then(|| {
            next.version += 1;
            next
        })
    }

    /// The record with `edit` applied and its version bumped.
    pub fn edited(&self, edit: Edit) -> VideoRecord {
        let mut next = self.clone();
        if let Some(title) = edit.title {
            next.title = title;
        }
        if let Some(description) = edit.description {
            next.description = description;
        }
        if let Some(visibility) = edit.visibility {
            next.visibility = visibility;
        }
        next.version += 1;
        next
    }

    /// The record after `t`, with its version bumped, or why the machine refuses it.
    pub fn apply(&self, t: Transition) -> Result<VideoRecord, TransitionError> {
        let to = t.target();
        if !self.status.can_become(to) {
            return Err(TransitionError { from: self.status, to });
        }
        let mut next = self.clone();
        next.status = to;
        next.version += 1;
        match t {
            Transition::BeginProcessing => {}
            Transition::Ready(media) => next.media = Some(media),
            Transition::Failed(reason) => next.failure_reason = Some(reason),
        }
        if next.status != VideoStatus::Processing {
            next.lease_until = None;
            next.encoding = None;
        }
        Ok(next)
    }

    /// A transcode attempt's claim on the video at `now`, holding it for `lease`.
    ///
    /// An upload whose processing has not been recorded yet (the storage event can overtake `complete`'s write) is
    /// moved to processing; a video in processing whose lease has lapsed (a crashed attempt) is taken over; one whose
    /// lease is live belongs to another attempt; a finished one is left alone.
    pub fn claim(&self, now: OffsetDateTime, lease: std::time::Duration) -> Claim {
        let mut next = match self.status {
            VideoStatus::Uploading => self.apply(Transition::BeginProcessing).expect("uploading may begin processing"),
            VideoStatus::Processing if self.lease_until.is_some_and(|t| t > now) => return Claim::Busy,
            VideoStatus::Processing => {
                let mut n = self.clone();
                n.version += 1;
                n
            }
            VideoStatus::Ready | VideoStatus::Failed => return Claim::Done,
        };
        next.lease_until = Some(now + lease);
        // Queueing a planned encode's unfinished parts again is not another attempt: each part counts its own.
        if next.encoding.is_none() {
            next.attempts += 1;
        }
        Claim::Claimed(Box::new(next))
    }

    /// The record with its lease given up (after a transient failure), so that a retry may claim it at once.
    pub fn release(&self) -> VideoRecord {
        let mut next = self.clone();
        next.lease_until = None;
        next.version += 1;
        next
    }

    /// The record with `encoding` as its encode's state, held by whoever wrote it for `lease` from `now` (the planner,
    /// or the worker that finishes the encode and assembles it).
    pub fn encoding(&self, encoding: Encoding, now: OffsetDateTime, lease: std::time::Duration) -> VideoRecord {
        let mut next = self.clone();
        next.encoding = Some(encoding);
        next.lease_until = Some(now + lease);
        next.version += 1;
        next
    }

    /// How many seconds from the start can be watched: all of a ready video, what is finished of one in processing.
    pub fn playable_seconds(&self) -> Option<f64> {
        match self.status {
            VideoStatus::Ready => self.media.as_ref().map(|m| m.duration_seconds),
            VideoStatus::Processing => self.encoding.as_ref().map(Encoding::playable_seconds).filter(|s| *s > 0.0),
            _ => None,
        }
    }

    /// Whether it can be watched: ready, or processing with its start encoded. Such a video is public (its page and
    /// its playlists); lists and search show it once it is ready.
    pub fn is_watchable(&self) -> bool {
        self.status == VideoStatus::Ready || self.playable_seconds().is_some()
    }

    /// How this upload is cut into parts.
    pub fn plan(&self) -> &UploadPlan {
        &self.upload.plan
    }

    /// The public view of the record (API.md's video object). Signed URLs are added by whoever can sign them.
    pub fn to_video(&self) -> Video {
        let media = self.media.as_ref();
        Video {
            id: self.id,
            title: self.title.as_str().to_owned(),
            description: self.description.as_ref().map(|d| d.as_str().to_owned()),
            author: VideoAuthor { id: self.author.id.as_str().to_owned(), name: self.author.name.clone() },
            status: self.status,
            failure_reason: self.failure_reason.clone(),
            created_at: self.created_at,
            size_bytes: self.upload.plan.size,
            duration_seconds: media.map(|m| m.duration_seconds),
            width: media.map(|m| m.width),
            height: media.map(|m| m.height),
            renditions: media.map(|m| m.renditions.clone()),
            poster_url: None,
            progress: self.progress(),
            playable_seconds: self.playable_seconds().map(|s| (s * 1000.0).round() / 1000.0),
            visibility: self.visibility,
            captions: Some(self.captions.clone()).filter(|c| !c.is_empty()),
            chapters: Some(super::chapters(self.description.as_ref().map_or("", |d| d.as_str()), media.map(|m| m.duration_seconds)))
                .filter(|c| !c.is_empty()),
        }
    }

    /// While processing: the fraction of the planned parts finished.
    fn progress(&self) -> Option<f64> {
        let encoding = self.encoding.as_ref().filter(|_| self.status == VideoStatus::Processing)?;
        Some((encoding.progress() * 1000.0).round() / 1000.0)
    }
}

/// The video object of API.md. Fields not known yet are absent, never null.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Video {
    pub id: VideoId,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub description: Option<String>,
    pub author: VideoAuthor,
    pub status: VideoStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub failure_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub duration_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub renditions: Option<Vec<Rendition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub poster_url: Option<String>,
    /// While processing: the fraction of the source encoded so far (0 to 1), once the encoder has reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, minimum = 0, maximum = 1))]
    pub progress: Option<f64>,
    /// How many seconds from the start can be watched now: the whole video once ready, and while processing whatever
    /// is finished from the start (absent until the first seconds are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub playable_seconds: Option<f64>,
    /// Who may see it.
    #[serde(default)]
    pub visibility: Visibility,
    /// The languages it has captions in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub captions: Option<Vec<super::CaptionTrack>>,
    /// The chapters the description marks (lines that begin "0:00 Intro"), when they make a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub chapters: Option<Vec<super::Chapter>>,
}

/// The author as the API shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoAuthor {
    pub id: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    pub(crate) fn sample() -> VideoRecord {
        VideoRecord::new_upload(
            "01JDX3W9K7Q4T2B8N6M5R0ZC1A".parse().unwrap(),
            "Day 9".parse().unwrap(),
            Some("Adaptive bitrate streaming".parse().unwrap()),
            Author { id: "1234567890".parse().unwrap(), name: "Alice".into() },
            UploadState {
                upload_id: "up-1".parse().unwrap(),
                content_type: ContentType::parse("video/mp4").unwrap(),
                plan: UploadPlan::new(61_581_333, 8 * 1024 * 1024).unwrap(),
            },
            datetime!(2026-11-24 10:00:00.123 UTC),
        )
    }

    #[test]
    fn progress_and_playable_seconds_show_what_the_plan_has_finished() {
        let now = datetime!(2026-11-24 10:00:00 UTC);
        let Claim::Claimed(claimed) = sample().claim(now, std::time::Duration::from_secs(60)) else { panic!("claimable") };
        assert_eq!((claimed.to_video().progress, claimed.to_video().playable_seconds), (None, None), "nothing planned yet");
        let plan = Encoding {
            chunks: 2,
            renditions: vec!["180p".into()],
            has_audio: false,
            width: 320,
            height: 180,
            done: vec![],
            audio_segments: vec![],
            audio_finished: false,
        };
        let planned = claimed.encoding(plan.clone(), now, std::time::Duration::from_secs(3600));
        assert_eq!((planned.version, planned.lease_until), (claimed.version + 1, Some(now + time::Duration::hours(1))));
        assert_eq!((planned.to_video().progress, planned.is_watchable()), (Some(0.0), false));
        let chunk = |index| crate::domain::EncodedChunk {
            index,
            first_segment: index * 10,
            segments: vec![6.0; 10],
            weights: vec![],
            poster: false,
            storyboard: false,
        };
        let crate::domain::Recorded::Write { next, .. } = plan.finish_chunk(chunk(0)) else { panic!("a first chunk is written") };
        let half = planned.encoding(*next, now, std::time::Duration::from_secs(3600));
        let json = serde_json::to_value(half.to_video()).unwrap();
        assert_eq!((json["progress"].as_f64(), json["playableSeconds"].as_f64()), (Some(0.5), Some(60.0)));
        assert!(half.is_watchable());
        let later = now + time::Duration::hours(2);
        let Claim::Claimed(again) = half.claim(later, std::time::Duration::from_secs(60)) else { panic!("lapsed") };
        assert_eq!((again.attempts, again.to_video().playable_seconds), (half.attempts, Some(60.0)), "queued again, not a new attempt");
        let media = MediaInfo { duration_seconds: 120.0, width: 2, height: 2, renditions: vec![], poster_key: None, storyboard: false };
        let ready = half.apply(Transition::Ready(media)).unwrap();
        assert_eq!((ready.encoding.as_ref(), ready.to_video().progress, ready.to_video().playable_seconds), (None, None, Some(120.0)));
        assert!(serde_json::to_value(ready.to_video()).unwrap().get("progress").is_none(), "absent, never null");
    }

    #[test]
    fn the_machine_allows_only_its_moves() {
        use VideoStatus::*;
        let all = [Uploading, Processing, Ready, Failed];
        let allowed: Vec<_> = all.iter().flat_map(|a| all.iter().map(move |b| (*a, *b))).filter(|(a, b)| a.can_become(*b)).collect();
        assert_eq!(allowed, [(Uploading, Processing), (Processing, Ready), (Processing, Failed)]);
    }

    #[test]
    fn apply_moves_and_bumps_the_version() {
        let rec = sample();
        assert_eq!(rec.version, 1);
        let processing = rec.apply(Transition::BeginProcessing).unwrap();
        assert_eq!((processing.status, processing.version), (VideoStatus::Processing, 2));
        assert_eq!(
            processing.apply(Transition::BeginProcessing),
            Err(TransitionError { from: VideoStatus::Processing, to: VideoStatus::Processing })
        );
        let failed = processing.apply(Transition::Failed("not a video file".into())).unwrap();
        assert_eq!(failed.failure_reason.as_deref(), Some("not a video file"));
        assert!(
            failed
                .apply(Transition::Ready(MediaInfo {
                    duration_seconds: 1.0,
                    width: 2,
                    height: 2,
                    renditions: vec![],
                    poster_key: None,
                    storyboard: false
                }))
                .is_err()
        );
        assert!(rec.apply(Transition::Failed("x".into())).is_err(), "an upload cannot fail before it is processed");
    }

    #[test]
    fn claims_take_over_only_lapsed_leases() {
        let now = datetime!(2026-11-24 10:00:00 UTC);
        let lease = std::time::Duration::from_secs(900);
        let Claim::Claimed(first) = sample().claim(now, lease) else { panic!("an upload can be claimed") };
        assert_eq!((first.status, first.attempts, first.version), (VideoStatus::Processing, 1, 2));
        assert_eq!(first.lease_until, Some(now + lease));
        assert_eq!(first.claim(now + std::time::Duration::from_secs(60), lease), Claim::Busy);
        let Claim::Claimed(second) = first.claim(now + lease, lease) else { panic!("a lapsed lease is taken over") };
        assert_eq!((second.attempts, second.version), (2, 3));
        let ready = second
            .apply(Transition::Ready(MediaInfo {
                duration_seconds: 1.0,
                width: 2,
                height: 2,
                renditions: vec![],
                poster_key: None,
                storyboard: false,
            }))
            .unwrap();
        assert_eq!(ready.lease_until, None);
        assert_eq!(ready.claim(now, lease), Claim::Done);
        let released = second.release();
        assert!(matches!(released.claim(now, lease), Claim::Claimed(_)), "a released video is claimed at once");
    }

    #[test]
    fn the_public_view_omits_what_is_not_known() {
        let json = serde_json::to_value(sample().to_video()).unwrap();
        assert_eq!(json["createdAt"], "2026-11-24T10:00:00Z");
        assert_eq!(json["status"], "uploading");
        assert_eq!(json["author"], serde_json::json!({"id": "1234567890", "name": "Alice"}));
        assert_eq!(json["sizeBytes"], 61_581_333);
        for absent in [
            "failureReason",
            "durationSeconds",
            "width",
            "height",
            "renditions",
            "posterUrl",
            "upload",
            "version",
            "leaseUntil",
            "attempts",
            "encoding",
            "progress",
            "playableSeconds",
        ] {
            assert!(json.get(absent).is_none(), "{absent} should be absent");
        }
    }

    #[test]
    fn records_round_trip_through_json() {
        let rec = sample().apply(Transition::BeginProcessing).unwrap();
        let text = serde_json::to_string(&rec).unwrap();
        assert_eq!(serde_json::from_str::<VideoRecord>(&text).unwrap(), rec);
    }
}
