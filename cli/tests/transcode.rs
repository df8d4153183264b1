//! `framelift transcode` as the README prints it: relative paths from the folder a user is in, errors with their true
//! cause and a non-zero exit, and Ctrl-C leaving no copy of the source behind.

use framelift_testkit::{real_clip, test_clip};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn framelift(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_framelift"));
    c.current_dir(cwd).args(args).env("TMPDIR", cwd.join("tmp"));
    std::fs::create_dir_all(cwd.join("tmp")).unwrap();
    c
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    framelift(cwd, args).output().expect("the binary runs")
}

fn fresh(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cli-transcode-{name}-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn relative_paths_from_any_folder() {
    let home = fresh("relative");
    std::fs::copy(real_clip("bikes-640x272.mp4"), home.join("video.mp4")).unwrap();
    // The README's command, exactly, in the folder holding the video.
    let out = run(&home, &["transcode", "video.mp4", "out/"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("180p  424x180") && stdout.contains("272p  640x272"), "{stdout}");
    assert!(home.join("out/master.m3u8").is_file());
    // From a folder below, with `..` in both paths.
    std::fs::create_dir_all(home.join("sub")).unwrap();
    let out = run(&home.join("sub"), &["transcode", "../video.mp4", "../out2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(home.join("out2/master.m3u8").is_file());
    // Nothing of the work is left beside the output or in the temporary folder.
    let hidden: Vec<_> =
        std::fs::read_dir(home.join("out")).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with('.')).collect();
    assert!(hidden.iter().all(|e| e.metadata().unwrap().len() < 100_000), "{hidden:?}");
    assert_eq!(std::fs::read_dir(home.join("tmp")).unwrap().count(), 0, "the work folder is removed");
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn errors_name_their_true_cause() {
    let home = fresh("errors");
    let missing = run(&home, &["transcode", "nowhere.mp4", "out"]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(err.contains("nowhere.mp4") && err.contains("No such file or directory"), "{err}");
    assert!(!err.contains("not a video"), "{err}");

    std::fs::copy(test_clip("not-a-video.mp4"), home.join("notes.mp4")).unwrap();
    let bad = run(&home, &["transcode", "notes.mp4", "out"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(err.contains("cannot be transcoded: not a video file"), "the file's fault, said as such: {err}");

    // An ffmpeg that is not there (a wrong FRAMELIFT_FFMPEG_DIR that still holds a non-executable file).
    std::fs::create_dir_all(home.join("tools")).unwrap();
    std::fs::write(home.join("tools/ffmpeg"), "not a program").unwrap();
    std::fs::copy(test_clip("one-second.mp4"), home.join("clip.mp4")).unwrap();
    let broken = framelift(&home, &["transcode", "clip.mp4", "out"]).env("FRAMELIFT_FFMPEG_DIR", "tools").output().unwrap();
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(!broken.status.success());
    assert!(err.contains("not because of the file") && err.contains("could not start"), "{err}");
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn ctrl_c_during_a_transcode_leaves_no_copy_of_the_source() {
    let home = fresh("interrupt");
    std::fs::copy(test_clip("landscape-1080p.mp4"), home.join("video.mp4")).unwrap();
    let child = framelift(&home, &["transcode", "video.mp4", "out"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted once encoding has begun (the first segment exists).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !home.join("out/1080p/seg_0000.ts").exists() {
        assert!(Instant::now() < deadline, "encoding never began");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill with a pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("unfinished ladder") && !err.contains("upload"), "{err}");
    let size = std::fs::metadata(home.join("video.mp4")).unwrap().len();
    let big: Vec<_> = walk(&home.join("out")).into_iter().filter(|(_, len)| *len >= size).collect();
    assert!(big.is_empty(), "a copy of the source was left: {big:?}");
    assert_eq!(std::fs::read_dir(home.join("tmp")).unwrap().count(), 0, "the work folder is removed");
    std::fs::remove_dir_all(home).unwrap();
}

fn walk(dir: &Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push((p.clone(), e.metadata().unwrap().len()));
        }
    }
    files
}
