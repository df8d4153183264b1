//! Whose fault, by cause: each fault of ours is made to happen for real (a missing source, a full disk, an ffmpeg
//! that cannot start, an ffmpeg that dies), and none of them may be blamed on the file. The pipeline says it is ours
//! ([`TranscodeError::Failed`]) with the true cause; the transcode function asks for a retry and leaves the video
//! `processing`, never `failed: not a video file`.

use framelift_media::{Options, Tools, TranscodeError, transcode};
use framelift_testkit::test_clip;
use framelift_tests::media::abs;
use framelift_tests::{SmallDisk, temp_dir};

/// The whole error, as the log and the CLI print it.
fn ours(result: Result<framelift_media::Output, TranscodeError>) -> String {
    match result {
        Err(TranscodeError::Failed(e)) => format!("{e:#}"),
        other => panic!("expected a fault of ours, got {other:?}"),
    }
}

/// A folder with an `ffmpeg` that is the shell script `body`.
fn fake_ffmpeg(body: &str) -> (std::path::PathBuf, Tools) {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("fake-ffmpeg");
    let path = dir.join("ffmpeg");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tools = Tools::in_dir(&dir).unwrap();
    (dir, tools)
}

#[tokio::test]
async fn a_missing_or_unreadable_source_is_ours() {
    let tools = Tools::locate().unwrap();
    let dir = temp_dir("faults");
    let missing = ours(transcode(&tools, &abs(&dir.join("source")), &abs(&dir.join("out")), &Options::default()).await);
    assert!(missing.contains("cannot be read") && missing.contains("No such file or directory"), "{missing}");
    std::fs::create_dir(dir.join("folder")).unwrap();
    let folder = ours(transcode(&tools, &abs(&dir.join("folder")), &abs(&dir.join("out")), &Options::default()).await);
    assert!(folder.contains("is not a file"), "{folder}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_ffmpeg_that_cannot_start_or_dies_is_ours() {
    let dir = temp_dir("faults");
    let input = dir.join("source");
    std::fs::copy(test_clip("one-second.mp4"), &input).unwrap();
    let out = abs(&dir.join("out"));

    let absent = Tools::in_dir(&dir.join("no-such-folder")).unwrap();
    let e = ours(transcode(&absent, &abs(&input), &out, &Options::default()).await);
    assert!(e.contains("could not start") && e.contains("No such file or directory"), "{e}");

    let (fake, not_executable) = fake_ffmpeg("exit 0");
    std::fs::set_permissions(fake.join("ffmpeg"), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let e = ours(transcode(&not_executable, &abs(&input), &out, &Options::default()).await);
    assert!(e.contains("could not start") && e.contains("Permission denied"), "{e}");

    // Killed before it said anything (the kernel's OOM killer, an operator): nothing was judged.
    let (fake_dead, dies) = fake_ffmpeg("kill -9 $$");
    let e = ours(transcode(&dies, &abs(&input), &out, &Options::default()).await);
    assert!(e.contains("ffmpeg could not read the source"), "{e}");

    // Probes like the real one, then dies mid-encode by a signal.
    let real = Tools::locate().unwrap();
    let (fake_mid, dies_mid) =
        fake_ffmpeg(&format!("case \"$*\" in *filter_complex*) kill -9 $$ ;; *) exec '{}' \"$@\" ;; esac", real.ffmpeg));
    let e = ours(transcode(&dies_mid, &abs(&input), &out, &Options::default()).await);
    assert!(e.contains("killed by signal 9"), "{e}");
    for d in [fake, fake_dead, fake_mid, dir] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[tokio::test]
async fn a_full_disk_is_ours() {
    let Some(disk) = SmallDisk::mount(400 * 1024) else { return };
    let tools = Tools::locate().unwrap();
    // The source fits; its renditions do not.
    let input = disk.path.join("source");
    std::fs::copy(test_clip("one-second.mp4"), &input).unwrap();
    let e = ours(transcode(&tools, &abs(&input), &abs(&disk.path.join("out")), &Options::default()).await);
    assert!(e.contains("full") || e.contains("No space left on device"), "{e}");
    println!("a full disk: {e}");
}
