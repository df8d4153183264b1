//! What only the local stack and the tests run, never a Lambda: the API Gateway events the dev server makes of HTTP
//! requests ([`apigw`]), S3's event notifications as the local storage sends them ([`s3_events`]), and an in-memory
//! fake beside each port ([`memory`]).

pub mod apigw;
pub mod memory;
pub mod s3_events;

#[cfg(test)]
mod tests {
    use crate::memory::MemoryBlobs;
    use framelift_shared::domain::VideoId;
    use framelift_shared::media_urls::StorageUrls;
    use framelift_shared::ports::{MediaUrls, StoreError};
    use framelift_shared::state::SignedUrls;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn signed_urls_are_reused_while_they_last() {
        let media = StorageUrls(Arc::new(MemoryBlobs::default()));
        let (a, b, c) = (VideoId::generate(), VideoId::generate(), VideoId::generate());
        let poster = |v: &VideoId| format!("{}poster.jpg", v.media_prefix());
        let ttl = Duration::from_secs(3600);
        let urls = SignedUrls::new(ttl);
        let first = urls.get(&media, &a, &poster(&a), ttl).await.unwrap();
        assert_eq!(urls.get(&media, &a, &poster(&a), ttl).await.unwrap(), first);
        assert_ne!(urls.get(&media, &b, &poster(&b), ttl).await.unwrap(), first);
        // A URL with less than half its life left is signed again.
        let short = Duration::from_secs(1);
        let urls = SignedUrls::new(short);
        let once = urls.get(&media, &c, &poster(&c), short).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_ne!(urls.get(&media, &c, &poster(&c), short).await.unwrap(), once);
    }

    #[tokio::test]
    async fn storage_urls_sign_only_the_video_s_own_media() {
        let media = StorageUrls(Arc::new(MemoryBlobs::default()));
        let (mine, other) = (VideoId::generate(), VideoId::generate());
        let expires = time::OffsetDateTime::now_utc() + Duration::from_secs(60);
        let keys = [format!("{}720p/seg_0000.ts", mine.media_prefix()), format!("{}720p/seg_0001.ts", mine.media_prefix())];
        let urls = media.urls(&mine, &keys, expires).await.unwrap();
        assert_eq!(urls.len(), 2);
        assert!(urls[0].contains("seg_0000.ts") && urls[1].contains("seg_0001.ts"), "{urls:?}");
        let err = media.urls(&mine, &[format!("{}poster.jpg", other.media_prefix())], expires).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
        let err = media.urls(&mine, &["uploads/x".to_owned()], expires).await.unwrap_err();
        assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    }
}
