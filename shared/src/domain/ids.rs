//! Identifiers. Each parses from the outside world once and is trusted from then on.

use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ulid::Ulid;

/// A video's id: a ULID made by the server, 26 URL-safe characters that sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VideoId(Ulid);

impl VideoId {
    /// A fresh id for a new video.
    pub fn generate() -> Self {
        Self(Ulid::new())
    }

    /// The key of the uploaded source object. Never contains anything the client chose.
    pub fn source_key(&self) -> ObjectKey {
        ObjectKey(format!("{}{}/source", ObjectKey::UPLOADS_PREFIX, self))
    }

    /// The prefix under which the transcoder writes this video's outputs (outside `uploads/`, so no event loop).
    pub fn media_prefix(&self) -> String {
        format!("{}{}/", ObjectKey::MEDIA_PREFIX, self)
    }

    /// Where the captions in `language` are stored (under the media prefix: signed and deleted with the rest).
    pub fn captions_key(&self, language: &super::Language) -> String {
        format!("{}captions/{language}.vtt", self.media_prefix())
    }
}

impl FromStr for VideoId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        // Ulid::from_string accepts lower case too; the canonical form is upper case, and ids are compared as text in
        // storage, so only the canonical form is accepted.
        // 26 characters of 5 bits hold 130; a ULID is 128, so the first character is at most '7'.
        if s.len() != 26 || s.bytes().any(|b| b.is_ascii_lowercase()) || !(b'0'..=b'7').contains(&s.as_bytes()[0]) {
            return Err(ParseError::new(format!("'{}' is not a video id", truncate(s, 40))));
        }
        Ulid::from_string(s).map(Self).map_err(|_| ParseError::new(format!("'{}' is not a video id", truncate(s, 40))))
    }
}

impl TryFrom<String> for VideoId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<VideoId> for String {
    fn from(id: VideoId) -> String {
        id.to_string()
    }
}

impl fmt::Display for VideoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id storage gave a multipart upload. Opaque, but bounded and free of characters that would break a URL or a log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UploadId(String);

impl UploadId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UploadId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let ok = !s.is_empty() && s.len() <= 1024 && s.bytes().all(|b| b.is_ascii_graphic());
        if ok { Ok(Self(s.to_owned())) } else { Err(ParseError::new("storage returned an unusable upload id")) }
    }
}

impl TryFrom<String> for UploadId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<UploadId> for String {
    fn from(id: UploadId) -> String {
        id.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The caller's stable id: the token's `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UserId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let ok = !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control);
        if ok { Ok(Self(s.to_owned())) } else { Err(ParseError::new("the token's subject is empty or malformed")) }
    }
}

impl TryFrom<String> for UserId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A multipart part number: 1..=10,000, the limit of S3. Whether it is within one upload's `partCount` is the
/// upload plan's question ([`super::UploadPlan::check_part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "super::WholeNumber", into = "u16")]
pub struct PartNumber(u16);

impl PartNumber {
    pub const MAX: u16 = 10_000;

    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for PartNumber {
    type Error = ParseError;
    fn try_from(n: i64) -> Result<Self, ParseError> {
        if (1..=i64::from(Self::MAX)).contains(&n) {
            Ok(Self(n as u16))
        } else {
            Err(ParseError::new(format!("part number {n} is out of range: part numbers run from 1 to {}", Self::MAX)))
        }
    }
}

impl TryFrom<super::WholeNumber> for PartNumber {
    type Error = ParseError;
    fn try_from(n: super::WholeNumber) -> Result<Self, ParseError> {
        let out_of_range = || ParseError::new(format!("part number {} is out of range: part numbers run from 1 to {}", n.0, Self::MAX));
        i64::try_from(n.0).map_err(|_| out_of_range())?.try_into()
    }
}

impl From<PartNumber> for u16 {
    fn from(p: PartNumber) -> u16 {
        p.0
    }
}

impl From<PartNumber> for i32 {
    fn from(p: PartNumber) -> i32 {
        i32::from(p.0)
    }
}

impl fmt::Display for PartNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A key in the media bucket. Only the domain makes them, so a client can never choose one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Sources live here; an `ObjectCreated` event under this prefix starts a transcode.
    pub const UPLOADS_PREFIX: &'static str = "uploads/";
    /// Transcoded outputs live here, outside the trigger prefix.
    pub const MEDIA_PREFIX: &'static str = "media/";

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The video whose source this key is, if it is one (`uploads/{id}/source`). Used to map storage events back.
    pub fn source_of(key: &str) -> Option<VideoId> {
        let rest = key.strip_prefix(Self::UPLOADS_PREFIX)?;
        let (id, tail) = rest.split_once('/')?;
        if tail != "source" {
            return None;
        }
        id.parse().ok()
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_video_ids_parse_back_and_are_url_safe() {
        let id = VideoId::generate();
        let text = id.to_string();
        assert_eq!(text.len(), 26);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(text.parse::<VideoId>().unwrap(), id);
    }

    #[test]
    fn video_ids_refuse_everything_else() {
        for bad in [
            "",
            "abc",
            "01JDX3W9K7Q4T2B8N6M5R0ZC1",
            "01JDX3W9K7Q4T2B8N6M5R0ZC1AA",
            "01jdx3w9k7q4t2b8n6m5r0zc1a",
            "../../../../etc/passwd00000",
            "01JDX3W9K7Q4T2B8N6M5R0ZC1!",
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        ] {
            assert!(bad.parse::<VideoId>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn source_keys_carry_only_the_id() {
        let id: VideoId = "01JDX3W9K7Q4T2B8N6M5R0ZC1A".parse().unwrap();
        assert_eq!(id.source_key().as_str(), "uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source");
        assert_eq!(ObjectKey::source_of("uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source"), Some(id));
        assert_eq!(ObjectKey::source_of("uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/other"), None);
        assert_eq!(ObjectKey::source_of("media/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source"), None);
        assert!(!id.media_prefix().starts_with(ObjectKey::UPLOADS_PREFIX));
    }

    #[test]
    fn part_numbers_run_from_one_to_ten_thousand() {
        assert!(PartNumber::try_from(0).is_err());
        assert!(PartNumber::try_from(-1).is_err());
        assert!(PartNumber::try_from(10_001).is_err());
        assert_eq!(PartNumber::try_from(1).unwrap().get(), 1);
        assert_eq!(PartNumber::try_from(10_000).unwrap().get(), 10_000);
        assert!(serde_json::from_str::<PartNumber>("0").is_err());
        assert!(serde_json::from_str::<PartNumber>("1.5").is_err());
        assert!(serde_json::from_str::<PartNumber>("\"1\"").is_err());
        assert_eq!(serde_json::from_str::<PartNumber>("7").unwrap().get(), 7);
    }

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert!("".parse::<UserId>().is_err());
        assert!("a\u{0}b".parse::<UserId>().is_err());
        assert!("x".repeat(256).parse::<UserId>().is_err());
        assert!("1234567890".parse::<UserId>().is_ok());
    }

    #[test]
    fn upload_ids_refuse_spaces_and_empties() {
        assert!("".parse::<UploadId>().is_err());
        assert!("a b".parse::<UploadId>().is_err());
        assert!("2~abc-DEF_123.xyz".parse::<UploadId>().is_ok());
    }
}
