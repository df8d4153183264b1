//! `framelift`: the command-line client of a Framelift API (the local stack or a deployment), and `framelift
//! transcode`, which runs exactly the ladder the transcode Lambda runs on a local file.

mod client;
mod config;
mod upload;

use anyhow::Context;
use clap::{Parser, Subcommand};
use client::Client;
use framelift_media::{AbsolutePath, Options, Tools, TranscodeError};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "framelift", version, about = "Framelift from the command line")]
struct Cli {
    /// The API's base URL (default: the one `login` saved, else the local stack at http://localhost:$PORT, 8080).
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
        /// Who may see it: public (the default), unlisted (anyone with the link) or private (only you).
        #[arg(long)]
        visibility: Option<String>,
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
    /// Change a video's title, description or visibility (public, unlisted or private); what is not given stays.
    Edit {
        id: String,
        #[arg(long)]
        title: Option<String>,
        /// The new description; an empty one removes it.
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        visibility: Option<String>,
    },
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
    let cli = Cli::parse();
    let interrupted = match &cli.command {
        Command::Upload { .. } => "interrupted; the upload resumes when the same command is run again",
        Command::Transcode { .. } => "interrupted; the output folder holds an unfinished ladder (run the command again to redo it)",
        _ => "interrupted",
    };
    tokio::select! {
        result = run(cli) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("framelift: {e:#}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => {
            eprintln!("\nframelift: {interrupted}");
            ExitCode::from(130)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let saved = config::load();
    let api = cli.api.clone().or(saved.api.clone()).unwrap_or_else(config::default_api);
    let token = std::env::var("FRAMELIFT_TOKEN").ok().filter(|t| !t.is_empty()).or(saved.token);
    let client = Client::new(&api, token);
    let print = |v: &Value, summary: &dyn Fn(&Value) -> String| {
        if cli.json { println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()) } else { println!("{}", summary(v)) }
    };
    match cli.command {
        Command::Transcode { input, outdir, max_height } => transcode(input, outdir, max_height).await,
        Command::Upload { file, title, description, visibility, content_type, parallel, resume: _, wait } => {
            let req = upload::Request {
                file: &file,
                title: &title,
                description: description.as_deref(),
                visibility: visibility.as_deref(),
                content_type: content_type.as_deref(),
                parallel,
            };
            let id = upload::upload(&client, req).await?;
            println!("{id}");
            if wait {
                let video = wait_settled(&client, &id, cli.json).await?;
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
            print(&v, &|v| details(&v["video"]));
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
        Command::Edit { id, title, description, visibility } => {
            let mut change = serde_json::Map::new();
            if let Some(t) = title {
                change.insert("title".into(), t.into());
            }
            if let Some(d) = description {
                change.insert("description".into(), if d.is_empty() { Value::Null } else { d.into() });
            }
            if let Some(v) = visibility {
                change.insert("visibility".into(), v.into());
            }
            anyhow::ensure!(!change.is_empty(), "nothing to change: give --title, --description or --visibility");
            let path = format!("/api/videos/{}", path_segment(&id));
            let edited: Value = client.call(reqwest::Method::PATCH, &path, Some(Value::Object(change))).await?;
            print(&edited, &|v| details(&v["video"]));
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

/// Polls the video until it is ready or failed, showing its status and, while it is encoded, how far it has got.
async fn wait_settled(client: &Client, id: &str, quiet: bool) -> anyhow::Result<Value> {
    let bar = if quiet || !std::io::stderr().is_terminal() { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
    bar.enable_steady_tick(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let mut last_line = std::time::Instant::now();
    loop {
        let v = client.get(&format!("/api/videos/{id}")).await?;
        let video = &v["video"];
        if matches!(video["status"].as_str(), Some("ready" | "failed")) {
            bar.finish_and_clear();
            return Ok(video.clone());
        }
        let what = match video["progress"].as_f64() {
            Some(p) => format!("encoding: {:.0}%", p * 100.0),
            None => video["status"].as_str().unwrap_or("processing").to_owned(),
        };
        bar.set_message(what.clone());
        // Without a terminal (a log, a pipe) a line every 10 s says it is still going.
        if bar.is_hidden() && !quiet && last_line.elapsed() >= Duration::from_secs(10) {
            eprintln!("{what} ({} s)", started.elapsed().as_secs());
            last_line = std::time::Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Everything the API says of one video, a field a line.
fn details(v: &Value) -> String {
    let mut out = vec![line(v)];
    let mut field = |name: &str, value: String| out.push(format!("  {name:<12} {value}"));
    if let Some(d) = v["description"].as_str().filter(|d| !d.is_empty()) {
        field("description", d.to_owned());
    }
    if let Some(c) = v["createdAt"].as_str() {
        field("created", c.to_owned());
    }
    if let Some(who) = v["visibility"].as_str() {
        field("visibility", who.to_owned());
    }
    let captions: Vec<String> = v["captions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some(format!("{} ({})", c["label"].as_str()?, c["language"].as_str()?)))
        .collect();
    if !captions.is_empty() {
        field("captions", captions.join(", "));
    }
    if let Some(s) = v["durationSeconds"].as_f64() {
        let s = s.round() as u64;
        field("duration", format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60));
    }
    if let (Some(w), Some(h)) = (v["width"].as_u64(), v["height"].as_u64()) {
        field("size", format!("{w}x{h}"));
    }
    let renditions: Vec<String> = v["renditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some(format!("{}x{} ({} kbit/s)", r["width"].as_u64()?, r["height"].as_u64()?, r["bandwidth"].as_u64()? / 1000)))
        .collect();
    if !renditions.is_empty() {
        field("renditions", renditions.join(", "));
    }
    if let Some(p) = v["progress"].as_f64() {
        field("progress", format!("{:.0}%", p * 100.0));
    }
    if v["status"] == "ready" {
        field("watch", format!("framelift watch {}", v["id"].as_str().unwrap_or("ID")));
    }
    out.join("\n")
}

async fn transcode(input: PathBuf, outdir: PathBuf, max_height: Option<u32>) -> anyhow::Result<()> {
    // Resolved once, here: ffmpeg runs in a folder of its own. What is printed keeps the user's own spelling.
    let master = outdir.join(framelift_media::hls::MASTER);
    let input = AbsolutePath::resolve(&input).with_context(|| format!("{} is not a usable path", input.display()))?;
    let outdir = AbsolutePath::resolve(&outdir).with_context(|| format!("{} is not a usable path", outdir.display()))?;
    let tools = Tools::locate()?;
    let meta = std::fs::metadata(&input).with_context(|| format!("cannot read {input}"))?;
    anyhow::ensure!(meta.is_file(), "{input} is not a file");
    std::fs::create_dir_all(&outdir).with_context(|| format!("cannot make the output folder {outdir}"))?;
    // As in the Lambda, ffmpeg never sees a name with an extension someone else chose: it reads a link named by us,
    // in a work folder that goes away however the command ends (Ctrl-C included).
    let work = WorkDir::new()?;
    let source = work.path.join("source");
    std::os::unix::fs::symlink(&input, &source).with_context(|| format!("linking {input} into {}", work.path))?;
    let options = Options { max_short_side: max_height, ..Options::default() };
    let bar = encode_bar();
    let show = |p: framelift_media::Progress| {
        if p.total > 0.0 {
            bar.set_length((p.total * 1000.0) as u64);
        }
        bar.set_position((p.done * 1000.0) as u64);
    };
    let result = framelift_media::transcode_watched(&tools, &source, &outdir, &options, &show).await;
    bar.finish_and_clear();
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
            println!("{}", master.display());
            Ok(())
        }
        Err(TranscodeError::Rejected(reason)) => anyhow::bail!("{input} cannot be transcoded: {reason}"),
        Err(TranscodeError::Failed(e)) => Err(e.context("the transcode failed (not because of the file)")),
    }
}

/// The encode's progress on a terminal: seconds of the source done, of how many, and the time left.
fn encode_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("encoding {bar:40.cyan/blue} {percent:>3}%  {elapsed} spent, {eta} left")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    bar
}

/// A private folder under the system's temporary folder, removed when dropped.
struct WorkDir {
    path: AbsolutePath,
}

impl WorkDir {
    fn new() -> anyhow::Result<Self> {
        let path = AbsolutePath::resolve(std::env::temp_dir())?.join(format!("framelift-transcode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("cannot make the work folder {path}"))?;
        Ok(Self { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
