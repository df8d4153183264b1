//! The metadata contract suite on every adapter: the in-memory fake, the embedded SQLite store, DynamoDB (moto).

use framelift_aws::{dynamodb::DynamoMetadata, dynamodb_client};
use framelift_devserver::sqlite_store::SqliteMetadata;
use framelift_local::memory::MemoryMetadata;
use framelift_tests::{metadata_contract, moto_endpoint, moto_sdk, temp_dir, unique_name};
use std::sync::Arc;

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    metadata_contract::run_all(Arc::new(MemoryMetadata::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_keeps_the_contract() {
    let dir = temp_dir("sqlite-contract");
    metadata_contract::run_all(Arc::new(SqliteMetadata::open(&dir.join("m.sqlite3")).unwrap())).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_keeps_the_contract() {
    let store = DynamoMetadata::new(dynamodb_client(&moto_sdk(), Some(moto_endpoint())), unique_name("videos"));
    store.create_table().await.unwrap();
    metadata_contract::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_keeps_what_it_acknowledged_across_a_reopen() {
    let dir = temp_dir("sqlite-reopen");
    let path = dir.join("m.sqlite3");
    let r = metadata_contract::record("alice");
    {
        let store = SqliteMetadata::open(&path).unwrap();
        framelift_shared::ports::MetadataStore::insert(&store, &r).await.unwrap();
    }
    let store = SqliteMetadata::open(&path).unwrap();
    assert_eq!(framelift_shared::ports::MetadataStore::get(&store, &r.id).await.unwrap(), Some(r));
    std::fs::remove_dir_all(dir).unwrap();
}
