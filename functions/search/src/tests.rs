use super::*;
use framelift_shared::domain::VideoStatus;
use framelift_shared::ports::{MetadataStore, SearchIndex};
use framelift_testkit::{World, parts, request};
use serde_json::Value;
use time::macros::datetime;

async fn get(w: &World, path: &str) -> (u16, Value) {
    parts(handle(&w.state, request("GET", path, None, None)).await)
}

fn titles(v: &Value) -> Vec<&str> {
    v["videos"].as_array().unwrap().iter().map(|v| v["title"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn ready_videos_match_by_title_author_and_description_with_typos() {
    let w = World::default();
    let at = datetime!(2026-11-01 10:00:00 UTC);
    w.video_titled("Keerti", "Day 9", Some("Adaptive bitrate streaming"), VideoStatus::Ready, at).await;
    w.video_titled("Alice", "Sourdough at home", Some("Bread for beginners"), VideoStatus::Ready, at).await;
    w.video_titled("Alice", "Sourdough, the sequel", None, VideoStatus::Processing, at).await;

    let (status, body) = get(&w, "/api/search?q=keetri").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&body), ["Day 9"], "a typo in the author's name");
    assert_eq!(body["total"], 1);
    let video = &body["videos"][0];
    assert_eq!(video["author"]["name"], "Keerti");
    assert!(video["posterUrl"].as_str().unwrap().contains("poster.jpg"), "the same view as the catalogue: {video}");
    assert_eq!(titles(&get(&w, "/api/search?q=adapt").await.1), ["Day 9"], "the last word as a prefix");
    assert_eq!(titles(&get(&w, "/api/search?q=sourdough").await.1), ["Sourdough at home"], "only ready videos");
    let (_, none) = get(&w, "/api/search?q=zebra").await;
    assert_eq!((titles(&none).len(), &none["total"]), (0, &Value::from(0)));
}

#[tokio::test]
async fn limit_bounds_the_page_and_total_counts_every_match() {
    let w = World::default();
    for i in 0..5 {
        w.video_titled("Alice", &format!("Cooking {i}"), None, VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    }
    let (status, body) = get(&w, "/api/search?q=cooking&limit=2").await;
    assert_eq!(status, 200);
    assert_eq!((titles(&body).len(), &body["total"]), (2, &Value::from(5)));
}

#[tokio::test]
async fn an_entry_left_behind_by_a_deleted_video_is_skipped() {
    let w = World::default();
    let v = w.video_titled("Alice", "Cooking", None, VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    let kept = w.video_titled("Alice", "Cooking again", None, VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    w.meta.delete(&v.id, v.version).await.unwrap();
    let (_, body) = get(&w, "/api/search?q=cooking").await;
    assert_eq!(titles(&body), ["Cooking again"]);
    assert_eq!(body["total"], 1);
    w.search.remove(&kept.id).await.unwrap();
    assert_eq!(get(&w, "/api/search?q=cooking").await.1["total"], 0);
}

/// Views are kept between searches (`AppState::write_ready_views`); a write to the catalogue shows in the next search.
#[tokio::test]
async fn results_show_every_write_made_since_the_last_search() {
    let w = World::default();
    let at = datetime!(2026-11-01 10:00:00 UTC);
    let pasta = w.video_titled("Alice", "Cooking pasta", None, VideoStatus::Ready, at).await;
    let rice = w.video_titled("Alice", "Cooking rice", None, VideoStatus::Ready, at).await;
    let sorted = |v: &Value| {
        let mut t: Vec<String> = titles(v).into_iter().map(str::to_owned).collect();
        t.sort();
        t
    };
    let first = get(&w, "/api/search?q=cooking").await.1;
    assert_eq!(sorted(&first), ["Cooking pasta", "Cooking rice"]);
    assert_eq!(get(&w, "/api/search?q=cooking").await.1, first, "nothing written: the same results");

    let mut renamed = pasta.clone();
    renamed.title = "Cooking risotto".parse().unwrap();
    renamed.version += 1;
    w.meta.replace(&renamed).await.unwrap();
    assert_eq!(sorted(&get(&w, "/api/search?q=cooking").await.1), ["Cooking rice", "Cooking risotto"], "the new title");

    w.meta.delete(&rice.id, rice.version).await.unwrap();
    let (_, after) = get(&w, "/api/search?q=cooking").await;
    assert_eq!((titles(&after), &after["total"]), (vec!["Cooking risotto"], &Value::from(1)), "a deleted video is gone");
}

#[tokio::test]
async fn bad_queries_say_what_to_fix() {
    let w = World::default();
    for (path, needle) in [
        ("/api/search", "q is required"),
        ("/api/search?q=", "at least one letter or digit"),
        ("/api/search?q=%22%28%2A", "at least one letter or digit"),
        ("/api/search?q=cats&limit=0", "limit must be a whole number from 1 to 100"),
        ("/api/search?q=cats&limit=101", "limit must be"),
        ("/api/search?q=cats&limit=ten", "limit must be"),
    ] {
        let (status, body) = get(&w, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(body["error"]["message"].as_str().unwrap().contains(needle), "{path}: {body}");
    }
    let long = "a".repeat(201);
    let (status, body) = get(&w, &format!("/api/search?q={long}")).await;
    assert_eq!((status, body["error"]["message"].as_str().unwrap()), (400, "q is too long: at most 200 characters"));
}
