//! `hearth backup …`: the backup repository commands. They work without a running hearthd (a
//! disaster-recovery machine needs only this binary, the repository and the password).

use crate::size;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use hearth_backup::cache::Cache;
use hearth_backup::commands::{backup, check, diff, forget, key, ls, prune, restore, stats};
use hearth_backup::crypto::{Cipher, cpu_has_aes};
use hearth_backup::keyfile::Kdf;
use hearth_backup::tree::NodeType;
use hearth_backup::{BackupError, Repository, backend};
use hearth_core::Kinded;

/// Repository and password, shared by every backup command.
#[derive(clap::Args, Debug)]
pub struct RepoArgs {
    /// The repository: a folder, rest:http(s)://HOST/PATH (restic REST server) or s3:http(s)://HOST/BUCKET[/PREFIX].
    #[arg(long, env = "HEARTH_BACKUP_REPO")]
    repo: String,
    /// Read the password from this file (first line).
    #[arg(long, env = "HEARTH_BACKUP_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
    /// Delete stale locks (expired, or of a process on this host that is gone) instead of ignoring them.
    #[arg(long)]
    remove_stale_locks: bool,
    /// Where to cache a network repository's index files and trees (default: $XDG_CACHE_HOME/hearth/backup).
    #[arg(long, env = "HEARTH_BACKUP_CACHE")]
    cache_dir: Option<PathBuf>,
    /// Do not cache anything locally.
    #[arg(long)]
    no_cache: bool,
}

/// Retention rules of `forget`.
#[derive(clap::Args, Debug)]
pub struct KeepArgs {
    /// Keep the newest N snapshots.
    #[arg(long, default_value_t = 0)]
    keep_last: u32,
    /// Keep the newest snapshot of each of the last N hours that have one.
    #[arg(long, default_value_t = 0)]
    keep_hourly: u32,
    /// … of the last N days.
    #[arg(long, default_value_t = 0)]
    keep_daily: u32,
    /// … of the last N ISO weeks.
    #[arg(long, default_value_t = 0)]
    keep_weekly: u32,
    /// … of the last N months.
    #[arg(long, default_value_t = 0)]
    keep_monthly: u32,
    /// … of the last N years.
    #[arg(long, default_value_t = 0)]
    keep_yearly: u32,
    /// Keep every snapshot taken within this span of the newest (e.g. 30d, 6m, 1y2m, 12h).
    #[arg(long)]
    keep_within: Option<String>,
    /// Keep snapshots with this tag.
    #[arg(long)]
    keep_tag: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// List the keys (one per password).
    List {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Add a password. The new one is read from HEARTH_BACKUP_NEW_PASSWORD, --new-password-file or a prompt.
    Add {
        #[command(flatten)]
        repo: RepoArgs,
        /// Read the new password from this file (first line).
        #[arg(long)]
        new_password_file: Option<PathBuf>,
    },
    /// Remove a key by its name (a unique prefix, as `key list` shows it).
    Remove {
        #[command(flatten)]
        repo: RepoArgs,
        /// Key name or prefix.
        key: String,
    },
    /// Change the password used to open the repository (adds the new key, removes the old).
    Passwd {
        #[command(flatten)]
        repo: RepoArgs,
        /// Read the new password from this file (first line).
        #[arg(long)]
        new_password_file: Option<PathBuf>,
    },
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
        /// Do not wait until the restored files are on disk (faster; like cp and restic).
        #[arg(long)]
        no_sync: bool,
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
    /// Show what changed between two snapshots.
    Diff {
        #[command(flatten)]
        repo: RepoArgs,
        /// The older snapshot (a unique prefix or "latest").
        a: String,
        /// The newer snapshot.
        b: String,
    },
    /// Remove snapshots by a retention policy (then `prune` frees their space).
    Forget {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        keep: KeepArgs,
        /// Only show what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Prune afterwards.
        #[arg(long)]
        prune: bool,
    },
    /// Delete data no snapshot uses; repack packs that are partly unused.
    Prune {
        #[command(flatten)]
        repo: RepoArgs,
        /// Tolerate this share of unused bytes (of used bytes) instead of repacking, e.g. 5%.
        #[arg(long, value_parser = parse_percent_or_zero, default_value = "5%")]
        max_unused: u8,
        /// Only show what would be done.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage passwords.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Sizes: restore size, unique and stored bytes, packs, keys.
    Stats {
        #[command(flatten)]
        repo: RepoArgs,
        /// Only this snapshot (default: all).
        snapshot: Option<String>,
    },
}

fn parse_percent_or_zero(s: &str) -> Result<u8, String> {
    let n: u8 = s.trim_end_matches('%').parse().map_err(|_| format!("{s:?} is not a percentage"))?;
    if n <= 100 { Ok(n) } else { Err("allowed is 0% to 100%".into()) }
}

fn parse_percent(s: &str) -> Result<u8, String> {
    let n: u8 = s.trim_end_matches('%').parse().map_err(|_| format!("{s:?} is not a percentage"))?;
    if (1..=100).contains(&n) { Ok(n) } else { Err("allowed is 1% to 100%".into()) }
}

fn password(args: &RepoArgs, confirm: bool) -> anyhow::Result<String> {
    read_password("HEARTH_BACKUP_PASSWORD", args.password_file.as_deref(), "Repository password: ", confirm)
}

fn new_password(file: Option<&std::path::Path>) -> anyhow::Result<String> {
    read_password("HEARTH_BACKUP_NEW_PASSWORD", file, "New password: ", true)
}

/// A password from the environment variable `var`, a file, a hidden prompt on a terminal, or
/// the first line of standard input.
fn read_password(var: &str, file: Option<&std::path::Path>, prompt: &str, confirm: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read the password file {}", f.display()))?;
        return Ok(text.lines().next().unwrap_or("").to_string());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = crate::prompt_hidden(prompt)?;
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
    let b = backend::open(&args.repo).map_err(explain)?;
    let cache = match (&args.cache_dir, args.no_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) if b.is_remote() => Cache::default_base(),
        (None, false) => None,
    };
    let mut r = Repository::open_cached(b, pw.as_bytes(), cache.as_deref()).map_err(explain)?;
    r.remove_stale_locks = args.remove_stale_locks;
    Ok(r)
}

fn open_without_index(args: &RepoArgs) -> anyhow::Result<Repository> {
    let pw = password(args, false)?;
    let mut r = Repository::open_without_index(backend::open(&args.repo).map_err(explain)?, pw.as_bytes()).map_err(explain)?;
    r.remove_stale_locks = args.remove_stale_locks;
    Ok(r)
}

fn policy(k: KeepArgs) -> anyhow::Result<forget::KeepPolicy> {
    Ok(forget::KeepPolicy {
        last: k.keep_last,
        hourly: k.keep_hourly,
        daily: k.keep_daily,
        weekly: k.keep_weekly,
        monthly: k.keep_monthly,
        yearly: k.keep_yearly,
        within_secs: k.keep_within.as_deref().map(forget::parse_within).transpose().map_err(explain)?,
        tags: k.keep_tag,
    })
}

fn print_prune(r: &prune::PruneReport, dry_run: bool) {
    let verb = if dry_run { "would delete" } else { "deleted" };
    println!(
        "{} blobs in use; {verb} {} unused packs, {} orphaned packs, repacked {} packs into {}",
        r.blobs_used, r.packs_unused, r.packs_orphaned, r.packs_repacked, r.packs_written
    );
    println!("{verb} {}, wrote {}; {} unused left in kept packs", size(r.bytes_deleted), size(r.bytes_written), size(r.bytes_unused_left));
    if r.temporaries_removed > 0 {
        println!("deleted {} partial files left by interrupted writers", r.temporaries_removed);
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
            let r = open(&repo)?;
            let opts = backup::BackupOptions { paths, excludes: exclude, tags: tag, force, ..Default::default() };
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
        BackupCommand::Restore { repo, snapshot, target, include, no_sync } => {
            let r = open(&repo)?;
            let report = restore::run(&r, &restore::RestoreOptions { snapshot, include, target: target.clone(), workers: 0, no_sync })
                .map_err(explain)?;
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
            let mut r = open(&repo)?;
            let report = check::run(&mut r, check::CheckOptions { read_data, read_data_subset }).map_err(explain)?;
            println!(
                "checked {} snapshots, {} blobs in the index; read {} packs ({} blobs)",
                report.snapshots,
                r.index.len(),
                report.packs_read,
                report.blobs_read
            );
            if report.unindexed_packs > 0 {
                println!(
                    "{} packs are in no readable index but describe themselves (an interrupted backup, or a damaged index); the next backup or prune indexes them",
                    report.unindexed_packs
                );
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
        BackupCommand::Diff { repo, a, b } => {
            let r = open(&repo)?;
            let d = diff::run(&r, &a, &b).map_err(explain)?;
            for (change, path) in &d.changes {
                println!("{}    {}", change.mark(), path.display());
            }
            println!(
                "files: {} added, {} removed, {} changed; data: {} added, {} removed",
                d.files_added,
                d.files_removed,
                d.files_modified,
                size(d.bytes_added),
                size(d.bytes_removed)
            );
            Ok(0)
        }
        BackupCommand::Forget { repo: args, keep, dry_run, prune: then_prune } => {
            let r = open(&args)?;
            let report = forget::run(&r, &policy(keep)?, dry_run).map_err(explain)?;
            for g in &report.groups {
                println!("{} {}:", g.host, g.paths.join(" "));
                for d in &g.decisions {
                    let what = if d.reasons.is_empty() { "remove".to_string() } else { format!("keep ({})", d.reasons.join(", ")) };
                    println!("  {}  {}  {what}", &d.name[..12], d.time.get(..19).unwrap_or(&d.time).replace('T', " "));
                }
            }
            println!("{} {} snapshots", if dry_run { "would remove" } else { "removed" }, report.removed);
            if then_prune && !dry_run {
                let p = prune::run(r, prune::PruneOptions::default()).map_err(explain)?;
                print_prune(&p, false);
            }
            Ok(0)
        }
        BackupCommand::Prune { repo, max_unused, dry_run } => {
            let r = open(&repo)?;
            let p = prune::run(r, prune::PruneOptions { max_unused_percent: max_unused, dry_run }).map_err(explain)?;
            print_prune(&p, dry_run);
            Ok(0)
        }
        BackupCommand::Key { command } => match command {
            KeyCommand::List { repo } => {
                let r = open_without_index(&repo)?;
                println!("  {:<12}  {:<20}  {:<16}  user", "key", "created", "host");
                for k in key::list(&r).map_err(explain)? {
                    println!(
                        "{} {:<12}  {:<20}  {:<16}  {}",
                        if k.current { "*" } else { " " },
                        &k.name[..12],
                        k.created.get(..19).unwrap_or(&k.created).replace('T', " "),
                        k.host,
                        k.user
                    );
                }
                Ok(0)
            }
            KeyCommand::Add { repo, new_password_file } => {
                let r = open_without_index(&repo)?;
                let pw = new_password(new_password_file.as_deref())?;
                let name = key::add(&r, pw.as_bytes(), Kdf::standard().map_err(explain)?).map_err(explain)?;
                println!("added key {}", &name[..12]);
                Ok(0)
            }
            KeyCommand::Remove { repo, key: which } => {
                let r = open_without_index(&repo)?;
                let name = key::remove(&r, &which).map_err(explain)?;
                println!("removed key {}", &name[..12]);
                Ok(0)
            }
            KeyCommand::Passwd { repo, new_password_file } => {
                let mut r = open_without_index(&repo)?;
                let pw = new_password(new_password_file.as_deref())?;
                let name = key::passwd(&mut r, pw.as_bytes(), Kdf::standard().map_err(explain)?).map_err(explain)?;
                println!("password changed (key {})", &name[..12]);
                Ok(0)
            }
        },
        BackupCommand::Stats { repo, snapshot } => {
            let r = open(&repo)?;
            let s = stats::run(&r, snapshot.as_deref()).map_err(explain)?;
            println!("snapshots:        {}", s.snapshots);
            println!("files:            {}", s.files);
            println!("restore size:     {}", size(s.restore_bytes));
            println!("unique data:      {} in {} blobs", size(s.unique_bytes), s.unique_blobs);
            println!("stored:           {}", size(s.stored_bytes));
            if s.unique_data_bytes > 0 {
                println!(
                    "deduplication:    {:.2}× (file bytes per stored content byte)",
                    s.restore_bytes as f64 / s.unique_data_bytes as f64
                );
            }
            if s.unique_bytes > 0 {
                println!("compression:      {:.2}×", s.unique_bytes as f64 / s.stored_bytes.max(1) as f64);
            }
            println!("repository data:  {} in {} packs", size(s.pack_bytes), s.packs);
            println!("keys:             {}", s.keys);
            Ok(0)
        }
    }
}
