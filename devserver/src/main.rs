//! `framelift-devserver`: the local stack on one port (`make dev`).

use framelift_devserver::{DevConfig, DevStack};
use tokio::net::TcpListener;

/// One server answering many requests at once on every core: glibc's allocator spent a fifth of the catalogue
/// benchmark's CPU in malloc and free, much of it on its arena locks (docs/BENCHMARKS.md). Its huge pages are turned
/// off first thing in `main` ([`framelift_devserver::process`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    framelift_devserver::process::no_transparent_huge_pages();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,s3s=warn,s3s_fs=warn".into()))
        .init();
    let config = DevConfig::from_env()?;
    let listener = TcpListener::bind((config.bind.as_str(), config.port)).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "port {} on {} is already in use (another Framelift?): stop what holds it, or pick another port, e.g. PORT={} make dev",
            config.port,
            config.bind,
            config.port.wrapping_add(1)
        ),
        _ => anyhow::Error::new(e).context(format!("cannot listen on {}:{}", config.bind, config.port)),
    })?;
    let addr = listener.local_addr()?;
    let stack = DevStack::open(&config, addr).await?;
    println!("Framelift is running at {} (state in {})", stack.public_url(), config.data_dir.display());
    stack
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
            println!("stopping: letting open requests finish");
        })
        .await
}
