//! The quick start as a user runs it: the dev server's binary started as `make dev` starts it, in a fresh folder with
//! nothing configured, so its state lands in the relative default `.framelift`; a real clip uploaded through the API
//! becomes `ready`. Then the same with every folder given as a relative path, and a busy port.

mod support;

use framelift_testkit::{free_port, wait_until_listening};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{token, upload, wait_settled};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `./target/debug/framelift-devserver` as `make dev` runs it: in `cwd`, with the user's environment less anything
/// Framelift reads, plus `vars`.
fn start(cwd: &Path, port: u16, vars: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_framelift-devserver"));
    cmd.current_dir(cwd).env("PORT", port.to_string()).env("RUST_LOG", "warn").stdout(Stdio::null());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("FRAMELIFT_")) {
        cmd.env_remove(k);
    }
    cmd.envs(vars.iter().copied());
    let server = Server(cmd.spawn().expect("the dev server starts"));
    wait_until_listening(port, Duration::from_secs(20), "the dev server", "");
    server
}

fn fresh(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("quickstart-{name}-{}-{}", std::process::id(), free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Uploads a real clip through the API at `localhost:port` (as the README's URLs say) and waits for it.
async fn upload_and_wait(port: u16, clip: &Path) -> serde_json::Value {
    let base = format!("http://localhost:{port}");
    let http = reqwest::Client::new();
    let token = token(&http, &base).await;
    let id = upload(&http, &base, &token, clip).await;
    wait_settled(&http, &base, &token, &id, Duration::from_secs(120)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_dev_with_its_defaults_takes_an_upload_to_ready() {
    let home = fresh("defaults");
    let port = free_port();
    let _server = start(&home, port, &[]);
    let video = upload_and_wait(port, &framelift_testkit::real_clip("film-5.1-720p.mp4")).await;
    assert_eq!(video["status"], "ready", "{video}");
    assert_eq!(video["renditions"].as_array().unwrap().len(), 3, "{video}");
    assert!(home.join(".framelift/metadata.sqlite3").is_file(), "the state is in the relative default, in the folder it was started in");
    assert!(home.join(".framelift/s3").is_dir());
    // The page is served too, found beside the binary's checkout.
    let page = reqwest::get(format!("http://localhost:{port}/")).await.unwrap().text().await.unwrap();
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist/index.html").is_file();
    let want = if built { "<title>Framelift</title>" } else { "npm" };
    assert!(page.contains(want), "the built page ({built}) was not served: {page}");
    drop(_server);
    std::fs::remove_dir_all(home).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_folder_may_be_relative() {
    let home = fresh("relative");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // Tools and page through relative paths too: `tools` links to the checkout's bundled ffmpeg folder.
    std::os::unix::fs::symlink(repo.join(".tools/ffmpeg").join(std::env::consts::ARCH), home.join("tools")).unwrap();
    std::fs::create_dir_all(home.join("run")).unwrap();
    let port = free_port();
    let vars = [("FRAMELIFT_DATA", "../state/./here"), ("FRAMELIFT_FFMPEG_DIR", "../tools"), ("FRAMELIFT_WEB_DIR", "../no-page")];
    let server = start(&home.join("run"), port, &vars);
    let video = upload_and_wait(port, &framelift_testkit::real_clip("bikes-640x272.mp4")).await;
    assert_eq!(video["status"], "ready", "{video}");
    assert!(home.join("state/here/metadata.sqlite3").is_file());
    let page = reqwest::get(format!("http://localhost:{port}/")).await.unwrap().text().await.unwrap();
    assert!(page.contains("npm"), "no page built there: the page says how to build it: {page}");

    // A second server on the same port says which port and what to do.
    let busy = Command::new(env!("CARGO_BIN_EXE_framelift-devserver"))
        .current_dir(&home)
        .env("PORT", port.to_string())
        .env("FRAMELIFT_DATA", "other")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(!busy.status.success());
    assert!(err.starts_with("framelift-devserver: port ") && err.contains(&format!("port {port}")) && err.contains("PORT="), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line, no backtrace: {err}");
    drop(server);
    std::fs::remove_dir_all(home).unwrap();
}
