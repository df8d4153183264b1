//! Paths that mean the same file from any folder.
//!
//! ffmpeg runs in a work folder of its own ([`crate::sandbox`]), so a relative path handed to it would be read against
//! the wrong folder. Every path the product takes from configuration or arguments is made absolute once, where it is
//! read, as an [`AbsolutePath`]; everything that starts a child process takes only those.

use std::ffi::OsStr;
use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A path that does not depend on the current folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AbsolutePath(PathBuf);

impl AbsolutePath {
    /// `path` as it is if absolute, else against the current folder (now, once). The file need not exist.
    pub fn resolve(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "an empty path names no file or folder"));
        }
        std::path::absolute(path).map(Self)
    }

    /// `self/part`: still absolute whatever `part` is.
    pub fn join(&self, part: impl AsRef<Path>) -> Self {
        Self(self.0.join(part))
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }

    pub fn into_path_buf(self) -> PathBuf {
        self.0
    }
}

impl Deref for AbsolutePath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for AbsolutePath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<OsStr> for AbsolutePath {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

impl fmt::Display for AbsolutePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.display().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_taken_against_the_current_folder_once() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(AbsolutePath::resolve(".framelift").unwrap().as_path(), here.join(".framelift"));
        assert_eq!(AbsolutePath::resolve("out/").unwrap().as_path(), here.join("out"));
        assert_eq!(AbsolutePath::resolve("/tmp").unwrap().as_path(), Path::new("/tmp"));
        assert!(AbsolutePath::resolve("../x").unwrap().is_absolute());
        assert!(AbsolutePath::resolve("").is_err());
        assert!(AbsolutePath::resolve("a").unwrap().join("b/c").is_absolute());
    }
}
