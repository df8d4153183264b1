//! A source read where it lies (issue 27): probed and encoded chunk by chunk from an address with range requests, as a
//! worker reads a presigned GET, against a file server on loopback that records what it sends. A chunk reads little
//! more than its own stretch. A hostile file behind the address reaches nothing but that address.

use bytes::Bytes;
use framelift_media::chunks::{self, Chunk};
use framelift_media::ladder::ladder;
use framelift_media::probe::probe;
use framelift_media::sandbox::Limits;
use framelift_media::{Input, SourceUrl, TranscodeError};
use framelift_tests::clips::TestPattern;
use framelift_tests::media::{abs, tools};
use framelift_tests::temp_dir;
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PATH: &str = "/uploads/source";

/// Serves one file at [`PATH`] (any query) with range requests, as S3 does a presigned GET; 404 for anything else. It
/// records every request's target and where its range starts, and counts the bytes it has handed to the connection
/// (which runs ahead of what the client reads by as much as the client's socket buffers).
struct FileServer {
    url: String,
    targets: Arc<Mutex<Vec<(String, u64)>>>,
    sent: Arc<AtomicU64>,
}

impl FileServer {
    async fn start(file: Bytes) -> Self {
        // A small send buffer, so what is counted as sent is close to what the client has read.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(64 << 10).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(16).unwrap();
        let url = format!("http://{}{PATH}?X-Amz-Signature=0123abcd", listener.local_addr().unwrap());
        let (targets, sent) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicU64::new(0)));
        let (log, count) = (targets.clone(), sent.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, count, file) = (log.clone(), count.clone(), file.clone());
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (log, count, file) = (log.clone(), count.clone(), file.clone());
                    async move { Ok::<_, Infallible>(answer(&req, &file, &log, &count)) }
                });
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, targets, sent }
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn answer(
    req: &hyper::Request<hyper::body::Incoming>,
    file: &Bytes,
    log: &Mutex<Vec<(String, u64)>>,
    sent: &Arc<AtomicU64>,
) -> hyper::Response<Body> {
    use http_body_util::BodyExt;
    if req.uri().path() != PATH {
        log.lock().unwrap().push((req.uri().to_string(), 0));
        let mut res = hyper::Response::new(Full::new(Bytes::new()).boxed());
        *res.status_mut() = hyper::StatusCode::NOT_FOUND;
        return res;
    }
    let len = file.len() as u64;
    let range = req.headers().get("range").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("bytes=")).and_then(|v| {
        let (a, b) = v.split_once('-')?;
        let start: u64 = a.parse().ok()?;
        let end: u64 = if b.is_empty() { len - 1 } else { b.parse::<u64>().ok()?.min(len - 1) };
        (start <= end).then_some((start, end))
    });
    let (start, end) = range.unwrap_or((0, len - 1));
    log.lock().unwrap().push((req.uri().to_string(), start));
    let body = file.slice(start as usize..=end as usize);
    // Handed over 64 KiB at a time, each counted when the connection asks for it.
    let sent = sent.clone();
    let pieces: Vec<Bytes> = body.chunks(64 << 10).map(|c| body.slice_ref(c)).collect();
    let stream = futures::stream::iter(pieces).map(move |piece| {
        sent.fetch_add(piece.len() as u64, Ordering::SeqCst);
        Ok::<_, Infallible>(Frame::data(piece))
    });
    let mut res = hyper::Response::new(BodyExt::boxed(StreamBody::new(stream)));
    let headers = res.headers_mut();
    headers.insert("accept-ranges", "bytes".parse().unwrap());
    headers.insert("content-length", (end - start + 1).to_string().parse().unwrap());
    headers.insert("content-type", "binary/octet-stream".parse().unwrap());
    if range.is_some() {
        headers.insert("content-range", format!("bytes {start}-{end}/{len}").parse().unwrap());
        *res.status_mut() = hyper::StatusCode::PARTIAL_CONTENT;
    }
    res
}

use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_is_encoded_from_an_address_reading_little_more_than_its_range() {
    let tools = tools();
    let dir = temp_dir("source-url");
    let file = dir.join("source");
    // As a camera writes it: the index (`moov`) after the media; keyframes every 10 s.
    TestPattern::new(640, 360, 25, 60.0).keyframes_every(250).write(&tools.ffmpeg, &file);
    let bytes = Bytes::from(std::fs::read(&file).unwrap());
    let server = FileServer::start(bytes.clone()).await;
    let input = Input::Url(SourceUrl::parse(&server.url).unwrap());
    let work = abs(&dir.join("work"));
    std::fs::create_dir_all(&work).unwrap();

    let from_file = probe(&tools, &Input::File(abs(&file)), &work).await.unwrap();
    let from_url = probe(&tools, &input, &work).await.unwrap();
    assert_eq!(from_url, from_file, "the address shows the same video as the file");
    let probing = server.sent.swap(0, Ordering::SeqCst);
    server.targets.lock().unwrap().clear();

    // The third of five 12 s chunks.
    let rungs = ladder(&from_url, None);
    let chunk = chunks::plan(from_url.duration, 2)[2];
    assert_eq!(chunk, Chunk { index: 2, first_segment: 4, start: 24.0, length: Some(12.0) });
    let limits = Limits { wall: Duration::from_secs(300), memory_bytes: 3 << 30 };
    let made = chunks::encode_chunk(&tools.ffmpeg, &input, &from_url, &rungs, &chunk, &work, limits).await.unwrap();
    for segments in &made {
        assert_eq!(segments.iter().map(|s| s.number).collect::<Vec<_>>(), [4, 5]);
    }
    // Where each request started, as a share of the file: the boxes at the start, the index at the end, then the
    // chunk's own stretch from the keyframe before it, and nothing else before it.
    let len = bytes.len() as f64;
    let starts: Vec<f64> = server
        .targets
        .lock()
        .unwrap()
        .iter()
        .map(|(t, start)| {
            assert!(t.starts_with(PATH), "{t}");
            *start as f64 / len
        })
        .collect();
    println!(
        "probing was handed {probing} bytes, the chunk {} of {} bytes; the chunk's requests started at {:?} of the file",
        server.sent.load(Ordering::SeqCst),
        bytes.len(),
        starts.iter().map(|s| format!("{:.0}%", s * 100.0)).collect::<Vec<_>>()
    );
    assert!(starts.iter().any(|s| (0.3..0.45).contains(s)), "no request went to the chunk's stretch: {starts:?}");
    // The keyframe before 24 s is at 20 s (keyframes 10 s apart): a third of the way in.
    assert!(starts.iter().all(|s| *s < 0.001 || *s >= 0.3), "something before the chunk was read: {starts:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_hostile_file_behind_an_address_reaches_nothing_else() {
    let tools = tools();
    let bait = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    bait.set_nonblocking(true).unwrap();
    let bait_url = format!("http://{}/segment.ts", bait.local_addr().unwrap());
    for (name, body) in [
        ("hls playlist to another address", format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{bait_url}\n#EXT-X-ENDLIST\n")),
        ("hls playlist to the same server", "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n/elsewhere.ts\n#EXT-X-ENDLIST\n".to_owned()),
        ("concat script", format!("ffconcat version 1.0\nfile '{bait_url}'\n")),
    ] {
        let server = FileServer::start(Bytes::from(body)).await;
        let dir = temp_dir("hostile-url");
        let work = abs(&dir);
        let result = probe(&tools, &Input::Url(SourceUrl::parse(&server.url).unwrap()), &work).await;
        assert!(matches!(&result, Err(TranscodeError::Rejected(r)) if r.starts_with("not a video file")), "{name}: {result:?}");
        let targets = server.targets.lock().unwrap().clone();
        assert!(targets.iter().all(|(t, _)| t.starts_with(PATH)), "{name}: {targets:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(bait.accept().is_err(), "the other address was contacted");
}
