//! [`BlobStore`] on S3 (or any S3-compatible server): multipart uploads with presigned part URLs.

use crate::presign::Presigner;
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use framelift_shared::domain::{ETag, ObjectKey, PartNumber, StoredPart, UploadId};
use framelift_shared::ports::{BlobStore, ObjectStore, PresignedUrl, Readable, StoreError};
use std::time::Duration;

pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
    presigner: Presigner,
}

impl S3Blobs {
    /// The bucket on AWS, or with `endpoint` on that S3-compatible server (path style); presigned URLs point there too.
    pub fn new(sdk: &aws_config::SdkConfig, bucket: impl Into<String>, endpoint: Option<&str>) -> Result<Self, StoreError> {
        let bucket = bucket.into();
        let presigner = Presigner::new(sdk, &bucket, endpoint)?;
        Ok(Self { client: crate::s3_client(sdk, endpoint), bucket, presigner })
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// Sorts an SDK error by what the caller can do: the upload is gone, the request was refused, or try later.
fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.code() {
        Some("NoSuchUpload" | "NoSuchKey") => StoreError::NotFound,
        Some(code @ ("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" | "EntityTooLarge")) => StoreError::Rejected(code.to_owned()),
        _ => StoreError::unavailable(e),
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn start_multipart(&self, key: &ObjectKey, content_type: &str) -> Result<UploadId, StoreError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(classify)?;
        let id = out.upload_id().unwrap_or_default();
        id.parse().map_err(StoreError::unavailable)
    }

    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload: &UploadId,
        part: PartNumber,
        size: u64,
        ttl: Duration,
    ) -> Result<PresignedUrl, StoreError> {
        let part = i32::from(part).to_string();
        let query = [("partNumber", part.as_str()), ("uploadId", upload.as_str())];
        self.presigner.presign("PUT", key.as_str(), &query, &[("content-length", &size.to_string())], ttl).await
    }

    async fn list_parts(&self, key: &ObjectKey, upload: &UploadId) -> Result<Vec<StoredPart>, StoreError> {
        let mut pages = self.client.list_parts().bucket(&self.bucket).key(key.as_str()).upload_id(upload.as_str()).into_paginator().send();
        let mut parts = Vec::new();
        while let Some(page) = pages.next().await {
            for p in page.map_err(classify)?.parts() {
                let (Some(n), Some(etag)) = (p.part_number(), p.e_tag()) else { continue };
                let number = PartNumber::try_from(i64::from(n)).map_err(StoreError::unavailable)?;
                parts.push(StoredPart { number, etag: ETag::new(etag), size: p.size().unwrap_or(0).max(0) as u64 });
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    async fn complete_multipart(&self, key: &ObjectKey, upload: &UploadId, parts: &[(PartNumber, ETag)]) -> Result<(), StoreError> {
        let completed =
            parts.iter().map(|(n, etag)| CompletedPart::builder().part_number((*n).into()).e_tag(etag.quoted()).build()).collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload.as_str())
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn presign_get(&self, key: &str, ttl: Duration) -> Result<PresignedUrl, StoreError> {
        self.presigner.presign("GET", key, &[], &[], ttl).await
    }

    async fn abort_multipart(&self, key: &ObjectKey, upload: &UploadId) -> Result<(), StoreError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload.as_str())
            .send()
            .await
            .map_err(classify)
        {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl ObjectStore for S3Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str, cache_control: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(bytes))
            .content_type(content_type)
            .cache_control(cache_control)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn download(&self, key: &str, dest: &std::path::Path) -> Result<u64, StoreError> {
        use tokio::io::AsyncWriteExt;
        let out = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(classify)?;
        let mut file = tokio::fs::File::create(dest).await.map_err(StoreError::unavailable)?;
        let mut body = out.body;
        let mut written = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(StoreError::unavailable)? {
            file.write_all(&chunk).await.map_err(StoreError::unavailable)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(StoreError::unavailable)?;
        Ok(written)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        let mut deleted = 0;
        while let Some(page) = pages.next().await {
            let ids = page
                .map_err(classify)?
                .contents()
                .iter()
                .filter_map(|o| ObjectIdentifier::builder().key(o.key()?).build().ok())
                .collect::<Vec<_>>();
            if ids.is_empty() {
                continue;
            }
            deleted += ids.len();
            let delete = Delete::builder().set_objects(Some(ids)).quiet(true).build().map_err(StoreError::unavailable)?;
            let out = self.client.delete_objects().bucket(&self.bucket).delete(delete).send().await.map_err(classify)?;
            if let Some(e) = out.errors().first() {
                return Err(StoreError::Rejected(format!("delete of {} failed: {}", e.key().unwrap_or(""), e.code().unwrap_or(""))));
            }
        }
        Ok(deleted)
    }

    async fn readable(&self, key: &str, ttl: std::time::Duration) -> Result<Readable, StoreError> {
        // A presigned address of nothing would reach ffmpeg as a 404, and read as a file that is not a video.
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => {}
            // A HEAD's 404 has no body, so no code: the SDK's own not-found error says it.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Err(StoreError::NotFound),
            Err(e) => return Err(classify(e)),
        }
        Ok(Readable::Url(self.presign_get(key, ttl).await?.url))
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let out = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(classify)?;
        Ok(out.body.collect().await.map_err(StoreError::unavailable)?.into_bytes().to_vec())
    }

    async fn upload(&self, key: &str, src: &std::path::Path, content_type: &str, cache_control: &str) -> Result<(), StoreError> {
        let body = aws_sdk_s3::primitives::ByteStream::from_path(src).await.map_err(StoreError::unavailable)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(cache_control)
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
