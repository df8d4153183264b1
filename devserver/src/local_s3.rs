//! The in-process S3: `s3s` speaks the protocol and checks SigV4 signatures (presigned URLs and their expiry included),
//! `s3s-fs` keeps objects and parts in the state folder. [`LocalS3`] wraps the folder store with what the platform
//! needs and it lacks: ETags in ListParts (for resume), ordered parts, `NoSuchUpload` for unknown uploads, ETag and
//! size checks before an upload is assembled (so a refused complete loses nothing), and `ObjectCreated`
//! notifications.

use framelift_local::s3_events::ObjectCreated;
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

pub struct LocalS3 {
    fs: s3s_fs::FileSystem,
    root: PathBuf,
    etags: PathBuf,
    events: mpsc::UnboundedSender<ObjectCreated>,
    sequence: AtomicU64,
}

/// The smallest part but the last, as S3 enforces at complete.
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

impl LocalS3 {
    /// A store over `root` (made if missing) that reports created objects on `events`.
    pub fn new(root: &Path, events: mpsc::UnboundedSender<ObjectCreated>) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let etags = root.join(".framelift-etags");
        std::fs::create_dir_all(&etags)?;
        let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let root = root.canonicalize()?;
        let start = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
        Ok(Self { fs, root, etags, events, sequence: AtomicU64::new(start) })
    }

    fn part_path(&self, upload: &uuid::Uuid, part: i32) -> PathBuf {
        // s3s-fs's layout for parts.
        self.root.join(format!(".upload_id-{upload}.part-{part}"))
    }

    fn upload_exists(&self, upload: &uuid::Uuid) -> bool {
        // s3s-fs's marker of an open upload.
        self.root.join(format!(".upload-{upload}.json")).exists()
    }

    fn etag_path(&self, upload: &uuid::Uuid, part: i32) -> PathBuf {
        self.etags.join(format!("{upload}.part-{part}"))
    }

    /// The part's ETag and size. The tag is remembered beside the part, keyed by the part file's size and mtime, and
    /// recomputed if the part changed underneath (or the process died between writing the part and its tag).
    async fn part_etag(&self, upload: &uuid::Uuid, part: i32) -> std::io::Result<Option<(String, u64)>> {
        let path = self.part_path(upload, part);
        let Some(stamp) = file_stamp(&path).await? else { return Ok(None) };
        if let Ok(saved) = tokio::fs::read_to_string(self.etag_path(upload, part)).await
            && let Some((saved_stamp, etag)) = saved.split_once(' ')
            && saved_stamp == stamp.text
        {
            return Ok(Some((etag.to_owned(), stamp.len)));
        }
        let etag = md5_file(&path).await?;
        self.remember_etag(upload, part, &stamp, &etag).await?;
        Ok(Some((etag, stamp.len)))
    }

    async fn remember_etag(&self, upload: &uuid::Uuid, part: i32, stamp: &Stamp, etag: &str) -> std::io::Result<()> {
        tokio::fs::write(self.etag_path(upload, part), format!("{} {etag}", stamp.text)).await
    }

    async fn forget_etags(&self, upload: &uuid::Uuid) {
        let prefix = format!("{upload}.");
        if let Ok(mut dir) = tokio::fs::read_dir(&self.etags).await {
            while let Ok(Some(entry)) = dir.next_entry().await {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = tokio::fs::remove_file(entry.path()).await;
                }
            }
        }
    }

    fn notify(&self, bucket: &str, key: &str, etag: String, event_name: &'static str) {
        let size = std::fs::metadata(self.root.join(bucket).join(key)).map(|m| m.len()).unwrap_or(0);
        let sequencer = format!("{:016X}", self.sequence.fetch_add(1, Ordering::Relaxed));
        let _ = self.events.send(ObjectCreated { bucket: bucket.to_owned(), key: key.to_owned(), size, etag, event_name, sequencer });
    }

    fn open_upload(&self, upload_id: &str) -> S3Result<uuid::Uuid> {
        match uuid::Uuid::parse_str(upload_id) {
            Ok(id) if self.upload_exists(&id) => Ok(id),
            _ => Err(s3_error!(NoSuchUpload, "The specified upload does not exist. It may have been aborted or completed.")),
        }
    }
}

/// What identifies one version of a part file: its size and modification time.
struct Stamp {
    len: u64,
    text: String,
}

async fn file_stamp(path: &Path) -> std::io::Result<Option<Stamp>> {
    match tokio::fs::metadata(path).await {
        Ok(meta) => {
            let mtime = meta.modified()?.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
            Ok(Some(Stamp { len: meta.len(), text: format!("{}:{mtime}", meta.len()) }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

async fn md5_file(path: &Path) -> std::io::Result<String> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut hash = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex::encode(hash.finalize()))
}

fn io_error(e: std::io::Error) -> s3s::S3Error {
    s3s::S3Error::with_source(s3s::S3ErrorCode::InternalError, Box::new(e))
}

#[async_trait::async_trait]
impl S3 for LocalS3 {
    async fn create_bucket(&self, req: S3Request<CreateBucketInput>) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let res = self.fs.put_object(req).await?;
        let etag = res.output.e_tag.as_ref().map(|e| e.value().to_owned()).unwrap_or_default();
        self.notify(&bucket, &key, etag, "ObjectCreated:Put");
        Ok(res)
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn delete_objects(&self, req: S3Request<DeleteObjectsInput>) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fs.delete_objects(req).await
    }

    async fn list_objects_v2(&self, req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let upload = self.open_upload(&req.input.upload_id)?;
        let part = req.input.part_number;
        let res = self.fs.upload_part(req).await?;
        // Remember the tag s3s-fs computed while writing, so that listing never reads the part back.
        if let (Some(etag), Some(stamp)) = (res.output.e_tag.as_ref(), file_stamp(&self.part_path(&upload, part)).await.map_err(io_error)?)
        {
            self.remember_etag(&upload, part, &stamp, etag.value()).await.map_err(io_error)?;
        }
        Ok(res)
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let upload = self.open_upload(&input.upload_id)?;
        let prefix = format!(".upload_id-{upload}.part-");
        let mut numbers = Vec::new();
        let mut dir = tokio::fs::read_dir(&self.root).await.map_err(io_error)?;
        while let Some(entry) = dir.next_entry().await.map_err(io_error)? {
            let name = entry.file_name();
            if let Some(n) = name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|n| n.parse::<i32>().ok()) {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        let after = input.part_number_marker.unwrap_or(0);
        let mut parts = Vec::new();
        for n in numbers.into_iter().filter(|n| *n > after) {
            if let Some((etag, size)) = self.part_etag(&upload, n).await.map_err(io_error)? {
                parts.push(Part { part_number: Some(n), e_tag: Some(ETag::Strong(etag)), size: Some(size as i64), ..Default::default() });
            }
        }
        let output = ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            parts: Some(parts),
            is_truncated: Some(false),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let upload = self.open_upload(&req.input.upload_id)?;
        let requested = req.input.multipart_upload.as_ref().and_then(|m| m.parts.clone()).unwrap_or_default();
        if requested.is_empty() {
            return Err(s3_error!(InvalidPart, "You must specify at least one part"));
        }
        // Everything that could refuse the request is checked before anything is written.
        let mut multipart_hash = Md5::new();
        for (i, part) in requested.iter().enumerate() {
            let number = part.part_number.ok_or_else(|| s3_error!(InvalidPart, "a part has no number"))?;
            if i > 0 && requested[i - 1].part_number >= Some(number) {
                return Err(s3_error!(InvalidPartOrder, "The list of parts was not in ascending order."));
            }
            let Some((etag, size)) = self.part_etag(&upload, number).await.map_err(io_error)? else {
                return Err(s3_error!(InvalidPart, "One or more of the specified parts could not be found."));
            };
            if part.e_tag.as_ref().map(|e| e.value()) != Some(etag.as_str()) {
                return Err(s3_error!(InvalidPart, "One or more of the specified parts' ETags do not match."));
            }
            if i + 1 < requested.len() && size < MIN_PART_SIZE {
                return Err(s3_error!(EntityTooSmall, "Your proposed upload is smaller than the minimum allowed size."));
            }
            multipart_hash.update(hex_bytes(&etag));
        }
        let (bucket, key) = (req.input.bucket, req.input.key);
        if key.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(s3_error!(InvalidArgument, "unusable key"));
        }
        let etag = format!("{}-{}", hex::encode(multipart_hash.finalize()), requested.len());
        let numbers: Vec<i32> = requested.iter().filter_map(|p| p.part_number).collect();
        let (root, b, k, tag) = (self.root.clone(), bucket.clone(), key.clone(), etag.clone());
        tokio::task::spawn_blocking(move || assemble(&root, &b, &k, &upload, &numbers, &tag))
            .await
            .map_err(|e| io_error(std::io::Error::other(e)))?
            .map_err(io_error)?;
        self.forget_etags(&upload).await;
        self.notify(&bucket, &key, etag.clone(), "ObjectCreated:CompleteMultipartUpload");
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(bucket),
            key: Some(key),
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(&self, req: S3Request<AbortMultipartUploadInput>) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let upload = self.open_upload(&req.input.upload_id)?;
        let res = self.fs.abort_multipart_upload(req).await?;
        self.forget_etags(&upload).await;
        Ok(res)
    }
}

/// Assembles a multipart upload into its object in s3s-fs's layout, then drops the upload.
///
/// Done here rather than by s3s-fs for two reasons. Durability: s3s-fs forgets the upload before it assembles it, so a
/// crash in between loses every part; here the upload is dropped only once the object is in place, and a complete
/// retried after a crash simply assembles again. Speed: the part ETags are already known, so the parts are joined by
/// the kernel (`std::io::copy` between files is `copy_file_range` on Linux) instead of being hashed again on the way.
fn assemble(root: &Path, bucket: &str, key: &str, upload: &uuid::Uuid, parts: &[i32], etag: &str) -> std::io::Result<()> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let object = root.join(bucket).join(key);
    let tmp = root.join(format!(".tmp.framelift-{upload}.internal.part"));
    let mut out = std::fs::File::create(&tmp)?;
    for n in parts {
        let mut part = std::fs::File::open(root.join(format!(".upload_id-{upload}.part-{n}")))?;
        std::io::copy(&mut part, &mut out)?;
    }
    drop(out);
    if let Some(dir) = object.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::rename(&tmp, &object)?;

    // The attributes given at create (content type) become the object's, and its ETag is recorded where s3s-fs's
    // GetObject and HeadObject read it.
    let (b, k) = (b64(bucket), b64(key));
    let upload_attrs = root.join(format!(".bucket-{b}.object-{k}.upload-{upload}.metadata.json"));
    if upload_attrs.exists() {
        std::fs::rename(&upload_attrs, root.join(format!(".bucket-{b}.object-{k}.metadata.json")))?;
    }
    let info_path = root.join(format!(".bucket-{b}.object-{k}.internal.json"));
    let mut info: serde_json::Map<String, serde_json::Value> =
        std::fs::read(&info_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
    info.insert("e_tag".into(), serde_json::Value::from(etag));
    let info_tmp = info_path.with_extension("tmp");
    std::fs::write(&info_tmp, serde_json::to_vec(&info)?)?;
    std::fs::rename(info_tmp, info_path)?;

    // Last, the upload itself: its parts (listed or not) and its marker.
    let prefix = format!(".upload_id-{upload}.part-");
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            std::fs::remove_file(entry.path())?;
        }
    }
    match std::fs::remove_file(root.join(format!(".upload-{upload}.json"))) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect()
}
