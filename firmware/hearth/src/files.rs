//! `hearth files`: a member's earlier versions and trash (docs/files.md, "Versions and trash"),
//! each a call to hearthd's API on the member's behalf (the CLI on the box acts as an owner).

use clap::Subcommand;
use hearth_api::client::Client;
use hyper::Method;
use serde_json::{Value, json};

use crate::{call, print_json, size};

#[derive(Subcommand, Debug, Clone)]
pub enum FilesCommand {
    /// The earlier versions of one of a member's files, newest first.
    Versions {
        /// The member's login name.
        user: String,
        /// The file, below their files (School/notes.txt).
        path: String,
    },
    /// What a member deleted in the last 30 days, newest first.
    Trash {
        /// The member's login name.
        user: String,
    },
    /// Put back a trashed item (by its id from `trash`) or a version of a file.
    Restore {
        /// The member's login name.
        user: String,
        /// The trashed item's id.
        #[arg(long, required_unless_present = "path", conflicts_with_all = ["path", "version"])]
        trash: Option<i64>,
        /// The file whose version to put back.
        #[arg(long, requires = "version")]
        path: Option<String>,
        /// The version (from `versions`).
        #[arg(long, requires = "path")]
        version: Option<u64>,
    },
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn when(secs: &Value) -> String {
    let s = secs.as_i64().unwrap_or(0);
    let (y, m, d) = hearth_core::calendar::civil_from_days(s.div_euclid(86_400));
    let r = s.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", r / 3600, r % 3600 / 60)
}

/// Runs one `hearth files` command.
pub async fn run(c: &Client, json_out: bool, command: FilesCommand) -> anyhow::Result<()> {
    match command {
        FilesCommand::Versions { user, path } => {
            let v = call(c, Method::GET, &format!("/api/v1/files/versions?user={}&path={}", encode(&user), encode(&path)), None).await?;
            if json_out {
                print_json(&v);
                return Ok(());
            }
            let list = v["versions"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("{path} has no earlier versions.");
            }
            for ver in list {
                println!("{:>12}  {}  {}", ver["version"], when(&ver["modified"]), size(ver["size"].as_u64().unwrap_or(0)));
            }
        }
        FilesCommand::Trash { user } => {
            let v = call(c, Method::GET, &format!("/api/v1/files/trash?user={}", encode(&user)), None).await?;
            if json_out {
                print_json(&v);
                return Ok(());
            }
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!("{user}'s trash is empty.");
            }
            for t in items {
                let folder = if t["folder"] == true { "/" } else { "" };
                println!(
                    "{:>6}  {}  {:>10}  {}{folder}",
                    t["id"],
                    when(&t["deleted_at"]),
                    size(t["size"].as_u64().unwrap_or(0)),
                    t["path"].as_str().unwrap_or("?")
                );
            }
        }
        FilesCommand::Restore { user, trash: Some(id), .. } => {
            let v = call(c, Method::POST, &format!("/api/v1/files/trash/{id}/restore?user={}", encode(&user)), None).await?;
            if json_out { print_json(&v) } else { println!("Back at {}.", v["path"].as_str().unwrap_or("?")) }
        }
        FilesCommand::Restore { user, path: Some(path), version: Some(version), .. } => {
            call(c, Method::POST, "/api/v1/files/versions/restore", Some(json!({"user": user, "path": path, "version": version}))).await?;
            if !json_out {
                println!("{path} is back as version {version}; the file it replaced is among its versions.");
            }
        }
        FilesCommand::Restore { .. } => anyhow::bail!("say what to put back: --trash ID, or --path FILE --version V"),
    }
    Ok(())
}
