//! Segments leave the worker as ffmpeg closes them: every rendition's playlist is read while the encode runs, each
//! segment it lists is stored under its global number and deleted here. A worker's disk holds a few segments at a
//! time, never its whole chunk.

use framelift_media::AbsolutePath;
use framelift_media::hls::{PLAYLIST_TYPE, SEGMENT_TYPE, VARIANT};
use framelift_shared::domain::Weight;
use framelift_shared::ports::{ObjectStore, StoreError};
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

/// How often the playlists are read while an encode runs.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Segments and posters never change under their key; playlists are cached for less in case a signer rewrites them.
pub fn cache_control(content_type: &str) -> &'static str {
    if content_type == PLAYLIST_TYPE { "public, max-age=300" } else { "public, max-age=31536000, immutable" }
}

/// Stores `text` as the playlist `path` of the video under `prefix`, by way of a file in `work`.
pub async fn store_playlist(objects: &dyn ObjectStore, work: &AbsolutePath, prefix: &str, path: &str, text: String) -> anyhow::Result<()> {
    let file = work.join(path.replace('/', "-"));
    tokio::fs::write(&file, text).await?;
    objects.upload(&format!("{prefix}{path}"), &file, PLAYLIST_TYPE, cache_control(PLAYLIST_TYPE)).await?;
    Ok(())
}

/// The renditions of one encode, each a folder of `out` published under `prefix` + the same folder.
pub struct Publisher<'a> {
    objects: &'a dyn ObjectStore,
    prefix: String,
    out: AbsolutePath,
    renditions: Vec<Rendition>,
}

struct Rendition {
    folder: String,
    stored: BTreeSet<String>,
    weight: Weight,
    /// The lengths of the segments listed so far, in order.
    durations: Vec<f64>,
}

impl<'a> Publisher<'a> {
    pub fn new(objects: &'a dyn ObjectStore, prefix: String, out: AbsolutePath, folders: &[String]) -> Self {
        let renditions = folders
            .iter()
            .map(|f| Rendition { folder: f.clone(), stored: BTreeSet::new(), weight: Weight { bytes: 0, peak_bps: 0 }, durations: vec![] })
            .collect();
        Self { objects, prefix, out, renditions }
    }

    /// Stores every segment the playlists list that is not stored yet; returns how many it stored.
    pub async fn pass(&mut self) -> Result<usize, StoreError> {
        let mut stored = 0;
        for r in &mut self.renditions {
            let dir = self.out.join(&r.folder);
            // Not written yet, or caught mid-write: the next pass reads it.
            let Ok(text) = std::fs::read(dir.join(VARIANT)) else { continue };
            let Ok(m3u8_rs::Playlist::MediaPlaylist(list)) = m3u8_rs::parse_playlist_res(&text) else { continue };
            for s in &list.segments {
                if r.stored.contains(&s.uri) {
                    continue;
                }
                let path = dir.join(&s.uri);
                let bytes = std::fs::metadata(&path).map_err(StoreError::unavailable)?.len();
                let key = format!("{}{}/{}", self.prefix, r.folder, s.uri);
                self.objects.upload(&key, &path, SEGMENT_TYPE, cache_control(SEGMENT_TYPE)).await?;
                let _ = std::fs::remove_file(&path);
                let seconds = f64::from(s.duration);
                r.weight.bytes += bytes;
                if seconds > 0.0 {
                    r.weight.peak_bps = r.weight.peak_bps.max((bytes as f64 * 8.0 / seconds).round() as u64);
                }
                r.durations.push(seconds);
                r.stored.insert(s.uri.clone());
                stored += 1;
            }
        }
        Ok(stored)
    }

    /// Runs `encode` to its end while storing what it closes, then stores the rest. `between` is told the first
    /// rendition's stored segment lengths after every pass that stored something. A storage failure stops the encode
    /// (dropping it kills ffmpeg).
    pub async fn alongside<T, E: From<StoreError>, F: Future<Output = ()>>(
        &mut self,
        encode: impl Future<Output = Result<T, E>>,
        mut between: impl FnMut(&[f64]) -> F,
    ) -> Result<T, E> {
        tokio::pin!(encode);
        let result = loop {
            tokio::select! {
                done = &mut encode => break done?,
                _ = tokio::time::sleep(POLL_EVERY) => {
                    if self.pass().await? > 0 {
                        between(self.durations()).await;
                    }
                }
            }
        };
        self.pass().await?;
        Ok(result)
    }

    /// What each rendition's stored segments weighed, in the order of the folders.
    pub fn weights(&self) -> Vec<Weight> {
        self.renditions.iter().map(|r| r.weight).collect()
    }

    /// The lengths of the first rendition's stored segments, in order.
    pub fn durations(&self) -> &[f64] {
        self.renditions.first().map_or(&[], |r| &r.durations)
    }
}
