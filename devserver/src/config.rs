//! The dev server's settings, read once from the environment.

use anyhow::Context;
use framelift_media::AbsolutePath;
use framelift_shared::config::{UploadConfig, upload_config};
use std::path::Path;

#[derive(Debug, Clone)]
pub struct DevConfig {
    /// `FRAMELIFT_DATA`: the state folder (default `.framelift`): objects, parts, the metadata database, keys. Relative
    /// to the folder the server was started in, resolved once at start.
    pub data_dir: AbsolutePath,
    /// `PORT`: where to listen (default 8080).
    pub port: u16,
    /// `FRAMELIFT_BIND`: the address to listen on (default 127.0.0.1; 0.0.0.0 to reach it from other machines).
    pub bind: String,
    /// `FRAMELIFT_PUBLIC_URL`: the origin browsers reach the server at, which presigned URLs point to
    /// (default `http://localhost:PORT`).
    pub public_url: Option<String>,
    /// `FRAMELIFT_ALLOWED_ORIGINS`: comma-separated origins allowed by CORS (default: any).
    pub allowed_origins: Vec<String>,
    /// The upload limits, from the same variables as a deployment (`FRAMELIFT_MAX_UPLOAD_BYTES`, ...).
    pub upload: UploadConfig,
    /// `FRAMELIFT_TRANSCODE_CONCURRENCY`: how many encode jobs run at once (and videos are planned at once; default 2:
    /// the sound and the first chunk of a video together); 0 turns transcoding off (completed uploads stay
    /// `processing`), as the upload benchmark does.
    pub transcode_concurrency: usize,
    /// `FRAMELIFT_WEB_DIR`: the built web client served at `/` (default `web/dist` of the checkout the server was
    /// started in or built in); absent, `/` says how to build it.
    pub web_dir: AbsolutePath,
    /// `FRAMELIFT_GOOGLE_CLIENT_ID`: offered to the web page for Google sign-in (the dev issuer's sign-in is always on).
    pub google_client_id: Option<String>,
}

/// The bucket the local stack keeps media in.
pub const BUCKET: &str = "framelift-local";

impl DevConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let get = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let port = match get("PORT") {
            Some(p) => p.parse().map_err(|_| anyhow::anyhow!("PORT is not valid: '{p}' is not a port number"))?,
            None => 8080,
        };
        let folder =
            |var: &str, value: &str| AbsolutePath::resolve(value).with_context(|| format!("{var} ('{value}') is not a usable path"));
        Ok(Self {
            data_dir: folder("FRAMELIFT_DATA", &get("FRAMELIFT_DATA").unwrap_or_else(|| ".framelift".into()))?,
            port,
            bind: get("FRAMELIFT_BIND").unwrap_or_else(|| "127.0.0.1".into()),
            public_url: get("FRAMELIFT_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            allowed_origins: get("FRAMELIFT_ALLOWED_ORIGINS")
                .map(|o| o.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
            upload: upload_config(&get)?,
            transcode_concurrency: match get("FRAMELIFT_TRANSCODE_CONCURRENCY") {
                Some(n) => n.parse().map_err(|_| {
                    anyhow::anyhow!("FRAMELIFT_TRANSCODE_CONCURRENCY is not valid: '{n}' is not a whole number (0 turns transcoding off)")
                })?,
                None => 2,
            },
            web_dir: match get("FRAMELIFT_WEB_DIR") {
                Some(dir) => folder("FRAMELIFT_WEB_DIR", &dir)?,
                None => default_web_dir()?,
            },
            google_client_id: get("FRAMELIFT_GOOGLE_CLIENT_ID"),
        })
    }

    /// Settings for a server in a test: state in `data_dir`, everything else default.
    pub fn for_tests(data_dir: impl AsRef<Path>) -> Self {
        Self {
            data_dir: AbsolutePath::resolve(data_dir).expect("a test's state folder"),
            port: 0,
            bind: "127.0.0.1".into(),
            public_url: None,
            allowed_origins: vec![],
            upload: UploadConfig::default(),
            transcode_concurrency: 2,
            web_dir: AbsolutePath::resolve(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/dist")).expect("an absolute path"),
            google_client_id: None,
        }
    }
}

/// `web/dist` in the current folder (a checkout, as `make dev` runs it), else in the checkout the binary was built in
/// (`target/<profile>/framelift-devserver`), else the current folder's (where `/` then says how to build it).
fn default_web_dir() -> anyhow::Result<AbsolutePath> {
    let here = AbsolutePath::resolve("web/dist")?;
    if here.join("index.html").is_file() {
        return Ok(here);
    }
    let exe = std::env::current_exe().ok();
    let built = exe.iter().flat_map(|e| e.ancestors()).map(|d| d.join("web/dist")).find(|d| d.join("index.html").is_file());
    Ok(match built {
        Some(dir) => AbsolutePath::resolve(dir)?,
        None => here,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_absolute_whatever_was_given() {
        let c = DevConfig::for_tests("relative/state");
        assert!(c.data_dir.is_absolute());
        assert_eq!(c.data_dir.as_path(), std::env::current_dir().unwrap().join("relative/state"));
        assert!(default_web_dir().unwrap().is_absolute());
    }
}
