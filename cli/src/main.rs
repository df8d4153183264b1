//! `framelift`: the command-line client of a Framelift API (the local stack or a deployment), and `framelift
//! transcode`, which runs exactly the ladder the transcode Lambda runs on a local file.

mod client;
mod config;
mod upload;

use clap::{Parser, Subcommand};
use client::Client;
use framelift_media::{Options, Tools, TranscodeError};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "framelift", version, about = "Framelift from the command line")]
struct Cli {
    /// The API's base URL (default: the one `login` saved, else the local stack).
    #[arg(long, global = true, env = "FRAMELIFT_API")]
    api: Option<String>,
    /// Print the API's JSON instead of a summary (read commands).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upload a video; an interrupted upload of the same file resumes where it stopped.
    Upload {
        file: PathBuf,
        #[arg(long)]
        title: String,
        #[arg(long)]
        description: Option<String>,
        /// The file's type when its name does not tell (e.g. video/mp4).
        #[arg(long)]
        content_type: Option<String>,
        /// Parts in flight at once.
        #[arg(long, default_value_t = 4)]
        parallel: usize,
        /// Resume an interrupted upload (the default: accepted for scripts that say so).
        #[arg(long)]
        resume: bool,
        /// Wait until the video is ready (or failed) and print its status.
        #[arg(long)]
        wait: bool,
    },
    /// The catalogue, newest first (with --mine: your videos in every status).
    List {
        #[arg(long)]
        mine: bool,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One video.
    Show { id: String },
    /// Search ready videos (typos are fine).
    Search { query: String },
    /// Print the signed HLS URL of a ready video (ffplay, VLC, Safari play it).
    Watch { id: String },
    /// Delete one of your videos.
    Delete { id: String },
    /// Sign in: on the local stack, a dev token for NAME; on a deployment, a Google ID token from --token-file (`-`:
    /// paste it on standard input) or FRAMELIFT_TOKEN. Saved (owner-only) in the config folder.
    Login {
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
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
    tokio::select! {
        result = run(Cli::parse()) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("framelift: {e:#}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => {
            eprintln!("framelift: interrupted; an upload resumes when the same command is run again");
            ExitCode::from(130)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let saved = config::load();
    let api = cli.api.clone().or(saved.api.clone()).unwrap_or_else(|| config::DEFAULT_API.to_owned());
    let token = std::env::var("FRAMELIFT_TOKEN").ok().filter(|t| !t.is_empty()).or(saved.token);
    let client = Client::new(&api, token);
    let print = |v: &Value, summary: &dyn Fn(&Value) -> String| {
        if cli.json { println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()) } else { println!("{}", summary(v)) }
    };
    match cli.command {
        Command::Transcode { input, outdir, max_height } => transcode(input, outdir, max_height).await,
        Command::Upload { file, title, description, content_type, parallel, resume: _, wait } => {
            let req = upload::Request {
                file: &file,
                title: &title,
                description: description.as_deref(),
                content_type: content_type.as_deref(),
                parallel,
            };
            let id = upload::upload(&client, req).await?;
            println!("{id}");
            if wait {
                let video = wait_settled(&client, &id).await?;
                eprintln!("{}", line(&video));
                anyhow::ensure!(
                    video["status"] == "ready",
                    "the video failed: {}",
                    video["failureReason"].as_str().unwrap_or("no reason given")
                );
            }
            Ok(())
        }
        Command::List { mine, limit } => {
            let v = client.get(&format!("/api/videos?limit={limit}{}", if mine { "&mine=true" } else { "" })).await?;
            print(&v, &|v| lines(&v["videos"]));
            Ok(())
        }
        Command::Show { id } => {
            let v = client.get(&format!("/api/videos/{}", path_segment(&id))).await?;
            print(&v, &|v| line(&v["video"]));
            Ok(())
        }
        Command::Search { query } => {
            let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
            let v = client.get(&format!("/api/search?q={q}")).await?;
            print(&v, &|v| format!("{} found\n{}", v["total"], lines(&v["videos"])));
            Ok(())
        }
        Command::Watch { id } => {
            let v = client.get(&format!("/api/videos/{}/watch", path_segment(&id))).await?;
            print(&v, &|v| v["hls"].as_str().unwrap_or_default().to_owned());
            Ok(())
        }
        Command::Delete { id } => {
            let _: Value = client.call(reqwest::Method::DELETE, &format!("/api/videos/{}", path_segment(&id)), None).await?;
            eprintln!("deleted {id}");
            Ok(())
        }
        Command::Login { name, token_file } => {
            let token = match (name, token_file) {
                (Some(name), _) => client.dev_token(&name).await?,
                // `-` reads a pasted token from standard input.
                (None, Some(f)) if f.as_os_str() == "-" => std::io::read_to_string(std::io::stdin())?.trim().to_owned(),
                (None, Some(f)) => std::fs::read_to_string(&f)?.trim().to_owned(),
                (None, None) => std::env::var("FRAMELIFT_TOKEN").map_err(|_| {
                    anyhow::anyhow!("give --name NAME (local stack), --token-file FILE or FRAMELIFT_TOKEN (a Google ID token)")
                })?,
            };
            let path = config::save(&config::Saved { api: Some(api), token: Some(token) })?;
            eprintln!("signed in; token saved in {}", path.display());
            Ok(())
        }
    }
}

/// An id as one path segment: anything else would address another route.
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

fn line(v: &Value) -> String {
    let mut s = format!(
        "{}  {:<10}  {}  by {}",
        v["id"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?"),
        v["title"].as_str().unwrap_or(""),
        v["author"]["name"].as_str().unwrap_or("?")
    );
    if let Some(reason) = v["failureReason"].as_str() {
        s.push_str(&format!("  ({reason})"));
    }
    s
}

fn lines(videos: &Value) -> String {
    videos.as_array().into_iter().flatten().map(line).collect::<Vec<_>>().join("\n")
}

async fn wait_settled(client: &Client, id: &str) -> anyhow::Result<Value> {
    loop {
        let v = client.get(&format!("/api/videos/{id}")).await?;
        if matches!(v["video"]["status"].as_str(), Some("ready" | "failed")) {
            return Ok(v["video"].clone());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
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
