//! What the planner hands the workers: one job per chunk and one for the audio, each carrying what probing found so a
//! worker reads the source with the same demuxer and builds the same ladder without probing it again.

use framelift_media::SourceInfo;
use framelift_media::chunks::Chunk;
use framelift_shared::domain::VideoId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncodeJob {
    pub video: VideoId,
    pub part: Part,
    pub source: SourceInfo,
}

/// Which part of the video a job encodes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Part {
    /// One stretch of every video rendition.
    Chunk(Chunk),
    /// The whole audio rendition.
    Audio,
}

impl EncodeJob {
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a job serialises")
    }

    pub fn parse(body: &str) -> anyhow::Result<EncodeJob> {
        serde_json::from_str(body).map_err(|e| anyhow::anyhow!("not an encode job ({e}): {}", body.chars().take(200).collect::<String>()))
    }

    /// How the logs name it.
    pub fn name(&self) -> String {
        match self.part {
            Part::Chunk(c) => format!("chunk {} of {}", c.index, self.video),
            Part::Audio => format!("audio of {}", self.video),
        }
    }
}
