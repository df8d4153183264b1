//! Chapters, read from a description as YouTube reads them: lines that begin with a time ("0:00 Intro",
//! "12:34 - Segments", "1:02:03 Questions") mark where each chapter starts. They count only as a whole that makes
//! sense: the first at 0:00, at least [`MIN_CHAPTERS`], in ascending order, each at least [`MIN_SECONDS`] long (the
//! last one too, once the video's length is known). Otherwise the video has no chapters, and the lines stay text.

use serde::{Deserialize, Serialize};

/// Where a chapter starts, and its title.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chapter {
    pub start_seconds: u32,
    pub title: String,
}

pub const MIN_CHAPTERS: usize = 3;
pub const MIN_SECONDS: u32 = 10;
/// Longer titles are cut (at a character boundary) to this many characters.
pub const MAX_TITLE_CHARS: usize = 100;

/// The chapters `description` marks, for a video of `duration` seconds when that is known; empty when it marks none
/// or they do not make a whole.
pub fn chapters(description: &str, duration: Option<f64>) -> Vec<Chapter> {
    let marked: Vec<Chapter> = description.lines().filter_map(chapter_line).collect();
    let ends = marked.iter().skip(1).map(|c| f64::from(c.start_seconds)).chain([duration.unwrap_or(f64::INFINITY)]);
    let whole = marked.len() >= MIN_CHAPTERS
        && marked[0].start_seconds == 0
        && marked.iter().zip(ends).all(|(c, end)| end - f64::from(c.start_seconds) >= f64::from(MIN_SECONDS));
    if whole { marked } else { Vec::new() }
}

/// A line that starts with a time (bare, or in brackets) followed by a title, after an optional dash, colon or bar.
fn chapter_line(line: &str) -> Option<Chapter> {
    let line = line.trim_start();
    let (first, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let time = first.strip_prefix(['(', '[']).and_then(|t| t.strip_suffix([')', ']'])).unwrap_or(first);
    let start_seconds = seconds(time)?;
    let title = rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—' | ':' | '|')).trim_end();
    if title.is_empty() {
        return None;
    }
    Some(Chapter { start_seconds, title: title.chars().take(MAX_TITLE_CHARS).collect() })
}

/// `M:SS`, `MM:SS` or `H:MM:SS` (any number of hours), in seconds.
fn seconds(time: &str) -> Option<u32> {
    let parts: Vec<&str> = time.split(':').collect();
    let number = |s: &str, max: u32| s.parse::<u32>().ok().filter(|n| *n < max && s.bytes().all(|b| b.is_ascii_digit()));
    let two = |s: &str, max: u32| if s.len() == 2 { number(s, max) } else { None };
    match parts[..] {
        [m, s] if (1..=2).contains(&m.len()) => Some(number(m, 60)? * 60 + two(s, 60)?),
        [h, m, s] if (1..=3).contains(&h.len()) => Some(number(h, 1000)? * 3600 + two(m, 60)? * 60 + two(s, 60)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(description: &str, duration: Option<f64>) -> Vec<(u32, String)> {
        chapters(description, duration).into_iter().map(|c| (c.start_seconds, c.title)).collect()
    }

    #[test]
    fn a_lesson_s_outline_becomes_its_chapters() {
        let description = "Day 9 of the course.\n\n0:00 Intro\n12:34 - Segments\n1:02:03 Questions: and answers\nThanks for watching!";
        assert_eq!(
            starts(description, Some(7200.0)),
            [(0, "Intro".into()), (754, "Segments".into()), (3723, "Questions: and answers".into())]
        );
    }

    #[test]
    fn brackets_separators_and_indentation_are_read() {
        let description = "  [00:00] Start\n(2:00) — Middle\n04:00 | End";
        assert_eq!(starts(description, None), [(0, "Start".into()), (120, "Middle".into()), (240, "End".into())]);
    }

    #[test]
    fn an_outline_that_does_not_make_a_whole_is_no_chapters() {
        for (why, description, duration) in [
            ("does not start at 0:00", "0:05 A\n1:00 B\n2:00 C", None),
            ("only two", "0:00 A\n1:00 B", None),
            ("not ascending", "0:00 A\n2:00 B\n1:00 C", None),
            ("a chapter under 10 s", "0:00 A\n0:05 B\n1:00 C", None),
            ("the last under 10 s of the video's end", "0:00 A\n1:00 B\n2:00 C", Some(125.0)),
            ("a start past the end", "0:00 A\n1:00 B\n9:00 C", Some(300.0)),
        ] {
            assert_eq!(starts(description, duration), [], "{why}");
        }
    }

    #[test]
    fn only_lines_that_begin_with_a_time_and_have_a_title_count() {
        let description = "At 1:00 we start\n0:00 Intro\n3:00\n5:00 Middle\n1:75 Not a time\n10:00 End\n12:00:00:00 Neither";
        assert_eq!(starts(description, None), [(0, "Intro".into()), (300, "Middle".into()), (600, "End".into())]);
    }

    #[test]
    fn times_are_minutes_and_seconds_or_hours_minutes_and_seconds() {
        for (time, expected) in [
            ("0:00", Some(0)),
            ("9:59", Some(599)),
            ("59:59", Some(3599)),
            ("1:00:00", Some(3600)),
            ("12:00:01", Some(43201)),
            ("0:5", None),
            ("60:00", None),
            ("1:60:00", None),
            ("123:00", None),
            ("+1:00", None),
            ("1:00 ", None),
            (":00", None),
        ] {
            assert_eq!(seconds(time), expected, "{time:?}");
        }
    }

    #[test]
    fn long_titles_are_cut_at_a_character() {
        let long = "é".repeat(150);
        let got = chapters(&format!("0:00 {long}\n1:00 B\n2:00 C"), None);
        assert_eq!(got[0].title.chars().count(), MAX_TITLE_CHARS);
    }

    proptest::proptest! {
        #[test]
        fn any_text_gives_chapters_that_make_a_whole(text in "\\PC{0,300}", duration in proptest::option::of(0.0f64..20_000.0)) {
            let got = chapters(&text, duration);
            if !got.is_empty() {
                proptest::prop_assert!(got.len() >= MIN_CHAPTERS && got[0].start_seconds == 0);
                proptest::prop_assert!(got.windows(2).all(|w| w[1].start_seconds >= w[0].start_seconds + MIN_SECONDS));
            }
        }
    }
}
