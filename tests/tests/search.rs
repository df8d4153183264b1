//! The search contract on every adapter (the fake, tantivy in memory and on disk, OpenSearch when `OPENSEARCH_URL` is
//! set), and the OpenSearch adapter's requests pinned against a recording server.

use framelift_devserver::tantivy_search::TantivySearch;
use framelift_local::memory::MemorySearch;
use framelift_opensearch::{OpenSearchIndex, Signing};
use framelift_shared::domain::{SearchHits, SearchText, VideoId};
use framelift_shared::ports::{SearchIndex, StoreError};
use framelift_tests::recorder::{Recorded, Recorder};
use framelift_tests::search_contract::{self, doc};
use framelift_tests::{temp_dir, unique_name};
use serde_json::{Value, json};

#[tokio::test]
async fn memory_index_keeps_the_contract() {
    search_contract::run_all(|| async { Box::new(MemorySearch::default()) as Box<dyn SearchIndex> }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tantivy_index_keeps_the_contract() {
    search_contract::run_all(|| async { Box::new(TantivySearch::in_memory().unwrap()) as Box<dyn SearchIndex> }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tantivy_keeps_its_documents_across_a_reopen() {
    let dir = temp_dir("tantivy-reopen");
    let (kept, removed) = (doc("Day 9", "Keerti", ""), doc("Day 10", "Keerti", ""));
    {
        let index = TantivySearch::open(&dir).unwrap();
        index.put(&kept).await.unwrap();
        index.put(&removed).await.unwrap();
        index.remove(&removed.id).await.unwrap();
    }
    let index = TantivySearch::open(&dir).unwrap();
    let hits = index.search(&SearchText::parse("keetri").unwrap(), 10).await.unwrap();
    assert_eq!(hits, SearchHits { ids: vec![kept.id], total: 1 });
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tantivy_holds_no_lock_between_writes() {
    // A server restarted in the same process opens the folder while the old one's handles still live.
    let dir = temp_dir("tantivy-two");
    let (old, new) = (TantivySearch::open(&dir).unwrap(), TantivySearch::open(&dir).unwrap());
    old.put(&doc("Day 9", "Keerti", "")).await.unwrap();
    new.put(&doc("Day 10", "Keerti", "")).await.unwrap();
    assert_eq!(new.search(&SearchText::parse("keerti").unwrap(), 10).await.unwrap().total, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs only when `OPENSEARCH_URL` names a cluster (for example `http://127.0.0.1:9200`); each case gets its own index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_index_keeps_the_contract_when_a_cluster_is_given() {
    let Ok(url) = std::env::var("OPENSEARCH_URL") else {
        eprintln!("OPENSEARCH_URL is not set: the OpenSearch adapter is checked against the recording server only");
        return;
    };
    search_contract::run_all(|| async {
        Box::new(OpenSearchIndex::connect(&url, &unique_name("framelift-test"), Signing::None).unwrap()) as Box<dyn SearchIndex>
    })
    .await;
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/opensearch/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// What a cluster with no index yet answers.
fn fresh_cluster(r: &Recorded) -> (u16, Value) {
    match (r.method.as_str(), r.target.as_str()) {
        ("HEAD", _) => (404, Value::Null),
        ("PUT", "/videos") => (200, json!({"acknowledged": true, "index": "videos"})),
        ("DELETE", _) => (404, json!({"result": "not_found"})),
        ("POST", "/videos/_search") => (
            200,
            json!({"hits": {"total": {"value": 1, "relation": "eq"}, "hits": [{"_id": "01JDX3W9K7Q4T2B8N6M5R0ZC1A", "_score": 2.5}]}}),
        ),
        ("POST", t) if t.starts_with("/videos/_doc/") => (201, json!({"result": "created"})),
        _ => (400, json!({"error": "unexpected request"})),
    }
}

#[tokio::test]
async fn opensearch_requests_are_pinned() {
    let server = Recorder::start(fresh_cluster).await;
    let index = OpenSearchIndex::connect(&server.url, "videos", Signing::None).unwrap();

    // First use: the index is looked for, created with the pinned mapping, then searched with the pinned query.
    let hits = index.search(&SearchText::parse("  keetri day ").unwrap(), 20).await.unwrap();
    assert_eq!(hits, SearchHits { ids: vec!["01JDX3W9K7Q4T2B8N6M5R0ZC1A".parse().unwrap()], total: 1 });
    let requests = server.take();
    let calls: Vec<(&str, &str)> = requests.iter().map(|r| (r.method.as_str(), r.target.as_str())).collect();
    assert_eq!(calls, [("HEAD", "/videos"), ("PUT", "/videos"), ("POST", "/videos/_search")]);
    assert_eq!(requests[1].body, fixture("mapping.json"), "the mapping");
    assert_eq!(requests[2].body, fixture("search-keetri.json"), "the query");

    // Documents are written and removed by id, visible on return; the index is not looked for again.
    let d = doc("Day 9", "Keerti", "Adaptive bitrate streaming");
    index.put(&d).await.unwrap();
    index.remove(&d.id).await.expect("a 404 on delete is not an error");
    let requests = server.take();
    let calls: Vec<(&str, String)> = requests.iter().map(|r| (r.method.as_str(), r.target.clone())).collect();
    assert_eq!(
        calls,
        [("POST", format!("/videos/_doc/{}?refresh=wait_for", d.id)), ("DELETE", format!("/videos/_doc/{}?refresh=wait_for", d.id))]
    );
    let created_at = d.created_at.format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(
        requests[0].body,
        json!({"title": "Day 9", "author": "Keerti", "description": "Adaptive bitrate streaming", "createdAt": created_at})
    );
}

#[tokio::test]
async fn opensearch_tolerates_a_racing_creator_and_reports_failures() {
    // Another function created the index between our look and our create.
    let server = Recorder::start(|r| match r.method.as_str() {
        "HEAD" => (404, Value::Null),
        "PUT" if r.target == "/videos" => (400, json!({"error": {"type": "resource_already_exists_exception"}, "status": 400})),
        _ => (200, json!({"hits": {"total": {"value": 0}, "hits": []}})),
    })
    .await;
    let index = OpenSearchIndex::connect(&server.url, "videos", Signing::None).unwrap();
    assert_eq!(index.search(&SearchText::parse("x1").unwrap(), 5).await.unwrap(), SearchHits::default());

    // A cluster that fails: an error to retry, not a panic or an empty result.
    let broken = Recorder::start(|r| if r.method == "HEAD" { (200, Value::Null) } else { (500, json!({"error": "boom"})) }).await;
    let index = OpenSearchIndex::connect(&broken.url, "videos", Signing::None).unwrap();
    assert!(matches!(index.search(&SearchText::parse("x1").unwrap(), 5).await, Err(StoreError::Unavailable(_))));
    assert!(matches!(index.put(&doc("a", "b", "c")).await, Err(StoreError::Unavailable(_))));
    assert!(matches!(index.remove(&VideoId::generate()).await, Err(StoreError::Unavailable(_))));
    // And one that cannot be reached at all.
    let index = OpenSearchIndex::connect(&format!("http://127.0.0.1:{}", framelift_tests::free_port()), "videos", Signing::None).unwrap();
    assert!(matches!(index.search(&SearchText::parse("x1").unwrap(), 5).await, Err(StoreError::Unavailable(_))));
}
