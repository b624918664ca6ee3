//! One shared folder's state: its settings, the NAS's own index of it (persisted in the catalog,
//! so a restart neither rehashes unchanged files nor changes their versions), what each peer
//! says it has, and from those the global version of every name and what the NAS needs.
//!
//! Locks here are held only for map operations, never across I/O or an `.await`; the catalog
//! write of a commit is the one exception, so the index in memory never runs ahead of disk.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use hearth_catalog::Catalog;
use hearth_catalog::sync_folders::{self, SyncFolder};
use prost::Message as _;
use tokio::sync::{Notify, watch};

use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};
use crate::protocol::messages::{FileInfo, FileInfoType};
use crate::vector::{Relation, relate, supersedes};

/// What a folder does with changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FolderType {
    /// Changes go both ways.
    SendReceive,
    /// The NAS's copy is the source; peers' changes are not applied.
    SendOnly,
    /// Peers' changes are applied; the NAS's own changes are not sent (a phone's camera folder).
    ReceiveOnly,
}

impl FolderType {
    /// As stored and typed: `send-receive`, `send-only`, `receive-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            FolderType::SendReceive => "send-receive",
            FolderType::SendOnly => "send-only",
            FolderType::ReceiveOnly => "receive-only",
        }
    }

    /// Parse the stored or typed form.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "send-receive" | "sendreceive" => Ok(FolderType::SendReceive),
            "send-only" | "sendonly" => Ok(FolderType::SendOnly),
            "receive-only" | "receiveonly" => Ok(FolderType::ReceiveOnly),
            other => Err(SyncError::Invalid(format!("folder type {other:?}: allowed are send-receive, send-only, receive-only"))),
        }
    }

    /// Whether the NAS applies peers' changes.
    pub fn receives(self) -> bool {
        self != FolderType::SendOnly
    }

    /// Whether the NAS scans and announces its own changes.
    pub fn sends(self) -> bool {
        self != FolderType::ReceiveOnly
    }
}

/// A folder's settings.
#[derive(Debug, Clone)]
pub struct FolderSettings {
    /// Folder id, the same on every device.
    pub id: String,
    /// Label.
    pub label: String,
    /// Where its files are.
    pub root: PathBuf,
    /// Its type.
    pub kind: FolderType,
    /// Paired devices it is shared with.
    pub devices: Vec<DeviceId>,
    /// Versions older than this are removed (0: never).
    pub keep_days: i64,
    /// Staggered versioning (versions thinned as they age) instead of the trash can.
    pub staggered: bool,
}

impl FolderSettings {
    /// From the catalog's row.
    pub fn from_catalog(f: &SyncFolder) -> Result<Self> {
        Ok(FolderSettings {
            id: f.folder_id.clone(),
            label: f.label.clone(),
            root: PathBuf::from(&f.path),
            kind: FolderType::parse(&f.kind)?,
            devices: f.devices.iter().filter_map(|d| d.parse().ok()).collect(),
            keep_days: f.keep_days,
            staggered: f.versioning == "staggered",
        })
    }
}

/// The NAS's own index of a folder.
#[derive(Debug, Default)]
pub struct LocalIndex {
    /// Every entry by name, deleted ones included (peers need to hear of deletions).
    pub files: HashMap<String, FileInfo>,
    /// Which index this is (random per folder).
    pub index_id: u64,
    /// The highest sequence handed out.
    pub max_sequence: i64,
}

/// A peer's index of a folder, as it announced it.
#[derive(Debug, Default)]
pub struct RemoteIndex {
    /// Entries by name.
    pub files: HashMap<String, FileInfo>,
}

/// Something the NAS should change to match the global version.
#[derive(Debug, Clone)]
pub struct Need {
    /// The version everyone should have.
    pub global: FileInfo,
    /// Connected peers that have exactly that version.
    pub sources: Vec<DeviceId>,
    /// What the NAS has now.
    pub local: Option<FileInfo>,
}

/// What the folder is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FolderState {
    /// Nothing to do.
    Idle,
    /// Looking for local changes.
    Scanning,
    /// Pulling changes from peers.
    Syncing,
    /// The last attempt failed (see `last_error`).
    Error,
}

/// Counters the folder keeps while it works.
#[derive(Debug, Clone)]
pub struct Activity {
    /// State.
    pub state: FolderState,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
    /// When the last scan finished (Unix seconds).
    pub last_scan: Option<i64>,
    /// Files and bytes received since start.
    pub received_files: u64,
    /// Bytes.
    pub received_bytes: u64,
}

/// One shared folder.
pub struct Folder {
    settings: Mutex<FolderSettings>,
    local: Mutex<LocalIndex>,
    remotes: Mutex<HashMap<DeviceId, RemoteIndex>>,
    activity: Mutex<Activity>,
    sequence: watch::Sender<i64>,
    catalog: Arc<Catalog>,
    /// Woken when a peer's index changes: there may be something to pull.
    pub pull_wanted: Notify,
    /// Woken when a scan is wanted (watcher, API, timer).
    pub scan_wanted: Notify,
    /// Woken when the folder should stop.
    pub stop: Notify,
    /// Held while the puller creates or renames a file: one at a time per folder. A directory
    /// takes such changes one by one anyway, and pullers that meet on its lock spin in the
    /// kernel (15 % of the receiver's CPU for 2,000 files in `scripts/bench-sync`'s profile),
    /// where waiting here costs nothing.
    pub(crate) directory_changes: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether an entry names a regular file (the only kind with content).
pub fn is_file(f: &FileInfo) -> bool {
    f.r#type == FileInfoType::File as i32
}

/// Whether an entry names a directory.
pub fn is_dir(f: &FileInfo) -> bool {
    f.r#type == FileInfoType::Directory as i32
}

impl Folder {
    /// Open a folder from the catalog (blocking: reads its index).
    pub fn open(catalog: Arc<Catalog>, settings: FolderSettings) -> Result<Folder> {
        let id = settings.id.clone();
        let (head, rows) = catalog.read(|c| Ok((sync_folders::index_head(c, &id)?, sync_folders::load_entries(c, &id)?)))?;
        let head = head.ok_or_else(|| SyncError::Invalid(format!("folder {id:?} is not in the catalog")))?;
        let mut files = HashMap::with_capacity(rows.len());
        for (name, sequence, bytes) in rows {
            match FileInfo::decode(bytes.as_slice()) {
                Ok(mut f) => {
                    f.sequence = sequence;
                    // Entries scanned before empty files got Syncthing's one zero-size block.
                    if is_file(&f) && !f.deleted && f.size == 0 && f.blocks.is_empty() {
                        f.blocks = crate::scan::empty_file_blocks();
                    }
                    files.insert(name, f);
                }
                // A damaged row is rescanned rather than trusted.
                Err(e) => tracing::warn!(folder = %id, %name, error = %e, "unreadable index entry; the file is rescanned"),
            }
        }
        let local = LocalIndex { files, index_id: head.index_id, max_sequence: head.max_sequence };
        let (sequence, _) = watch::channel(local.max_sequence);
        Ok(Folder {
            settings: Mutex::new(settings),
            local: Mutex::new(local),
            remotes: Mutex::new(HashMap::new()),
            activity: Mutex::new(Activity {
                state: FolderState::Idle,
                last_error: None,
                last_scan: None,
                received_files: 0,
                received_bytes: 0,
            }),
            sequence,
            catalog,
            pull_wanted: Notify::new(),
            scan_wanted: Notify::new(),
            stop: Notify::new(),
            directory_changes: tokio::sync::Mutex::new(()),
        })
    }

    /// Its settings now.
    pub fn settings(&self) -> FolderSettings {
        lock(&self.settings).clone()
    }

    /// Replace its settings (devices shared with, type, label).
    pub fn set_settings(&self, s: FolderSettings) {
        *lock(&self.settings) = s;
        self.pull_wanted.notify_one();
    }

    /// Whether it is shared with `device`.
    pub fn shared_with(&self, device: &DeviceId) -> bool {
        lock(&self.settings).devices.contains(device)
    }

    /// The folder id.
    pub fn id(&self) -> String {
        lock(&self.settings).id.clone()
    }

    /// Run `f` on the local index.
    pub fn with_local<R>(&self, f: impl FnOnce(&LocalIndex) -> R) -> R {
        f(&lock(&self.local))
    }

    /// The local entry for `name`.
    pub fn local_entry(&self, name: &str) -> Option<FileInfo> {
        lock(&self.local).files.get(name).cloned()
    }

    /// `look` applied to the local entry for `name`, without copying it (a large file's entry
    /// holds thousands of block hashes, and block requests come by the thousand).
    pub fn with_local_entry<T>(&self, name: &str, look: impl FnOnce(&FileInfo) -> T) -> Option<T> {
        lock(&self.local).files.get(name).map(look)
    }

    /// Follow the local index's highest sequence (changes when entries are committed).
    pub fn watch_sequence(&self) -> watch::Receiver<i64> {
        self.sequence.subscribe()
    }

    /// At most `limit` local entries with a sequence above `after`, in sequence order.
    pub fn entries_since(&self, after: i64, limit: usize) -> Vec<FileInfo> {
        let local = lock(&self.local);
        let mut refs: Vec<&FileInfo> = local.files.values().filter(|f| f.sequence > after).collect();
        refs.sort_unstable_by_key(|f| f.sequence);
        refs.into_iter().take(limit).cloned().collect()
    }

    /// Record changed entries in the index: each gets the next sequence number, all are written
    /// to the catalog in one transaction, then peers are told. Blocking.
    pub fn commit(&self, changes: Vec<FileInfo>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let id = self.id();
        let mut local = lock(&self.local);
        let mut seq = local.max_sequence;
        let mut rows = Vec::with_capacity(changes.len());
        let mut entries = Vec::with_capacity(changes.len());
        for mut f in changes {
            seq += 1;
            f.sequence = seq;
            rows.push((f.name.clone(), seq, f.encode_to_vec()));
            entries.push(f);
        }
        self.catalog.write(|tx| sync_folders::store_entries(tx, &id, &rows, seq))?;
        for f in entries {
            local.files.insert(f.name.clone(), f);
        }
        local.max_sequence = seq;
        drop(local);
        self.sequence.send_replace(seq);
        Ok(())
    }

    /// Take in a peer's Index (`replace`: it is the whole index) or IndexUpdate.
    pub fn update_remote(&self, device: DeviceId, files: Vec<FileInfo>, replace: bool) {
        let mut remotes = lock(&self.remotes);
        let index = remotes.entry(device).or_default();
        if replace {
            index.files.clear();
        }
        for f in files {
            index.files.insert(f.name.clone(), f);
        }
        drop(remotes);
        self.pull_wanted.notify_one();
    }

    /// Forget a peer's index (unshared or unpaired).
    pub fn forget_remote(&self, device: &DeviceId) {
        lock(&self.remotes).remove(device);
    }

    /// What the NAS needs to match the global version, given which peers are connected and which
    /// names are ignored: directories first (shallow to deep), then files, then deletions (deep
    /// to shallow, so directories empty before they go).
    pub fn needs(&self, connected: &HashSet<DeviceId>, ignored: impl Fn(&str) -> bool) -> Vec<Need> {
        let remotes = lock(&self.remotes);
        let local = lock(&self.local);
        let mut best: HashMap<&str, (&FileInfo, Vec<DeviceId>)> = HashMap::new();
        for (device, index) in remotes.iter() {
            for f in index.files.values() {
                if f.invalid {
                    continue;
                }
                match best.get_mut(f.name.as_str()) {
                    None => {
                        best.insert(&f.name, (f, vec![*device]));
                    }
                    Some((b, devices)) => {
                        if supersedes(f, b) {
                            *b = f;
                            devices.clear();
                            devices.push(*device);
                        } else if relate(&f.version.clone().unwrap_or_default(), &b.version.clone().unwrap_or_default()) == Relation::Equal
                        {
                            devices.push(*device);
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (name, (global, devices)) in best {
            let mine = local.files.get(name);
            let needed = match mine {
                None => !global.deleted,
                Some(m) => supersedes(global, m),
            };
            if !needed || ignored(name) {
                continue;
            }
            let sources: Vec<DeviceId> = devices.into_iter().filter(|d| connected.contains(d)).collect();
            out.push(Need { global: global.clone(), sources, local: mine.cloned() });
        }
        let rank = |n: &Need| -> (u8, usize) {
            let depth = n.global.name.matches('/').count();
            if n.global.deleted {
                (2, usize::MAX - depth)
            } else if is_dir(&n.global) {
                (0, depth)
            } else {
                (1, 0)
            }
        };
        out.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.global.name.cmp(&b.global.name)));
        out
    }

    /// How far `device` is from the global version: (bytes it has of the global, global bytes,
    /// names it needs). Only files count towards bytes, as in Syncthing's completion.
    pub fn completion_of(&self, device: &DeviceId) -> (u64, u64, u64) {
        let remotes = lock(&self.remotes);
        let local = lock(&self.local);
        let Some(theirs) = remotes.get(device) else { return (0, 0, 0) };
        let mut names: HashSet<&str> = local.files.keys().map(String::as_str).collect();
        for index in remotes.values() {
            names.extend(index.files.keys().map(String::as_str));
        }
        let (mut have, mut total, mut need) = (0u64, 0u64, 0u64);
        for name in names {
            let mut global: Option<&FileInfo> = None;
            for f in local.files.get(name).into_iter().chain(remotes.values().filter_map(|r| r.files.get(name))) {
                if !f.invalid && global.is_none_or(|g| supersedes(f, g)) {
                    global = Some(f);
                }
            }
            let Some(g) = global else { continue };
            let size = if g.deleted || !is_file(g) { 0 } else { g.size.max(0) as u64 };
            total += size;
            let has = theirs.files.get(name).is_some_and(|t| !supersedes(g, t));
            if has {
                have += size;
            } else if !g.deleted || theirs.files.contains_key(name) {
                need += 1;
            }
        }
        (have, total, need)
    }

    /// The folder's activity counters.
    pub fn activity(&self) -> Activity {
        lock(&self.activity).clone()
    }

    /// Change the activity counters.
    pub fn update_activity(&self, f: impl FnOnce(&mut Activity)) {
        f(&mut lock(&self.activity))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::messages::{Counter, Vector};

    fn entry(name: &str, counters: &[(u64, u64)], deleted: bool) -> FileInfo {
        FileInfo {
            name: name.into(),
            r#type: FileInfoType::File as i32,
            deleted,
            size: if deleted { 0 } else { 10 },
            version: Some(Vector { counters: counters.iter().map(|&(id, value)| Counter { id, value }).collect() }),
            ..Default::default()
        }
    }

    /// A send-receive folder "f" at `dir/f`, its catalog at `dir/c.db`.
    pub(crate) fn folder(dir: &std::path::Path) -> Folder {
        let (catalog, _) = Catalog::open(&dir.join("c.db")).expect("catalog");
        let row = SyncFolder {
            folder_id: "f".into(),
            label: "F".into(),
            path: dir.join("f").display().to_string(),
            kind: "send-receive".into(),
            versioning: "trashcan".into(),
            keep_days: 30,
            devices: vec![],
            added_at: 0,
        };
        catalog.write(|tx| sync_folders::add_folder(tx, &row, 7)).expect("add");
        Folder::open(Arc::new(catalog), FolderSettings::from_catalog(&row).expect("settings")).expect("open")
    }

    #[test]
    fn commits_survive_a_reopen_with_their_sequences() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = folder(dir.path());
        let mut seq = f.watch_sequence();
        f.commit(vec![entry("a", &[(1, 1)], false), entry("b", &[(1, 1)], false)]).expect("commit");
        f.commit(vec![entry("a", &[(1, 2)], false)]).expect("commit");
        assert!(seq.has_changed().expect("watch"));
        assert_eq!(*seq.borrow_and_update(), 3);
        assert_eq!(f.entries_since(1, 10).iter().map(|e| (e.name.as_str(), e.sequence)).collect::<Vec<_>>(), [("b", 2), ("a", 3)]);
        let settings = f.settings();
        let again = Folder::open(f.catalog.clone(), settings).expect("reopen");
        again.with_local(|l| {
            assert_eq!((l.index_id, l.max_sequence, l.files.len()), (7, 3, 2));
            assert_eq!(l.files["a"].version, entry("a", &[(1, 2)], false).version);
        });
    }

    #[test]
    fn needs_pick_the_global_version_and_order_the_work() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = folder(dir.path());
        let (p, q) = (DeviceId([1; 32]), DeviceId([2; 32]));
        f.commit(vec![entry("same", &[(1, 1)], false), entry("old", &[(1, 1)], false), entry("gone", &[(1, 1)], false)]).expect("commit");
        let mut dir_entry = entry("d", &[(2, 1)], false);
        dir_entry.r#type = FileInfoType::Directory as i32;
        f.update_remote(
            p,
            vec![entry("same", &[(1, 1)], false), entry("old", &[(1, 1), (2, 5)], false), dir_entry, entry("gone", &[(1, 2)], true)],
            true,
        );
        f.update_remote(
            q,
            vec![entry("old", &[(1, 1), (2, 5)], false), entry("new", &[(3, 1)], false), entry("skip.tmp", &[(3, 1)], false)],
            true,
        );
        let connected: HashSet<DeviceId> = [p].into();
        let needs = f.needs(&connected, |n| n.ends_with(".tmp"));
        let names: Vec<&str> = needs.iter().map(|n| n.global.name.as_str()).collect();
        assert_eq!(names, ["d", "new", "old", "gone"]);
        assert_eq!(needs[2].sources, vec![p], "only connected peers are sources");
        assert!(needs[1].sources.is_empty());
        let (have, total, need) = f.completion_of(&q);
        assert_eq!((have, total, need), (30, 40, 2));
    }
}
