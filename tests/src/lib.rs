//! Support for the tests that run against real servers on loopback: `moto_server` (S3 and DynamoDB wire protocols),
//! the dev server with its in-process S3, and the contract suites every adapter of a port must pass.

pub mod api;
pub mod blob_contract;
pub mod clips;
pub mod media;
pub mod metadata_contract;
pub mod recorder;
pub mod search_contract;
pub mod staging;

pub use framelift_testkit::{free_port, wait_until_listening};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The endpoint of a `moto_server` shared by the tests of this process, started on first use. A watchdog shell stops
/// it when this process ends, however it ends.
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(url) = std::env::var("FRAMELIFT_MOTO_URL") {
            return url;
        }
        let port = free_port();
        let python = std::env::var("FRAMELIFT_PYTHON").unwrap_or_else(|_| "python3".into());
        let wrapper = concat!(env!("CARGO_MANIFEST_DIR"), "/support/moto_server.py");
        let script = format!(
            "'{python}' '{wrapper}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
             while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $m",
            parent = std::process::id()
        );
        let mut watchdog = Command::new("sh").arg("-c").arg(script).stdin(Stdio::null()).spawn().expect("sh starts");
        std::thread::spawn(move || watchdog.wait());
        wait_until_listening(port, Duration::from_secs(30), "moto_server", ": is `moto[server]` installed? (`make test` installs it)");
        format!("http://127.0.0.1:{port}")
    })
}

/// A name no other test uses, for tables and buckets on a shared server.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// SDK configuration for moto (any credentials do).
pub fn moto_sdk() -> aws_config::SdkConfig {
    framelift_aws::static_sdk_config("testing", "testing")
}

/// The CPU time (user and system) a resource usage from `getrusage` or `wait4` counts.
pub fn cpu_time(usage: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// What `getrusage` reports for `who`: `libc::RUSAGE_SELF`, or `libc::RUSAGE_CHILDREN` (the children reaped so far).
pub fn rusage(who: libc::c_int) -> libc::rusage {
    // SAFETY: getrusage writes into the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    }
}

/// The CPU time and the largest peak memory (KiB) of the children reaped so far (ffmpeg's runs).
pub fn children() -> (Duration, u64) {
    let usage = rusage(libc::RUSAGE_CHILDREN);
    (cpu_time(&usage), usage.ru_maxrss as u64)
}

/// A fresh, empty state folder under the system temp dir.
pub fn temp_dir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique_name(prefix));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Waits (up to 120 s) until the video is `ready` or `failed` on a running local stack, and returns its record.
pub async fn wait_until_settled(
    server: &framelift_devserver::RunningServer,
    id: &framelift_shared::domain::VideoId,
) -> framelift_shared::domain::VideoRecord {
    use framelift_shared::domain::VideoStatus;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = server.stack.state().meta.get(id).await.unwrap().expect("the record exists");
        if matches!(r.status, VideoStatus::Ready | VideoStatus::Failed) {
            return r;
        }
        assert!(Instant::now() < deadline, "still {:?} after 120 s", r.status);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A file system of `bytes` (tmpfs) mounted on a fresh folder, unmounted when dropped: a disk that fills up for real.
/// Mounting needs root (as `make test` runs here and in CI); `None`, with a note, for anyone else.
pub struct SmallDisk {
    pub path: std::path::PathBuf,
}

impl SmallDisk {
    pub fn mount(bytes: u64) -> Option<Self> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: a full disk cannot be made here, so that case is not run");
            return None;
        }
        let path = temp_dir("small-disk");
        let status =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"]).arg(&path).status().expect("mount runs");
        assert!(status.success(), "mounting a {bytes}-byte tmpfs on {} failed", path.display());
        Some(Self { path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}
