//! Hostile files: playlists and concat scripts disguised as uploads, aimed at a local canary file and a loopback
//! listener; empty and plain-text files; headers claiming enormous pictures; floods of tiny frames. Each is refused
//! with a reason inside its time and memory budget; no canary byte reaches any output, and the listener is never
//! contacted.

use framelift_media::{Options, Tools, TranscodeError, transcode};
use framelift_testkit::test_clip;
use framelift_tests::media::abs;
use framelift_tests::temp_dir;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CANARY: &str = "CANARY-7f3c9a1e-framelift-secret";

/// A listener on loopback that counts connections.
fn listener() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            if l.accept().is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (port, hits)
}

fn contains_canary(dir: &Path) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).unwrap().windows(CANARY.len()).any(|w| w == CANARY.as_bytes()) {
                return true;
            }
        }
    }
    false
}

/// Everything logged on this thread, at every level, kept for inspection.
#[derive(Clone, Default)]
struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn disguised_playlists_and_scripts_are_refused_and_reach_nothing() {
    // The test's runtime is this thread: every log line of the runs below lands here.
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_ansi(false).with_writer(move || writer.clone()).finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let tools = Tools::locate().unwrap();
    let (port, hits) = listener();
    let bait = temp_dir("bait");
    let canary_txt = bait.join("canary.txt");
    std::fs::write(&canary_txt, CANARY.repeat(100)).unwrap();
    // A real, decodable video outside the work folder: if any of these were followed, it would transcode fine.
    let canary_video = bait.join("canary.mp4");
    std::fs::copy(test_clip("one-second.mp4"), &canary_video).unwrap();
    let url = format!("http://127.0.0.1:{port}/segment.ts");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "hls playlist to a local file",
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{}\n#EXT-X-ENDLIST\n", canary_video.display()).into_bytes(),
        ),
        (
            "hls playlist to a text canary",
            format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{}\n#EXT-X-ENDLIST\n", canary_txt.display()).into_bytes(),
        ),
        ("hls playlist to the listener", format!("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{url}\n#EXT-X-ENDLIST\n").into_bytes()),
        ("concat script", format!("ffconcat version 1.0\nfile '{}'\nfile '{url}'\n", canary_video.display()).into_bytes()),
        ("concat protocol name", format!("concat:{}|{}", canary_video.display(), canary_txt.display()).into_bytes()),
        ("empty file", Vec::new()),
        ("plain text", b"hello, this is not a video\n".repeat(100)),
    ];
    for (name, bytes) in cases {
        let dir = temp_dir("hostile");
        let input = dir.join("source");
        std::fs::write(&input, &bytes).unwrap();
        let out = dir.join("out");
        let result = transcode(&tools, &abs(&input), &abs(&out), &Options::default()).await;
        match &result {
            Err(TranscodeError::Rejected(reason)) => {
                assert!(reason.starts_with("not a video file") || reason.starts_with("no video stream"), "{name}: {reason}");
                assert!(!reason.contains(CANARY), "{name}");
            }
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        assert!(!contains_canary(&dir), "{name}: canary bytes in the output");
        assert!(!out.join("master.m3u8").exists(), "{name}: something was transcoded");
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the loopback listener was contacted");
    let logged = log.0.lock().unwrap().clone();
    assert!(logged.len() > 1_000, "ffmpeg's reports were logged: {} bytes", logged.len());
    assert!(!logged.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "canary bytes in the log");
    println!("7 disguised files refused; 0 canary bytes in outputs, reasons or {} bytes of log; 0 listener hits", logged.len());
    std::fs::remove_dir_all(bait).unwrap();
}

/// Runs the bundled ffmpeg to make a test file; panics with its complaint if it cannot.
fn make(tools: &Tools, args: &[&str], stdout_to: Option<&Path>) {
    let mut cmd = std::process::Command::new(&tools.ffmpeg);
    cmd.args(["-hide_banner", "-loglevel", "error", "-y"]).args(args);
    if let Some(path) = stdout_to {
        cmd.stdout(std::fs::File::create(path).unwrap());
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "making a test file: {}", String::from_utf8_lossy(&out.stderr));
}

/// A one-frame MJPEG AVI whose headers (the AVI's two and the JPEG's own) claim `side` x `side` pixels.
fn enormous_picture(tools: &Tools, dir: &Path, side: u32) -> Vec<u8> {
    let small = dir.join("small.avi");
    make(tools, &["-f", "lavfi", "-i", "color=red:s=64x64", "-frames:v", "1", "-c:v", "mjpeg", small.to_str().unwrap()], None);
    let mut d = std::fs::read(&small).unwrap();
    let find = |d: &[u8], what: &[u8]| d.windows(what.len()).position(|w| w == what).expect("an AVI as ffmpeg writes it");
    let sof = find(&d, &[0xff, 0xc0]); // JPEG start of frame: length, precision, height, width (big-endian)
    let side16 = u16::try_from(side).unwrap().to_be_bytes();
    d[sof + 5..sof + 7].copy_from_slice(&side16);
    d[sof + 7..sof + 9].copy_from_slice(&side16);
    let avih = find(&d, b"avih") + 8; // main header: dwWidth, dwHeight at 32 and 36
    d[avih + 32..avih + 36].copy_from_slice(&side.to_le_bytes());
    d[avih + 36..avih + 40].copy_from_slice(&side.to_le_bytes());
    let strf = find(&d, b"strf") + 8; // BITMAPINFOHEADER: biWidth, biHeight at 4 and 8
    d[strf + 4..strf + 8].copy_from_slice(&side.to_le_bytes());
    d[strf + 8..strf + 12].copy_from_slice(&side.to_le_bytes());
    d
}

/// The largest resident set any child process of this test binary reached, in MiB.
fn children_peak_rss_mib() -> f64 {
    // SAFETY: getrusage writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

#[tokio::test]
async fn enormous_pictures_and_floods_of_tiny_frames_fail_inside_their_budgets() {
    let tools = Tools::locate().unwrap();
    let work = temp_dir("floods");
    let w = |name: &str| work.join(name).to_str().unwrap().to_owned();
    // Ten seconds of 16x16 frames, looped by copying packets into the long files below (no re-encoding).
    make(
        &tools,
        &[
            "-f",
            "lavfi",
            "-i",
            "color=blue:s=16x16:r=10",
            "-t",
            "10",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "100",
            &w("tiny.ts"),
        ],
        None,
    );
    make(
        &tools,
        &["-f", "lavfi", "-i", "color=blue:s=16x16:r=1000", "-t", "60", "-c:v", "libx264", "-preset", "ultrafast", &w("fast.mp4")],
        None,
    );
    make(&tools, &["-stream_loop", "4680", "-i", &w("tiny.ts"), "-c", "copy", &w("thirteen-hours.mkv")], None);
    // Written to a pipe, Matroska cannot go back to record the length: a stream of unknown duration.
    make(&tools, &["-stream_loop", "2160", "-i", &w("tiny.ts"), "-c", "copy", "-f", "matroska", "-"], Some(&work.join("unstated.mkv")));

    let probe_budget = Duration::from_secs(60);
    let tight = Options { min_wall: Duration::from_secs(3), ..Options::default() };
    let cases: Vec<(&str, Vec<u8>, Options, &str, Duration)> = vec![
        (
            "16000x16000 claimed",
            enormous_picture(&tools, &work, 16_000),
            Options::default(),
            "the video's dimensions (16000x16000) are not supported",
            probe_budget,
        ),
        (
            "60000x60000 claimed",
            enormous_picture(&tools, &work, 60_000),
            Options::default(),
            "not a video file: its picture size could not be read",
            probe_budget,
        ),
        (
            "60,000 tiny frames at 1000 fps",
            std::fs::read(work.join("fast.mp4")).unwrap(),
            Options::default(),
            "the video's frame rate (1000 fps) is above the highest accepted, 240 fps",
            probe_budget,
        ),
        (
            "13 hours of tiny frames",
            std::fs::read(work.join("thirteen-hours.mkv")).unwrap(),
            Options::default(),
            "the video is 13:00:10 long; the longest accepted is 12:00:00",
            probe_budget,
        ),
        (
            "six hours of tiny frames, length unstated, 3 s allowed",
            std::fs::read(work.join("unstated.mkv")).unwrap(),
            tight.clone(),
            "processing took longer than 3 s",
            tight.min_wall,
        ),
    ];
    for (name, bytes, opts, reason, budget) in cases {
        let dir = temp_dir("hostile");
        let input = dir.join("source");
        std::fs::write(&input, &bytes).unwrap();
        let started = Instant::now();
        let result = transcode(&tools, &abs(&input), &abs(&dir.join("out")), &opts).await;
        let took = started.elapsed();
        match &result {
            Err(TranscodeError::Rejected(r)) => assert!(r.starts_with(reason), "{name}: {r}"),
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
        // The sandbox kills at the budget; a little over it is the kill and the clean-up.
        assert!(took < budget + Duration::from_secs(5), "{name}: took {took:?}, budget {budget:?}");
        println!("{name} ({} bytes): failed in {:.2} s (budget {} s): {}", bytes.len(), took.as_secs_f64(), budget.as_secs(), reason);
        assert!(!dir.join("out/master.m3u8").exists(), "{name}: something was published");
        std::fs::remove_dir_all(dir).unwrap();
    }
    let peak = children_peak_rss_mib();
    let limit = Options::default().memory_bytes as f64 / (1024.0 * 1024.0);
    println!("largest ffmpeg resident set in this test binary: {peak:.0} MiB (address-space limit {limit:.0} MiB)");
    assert!(peak < limit, "an ffmpeg run grew past its memory budget");
    std::fs::remove_dir_all(work).unwrap();
}
