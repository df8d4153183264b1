//! Search: what someone typed, what the index holds of a ready video, and the matching rules every index follows.
//!
//! The rules are those of the original design's OpenSearch query, written once here so that the embedded index and
//! the fakes match the same way: words are matched in the title, the author's name and the description, with the title
//! weighing most; each word also matches with typos (Elasticsearch's `AUTO` fuzziness: none up to 2 characters, one edit
//! up to 5, two beyond, a swap of neighbours counting as one); the last word also matches as a prefix, so results follow
//! the typing. Any one word matching is enough; more matching words rank higher.

use super::{ParseError, VideoId, VideoRecord};
use serde::Serialize;
use time::OffsetDateTime;

/// The search box's text: trimmed, at least one letter or digit, at most [`SearchText::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let text = raw.trim();
        if text.chars().count() > Self::MAX_CHARS {
            return Err(ParseError::new(format!("q is too long: at most {} characters", Self::MAX_CHARS)));
        }
        if !text.chars().any(char::is_alphanumeric) {
            return Err(ParseError::new("q must contain at least one letter or digit: the words to search for"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The words, lower-cased, split at anything that is not a letter or digit (the fakes' tokenizer; real indexes
    /// use their own analyzers, configured to the same effect).
    pub fn words(&self) -> Vec<String> {
        words(&self.0)
    }
}

/// Lower-cased runs of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The searchable fields and how much a match in each weighs.
pub const SEARCH_FIELDS: [(&str, f32); 3] = [("title", 3.0), ("author", 2.0), ("description", 1.0)];

/// The edits a word of `chars` characters may differ by and still match (`AUTO` fuzziness).
pub fn auto_fuzziness(chars: usize) -> u8 {
    match chars {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

/// What the index holds of one ready video.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchDocument {
    #[serde(skip)]
    pub id: VideoId,
    pub title: String,
    pub author: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl SearchDocument {
    pub fn of(record: &VideoRecord) -> Self {
        Self {
            id: record.id,
            title: record.title.as_str().to_owned(),
            author: record.author.name.clone(),
            description: record.description.as_ref().map(|d| d.as_str().to_owned()).unwrap_or_default(),
            created_at: record.created_at,
        }
    }
}

/// The best matches, best first, and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchHits {
    pub ids: Vec<VideoId>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_trimmed_and_needs_a_word() {
        assert_eq!(SearchText::parse("  day 9 ").unwrap().as_str(), "day 9");
        assert!(SearchText::parse("").is_err());
        assert!(SearchText::parse("  \"*( ").is_err());
        assert!(SearchText::parse(&"a".repeat(201)).is_err());
        assert!(SearchText::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn words_are_lower_cased_runs_of_letters_and_digits() {
        assert_eq!(words("Day-9: ADAPTIVE streaming!"), ["day", "9", "adaptive", "streaming"]);
        assert_eq!(words("Café crème"), ["café", "crème"]);
    }

    #[test]
    fn auto_fuzziness_grows_with_the_word() {
        assert_eq!([1, 2, 3, 5, 6, 12].map(auto_fuzziness), [0, 0, 1, 1, 2, 2]);
    }
}
