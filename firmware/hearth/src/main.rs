//! `hearth`: the command line. It talks to a running hearthd through the owner-only socket in
//! the data folder (`--data DIR`), or to a box over the network (`--url URL --token APP-PASSWORD`).
//! Every command is a thin call of the JSON API (docs/api.md); docs/cli.md lists them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Parser, Subcommand};
use hearth_api::client::Client;
use hyper::Method;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(name = "hearth", version, about = "Control a Hearth box")]
struct Cli {
    /// The data folder of the hearthd to talk to (through its socket DIR/hearthd.sock).
    #[arg(long, env = "HEARTH_DATA", default_value = "./hearth-data", global = true)]
    data: PathBuf,
    /// Talk to a box over the network instead, e.g. http://hearth.local:8080.
    #[arg(long, env = "HEARTH_URL", global = true)]
    url: Option<String>,
    /// An app password (make one on the web page or with the API) for --url.
    #[arg(long, env = "HEARTH_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// The box's certificate SHA-256 for https:// URLs.
    #[arg(long, env = "HEARTH_CERT_SHA256", global = true)]
    cert_sha256: Option<String>,
    /// Print the raw JSON answers.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the box, its services and its disk.
    Status,
    /// Claim a new box: create its owner. The password is asked for (or read from stdin).
    Setup {
        /// The owner's user name.
        #[arg(long)]
        name: String,
        /// Shown in the UI.
        #[arg(long)]
        display_name: Option<String>,
        /// The setup code (needed with --url from outside the box's network).
        #[arg(long)]
        setup_code: Option<String>,
    },
    /// The box's name, time zone and map tiles: shown, or changed with the options given.
    Box {
        /// What phones and the LAN call the box.
        #[arg(long)]
        name: Option<String>,
        /// An IANA time zone name (Europe/Paris).
        #[arg(long)]
        time_zone: Option<String>,
        /// A map tile template (https://host/{z}/{x}/{y}.png); "" for none.
        #[arg(long)]
        map_tiles: Option<String>,
    },
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Folder sync with Syncthing devices.
    Sync {
        #[command(subcommand)]
        command: sync::SyncCommand,
    },
    /// The box's own backups: the recovery key, places, jobs, drills, restores (through hearthd).
    Backups {
        #[command(subcommand)]
        command: backups::BackupsCommand,
    },
    /// A member's earlier versions of files and their trash: list and put back (through hearthd).
    Files {
        #[command(subcommand)]
        command: files::FilesCommand,
    },
    /// The folders the family shares: list, add, give to members, remove (through hearthd).
    FamilyFolders {
        #[command(subcommand)]
        command: family_folders::FamilyFoldersCommand,
    },
    /// Encrypted backups (works without a running hearthd).
    Backup {
        #[command(subcommand)]
        command: backup::BackupCommand,
    },
    /// The box's system updates: status, channel, install, go back (through hearthd).
    Updates {
        #[command(subcommand)]
        command: updates::UpdatesCommand,
    },
    /// Update bundles: signing keys, building and checking bundles (works without a running hearthd).
    Ota {
        #[command(subcommand)]
        command: ota::OtaCommand,
    },
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// Add a user; the password is asked for (or read from stdin).
    Add {
        /// Login name.
        name: String,
        /// member (default), admin or owner.
        #[arg(long, default_value = "member", value_parser = ["member", "admin", "owner"])]
        role: String,
        /// Shown in the UI.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List,
    /// Set a user's password (ends their sessions).
    Passwd {
        /// Login name.
        name: String,
    },
}

mod backup;
mod backups;
mod family_folders;
mod files;
mod ota;
mod sync;
mod updates;

fn main() -> ExitCode {
    hearth_platform::memory::pin_allocator_thresholds();
    let mut cli = Cli::parse();
    let offline_ota = matches!(&cli.command, Command::Ota { command } if !matches!(command, ota::OtaCommand::Install { .. }));
    if offline_ota && let Command::Ota { command } = std::mem::replace(&mut cli.command, Command::Status) {
        return match ota::run(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hearth: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    if let Command::Backup { command } = cli.command {
        return match backup::run(command) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("hearth: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hearth: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn client(cli: &Cli) -> anyhow::Result<Client> {
    match &cli.url {
        Some(url) => Ok(Client::url(url, cli.token.clone(), cli.cert_sha256.clone())?),
        None => Ok(Client::socket(cli.data.join("hearthd.sock"))),
    }
}

/// Send a request; an error status becomes an error with the server's message and guidance.
pub(crate) async fn call(c: &Client, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
    let (status, v) = c.request(method, path, body.as_ref()).await?;
    if status.is_success() {
        return Ok(v);
    }
    let err = &v["error"];
    let msg = err["message"].as_str().map(str::to_string).unwrap_or_else(|| format!("the box answered {status}"));
    match err["guidance"].as_str() {
        Some(g) => bail!("{msg}\n  what to do: {g}"),
        None => bail!("{msg}"),
    }
}

/// Ask for a new password twice on a terminal (echo off), or read one line from stdin.
fn read_new_password(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(pw);
    }
    let first = prompt_hidden(&format!("{prompt}: "))?;
    let second = prompt_hidden("Again: ")?;
    if first != second {
        bail!("the two passwords differ");
    }
    Ok(first)
}

/// One secret: asked for once on a terminal (echo off), or the first line of standard input.
pub(crate) fn read_secret_line(prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return prompt_hidden(&format!("{prompt}: "));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub(crate) fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let echo_off =
        std::process::Command::new("stty").arg("-echo").stdin(std::process::Stdio::inherit()).status().is_ok_and(|s| s.success());
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if echo_off {
        let _ = std::process::Command::new("stty").arg("echo").stdin(std::process::Stdio::inherit()).status();
        eprintln!();
    }
    read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// A byte count for people (B, KiB, MiB, GiB).
pub(crate) fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

pub(crate) fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let c = client(&cli)?;
    match &cli.command {
        Command::Box { name, time_zone, map_tiles } => {
            let change = name.is_some() || time_zone.is_some() || map_tiles.is_some();
            let v = if change {
                let body = serde_json::json!({"name": name, "time_zone": time_zone, "map_tiles": map_tiles});
                let body = Value::Object(
                    body.as_object().into_iter().flatten().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect(),
                );
                call(&c, Method::PATCH, "/api/v1/box", Some(body)).await?
            } else {
                call(&c, Method::GET, "/api/v1/box", None).await?
            };
            if cli.json {
                print_json(&v);
            } else {
                println!("name:      {}", v["name"].as_str().unwrap_or("?"));
                println!("time zone: {}", v["time_zone"].as_str().unwrap_or("?"));
                println!("map tiles: {}", v["map_tiles"].as_str().unwrap_or("none (the embedded outline)"));
            }
        }
        Command::Status => {
            let v = call(&c, Method::GET, "/api/v1/status", None).await.map_err(|e| {
                // Over the network the status needs an app password; say so when none was given.
                if cli.url.is_some() && cli.token.is_none() { anyhow!("{e}\n  (give --token with an app password)") } else { e }
            })?;
            if cli.json {
                print_json(&v);
                return Ok(());
            }
            let d = &v["device"];
            println!(
                "{} — Hearth {} on board {}",
                d["name"].as_str().unwrap_or("?"),
                d["version"].as_str().unwrap_or("?"),
                d["board"].as_str().unwrap_or("?")
            );
            if let Some(fp) = d["cert_sha256"].as_str() {
                println!("HTTPS certificate SHA-256: {fp}");
            }
            if let (Some(free), Some(total)) = (v["data_free_bytes"].as_u64(), v["data_total_bytes"].as_u64()) {
                println!("Data: {} ({} GiB free of {} GiB)", v["data_dir"].as_str().unwrap_or("?"), free >> 30, total >> 30);
            }
            println!("Users: {}", v["users"]);
            println!("{:<14} {:<12} {:>8}  last error", "service", "state", "restarts");
            for s in v["services"].as_array().into_iter().flatten() {
                println!(
                    "{:<14} {:<12} {:>8}  {}",
                    s["name"].as_str().unwrap_or("?"),
                    s["state"].as_str().unwrap_or("?"),
                    s["restarts"],
                    s["last_error"].as_str().unwrap_or("")
                );
            }
        }
        Command::Setup { name, display_name, setup_code } => {
            let password = read_new_password("Password for the owner")?;
            let body = json!({ "name": name, "password": password, "display_name": display_name, "setup_code": setup_code });
            let v = call(&c, Method::POST, "/api/v1/setup/claim", Some(body)).await?;
            if cli.json { print_json(&v) } else { println!("{} now owns this Hearth.", v["name"].as_str().unwrap_or(name)) }
        }
        // Handled in main before any connection is made.
        Command::Backup { .. } => bail!("backup commands do not talk to the daemon"),
        Command::Ota { command: ota::OtaCommand::Install { bundle, restart } } => {
            let install = updates::UpdatesCommand::Install { bundle: Some(bundle.clone()), channel: false, restart: *restart };
            updates::run(&c, cli.json, install).await?
        }
        Command::Ota { .. } => bail!("this ota command does not talk to the daemon"),
        Command::Sync { command } => sync::run(&c, cli.json, command.clone()).await?,
        Command::Backups { command } => backups::run(&c, cli.json, command.clone()).await?,
        Command::Updates { command } => updates::run(&c, cli.json, command.clone()).await?,
        Command::Files { command } => files::run(&c, cli.json, command.clone()).await?,
        Command::FamilyFolders { command } => family_folders::run(&c, cli.json, command.clone()).await?,
        Command::Users { command } => match command {
            UsersCommand::Add { name, role, display_name } => {
                let password = read_new_password(&format!("Password for {name}"))?;
                let body = json!({ "name": name, "password": password, "role": role, "display_name": display_name });
                let v = call(&c, Method::POST, "/api/v1/users", Some(body)).await?;
                if cli.json {
                    print_json(&v)
                } else {
                    println!("Added {} ({}).", v["name"].as_str().unwrap_or(name), v["role"].as_str().unwrap_or(role))
                }
            }
            UsersCommand::List => {
                let v = call(&c, Method::GET, "/api/v1/users", None).await?;
                if cli.json {
                    print_json(&v);
                    return Ok(());
                }
                println!("{:<20} {:<8} display name", "name", "role");
                for u in v.as_array().into_iter().flatten() {
                    println!(
                        "{:<20} {:<8} {}",
                        u["name"].as_str().unwrap_or("?"),
                        u["role"].as_str().unwrap_or("?"),
                        u["display_name"].as_str().unwrap_or("")
                    );
                }
            }
            UsersCommand::Passwd { name } => {
                let password = read_new_password(&format!("New password for {name}"))?;
                call(&c, Method::POST, &format!("/api/v1/users/{name}/password"), Some(json!({ "password": password }))).await?;
                println!("Password changed; {name}'s sessions have been ended.");
            }
        },
    }
    Ok(())
}
