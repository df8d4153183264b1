//! A chunked encode as the catalogue records it: how many chunks the plan has, which are finished and how long each
//! of their segments plays, and how far the audio has got. Workers finish chunks in any order and more than once; each
//! finish is one conditional write of the record, so the record alone says what is playable and when all is done.

use serde::{Deserialize, Serialize};

/// The plan of a video's encode and what of it is finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encoding {
    /// How many chunks the timeline is cut into.
    pub chunks: u32,
    /// The video renditions' folders (`180p`, `720p` ...), lowest first; each has the same segments.
    pub renditions: Vec<String>,
    /// Whether an audio rendition is made (the source has sound).
    pub has_audio: bool,
    /// What the source is, for the record once ready.
    pub width: u32,
    pub height: u32,
    /// The finished chunks, by index, each once.
    #[serde(default)]
    pub done: Vec<EncodedChunk>,
    /// The audio rendition's segments finished so far, in order, and whether that is all of them.
    #[serde(default)]
    pub audio_segments: Vec<f64>,
    #[serde(default)]
    pub audio_finished: bool,
}

/// One finished chunk: its segments' lengths (the same in every rendition) and what each rendition's part weighed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncodedChunk {
    pub index: u32,
    /// The global number of its first segment.
    pub first_segment: u32,
    /// Seconds, per segment, in order.
    pub segments: Vec<f64>,
    /// Per rendition, in the order of [`Encoding::renditions`]: bytes written and the highest rate of any segment.
    pub weights: Vec<Weight>,
    /// Whether its worker stored the poster (the first chunk's does).
    #[serde(default)]
    pub poster: bool,
    /// Whether its worker stored its storyboard sprite (a frame per segment, for seek-bar previews).
    #[serde(default)]
    pub storyboard: bool,
}

/// What one rendition's segments of a chunk weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Weight {
    pub bytes: u64,
    pub peak_bps: u64,
}

/// The answer to recording a finished chunk.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The chunk was finished before (a duplicate or late delivery): nothing to write.
    Already,
    /// Write this; `complete` says whether it finishes the whole encode.
    Write { next: Box<Encoding>, complete: bool },
}

impl Encoding {
    /// Records chunk `chunk` as finished.
    pub fn finish_chunk(&self, chunk: EncodedChunk) -> Recorded {
        if chunk.index >= self.chunks || self.done.iter().any(|c| c.index == chunk.index) {
            return Recorded::Already;
        }
        let mut next = self.clone();
        let at = next.done.partition_point(|c| c.index < chunk.index);
        next.done.insert(at, chunk);
        let complete = next.is_complete();
        Recorded::Write { next: Box::new(next), complete }
    }

    /// Records the audio's segments so far (`finished`: all of them). A report with fewer segments than recorded (an
    /// older or repeated delivery) changes nothing.
    pub fn advance_audio(&self, segments: &[f64], finished: bool) -> Recorded {
        let longer = segments.len() > self.audio_segments.len() || (finished && !self.audio_finished);
        if !self.has_audio || self.audio_finished || !longer || segments.len() < self.audio_segments.len() {
            return Recorded::Already;
        }
        let mut next = self.clone();
        next.audio_segments = segments.to_vec();
        next.audio_finished = finished;
        let complete = next.is_complete();
        Recorded::Write { next: Box::new(next), complete }
    }

    /// Every chunk and the audio are finished.
    pub fn is_complete(&self) -> bool {
        self.done.len() as u32 == self.chunks && (!self.has_audio || self.audio_finished)
    }

    /// Whether chunk `index` is finished.
    pub fn has_chunk(&self, index: u32) -> bool {
        self.done.iter().any(|c| c.index == index)
    }

    /// The video segments of the unbroken run of finished chunks from the first, in order.
    pub fn video_segments(&self) -> Vec<f64> {
        self.done.iter().enumerate().take_while(|(i, c)| c.index == *i as u32).flat_map(|(_, c)| c.segments.iter().copied()).collect()
    }

    /// How many seconds from the start can be watched now: the unbroken run of video, and of sound if there is any.
    pub fn playable_seconds(&self) -> f64 {
        let video: f64 = self.video_segments().iter().sum();
        if !self.has_audio {
            return video;
        }
        let audio: f64 = self.audio_segments.iter().sum();
        // Finished audio covers the whole video, however its last frame rounds.
        if self.audio_finished { video } else { video.min(audio) }
    }

    /// The fraction of the work finished: chunks, with the audio counting as one more.
    pub fn progress(&self) -> f64 {
        let parts = f64::from(self.chunks) + if self.has_audio { 1.0 } else { 0.0 };
        let done = self.done.len() as f64 + if self.has_audio && self.audio_finished { 1.0 } else { 0.0 };
        if parts == 0.0 { 0.0 } else { (done / parts).clamp(0.0, 1.0) }
    }

    /// Per rendition: the average and the peak rate over the whole video, from what the chunks weighed.
    pub fn rates(&self) -> Vec<(u64, u64)> {
        let seconds: f64 = self.done.iter().flat_map(|c| &c.segments).sum();
        (0..self.renditions.len())
            .map(|r| {
                let weights = self.done.iter().filter_map(|c| c.weights.get(r));
                let (bytes, peak) = weights.fold((0u64, 0u64), |(b, p), w| (b + w.bytes, p.max(w.peak_bps)));
                let average = if seconds > 0.0 { (bytes as f64 * 8.0 / seconds).round() as u64 } else { 0 };
                (average, peak)
            })
            .collect()
    }

    /// Whether the first chunk's worker stored a poster.
    pub fn has_poster(&self) -> bool {
        self.done.first().is_some_and(|c| c.index == 0 && c.poster)
    }

    /// The chunks whose storyboard sprites are stored, in order from the first with none missing: each its index and its
    /// segments' durations.
    pub fn storyboard_run(&self) -> Vec<(u32, &[f64])> {
        let mut chunks: Vec<&EncodedChunk> = self.done.iter().collect();
        chunks.sort_by_key(|c| c.index);
        chunks
            .into_iter()
            .enumerate()
            .take_while(|(i, c)| c.index as usize == *i && c.storyboard)
            .map(|(_, c)| (c.index, c.segments.as_slice()))
            .collect()
    }

    /// The video's length as encoded: every chunk's segments.
    pub fn duration(&self) -> f64 {
        self.done.iter().flat_map(|c| &c.segments).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(chunks: u32, has_audio: bool) -> Encoding {
        Encoding {
            chunks,
            renditions: vec!["180p".into(), "480p".into()],
            has_audio,
            width: 1280,
            height: 720,
            done: vec![],
            audio_segments: vec![],
            audio_finished: false,
        }
    }

    fn chunk(index: u32) -> EncodedChunk {
        EncodedChunk {
            index,
            first_segment: index * 2,
            segments: vec![6.0, 6.0],
            weights: vec![Weight { bytes: 1000, peak_bps: 2000 }, Weight { bytes: 3000, peak_bps: 5000 + u64::from(index) }],
            poster: index == 0,
            storyboard: true,
        }
    }

    fn written(r: Recorded) -> (Encoding, bool) {
        match r {
            Recorded::Write { next, complete } => (*next, complete),
            Recorded::Already => panic!("expected a write"),
        }
    }

    #[test]
    fn chunks_finish_in_any_order_once_and_only_the_unbroken_run_plays() {
        let (e, complete) = written(plan(3, false).finish_chunk(chunk(1)));
        assert!(!complete);
        assert_eq!(e.playable_seconds(), 0.0, "nothing plays before the first chunk");
        assert_eq!(e.finish_chunk(chunk(1)), Recorded::Already, "a duplicate writes nothing");
        assert_eq!(e.finish_chunk(chunk(7)), Recorded::Already, "a chunk of no plan writes nothing");
        let (e, _) = written(e.finish_chunk(chunk(0)));
        assert_eq!((e.playable_seconds(), e.video_segments().len()), (24.0, 4));
        assert!((e.progress() - 2.0 / 3.0).abs() < 1e-9);
        let (e, complete) = written(e.finish_chunk(chunk(2)));
        assert!(complete && e.is_complete());
        assert_eq!(e.done.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(e.rates(), [(667, 2000), (2000, 5002)], "3,000 and 9,000 bytes over 36 s; the highest peak");
    }

    #[test]
    fn sound_limits_what_plays_until_it_is_finished() {
        let (e, _) = written(plan(2, true).finish_chunk(chunk(0)));
        assert_eq!(e.playable_seconds(), 0.0, "no sound yet");
        let (e, _) = written(e.advance_audio(&[6.02, 5.98], false));
        assert_eq!(e.playable_seconds(), 12.0);
        assert_eq!(e.advance_audio(&[6.02], false), Recorded::Already, "an older report changes nothing");
        let (e, complete) = written(e.finish_chunk(chunk(1)));
        assert!(!complete, "the audio is not finished");
        let (e, complete) = written(e.advance_audio(&[6.02, 5.98, 6.0, 6.0], true));
        assert!(complete);
        assert_eq!(e.playable_seconds(), 24.0);
        assert_eq!(e.advance_audio(&[6.02, 5.98, 6.0, 6.0], true), Recorded::Already);
        assert_eq!(e.progress(), 1.0);
    }

    #[test]
    fn a_twelve_hour_encode_fits_in_one_dynamodb_item() {
        // 720 chunks of ten segments, four renditions, 7,200 sound segments of uneven length: the most a record holds.
        let mut e = Encoding { chunks: 720, renditions: ["180p", "480p", "720p", "1080p"].map(String::from).to_vec(), ..plan(720, true) };
        for index in 0..720 {
            let weights = vec![Weight { bytes: 37_512_345, peak_bps: 5_123_456 }; 4];
            let chunk = EncodedChunk {
                index,
                first_segment: index * 10,
                segments: vec![6.006_667; 10],
                weights,
                poster: index == 0,
                storyboard: true,
            };
            e = written(e.finish_chunk(chunk)).0;
        }
        e.audio_segments = (0..7200).map(|i| 6.016 - f64::from(i % 3) * 0.011).collect();
        let size = serde_json::to_string(&e).unwrap().len();
        // DynamoDB's limit is 400 KB an item; its own encoding of numbers is no longer than JSON's.
        assert!(size < 300_000, "{size} bytes");
        println!("a 12-hour encode's record: {size} bytes of JSON");
    }

    #[test]
    fn it_round_trips_through_json() {
        let (e, _) = written(plan(2, true).finish_chunk(chunk(1)));
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Encoding>(&text).unwrap(), e);
    }
}
