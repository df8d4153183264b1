//! S3 `ObjectCreated` events as S3 sends them to Lambda: built by the local stack's storage, by tests and by the
//! sample events, and read by the transcode function through `aws_lambda_events`.

use serde_json::{Value, json};

/// An object that was created, as the notification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub etag: String,
    /// `ObjectCreated:Put` or `ObjectCreated:CompleteMultipartUpload`.
    pub event_name: &'static str,
    /// Orders the events of one key, as S3's `sequencer` does.
    pub sequencer: String,
}

/// The event S3 sends Lambda for one created object.
pub fn s3_event_json(o: &ObjectCreated) -> Value {
    let key = event_key_encoding(&o.key);
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "eventName": o.event_name,
        "userIdentity": {"principalId": "framelift-local"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": o.sequencer, "x-amz-id-2": "local"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "framelift-uploads",
            "bucket": {"name": o.bucket, "ownerIdentity": {"principalId": "framelift-local"}, "arn": format!("arn:aws:s3:::{}", o.bucket)},
            "object": {"key": key, "size": o.size, "eTag": o.etag, "sequencer": o.sequencer},
        },
    }]})
}

/// S3 URL-encodes keys in events, keeping `/` and writing a space as `+`.
fn event_key_encoding(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The key of an event record, decoded: the inverse of [`event_key_encoding`] (`+` for a space, `%XX` escapes).
pub fn decode_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::s3::S3Event;

    #[test]
    fn the_event_is_what_lambda_parses() {
        let created = ObjectCreated {
            bucket: "media".into(),
            key: "uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source".into(),
            size: 42,
            etag: "abc-2".into(),
            event_name: "ObjectCreated:CompleteMultipartUpload",
            sequencer: "0000000000000001".into(),
        };
        let event: S3Event = serde_json::from_value(s3_event_json(&created)).unwrap();
        let r = &event.records[0];
        assert_eq!(r.event_name.as_deref(), Some("ObjectCreated:CompleteMultipartUpload"));
        assert_eq!(r.s3.bucket.name.as_deref(), Some("media"));
        assert_eq!(r.s3.object.key.as_deref(), Some("uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/source"));
        assert_eq!(r.s3.object.size, Some(42));
        assert_eq!(event_key_encoding("a b/c=d"), "a+b/c%3Dd");
        assert_eq!(decode_key(&event_key_encoding("a b/c=d")), "a b/c=d");
        assert_eq!(decode_key("uploads/01ABC/source"), "uploads/01ABC/source");
        assert_eq!(decode_key("a+b%3Dc%2"), "a b=c%2");
    }
}
