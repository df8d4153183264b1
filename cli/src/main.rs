//! `framelift`: the command-line client. `framelift transcode INPUT OUTDIR` runs exactly the ladder the transcode
//! Lambda runs, on a local file.

use clap::{Parser, Subcommand};
use framelift_media::{Options, Tools, TranscodeError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "framelift", version, about = "Framelift from the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transcode a video file into an HLS ladder: OUTDIR/master.m3u8 and everything it references.
    Transcode {
        input: PathBuf,
        outdir: PathBuf,
        /// Cap the ladder at this short side, e.g. 720 to skip 1080p.
        #[arg(long)]
        max_height: Option<u32>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("framelift: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Transcode { input, outdir, max_height } => transcode(input, outdir, max_height).await,
    }
}

async fn transcode(input: PathBuf, outdir: PathBuf, max_height: Option<u32>) -> anyhow::Result<()> {
    let tools = Tools::locate()?;
    anyhow::ensure!(input.is_file(), "{} is not a file", input.display());
    std::fs::create_dir_all(&outdir)?;
    // As in the Lambda: ffmpeg reads a copy named by us, never a name with an extension someone else chose.
    let work = tempdir(&outdir)?;
    let source = work.join("source");
    std::fs::copy(&input, &source)?;
    let options = Options { max_short_side: max_height, ..Options::default() };
    let result = framelift_media::transcode(&tools, &source, &outdir, &options).await;
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(out) => {
            for (rung, m) in &out.rungs {
                println!(
                    "{:>6} {:>4}x{:<4} {:>6.2} fps  avg {:>5} kbit/s  peak {:>5} kbit/s",
                    rung.name,
                    rung.width,
                    rung.height,
                    rung.fps,
                    m.average_bps / 1000,
                    m.peak_bps / 1000
                );
            }
            println!("{}", outdir.join(framelift_media::hls::MASTER).display());
            Ok(())
        }
        Err(TranscodeError::Rejected(reason)) => anyhow::bail!("{reason}"),
        Err(TranscodeError::Failed(e)) => Err(e),
    }
}

fn tempdir(near: &std::path::Path) -> anyhow::Result<PathBuf> {
    let dir = near.join(format!(".framelift-work-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
