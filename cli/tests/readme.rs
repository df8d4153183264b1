//! The README's command blocks, run as printed: the curl walk-through, the command-line examples and the local
//! transcode, one after another in one shell, against a dev server on a free port (`PORT`, which the README's commands
//! honour as `make dev` does), from a folder laid out like the checkout a user runs them in. A README that stops
//! working fails the build.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_testkit::real_clip;
use std::path::Path;
use std::process::Command;

/// Every ```sh block of the README but the quick start's (`make dev`, `make test`: the suite itself).
fn readme_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks.retain(|b| !b.contains("make test"));
    blocks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_commands_run_as_printed() {
    let blocks = readme_blocks();
    assert!(blocks.len() >= 4, "the curl walk-through, its follow-up, the CLI and the transcode blocks: {}", blocks.len());
    let home = std::env::temp_dir().join(format!("readme-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&home).unwrap();
    let server = RunningServer::start(DevConfig::for_tests(home.join("state"))).await.unwrap();
    let port = server.url.rsplit(':').next().unwrap().to_owned();

    // The checkout as the user has it after `make dev`: its build, and their own videos.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let target = Path::new(env!("CARGO_BIN_EXE_framelift")).parent().unwrap().parent().unwrap();
    std::fs::create_dir_all(home.join("checkout")).unwrap();
    let checkout = home.join("checkout");
    std::os::unix::fs::symlink(target, checkout.join("target")).unwrap();
    std::os::unix::fs::symlink(repo.join(".tools"), checkout.join(".tools")).unwrap();
    std::fs::copy(real_clip("film-5.1-720p.mp4"), checkout.join("video.mp4")).unwrap();
    std::fs::copy(real_clip("lsmash-1080p.mp4"), checkout.join("day9.mp4")).unwrap();

    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    let mut bash = Command::new("bash");
    bash.arg("-c").arg(&script).current_dir(&checkout).env("PORT", &port).env("XDG_CONFIG_HOME", home.join("config"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("FRAMELIFT_")) {
        bash.env_remove(k);
    }
    let out = tokio::task::spawn_blocking(move || bash.output().unwrap()).await.unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{stdout}\n--- stderr ---\n{stderr}");
    assert!(out.status.success(), "the README's commands failed (exit {:?})", out.status.code());

    let id = stdout.split("\"id\":\"").nth(1).and_then(|s| s.split('"').next()).expect("initialize printed the video").to_owned();
    assert!(stdout.contains("part 1: 200"), "parts are stored");
    assert!(stdout.contains("\"status\":\"processing\""), "complete hands it to the transcoder");
    assert!(stdout.contains("{\"status\":\"ready\",\"failureReason\":null,\"width\":1280,\"height\":720}"), "step 5 sees it ready");
    assert!(stdout.contains(&format!("http://localhost:{port}/api/videos/{id}/hls/master.m3u8?expires=")), "watch gives the HLS URL");
    assert!(stdout.contains(&format!("{{\"id\":\"{id}\",\"title\":\"My video\",\"status\":\"ready\"}}")), "listed");
    assert!(stdout.contains(&format!("{{\"total\":1,\"ids\":[\"{id}\"]}}")), "found with a typo");
    let cli_id = stdout.lines().find(|l| l.len() == id.len() && *l != id).expect("framelift upload printed its id");
    assert!(stdout.lines().any(|l| l.starts_with(cli_id) && l.contains("ready") && l.contains("Day 9")), "list --mine");
    assert!(stdout.contains("\"total\": 1"), "--json search \"day 9\"");
    assert!(stdout.lines().any(|l| l == "out/master.m3u8"), "the local transcode names its playlist as the user wrote it");
    assert!(checkout.join("out/master.m3u8").is_file());
    server.stop().await.unwrap();
    std::fs::remove_dir_all(home).unwrap();
}
