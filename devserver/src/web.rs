//! The web client's static files (`web/dist`, built by `npm run build`) at `/`, and `/config.json`, the runtime
//! configuration the page reads at start (the same file a deployment writes beside the page).

use std::path::{Component, Path, PathBuf};

pub struct WebFiles {
    root: PathBuf,
    config: serde_json::Value,
}

/// A file to serve: its bytes, content type and caching.
pub struct WebFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

impl WebFiles {
    pub fn new(root: PathBuf, google_client_id: Option<String>) -> Self {
        let config = serde_json::json!({"apiBase": "", "googleClientId": google_client_id, "devSignIn": true});
        Self { root, config }
    }

    pub fn config(&self) -> &serde_json::Value {
        &self.config
    }

    /// The file at `path` (`/` is `index.html`), if the build has it. Paths leaving the folder are never served.
    pub async fn get(&self, path: &str) -> Option<WebFile> {
        let relative = Path::new(path.trim_start_matches('/'));
        if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        let file = if path == "/" { self.root.join("index.html") } else { self.root.join(relative) };
        let bytes = tokio::fs::read(&file).await.ok()?;
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let content_type = match ext {
            "html" => "text/html; charset=utf-8",
            "js" | "mjs" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "json" => "application/json",
            "svg" => "image/svg+xml",
            "png" => "image/png",
            "ico" => "image/x-icon",
            "woff2" => "font/woff2",
            _ => "application/octet-stream",
        };
        // Vite names built assets by their content: they never change under their name.
        let cache_control = if path.starts_with("/assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
        Some(WebFile { bytes, content_type, cache_control })
    }

    /// Whether the client has been built.
    pub fn built(&self) -> bool {
        self.root.join("index.html").is_file()
    }
}
