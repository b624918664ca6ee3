//! `hearth sync`: pairing Syncthing devices, sharing folders, status and versions — each a call
//! to hearthd's API (docs/cli.md).

use clap::Subcommand;
use hearth_api::client::Client;
use hyper::Method;
use serde_json::{Value, json};

use crate::{call, print_json, size};

#[derive(Subcommand, Debug, Clone)]
pub enum SyncCommand {
    /// Show the device id to enter in Syncthing on a phone or laptop.
    Id,
    /// Paired and pending Syncthing devices.
    Devices {
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// Shared folders.
    Folders {
        #[command(subcommand)]
        command: FoldersCommand,
    },
    /// Connected devices and transfer rates.
    Status,
    /// Versions a folder kept of files peers deleted or replaced; `--restore` puts one back.
    Versions {
        /// The folder id.
        folder: String,
        /// The version to put back (as listed).
        #[arg(long)]
        restore: Option<String>,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum FoldersCommand {
    /// Shared folders with their state, then folders paired devices offer.
    List,
    /// Share a new folder from the NAS.
    Add {
        /// A folder id (the same on every device).
        id: String,
        /// Where its files are (default: DATA/folders/ID).
        #[arg(long)]
        path: Option<String>,
        /// A label.
        #[arg(long)]
        label: Option<String>,
        #[arg(long = "type", default_value = "send-receive", value_parser = ["send-receive", "send-only", "receive-only"])]
        kind: String,
        /// A paired device to share it with (repeat for more).
        #[arg(long = "device")]
        devices: Vec<String>,
        /// Days versions are kept (0: forever).
        #[arg(long, default_value_t = 30)]
        keep_days: i64,
    },
    /// Accept a folder a paired device offers (see `folders list`).
    Accept {
        /// The offered folder id.
        id: String,
        /// Where its files go (default: DATA/folders/ID).
        #[arg(long)]
        path: Option<String>,
        #[arg(long = "type", default_value = "receive-only", value_parser = ["send-receive", "send-only", "receive-only"])]
        kind: String,
        /// Days versions are kept (0: forever).
        #[arg(long, default_value_t = 30)]
        keep_days: i64,
    },
    /// Share a folder with another paired device.
    Share {
        /// The folder id.
        id: String,
        /// The paired device.
        device: String,
    },
    /// Look for local changes now.
    Scan {
        /// The folder id.
        id: String,
    },
    /// Stop sharing a folder (its files stay on the NAS).
    Remove {
        /// The folder id.
        id: String,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum DevicesCommand {
    /// Paired devices, then devices that tried to connect unpaired.
    List,
    /// Pair a device by its id.
    Add {
        /// Its device id (Syncthing: Actions → Show ID).
        id: String,
        /// A name (default: the name it gave when it connected).
        #[arg(long)]
        name: Option<String>,
        /// An address to dial, tcp://HOST:PORT (default: it connects to the box, or is found on the LAN).
        #[arg(long)]
        address: Vec<String>,
    },
    /// Pair a pending device (one listed by `devices list`).
    Accept {
        /// Its device id.
        id: String,
    },
    /// Unpair a device.
    Remove {
        /// Its device id.
        id: String,
    },
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// Run one `hearth sync` command.
pub async fn run(c: &Client, json_out: bool, command: SyncCommand) -> anyhow::Result<()> {
    let empty = Vec::new();
    match command {
        SyncCommand::Id => {
            let v = call(c, Method::GET, "/api/v1/sync/id", None).await?;
            if json_out { print_json(&v) } else { println!("{}", s(&v, "device_id")) }
        }
        SyncCommand::Devices { command } => match command {
            DevicesCommand::List => {
                let v = call(c, Method::GET, "/api/v1/sync/devices", None).await?;
                if json_out {
                    print_json(&v)
                } else {
                    println!("paired:");
                    for d in v["devices"].as_array().unwrap_or(&empty) {
                        println!("  {}  {}", s(d, "device_id"), s(d, "name"));
                    }
                    println!("pending (refused until accepted):");
                    for d in v["pending"].as_array().unwrap_or(&empty) {
                        println!("  {}  {}  from {}  ({})", s(d, "device_id"), s(d, "name"), s(d, "address"), s(d, "client"));
                    }
                }
            }
            DevicesCommand::Add { id, name, address } => {
                let v = call(c, Method::POST, "/api/v1/sync/devices", Some(json!({"device_id": id, "name": name, "addresses": address})))
                    .await?;
                if json_out { print_json(&v) } else { println!("Paired {} ({}).", s(&v, "device_id"), s(&v, "name")) }
            }
            DevicesCommand::Accept { id } => {
                let v = call(c, Method::POST, "/api/v1/sync/devices", Some(json!({"device_id": id}))).await?;
                if json_out { print_json(&v) } else { println!("Paired {} ({}).", s(&v, "device_id"), s(&v, "name")) }
            }
            DevicesCommand::Remove { id } => {
                call(c, Method::DELETE, &format!("/api/v1/sync/devices/{id}"), None).await?;
                if !json_out {
                    println!("Unpaired {id}.");
                }
            }
        },
        SyncCommand::Folders { command } => match command {
            FoldersCommand::List => {
                let v = call(c, Method::GET, "/api/v1/sync/folders", None).await?;
                if json_out {
                    print_json(&v);
                    return Ok(());
                }
                println!("shared:");
                for f in v["folders"].as_array().unwrap_or(&empty) {
                    println!(
                        "  {}  \"{}\"  {}  {}  {}  {} files, {}; needs {} ({})",
                        s(f, "id"),
                        s(f, "label"),
                        s(f, "type"),
                        s(f, "path"),
                        s(f, "state"),
                        f["local_files"],
                        size(f["local_bytes"].as_u64().unwrap_or(0)),
                        f["need_files"],
                        size(f["need_bytes"].as_u64().unwrap_or(0)),
                    );
                    if let Some(e) = f["last_error"].as_str() {
                        println!("      error: {e}");
                    }
                    for d in f["devices"].as_array().unwrap_or(&empty) {
                        let state = if d["connected"].as_bool() == Some(true) { "connected" } else { "not connected" };
                        println!("      {}  {}%  {state}", s(d, "device_id"), d["completion"]);
                    }
                }
                println!("offered by paired devices:");
                for f in v["pending"].as_array().unwrap_or(&empty) {
                    println!("  {}  \"{}\"  from {}", s(f, "folder_id"), s(f, "label"), s(f, "device_id"));
                }
            }
            FoldersCommand::Add { id, path, label, kind, devices, keep_days } => {
                let body = json!({"id": id, "path": path, "label": label, "type": kind, "devices": devices, "keep_days": keep_days});
                let v = call(c, Method::POST, "/api/v1/sync/folders", Some(body)).await?;
                if json_out { print_json(&v) } else { println!("Sharing {} ({}) at {}.", s(&v, "folder_id"), s(&v, "kind"), s(&v, "path")) }
            }
            FoldersCommand::Accept { id, path, kind, keep_days } => {
                let body = json!({"id": id, "path": path, "type": kind, "keep_days": keep_days, "accept": true});
                let v = call(c, Method::POST, "/api/v1/sync/folders", Some(body)).await?;
                if json_out {
                    print_json(&v)
                } else {
                    println!("Accepted {} ({}) into {}.", s(&v, "folder_id"), s(&v, "kind"), s(&v, "path"))
                }
            }
            FoldersCommand::Share { id, device } => {
                call(c, Method::POST, &format!("/api/v1/sync/folders/{id}/devices"), Some(json!({"device_id": device}))).await?;
                if !json_out {
                    println!("Shared {id} with {device}.");
                }
            }
            FoldersCommand::Scan { id } => {
                call(c, Method::POST, &format!("/api/v1/sync/folders/{id}/scan"), None).await?;
                if !json_out {
                    println!("Scanning {id}.");
                }
            }
            FoldersCommand::Remove { id } => {
                call(c, Method::DELETE, &format!("/api/v1/sync/folders/{id}"), None).await?;
                if !json_out {
                    println!("Stopped sharing {id}; its files stay on the NAS.");
                }
            }
        },
        SyncCommand::Status => {
            let v = call(c, Method::GET, "/api/v1/sync/connections", None).await?;
            if json_out {
                print_json(&v);
                return Ok(());
            }
            println!("connected devices:");
            for p in v["connections"].as_array().unwrap_or(&empty) {
                println!(
                    "  {}  {}  {}  {}  in {} ({}/s)  out {} ({}/s)",
                    s(p, "device_id"),
                    s(p, "name"),
                    s(p, "client"),
                    s(p, "address"),
                    size(p["bytes_in"].as_u64().unwrap_or(0)),
                    size(p["rate_in"].as_u64().unwrap_or(0)),
                    size(p["bytes_out"].as_u64().unwrap_or(0)),
                    size(p["rate_out"].as_u64().unwrap_or(0)),
                );
            }
        }
        SyncCommand::Versions { folder, restore } => {
            if let Some(version) = restore {
                call(c, Method::POST, &format!("/api/v1/sync/folders/{folder}/versions/restore"), Some(json!({"version": version})))
                    .await?;
                if !json_out {
                    println!("Restored {version}; what was there is kept as a version.");
                }
                return Ok(());
            }
            let v = call(c, Method::GET, &format!("/api/v1/sync/folders/{folder}/versions"), None).await?;
            if json_out {
                print_json(&v);
                return Ok(());
            }
            for ver in v["versions"].as_array().unwrap_or(&empty) {
                println!("  {}  {:>10}  {}", s(ver, "version"), size(ver["size"].as_u64().unwrap_or(0)), s(ver, "name"));
            }
        }
    }
    Ok(())
}
