//! Whole numbers as JSON writes them: `8`, and also `8.0`, which JSON Schema (and so every client made from the
//! OpenAPI document) calls an integer too.

use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use std::fmt;

/// A JSON number without a fraction, of any sign and size a request could hold; each field checks its own range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeNumber(pub i128);

impl<'de> Deserialize<'de> for WholeNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Whole;
        impl Visitor<'_> for Whole {
            type Value = WholeNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WholeNumber, E> {
                Ok(WholeNumber(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<WholeNumber, E> {
                // Beyond 2^100 nothing any field takes; the bound keeps the cast exact.
                if v.fract() == 0.0 && v.abs() < 2f64.powi(100) {
                    Ok(WholeNumber(v as i128))
                } else {
                    Err(E::invalid_value(Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(Whole)
    }
}

impl WholeNumber {
    /// As a `u64`, if it is one.
    pub fn to_u64(self) -> Option<u64> {
        u64::try_from(self.0).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_whole_floats_are_whole_numbers() {
        let read = |s: &str| serde_json::from_str::<WholeNumber>(s).map(|w| w.0).map_err(|e| e.to_string());
        assert_eq!(read("8"), Ok(8));
        assert_eq!(read("8.0"), Ok(8));
        assert_eq!(read("-3"), Ok(-3));
        assert_eq!(read("18446744073709551615"), Ok(u64::MAX.into()));
        assert_eq!(read("1e3"), Ok(1000));
        assert!(read("2.5").unwrap_err().contains("expected a whole number"));
        assert!(read("\"5\"").unwrap_err().contains("invalid type"));
        assert!(read("1e300").is_err());
    }
}
