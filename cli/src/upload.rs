//! `framelift upload`: the multipart flow of docs/API.md from a terminal. Several parts in flight, each retried (a
//! URL that expired is asked for again), a progress bar with rate and time left. The upload's id is kept in the config
//! folder, keyed by the file's path, size and modification time, until it completes: running the same command again
//! after an interruption (Ctrl-C, a lost connection, a crash) resumes with the parts storage already holds.

use crate::client::{Client, ClientError};
use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many times a part is tried before the upload stops (resumable).
const ATTEMPTS: u32 = 5;
/// Part URLs are asked for this many at a time (the API's limit per call).
const URL_BATCH: usize = 100;

pub struct Request<'a> {
    pub file: &'a Path,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub visibility: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub parallel: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    video_id: String,
    part_size: u64,
    part_count: u32,
    size: u64,
}

fn pending_path(file: &Path, meta: &std::fs::Metadata) -> anyhow::Result<PathBuf> {
    let canonical = std::fs::canonicalize(file)?;
    let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let key = format!("{}|{}|{}", canonical.display(), meta.len(), modified);
    let hash = Sha256::digest(key.as_bytes());
    let name = hex::encode(&hash[..16]);
    Ok(crate::config::dir()?.join("uploads").join(format!("{name}.json")))
}

fn content_type_of(file: &Path) -> Option<&'static str> {
    let ext = file.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "mpg" | "mpeg" => "video/mpeg",
        "ts" => "video/mp2t",
        _ => return None,
    })
}

/// Uploads (or resumes uploading) the file; returns the video's id once storage holds every part and `complete`
/// accepted them.
pub async fn upload(client: &Client, req: Request<'_>) -> anyhow::Result<String> {
    let meta = std::fs::metadata(req.file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", req.file.display()))?;
    anyhow::ensure!(meta.is_file(), "{} is not a file", req.file.display());
    let state_file = pending_path(req.file, &meta)?;
    let mut held = BTreeMap::new();
    let pending = match read_pending(&state_file) {
        Some(p) => match client.get(&format!("/api/uploads/{}/parts", p.video_id)).await {
            Ok(v) => {
                for part in v["parts"].as_array().into_iter().flatten() {
                    if let (Some(n), Some(size)) = (part["partNumber"].as_u64(), part["size"].as_u64()) {
                        held.insert(n as u32, size);
                    }
                }
                eprintln!("resuming video {}: storage holds {} of {} parts", p.video_id, held.len(), p.part_count);
                p
            }
            // Completed, aborted or gone: start again.
            Err(ClientError::Api { status: 404 | 409, .. }) => start(client, &req, &meta, &state_file).await?,
            Err(e) => return Err(e.into()),
        },
        None => start(client, &req, &meta, &state_file).await?,
    };
    let expected = |n: u32| if n < pending.part_count { pending.part_size } else { pending.size - pending.part_size * u64::from(n - 1) };
    let done: BTreeSet<u32> = held.iter().filter(|(n, size)| **size == expected(**n)).map(|(n, _)| *n).collect();
    let missing: Vec<u32> = (1..=pending.part_count).filter(|n| !done.contains(n)).collect();

    let bar = progress_bar(pending.size, done.iter().map(|n| expected(*n)).sum());
    let delay = std::env::var("FRAMELIFT_TEST_PART_DELAY_MS").ok().and_then(|v| v.parse().ok()).map(Duration::from_millis);
    for batch in missing.chunks(URL_BATCH) {
        let urls = part_urls(client, &pending.video_id, batch).await?;
        futures::stream::iter(batch.iter().copied())
            .map(|n| {
                let (client, bar, urls, pending) = (client, &bar, &urls, &pending);
                async move {
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    let offset = pending.part_size * u64::from(n - 1);
                    let bytes = read_part(req.file, offset, expected(n))?;
                    put_part(client, &pending.video_id, n, urls.get(&n).cloned(), bytes).await?;
                    bar.inc(expected(n));
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(req.parallel.max(1))
            .try_collect::<Vec<()>>()
            .await?;
    }
    bar.finish_and_clear();
    let done: Value = client.call(reqwest::Method::POST, &format!("/api/uploads/{}/complete", pending.video_id), Some(json!({}))).await?;
    let _ = std::fs::remove_file(&state_file);
    Ok(done["video"]["id"].as_str().unwrap_or(&pending.video_id).to_owned())
}

/// A bar of `size` bytes that starts at `held` (a resumed upload's parts already stored): its rate and time left count
/// only what this run sends, not the bytes it found in storage.
fn progress_bar(size: u64, held: u64) -> ProgressBar {
    let bar = ProgressBar::new(size).with_position(held);
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta} left")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    // The estimator takes the held bytes as its starting point, then forgets the instant jump to them.
    bar.tick();
    bar.reset_eta();
    bar
}

fn read_pending(path: &Path) -> Option<Pending> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

async fn start(client: &Client, req: &Request<'_>, meta: &std::fs::Metadata, state_file: &Path) -> anyhow::Result<Pending> {
    let content_type = match req.content_type.or_else(|| content_type_of(req.file)) {
        Some(t) => t,
        None => {
            anyhow::bail!("cannot tell what kind of video {} is from its name: give --content-type (e.g. video/mp4)", req.file.display())
        }
    };
    let filename = req.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut body = json!({"filename": filename, "contentType": content_type, "size": meta.len(), "title": req.title});
    if let Some(d) = req.description {
        body["description"] = json!(d);
    }
    if let Some(v) = req.visibility {
        body["visibility"] = json!(v);
    }
    let init: Value = client.call(reqwest::Method::POST, "/api/uploads", Some(body)).await?;
    let pending = Pending {
        video_id: init["video"]["id"].as_str().unwrap_or_default().to_owned(),
        part_size: init["partSize"].as_u64().unwrap_or_default(),
        part_count: init["partCount"].as_u64().unwrap_or_default() as u32,
        size: meta.len(),
    };
    anyhow::ensure!(!pending.video_id.is_empty() && pending.part_size > 0, "the server's answer to initialize was not understood: {init}");
    std::fs::create_dir_all(state_file.parent().expect("in the config folder"))?;
    std::fs::write(state_file, serde_json::to_vec(&pending)?)?;
    let parts = if pending.part_count == 1 { "1 part".to_owned() } else { format!("{} parts", pending.part_count) };
    eprintln!("uploading video {} in {parts}", pending.video_id);
    Ok(pending)
}

async fn part_urls(client: &Client, id: &str, parts: &[u32]) -> anyhow::Result<BTreeMap<u32, String>> {
    let v: Value = client.call(reqwest::Method::POST, &format!("/api/uploads/{id}/part-urls"), Some(json!({"partNumbers": parts}))).await?;
    Ok(v["urls"].as_object().into_iter().flatten().filter_map(|(k, u)| Some((k.parse().ok()?, u.as_str()?.to_owned()))).collect())
}

fn read_part(file: &Path, offset: u64, len: u64) -> anyhow::Result<Vec<u8>> {
    let mut f = std::fs::File::open(file)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0; len as usize];
    f.read_exact(&mut buf).map_err(|e| anyhow::anyhow!("{} changed while it was uploaded: {e}", file.display()))?;
    Ok(buf)
}

/// PUTs one part, retrying with backoff; a refused (expired) URL is asked for again.
async fn put_part(client: &Client, id: &str, n: u32, url: Option<String>, bytes: Vec<u8>) -> anyhow::Result<()> {
    let mut url = url;
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 << attempt.min(4))).await;
        }
        let u = match url.take() {
            Some(u) => u,
            None => part_urls(client, id, &[n]).await?.remove(&n).ok_or_else(|| anyhow::anyhow!("no URL for part {n}"))?,
        };
        match client.http.put(&u).body(bytes.clone()).send().await {
            Ok(res) if res.status().is_success() => return Ok(()),
            Ok(res) if res.status() == reqwest::StatusCode::FORBIDDEN => last = "the part URL was refused (expired?)".into(),
            Ok(res) => {
                last = format!("storage answered {}", res.status());
                url = Some(u);
            }
            Err(e) => {
                last = e.to_string();
                url = Some(u);
            }
        }
    }
    anyhow::bail!("part {n} failed {ATTEMPTS} times ({last}); run the same command again to resume")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_upload_shows_the_rate_of_what_it_sends() {
        let held = 3 << 30;
        let bar = progress_bar(4 << 30, held);
        std::thread::sleep(Duration::from_millis(200));
        bar.inc(8 << 20);
        std::thread::sleep(Duration::from_millis(200));
        bar.inc(8 << 20);
        // About 16 MiB in 0.4 s: tens of MiB/s, never the 3 GiB found in storage counted as sent at once.
        let rate = bar.per_sec();
        assert!(rate > 1e6 && rate < 500e6, "{rate} bytes/s");
        assert_eq!(bar.position(), held + (16 << 20));
    }
}
