//! `hearth family-folders`: the folders the family shares (docs/files.md, "Family folders"), made,
//! listed, given to members and removed, each a call to hearthd's admin API. A folder is named
//! by its name or its id, as `list` shows them.

use clap::Subcommand;
use hearth_api::client::Client;
use hyper::Method;
use serde_json::{Value, json};

use crate::{call, print_json};

#[derive(Subcommand, Debug, Clone)]
pub enum FamilyFoldersCommand {
    /// Every family folder with its members and what each may do.
    List,
    /// Make a family folder; it appears at the root of each member's files.
    Add {
        /// Its name (one folder name: no '/').
        name: String,
        /// A member who may add, change and delete its files (repeat for more).
        #[arg(long = "writer")]
        writers: Vec<String>,
        /// A member who may only see and download them (repeat for more).
        #[arg(long = "reader")]
        readers: Vec<String>,
    },
    /// Give a member the folder, change what they may do, or take it from them (`none`).
    Member {
        /// The folder's name or id.
        folder: String,
        /// The member's login name.
        user: String,
        /// write, read or none.
        #[arg(value_parser = ["write", "read", "none"])]
        access: String,
    },
    /// Remove a family folder; it must be empty (its files are moved out or deleted first).
    Remove {
        /// The folder's name or id.
        folder: String,
    },
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The id of the folder `named` (its name, any case, or its id).
async fn folder_id(c: &Client, named: &str) -> anyhow::Result<i64> {
    let v = call(c, Method::GET, "/api/v1/family-folders", None).await?;
    let folders = v["folders"].as_array().cloned().unwrap_or_default();
    let by_name = folders.iter().find(|f| f["name"].as_str().is_some_and(|n| n.to_lowercase() == named.to_lowercase()));
    let by_id = || folders.iter().find(|f| f["id"].as_i64().is_some_and(|id| id.to_string() == named));
    match by_name.or_else(by_id).and_then(|f| f["id"].as_i64()) {
        Some(id) => Ok(id),
        None => anyhow::bail!("no family folder is named {named:?}; `hearth family-folders list` shows them"),
    }
}

fn show(folder: &Value) {
    let members: Vec<String> = folder["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| format!("{} ({})", m["name"].as_str().unwrap_or("?"), m["access"].as_str().unwrap_or("?")))
        .collect();
    let members = if members.is_empty() { "no members".to_string() } else { members.join(", ") };
    println!("{:>4}  {}  {members}", folder["id"], folder["name"].as_str().unwrap_or("?"));
}

/// Runs one `hearth family-folders` command.
pub async fn run(c: &Client, json_out: bool, command: FamilyFoldersCommand) -> anyhow::Result<()> {
    match command {
        FamilyFoldersCommand::List => {
            let v = call(c, Method::GET, "/api/v1/family-folders", None).await?;
            if json_out {
                print_json(&v);
                return Ok(());
            }
            let folders = v["folders"].as_array().cloned().unwrap_or_default();
            if folders.is_empty() {
                println!("There are no family folders yet; `hearth family-folders add NAME --writer USER` makes one.");
            }
            for f in &folders {
                show(f);
            }
        }
        FamilyFoldersCommand::Add { name, writers, readers } => {
            if let Some(both) = writers.iter().find(|w| readers.iter().any(|r| r.eq_ignore_ascii_case(w))) {
                anyhow::bail!("{both} is named both as a writer and as a reader; name them once");
            }
            let members: Vec<Value> = writers
                .iter()
                .map(|n| json!({"name": n, "access": "write"}))
                .chain(readers.iter().map(|n| json!({"name": n, "access": "read"})))
                .collect();
            let v = call(c, Method::POST, "/api/v1/family-folders", Some(json!({"name": name, "members": members}))).await?;
            if json_out { print_json(&v) } else { show(&v) }
        }
        FamilyFoldersCommand::Member { folder, user, access } => {
            let id = folder_id(c, &folder).await?;
            let path = format!("/api/v1/family-folders/{id}/members/{}", encode(&user));
            if access == "none" {
                call(c, Method::DELETE, &path, None).await?;
                if !json_out {
                    println!("{user} no longer sees {folder}; its files stay in it.");
                }
            } else {
                let v = call(c, Method::PUT, &path, Some(json!({"access": access}))).await?;
                if json_out { print_json(&v) } else { show(&v) }
            }
        }
        FamilyFoldersCommand::Remove { folder } => {
            let id = folder_id(c, &folder).await?;
            call(c, Method::DELETE, &format!("/api/v1/family-folders/{id}"), None).await?;
            if !json_out {
                println!("{folder} is removed.");
            }
        }
    }
    Ok(())
}
