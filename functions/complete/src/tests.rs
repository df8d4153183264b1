use super::*;
use framelift_shared::domain::{PartNumber, VideoStatus};
use framelift_shared::ports::{BlobStore, MetadataStore};
use framelift_testkit::{World, parts, request};
use serde_json::{Value, json};

const MIB: u64 = 1024 * 1024;

async fn complete(w: &World, id: &str, body: Value, token: &str) -> (u16, Value) {
    parts(handle(&w.state, request("POST", &format!("/api/uploads/{id}/complete"), Some(body), Some(token))).await)
}

#[tokio::test]
async fn completes_with_the_parts_storage_holds() {
    let w = World::default();
    let rec = w.upload("Alice", 20 * MIB + 7).await;
    w.put_all_parts(&rec);
    let (status, res) = complete(&w, &rec.id.to_string(), json!({}), &w.token("Alice")).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["video"]["status"], "processing");
    assert_eq!(w.blobs.object(rec.id.source_key().as_str()).unwrap().len() as u64, 20 * MIB + 7);
    assert_eq!(w.meta.get(&rec.id).await.unwrap().unwrap().status, VideoStatus::Processing);
}

#[tokio::test]
async fn completes_with_the_clients_list_when_it_matches() {
    let w = World::default();
    let rec = w.upload("Alice", 20 * MIB).await;
    let etags = w.put_all_parts(&rec);
    let listed: Vec<Value> = etags.iter().enumerate().map(|(i, e)| json!({"partNumber": i + 1, "etag": e})).collect();
    let (status, _) = complete(&w, &rec.id.to_string(), json!({"parts": listed}), &w.token("Alice")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn is_idempotent() {
    let w = World::default();
    let rec = w.upload("Alice", 10 * MIB).await;
    w.put_all_parts(&rec);
    let t = w.token("Alice");
    let first = complete(&w, &rec.id.to_string(), json!({}), &t).await;
    let second = complete(&w, &rec.id.to_string(), json!({}), &t).await;
    assert_eq!(first.0, 200);
    assert_eq!(first, second);
}

#[tokio::test]
async fn concurrent_completes_agree_on_one_result() {
    let w = World::default();
    let rec = w.upload("Alice", 10 * MIB).await;
    w.put_all_parts(&rec);
    let t = w.token("Alice");
    let id = rec.id.to_string();
    // Polled together on one task: each yields at its store calls, so they interleave.
    let results = futures::future::join_all((0..8).map(|_| complete(&w, &id, json!({}), &t))).await;
    assert!(results.iter().all(|r| r.0 == 200), "{results:?}");
    assert!(results.windows(2).all(|p| p[0] == p[1]), "every caller sees the same video");
    assert_eq!(w.meta.get(&rec.id).await.unwrap().unwrap().version, 2, "exactly one transition was written");
}

#[tokio::test]
async fn missing_or_wrong_parts_leave_the_upload_resumable() {
    let w = World::default();
    let rec = w.upload("Alice", 20 * MIB).await;
    let t = w.token("Alice");
    let id = rec.id.to_string();
    let p = |n| PartNumber::try_from(n).unwrap();
    w.blobs.put_part(&rec.upload.upload_id, p(1), &vec![1; 8 * MIB as usize]).unwrap();
    let (status, res) = complete(&w, &id, json!({}), &t).await;
    assert_eq!(status, 400);
    assert!(res["error"]["message"].as_str().unwrap().contains("parts 2, 3 are missing"), "{res}");
    w.blobs.put_part(&rec.upload.upload_id, p(2), &vec![2; 5 * MIB as usize]).unwrap();
    w.blobs.put_part(&rec.upload.upload_id, p(3), &vec![3; 4 * MIB as usize]).unwrap();
    let (status, res) = complete(&w, &id, json!({}), &t).await;
    assert_eq!(status, 400);
    assert!(res["error"]["message"].as_str().unwrap().contains("part 2 holds 5242880 bytes but must hold 8388608"), "{res}");
    let (status, res) = complete(&w, &id, json!({"parts": [{"partNumber": 1, "etag": "\"forged\""}]}), &t).await;
    assert_eq!(status, 400);
    assert!(res["error"]["message"].as_str().unwrap().contains("ETag does not match"), "{res}");
    let (status, _) = complete(&w, &id, json!({"parts": [{"partNumber": 9, "etag": "x"}]}), &t).await;
    assert_eq!(status, 400);
    // Fix part 2 and the same upload completes.
    w.blobs.put_part(&rec.upload.upload_id, p(2), &vec![2; 8 * MIB as usize]).unwrap();
    assert_eq!(complete(&w, &id, json!({}), &t).await.0, 200);
}

#[tokio::test]
async fn more_bytes_than_declared_is_a_413_and_aborts() {
    let w = World::default();
    let rec = w.upload("Alice", 10 * MIB).await;
    let p = |n| PartNumber::try_from(n).unwrap();
    w.blobs.put_part(&rec.upload.upload_id, p(1), &vec![1; 8 * MIB as usize]).unwrap();
    w.blobs.put_part(&rec.upload.upload_id, p(2), &vec![2; 8 * MIB as usize]).unwrap();
    let (status, res) = complete(&w, &rec.id.to_string(), json!({}), &w.token("Alice")).await;
    assert_eq!(status, 413, "{res}");
    assert!(res["error"]["message"].as_str().unwrap().contains("more than declared"));
    assert_eq!(w.blobs.open_uploads(), 0, "the upload was aborted");
    assert!(w.meta.get(&rec.id).await.unwrap().is_none());
    assert!(w.blobs.list_parts(&rec.id.source_key(), &rec.upload.upload_id).await.is_err());
}

#[tokio::test]
async fn only_the_owner_completes() {
    let w = World::default();
    let rec = w.upload("Alice", 10 * MIB).await;
    w.put_all_parts(&rec);
    let (status, res) = complete(&w, &rec.id.to_string(), json!({}), &w.token("Bob")).await;
    assert_eq!(status, 403);
    assert_eq!(res["error"]["code"], "forbidden");
    let (status, _) = complete(&w, "01JDX3W9K7Q4T2B8N6M5R0ZC1A", json!({}), &w.token("Alice")).await;
    assert_eq!(status, 404);
    let (status, _) = complete(&w, &rec.id.to_string(), json!({"parts": "all"}), &w.token("Alice")).await;
    assert_eq!(status, 400);
}
