//! The arithmetic of a multipart upload: how a declared size is cut into parts, and whether what storage holds adds
//! up to a complete file.

use super::{ParseError, PartNumber};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a file of a declared size is cut into parts. Every part but the last is exactly `part_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadPlan {
    pub size: u64,
    pub part_size: u64,
    pub part_count: u32,
}

impl UploadPlan {
    /// S3's smallest part but the last.
    pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
    /// S3's largest part.
    pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
    /// S3's most parts in one upload.
    pub const MAX_PARTS: u64 = 10_000;

    /// Cuts `size` bytes into parts of `preferred_part_size` (raised to S3's minimum), growing the part size in whole
    /// MiB when the file would otherwise need more than 10,000 parts.
    pub fn new(size: u64, preferred_part_size: u64) -> Result<Self, ParseError> {
        if size == 0 {
            return Err(ParseError::new("size is 0: the file is empty, choose a video file"));
        }
        const MIB: u64 = 1024 * 1024;
        let needed = size.div_ceil(Self::MAX_PARTS).div_ceil(MIB) * MIB;
        let part_size = preferred_part_size.max(Self::MIN_PART_SIZE).max(needed);
        if part_size > Self::MAX_PART_SIZE {
            return Err(ParseError::new("size is larger than storage can hold in one upload (10,000 parts of 5 GiB)"));
        }
        let part_count = size.div_ceil(part_size) as u32;
        Ok(Self { size, part_size, part_count })
    }

    /// Whether `part` belongs to this upload.
    pub fn check_part(&self, part: PartNumber) -> Result<(), ParseError> {
        if u32::from(part.get()) <= self.part_count {
            Ok(())
        } else {
            Err(ParseError::new(format!("part number {part} is out of range: this upload has parts 1 to {}", self.part_count)))
        }
    }

    /// The exact size part `n` must have.
    pub fn expected_size(&self, part: PartNumber) -> u64 {
        if u32::from(part.get()) < self.part_count { self.part_size } else { self.size - self.part_size * (u64::from(self.part_count) - 1) }
    }

    /// Decides which stored parts make up the finished file. `requested` is what the client asked to complete with
    /// (`None`: everything storage holds). The answer lists parts 1..=partCount in order, each of its exact size.
    pub fn check_completion(&self, stored: &[StoredPart], requested: Option<&[(PartNumber, ETag)]>) -> Result<Vec<StoredPart>, PartCheck> {
        let total: u64 = stored.iter().map(|p| p.size).sum();
        if total > self.size {
            return Err(PartCheck::TooManyBytes { held: total, declared: self.size });
        }
        if let Some(requested) = requested {
            for (number, etag) in requested {
                self.check_part(*number).map_err(|_| PartCheck::OutOfRange(*number, self.part_count))?;
                match stored.iter().find(|p| p.number == *number) {
                    None => return Err(PartCheck::NotHeld(*number)),
                    Some(p) if p.etag != *etag => return Err(PartCheck::ETagMismatch(*number)),
                    Some(_) => {}
                }
            }
        }
        let mut chosen = Vec::with_capacity(self.part_count as usize);
        let mut missing = Vec::new();
        for n in 1..=self.part_count {
            let number = PartNumber::try_from(i64::from(n)).expect("part_count never exceeds 10,000");
            match stored.iter().find(|p| p.number == number) {
                None => missing.push(number),
                Some(p) if p.size != self.expected_size(number) => {
                    return Err(PartCheck::WrongSize { part: number, size: p.size, expected: self.expected_size(number) });
                }
                Some(p) => chosen.push(p.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(PartCheck::Missing(missing));
        }
        Ok(chosen)
    }
}

/// A part as storage holds it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPart {
    #[serde(rename = "partNumber")]
    pub number: PartNumber,
    pub etag: ETag,
    pub size: u64,
}

/// An entity tag, compared without its quotes (clients read it with them, S3 lists it either way).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct ETag(String);

impl ETag {
    pub fn new(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The tag without quotes or a weak marker.
    pub fn bare(&self) -> &str {
        self.0.trim().trim_start_matches("W/").trim_matches('"')
    }

    /// The tag in quotes, as S3 writes it in headers.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.bare())
    }
}

impl PartialEq for ETag {
    fn eq(&self, other: &Self) -> bool {
        self.bare() == other.bare()
    }
}

impl Eq for ETag {}

impl From<String> for ETag {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<ETag> for String {
    fn from(e: ETag) -> String {
        e.quoted()
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

/// Why the parts storage holds do not make a complete file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartCheck {
    #[error("storage holds {held} bytes but the upload declared {declared}: the parts add up to more than declared")]
    TooManyBytes { held: u64, declared: u64 },
    #[error("parts {} are missing: upload them, then complete again", list(.0))]
    Missing(Vec<PartNumber>),
    #[error("part {part} holds {size} bytes but must hold {expected}: upload part {part} again")]
    WrongSize { part: PartNumber, size: u64, expected: u64 },
    #[error("part {0} was never uploaded: upload it, or complete with {{}} to use the parts storage holds")]
    NotHeld(PartNumber),
    #[error("part {0}'s ETag does not match the part storage holds: upload part {0} again or complete with {{}}")]
    ETagMismatch(PartNumber),
    #[error("part number {0} is out of range: this upload has parts 1 to {1}")]
    OutOfRange(PartNumber, u32),
}

fn list(parts: &[PartNumber]) -> String {
    const SHOWN: usize = 10;
    let mut s = parts.iter().take(SHOWN).map(ToString::to_string).collect::<Vec<_>>().join(", ");
    if parts.len() > SHOWN {
        s.push_str(&format!(" and {} more", parts.len() - SHOWN));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn part(n: i64, size: u64) -> StoredPart {
        StoredPart { number: PartNumber::try_from(n).unwrap(), etag: ETag::new(&format!("\"etag-{n}\"")), size }
    }

    #[test]
    fn plans_respect_the_minimum_part_and_the_part_limit() {
        let small = UploadPlan::new(1, 8 * MIB).unwrap();
        assert_eq!((small.part_size, small.part_count), (8 * MIB, 1));
        let low = UploadPlan::new(10 * MIB, 1).unwrap();
        assert_eq!(low.part_size, UploadPlan::MIN_PART_SIZE, "never below 5 MiB");
        let exact = UploadPlan::new(24 * MIB, 8 * MIB).unwrap();
        assert_eq!(exact.part_count, 3);
        let big = UploadPlan::new(20 * 1024 * MIB * 1024, 8 * MIB).unwrap(); // 20 TiB
        assert!(u64::from(big.part_count) <= UploadPlan::MAX_PARTS);
        assert_eq!(big.part_size % MIB, 0);
        let edge = UploadPlan::new(10_000 * 8 * MIB + 1, 8 * MIB).unwrap();
        assert!(u64::from(edge.part_count) <= UploadPlan::MAX_PARTS);
        assert!(UploadPlan::new(0, 8 * MIB).is_err());
        assert!(UploadPlan::new(u64::MAX, 8 * MIB).is_err());
    }

    #[test]
    fn last_part_takes_the_remainder() {
        let plan = UploadPlan::new(20 * MIB + 3, 8 * MIB).unwrap();
        assert_eq!(plan.part_count, 3);
        assert_eq!(plan.expected_size(PartNumber::try_from(1).unwrap()), 8 * MIB);
        assert_eq!(plan.expected_size(PartNumber::try_from(3).unwrap()), 4 * MIB + 3);
        assert!(plan.check_part(PartNumber::try_from(3).unwrap()).is_ok());
        assert!(plan.check_part(PartNumber::try_from(4).unwrap()).is_err());
    }

    #[test]
    fn completion_wants_every_part_at_its_size() {
        let plan = UploadPlan::new(20 * MIB, 8 * MIB).unwrap();
        let all = [part(2, 8 * MIB), part(1, 8 * MIB), part(3, 4 * MIB)];
        let chosen = plan.check_completion(&all, None).unwrap();
        assert_eq!(chosen.iter().map(|p| p.number.get()).collect::<Vec<_>>(), [1, 2, 3]);

        assert_eq!(plan.check_completion(&all[..2], None), Err(PartCheck::Missing(vec![PartNumber::try_from(3).unwrap()])));
        let short = [part(1, 8 * MIB), part(2, 7 * MIB), part(3, 4 * MIB)];
        assert!(matches!(plan.check_completion(&short, None), Err(PartCheck::WrongSize { .. })));
        let long = [part(1, 8 * MIB), part(2, 8 * MIB), part(3, 4 * MIB + 1)];
        assert!(matches!(plan.check_completion(&long, None), Err(PartCheck::TooManyBytes { .. })));
    }

    #[test]
    fn requested_parts_must_match_what_storage_holds() {
        let plan = UploadPlan::new(20 * MIB, 8 * MIB).unwrap();
        let all = [part(1, 8 * MIB), part(2, 8 * MIB), part(3, 4 * MIB)];
        let n = |n| PartNumber::try_from(n).unwrap();
        let good: Vec<_> = all.iter().map(|p| (p.number, ETag::new(p.etag.bare()))).collect();
        assert!(plan.check_completion(&all, Some(&good)).is_ok(), "quotes do not matter");
        assert_eq!(plan.check_completion(&all, Some(&[(n(2), ETag::new("\"forged\""))])), Err(PartCheck::ETagMismatch(n(2))));
        assert_eq!(plan.check_completion(&all[..2], Some(&[(n(3), ETag::new("x"))])), Err(PartCheck::NotHeld(n(3))));
        assert_eq!(plan.check_completion(&all, Some(&[(n(4), ETag::new("x"))])), Err(PartCheck::OutOfRange(n(4), 3)));
    }

    #[test]
    fn missing_lists_are_readable() {
        let parts: Vec<_> = (1..=12).map(|n| PartNumber::try_from(n).unwrap()).collect();
        assert_eq!(
            PartCheck::Missing(parts).to_string(),
            "parts 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more are missing: upload them, then complete again"
        );
    }
}
