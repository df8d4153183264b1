//! `framelift-devserver`: the local stack on one port (`make dev`).

use framelift_devserver::{DevConfig, DevStack, listen};
use std::process::ExitCode;

/// One server answering many requests at once on every core: mimalloc, without glibc's arena locks
/// (docs/BENCHMARKS.md). Its huge pages are turned off first thing in `main` ([`framelift_devserver::process`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    framelift_devserver::process::no_transparent_huge_pages();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,s3s=warn,s3s_fs=warn".into()))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line that says what to do, as for any command a person runs.
            eprintln!("framelift-devserver: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let config = DevConfig::from_env()?;
    let listener = listen(&config).await?;
    let stack = DevStack::open(&config, listener.local_addr()?).await?;
    println!("Framelift is running at {} (state in {})", stack.public_url(), config.data_dir);
    stack
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
            println!("stopping: letting open requests finish");
        })
        .await
}
