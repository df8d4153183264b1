//! The domain: values that parse, the video record and the rules of its life.

mod captions;
mod chapters;
mod encoding;
mod ids;
mod listing;
mod number;
mod search;
mod text;
mod upload;
mod video;

pub use captions::{CaptionTrack, Language, MAX_CAPTIONS_BYTES, WebVtt};
pub use chapters::{Chapter, chapters};
pub use encoding::{EncodedChunk, Encoding, Recorded, Weight};
pub use ids::{ObjectKey, PartNumber, UploadId, UserId, VideoId};
pub use listing::{ListQuery, Page, PageKey, rfc3339};
pub use number::WholeNumber;
pub use search::{SEARCH_FIELDS, SearchDocument, SearchHits, SearchText, auto_fuzziness, words};
pub use text::{ContentType, ContentTypeError, Description, Title};
pub use upload::{ETag, PartCheck, StoredPart, UploadPlan};
pub use video::{
    Author, Claim, Edit, MediaInfo, Rendition, Transition, TransitionError, UploadState, Video, VideoAuthor, VideoRecord, VideoStatus,
    Visibility,
};

/// Why a value was refused by its parse constructor. The message is written for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
