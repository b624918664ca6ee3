//! `hearth backup …`: the backup repository commands. They work without a running hearthd (a
//! disaster-recovery machine needs only this binary, the repository and the password).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use hearth_backup::commands::{backup, check, ls, restore};
use hearth_backup::crypto::{Cipher, cpu_has_aes};
use hearth_backup::keyfile::Kdf;
use hearth_backup::tree::NodeType;
use hearth_backup::{BackupError, Repository, backend};
use hearth_core::Kinded;

/// Repository and password, shared by every backup command.
#[derive(clap::Args, Debug)]
pub struct RepoArgs {
    /// The repository: a folder (rest: and s3: are planned).
    #[arg(long, env = "HEARTH_BACKUP_REPO")]
    repo: String,
    /// Read the password from this file (first line).
    #[arg(long, env = "HEARTH_BACKUP_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Create a repository.
    Init {
        #[command(flatten)]
        repo: RepoArgs,
        /// aes-256-gcm or chacha20-poly1305 (default: chosen from this CPU's AES support).
        #[arg(long)]
        cipher: Option<String>,
    },
    /// Back up files and folders into a new snapshot.
    Run {
        #[command(flatten)]
        repo: RepoArgs,
        /// What to back up.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Skip matching entries (a pattern without '/' matches names anywhere).
        #[arg(long)]
        exclude: Vec<String>,
        /// Tag the snapshot.
        #[arg(long)]
        tag: Vec<String>,
        /// Read every file, even those unchanged since the last snapshot.
        #[arg(long)]
        force: bool,
    },
    /// List snapshots.
    Snapshots {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// List what a snapshot holds.
    Ls {
        #[command(flatten)]
        repo: RepoArgs,
        /// Snapshot name (a unique prefix) or "latest".
        snapshot: String,
        /// Only below this path.
        path: Option<PathBuf>,
    },
    /// Restore a snapshot into a folder.
    Restore {
        #[command(flatten)]
        repo: RepoArgs,
        /// Snapshot name (a unique prefix) or "latest".
        snapshot: String,
        /// Where to write.
        #[arg(long)]
        target: PathBuf,
        /// Only this path of the snapshot (as `ls` shows it).
        #[arg(long)]
        include: Option<PathBuf>,
    },
    /// Verify the repository.
    Check {
        #[command(flatten)]
        repo: RepoArgs,
        /// Read and authenticate every blob.
        #[arg(long)]
        read_data: bool,
        /// Read this share of the packs, e.g. 10%.
        #[arg(long, value_parser = parse_percent)]
        read_data_subset: Option<u8>,
    },
}

fn parse_percent(s: &str) -> Result<u8, String> {
    let n: u8 = s.trim_end_matches('%').parse().map_err(|_| format!("{s:?} is not a percentage"))?;
    if (1..=100).contains(&n) { Ok(n) } else { Err("allowed is 1% to 100%".into()) }
}

fn password(args: &RepoArgs, confirm: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("HEARTH_BACKUP_PASSWORD") {
        return Ok(p);
    }
    if let Some(f) = &args.password_file {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read the password file {}", f.display()))?;
        return Ok(text.lines().next().unwrap_or("").to_string());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = crate::prompt_hidden("Repository password: ")?;
        if confirm && crate::prompt_hidden("Again: ")? != first {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn explain(e: BackupError) -> anyhow::Error {
    match e.guidance() {
        Some(g) => anyhow::anyhow!("{e}\n  what to do: {g}"),
        None => anyhow::anyhow!("{e}"),
    }
}

fn open(args: &RepoArgs) -> anyhow::Result<Repository> {
    let pw = password(args, false)?;
    Repository::open(backend::open(&args.repo).map_err(explain)?, pw.as_bytes()).map_err(explain)
}

fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// Run a backup command; the exit code is 0 (done), 1 (failed) or 3 (done, but partial: some
/// files could not be read or restored).
pub fn run(cmd: BackupCommand) -> anyhow::Result<u8> {
    match cmd {
        BackupCommand::Init { repo, cipher } => {
            let cipher = match cipher.as_deref() {
                Some(c) => Cipher::parse(c).map_err(explain)?,
                None => Cipher::for_cpu(cpu_has_aes()),
            };
            let pw = password(&repo, true)?;
            let r = Repository::init(backend::open(&repo.repo).map_err(explain)?, pw.as_bytes(), cipher, Kdf::standard().map_err(explain)?)
                .map_err(explain)?;
            println!("created repository {} at {} ({})", r.config.id, repo.repo, cipher.name());
            Ok(0)
        }
        BackupCommand::Run { repo, paths, exclude, tag, force } => {
            let r = Arc::new(open(&repo)?);
            let opts = backup::BackupOptions { paths, excludes: exclude, tags: tag, workers: 0, force };
            let report = backup::run(r, &opts).map_err(explain)?;
            let s = &report.snapshot.summary;
            println!("snapshot {} saved", &report.name[..12]);
            println!("files: {} new, {} changed, {} unchanged; {} folders", s.files_new, s.files_changed, s.files_unmodified, s.dirs);
            println!(
                "read {}, added {}, stored {} in {:.1} s",
                size(s.bytes_read),
                size(s.bytes_added),
                size(s.bytes_stored),
                s.duration_ms as f64 / 1000.0
            );
            if report.snapshot.partial {
                eprintln!("the snapshot is partial; these could not be read:");
                for e in &report.snapshot.errors {
                    eprintln!("  {}: {}", e.path, e.error);
                }
                return Ok(3);
            }
            Ok(0)
        }
        BackupCommand::Snapshots { repo } => {
            let r = open(&repo)?;
            let (snaps, damaged) = r.snapshots().map_err(explain)?;
            println!("{:<12}  {:<20}  {:<12}  {:<10}  paths", "name", "time", "host", "tags");
            for (name, s) in &snaps {
                println!(
                    "{:<12}  {:<20}  {:<12}  {:<10}  {}{}",
                    &name[..12],
                    s.time.get(..19).unwrap_or(&s.time).replace('T', " "),
                    s.host,
                    s.tags.join(","),
                    s.paths.join(" "),
                    if s.partial { "  (partial)" } else { "" }
                );
            }
            for d in damaged {
                eprintln!("{d}");
            }
            Ok(0)
        }
        BackupCommand::Ls { repo, snapshot, path } => {
            let r = open(&repo)?;
            for e in ls::run(&r, &snapshot, path.as_deref()).map_err(explain)? {
                let kind = match e.node.node_type {
                    Some(NodeType::Dir) => "d",
                    Some(NodeType::Symlink) => "l",
                    Some(NodeType::File) => "-",
                    _ => "?",
                };
                println!("{kind} {:>12}  {}", e.node.size.unwrap_or(0), e.path.display());
            }
            Ok(0)
        }
        BackupCommand::Restore { repo, snapshot, target, include } => {
            let r = open(&repo)?;
            let report =
                restore::run(&r, &restore::RestoreOptions { snapshot, include, target: target.clone(), workers: 0 }).map_err(explain)?;
            println!("restored {} files ({}) and {} folders into {}", report.files, size(report.bytes), report.dirs, target.display());
            if !report.errors.is_empty() {
                eprintln!("{} entries could not be restored:", report.errors.len());
                for (p, e) in &report.errors {
                    eprintln!("  {}: {e}", p.display());
                }
                return Ok(3);
            }
            Ok(0)
        }
        BackupCommand::Check { repo, read_data, read_data_subset } => {
            let r = open(&repo)?;
            let report = check::run(&r, check::CheckOptions { read_data, read_data_subset }).map_err(explain)?;
            println!(
                "checked {} snapshots, {} blobs in the index; read {} packs ({} blobs)",
                report.snapshots,
                r.index.len(),
                report.packs_read,
                report.blobs_read
            );
            if report.unindexed_packs > 0 {
                println!("{} packs are not in any index (left by an interrupted backup; prune removes them)", report.unindexed_packs);
            }
            if report.ok() {
                println!("no problems found");
                return Ok(0);
            }
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            for (snap, paths) in &report.affected {
                eprintln!("snapshot {} cannot restore:", &snap[..12]);
                for p in paths {
                    eprintln!("  {}", p.display());
                }
            }
            Ok(1)
        }
    }
}
