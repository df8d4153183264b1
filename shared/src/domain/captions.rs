//! Captions: a WebVTT or SubRip (SRT) file an owner uploads for one language, checked as text and written out as the
//! WebVTT an HLS subtitles rendition serves. Nothing of it reaches ffmpeg or a shell.
//!
//! The check is strict where players are fragile and lenient where authors vary: UTF-8 (a byte-order mark is
//! dropped), no control characters but line breaks and tabs, every cue's timing line well formed (`00:01:02.500 -->
//! 00:01:04.000`, hours optional in WebVTT, a comma before the milliseconds in SRT) and not ending before it starts;
//! cue text is kept as written. What is written is a WebVTT file of the cues alone, with the `X-TIMESTAMP-MAP` that
//! ties its times to the renditions' MPEG-TS clock.

use super::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The largest captions file taken: hours of dense dialogue fit in a quarter of it.
pub const MAX_CAPTIONS_BYTES: usize = 512 * 1024;

/// A language tag as BCP 47 writes the common ones: `en`, `pt-BR`, `zh-Hans`, `es-419`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Language {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let refuse = || ParseError::new(format!("'{s}' is not a language tag: use one like en, fr, pt-BR or zh-Hans"));
        let mut parts = s.split('-');
        let primary =
            parts.next().filter(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic())).ok_or_else(refuse)?;
        let mut tag = primary.to_ascii_lowercase();
        for part in parts {
            if !(2..=8).contains(&part.len()) || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(refuse());
            }
            tag.push('-');
            // The usual case: regions upper (BR), scripts title (Hans), the rest as given.
            match part.len() {
                2 => tag.push_str(&part.to_ascii_uppercase()),
                4 => {
                    tag.push_str(&part[..1].to_ascii_uppercase());
                    tag.push_str(&part[1..].to_ascii_lowercase());
                }
                _ => tag.push_str(part),
            }
        }
        if tag.len() > 35 {
            return Err(refuse());
        }
        Ok(Self(tag))
    }
}

impl TryFrom<String> for Language {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<Language> for String {
    fn from(l: Language) -> String {
        l.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One language's captions on a video, as the video object lists them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptionTrack {
    pub language: Language,
    /// What the player's menu says: given by the owner, or the language tag.
    pub label: String,
}

/// A checked captions file, as WebVTT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebVtt {
    text: String,
    cues: usize,
}

impl WebVtt {
    /// Checks `bytes` (WebVTT, or SRT converted) and writes the cues out as WebVTT whose time zero is the MPEG-TS
    /// time `mpegts_zero` (90 kHz ticks) of the renditions.
    pub fn parse(bytes: &[u8], mpegts_zero: u64) -> Result<Self, ParseError> {
        if bytes.len() > MAX_CAPTIONS_BYTES {
            return Err(ParseError::new(format!("the captions file is larger than {} KiB: split or trim it", MAX_CAPTIONS_BYTES / 1024)));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ParseError::new(format!("the captions file is not UTF-8 text (at byte {}): save it as UTF-8", e.valid_up_to())))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if let Some((n, _)) = text.lines().enumerate().find(|(_, l)| l.chars().any(|c| c.is_control() && c != '\t' && c != '\r')) {
            return Err(ParseError::new(format!("line {}: control characters are not captions text: remove them", n + 1)));
        }
        let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
        let vtt = lines.first().is_some_and(|l| *l == "WEBVTT" || l.starts_with("WEBVTT ") || l.starts_with("WEBVTT\t"));
        let mut out = format!("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{mpegts_zero},LOCAL:00:00:00.000\n");
        let mut cues = 0;
        // Blocks are separated by blank lines; in WebVTT the first is the header.
        let mut i = usize::from(vtt);
        if vtt {
            while i < lines.len() && !lines[i].trim().is_empty() {
                i += 1;
            }
        }
        while i < lines.len() {
            if lines[i].trim().is_empty() {
                i += 1;
                continue;
            }
            let start = i;
            while i < lines.len() && !lines[i].trim().is_empty() {
                i += 1;
            }
            let block = &lines[start..i];
            if vtt && ["NOTE", "STYLE", "REGION"].iter().any(|k| block[0] == *k || block[0].starts_with(&format!("{k} "))) {
                continue;
            }
            // An identifier (WebVTT) or a sequence number (SRT) may come before the timing line.
            let timing_at = usize::from(!block[0].contains("-->"));
            let Some(timing) = block.get(timing_at) else {
                return Err(ParseError::new(format!("line {}: a cue without a timing line (00:00:01.000 --> 00:00:02.000)", start + 1)));
            };
            let (from, to, settings) = timing_line(timing, vtt).ok_or_else(|| {
                ParseError::new(format!("line {}: '{timing}' is not a cue timing: write {}", start + timing_at + 1, example(vtt)))
            })?;
            if to < from {
                return Err(ParseError::new(format!("line {}: the cue ends before it starts", start + timing_at + 1)));
            }
            out.push('\n');
            out.push_str(&format!("{} --> {}", clock(from), clock(to)));
            if vtt && !settings.is_empty() {
                out.push(' ');
                out.push_str(settings);
            }
            out.push('\n');
            for line in &block[timing_at + 1..] {
                // "-->" in text would read as a timing line.
                out.push_str(&line.replace("-->", "→"));
                out.push('\n');
            }
            cues += 1;
        }
        if cues == 0 {
            return Err(ParseError::new("no cues in the captions file: upload a WebVTT or SRT file with timed text"));
        }
        Ok(Self { text: out, cues })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn cues(&self) -> usize {
        self.cues
    }
}

fn example(vtt: bool) -> &'static str {
    if vtt { "00:01:02.500 --> 00:01:04.000" } else { "00:01:02,500 --> 00:01:04,000" }
}

/// `start --> end [settings]` in milliseconds.
fn timing_line(line: &str, vtt: bool) -> Option<(u64, u64, &str)> {
    let (from, rest) = line.split_once("-->")?;
    let rest = rest.trim_start();
    let (to, settings) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    Some((timestamp(from.trim(), vtt)?, timestamp(to.trim(), vtt)?, settings.trim()))
}

/// `HH:MM:SS.mmm` (hours optional in WebVTT; SRT writes `,` for `.`) in milliseconds.
fn timestamp(s: &str, vtt: bool) -> Option<u64> {
    // SRT writes a comma; files that say they are SRT but write a full stop are common, and unambiguous.
    let (clock, millis) = if vtt { s.split_once('.')? } else { s.split_once([',', '.'])? };
    let parts: Vec<&str> = clock.split(':').collect();
    let digits = |p: &str, n: usize| (p.len() == n || (n == 0 && !p.is_empty())) && p.bytes().all(|b| b.is_ascii_digit());
    let (h, m, sec) = match parts.as_slice() {
        [h, m, s] if digits(h, 0) && digits(m, 2) && digits(s, 2) => {
            (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?, s.parse::<u64>().ok()?)
        }
        [m, s] if vtt && digits(m, 2) && digits(s, 2) => (0, m.parse().ok()?, s.parse().ok()?),
        _ => return None,
    };
    if m > 59 || sec > 59 || !digits(millis, 3) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000 + millis.parse::<u64>().ok()?)
}

fn clock(ms: u64) -> String {
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_becomes_webvtt_with_the_timestamp_map() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500\r\nHello, <i>world</i>!\r\n\r\n2\r\n00:01:02,000 --> 01:00:00,000\r\nTwo lines\r\nof text\r\n";
        let vtt = WebVtt::parse(srt.as_bytes(), 1_026_000).unwrap();
        assert_eq!(
            vtt.as_str(),
            "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:1026000,LOCAL:00:00:00.000\n\n00:00:01.000 --> 00:00:02.500\nHello, <i>world</i>!\n\n00:01:02.000 --> 01:00:00.000\nTwo lines\nof text\n"
        );
        assert_eq!(vtt.cues(), 2);
    }

    #[test]
    fn webvtt_keeps_its_cues_and_settings_and_drops_notes_and_styles() {
        let text = "WEBVTT - a lesson\nKind: captions\n\nNOTE written by hand\n\nSTYLE\n::cue { color: red }\n\nintro\n00:05.000 --> 00:07.250 line:90% align:center\nWelcome --> in\n";
        let vtt = WebVtt::parse(text.as_bytes(), 0).unwrap();
        assert!(vtt.as_str().ends_with("\n00:00:05.000 --> 00:00:07.250 line:90% align:center\nWelcome → in\n"), "{}", vtt.as_str());
        assert!(!vtt.as_str().contains("STYLE") && !vtt.as_str().contains("NOTE"));
    }

    #[test]
    fn what_is_wrong_is_said_with_its_line() {
        let cases: [(&[u8], &str); 7] = [
            (b"1\n00:00:01 --> 00:00:02\nhi\n", "line 2: '00:00:01 --> 00:00:02' is not a cue timing: write 00:01:02,500"),
            (b"WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nhi\n", "line 3: the cue ends before it starts"),
            (b"WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nhi\n", "line 4: 'hi' is not a cue timing"),
            (b"WEBVTT\n\n", "no cues"),
            (b"\xff\xfe1\n", "not UTF-8"),
            (b"1\n00:00:01,000 --> 00:00:02,000\nbell \x07\n", "line 3: control characters"),
            (b"1\n00:00:01,000 --> 00:61:02,000\nhi\n", "is not a cue timing"),
        ];
        for (bytes, says) in cases {
            let e = WebVtt::parse(bytes, 0).unwrap_err().to_string();
            assert!(e.contains(says), "{:?}: {e}", String::from_utf8_lossy(bytes));
        }
        assert!(WebVtt::parse(&vec![b'a'; MAX_CAPTIONS_BYTES + 1], 0).unwrap_err().to_string().contains("larger than 512 KiB"));
    }

    #[test]
    fn language_tags_are_normalised_or_refused() {
        for (given, tag) in [("en", "en"), ("PT-br", "pt-BR"), ("zh-hans", "zh-Hans"), ("es-419", "es-419")] {
            assert_eq!(given.parse::<Language>().unwrap().as_str(), tag);
        }
        for bad in ["", "e", "english", "en_US", "en-", "../x", "en-a"] {
            assert!(bad.parse::<Language>().is_err(), "{bad}");
        }
    }
}
