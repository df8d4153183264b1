//! Text a person typed: titles, descriptions, and the declared content type.

use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A video's title: 1 to 200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Title {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ParseError::new("title is empty: give the video a title"));
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(ParseError::new(format!("title is longer than {} characters: shorten it", Self::MAX_CHARS)));
        }
        if t.chars().any(char::is_control) {
            return Err(ParseError::new("title contains control characters (such as line breaks): remove them"));
        }
        Ok(Self(t.to_owned()))
    }
}

impl TryFrom<String> for Title {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<Title> for String {
    fn from(t: Title) -> String {
        t.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A video's description: at most 5,000 characters; line breaks and tabs allowed, other control characters not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 5_000;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An empty or blank description is no description.
    pub fn parse_optional(s: Option<&str>) -> Result<Option<Self>, ParseError> {
        match s.map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => t.parse().map(Some),
        }
    }
}

impl FromStr for Description {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        if t.chars().count() > Self::MAX_CHARS {
            return Err(ParseError::new(format!("description is longer than {} characters: shorten it", Self::MAX_CHARS)));
        }
        if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
            return Err(ParseError::new("description contains control characters: remove them"));
        }
        Ok(Self(t.to_owned()))
    }
}

impl TryFrom<String> for Description {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<Description> for String {
    fn from(d: Description) -> String {
        d.0
    }
}

/// The content type the client declared: `video/<subtype>`, lower-cased, parameters dropped. What the file really is
/// gets decided by probing its bytes at transcode time; this only refuses what is plainly not a video early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentType(String);

impl ContentType {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a content type was refused: malformed (a 400) or well-formed but not a video (a 415).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentTypeError {
    Malformed(String),
    NotVideo(String),
}

impl ContentType {
    pub fn parse(s: &str) -> Result<Self, ContentTypeError> {
        let essence = s.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((kind, sub)) = essence.split_once('/') else {
            return Err(ContentTypeError::Malformed(format!(
                "contentType '{}' is not a media type such as video/mp4",
                super::ids::truncate(s, 60)
            )));
        };
        let token = |t: &str| !t.is_empty() && t.len() <= 100 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
        if !token(kind) || !token(sub) {
            return Err(ContentTypeError::Malformed(format!(
                "contentType '{}' is not a media type such as video/mp4",
                super::ids::truncate(s, 60)
            )));
        }
        if kind != "video" {
            return Err(ContentTypeError::NotVideo(format!(
                "contentType '{essence}' is not a video type: upload a video file (video/mp4, video/webm, video/quicktime, ...)"
            )));
        }
        Ok(Self(essence))
    }
}

impl TryFrom<String> for ContentType {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s).map_err(|e| match e {
            ContentTypeError::Malformed(m) | ContentTypeError::NotVideo(m) => ParseError(m),
        })
    }
}

impl From<ContentType> for String {
    fn from(c: ContentType) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!("  Day 9 ".parse::<Title>().unwrap().as_str(), "Day 9");
        assert!("".parse::<Title>().is_err());
        assert!("   ".parse::<Title>().is_err());
        assert!("a\nb".parse::<Title>().is_err());
        assert!("x".repeat(201).parse::<Title>().is_err());
        assert!("é".repeat(200).parse::<Title>().is_ok(), "the limit counts characters, not bytes");
    }

    #[test]
    fn descriptions_allow_line_breaks_but_not_other_controls() {
        assert_eq!(Description::parse_optional(None).unwrap(), None);
        assert_eq!(Description::parse_optional(Some("  ")).unwrap(), None);
        assert!(Description::parse_optional(Some("line one\nline two")).unwrap().is_some());
        assert!("bell\u{7}".parse::<Description>().is_err());
        assert!("x".repeat(5_001).parse::<Description>().is_err());
    }

    #[test]
    fn only_video_types_pass() {
        assert_eq!(ContentType::parse("video/mp4").unwrap().as_str(), "video/mp4");
        assert_eq!(ContentType::parse("Video/QuickTime; codecs=avc1").unwrap().as_str(), "video/quicktime");
        assert!(matches!(ContentType::parse("image/png"), Err(ContentTypeError::NotVideo(_))));
        assert!(matches!(ContentType::parse("application/octet-stream"), Err(ContentTypeError::NotVideo(_))));
        assert!(matches!(ContentType::parse("video"), Err(ContentTypeError::Malformed(_))));
        assert!(matches!(ContentType::parse(""), Err(ContentTypeError::Malformed(_))));
        assert!(matches!(ContentType::parse("video/"), Err(ContentTypeError::Malformed(_))));
        assert!(matches!(ContentType::parse("video/mp4 evil"), Err(ContentTypeError::Malformed(_))));
    }
}
