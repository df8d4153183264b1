//! The contract of [`MetadataStore`], run against every adapter: the in-memory fake, SQLite and DynamoDB.

use framelift_shared::domain::{Author, ContentType, ListQuery, Transition, UploadPlan, UploadState, VideoId, VideoRecord, VideoStatus};
use framelift_shared::ports::{MetadataStore, StoreError};
use std::sync::Arc;

pub fn record(owner: &str) -> VideoRecord {
    VideoRecord::new_upload(
        VideoId::generate(),
        "Contract".parse().unwrap(),
        Some("a description".parse().unwrap()),
        Author { id: owner.parse().unwrap(), name: owner.to_owned() },
        UploadState {
            upload_id: "upload-1".parse().unwrap(),
            content_type: ContentType::parse("video/mp4").unwrap(),
            plan: UploadPlan::new(12_345_678, 8 << 20).unwrap(),
        },
        time::OffsetDateTime::now_utc(),
    )
}

/// Every case, in order.
pub async fn run_all(store: Arc<dyn MetadataStore>) {
    inserts_once(&*store).await;
    replaces_only_the_version_read(&*store).await;
    deletes_only_the_version_read(&*store).await;
    round_trips_every_field(&*store).await;
    gets_many_in_the_order_asked(&*store).await;
    lists_by_status_newest_first(&*store).await;
    pages_visit_every_video_once(&*store).await;
    one_of_many_concurrent_transitions_wins(store.clone(), 50).await;
}

pub async fn inserts_once(store: &dyn MetadataStore) {
    let r = record("alice");
    assert!(store.get(&r.id).await.unwrap().is_none());
    store.insert(&r).await.unwrap();
    assert_eq!(store.get(&r.id).await.unwrap(), Some(r.clone()));
    assert!(matches!(store.insert(&r).await, Err(StoreError::Conflict)), "a second insert of the same id loses");
}

pub async fn gets_many_in_the_order_asked(store: &dyn MetadataStore) {
    let records: Vec<VideoRecord> = (0..5).map(|_| record("alice")).collect();
    for r in &records {
        store.insert(r).await.unwrap();
    }
    let missing = VideoId::generate();
    let asked = [records[3].id, missing, records[0].id, records[4].id, records[0].id];
    let got = store.get_many(&asked).await.unwrap();
    let want = [Some(&records[3]), None, Some(&records[0]), Some(&records[4]), Some(&records[0])];
    assert_eq!(got.iter().map(Option::as_ref).collect::<Vec<_>>(), want, "in the order asked, none where there is none");
    assert!(store.get_many(&[]).await.unwrap().is_empty());
}

pub async fn replaces_only_the_version_read(store: &dyn MetadataStore) {
    let r = record("alice");
    store.insert(&r).await.unwrap();
    let processing = r.apply(Transition::BeginProcessing).unwrap();
    store.replace(&processing).await.unwrap();
    assert_eq!(store.get(&r.id).await.unwrap().unwrap().status, VideoStatus::Processing);
    assert!(matches!(store.replace(&processing).await, Err(StoreError::Conflict)), "a stale writer loses");
    let mut skipping = processing.clone();
    skipping.version += 5;
    assert!(matches!(store.replace(&skipping).await, Err(StoreError::Conflict)));
    let ghost = record("alice").apply(Transition::BeginProcessing).unwrap();
    assert!(matches!(store.replace(&ghost).await, Err(StoreError::NotFound)));
}

pub async fn deletes_only_the_version_read(store: &dyn MetadataStore) {
    let r = record("alice");
    store.insert(&r).await.unwrap();
    assert!(matches!(store.delete(&r.id, r.version + 1).await, Err(StoreError::Conflict)));
    store.delete(&r.id, r.version).await.unwrap();
    assert!(store.get(&r.id).await.unwrap().is_none());
    assert!(matches!(store.delete(&r.id, r.version).await, Err(StoreError::NotFound)));
}

pub async fn round_trips_every_field(store: &dyn MetadataStore) {
    let r = record("bob");
    store.insert(&r).await.unwrap();
    let failed = r.apply(Transition::BeginProcessing).unwrap().apply(Transition::Failed("not a video file".into())).unwrap();
    store.replace(&r.apply(Transition::BeginProcessing).unwrap()).await.unwrap();
    store.replace(&failed).await.unwrap();
    assert_eq!(store.get(&r.id).await.unwrap(), Some(failed));
}

pub async fn lists_by_status_newest_first(store: &dyn MetadataStore) {
    let owner = format!("lister-{}", VideoId::generate());
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut r = record(&owner);
        r.created_at = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(30_000 + i);
        store.insert(&r).await.unwrap();
        let processing = r.apply(Transition::BeginProcessing).unwrap();
        store.replace(&processing).await.unwrap();
        ids.push(r.id);
    }
    let listed = store.list(&ListQuery::Status(VideoStatus::Processing), 1000, None).await.unwrap().records;
    let mine: Vec<VideoId> = listed.iter().filter(|r| r.author.name == owner).map(|r| r.id).collect();
    assert_eq!(mine, [ids[2], ids[1], ids[0]], "newest first");
    assert!(listed.iter().all(|r| r.status == VideoStatus::Processing));
    let page = store.list(&ListQuery::Status(VideoStatus::Processing), 2, None).await.unwrap();
    assert_eq!(page.records.len(), 2, "the limit holds");
    assert!(page.next.is_some());
}

/// Paging visits every video exactly once, newest first, for several page sizes; the owner query sees every status
/// and nobody else's videos; the last page says there is no next.
pub async fn pages_visit_every_video_once(store: &dyn MetadataStore) {
    paging_walks_every_video_once(store, 23, &[1, 2, 3, 7, 18, 100]).await;
}

/// `videos` records (a fifth of them another owner's, runs of three in the same second), walked page by page at
/// each of `limits`: every one of the owner's videos exactly once, newest first, no empty last page. Returns the
/// number of pages read.
pub async fn paging_walks_every_video_once(store: &dyn MetadataStore, videos: i64, limits: &[usize]) -> usize {
    let owner = format!("pager-{}", VideoId::generate());
    let other = format!("other-{}", VideoId::generate());
    let base = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(40_000);
    let mut expected = Vec::new();
    let mut total_pages = 0;
    for i in 0..videos {
        let mut r = record(if i % 5 == 4 { &other } else { &owner });
        // Runs of videos in the same second: ties are broken by id.
        r.created_at = base + time::Duration::seconds(i / 3);
        store.insert(&r).await.unwrap();
        if r.author.name == owner {
            expected.push(r.clone());
        }
    }
    expected.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let expected: Vec<VideoId> = expected.iter().map(|r| r.id).collect();
    let query = ListQuery::Owner(owner.parse().unwrap());
    for &limit in limits {
        let (mut seen, mut after, mut pages) = (Vec::new(), None, 0);
        loop {
            let page = store.list(&query, limit, after.as_ref()).await.unwrap();
            assert!(page.records.len() <= limit);
            seen.extend(page.records.iter().map(|r| r.id));
            pages += 1;
            match page.next {
                Some(k) => after = Some(k),
                None => break,
            }
            assert!(pages <= expected.len(), "paging does not end");
        }
        assert_eq!(seen, expected, "limit {limit}: every video once, newest first");
        assert_eq!(pages, expected.len().div_ceil(limit).max(1), "limit {limit}: no empty last page");
        total_pages += pages;
    }
    total_pages
}

/// `n` writers read the same record and race to move it: exactly one wins, the rest lose cleanly.
pub async fn one_of_many_concurrent_transitions_wins(store: Arc<dyn MetadataStore>, n: usize) {
    let r = record("carol");
    store.insert(&r).await.unwrap();
    let next = r.apply(Transition::BeginProcessing).unwrap();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (store, next) = (store.clone(), next.clone());
            tokio::spawn(async move { store.replace(&next).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("a racing writer failed with {e:?} instead of losing"),
        }
    }
    assert_eq!(wins, 1, "{n} racing writers, {wins} won");
    assert_eq!(store.get(&r.id).await.unwrap().unwrap().version, 2);
}
