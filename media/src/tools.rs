//! Where the bundled ffmpeg is: `FRAMELIFT_FFMPEG_DIR`, else the Lambda layer (`/opt/bin`), else the
//! copy `scripts/fetch-ffmpeg.sh` keeps in `.tools/ffmpeg/<arch>`.

use crate::paths::AbsolutePath;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    pub ffmpeg: AbsolutePath,
}

impl Tools {
    /// The tools in `dir` (a relative `dir` is taken against the current folder, now).
    pub fn in_dir(dir: &Path) -> std::io::Result<Self> {
        Ok(Self { ffmpeg: AbsolutePath::resolve(dir)?.join("ffmpeg") })
    }

    /// Finds the tool, or says where they were looked for and how to get them.
    pub fn locate() -> anyhow::Result<Self> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(dir) = std::env::var("FRAMELIFT_FFMPEG_DIR") {
            candidates.push(dir.into());
        }
        candidates.push("/opt/bin".into());
        // A checkout's copy, found from the working folder or from the binary (target/<profile>/...).
        let arch = std::env::consts::ARCH;
        for start in [std::env::current_dir().ok(), std::env::current_exe().ok()].into_iter().flatten() {
            for d in start.ancestors() {
                let c = d.join(".tools/ffmpeg").join(arch);
                if !candidates.contains(&c) {
                    candidates.push(c);
                }
            }
        }
        for c in &candidates {
            let tools = Self::in_dir(c)?;
            if tools.ffmpeg.is_file() {
                return Ok(tools);
            }
        }
        anyhow::bail!(
            "the bundled ffmpeg was not found (looked in {}): run scripts/fetch-ffmpeg.sh or set FRAMELIFT_FFMPEG_DIR",
            candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    }
}
