//! State under contention and at scale, on the embedded store and on DynamoDB (moto): 100 writers racing the same
//! transition (exactly one wins), and paging over 2,500 videos at every limit from 1 to 100 (nothing missing, nothing
//! repeated). Each prints its figure. The DynamoDB paging walk reads some 10,000 pages from moto and runs with
//! `make soak` (`--ignored`).

use framelift_aws::{dynamodb::DynamoMetadata, dynamodb_client};
use framelift_devserver::sqlite_store::SqliteMetadata;
use framelift_tests::{metadata_contract, moto_endpoint, moto_sdk, temp_dir, unique_name};
use std::sync::Arc;
use std::time::Instant;

const RACERS: usize = 100;
const VIDEOS: i64 = 2_500;

fn every_limit() -> Vec<usize> {
    (1..=100).collect()
}

async fn dynamodb() -> Arc<DynamoMetadata> {
    let store = DynamoMetadata::new(dynamodb_client(&moto_sdk(), Some(moto_endpoint())), unique_name("videos"));
    store.create_table().await.unwrap();
    Arc::new(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_100_racing_transitions_wins_on_sqlite_and_dynamodb() {
    let dir = temp_dir("state-race");
    metadata_contract::one_of_many_concurrent_transitions_wins(Arc::new(SqliteMetadata::open(&dir.join("m.sqlite3")).unwrap()), RACERS)
        .await;
    metadata_contract::one_of_many_concurrent_transitions_wins(dynamodb().await, RACERS).await;
    println!("racing transitions: {RACERS} writers on SQLite and on DynamoDB (moto): exactly 1 won on each");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_2500_videos_at_every_limit_on_sqlite() {
    let dir = temp_dir("state-paging");
    let store = SqliteMetadata::open(&dir.join("m.sqlite3")).unwrap();
    let started = Instant::now();
    let pages = metadata_contract::paging_walks_every_video_once(&store, VIDEOS, &every_limit()).await;
    println!(
        "paging: {VIDEOS} videos, limits 1..=100, {pages} pages on SQLite in {:.1} s: nothing missing, nothing repeated",
        started.elapsed().as_secs_f64()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: some 10,000 queries against moto; run by make soak"]
async fn paging_2500_videos_at_every_limit_on_dynamodb() {
    let store = dynamodb().await;
    let started = Instant::now();
    let pages = metadata_contract::paging_walks_every_video_once(&*store, VIDEOS, &every_limit()).await;
    println!(
        "paging: {VIDEOS} videos, limits 1..=100, {pages} pages on DynamoDB (moto) in {:.1} s: nothing missing, nothing repeated",
        started.elapsed().as_secs_f64()
    );
}
