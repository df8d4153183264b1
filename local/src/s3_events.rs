//! S3 `ObjectCreated` events as S3 sends them to Lambda, built by the local stack's storage, by tests and for the
//! sample events.

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

/// What S3 leaves unencoded in an event's key (a space becomes `+`).
const KEY: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/').remove(b'*').remove(b' ');

/// The event S3 sends Lambda for one created object.
pub fn s3_event_json(o: &ObjectCreated) -> Value {
    let key = percent_encoding::utf8_percent_encode(&o.key, KEY).to_string().replace(' ', "+");
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::s3::S3Event;
    use framelift_shared::s3_events::decode_key;

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
        let odd = ObjectCreated { key: "a b/c=d+e".into(), ..created };
        let key = s3_event_json(&odd)["Records"][0]["s3"]["object"]["key"].as_str().unwrap().to_owned();
        assert_eq!(key, "a+b/c%3Dd%2Be");
        assert_eq!(decode_key(&key), "a b/c=d+e");
    }
}
