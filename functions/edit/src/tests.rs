use super::*;
use framelift_shared::domain::{SearchText, Visibility};
use framelift_shared::ports::{MetadataStore, SearchIndex};
use framelift_testkit::{World, parts, request};
use serde_json::{Value, json};
use time::macros::datetime;

async fn patch(w: &World, id: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    parts(handle(&w.state, request("PATCH", &format!("/api/videos/{id}"), Some(body), token)).await)
}

async fn found(w: &World, words: &str) -> Vec<String> {
    let hits = w.search.search(&SearchText::parse(words).unwrap(), 10).await.unwrap();
    hits.ids.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn the_owner_renames_and_redescribes_and_search_follows_at_once() {
    let w = World::default();
    let v = w.video_titled("Alice", "Harbour walk", Some("gulls"), VideoStatus::Ready, datetime!(2026-11-01 10:00 UTC)).await;
    let id = v.id.to_string();
    let (status, body) = patch(
        &w,
        &id,
        json!({"title": "  Lighthouse tour ", "description": "0:00 Start\n0:20 Lamp\n0:40 Stairs"}),
        Some(&w.token("Alice")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["video"]["title"], "Lighthouse tour");
    assert_eq!(body["video"]["visibility"], "public");
    assert_eq!(body["video"]["chapters"].as_array().map(Vec::len), None, "three chapters in a 10 s video are too short");
    assert!(body["video"]["posterUrl"].is_string(), "the same view as the detail: {body}");
    assert_eq!(found(&w, "lighthouse").await, std::slice::from_ref(&id));
    assert!(found(&w, "harbour").await.is_empty(), "the old title is no longer found");
    // A description of null removes it; the title stays.
    let (status, body) = patch(&w, &id, json!({"description": null}), Some(&w.token("Alice"))).await;
    assert_eq!((status, body["video"].get("description"), body["video"]["title"].as_str()), (200, None, Some("Lighthouse tour")));
    assert_eq!(w.meta.get(&v.id).await.unwrap().unwrap().version, v.version + 2);
}

#[tokio::test]
async fn unlisted_and_private_leave_search_and_public_comes_back() {
    let w = World::default();
    let v = w.video_titled("Alice", "Harbour walk", None, VideoStatus::Ready, datetime!(2026-11-01 10:00 UTC)).await;
    let id = v.id.to_string();
    let alice = w.token("Alice");
    for (level, findable) in [("unlisted", false), ("public", true), ("private", false), ("public", true)] {
        let (status, body) = patch(&w, &id, json!({"visibility": level}), Some(&alice)).await;
        assert_eq!((status, body["video"]["visibility"].as_str()), (200, Some(level)), "{body}");
        assert_eq!(found(&w, "harbour").await.len(), usize::from(findable), "{level}");
    }
}

#[tokio::test]
async fn a_video_still_processing_can_be_edited_and_is_not_indexed_early() {
    let w = World::default();
    let v = w.video_titled("Alice", "Harbour walk", None, VideoStatus::Processing, datetime!(2026-11-01 10:00 UTC)).await;
    let (status, body) = patch(&w, &v.id.to_string(), json!({"visibility": "private", "title": "Draft"}), Some(&w.token("Alice"))).await;
    assert_eq!(status, 200, "{body}");
    let stored = w.meta.get(&v.id).await.unwrap().unwrap();
    assert_eq!((stored.visibility, stored.title.as_str(), stored.status), (Visibility::Private, "Draft", VideoStatus::Processing));
    assert!(found(&w, "draft").await.is_empty());
}

#[tokio::test]
async fn only_the_owner_may_edit_and_a_private_video_does_not_exist_for_others() {
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00 UTC)).await;
    let id = v.id.to_string();
    let change = json!({"title": "Mine now"});
    assert_eq!(patch(&w, &id, change.clone(), None).await.0, 401);
    let (status, body) = patch(&w, &id, change.clone(), Some(&w.token("Bob"))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("only its owner may change it"), "{body}");
    patch(&w, &id, json!({"visibility": "private"}), Some(&w.token("Alice"))).await;
    assert_eq!(patch(&w, &id, change.clone(), Some(&w.token("Bob"))).await.0, 404);
    assert_eq!(patch(&w, "01JDX3W9K7Q4T2B8N6M5R0ZC1A", change, Some(&w.token("Alice"))).await.0, 404);
    assert_eq!(w.meta.get(&v.id).await.unwrap().unwrap().title.as_str(), "Test video");
}

#[tokio::test]
async fn a_bad_change_says_what_to_fix_and_changes_nothing() {
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00 UTC)).await;
    let id = v.id.to_string();
    let alice = w.token("Alice");
    for (body, says) in [
        (json!({}), "nothing to change: send title, description or visibility"),
        (json!({"visibility": "secret"}), "visibility 'secret' is not one of public"),
        (json!({"title": " "}), "title is empty"),
        (json!({"title": "x".repeat(201)}), "title is longer than 200 characters"),
        (json!({"colour": "red"}), "unknown field `colour`"),
        (json!({"title": 7}), "a field is missing or invalid"),
        // Only a description is removed by null; a title or visibility cannot be.
        (json!({"title": null, "visibility": "unlisted"}), "invalid type: null, expected a string"),
        (json!({"visibility": null}), "invalid type: null, expected a string"),
        (json!([null, null]), "the body must be a JSON object"),
    ] {
        let (status, answer) = patch(&w, &id, body.clone(), Some(&alice)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(w.meta.get(&v.id).await.unwrap().unwrap(), v, "nothing was written");
}

async fn send_captions(w: &World, id: &str, language: &str, text: &[u8], token: Option<&str>) -> (u16, Value) {
    let mut req = request("PUT", &format!("/api/videos/{id}/captions/{language}?label=English"), None, token);
    *req.body_mut() = lambda_http::Body::Binary(text.to_vec());
    parts(handle(&w.state, req).await)
}

#[tokio::test]
async fn srt_captions_are_stored_as_webvtt_and_listed_then_removed() {
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00 UTC)).await;
    let id = v.id.to_string();
    let alice = w.token("Alice");
    let srt = b"1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n";
    let (status, body) = send_captions(&w, &id, "EN", srt, Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["video"]["captions"], json!([{"language": "en", "label": "English"}]));
    let stored = String::from_utf8(w.blobs.object(&format!("{}captions/en.vtt", v.id.media_prefix())).unwrap()).unwrap();
    assert!(
        stored.starts_with("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:1026000,LOCAL:00:00:00.000\n")
            && stored.contains("00:00:01.000 --> 00:00:02.500\nHello"),
        "{stored}"
    );
    // A second language, then the first replaced: one entry per language.
    send_captions(&w, &id, "pt-br", b"WEBVTT\n\n00:01.000 --> 00:02.000\nOla\n", Some(&alice)).await;
    let (_, body) = send_captions(&w, &id, "en", srt, Some(&alice)).await;
    let languages: Vec<&str> = body["video"]["captions"].as_array().unwrap().iter().map(|c| c["language"].as_str().unwrap()).collect();
    assert_eq!(languages, ["en", "pt-BR"]);
    let (status, body) = parts(handle(&w.state, request("DELETE", &format!("/api/videos/{id}/captions/en"), None, Some(&alice))).await);
    assert_eq!((status, body["video"]["captions"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
    assert!(w.blobs.object(&format!("{}captions/en.vtt", v.id.media_prefix())).is_none());
    let (status, body) = parts(handle(&w.state, request("DELETE", &format!("/api/videos/{id}/captions/en"), None, Some(&alice))).await);
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn bad_captions_say_what_to_fix_and_store_nothing() {
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00 UTC)).await;
    let id = v.id.to_string();
    let alice = w.token("Alice");
    let cases: [(&str, &[u8], u16, &str); 5] = [
        ("en", b"\x00\x00\x00\x18ftypmp42", 400, "control characters"),
        ("en", b"1\n00:00:05,000 --> 00:00:01,000\nbackwards\n", 400, "line 2: the cue ends before it starts"),
        ("english", b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", 400, "'english' is not a language tag"),
        ("en", &[b'a'; 600 * 1024], 413, "larger than 512 KiB"),
        ("en", b"", 400, "no cues"),
    ];
    for (language, text, want, says) in cases {
        let (status, body) = send_captions(&w, &id, language, text, Some(&alice)).await;
        assert_eq!(status, want, "{says}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{body}");
    }
    assert_eq!(send_captions(&w, &id, "en", b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", Some(&w.token("Bob"))).await.0, 403);
    assert_eq!(send_captions(&w, &id, "en", b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", None).await.0, 401);
    assert!(w.blobs.keys().iter().all(|k| !k.contains("captions")), "{:?}", w.blobs.keys());
    assert!(w.meta.get(&v.id).await.unwrap().unwrap().captions.is_empty());
}
