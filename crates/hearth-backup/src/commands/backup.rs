//! `backup run`: make a snapshot of some paths.

use std::ffi::OsStr;
use std::fs::{self, File, Metadata};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::blob::{BlobId, BlobType};
use crate::chunker::Chunker;
use crate::error::{BackupError, Result};
use crate::lock::LockMode;
use crate::repository::Repository;
use crate::saver::{PendingId, Saver};
use crate::snapshot::{Snapshot, SnapshotError, Summary, hostname, now_rfc3339};
use crate::tree::{Node, NodeType, Tree};

/// What to back up and how.
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    /// Files and folders to back up.
    pub paths: Vec<PathBuf>,
    /// Glob patterns; a pattern without `/` matches a name anywhere, one with `/` a full path.
    pub excludes: Vec<String>,
    /// Tags for the snapshot.
    pub tags: Vec<String>,
    /// Parallel workers (0: one per core).
    pub workers: usize,
    /// Read every file even when the parent says it is unchanged.
    pub force: bool,
    /// Paths left out exactly (compared with the walked path, so no glob quoting is needed):
    /// a daemon leaves out its live catalog, caches and the target folder itself.
    pub exclude_paths: Vec<PathBuf>,
    /// The host recorded in the snapshot (and used to find the parent); default: the hostname.
    pub host: Option<String>,
    /// Counters the caller reads while the backup runs.
    pub progress: Option<Arc<BackupProgress>>,
    /// Set to stop at the next file: the backup ends with [`BackupError::Cancelled`], packs
    /// already stored stay and are reused by the next run.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// How far a running backup is: files and bytes looked at (unchanged files count with their
/// size, read or not).
#[derive(Debug, Default)]
pub struct BackupProgress {
    /// Files looked at.
    pub files: AtomicU64,
    /// Their bytes.
    pub bytes: AtomicU64,
}

impl BackupProgress {
    fn add(&self, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// What happened.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The new snapshot's name.
    pub name: String,
    /// The snapshot.
    pub snapshot: Snapshot,
}

struct Excludes {
    names: GlobSet,
    paths: GlobSet,
}

impl Excludes {
    fn new(patterns: &[String]) -> Result<Excludes> {
        let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
        for p in patterns {
            let g = Glob::new(p).map_err(|e| BackupError::Invalid(format!("exclude pattern {p:?}: {e}")))?;
            if p.contains('/') {
                paths.add(g)
            } else {
                names.add(g)
            };
        }
        let build = |b: GlobSetBuilder| b.build().map_err(|e| BackupError::Invalid(e.to_string()));
        Ok(Excludes { names: build(names)?, paths: build(paths)? })
    }

    fn excluded(&self, path: &Path, name: &OsStr) -> bool {
        self.names.is_match(Path::new(name)) || self.paths.is_match(path)
    }
}

struct Walker<'a> {
    repo: &'a Repository,
    saver: &'a Saver,
    chunker: Chunker,
    buf: Vec<u8>,
    excludes: Excludes,
    force: bool,
    exclude_paths: &'a [PathBuf],
    progress: Option<&'a BackupProgress>,
    cancel: Option<&'a AtomicBool>,
    summary: Summary,
    errors: Vec<SnapshotError>,
}

enum Content {
    Known(Vec<BlobId>),
    Pending(Vec<PendingId>),
}

fn mtime_ns(m: &Metadata) -> i64 {
    m.mtime().saturating_mul(1_000_000_000).saturating_add(m.mtime_nsec())
}

fn ctime_ns(m: &Metadata) -> i64 {
    m.ctime().saturating_mul(1_000_000_000).saturating_add(m.ctime_nsec())
}

fn base_node(name: &OsStr, m: &Metadata) -> Node {
    let mut n = Node { mode: m.mode() & 0o7777, mtime_ns: mtime_ns(m), uid: m.uid(), gid: m.gid(), ..Node::default() };
    n.set_name(name);
    n
}

impl Walker<'_> {
    fn error(&mut self, path: &Path, e: &dyn std::fmt::Display) {
        tracing::warn!(path = %path.display(), error = %e, "cannot read; the snapshot will be partial");
        self.errors.push(SnapshotError { path: path.display().to_string(), error: e.to_string() });
    }

    /// Back up one directory; returns its tree id.
    fn dir(&mut self, path: &Path, parent: Option<&Tree>) -> Result<BlobId> {
        self.summary.dirs += 1;
        let mut entries: Vec<(std::ffi::OsString, PathBuf)> = match fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| (e.file_name(), e.path())).collect(),
            Err(e) => {
                self.error(path, &e);
                Vec::new()
            }
        };
        entries.sort_by(|a, b| {
            std::os::unix::ffi::OsStrExt::as_bytes(a.0.as_os_str()).cmp(std::os::unix::ffi::OsStrExt::as_bytes(b.0.as_os_str()))
        });
        let mut nodes: Vec<(Node, Option<Content>)> = Vec::with_capacity(entries.len());
        for (name, child) in entries {
            if self.excludes.excluded(&child, &name) || self.exclude_paths.contains(&child) {
                continue;
            }
            let prev = parent.and_then(|t| t.find(&name));
            nodes.push(self.entry(&child, &name, prev)?);
        }
        let mut tree = Tree { nodes: Vec::with_capacity(nodes.len()) };
        for (mut node, content) in nodes {
            match content {
                Some(Content::Known(ids)) => node.content = Some(ids),
                Some(Content::Pending(p)) => node.content = Some(p.into_iter().map(PendingId::wait).collect::<Result<_>>()?),
                None => {}
            }
            tree.nodes.push(node);
        }
        let bytes = tree.to_bytes()?;
        self.saver.save(bytes, BlobType::Tree)?.wait()
    }

    /// One entry (any type); content ids may still be pending.
    fn entry(&mut self, path: &Path, name: &OsStr, prev: Option<&Node>) -> Result<(Node, Option<Content>)> {
        #[cfg(debug_assertions)]
        test_pause(path, self.cancel);
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(BackupError::Cancelled);
        }
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.error(path, &e);
                let mut n = Node { error: Some(e.to_string()), node_type: Some(NodeType::File), ..Node::default() };
                n.set_name(name);
                return Ok((n, None));
            }
        };
        let ft = meta.file_type();
        let mut node = base_node(name, &meta);
        if ft.is_dir() {
            node.node_type = Some(NodeType::Dir);
            let prev_tree = match prev.and_then(|p| p.subtree) {
                Some(id) => self.repo.load_tree(&id).ok(),
                None => None,
            };
            node.subtree = Some(self.dir(path, prev_tree.as_ref())?);
            return Ok((node, None));
        }
        if ft.is_symlink() {
            node.node_type = Some(NodeType::Symlink);
            match fs::read_link(path) {
                Ok(t) => node.set_target(t.as_os_str()),
                Err(e) => {
                    self.error(path, &e);
                    node.error = Some(e.to_string());
                }
            }
            return Ok((node, None));
        }
        if !ft.is_file() {
            node.node_type = Some(if ft.is_fifo() {
                NodeType::Fifo
            } else if ft.is_socket() {
                NodeType::Socket
            } else if ft.is_char_device() {
                NodeType::Chardev
            } else {
                NodeType::Blockdev
            });
            node.rdev = Some(meta.rdev());
            return Ok((node, None));
        }
        node.node_type = Some(NodeType::File);
        node.size = Some(meta.len());
        node.inode = Some(meta.ino());
        node.ctime_ns = Some(ctime_ns(&meta));
        if let Some(p) = self.progress {
            p.add(meta.len());
        }
        // Unchanged since the parent snapshot: reuse its content without reading the file.
        if let Some(p) = prev {
            let same = !self.force
                && p.node_type == Some(NodeType::File)
                && p.size == node.size
                && p.mtime_ns == node.mtime_ns
                && p.ctime_ns == node.ctime_ns
                && p.inode == node.inode
                && p.error.is_none();
            if same
                && let Some(ids) = &p.content
                && ids.iter().all(|id| self.repo.index.contains(id))
            {
                self.summary.files_unmodified += 1;
                return Ok((node, Some(Content::Known(ids.clone()))));
            }
        }
        if prev.is_some() {
            self.summary.files_changed += 1;
        } else {
            self.summary.files_new += 1;
        }
        match self.file(path) {
            Ok(pending) => Ok((node, Some(Content::Pending(pending)))),
            Err(BackupError::Source { path: p, source }) => {
                self.error(&p, &source);
                node.error = Some(source.to_string());
                Ok((node, None))
            }
            Err(e) => Err(e),
        }
    }

    fn file(&mut self, path: &Path) -> Result<Vec<PendingId>> {
        let src = |source| BackupError::Source { path: path.to_path_buf(), source };
        let f = File::open(path).map_err(src)?;
        let mut chunks = self.chunker.chunks(f, &mut self.buf);
        let mut ids = Vec::new();
        loop {
            let mut chunk = self.saver.buffer();
            if !chunks.next_chunk_into(&mut chunk).map_err(src)? {
                break;
            }
            self.summary.bytes_read += chunk.len() as u64;
            ids.push(self.saver.save(chunk, BlobType::Data)?);
        }
        Ok(ids)
    }
}

/// Debug builds only: `HEARTH_TEST_BACKUP_PAUSE_ON=<file name>` holds the backup when it reaches
/// that file until it is cancelled, so tests can stop a box in the middle of a backup without
/// racing a clock.
#[cfg(debug_assertions)]
fn test_pause(path: &Path, cancel: Option<&AtomicBool>) {
    let Some(name) = std::env::var_os("HEARTH_TEST_BACKUP_PAUSE_ON") else { return };
    if path.file_name() != Some(name.as_os_str()) {
        return;
    }
    tracing::warn!(path = %path.display(), "HEARTH_TEST_BACKUP_PAUSE_ON: the backup waits here until it is stopped");
    while !cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Back up `opts.paths` into `repo` and write a snapshot, under a shared lock. Packs left by an
/// interrupted backup are indexed first, so their blobs are reused.
pub fn run(mut repo: Repository, opts: &BackupOptions) -> Result<BackupReport> {
    let started = Instant::now();
    if opts.paths.is_empty() {
        return Err(BackupError::Invalid("nothing to back up: give one or more paths".into()));
    }
    let _lock = repo.lock(LockMode::Shared)?;
    repo.index_orphan_packs()?;
    let repo = Arc::new(repo);
    let mut abs = Vec::new();
    for p in &opts.paths {
        let a = fs::canonicalize(p).map_err(|e| BackupError::Source { path: p.clone(), source: e })?;
        abs.push(a);
    }
    let paths_text: Vec<String> = abs.iter().map(|p| p.display().to_string()).collect();
    let host = opts.host.clone().unwrap_or_else(hostname);
    // The parent: the newest snapshot of the same paths from this host.
    let (all, _) = repo.snapshots()?;
    let parent = all.iter().rev().find(|(_, s)| s.host == host && s.paths == paths_text).map(|(n, s)| (n.clone(), s.tree));
    let parent_root = match &parent {
        Some((_, tree)) => repo.load_tree(tree).ok(),
        None => None,
    };
    let workers = if opts.workers == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) } else { opts.workers };
    let saver = Saver::start(repo.clone(), workers);
    let mut walker = Walker {
        repo: &repo,
        saver: &saver,
        chunker: Chunker::new(repo.config.chunker, repo.keys.chunker_seed)?,
        buf: Vec::new(),
        excludes: Excludes::new(&opts.excludes)?,
        force: opts.force,
        exclude_paths: &opts.exclude_paths,
        progress: opts.progress.as_deref(),
        cancel: opts.cancel.as_deref(),
        summary: Summary::default(),
        errors: Vec::new(),
    };
    let walked = (|| -> Result<BlobId> {
        let mut root = Tree::default();
        let mut pending = Vec::new();
        for p in &abs {
            let name = p.file_name().map(OsStr::to_os_string).unwrap_or_else(|| "root".into());
            let prev = parent_root.as_ref().and_then(|t| t.find(&name)).cloned();
            let (node, content) = walker.entry(p, &name, prev.as_ref())?;
            pending.push((node, content));
        }
        for (mut node, content) in pending {
            match content {
                Some(Content::Known(ids)) => node.content = Some(ids),
                Some(Content::Pending(p)) => node.content = Some(p.into_iter().map(PendingId::wait).collect::<Result<_>>()?),
                None => {}
            }
            root.nodes.push(node);
        }
        saver.save(root.to_bytes()?, BlobType::Tree)?.wait()
    })();
    let root_id = match walked {
        Ok(id) => id,
        Err(BackupError::Cancelled) => {
            // Store what is in hand (packs and their index) so the next run reuses it.
            drop(walker);
            let _ = saver.finish();
            return Err(BackupError::Cancelled);
        }
        Err(e) => return Err(e),
    };
    let Walker { mut summary, errors, .. } = walker;
    let stats = saver.finish()?;
    summary.bytes_added = stats.bytes_added;
    summary.bytes_stored = stats.bytes_stored;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let snapshot = Snapshot {
        version: crate::FORMAT_VERSION,
        time: now_rfc3339(),
        host,
        user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        paths: paths_text,
        tags: opts.tags.clone(),
        excludes: opts.excludes.clone(),
        tree: root_id,
        parent: parent.map(|(n, _)| n),
        partial: !errors.is_empty(),
        errors,
        summary,
    };
    let name = repo.save_snapshot(&snapshot)?;
    Ok(BackupReport { name, snapshot })
}
