//! The `framelift` binary against the dev server on port 0: log in, upload a shared clip, interrupt it with Ctrl-C
//! (SIGINT) after one part, resume it, wait for ready, find it by search with a typo, watch, delete; errors as one line
//! with a non-zero exit.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::config::UploadConfig;
use framelift_testkit::test_clip;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Cli {
    api: String,
    config: PathBuf,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_framelift"));
        c.args(["--api", &self.api])
            .args(args)
            .env("XDG_CONFIG_HOME", &self.config)
            .env_remove("FRAMELIFT_TOKEN")
            .env_remove("FRAMELIFT_API");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("the binary runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "framelift {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

fn token(config: &Path) -> String {
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(config.join("framelift/config.json")).unwrap()).unwrap();
    saved["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_interrupt_resume_search_watch_delete() {
    let dir = std::env::temp_dir().join(format!("cli-e2e-{}", ulid::Ulid::new()));
    let upload = UploadConfig { part_size: 5 * 1024 * 1024, ..UploadConfig::default() };
    let server = RunningServer::start(DevConfig { upload, ..DevConfig::for_tests(dir.join("data")) }).await.unwrap();
    let cli = Cli { api: server.url.clone(), config: dir.join("config") };

    // Before login: the command says to sign in, not what the API wanted in a header.
    let before = cli.run(&["upload", test_clip("one-second.mp4").to_str().unwrap(), "--title", "Too early"]);
    let message = String::from_utf8_lossy(&before.stderr);
    assert!(!before.status.success());
    assert!(message.contains("not signed in: run `framelift login --name NAME`") && !message.contains("Authorization"), "{message}");

    // Login: a dev token, saved readable by the owner alone.
    cli.ok(&["login", "--name", "Keerti"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(cli.config.join("framelift/config.json")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the token file is private");

    // A token pasted on standard input is saved as given.
    let mut paste = cli.command(&["login", "--token-file", "-"]).stdin(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    std::io::Write::write_all(paste.stdin.as_mut().unwrap(), b"pasted.token.value\n").unwrap();
    drop(paste.stdin.take());
    assert!(paste.wait().unwrap().success());
    assert_eq!(token(&cli.config), "pasted.token.value");
    cli.ok(&["login", "--name", "Keerti"]);

    // Upload one part, then Ctrl-C while the second waits.
    let clip = test_clip("landscape-1080p.mp4"); // 9.1 MB: 2 parts of 5 MiB
    let args = ["upload", clip.to_str().unwrap(), "--title", "Harbour at dawn", "--parallel", "1"];
    let child =
        cli.command(&args).env("FRAMELIFT_TEST_PART_DELAY_MS", "1500").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let http = reqwest::Client::new();
    let uploads = cli.config.join("framelift/uploads");
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        assert!(Instant::now() < deadline, "the first part never arrived");
        let pending = std::fs::read_dir(&uploads).ok().and_then(|mut d| d.next()).map(|e| e.unwrap().path());
        if let Some(p) = pending {
            let id =
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).unwrap()).unwrap()["video_id"].as_str().unwrap().to_owned();
            let parts: serde_json::Value = http
                .get(format!("{}/api/uploads/{id}/parts", server.url))
                .bearer_auth(token(&cli.config))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if parts["parts"].as_array().is_some_and(|p| p.len() == 1) {
                break id;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let interrupted = child.wait_with_output().unwrap();
    assert_eq!(interrupted.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&interrupted.stderr).contains("resumes when the same command is run again"));

    // The same command resumes: only the missing part is sent, then it waits for ready.
    let mut wait_args = args.to_vec();
    wait_args.push("--wait");
    let out = cli.run(&wait_args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
    assert!(stderr.contains(&format!("resuming video {id}: storage holds 1 of 2 parts")), "{stderr}");
    assert!(stderr.contains("ready"), "{stderr}");

    // Read commands, with summaries and --json.
    assert!(cli.ok(&["search", "harbuor"]).contains(&id), "found with a typo");
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["--json", "search", "keetri"])).unwrap();
    assert_eq!(json["videos"][0]["id"], id.as_str());
    assert!(cli.ok(&["list", "--mine"]).contains(&id));
    // show: every field, a field a line.
    let shown = cli.ok(&["show", &id]);
    for field in [
        "ready",
        "Harbour at dawn",
        "duration     0:00:10",
        "size         1920x1080",
        "renditions   320x180",
        "watch        framelift watch",
    ] {
        assert!(shown.contains(field), "{field}: {shown}");
    }
    let hls = cli.ok(&["watch", &id]);
    assert!(hls.trim().starts_with(&format!("{}/api/videos/{id}/hls/master.m3u8?", server.url)), "{hls}");

    // Edit: renamed and unlisted, it leaves the catalogue and search but is still the owner's and watchable.
    let edited = cli.ok(&["edit", &id, "--title", "Harbour at dusk", "--visibility", "unlisted"]);
    assert!(edited.contains("Harbour at dusk") && edited.contains("visibility   unlisted"), "{edited}");
    assert!(!cli.ok(&["list"]).contains(&id), "an unlisted video is not in the catalogue");
    assert!(cli.ok(&["list", "--mine"]).contains(&id));
    let bad = cli.run(&["edit", &id, "--visibility", "secret"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("visibility 'secret' is not one of"));

    // Delete, then every error is one line with the API's message and a non-zero exit.
    cli.ok(&["delete", &id]);
    let gone = cli.run(&["show", &id]);
    let message = String::from_utf8_lossy(&gone.stderr);
    assert!(!gone.status.success());
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains("(HTTP 404)") && message.starts_with("framelift: "), "{message}");
    // A token the server refuses says to sign in again.
    let refused = cli.command(&["delete", &id]).env("FRAMELIFT_TOKEN", "not.a.token").output().unwrap();
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && message.contains("sign in again with `framelift login`"), "{message}");
    let unreachable = Cli { api: "http://127.0.0.1:9".into(), config: cli.config.clone() }.run(&["list"]);
    assert!(!unreachable.status.success());
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach http://127.0.0.1:9"));

    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
