//! The sample events in `events/`: one API Gateway HTTP API (payload 2.0) event per route and an S3
//! `ObjectCreated:CompleteMultipartUpload` event for the transcoder. Each is parsed by the real lambda_http /
//! aws_lambda_events types and run through its handler here; the same files work with
//! `cargo lambda invoke <function> --data-file events/<file>`.
//!
//! The files are made by this test's generator from the route table (`FRAMELIFT_WRITE_EVENTS=1 cargo test -p
//! framelift-tests --test events` rewrites them), and the test fails if they drift from it.

use framelift_devserver::invoke;
use framelift_local::apigw::{self, RawRequest};
use framelift_shared::domain::{VideoId, VideoStatus};
use framelift_shared::routes::{ROUTES, Route};
use framelift_testkit::World;
use serde_json::{Value, json};
use std::path::PathBuf;
use time::macros::datetime;

/// The video id every sample event names.
const ID: &str = "01JDX3W9K7Q4T2B8N6M5R0ZC1A";
/// Where a token goes; the test (or whoever invokes) puts a real one in.
const TOKEN: &str = "Bearer <a token from POST /dev/token or Google>";

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../events"))
}

/// The sample request of a route: its file name, the request, and the status its handler answers in the test world
/// (a ready video with id [`ID`] owned by Alice, who is the caller; no upload in progress).
fn sample(route: &Route) -> (String, RawRequest, u16) {
    let path = route.path.replace("{id}", ID).replace("{path+}", "master.m3u8").replace("{language}", "en");
    let captions = "1\n00:00:00,500 --> 00:00:02,000\nAdaptive bitrate streaming, day 9.\n";
    let (query, body, status): (&str, Option<Value>, u16) = match (route.method, route.path) {
        ("POST", "/api/uploads") => {
            ("", Some(json!({"filename": "day9.mp4", "contentType": "video/mp4", "size": 61581333, "title": "Day 9"})), 201)
        }
        ("POST", "/api/uploads/{id}/part-urls") => ("", Some(json!({"partNumbers": [1, 2, 3]})), 409),
        ("GET", "/api/uploads/{id}/parts") => ("", None, 409),
        ("POST", "/api/uploads/{id}/complete") => ("", Some(json!({})), 200),
        ("DELETE", "/api/uploads/{id}") => ("", None, 409),
        ("GET", "/api/videos") => ("limit=20", None, 200),
        ("GET", "/api/videos/{id}") => ("", None, 200),
        ("GET", "/api/videos/{id}/watch") => ("", None, 200),
        ("GET", "/api/videos/{id}/hls/{path+}") => ("expires=1767225600&grant=viewer&sig=unsigned-sample", None, 403),
        ("DELETE", "/api/videos/{id}") => ("", None, 204),
        ("PUT", "/api/videos/{id}/captions/{language}") => ("label=English", Some(Value::String(captions.to_owned())), 200),
        ("DELETE", "/api/videos/{id}/captions/{language}") => ("", None, 404),
        ("PATCH", "/api/videos/{id}") => ("", Some(json!({"title": "Day 9: adaptive streaming", "visibility": "unlisted"})), 200),
        ("GET", "/api/search") => ("q=day%209&limit=10", None, 200),
        other => panic!("no sample for {other:?}: add one"),
    };
    let mut headers = vec![("host".to_owned(), "abc123.execute-api.eu-west-1.amazonaws.com".to_owned())];
    if route.path.starts_with("/api/uploads") || ["DELETE", "PATCH", "PUT"].contains(&route.method) {
        headers.push(("authorization".to_owned(), TOKEN.to_owned()));
    }
    // Captions go as the file's text; every other body is JSON.
    let body = body.map(|b| match b {
        Value::String(text) => {
            headers.push(("content-type".to_owned(), "application/x-subrip".to_owned()));
            text.into_bytes()
        }
        json => {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            json.to_string().into_bytes()
        }
    });
    let name = format!("{}.{}.json", route.function.name(), slug(route));
    let raw = RawRequest {
        method: route.method.to_owned(),
        path,
        query: query.to_owned(),
        headers,
        body: body.unwrap_or_default(),
        source_ip: "203.0.113.7".to_owned(),
    };
    (name, raw, status)
}

fn slug(route: &Route) -> String {
    let last = route.path.trim_end_matches('/').rsplit('/').find(|s| !s.starts_with('{')).unwrap_or("root");
    let one = route.path.ends_with('}') && !route.path.ends_with("+}");
    format!("{}-{}{}", route.method.to_lowercase(), last, if one { "-one" } else { "" })
}

fn event_of(route: &Route, raw: &RawRequest) -> Value {
    let params = route.match_path(&raw.path).expect("the sample path fits its route");
    let mut event = apigw::event_json(&apigw::event(route, &params, raw));
    // Fixed values where API Gateway puts fresh ones, so the files do not change between runs.
    event["requestContext"]["requestId"] = json!("c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
    event["requestContext"]["timeEpoch"] = json!(1764064800000u64);
    event["requestContext"]["time"] = json!("25/Nov/2026:10:00:00 +0000");
    event
}

fn s3_event() -> Value {
    let created = framelift_local::s3_events::ObjectCreated {
        bucket: "framelift-media-0f1e2d3c".into(),
        key: format!("uploads/{ID}/source"),
        size: 61581333,
        etag: "6805f2cfc46c0f04559748bb039d69ae-8".into(),
        event_name: "ObjectCreated:CompleteMultipartUpload",
        sequencer: "0062E99A88DC407460".into(),
    };
    let mut event = framelift_local::s3_events::s3_event_json(&created);
    event["Records"][0]["eventTime"] = json!("2026-11-25T10:00:00.000Z");
    event["Records"][0]["awsRegion"] = json!("eu-west-1");
    event
}

fn write_or_compare(name: &str, event: &Value) {
    let path = dir().join(name);
    let text = serde_json::to_string_pretty(event).unwrap() + "\n";
    if std::env::var_os("FRAMELIFT_WRITE_EVENTS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: run with FRAMELIFT_WRITE_EVENTS=1", path.display()));
    let on_disk: Value = serde_json::from_str(&on_disk).unwrap();
    assert_eq!(&on_disk, event, "{name} drifted from the generator: run with FRAMELIFT_WRITE_EVENTS=1");
}

/// A world where the sample id is Alice's ready video (in the search index) and Alice is the caller.
async fn world() -> World {
    let w = World::default();
    let mut v =
        w.video_titled("Alice", "Day 9", Some("Adaptive bitrate streaming"), VideoStatus::Ready, datetime!(2026-11-24 10:00:00 UTC)).await;
    use framelift_shared::ports::{MetadataStore, SearchIndex};
    w.meta.delete(&v.id, v.version).await.unwrap();
    w.search.remove(&v.id).await.unwrap();
    v.id = ID.parse::<VideoId>().unwrap();
    // The poster lives in the video's own media folder, as the transcoder stores it.
    if let Some(media) = v.media.as_mut() {
        media.poster_key = Some(format!("{}poster.jpg", v.id.media_prefix()));
    }
    w.meta.insert(&v).await.unwrap();
    w.search.put(&framelift_shared::domain::SearchDocument::of(&v)).await.unwrap();
    w
}

#[tokio::test]
async fn every_route_has_a_sample_event_that_its_handler_runs() {
    let mut names = Vec::new();
    for route in ROUTES {
        let (name, raw, expected) = sample(route);
        let event = event_of(route, &raw);
        write_or_compare(&name, &event);
        // As Lambda would: the file through lambda_http's parser, a real token in place of the placeholder.
        let w = world().await;
        let text = std::fs::read_to_string(dir().join(&name)).unwrap().replace(TOKEN, &format!("Bearer {}", w.token("Alice")));
        let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let res = invoke(route.function, &w.state, req).await;
        let body = String::from_utf8_lossy(res.body().as_ref()).into_owned();
        assert_eq!(res.status().as_u16(), expected, "{name}: {body}");
        names.push(name);
    }
    names.extend(TRANSCODE_SAMPLES.iter().map(|s| s.to_string()));
    names.push(ENCODE_SAMPLE.to_owned());
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    names.sort();
    assert_eq!(on_disk, names, "events/ holds exactly one sample per route and the transcoder's");
}

/// The planner and workers with an empty catalogue.
fn empty_transcoder() -> framelift_transcode::TranscodeState {
    let w = World::default();
    framelift_transcode::TranscodeState {
        meta: w.meta.clone(),
        objects: w.blobs.clone(),
        search: w.search.clone(),
        queue: std::sync::Arc::new(framelift_local::memory::MemoryQueue::default()),
        tools: framelift_media::Tools::locate().unwrap(),
        work_root: framelift_media::AbsolutePath::resolve(std::env::temp_dir()).unwrap(),
        options: framelift_media::Options::default(),
        lease: std::time::Duration::from_secs(180),
        stall: std::time::Duration::from_secs(3600),
        segments_per_chunk: framelift_transcode::SEGMENTS_PER_CHUNK,
        faults: framelift_transcode::Faults::NONE,
    }
}

/// The encode function's sample: SQS's event of one job, as the planner queues it.
const ENCODE_SAMPLE: &str = "encode.sqs-job.json";

#[tokio::test]
async fn the_encode_sample_is_what_its_handler_takes() {
    let job = json!({
        "video": "01JDX3W9K7Q4T2B8N6M5R0ZC1A",
        "part": {"kind": "chunk", "index": 2, "firstSegment": 20, "start": 120.0, "length": 60.0},
        "source": {"demuxer": "mov", "width": 1920, "height": 1080, "fps": 30.0, "duration": 7200.0, "hasAudio": true,
                   "audioChannels": 2, "videoCodec": "h264"}
    });
    let event = json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": job.to_string(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764066000000", "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                       "ApproximateFirstReceiveTimestamp": "1764066000100"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:framelift-encode-jobs",
        "awsRegion": "eu-west-1"
    }]});
    write_or_compare(ENCODE_SAMPLE, &event);
    let parsed: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event).unwrap();
    let body = parsed.records[0].body.clone().unwrap();
    let read = framelift_transcode::EncodeJob::parse(&body).unwrap();
    assert_eq!(read.part, framelift_transcode::Part::Chunk(framelift_media::chunks::plan(7200.0, 10)[2]));
    // No such video in an empty world: the job is done (deleted from the queue), not failed.
    let response = framelift_transcode::worker::batch(&empty_transcoder(), parsed, framelift_transcode::Budget::NONE).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}

/// The transcode function's samples: an upload's event, the sweep schedule, and a failure record being redriven.
const TRANSCODE_SAMPLES: [&str; 3] = ["transcode.object-created.json", "transcode.redrive.json", "transcode.schedule.json"];

#[tokio::test]
async fn the_transcode_samples_are_what_its_handler_takes() {
    let event = s3_event();
    write_or_compare("transcode.object-created.json", &event);
    // What Lambda puts on the on-failure destination after the last retry: the original event as `requestPayload`.
    let failure = json!({
        "version": "1.0",
        "timestamp": "2026-11-25T10:16:00.000Z",
        "requestContext": {
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:framelift-TranscodeFunction:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "&alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>", "errorMessage": "storage unavailable"}
    });
    write_or_compare("transcode.redrive.json", &failure);
    // EventBridge's scheduled event, as the template's Sweep schedule sends it.
    let schedule = json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-25T10:20:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/framelift-TranscodeFunctionSweep"],
        "detail": {}
    });
    write_or_compare("transcode.schedule.json", &schedule);

    let state = empty_transcoder();
    use framelift_transcode::Trigger;
    for name in TRANSCODE_SAMPLES {
        let payload: Value = serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap();
        match (name, Trigger::parse(payload.clone()).unwrap()) {
            ("transcode.schedule.json", Trigger::Sweep) => {}
            ("transcode.object-created.json" | "transcode.redrive.json", Trigger::Uploads(e)) => {
                assert_eq!(e.records[0].event_name.as_deref(), Some("ObjectCreated:CompleteMultipartUpload"), "{name}");
            }
            (name, other) => panic!("{name} was read as {other:?}"),
        }
        // No such video in an empty world: the function finds nothing to do and succeeds (no retry).
        framelift_transcode::invoke(&state, payload, framelift_transcode::Budget::NONE).await.unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
    let junk = Trigger::parse(json!({"hello": "world"})).unwrap_err().to_string();
    assert!(junk.contains("not an S3 notification, a schedule or a failure record"), "{junk}");
}
