use super::*;
use framelift_shared::config::UploadConfig;
use framelift_shared::domain::Transition;
use framelift_shared::ports::MetadataStore;
use framelift_testkit::{World, parts, request};
use serde_json::json;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

async fn sign(w: &World, id: &str, body: serde_json::Value, token: Option<&str>) -> (u16, serde_json::Value) {
    parts(handle(&w.state, request("POST", &format!("/api/uploads/{id}/part-urls"), Some(body), token)).await)
}

async fn list(w: &World, id: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    parts(handle(&w.state, request("GET", &format!("/api/uploads/{id}/parts"), None, token)).await)
}

#[tokio::test]
async fn signs_the_asked_parts_with_an_expiry() {
    let w = World::with_upload(UploadConfig { part_url_ttl: Duration::from_secs(600), ..UploadConfig::default() });
    let rec = w.upload("Alice", 20 * MIB).await;
    let before = time::OffsetDateTime::now_utc();
    let (status, res) = sign(&w, &rec.id.to_string(), json!({"partNumbers": [1, 3]}), Some(&w.token("Alice"))).await;
    assert_eq!(status, 200, "{res}");
    let urls = res["urls"].as_object().unwrap();
    assert_eq!(urls.keys().collect::<Vec<_>>(), ["1", "3"]);
    assert!(urls["3"].as_str().unwrap().contains("partNumber=3"));
    let expires = time::OffsetDateTime::parse(res["expiresAt"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    let ttl = expires - before;
    assert!(ttl > time::Duration::seconds(590) && ttl <= time::Duration::seconds(601), "{ttl}");
}

#[tokio::test]
async fn refuses_out_of_range_and_oversized_batches() {
    let w = World::default();
    let rec = w.upload("Alice", 20 * MIB).await; // 3 parts
    let t = w.token("Alice");
    let id = rec.id.to_string();
    for (body, says) in [
        (json!({"partNumbers": [4]}), "out of range: this upload has parts 1 to 3"),
        (json!({"partNumbers": [0]}), "out of range"),
        (json!({"partNumbers": [10001]}), "out of range"),
        (json!({"partNumbers": []}), "1 to 100"),
        (json!({"partNumbers": vec![1; 101]}), "1 to 100"),
        (json!({"partNumbers": ["1"]}), "invalid type"),
        (json!({}), "missing field `partNumbers`"),
    ] {
        let (status, res) = sign(&w, &id, body.clone(), Some(&t)).await;
        assert_eq!(status, 400, "{body}");
        assert!(res["error"]["message"].as_str().unwrap().contains(says), "{body}: {res}");
    }
}

#[tokio::test]
async fn only_the_owner_may_sign_or_list() {
    let w = World::default();
    let rec = w.upload("Alice", 20 * MIB).await;
    let id = rec.id.to_string();
    let bob = w.token("Bob");
    assert_eq!(sign(&w, &id, json!({"partNumbers": [1]}), Some(&bob)).await.0, 403);
    assert_eq!(list(&w, &id, Some(&bob)).await.0, 403);
    assert_eq!(sign(&w, &id, json!({"partNumbers": [1]}), None).await.0, 401);
    assert_eq!(list(&w, &id, None).await.0, 401);
    assert_eq!(list(&w, "01JDX3W9K7Q4T2B8N6M5R0ZC1A", Some(&bob)).await.0, 404);
    assert_eq!(list(&w, "not-an-id", Some(&bob)).await.0, 404);
}

#[tokio::test]
async fn lists_what_storage_holds_for_resume() {
    let w = World::default();
    let rec = w.upload("Alice", 20 * MIB).await;
    let t = w.token("Alice");
    let (status, res) = list(&w, &rec.id.to_string(), Some(&t)).await;
    assert_eq!((status, res), (200, json!({"parts": []})));
    let etags = w.put_all_parts(&rec);
    let (_, res) = list(&w, &rec.id.to_string(), Some(&t)).await;
    assert_eq!(res["parts"].as_array().unwrap().len(), 3);
    assert_eq!(res["parts"][0], json!({"partNumber": 1, "etag": etags[0], "size": 8 * MIB}));
    assert_eq!(res["parts"][2]["size"], 4 * MIB);
}

#[tokio::test]
async fn a_completed_upload_takes_no_more_parts() {
    let w = World::default();
    let rec = w.upload("Alice", 20 * MIB).await;
    w.meta.replace(&rec.apply(Transition::BeginProcessing).unwrap()).await.unwrap();
    let (status, res) = sign(&w, &rec.id.to_string(), json!({"partNumbers": [1]}), Some(&w.token("Alice"))).await;
    assert_eq!(status, 409, "{res}");
    assert_eq!(list(&w, &rec.id.to_string(), Some(&w.token("Alice"))).await.0, 409);
}
