use super::*;
use framelift_shared::ports::MetadataStore;
use framelift_testkit::{World, parts, request};

const MIB: u64 = 1024 * 1024;

async fn abort(w: &World, id: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    parts(handle(&w.state, request("DELETE", &format!("/api/uploads/{id}"), None, token)).await)
}

#[tokio::test]
async fn drops_the_parts_and_the_record() {
    let w = World::default();
    let rec = w.upload("Alice", 10 * MIB).await;
    w.put_all_parts(&rec);
    let (status, body) = abort(&w, &rec.id.to_string(), Some(&w.token("Alice"))).await;
    assert_eq!((status, body), (204, serde_json::Value::Null));
    assert_eq!(w.blobs.open_uploads(), 0);
    assert!(w.meta.get(&rec.id).await.unwrap().is_none());
    assert_eq!(abort(&w, &rec.id.to_string(), Some(&w.token("Alice"))).await.0, 404, "a second abort finds nothing");
}

#[tokio::test]
async fn only_the_owner_aborts_and_only_while_uploading() {
    let w = World::default();
    let rec = w.upload("Alice", 10 * MIB).await;
    assert_eq!(abort(&w, &rec.id.to_string(), Some(&w.token("Bob"))).await.0, 403);
    assert_eq!(abort(&w, &rec.id.to_string(), None).await.0, 401);
    assert_eq!(w.blobs.open_uploads(), 1);
    let processing = rec.apply(framelift_shared::domain::Transition::BeginProcessing).unwrap();
    w.meta.replace(&processing).await.unwrap();
    let (status, res) = abort(&w, &rec.id.to_string(), Some(&w.token("Alice"))).await;
    assert_eq!(status, 409);
    assert!(res["error"]["message"].as_str().unwrap().contains("already complete"), "{res}");
}
