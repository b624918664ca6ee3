//! `hearth updates`: the box's system updates (docs/updates.md), each a call to hearthd's API.
//! `hearth ota` is the other thing: making and checking bundles, without a daemon.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use hearth_api::client::Client;
use hyper::Method;
use serde_json::{Value, json};

use crate::{call, print_json, size};

#[derive(Subcommand, Debug, Clone)]
pub enum UpdatesCommand {
    /// What runs, what the other slot holds, the install going on, the channel, the history.
    Status,
    /// Set the update channel (an http(s):// index.json; "" for none).
    Channel {
        /// The index's address.
        url: String,
    },
    /// Look at the channel now.
    Check,
    /// Install a bundle (a file here, or an http(s):// address the box downloads from), or with
    /// --channel the channel's offer; waits for the install to end.
    Install {
        /// The bundle: a file, or an address.
        #[arg(required_unless_present = "channel")]
        bundle: Option<String>,
        /// Install what the channel offers instead.
        #[arg(long, conflicts_with = "bundle")]
        channel: bool,
        /// Restart the box into the new system once it is written.
        #[arg(long)]
        restart: bool,
    },
    /// Stop the install going on.
    Cancel,
    /// Go back to the previous version (restarts the box).
    GoBack,
}

fn say_status(v: &Value) {
    if v["available"] != true {
        println!("This Hearth does not run from a card with two system slots: it cannot update itself.");
        return;
    }
    let version = |s: &Value| s["version"].as_str().unwrap_or("nothing whole").to_string();
    println!(
        "running:  {} (slot {}){}",
        version(&v["running"]),
        v["running"]["slot"].as_str().unwrap_or("?"),
        if v["on_trial"] == true { ", on trial" } else { "" }
    );
    println!("other:    {} (slot {})", version(&v["other"]), v["other"]["slot"].as_str().unwrap_or("?"));
    println!("next boot: slot {}", v["next_boot"].as_str().unwrap_or("?"));
    if let Some(i) = v["install"].as_object() {
        let p = &i["progress"];
        println!(
            "install:  {} {} ({} {} of {}){}",
            i["state"].as_str().unwrap_or(""),
            i["version"].as_str().unwrap_or(""),
            p["phase"].as_str().unwrap_or(""),
            size(p["done"].as_u64().unwrap_or(0)),
            size(p["total"].as_u64().unwrap_or(0)),
            i["reason"].as_str().map(|r| format!(": {r}")).unwrap_or_default()
        );
    }
    match v["channel"]["url"].as_str() {
        Some(url) => println!(
            "channel:  {url}{}{}",
            v["channel"]["offer"]["version"].as_str().map(|o| format!(", offers {o}")).unwrap_or_default(),
            v["channel"]["error"].as_str().map(|e| format!(" ({e})")).unwrap_or_default()
        ),
        None => println!("channel:  none"),
    }
    if let Some(last) = v["last"].as_object() {
        println!(
            "last:     {} {}{}",
            last["kind"].as_str().unwrap_or(""),
            last["version"].as_str().unwrap_or(""),
            last["reason"].as_str().map(|r| format!(": {r}")).unwrap_or_default()
        );
    }
}

pub async fn run(c: &Client, raw: bool, command: UpdatesCommand) -> anyhow::Result<()> {
    let out = |v: &Value| if raw { print_json(v) } else { say_status(v) };
    match command {
        UpdatesCommand::Status => out(&call(c, Method::GET, "/api/v1/updates", None).await?),
        UpdatesCommand::Channel { url } => {
            call(c, Method::PUT, "/api/v1/updates/channel", Some(json!({ "url": url }))).await?;
        }
        UpdatesCommand::Check => {
            let v = call(c, Method::POST, "/api/v1/updates/check", None).await?;
            match v["offer"]["version"].as_str() {
                _ if raw => print_json(&v),
                Some(version) => println!("the channel offers {version}: {}", v["offer"]["notes"].as_str().unwrap_or("")),
                None => println!("the channel offers nothing newer"),
            }
        }
        UpdatesCommand::Install { bundle, channel, restart } => {
            if channel {
                call(c, Method::POST, "/api/v1/updates/install", None).await?;
            } else if let Some(url) = bundle.as_deref().filter(|b| b.starts_with("http://") || b.starts_with("https://")) {
                call(c, Method::POST, "/api/v1/updates/install", Some(json!({ "url": url }))).await?;
            } else if let Some(file) = bundle.map(PathBuf::from) {
                let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let (status, v) =
                    c.request_bytes(Method::POST, "/api/v1/updates/upload", Some(("application/octet-stream", bytes.into()))).await?;
                if !status.is_success() {
                    bail!("{}", v["error"]["message"].as_str().unwrap_or("the box refused the upload"));
                }
            }
            let record = loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let v = call(c, Method::GET, "/api/v1/updates", None).await?;
                if v["install"]["state"] != "running" {
                    break v["install"].clone();
                }
            };
            if raw {
                print_json(&record);
            }
            match record["state"].as_str() {
                Some("ready") => {
                    println!("version {} is written; it starts at the next restart", record["version"].as_str().unwrap_or("?"));
                    if restart {
                        call(c, Method::POST, "/api/v1/system/reboot", Some(json!({}))).await?;
                    }
                }
                _ => bail!(
                    "the update was not installed: {}{}",
                    record["reason"].as_str().unwrap_or("no reason given"),
                    record["guidance"].as_str().map(|g| format!("\n  what to do: {g}")).unwrap_or_default()
                ),
            }
        }
        UpdatesCommand::Cancel => {
            call(c, Method::POST, "/api/v1/updates/cancel", None).await?;
        }
        UpdatesCommand::GoBack => {
            let v = call(c, Method::POST, "/api/v1/updates/go-back", None).await?;
            println!("going back to version {}: the box restarts", v["version"].as_str().unwrap_or("?"));
        }
    }
    Ok(())
}
