//! `framelift-media`: turns one video file into an HLS ladder, exactly the same way in the transcode Lambda and in
//! `framelift transcode`.
//!
//! - [`tools`]: where the bundled ffmpeg is.
//! - [`paths`]: paths made absolute where they are read, so no child process sees one relative to another folder.
//! - [`sandbox`]: how it runs on untrusted files: no environment, file protocol only, allow-listed demuxers, time
//!   and memory limits.
//! - [`input`]: where a source is read from: a file, or an address read with range requests.
//! - [`probe`]: what a file is (or why it is not a video).
//! - [`ladder`]: which renditions a source gets.
//! - [`hls`]: the one ffmpeg command that makes them, and the master playlist with measured bandwidth.
//! - [`transcode`]: the whole pipeline, and the outcome a person can read.
//! - [`chunks`]: the timeline cut on the segment grid, each chunk of every rung encoded alone, audio once, and the
//!   playlists of what is finished so far.

pub mod chunks;
pub mod hls;
pub mod input;
pub mod ladder;
pub mod paths;
pub mod probe;
pub mod sandbox;
pub mod storyboard;
pub mod tools;
pub mod transcode;

pub use input::{Input, SourceUrl};
pub use ladder::Rung;
pub use paths::AbsolutePath;
pub use probe::SourceInfo;
pub use tools::Tools;
pub use transcode::{Options, Output, Progress, TranscodeError, transcode, transcode_watched};
