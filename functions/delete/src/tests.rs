use super::*;
use framelift_shared::domain::SearchText;
use framelift_shared::ports::{MetadataStore, SearchIndex};
use framelift_testkit::{World, parts, request};
use time::macros::datetime;

async fn delete(w: &World, id: &str, token: Option<&str>) -> u16 {
    parts(handle(&w.state, request("DELETE", &format!("/api/videos/{id}"), None, token)).await).0
}

#[tokio::test]
async fn the_owner_removes_the_record_and_every_object() {
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    w.blobs.put_object(v.id.source_key().as_str(), vec![1; 10]);
    for k in ["master.m3u8", "720p/index.m3u8", "720p/seg_0000.ts", "poster.jpg"] {
        w.blobs.put_object(&format!("{}{k}", v.id.media_prefix()), vec![2; 10]);
    }
    let other = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    w.blobs.put_object(&format!("{}master.m3u8", other.id.media_prefix()), vec![3]);

    assert_eq!(delete(&w, &v.id.to_string(), Some(&w.token("Bob"))).await, 403);
    assert_eq!(delete(&w, &v.id.to_string(), None).await, 401);
    assert_eq!(delete(&w, &v.id.to_string(), Some(&w.token("Alice"))).await, 204);
    assert!(w.meta.get(&v.id).await.unwrap().is_none());
    let id = v.id.to_string();
    assert!(w.blobs.keys().iter().all(|k| !k.contains(&id)), "{:?}", w.blobs.keys());
    assert_eq!(w.blobs.keys(), [format!("{}master.m3u8", other.id.media_prefix())], "other videos untouched");
    let hits = w.search.search(&SearchText::parse("test video").unwrap(), 10).await.unwrap();
    assert_eq!(hits.ids, [other.id], "its search document is gone, the other's stays");
    assert_eq!(delete(&w, &v.id.to_string(), Some(&w.token("Alice"))).await, 404, "a repeat finds nothing and harms nothing");
}

#[tokio::test]
async fn someone_elses_unfinished_video_does_not_exist_for_the_caller() {
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Processing, datetime!(2026-11-01 10:00:00 UTC)).await;
    assert_eq!(delete(&w, &v.id.to_string(), Some(&w.token("Bob"))).await, 404);
    assert_eq!(delete(&w, &v.id.to_string(), Some(&w.token("Alice"))).await, 204);
}
