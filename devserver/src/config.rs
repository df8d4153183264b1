//! The dev server's settings, read once from the environment.

use framelift_shared::config::{UploadConfig, upload_config};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct DevConfig {
    /// `FRAMELIFT_DATA`: the state folder (default `.framelift`): objects, parts, the metadata database, keys.
    pub data_dir: PathBuf,
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
    /// `FRAMELIFT_TRANSCODE_CONCURRENCY`: how many videos transcode at once (default 1; each uses every core); 0 turns
    /// transcoding off (completed uploads stay `processing`), as the upload benchmark does.
    pub transcode_concurrency: usize,
    /// `FRAMELIFT_WEB_DIR`: the built web client served at `/` (default `web/dist`); absent, `/` says how to build it.
    pub web_dir: PathBuf,
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
        Ok(Self {
            data_dir: get("FRAMELIFT_DATA").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".framelift")),
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
                None => 1,
            },
            web_dir: get("FRAMELIFT_WEB_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("web/dist")),
            google_client_id: get("FRAMELIFT_GOOGLE_CLIENT_ID"),
        })
    }

    /// Settings for a server in a test: state in `data_dir`, everything else default.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            port: 0,
            bind: "127.0.0.1".into(),
            public_url: None,
            allowed_origins: vec![],
            upload: UploadConfig::default(),
            transcode_concurrency: 1,
            web_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/dist")),
            google_client_id: None,
        }
    }
}
