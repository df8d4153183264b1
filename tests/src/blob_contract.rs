//! The contract of [`BlobStore`] against a real S3 wire protocol: presigned part URLs a plain HTTP client can PUT to,
//! parts listed with their ETags, completion checked, abort final.

use framelift_shared::domain::{ETag, ObjectKey, PartNumber, VideoId};
use framelift_shared::ports::{BlobStore, ObjectStore, StoreError};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

fn n(i: i64) -> PartNumber {
    PartNumber::try_from(i).unwrap()
}

/// PUTs `bytes` to a presigned URL as a browser would, returning the ETag header.
pub async fn put(url: &str, bytes: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new().put(url).body(bytes).send().await.expect("the storage server answers")
}

/// Every case, in order. `read_object` fetches an assembled object's bytes and content type from the same storage.
pub async fn run_all<F, Fut>(blobs: &dyn BlobStore, read_object: F)
where
    F: Fn(ObjectKey) -> Fut,
    Fut: std::future::Future<Output = (Vec<u8>, Option<String>)>,
{
    let key = VideoId::generate().source_key();
    let upload = blobs.start_multipart(&key, "video/mp4").await.unwrap();
    assert_eq!(blobs.list_parts(&key, &upload).await.unwrap(), vec![]);

    // Parts PUT out of order through presigned URLs.
    let first = vec![1u8; 5 * MIB];
    let second = vec![2u8; 1234];
    let ttl = Duration::from_secs(300);
    let url2 = blobs.presign_part(&key, &upload, n(2), second.len() as u64, ttl).await.unwrap();
    let res = put(&url2.url, second.clone()).await;
    assert!(res.status().is_success(), "PUT part 2: {}", res.status());
    let etag2 = ETag::new(res.headers()["etag"].to_str().unwrap());
    let url1 = blobs.presign_part(&key, &upload, n(1), first.len() as u64, ttl).await.unwrap();
    let etag1 = ETag::new(put(&url1.url, first.clone()).await.headers()["etag"].to_str().unwrap());

    let parts = blobs.list_parts(&key, &upload).await.unwrap();
    assert_eq!(
        parts.iter().map(|p| (p.number.get(), p.size)).collect::<Vec<_>>(),
        [(1, first.len() as u64), (2, second.len() as u64)],
        "ordered, with sizes"
    );
    assert_eq!(parts[0].etag, etag1, "the ETag a client read is the one listed");
    assert_eq!(parts[1].etag, etag2);

    // A wrong ETag is refused and loses nothing.
    let wrong =
        blobs.complete_multipart(&key, &upload, &[(n(1), etag1.clone()), (n(2), ETag::new("\"00000000000000000000000000000000\""))]).await;
    assert!(matches!(wrong, Err(StoreError::Rejected(_))), "{wrong:?}");
    assert_eq!(blobs.list_parts(&key, &upload).await.unwrap().len(), 2, "a refused complete keeps the parts");

    blobs.complete_multipart(&key, &upload, &[(n(1), etag1), (n(2), etag2)]).await.unwrap();
    let (object, content_type) = read_object(key.clone()).await;
    assert_eq!(content_type.as_deref(), Some("video/mp4"), "the type given at start is the object's");
    assert_eq!(object.len(), first.len() + second.len());
    assert!(object[..first.len()] == first[..] && object[first.len()..] == second[..], "parts assembled in order");
    assert!(matches!(blobs.list_parts(&key, &upload).await, Err(StoreError::NotFound)), "a completed upload is gone");

    // Abort: the upload and its parts are gone, and aborting again is harmless.
    let key = VideoId::generate().source_key();
    let upload = blobs.start_multipart(&key, "video/mp4").await.unwrap();
    let url = blobs.presign_part(&key, &upload, n(1), 100, ttl).await.unwrap();
    assert!(put(&url.url, vec![7u8; 100]).await.status().is_success());
    blobs.abort_multipart(&key, &upload).await.unwrap();
    assert!(matches!(blobs.list_parts(&key, &upload).await, Err(StoreError::NotFound)));
    blobs.abort_multipart(&key, &upload).await.unwrap();
    let unknown = "2~not-an-upload".parse().unwrap();
    assert!(matches!(blobs.list_parts(&key, &unknown).await, Err(StoreError::NotFound)));
}

/// The contract of [`ObjectStore`]: whole objects up and down, and prefix deletion that touches nothing else.
pub async fn objects(objects: &dyn ObjectStore) {
    let dir = crate::temp_dir("objects-contract");
    let src = dir.join("in");
    std::fs::write(&src, b"#EXTM3U\n").unwrap();
    let prefix = VideoId::generate().media_prefix();
    let other = VideoId::generate().media_prefix();
    for k in ["master.m3u8", "720p/index.m3u8", "720p/seg_0000.ts"] {
        objects.upload(&format!("{prefix}{k}"), &src, "application/vnd.apple.mpegurl", "public, max-age=300").await.unwrap();
    }
    objects.upload(&format!("{other}master.m3u8"), &src, "application/vnd.apple.mpegurl", "public, max-age=300").await.unwrap();
    assert_eq!(objects.read(&format!("{prefix}master.m3u8")).await.unwrap(), b"#EXTM3U\n");
    let out = dir.join("out");
    assert_eq!(objects.download(&format!("{prefix}720p/index.m3u8"), &out).await.unwrap(), 8);
    assert_eq!(std::fs::read(&out).unwrap(), b"#EXTM3U\n");
    assert!(matches!(objects.read(&format!("{prefix}missing")).await, Err(StoreError::NotFound)));
    assert_eq!(objects.delete_prefix(&prefix).await.unwrap(), 3);
    assert!(matches!(objects.read(&format!("{prefix}master.m3u8")).await, Err(StoreError::NotFound)));
    assert_eq!(objects.delete_prefix(&prefix).await.unwrap(), 0, "deleting nothing is fine");
    assert!(objects.read(&format!("{other}master.m3u8")).await.is_ok(), "another prefix is untouched");
    std::fs::remove_dir_all(dir).unwrap();
}
