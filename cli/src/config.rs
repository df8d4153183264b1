//! Where the client talks to and who it is: `--api` / `FRAMELIFT_API` (default the local stack on `PORT`, as
//! `make dev` serves it), the token from
//! `FRAMELIFT_TOKEN`, else the config file `$XDG_CONFIG_HOME/framelift/config.json` (`~/.config/...`), written by
//! `framelift login` with owner-only permissions. Resumable uploads keep their state beside it.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

/// The local stack, on the port `make dev` serves it on (`PORT`, else 8080).
pub fn default_api() -> String {
    let port = std::env::var("PORT").ok().filter(|p| p.trim().parse::<u16>().is_ok()).unwrap_or_else(|| "8080".into());
    format!("http://localhost:{}", port.trim())
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Saved {
    pub api: Option<String>,
    pub token: Option<String>,
}

pub fn dir() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").ok_or_else(|| anyhow::anyhow!("HOME is not set: set XDG_CONFIG_HOME"))?).join(".config")
        }
    };
    Ok(base.join("framelift"))
}

pub fn load() -> Saved {
    dir().ok().and_then(|d| std::fs::read(d.join("config.json")).ok()).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Writes `saved` readable by the owner alone (it holds a token).
pub fn save(saved: &Saved) -> anyhow::Result<PathBuf> {
    let dir = dir()?;
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    let path = dir.join("config.json");
    let tmp = dir.join("config.json.tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(saved)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
