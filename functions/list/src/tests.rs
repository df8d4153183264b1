use super::*;
use framelift_shared::domain::VideoStatus;
use framelift_shared::ports::MetadataStore;
use framelift_testkit::{World, parts, request};
use serde_json::{Value, json};
use time::macros::datetime;

async fn get(w: &World, path: &str, token: Option<&str>) -> (u16, Value) {
    parts(handle(&w.state, request("GET", path, None, token)).await)
}

fn titles_ids(v: &Value) -> Vec<String> {
    v["videos"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_catalogue_is_ready_videos_newest_first_in_pages() {
    let w = World::default();
    let mut ready = Vec::new();
    for i in 0..5 {
        ready.push(w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC) + time::Duration::hours(i)).await);
    }
    w.video("Alice", VideoStatus::Processing, datetime!(2026-11-02 10:00:00 UTC)).await;
    w.video("Bob", VideoStatus::Failed, datetime!(2026-11-02 11:00:00 UTC)).await;
    let newest_first: Vec<String> = ready.iter().rev().map(|r| r.id.to_string()).collect();

    let (status, page1) = get(&w, "/api/videos?limit=2", None).await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(titles_ids(&page1), newest_first[..2]);
    assert!(page1["videos"][0]["posterUrl"].as_str().unwrap().contains("poster.jpg"));
    let cursor = page1["nextCursor"].as_str().unwrap();
    let (_, page2) = get(&w, &format!("/api/videos?limit=2&cursor={cursor}"), None).await;
    assert_eq!(titles_ids(&page2), newest_first[2..4]);
    let (_, page3) = get(&w, &format!("/api/videos?limit=2&cursor={}", page2["nextCursor"].as_str().unwrap()), None).await;
    assert_eq!(titles_ids(&page3), newest_first[4..]);
    assert!(page3.get("nextCursor").is_none(), "the last page has no cursor");
    let (_, all) = get(&w, "/api/videos", None).await;
    assert_eq!(titles_ids(&all), newest_first, "default limit 20; only ready videos");
}

#[tokio::test]
async fn mine_lists_every_status_of_the_callers_videos_only() {
    let w = World::default();
    let t = datetime!(2026-11-01 10:00:00 UTC);
    let a = w.video("Alice", VideoStatus::Ready, t).await;
    let b = w.video("Alice", VideoStatus::Failed, t + time::Duration::minutes(1)).await;
    let c = w.video("Alice", VideoStatus::Uploading, t + time::Duration::minutes(2)).await;
    w.video("Bob", VideoStatus::Ready, t + time::Duration::minutes(3)).await;
    let (status, mine) = get(&w, "/api/videos?mine=true", Some(&w.token("Alice"))).await;
    assert_eq!(status, 200);
    assert_eq!(titles_ids(&mine), [c.id.to_string(), b.id.to_string(), a.id.to_string()]);
    assert_eq!(mine["videos"][1]["failureReason"], "not a video file");
    assert_eq!(get(&w, "/api/videos?mine=true", None).await.0, 401, "mine needs a token");
    assert_eq!(get(&w, "/api/videos?mine=true", Some("forged")).await.0, 401);
}

#[tokio::test]
async fn cursors_and_limits_are_checked() {
    let w = World::default();
    for i in 0..3 {
        w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC) + time::Duration::hours(i)).await;
    }
    for bad in ["0", "101", "-1", "abc", "1.5", ""] {
        let (status, res) = get(&w, &format!("/api/videos?limit={bad}"), None).await;
        assert_eq!(status, 400, "limit={bad}");
        assert!(res["error"]["message"].as_str().unwrap().contains("1 to 100"));
    }
    let (_, page) = get(&w, "/api/videos?limit=1", None).await;
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let flipped = format!("{}{}", &cursor[..cursor.len() - 1], if cursor.ends_with('A') { 'B' } else { 'A' });
    for bad in [flipped.as_str(), "garbage", "e30.e30", &cursor[..10]] {
        assert_eq!(get(&w, &format!("/api/videos?cursor={bad}"), None).await.0, 400, "cursor {bad}");
    }
    // A public cursor does not open another listing.
    assert_eq!(get(&w, &format!("/api/videos?mine=true&cursor={cursor}"), Some(&w.token("Alice"))).await.0, 400);
    assert_eq!(get(&w, "/api/videos?mine=maybe", None).await.0, 400);
}

#[tokio::test]
async fn a_video_that_is_not_ready_is_visible_to_its_owner_only() {
    let w = World::default();
    let t = datetime!(2026-11-01 10:00:00 UTC);
    let ready = w.video("Alice", VideoStatus::Ready, t).await;
    let processing = w.video("Alice", VideoStatus::Processing, t).await;
    let (status, res) = get(&w, &format!("/api/videos/{}", ready.id), None).await;
    assert_eq!(status, 200);
    assert_eq!(res["video"]["status"], "ready");
    assert_eq!(res["video"]["renditions"][0]["bandwidth"], 2_700_000);
    assert!(res["video"]["posterUrl"].is_string());
    assert_eq!(get(&w, &format!("/api/videos/{}", processing.id), None).await.0, 404);
    assert_eq!(get(&w, &format!("/api/videos/{}", processing.id), Some(&w.token("Bob"))).await.0, 404);
    let (status, own) = get(&w, &format!("/api/videos/{}", processing.id), Some(&w.token("Alice"))).await;
    assert_eq!((status, own["video"]["status"].as_str()), (200, Some("processing")));
    assert!(own["video"].get("posterUrl").is_none());
    assert_eq!(get(&w, "/api/videos/01JDX3W9K7Q4T2B8N6M5R0ZC1A", None).await.0, 404);
    assert_eq!(get(&w, "/api/videos/not-an-id", None).await.0, 404);
}

/// The store as DynamoDB is to a function: others write to it too, so it cannot say whether anything changed.
struct WrittenByOthers(std::sync::Arc<framelift_local::memory::MemoryMetadata>);

#[async_trait::async_trait]
impl framelift_shared::ports::MetadataStore for WrittenByOthers {
    async fn insert(&self, r: &framelift_shared::domain::VideoRecord) -> Result<(), framelift_shared::ports::StoreError> {
        self.0.insert(r).await
    }
    async fn get(
        &self,
        id: &framelift_shared::domain::VideoId,
    ) -> Result<Option<framelift_shared::domain::VideoRecord>, framelift_shared::ports::StoreError> {
        self.0.get(id).await
    }
    async fn replace(&self, r: &framelift_shared::domain::VideoRecord) -> Result<(), framelift_shared::ports::StoreError> {
        self.0.replace(r).await
    }
    async fn delete(&self, id: &framelift_shared::domain::VideoId, version: u64) -> Result<(), framelift_shared::ports::StoreError> {
        self.0.delete(id, version).await
    }
    async fn list(
        &self,
        q: &framelift_shared::domain::ListQuery,
        limit: usize,
        after: Option<&framelift_shared::domain::PageKey>,
    ) -> Result<framelift_shared::domain::Page, framelift_shared::ports::StoreError> {
        self.0.list(q, limit, after).await
    }
}

#[tokio::test]
async fn a_public_page_is_never_stale_on_a_store_that_counts_its_writes() {
    let w = World::default();
    let t = datetime!(2026-11-01 10:00:00 UTC);
    let first = w.video("Alice", VideoStatus::Ready, t).await;
    let (_, before) = get(&w, "/api/videos", None).await;
    assert_eq!(titles_ids(&before), [first.id.to_string()]);
    assert_eq!(get(&w, "/api/videos", None).await.1, before, "the same page again");
    let second = w.video("Bob", VideoStatus::Ready, t + time::Duration::minutes(1)).await;
    let (_, after) = get(&w, "/api/videos", None).await;
    assert_eq!(titles_ids(&after), [second.id.to_string(), first.id.to_string()], "a new video shows at once");
}

#[tokio::test]
async fn against_a_store_others_write_a_public_page_lags_by_at_most_the_cache_time() {
    let w = World::default();
    let ttl = std::time::Duration::from_millis(400);
    let mut catalogue = w.state.catalogue.clone();
    catalogue.page_cache_ttl = ttl;
    let state = state_with(&w, std::sync::Arc::new(WrittenByOthers(w.meta.clone())), catalogue);
    let list = |path: &'static str, token: Option<String>| {
        let state = &state;
        async move { parts(handle(state, request("GET", path, None, token.as_deref())).await) }
    };
    let t = datetime!(2026-11-01 10:00:00 UTC);
    w.video("Alice", VideoStatus::Ready, t).await;
    let alice = w.token("Alice");
    assert_eq!(titles_ids(&list("/api/videos", None).await.1).len(), 1);
    assert_eq!(titles_ids(&list("/api/videos?mine=true", Some(alice.clone())).await.1).len(), 1);
    let started = std::time::Instant::now();
    w.video("Alice", VideoStatus::Ready, t + time::Duration::minutes(1)).await;
    let lagging = list("/api/videos", None).await.1;
    if started.elapsed() < ttl {
        assert_eq!(titles_ids(&lagging).len(), 1, "within the cache time the page read before may be served");
    }
    assert_eq!(titles_ids(&list("/api/videos?mine=true", Some(alice)).await.1).len(), 2, "a caller's own list is never cached");
    tokio::time::sleep(ttl).await;
    assert_eq!(titles_ids(&list("/api/videos", None).await.1).len(), 2, "after the cache time the change shows");
}

/// `w`'s state with `meta` and `catalogue` of its own (and nothing cached yet).
fn state_with(
    w: &World,
    meta: std::sync::Arc<dyn framelift_shared::ports::MetadataStore>,
    catalogue: framelift_shared::config::CatalogueConfig,
) -> AppState {
    AppState {
        meta,
        pages: framelift_shared::PageCache::new(catalogue.page_cache_ttl),
        blobs: w.state.blobs.clone(),
        objects: w.state.objects.clone(),
        search: w.state.search.clone(),
        media: w.state.media.clone(),
        auth: w.state.auth.clone(),
        upload: w.state.upload.clone(),
        signed_urls: framelift_shared::state::SignedUrls::new(catalogue.media_url_ttl),
        catalogue,
    }
}

async fn detail_of(state: &AppState, id: &framelift_shared::domain::VideoId) -> (u16, Value) {
    parts(handle(state, request("GET", &format!("/api/videos/{id}"), None, None)).await)
}

/// Renames the stored record, as another writer would.
async fn rename(w: &World, id: &framelift_shared::domain::VideoId, title: &str) {
    let mut next = w.meta.get(id).await.unwrap().unwrap();
    next.title = title.parse().unwrap();
    next.version += 1;
    w.meta.replace(&next).await.unwrap();
}

#[tokio::test]
async fn a_ready_video_s_detail_is_current_after_every_write() {
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    let (status, first) = get(&w, &format!("/api/videos/{}", v.id), None).await;
    assert_eq!((status, first["video"]["title"].as_str()), (200, Some("Test video")));
    assert_eq!(get(&w, &format!("/api/videos/{}", v.id), None).await.1, first, "the same view again");
    rename(&w, &v.id, "Renamed").await;
    assert_eq!(get(&w, &format!("/api/videos/{}", v.id), None).await.1["video"]["title"], "Renamed", "a write shows at once");
    let version = w.meta.get(&v.id).await.unwrap().unwrap().version;
    w.meta.delete(&v.id, version).await.unwrap();
    assert_eq!(get(&w, &format!("/api/videos/{}", v.id), None).await.0, 404, "a deleted video is gone at once");
}

#[tokio::test]
async fn against_a_store_others_write_no_view_is_kept() {
    let w = World::default();
    let state = state_with(&w, std::sync::Arc::new(WrittenByOthers(w.meta.clone())), w.state.catalogue.clone());
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    assert_eq!(detail_of(&state, &v.id).await.1["video"]["title"], "Test video");
    rename(&w, &v.id, "Renamed").await;
    assert_eq!(detail_of(&state, &v.id).await.1["video"]["title"], "Renamed");
}

#[tokio::test]
async fn a_kept_view_s_poster_url_always_has_half_its_life_left() {
    let w = World::default();
    let mut catalogue = w.state.catalogue.clone();
    catalogue.media_url_ttl = std::time::Duration::from_secs(2);
    let state = state_with(&w, w.meta.clone(), catalogue);
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    let poster = |body: Value| body["video"]["posterUrl"].as_str().unwrap().to_owned();
    let first = poster(detail_of(&state, &v.id).await.1);
    assert_eq!(poster(detail_of(&state, &v.id).await.1), first, "kept while the URL has more than 1 s left");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_ne!(poster(detail_of(&state, &v.id).await.1), first, "signed again once it has less than half its 2 s");
}

#[tokio::test]
async fn a_description_s_outline_is_the_video_s_chapters() {
    let w = World::default();
    let outline = "Day 9.\n0:00 Intro\n12:34 - Segments\n1:02:03 Questions";
    let v = w.video_titled("Alice", "Lesson", Some(outline), VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    let mut long = w.meta.get(&v.id).await.unwrap().unwrap();
    long.media.as_mut().unwrap().duration_seconds = 7200.0;
    long.version += 1;
    w.meta.replace(&long).await.unwrap();
    let (status, body) = get(&w, &format!("/api/videos/{}", v.id), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["video"]["chapters"],
        json!([
            {"startSeconds": 0, "title": "Intro"},
            {"startSeconds": 754, "title": "Segments"},
            {"startSeconds": 3723, "title": "Questions"}
        ])
    );
    // The last chapter must last 10 s: in a video of an hour, "1:02:03" is past the end, and there are none.
    let mut short = w.meta.get(&v.id).await.unwrap().unwrap();
    short.media.as_mut().unwrap().duration_seconds = 3600.0;
    short.version += 1;
    w.meta.replace(&short).await.unwrap();
    let (_, body) = get(&w, &format!("/api/videos/{}", v.id), None).await;
    assert!(body["video"].get("chapters").is_none(), "{body}");
}

/// Sets a stored video's visibility, as the edit route writes it.
async fn make(w: &World, record: &framelift_shared::domain::VideoRecord, visibility: framelift_shared::domain::Visibility) {
    let current = w.meta.get(&record.id).await.unwrap().unwrap();
    let change = framelift_shared::domain::Edit { visibility: Some(visibility), ..Default::default() };
    w.meta.replace(&current.edited(change)).await.unwrap();
}

#[tokio::test]
async fn the_catalogue_pages_past_unlisted_and_private_videos_and_the_owner_still_sees_them() {
    use framelift_shared::domain::Visibility;
    let w = World::default();
    let mut public = Vec::new();
    // Newest first: 9 hidden videos between the newest public one and the rest, more than a store page of 2 holds.
    for i in 0..13 {
        let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC) + time::Duration::hours(i)).await;
        match i {
            3..=7 => make(&w, &v, Visibility::Unlisted).await,
            8..=11 => make(&w, &v, Visibility::Private).await,
            _ => public.push(v.id.to_string()),
        }
    }
    public.reverse();
    let mut seen = Vec::new();
    let mut path = "/api/videos?limit=2".to_owned();
    loop {
        let (status, page) = get(&w, &path, None).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["videos"].as_array().unwrap().iter().all(|v| v["visibility"] == "public"), "{page}");
        seen.extend(titles_ids(&page));
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("/api/videos?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, public, "every public video once, in order, and nothing else");
    let (_, mine) = get(&w, "/api/videos?mine=true&limit=100", Some(&w.token("Alice"))).await;
    assert_eq!(titles_ids(&mine).len(), 13, "the owner's list has every visibility");
    let levels: std::collections::BTreeSet<&str> =
        mine["videos"].as_array().unwrap().iter().filter_map(|v| v["visibility"].as_str()).collect();
    assert_eq!(levels, ["private", "public", "unlisted"].into());
}

#[tokio::test]
async fn an_unlisted_video_is_seen_by_its_link_and_a_private_one_by_its_owner_alone() {
    use framelift_shared::domain::Visibility;
    let w = World::default();
    let unlisted = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    make(&w, &unlisted, Visibility::Unlisted).await;
    let private = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 11:00:00 UTC)).await;
    make(&w, &private, Visibility::Private).await;
    let (alice, bob) = (w.token("Alice"), w.token("Bob"));
    for (viewer, token) in [("anonymous", None), ("a stranger", Some(bob.as_str())), ("the owner", Some(alice.as_str()))] {
        let (status, body) = get(&w, &format!("/api/videos/{}", unlisted.id), token).await;
        assert_eq!((status, body["video"]["visibility"].as_str()), (200, Some("unlisted")), "{viewer}: {body}");
        let (status, _) = get(&w, &format!("/api/videos/{}", private.id), token).await;
        assert_eq!(status, if viewer == "the owner" { 200 } else { 404 }, "{viewer} and a private video");
    }
}
