//! `hearth backups`: the box's own backup service (targets, jobs, runs, drills, restores) — each a
//! call to hearthd's API (docs/cli.md). `hearth backup` is the other thing: a repository worked on
//! directly, without a daemon.

use clap::Subcommand;
use hearth_api::client::Client;
use hyper::Method;
use serde_json::{Value, json};

use crate::{call, print_json, read_secret_line, size};

// Parsed once per run of the CLI: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug, Clone)]
pub enum BackupsCommand {
    /// The password, places, jobs with their progress and last runs, and alerts.
    Status,
    /// Set up the backup password once: a recovery key is made and printed (keep it safe), or
    /// with --own-password one is read from standard input.
    Key {
        /// Read a password of your own (12 characters or more) instead of making a recovery key.
        #[arg(long)]
        own_password: bool,
    },
    /// Places backups go.
    Targets {
        #[command(subcommand)]
        command: TargetsCommand,
    },
    /// What is backed up, where and when.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Restore a sample of files from a place now and compare them.
    Drill {
        /// The target id.
        target: i64,
    },
    /// Read a tenth of a place's backup back now and check it.
    Check {
        /// The target id.
        target: i64,
    },
    /// Runs, newest first.
    Runs {
        /// Only this job's.
        #[arg(long)]
        job: Option<i64>,
        /// Only this target's.
        #[arg(long)]
        target: Option<i64>,
    },
    /// Snapshots on a place, newest first.
    Snapshots {
        /// The target id.
        target: i64,
    },
    /// The entries of one folder of a snapshot.
    Ls {
        /// The target id.
        target: i64,
        /// The snapshot's name (or a unique prefix).
        snapshot: String,
        /// A folder inside the snapshot (its top when absent).
        path: Option<String>,
    },
    /// Restore a snapshot, a folder or a file: into a new folder under DATA/restored/, or with
    /// --in-place back where it was (what is there now is kept beside it).
    Restore {
        /// The target id.
        target: i64,
        /// The snapshot's name (or a unique prefix).
        snapshot: String,
        /// What, inside the snapshot (everything when absent).
        #[arg(long)]
        path: Option<String>,
        /// Put it back where it was.
        #[arg(long)]
        in_place: bool,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum TargetsCommand {
    /// Connect to a place and say what is there, writing nothing.
    Test(TargetArgs),
    /// Test a place, make the backup repository there if it is empty, and save it.
    Add(TargetArgs),
    /// Forget a place (its backups stay there).
    Remove {
        /// The target id.
        id: i64,
    },
    /// The certificate another Hearth presents, to compare with its Box page before pinning it.
    Certificate {
        /// https://NAME.local[:PORT]
        address: String,
    },
}

/// A place, by kind. Passwords and secret keys are read from standard input.
#[derive(clap::Args, Debug, Clone)]
pub struct TargetArgs {
    /// A name for people.
    #[arg(long, default_value = "")]
    name: String,
    /// A folder on a mounted disk (a USB disk).
    #[arg(long, group = "kind")]
    folder: Option<String>,
    /// Another Hearth: its address, https://NAME.local[:PORT] (with --user, --repository, --cert;
    /// its app password on standard input).
    #[arg(long, group = "kind")]
    hearth: Option<String>,
    /// A restic REST server's repository URL (with --user, the password on standard input).
    #[arg(long, group = "kind")]
    rest: Option<String>,
    /// An S3 endpoint, https://HOST[:PORT] (with --bucket, --access-key-id; the secret key on
    /// standard input).
    #[arg(long, group = "kind")]
    s3: Option<String>,
    /// The user on the other Hearth or the REST server.
    #[arg(long)]
    user: Option<String>,
    /// The repository's name on the other Hearth.
    #[arg(long, default_value = "hearth-backup")]
    repository: String,
    /// The other Hearth's certificate fingerprint (SHA-256, from its Box page).
    #[arg(long)]
    cert: Option<String>,
    /// The S3 bucket.
    #[arg(long)]
    bucket: Option<String>,
    /// A folder in the bucket.
    #[arg(long, default_value = "")]
    prefix: String,
    /// The S3 region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The S3 access key id.
    #[arg(long)]
    access_key_id: Option<String>,
}

impl TargetArgs {
    fn body(&self) -> anyhow::Result<Value> {
        let (target, secret) = if let Some(path) = &self.folder {
            (json!({"kind": "folder", "path": path}), json!({}))
        } else if let Some(address) = &self.hearth {
            let password = read_secret_line("App password made on the other box")?;
            (
                json!({"kind": "hearth", "address": address, "user": self.user.clone().unwrap_or_default(),
                       "repository": self.repository, "cert_sha256": self.cert.clone().unwrap_or_default()}),
                json!({"password": password}),
            )
        } else if let Some(url) = &self.rest {
            match &self.user {
                Some(user) => {
                    let password = read_secret_line("The REST server's password")?;
                    (json!({"kind": "rest", "url": url, "user": user}), json!({"password": password}))
                }
                None => (json!({"kind": "rest", "url": url}), json!({})),
            }
        } else if let Some(endpoint) = &self.s3 {
            let secret = read_secret_line("Secret access key")?;
            (
                json!({"kind": "s3", "endpoint": endpoint, "bucket": self.bucket.clone().unwrap_or_default(), "prefix": self.prefix,
                       "region": self.region, "access_key_id": self.access_key_id.clone().unwrap_or_default()}),
                json!({"secret_access_key": secret}),
            )
        } else {
            anyhow::bail!("say where: --folder PATH, --hearth ADDRESS, --rest URL or --s3 ENDPOINT");
        };
        Ok(json!({"name": self.name, "target": target, "secret": secret}))
    }
}

#[derive(Subcommand, Debug, Clone)]
pub enum JobsCommand {
    /// Add a job: everything on the box, nightly at 03:00, keeping 7 daily, 4 weekly, 12 monthly
    /// and 3 yearly snapshots, unless told otherwise.
    Add {
        /// A name for people.
        name: String,
        /// The target id.
        #[arg(long)]
        target: i64,
        /// `daily HH:MM`, `weekly DAY HH:MM`, `hourly` or `manual`.
        #[arg(long)]
        schedule: Option<String>,
        /// Only these folders (relative to the data folder; repeat); the catalog is always included.
        #[arg(long = "path")]
        paths: Vec<String>,
    },
    /// Change a job's schedule, or pause and resume it.
    Change {
        /// The job id.
        id: i64,
        /// `daily HH:MM`, `weekly DAY HH:MM`, `hourly` or `manual`.
        #[arg(long)]
        schedule: Option<String>,
        /// Stop running it on schedule.
        #[arg(long, conflicts_with = "resume")]
        pause: bool,
        /// Run it on schedule again.
        #[arg(long)]
        resume: bool,
    },
    /// Back up now.
    Run {
        /// The job id.
        id: i64,
    },
    /// Remove a job (its snapshots stay on the target).
    Remove {
        /// The job id.
        id: i64,
    },
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn run_line(r: &Value) -> String {
    let mut line = format!("run {} {} {}", r["id"], s(r, "kind"), s(r, "state"));
    if let (Some(done), Some(total)) = (r["bytes_done"].as_u64(), r["bytes_total"].as_u64())
        && s(r, "state") == "running"
    {
        line.push_str(&format!(" {} of {}", size(done), size(total)));
        if let Some(eta) = r["eta_seconds"].as_i64() {
            line.push_str(&format!(", {eta} s left"));
        }
    }
    if !s(r, "message").is_empty() {
        line.push_str(&format!(": {}", s(r, "message")));
    }
    line
}

/// Run one `hearth backups` command.
pub async fn run(c: &Client, json_out: bool, command: BackupsCommand) -> anyhow::Result<()> {
    let empty = Vec::new();
    let queued = |v: &Value| println!("run {} queued", v["run_id"]);
    match command {
        BackupsCommand::Status => {
            let v = call(c, Method::GET, "/api/v1/backups", None).await?;
            if json_out {
                print_json(&v);
                return Ok(());
            }
            println!("backup password: {}", v["password"].as_str().unwrap_or("not set up"));
            for a in v["alerts"].as_array().unwrap_or(&empty) {
                println!("! {}", s(a, "message"));
            }
            println!("targets:");
            for t in v["targets"].as_array().unwrap_or(&empty) {
                println!("  {}  {} ({})  {}", t["id"], s(t, "name"), s(t, "kind"), s(t, "location"));
                if t["last_drill"].is_object() {
                    println!("      last drill: {}", run_line(&t["last_drill"]));
                }
            }
            println!("jobs:");
            for j in v["jobs"].as_array().unwrap_or(&empty) {
                println!(
                    "  {}  {} → target {}  {}{}",
                    j["id"],
                    s(j, "name"),
                    j["target_id"],
                    s(j, "schedule"),
                    if j["enabled"] == false { " (paused)" } else { "" }
                );
                for key in ["current", "last"] {
                    if j[key].is_object() {
                        println!("      {key}: {}", run_line(&j[key]));
                    }
                }
            }
        }
        BackupsCommand::Key { own_password } => {
            let body = if own_password { json!({"password": read_secret_line("Backup password")?}) } else { json!({}) };
            let v = call(c, Method::POST, "/api/v1/backups/password", Some(body)).await?;
            match v["recovery_key"].as_str() {
                Some(key) if !json_out => {
                    println!("Recovery key (shown this once; without it an off-site backup cannot be restored):\n\n    {key}\n")
                }
                _ if json_out => print_json(&v),
                _ => println!("The backup password is set."),
            }
        }
        BackupsCommand::Targets { command } => match command {
            TargetsCommand::Test(args) => {
                let v = call(c, Method::POST, "/api/v1/backups/targets/test", Some(args.body()?)).await?;
                if json_out { print_json(&v) } else { println!("{}: {}", s(&v, "location"), s(&v, "repository")) }
            }
            TargetsCommand::Add(args) => {
                let v = call(c, Method::POST, "/api/v1/backups/targets", Some(args.body()?)).await?;
                if json_out { print_json(&v) } else { println!("target {} added ({})", v["id"], s(&v, "repository")) }
            }
            TargetsCommand::Remove { id } => {
                call(c, Method::DELETE, &format!("/api/v1/backups/targets/{id}"), None).await?;
            }
            TargetsCommand::Certificate { address } => {
                let v = call(c, Method::POST, "/api/v1/backups/certificate", Some(json!({"address": address}))).await?;
                if json_out { print_json(&v) } else { println!("{}", s(&v, "cert_sha256")) }
            }
        },
        BackupsCommand::Jobs { command } => match command {
            JobsCommand::Add { name, target, schedule, paths } => {
                let scope = if paths.is_empty() { json!({"what": "everything"}) } else { json!({"what": "paths", "paths": paths}) };
                let body = json!({"name": name, "target_id": target, "schedule": schedule, "scope": scope});
                let v = call(c, Method::POST, "/api/v1/backups/jobs", Some(body)).await?;
                if json_out { print_json(&v) } else { println!("job {} added", v["id"]) }
            }
            JobsCommand::Change { id, schedule, pause, resume } => {
                let enabled = if pause {
                    Some(false)
                } else if resume {
                    Some(true)
                } else {
                    None
                };
                call(c, Method::PATCH, &format!("/api/v1/backups/jobs/{id}"), Some(json!({"schedule": schedule, "enabled": enabled})))
                    .await?;
            }
            JobsCommand::Run { id } => {
                let v = call(c, Method::POST, &format!("/api/v1/backups/jobs/{id}/run"), None).await?;
                if json_out { print_json(&v) } else { queued(&v) }
            }
            JobsCommand::Remove { id } => {
                call(c, Method::DELETE, &format!("/api/v1/backups/jobs/{id}"), None).await?;
            }
        },
        BackupsCommand::Drill { target } | BackupsCommand::Check { target } => {
            let what = if matches!(command, BackupsCommand::Drill { .. }) { "drill" } else { "check" };
            let v = call(c, Method::POST, &format!("/api/v1/backups/targets/{target}/{what}"), None).await?;
            if json_out { print_json(&v) } else { queued(&v) }
        }
        BackupsCommand::Runs { job, target } => {
            let mut q = Vec::new();
            if let Some(j) = job {
                q.push(format!("job={j}"));
            }
            if let Some(t) = target {
                q.push(format!("target={t}"));
            }
            let v = call(c, Method::GET, &format!("/api/v1/backups/runs?{}", q.join("&")), None).await?;
            if json_out {
                print_json(&v)
            } else {
                for r in v["runs"].as_array().unwrap_or(&empty) {
                    println!("{}", run_line(r));
                }
            }
        }
        BackupsCommand::Snapshots { target } => {
            let v = call(c, Method::GET, &format!("/api/v1/backups/targets/{target}/snapshots"), None).await?;
            if json_out {
                print_json(&v)
            } else {
                for snap in v["snapshots"].as_array().unwrap_or(&empty) {
                    let short: String = s(snap, "name").chars().take(12).collect();
                    println!("{short}  {}  {}  {} files", s(snap, "time"), s(snap, "host"), snap["files"]);
                }
            }
        }
        BackupsCommand::Ls { target, snapshot, path } => {
            let q = path.map(|p| format!("?path={}", percent(&p))).unwrap_or_default();
            let v = call(c, Method::GET, &format!("/api/v1/backups/targets/{target}/snapshots/{snapshot}/entries{q}"), None).await?;
            if json_out {
                print_json(&v)
            } else {
                for e in v["entries"].as_array().unwrap_or(&empty) {
                    let size = e["size"].as_u64().map(size).unwrap_or_default();
                    println!("{:6}  {:>10}  {}", s(e, "kind"), size, s(e, "path"));
                }
            }
        }
        BackupsCommand::Restore { target, snapshot, path, in_place } => {
            let destination = if in_place { "in_place" } else { "new_folder" };
            let body = json!({"snapshot": snapshot, "path": path, "destination": destination});
            let v = call(c, Method::POST, &format!("/api/v1/backups/targets/{target}/restore"), Some(body)).await?;
            if json_out { print_json(&v) } else { queued(&v) }
        }
    }
    Ok(())
}

/// Percent-encode a query value.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
