//! S3 event notifications as the transcode function reads them (through `aws_lambda_events`).

/// The key of an event record, decoded: S3 URL-encodes keys in events, writing a space as `+` (and a `+` as `%2B`).
pub fn decode_key(key: &str) -> String {
    percent_encoding::percent_decode_str(&key.replace('+', " ")).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_as_s3_encodes_them() {
        assert_eq!(decode_key("a+b/c%3Dd"), "a b/c=d");
        assert_eq!(decode_key("uploads/01ABC/source"), "uploads/01ABC/source");
        assert_eq!(decode_key("a+b%3Dc%2"), "a b=c%2");
        assert_eq!(decode_key("one%2Btwo%20"), "one+two ");
    }
}
