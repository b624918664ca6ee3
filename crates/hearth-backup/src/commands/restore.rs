//! `backup restore`: write a snapshot (or part of it) into a folder.
//!
//! Folders are made first, then files are written by several threads, each holding one blob in
//! memory at a time. A file is written under a temporary name and renamed when complete, so a
//! half-restored file never looks finished. Restored files are durable when restore returns:
//! large files are flushed by a background thread as soon as each is complete (the disk works
//! while the next ones are decrypted), the target filesystem once at the end (`sync -f`), not
//! per small file; `no_sync` leaves it to the kernel. A file whose blobs are missing or damaged is
//! reported and skipped; everything else is still restored.

use std::ffi::OsString;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use crate::blob::BlobId;
use crate::error::{BackupError, Result};
use crate::repository::Repository;
use crate::tree::{Node, NodeType};

/// What to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Snapshot name prefix or `latest`.
    pub snapshot: String,
    /// Only this path inside the snapshot (as shown by `ls`), with everything below it.
    pub include: Option<PathBuf>,
    /// Where to write.
    pub target: PathBuf,
    /// Parallel writers (0: 4).
    pub workers: usize,
    /// Leave flushing to the kernel's writeback (like cp, rsync and restic) instead of making
    /// the restored files durable before returning. Faster; a power cut soon after may lose
    /// restored files (the repository still has them).
    pub no_sync: bool,
}

/// What happened.
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    /// Files written.
    pub files: u64,
    /// Folders made.
    pub dirs: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Paths that could not be restored, and why.
    pub errors: Vec<(PathBuf, String)>,
}

struct FileJob {
    path: PathBuf,
    node: Node,
}

fn set_meta(path: &Path, node: &Node, is_root: bool) {
    if is_root {
        let _ = std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid));
    }
    if node.node_type != Some(NodeType::Symlink) {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(node.mode));
        let t = UNIX_EPOCH + Duration::from_nanos(node.mtime_ns.max(0) as u64);
        if let Ok(f) = File::open(path) {
            let _ = f.set_times(FileTimes::new().set_modified(t));
        }
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// Restore into `opts.target`.
pub fn run(repo: &Repository, opts: &RestoreOptions) -> Result<RestoreReport> {
    let _lock = repo.lock(crate::lock::LockMode::Shared)?;
    let (_, snap) = repo.find_snapshot(&opts.snapshot)?;
    fs::create_dir_all(&opts.target).map_err(|e| BackupError::io(opts.target.display().to_string(), e))?;
    let mut report = RestoreReport::default();
    let mut files = Vec::new();
    let mut dirs: Vec<(PathBuf, Node)> = Vec::new();
    let include: Option<Vec<OsString>> = opts.include.as_ref().map(|p| {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_os_string()),
                _ => None,
            })
            .collect()
    });
    let root = repo.load_tree(&snap.tree)?;
    plan(repo, &root.nodes, &opts.target, include.as_deref(), &mut files, &mut dirs, &mut report)?;
    if let Some(inc) = &include
        && files.is_empty()
        && dirs.is_empty()
        && report.errors.is_empty()
    {
        return Err(BackupError::Invalid(format!("{} is not in the snapshot", PathBuf::from_iter(inc).display())));
    }
    let root_user = is_root();
    let workers = if opts.workers == 0 { 4 } else { opts.workers };
    // Threads take whole folders of small files: creating files in one folder from several
    // threads contends on the folder's lock in the kernel, and that cost more than the writing
    // itself. Large files are jobs of their own so they spread over the threads.
    let mut groups: Vec<Vec<FileJob>> = Vec::new();
    let mut open_group: Option<usize> = None;
    for job in files {
        if job.node.size.unwrap_or(0) >= LARGE_FILE {
            groups.push(vec![job]);
            continue;
        }
        match open_group {
            Some(i) if groups[i].last().is_some_and(|j| j.path.parent() == job.path.parent()) => groups[i].push(job),
            _ => {
                open_group = Some(groups.len());
                groups.push(vec![job]);
            }
        }
    }
    // Largest first, so one big job does not finish last on its own.
    groups.sort_by_key(|g| std::cmp::Reverse(g.iter().map(|j| j.node.size.unwrap_or(0)).sum::<u64>()));
    let queue = Mutex::new(groups.into_iter());
    let results = Mutex::new((0u64, 0u64, Vec::<(PathBuf, String)>::new()));
    // Large files are flushed to disk by a separate thread as soon as they are complete, so the
    // disk writes while the next files are decrypted and the final flush has little left to do.
    let (flush_tx, flush_rx) = std::sync::mpsc::sync_channel::<File>(8);
    std::thread::scope(|s| {
        s.spawn(move || {
            for f in flush_rx {
                let _ = f.sync_data();
            }
        });
        for _ in 0..workers {
            let flush_tx = flush_tx.clone();
            let (queue, results) = (&queue, &results);
            s.spawn(move || {
                loop {
                    let group = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some(group) = group else { break };
                    for job in group {
                        let r = restore_file(repo, &job, root_user, &flush_tx, opts.no_sync);
                        let mut res = results.lock().unwrap_or_else(|p| p.into_inner());
                        match r {
                            Ok(bytes) => {
                                res.0 += 1;
                                res.1 += bytes;
                            }
                            Err(e) => res.2.push((job.path.clone(), e.to_string())),
                        }
                    }
                }
            });
        }
        drop(flush_tx);
    });
    let (n, bytes, mut errs) = results.into_inner().unwrap_or_else(|p| p.into_inner());
    report.files = n;
    report.bytes = bytes;
    report.errors.append(&mut errs);
    // Folder times last (writing files into them changed them), deepest first.
    dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (p, node) in &dirs {
        set_meta(p, node, root_user);
    }
    report.dirs = dirs.len() as u64;
    report.errors.sort();
    // One flush of the target's filesystem instead of an fsync per file.
    if !opts.no_sync {
        let _ = std::process::Command::new("sync").arg("-f").arg(&opts.target).status();
    }
    Ok(report)
}

fn plan(
    repo: &Repository,
    nodes: &[Node],
    dir: &Path,
    include: Option<&[OsString]>,
    files: &mut Vec<FileJob>,
    dirs: &mut Vec<(PathBuf, Node)>,
    report: &mut RestoreReport,
) -> Result<()> {
    for node in nodes {
        let name = match node.name_bytes() {
            Ok(n) => n,
            Err(e) => {
                report.errors.push((dir.join("?"), e.to_string()));
                continue;
            }
        };
        let rest = match include {
            Some([first, rest @ ..]) => {
                if first.as_bytes() != name.as_bytes() {
                    continue;
                }
                Some(rest)
            }
            _ => None,
        };
        let path = dir.join(&name);
        let selecting = rest.is_some_and(|r| !r.is_empty());
        match node.node_type {
            Some(NodeType::Dir) => {
                if !selecting {
                    if let Err(e) = fs::create_dir_all(&path) {
                        report.errors.push((path.clone(), e.to_string()));
                        continue;
                    }
                    dirs.push((path.clone(), node.clone()));
                }
                let Some(sub) = node.subtree else { continue };
                match repo.load_tree(&sub) {
                    Ok(t) => {
                        let next_dir = if selecting { dir.to_path_buf() } else { path.clone() };
                        plan(repo, &t.nodes, &next_dir, rest.filter(|r| !r.is_empty()), files, dirs, report)?;
                    }
                    Err(e) => report.errors.push((path, format!("folder listing lost: {e}"))),
                }
            }
            _ if selecting => continue,
            Some(NodeType::File) => files.push(FileJob { path, node: node.clone() }),
            Some(NodeType::Symlink) => match node.target_bytes() {
                Ok(t) => {
                    let _ = fs::remove_file(&path);
                    if let Err(e) = std::os::unix::fs::symlink(&t, &path) {
                        report.errors.push((path, e.to_string()));
                    }
                }
                Err(e) => report.errors.push((path, e.to_string())),
            },
            Some(NodeType::Fifo) => {
                if let Err(e) = make_fifo(&path, node.mode) {
                    report.errors.push((path, e.to_string()));
                }
            }
            // Sockets and device nodes are not recreated: they are made by their programs and
            // by the kernel, and restoring them needs privileges a restore should not use.
            _ => {}
        }
    }
    Ok(())
}

fn make_fifo(path: &Path, mode: u32) -> std::io::Result<()> {
    let status = std::process::Command::new("mkfifo").arg("-m").arg(format!("{:o}", mode & 0o777)).arg(path).status()?;
    if status.success() { Ok(()) } else { Err(std::io::Error::other("mkfifo failed")) }
}

thread_local! {
    /// Each restore thread's sealed-blob and plaintext buffers, reused for every blob.
    static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Files at least this large are restored as jobs of their own and flushed early.
const LARGE_FILE: u64 = 8 << 20;

fn restore_file(
    repo: &Repository,
    job: &FileJob,
    root_user: bool,
    flush: &std::sync::mpsc::SyncSender<File>,
    no_sync: bool,
) -> Result<u64> {
    if let Some(e) = &job.node.error {
        return Err(BackupError::Invalid(format!("was not readable at backup time: {e}")));
    }
    let ids: &[BlobId] = job.node.content.as_deref().unwrap_or(&[]);
    let mut tmp_name = job.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(".hearth-restore");
    let tmp = job.path.with_file_name(tmp_name);
    let io = |e| BackupError::io(job.path.display().to_string(), e);
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
    let mut written = 0u64;
    let result = (|| {
        BUFFERS.with(|b| {
            let (scratch, data) = &mut *b.borrow_mut();
            for id in ids {
                repo.read_blob_into(id, scratch, data, false)?;
                f.write_all(data).map_err(io)?;
                written += data.len() as u64;
            }
            Ok::<(), BackupError>(())
        })?;
        fs::rename(&tmp, &job.path).map_err(io)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    set_meta(&job.path, &job.node, root_user);
    if written >= LARGE_FILE && !no_sync {
        let _ = flush.send(f);
    }
    Ok(written)
}
