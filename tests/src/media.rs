//! What the media tests share: the bundled ffmpeg, and paths as the media crate takes them.

use framelift_media::{AbsolutePath, Tools};

/// The bundled ffmpeg (`make test` fetches it).
pub fn tools() -> Tools {
    Tools::locate().expect("the bundled ffmpeg: run scripts/fetch-ffmpeg.sh")
}

/// `p` made absolute, as the media crate takes paths.
pub fn abs(p: &std::path::Path) -> AbsolutePath {
    AbsolutePath::resolve(p).unwrap()
}
