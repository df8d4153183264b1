//! What only the local stack and the tests run, never a Lambda: the API Gateway events the dev server makes of HTTP
//! requests ([`apigw`]), S3's event notifications as the local storage sends them ([`s3_events`]), and an in-memory
//! fake beside each port ([`memory`]).

pub mod apigw;
pub mod memory;
pub mod s3_events;

#[cfg(test)]
mod tests {
    use crate::memory::MemoryBlobs;
    use framelift_shared::state::SignedUrls;
    use std::time::Duration;

    #[tokio::test]
    async fn signed_urls_are_reused_while_they_last() {
        let blobs = MemoryBlobs::default();
        let ttl = Duration::from_secs(3600);
        let urls = SignedUrls::new(ttl);
        let first = urls.get(&blobs, "media/a/poster.jpg", ttl).await.unwrap();
        assert_eq!(urls.get(&blobs, "media/a/poster.jpg", ttl).await.unwrap(), first);
        assert_ne!(urls.get(&blobs, "media/b/poster.jpg", ttl).await.unwrap(), first);
        // A URL with less than half its life left is signed again.
        let short = Duration::from_secs(1);
        let urls = SignedUrls::new(short);
        let once = urls.get(&blobs, "media/c/poster.jpg", short).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_ne!(urls.get(&blobs, "media/c/poster.jpg", short).await.unwrap(), once);
    }
}
