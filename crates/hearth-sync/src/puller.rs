//! Pulling: bringing the NAS's copy of a folder to the global version. One round takes what
//! [`Folder::needs`] lists: directories are made, files arrive (many small ones at a time, a
//! few large ones, each with a window of block requests), then deletions are applied deepest
//! first.
//!
//! Each block is checked against its SHA-256 before it is written into `.syncthing.NAME.tmp`;
//! blocks the NAS already holds (in the file's previous content, or in a file the same round
//! deletes — a rename) are copied locally instead of fetched. A finished file is made durable,
//! given its time and permissions, and renamed into place; what it replaces, and what a peer
//! deletes, moves into the versions folder first. When the NAS's own unannounced change
//! conflicts with a peer's, the NAS's content is kept as a conflict copy named as Syncthing
//! names them. A change on disk that the index does not know yet is never overwritten: the
//! round skips the file and asks for a scan.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio::task::JoinSet;

use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};
use crate::events::SyncEvent;
use crate::folder::{Folder, FolderType, Need, is_dir, is_file};
use crate::hashing::Verifier;
use crate::ignore::Ignores;
use crate::paths::{safe_path, temp_path};
use crate::peer::Peer;
use crate::protocol::messages::{DownloadProgress, FileDownloadProgressUpdate, FileDownloadProgressUpdateType, FileInfo, Message};
use crate::scan::data_blocks;
use crate::vector::{Relation, relate};

/// Files received at the same time, at most (small files; large ones are bounded by
/// `SLOTS` and `BYTES_IN_FLIGHT`: four files of 128 KiB blocks at once). More than eight
/// small files at once only contend for the directory's lock in the kernel (measured with
/// scripts/bench-sync: 32 at once took twice the CPU of 8 and more wall time).
pub const FILES_AT_ONCE: usize = 8;
/// Block requests in flight over all files of a round.
const SLOTS: usize = 64;
/// Bytes of block data in flight over all files of a round.
const BYTES_IN_FLIGHT: usize = 64 << 20;
/// Block requests in flight per file (fewer for large blocks, see `window`).
pub const WINDOW: usize = 16;
/// Bytes of block data in flight per file, at most.
const WINDOW_BYTES: usize = 32 << 20;
/// The largest block BEP allows.
const MAX_BLOCK: i32 = 16 << 20;
/// Entries committed to the index at once.
const COMMIT_BATCH: usize = 200;

fn window(block_size: usize) -> usize {
    (WINDOW_BYTES / block_size.max(1)).clamp(1, WINDOW)
}

/// What receiving a file holds while it runs: (block requests, bytes) in flight.
fn load(f: &FileInfo) -> (usize, usize) {
    let size = f.blocks.first().map_or(0, |b| b.size.max(0) as usize);
    let slots = window(size.max(1)).min(f.blocks.len()).max(1);
    (slots, slots * size)
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// How a round went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Entries brought to the global version.
    pub done: usize,
    /// Entries that failed (tried again later).
    pub failed: usize,
    /// Entries no connected peer can provide now.
    pub waiting: usize,
    /// Whether a scan should run (a local change was found, or a conflict copy made).
    pub scan_wanted: bool,
    /// The last failure.
    pub last_error: Option<String>,
}

/// What a pull round works with.
pub struct Puller {
    /// The folder.
    pub folder: Arc<Folder>,
    /// Connected peers.
    pub peers: HashMap<DeviceId, Arc<Peer>>,
    /// The folder's ignore patterns.
    pub ignores: Arc<Ignores>,
    /// Where events go.
    pub events: broadcast::Sender<SyncEvent>,
}

/// Check a file entry before acting on it; `None` when it is fine.
pub fn refuse(f: &FileInfo) -> Option<String> {
    if f.size < 0 {
        return Some("negative size".into());
    }
    // An empty file: Syncthing writes one block of size 0, older Hearth none.
    let blocks = match f.blocks.as_slice() {
        [only] if only.size == 0 => {
            if only.offset != 0 || only.hash.len() != 32 {
                return Some("its empty block is inconsistent".into());
            }
            &[][..]
        }
        all => all,
    };
    let mut offset = 0i64;
    for b in blocks {
        if b.offset != offset || b.size <= 0 || b.size > MAX_BLOCK || b.hash.len() != 32 {
            return Some("its block list is inconsistent".into());
        }
        offset += i64::from(b.size);
    }
    if offset != f.size {
        return Some(format!("blocks add up to {offset} bytes, not {}", f.size));
    }
    None
}

/// Whether the file on disk is what the index says the NAS has (so replacing it loses nothing
/// unannounced).
fn disk_matches(path: &Path, local: Option<&FileInfo>) -> bool {
    let meta = std::fs::symlink_metadata(path).ok();
    match (meta, local) {
        (None, None) => true,
        (None, Some(l)) => l.deleted,
        (Some(_), None) => false,
        (Some(m), Some(l)) if l.deleted => !m.is_file(),
        (Some(m), Some(l)) if is_dir(l) => m.is_dir(),
        (Some(m), Some(l)) => {
            m.is_file() && m.len() == l.size as u64 && (m.mtime(), m.mtime_nsec() as i32) == (l.modified_s, l.modified_ns)
        }
    }
}

/// Give a received file the peer's permissions (unless it says not to) and modification time.
fn apply_meta(file: &std::fs::File, path: &Path, f: &FileInfo) {
    if !f.no_permissions && f.permissions != 0 {
        let _ = std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(f.permissions & 0o777));
    }
    let mtime = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(f.modified_s.max(0) as u64)
        + std::time::Duration::from_nanos(f.modified_ns.max(0) as u64);
    let _ = file.set_times(std::fs::FileTimes::new().set_modified(mtime));
}

/// Whether the file at `path` already has exactly the content `f` describes.
fn already_have(path: &Path, f: &FileInfo) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    if !meta.is_file() || meta.len() != f.size as u64 {
        return false;
    }
    let theirs = data_blocks(&f.blocks);
    let Some(first) = theirs.first() else { return f.size == 0 };
    match crate::scan::hash_blocks(path, first.size as usize) {
        Ok(mine) => mine.len() == theirs.len() && mine.iter().zip(theirs).all(|(a, b)| a.hash == b.hash),
        Err(_) => false,
    }
}

/// Where a block with a given hash can be read locally.
type LocalBlocks = HashMap<Vec<u8>, (PathBuf, u64, usize)>;

fn read_verified(path: &Path, offset: u64, size: usize, hash: &[u8]) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; size];
    file.read_exact_at(&mut buf, offset).ok()?;
    (crate::hashing::sha256(&buf).as_slice() == hash).then_some(buf)
}

impl Puller {
    fn ignored(&self, name: &str) -> bool {
        self.ignores.ignored(name)
    }

    /// One round: everything currently needed, as far as the connected peers allow.
    pub async fn round(&self) -> Round {
        let settings = self.folder.settings();
        let mut round = Round::default();
        if settings.kind == FolderType::SendOnly {
            return round;
        }
        let connected: HashSet<DeviceId> = self.peers.keys().copied().collect();
        let needs = self.folder.needs(&connected, |n| self.ignored(n));
        if needs.is_empty() {
            return round;
        }
        // Blocks of files this round deletes: a rename arrives as a new name plus a deletion.
        let mut local_blocks: LocalBlocks = HashMap::new();
        for n in needs.iter().filter(|n| n.global.deleted) {
            if let (Some(l), Ok(path)) = (&n.local, safe_path(&settings.root, &n.global.name))
                && is_file(l)
                && !l.deleted
            {
                for b in &l.blocks {
                    local_blocks.insert(b.hash.clone(), (path.clone(), b.offset as u64, b.size as usize));
                }
            }
        }
        let local_blocks = Arc::new(local_blocks);
        let mut done: Vec<FileInfo> = Vec::new();
        let mut files: JoinSet<(Need, Result<Option<FileInfo>>)> = JoinSet::new();
        let mut in_flight = (0usize, 0usize);
        let mut loads: HashMap<tokio::task::Id, (usize, usize)> = HashMap::new();
        let mut deletions = Vec::new();
        for need in needs {
            if need.global.deleted {
                deletions.push(need);
                continue;
            }
            if need.sources.is_empty() && is_file(&need.global) && !data_blocks(&need.global.blocks).is_empty() {
                round.waiting += 1;
                continue;
            }
            if is_dir(&need.global) {
                let (folder, n) = (self.folder.clone(), need.clone());
                let r = tokio::task::spawn_blocking(move || make_dir(&folder, &n)).await;
                self.settle(&mut round, &mut done, need, r.unwrap_or_else(|e| Err(SyncError::Protocol(e.to_string()))));
                continue;
            }
            if !is_file(&need.global) {
                // A symlink could point anywhere on the NAS, and the NAS serves its folders to
                // other people: it is never created. The entry is recorded as unsupported here
                // (announced as invalid, as Syncthing on Windows does), so the folder completes
                // and peers do not offer it again.
                tracing::info!(folder = %settings.id, name = %need.global.name, "symlinks are not created on the NAS; recorded as unsupported");
                let unsupported = FileInfo { invalid: true, ..need.global.clone() };
                self.settle(&mut round, &mut done, need, Ok(Some(unsupported)));
                continue;
            }
            // A full disk: the file is not started (rather than failing mid-file); the folder
            // says why, and the next round tries again once there is room (docs/disks.md).
            let (root, size) = (settings.root.clone(), need.global.size.max(0) as u64);
            if let Ok(Err(full)) = tokio::task::spawn_blocking(move || hearth_platform::durable::admits(&root, size)).await
                && full.kind() == std::io::ErrorKind::StorageFull
            {
                round.failed += 1;
                round.last_error = Some(format!("{} is not pulled: {full}", need.global.name));
                continue;
            }
            let (slots, bytes) = load(&need.global);
            while !files.is_empty()
                && (files.len() >= FILES_AT_ONCE || in_flight.0 + slots > SLOTS || in_flight.1 + bytes > BYTES_IN_FLIGHT)
            {
                let Some(joined) = files.join_next_with_id().await else { break };
                let id = match &joined {
                    Ok((id, _)) => *id,
                    Err(e) => e.id(),
                };
                let (s, b) = loads.remove(&id).unwrap_or_default();
                in_flight = (in_flight.0 - s, in_flight.1 - b);
                if let Ok((_, (n, r))) = joined {
                    self.settle(&mut round, &mut done, n, r);
                }
            }
            in_flight = (in_flight.0 + slots, in_flight.1 + bytes);
            let (folder, peers, blocks, events) = (self.folder.clone(), self.peers.clone(), local_blocks.clone(), self.events.clone());
            let task = files.spawn(async move {
                let r = pull_file(&folder, &peers, &blocks, &events, &need).await;
                (need, r)
            });
            loads.insert(task.id(), (slots, bytes));
            if done.len() >= COMMIT_BATCH {
                self.commit(&mut round, &mut done).await;
            }
        }
        while let Some(joined) = files.join_next().await {
            if let Ok((n, r)) = joined {
                self.settle(&mut round, &mut done, n, r);
            }
        }
        self.commit(&mut round, &mut done).await;
        for need in deletions {
            let (folder, n, events) = (self.folder.clone(), need.clone(), self.events.clone());
            let r = tokio::task::spawn_blocking(move || delete(&folder, &n, &events)).await;
            self.settle(&mut round, &mut done, need, r.unwrap_or_else(|e| Err(SyncError::Protocol(e.to_string()))));
            if done.len() >= COMMIT_BATCH {
                self.commit(&mut round, &mut done).await;
            }
        }
        self.commit(&mut round, &mut done).await;
        round
    }

    fn settle(&self, round: &mut Round, done: &mut Vec<FileInfo>, need: Need, r: Result<Option<FileInfo>>) {
        match r {
            Ok(Some(f)) => {
                round.done += 1;
                done.push(f);
            }
            Ok(None) => round.scan_wanted = true,
            Err(e) => {
                tracing::warn!(folder = %self.folder.id(), name = %need.global.name, error = %e, "could not apply a change; it is tried again later");
                round.failed += 1;
                round.last_error = Some(format!("{}: {e}", need.global.name));
            }
        }
    }

    async fn commit(&self, round: &mut Round, done: &mut Vec<FileInfo>) {
        if done.is_empty() {
            return;
        }
        let batch = std::mem::take(done);
        let n = batch.len();
        let folder = self.folder.clone();
        let durable = move || {
            // The renames that put these files in place reach the disk before the index says
            // they are there: each directory once, not once per file.
            let root = folder.settings().root;
            let dirs: HashSet<PathBuf> =
                batch.iter().filter_map(|f| safe_path(&root, &f.name).ok()?.parent().map(Path::to_path_buf)).collect();
            for dir in dirs {
                let _ = std::fs::File::open(&dir).and_then(|d| d.sync_all());
            }
            folder.commit(batch)
        };
        match tokio::task::spawn_blocking(durable).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                round.failed += n;
                round.last_error = Some(format!("recording received files: {e}"));
            }
            Err(e) => round.last_error = Some(e.to_string()),
        }
    }
}

/// Keep the NAS's conflicting content as a conflict copy, if the global version conflicts with
/// what the NAS changed itself.
fn keep_conflict(folder: &Folder, need: &Need, path: &Path) -> Result<bool> {
    let Some(local) = &need.local else { return Ok(false) };
    let concurrent =
        relate(&need.global.version.clone().unwrap_or_default(), &local.version.clone().unwrap_or_default()) == Relation::Concurrent;
    if !concurrent || local.deleted || !is_file(local) || !path.exists() {
        return Ok(false);
    }
    let name = crate::versions::conflict_name(&need.global.name, now_s(), local.modified_by);
    let dest = safe_path(&folder.settings().root, &name)?;
    // A second conflict of the same file within a second must not replace the first copy: then
    // the older copy goes to the versions folder first.
    crate::versions::replace_keeping(&folder.settings().root, &name, path, &dest, now_s())?;
    tracing::info!(folder = %folder.id(), name = %need.global.name, copy = %name, "conflict: the NAS's version is kept as a conflict copy");
    Ok(true)
}

fn make_dir(folder: &Folder, need: &Need) -> Result<Option<FileInfo>> {
    let root = folder.settings().root;
    let path = safe_path(&root, &need.global.name)?;
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            if folder.settings().kind == FolderType::SendReceive && !disk_matches(&path, need.local.as_ref()) {
                return Ok(None);
            }
            crate::versions::keep(&root, &need.global.name, &path, now_s())?;
            std::fs::create_dir(&path).map_err(|e| SyncError::io(path.display().to_string(), e))?;
        }
        Err(_) => std::fs::create_dir_all(&path).map_err(|e| SyncError::io(path.display().to_string(), e))?,
    }
    if !need.global.no_permissions && need.global.permissions != 0 {
        let _ = std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(need.global.permissions & 0o777));
    }
    Ok(Some(need.global.clone()))
}

fn delete(folder: &Folder, need: &Need, events: &broadcast::Sender<SyncEvent>) -> Result<Option<FileInfo>> {
    let settings = folder.settings();
    let path = safe_path(&settings.root, &need.global.name)?;
    if settings.kind == FolderType::SendReceive && !disk_matches(&path, need.local.as_ref()) {
        // Changed on the NAS since the last scan: the scan announces it, and a modification
        // beats a deletion.
        return Ok(None);
    }
    match std::fs::symlink_metadata(&path) {
        Err(_) => {}
        Ok(m) if m.is_dir() => {
            if let Err(e) = std::fs::remove_dir(&path) {
                return Err(SyncError::io(format!("removing directory {} (not empty?)", need.global.name), e));
            }
        }
        Ok(_) => {
            if let Some(kept) = crate::versions::keep(&settings.root, &need.global.name, &path, now_s())? {
                tracing::info!(folder = %settings.id, name = %need.global.name, kept = %kept.display(), "deleted by a peer; kept as a version");
                let _ = events.send(SyncEvent::FileVersioned { folder: settings.id.clone(), name: need.global.name.clone() });
            }
        }
    }
    Ok(Some(need.global.clone()))
}

async fn pull_file(
    folder: &Arc<Folder>,
    peers: &HashMap<DeviceId, Arc<Peer>>,
    local_blocks: &Arc<LocalBlocks>,
    events: &broadcast::Sender<SyncEvent>,
    need: &Need,
) -> Result<Option<FileInfo>> {
    let settings = folder.settings();
    let f = &need.global;
    let path = safe_path(&settings.root, &f.name)?;
    if let Some(why) = refuse(f) {
        return Err(SyncError::Protocol(format!("the peer described {} badly: {why}", f.name)));
    }
    if settings.kind == FolderType::SendReceive && !disk_matches(&path, need.local.as_ref()) {
        return Ok(None);
    }
    let (p, n, fo) = (path.clone(), need.clone(), folder.clone());
    let (present, conflicted) = tokio::task::spawn_blocking(move || -> Result<(bool, bool)> {
        let conflicted = keep_conflict(&fo, &n, &p)?;
        Ok((!conflicted && already_have(&p, &n.global), conflicted))
    })
    .await
    .map_err(|e| SyncError::Protocol(e.to_string()))??;
    if present {
        // The NAS already holds exactly this content (a folder shared again, a restart).
        let (p, g) = (path.clone(), f.clone());
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(file) = std::fs::File::options().write(true).open(&p) {
                apply_meta(&file, &p, &g);
            }
        })
        .await;
    } else {
        fetch(folder, peers, local_blocks, need, &path).await?;
    }
    folder.update_activity(|a| {
        a.received_files += 1;
        a.received_bytes += f.size.max(0) as u64;
    });
    let _ = events.send(SyncEvent::FileArrived { folder: settings.id.clone(), name: f.name.clone(), size: f.size.max(0) as u64 });
    if conflicted {
        folder.scan_wanted.notify_one();
    }
    Ok(Some(f.clone()))
}

/// How often the devices a file comes from hear which of its blocks the NAS holds.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// DownloadProgress for one transfer: every [`PROGRESS_EVERY`] the devices the file comes from
/// hear which blocks the temporary holds (Syncthing shows it as the NAS's progress, and may ask
/// for those blocks from the temporary), and a Forget when the transfer ends.
struct Progress<'a> {
    folder: &'a str,
    file: &'a FileInfo,
    to: &'a [Arc<Peer>],
    fresh: Vec<i32>,
    last: Instant,
    announced: bool,
}

impl<'a> Progress<'a> {
    fn new(folder: &'a str, file: &'a FileInfo, to: &'a [Arc<Peer>]) -> Self {
        Progress { folder, file, to, fresh: Vec::new(), last: Instant::now(), announced: false }
    }

    async fn block_done(&mut self, index: i32) {
        self.fresh.push(index);
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            let blocks = std::mem::take(&mut self.fresh);
            self.send(FileDownloadProgressUpdateType::Append, blocks).await;
            self.announced = true;
        }
    }

    async fn end(self) {
        if self.announced {
            self.send(FileDownloadProgressUpdateType::Forget, Vec::new()).await;
        }
    }

    async fn send(&self, kind: FileDownloadProgressUpdateType, block_indexes: Vec<i32>) {
        let update = FileDownloadProgressUpdate {
            update_type: kind as i32,
            name: self.file.name.clone(),
            version: self.file.version.clone(),
            block_indexes,
            block_size: self.file.blocks.first().map_or(0, |b| b.size),
        };
        for peer in self.to {
            // A device that left meanwhile needs no progress.
            let _ = peer
                .send(Message::DownloadProgress(DownloadProgress { folder: self.folder.to_string(), updates: vec![update.clone()] }))
                .await;
        }
    }
}

fn mismatch(name: &str, block: usize, peer: DeviceId) -> SyncError {
    SyncError::io(name.to_string(), std::io::Error::other(format!("block {block} from {peer} does not match its hash")))
}

/// Every block of the file into its temporary, then into place.
async fn fetch(
    folder: &Arc<Folder>,
    peers: &HashMap<DeviceId, Arc<Peer>>,
    local_blocks: &Arc<LocalBlocks>,
    need: &Need,
    path: &Path,
) -> Result<()> {
    let settings = folder.settings();
    let f = &need.global;
    let tmp = temp_path(path);
    let (file, resumable) = {
        let _turn = folder.directory_changes.lock().await;
        let (path, tmp) = (path.to_path_buf(), tmp.clone());
        tokio::task::spawn_blocking(move || -> Result<(std::fs::File, u64)> {
            let io = |e| SyncError::io(path.display().to_string(), e);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            // A temporary left by an interrupted transfer (a crash, a dropped connection) is
            // kept: its blocks that already match are not fetched again.
            let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&tmp).map_err(io)?;
            // Only what a temporary already held when this transfer began can be resumed; a
            // fresh one is not read back (blocks written by this transfer are known to be there).
            let resumable = file.metadata().map_err(io)?.len();
            Ok((file, resumable))
        })
        .await
        .map_err(|e| SyncError::Protocol(e.to_string()))??
    };
    let file = Arc::new(file);
    // Blocks of the file's previous content can be reused where they are unchanged.
    let previous: HashMap<Vec<u8>, (u64, usize)> = match &need.local {
        Some(l) if is_file(l) && !l.deleted => {
            data_blocks(&l.blocks).iter().map(|b| (b.hash.clone(), (b.offset as u64, b.size as usize))).collect()
        }
        _ => HashMap::new(),
    };
    let sources: Vec<Arc<Peer>> = need.sources.iter().filter_map(|d| peers.get(d).cloned()).collect();
    // Where the blocks came from: [already in the temporary, copied from files on the NAS, fetched].
    let origin: Arc<[AtomicU32; 3]> = Arc::new(Default::default());
    let mut progress = Progress::new(&settings.id, f, &sources);
    // One block write into the temporary at a time: a buffered write holds the file's inode lock
    // anyway, and writers that meet there spin in the kernel (2 % of the receiver's CPU per GiB
    // in `scripts/bench-sync`'s profile) where waiting here costs nothing.
    let writing = Arc::new(tokio::sync::Mutex::new(()));
    let result = async {
        let win = window(f.blocks.first().map_or(1, |b| b.size as usize));
        let mut inflight: JoinSet<Result<i32>> = JoinSet::new();
        for (i, b) in data_blocks(&f.blocks).iter().enumerate() {
            while inflight.len() >= win {
                if let Some(r) = inflight.join_next().await {
                    progress.block_done(r.map_err(|e| SyncError::Protocol(e.to_string()))??).await;
                }
            }
            let (b, file, path_prev, locals, tmp_path) = (b.clone(), file.clone(), path.to_path_buf(), local_blocks.clone(), tmp.clone());
            let prev = previous.get(&b.hash).copied();
            let source = sources.get(i % sources.len().max(1)).cloned();
            let others = sources.clone();
            let (folder_id, name) = (settings.id.clone(), f.name.clone());
            let (origin, writing) = (origin.clone(), writing.clone());
            inflight.spawn(async move {
                let hash = b.hash.clone();
                let (size, offset) = (b.size as usize, b.offset as u64);
                let reused = tokio::task::spawn_blocking(move || {
                    if offset + size as u64 <= resumable && read_verified(&tmp_path, offset, size, &hash).is_some() {
                        return Some(None);
                    }
                    let from_prev = prev.and_then(|(o, s)| (s == size).then(|| read_verified(&path_prev, o, s, &hash)).flatten());
                    from_prev
                        .or_else(|| locals.get(&hash).and_then(|(p, o, s)| (*s == size).then(|| read_verified(p, *o, *s, &hash)).flatten()))
                        .map(Some)
                })
                .await
                .ok()
                .flatten();
                let from = match &reused {
                    Some(None) => 0,
                    Some(Some(_)) => 1,
                    None => 2,
                };
                origin[from].fetch_add(1, Ordering::Relaxed);
                let data = match reused {
                    // Already in the temporary.
                    Some(None) => return Ok(i as i32),
                    Some(Some(d)) => prost::bytes::Bytes::from(d),
                    None => {
                        let mut last = SyncError::Protocol(format!("no connected device has {name}"));
                        let mut got = None;
                        for peer in source.iter().chain(others.iter()) {
                            match peer.request(&folder_id, &name, &b, i as i32).await {
                                Ok(d) if d.len() == size => {
                                    let (d, ok) = Verifier::shared().check(d, &b.hash).await;
                                    if ok {
                                        got = Some(d);
                                        break;
                                    }
                                    last = mismatch(&name, i, peer.device);
                                }
                                Ok(_) => last = mismatch(&name, i, peer.device),
                                Err(e) => last = e,
                            }
                        }
                        got.ok_or(last)?
                    }
                };
                let _turn = writing.lock().await;
                tokio::task::spawn_blocking(move || file.write_all_at(&data, offset))
                    .await
                    .map_err(|e| SyncError::Protocol(e.to_string()))?
                    .map_err(|e| SyncError::io(name, e))?;
                Ok(i as i32)
            });
        }
        while let Some(r) = inflight.join_next().await {
            progress.block_done(r.map_err(|e| SyncError::Protocol(e.to_string()))??).await;
        }
        let (file, tmp2, dest, g) = (file.clone(), tmp.clone(), path.to_path_buf(), f.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            let io = |e| SyncError::io(dest.display().to_string(), e);
            file.set_len(g.size as u64).map_err(io)?;
            apply_meta(&file, &tmp2, &g);
            file.sync_all().map_err(io)
        })
        .await
        .map_err(|e| SyncError::Protocol(e.to_string()))??;
        let _turn = folder.directory_changes.lock().await;
        let (tmp2, dest, name, root) = (tmp.clone(), path.to_path_buf(), f.name.clone(), settings.root.clone());
        // What the NAS had under this name is kept, never overwritten. The directory is made
        // durable once per commit batch (see `Puller::commit`).
        tokio::task::spawn_blocking(move || crate::versions::replace_keeping(&root, &name, &tmp2, &dest, now_s()))
            .await
            .map_err(|e| SyncError::Protocol(e.to_string()))?
    }
    .await;
    progress.end().await;
    let [resumed, copied, fetched] = [0, 1, 2].map(|i| origin[i].load(Ordering::Relaxed));
    if result.is_ok() && resumed + copied > 0 {
        tracing::info!(
            folder = %settings.id, name = %f.name, resumed, copied, fetched,
            "blocks reused: resumed from an interrupted transfer's temporary, copied from files on the NAS"
        );
    }
    // Verified blocks in the temporary are worth keeping for the next attempt; an empty one is not.
    if result.is_err() && std::fs::metadata(&tmp).is_ok_and(|m| m.len() == 0) {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
