//! The contract of [`BlobStore`] against a real S3 wire protocol: presigned part URLs a plain HTTP client can PUT to,
//! parts listed with their ETags, completion checked, abort final.

use framelift_shared::domain::{ETag, ObjectKey, PartNumber, VideoId};
use framelift_shared::ports::{BlobStore, StoreError};
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
    let url2 = blobs.presign_part(&key, &upload, n(2), ttl).await.unwrap();
    let res = put(&url2.url, second.clone()).await;
    assert!(res.status().is_success(), "PUT part 2: {}", res.status());
    let etag2 = ETag::new(res.headers()["etag"].to_str().unwrap());
    let url1 = blobs.presign_part(&key, &upload, n(1), ttl).await.unwrap();
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
    let url = blobs.presign_part(&key, &upload, n(1), ttl).await.unwrap();
    assert!(put(&url.url, vec![7u8; 100]).await.status().is_success());
    blobs.abort_multipart(&key, &upload).await.unwrap();
    assert!(matches!(blobs.list_parts(&key, &upload).await, Err(StoreError::NotFound)));
    blobs.abort_multipart(&key, &upload).await.unwrap();
    let unknown = "2~not-an-upload".parse().unwrap();
    assert!(matches!(blobs.list_parts(&key, &unknown).await, Err(StoreError::NotFound)));
}
