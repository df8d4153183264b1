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
    ] {
        let (status, answer) = patch(&w, &id, body.clone(), Some(&alice)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(w.meta.get(&v.id).await.unwrap().unwrap(), v, "nothing was written");
}
