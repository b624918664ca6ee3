//! Repositories this box keeps for other machines: the storage side of restic's REST protocol
//! (restic's doc/REST_backend.md), so a laptop's stock `restic` and another Hearth back up here.
//!
//! The layout is restic's own (`config`, `keys/`, `locks/`, `snapshots/`, `index/`,
//! `data/xx/`), so a hosted repository can also be opened as a folder. Rules, as restic's
//! `rest-server` keeps them:
//!
//! - Every object except `config` is named by the hash of its bytes: SHA-256 in restic's
//!   repositories, BLAKE3 in Hearth's own (docs/backup-format.md §2), so both are computed as the
//!   bytes arrive; an upload whose bytes match neither is refused and leaves nothing behind.
//! - Nothing is ever replaced: an object is written under a temporary name, synced, and linked to
//!   its name only if that name is free (then the folder is synced). An object that is already
//!   there with the same name is the same bytes (the name is their hash), so storing it again
//!   succeeds without writing; a second `config` is refused.
//! - An append-only repository refuses every delete except of locks: whoever holds the laptop's
//!   password can add backups but cannot erase the history.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::FileType;
use crate::error::{BackupError, Result};

/// The hashes an object's name may be: SHA-256 in restic's repositories, BLAKE3 in Hearth's.
/// Once the repository's config shows which it is, only that one is computed (on a 2-core board
/// the second hash was a fifth of the server's CPU); before (keys come first), both.
struct NameHashes {
    sha256: Option<ring::digest::Context>,
    blake3: Option<blake3::Hasher>,
}

impl NameHashes {
    fn for_config(config: Option<&[u8]>) -> NameHashes {
        let sha = || Some(ring::digest::Context::new(&ring::digest::SHA256));
        match config {
            // Hearth's config is JSON with its format version (any version is Hearth's).
            Some(c) if matches!(crate::repo_config::RepoConfig::peek(c), Ok(_) | Err(BackupError::NewerFormat { .. })) => {
                NameHashes { sha256: None, blake3: Some(blake3::Hasher::new()) }
            }
            Some(_) => NameHashes { sha256: sha(), blake3: None },
            None => NameHashes { sha256: sha(), blake3: Some(blake3::Hasher::new()) },
        }
    }
}

/// An object of a hosted repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// `config`.
    Config,
    /// `TYPE/NAME`: the name is the hex SHA-256 (restic) or BLAKE3 (Hearth) of the bytes.
    Named(FileType, String),
}

impl Object {
    /// `TYPE/NAME` from a request path (`name` checked: 64 lower-case hex digits).
    pub fn named(t: FileType, name: &str) -> Result<Object> {
        if t == FileType::Config {
            return Ok(Object::Config);
        }
        if name.len() != 64 || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(BackupError::Invalid(format!(
                "{:?} is not an object name (64 hex digits)",
                name.chars().take(80).collect::<String>()
            )));
        }
        Ok(Object::Named(t, name.to_string()))
    }

    fn describe(&self) -> String {
        match self {
            Object::Config => "config".into(),
            Object::Named(t, n) => format!("{}/{n}", t.dir()),
        }
    }
}

/// A type's folder name as restic's REST protocol spells it (`data`, `keys`, `locks`,
/// `snapshots`, `index`), or `None` for anything else.
pub fn file_type(dir: &str) -> Option<FileType> {
    [FileType::Pack, FileType::Key, FileType::Lock, FileType::Snapshot, FileType::Index].into_iter().find(|t| t.dir() == dir)
}

/// What a delete or write was refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The repository is append-only and this is not a lock.
    AppendOnly,
    /// `config` exists already.
    ConfigExists,
}

/// How a store ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written now.
    Written,
    /// The same object was there already.
    AlreadyThere,
}

/// A repository kept here.
#[derive(Debug, Clone)]
pub struct HostedRepository {
    root: PathBuf,
    append_only: bool,
}

static TEMPORARY: AtomicU64 = AtomicU64::new(0);

fn sync_dir(p: &Path) -> std::io::Result<()> {
    File::open(p)?.sync_all()
}

impl HostedRepository {
    /// The repository at `root`; `append_only` refuses deletes other than locks.
    pub fn new(root: PathBuf, append_only: bool) -> Self {
        Self { root, append_only }
    }

    /// Its folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn io(&self, what: &str) -> impl Fn(std::io::Error) -> BackupError + '_ {
        let what = what.to_string();
        move |e| BackupError::io(what.clone(), e)
    }

    /// Whether it has a config (restic made it).
    pub fn exists(&self) -> bool {
        self.root.join("config").is_file()
    }

    /// Make its folders (`POST /?create=true`); a repository that is there already is left as it is.
    pub fn create(&self) -> Result<()> {
        let io = self.io("the repository's folders");
        fs::create_dir_all(&self.root).map_err(&io)?;
        for t in [FileType::Key, FileType::Lock, FileType::Snapshot, FileType::Index, FileType::Pack] {
            fs::create_dir_all(self.root.join(t.dir())).map_err(&io)?;
        }
        for i in 0..=255u8 {
            fs::create_dir_all(self.root.join("data").join(format!("{i:02x}"))).map_err(&io)?;
        }
        sync_dir(&self.root).map_err(&io)?;
        if let Some(parent) = self.root.parent() {
            sync_dir(parent).map_err(&io)?;
        }
        Ok(())
    }

    fn path(&self, o: &Object) -> PathBuf {
        match o {
            Object::Config => self.root.join("config"),
            Object::Named(FileType::Pack, n) => self.root.join("data").join(&n[..2]).join(n),
            Object::Named(t, n) => self.root.join(t.dir()).join(n),
        }
    }

    /// An object's size, or `None` when it is not there.
    pub fn size(&self, o: &Object) -> Result<Option<u64>> {
        match fs::metadata(self.path(o)) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BackupError::io(o.describe(), e)),
        }
    }

    /// An object opened for reading, or `None` when it is not there.
    pub fn open(&self, o: &Object) -> Result<Option<File>> {
        match File::open(self.path(o)) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BackupError::io(o.describe(), e)),
        }
    }

    /// The objects of a type with their sizes (temporaries left out).
    pub fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        let dir = self.root.join(t.dir());
        let mut out = Vec::new();
        let mut add = |d: &Path| -> std::io::Result<()> {
            for e in fs::read_dir(d)? {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                if Object::named(t, &name).is_ok() {
                    let m = e.metadata()?;
                    if m.is_file() {
                        out.push((name, m.len()));
                    }
                }
            }
            Ok(())
        };
        let io = self.io(t.dir());
        match fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(e)),
            Ok(entries) if t == FileType::Pack => {
                for e in entries {
                    let e = e.map_err(&io)?;
                    if e.file_type().map_err(&io)?.is_dir() {
                        add(&e.path()).map_err(&io)?;
                    }
                }
            }
            Ok(_) => add(&dir).map_err(&io)?,
        }
        out.sort();
        Ok(out)
    }

    /// Start storing `o`. Refused for a second config; the rest is checked at [`Upload::finish`].
    pub fn begin(&self, o: Object) -> Result<std::result::Result<Upload, Refusal>> {
        if o == Object::Config && self.path(&o).exists() {
            return Ok(Err(Refusal::ConfigExists));
        }
        let final_path = self.path(&o);
        let dir = final_path.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        if !dir.is_dir() {
            return Err(BackupError::NoRepository(self.root.display().to_string()));
        }
        let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let temporary = dir.join(format!(".upload-{}-{n}", std::process::id()));
        let file = OpenOptions::new().write(true).create_new(true).open(&temporary).map_err(self.io(&o.describe()))?;
        let hasher = match &o {
            Object::Config => None,
            Object::Named(..) => {
                let config = fs::read(self.path(&Object::Config)).ok();
                Some(NameHashes::for_config(config.as_deref()))
            }
        };
        Ok(Ok(Upload { object: o, file: Some(file), temporary, final_path, dir, hasher, written: 0 }))
    }

    /// Remove an object. Append-only repositories remove locks only; an object that is not there
    /// is `Ok(false)`.
    pub fn delete(&self, o: &Object) -> Result<std::result::Result<bool, Refusal>> {
        let lock = matches!(o, Object::Named(FileType::Lock, _));
        if self.append_only && !lock {
            return Ok(Err(Refusal::AppendOnly));
        }
        let p = self.path(o);
        match fs::remove_file(&p) {
            Ok(()) => {
                if let Some(d) = p.parent() {
                    sync_dir(d).map_err(self.io(&o.describe()))?;
                }
                Ok(Ok(true))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ok(false)),
            Err(e) => Err(BackupError::io(o.describe(), e)),
        }
    }

    /// Bytes held (every object of every type), for quotas.
    pub fn bytes(&self) -> Result<u64> {
        let mut n = self.size(&Object::Config)?.unwrap_or(0);
        for t in [FileType::Key, FileType::Lock, FileType::Snapshot, FileType::Index, FileType::Pack] {
            n += self.list(t)?.iter().map(|(_, s)| s).sum::<u64>();
        }
        Ok(n)
    }
}

/// An object being stored: bytes go to a temporary file in the object's folder, hashed on the way.
pub struct Upload {
    object: Object,
    file: Option<File>,
    temporary: PathBuf,
    final_path: PathBuf,
    dir: PathBuf,
    hasher: Option<NameHashes>,
    written: u64,
}

impl Upload {
    /// Bytes received so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Add the next bytes.
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let what = self.object.describe();
        let f = self.file.as_mut().ok_or_else(|| BackupError::Invalid(format!("{what}: the upload is finished")))?;
        f.write_all(bytes).map_err(|e| BackupError::io(what, e))?;
        if let Some(h) = self.hasher.as_mut() {
            if let Some(s) = h.sha256.as_mut() {
                s.update(bytes);
            }
            if let Some(b) = h.blake3.as_mut() {
                b.update(bytes);
            }
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Check the bytes against the name, sync, and give the object its name if that name is free.
    pub fn finish(mut self) -> Result<Stored> {
        let what = self.object.describe();
        if let (Some(h), Object::Named(t, name)) = (self.hasher.take(), &self.object) {
            let sha256 = h.sha256.map(|s| hearth_core::hex::lower(s.finish().as_ref()));
            let blake3 = h.blake3.map(|b| b.finalize().to_hex().to_string());
            if sha256.as_ref() != Some(name) && blake3.as_ref() != Some(name) {
                let got =
                    sha256.map(|s| format!("SHA-256 {s}")).into_iter().chain(blake3.map(|b| format!("BLAKE3 {b}"))).collect::<Vec<_>>();
                return Err(BackupError::damaged(
                    t.dir(),
                    name.clone(),
                    format!("the bytes sent hash to {}, not to their name", got.join(" and ")),
                ));
            }
        }
        let io = |e| BackupError::io(what.clone(), e);
        let f = self.file.take().ok_or_else(|| BackupError::Invalid(format!("{what}: the upload is finished")))?;
        f.sync_all().map_err(io)?;
        drop(f);
        // link() never replaces: a name that is taken stays as it is.
        let stored = match fs::hard_link(&self.temporary, &self.final_path) {
            Ok(()) => Stored::Written,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && self.object != Object::Config => Stored::AlreadyThere,
            Err(e) => return Err(io(e)),
        };
        fs::remove_file(&self.temporary).map_err(io)?;
        sync_dir(&self.dir).map_err(io)?;
        Ok(stored)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Unfinished or refused: the temporary goes, nothing else was touched.
        let _ = fs::remove_file(&self.temporary);
    }
}

/// What one hosted repository holds, for the web app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Its name in the address (`/restic/<user>/<name>/`).
    pub name: String,
    /// Bytes of every object.
    pub bytes: u64,
    /// Snapshot files (restic's snapshots, still encrypted: counted, not read).
    pub snapshots: u64,
    /// When the newest snapshot arrived (Unix seconds), if any.
    pub last_snapshot_at: Option<i64>,
}

/// The repositories in a user's folder (`DATA/restic/<user id>/`), by name.
pub fn summaries(user_dir: &Path) -> Result<Vec<Summary>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(user_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        other => other.map_err(|e| BackupError::io(user_dir.display().to_string(), e))?,
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let r = HostedRepository::new(e.path(), false);
        let mut snapshots = 0;
        let mut last = None;
        for entry in fs::read_dir(e.path().join("snapshots")).into_iter().flatten().flatten() {
            if Object::named(FileType::Snapshot, &entry.file_name().to_string_lossy()).is_err() {
                continue;
            }
            snapshots += 1;
            let at = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            if let Some(at) = at.and_then(|d| i64::try_from(d.as_secs()).ok()) {
                last = Some(last.map_or(at, |l: i64| l.max(at)));
            }
        }
        out.push(Summary { name, bytes: r.bytes()?, snapshots, last_snapshot_at: last });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Temporaries left by uploads that a crash cut off, removed (at start, before serving).
pub fn remove_stale_uploads(root: &Path) -> u64 {
    fn walk(d: &Path, n: &mut u64, depth: u32) {
        let Ok(entries) = fs::read_dir(d) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(".upload-") {
                if fs::remove_file(&p).is_ok() {
                    *n += 1;
                }
            } else if depth < 5 && e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&p, n, depth + 1);
            }
        }
    }
    let mut n = 0;
    walk(root, &mut n, 0);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hearth_core::hex::lower(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
    }

    fn store(r: &HostedRepository, o: Object, bytes: &[u8]) -> Result<std::result::Result<Stored, Refusal>> {
        let mut u = match r.begin(o)? {
            Ok(u) => u,
            Err(refused) => return Ok(Err(refused)),
        };
        for piece in bytes.chunks(7) {
            u.append(piece)?;
        }
        u.finish().map(Ok)
    }

    #[test]
    fn objects_are_kept_by_hash_never_replaced_and_listed_with_sizes() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = HostedRepository::new(dir.path().join("laptop"), false);
        assert!(matches!(r.begin(Object::Config), Err(BackupError::NoRepository(_))));
        r.create().expect("create");
        r.create().expect("creating again leaves it");
        assert_eq!(store(&r, Object::Config, b"config one").expect("config"), Ok(Stored::Written));
        assert_eq!(store(&r, Object::Config, b"config two").expect("config"), Err(Refusal::ConfigExists));
        let pack = b"a pack's bytes".repeat(1000);
        let name = sha(&pack);
        let o = Object::named(FileType::Pack, &name).expect("name");
        assert_eq!(store(&r, o.clone(), &pack).expect("pack"), Ok(Stored::Written));
        assert_eq!(store(&r, o.clone(), &pack).expect("again"), Ok(Stored::AlreadyThere));
        // Hearth's own repositories (their config is Hearth's JSON) name objects by BLAKE3; a
        // restic repository does not take them, and before any config both names are taken.
        let hearths = blake3::hash(b"a hearth pack").to_hex().to_string();
        let named = Object::named(FileType::Pack, &hearths).expect("name");
        assert!(store(&r, named.clone(), b"a hearth pack").is_err(), "restic's repository: SHA-256 names only");
        let hearth_repo = HostedRepository::new(dir.path().join("box"), false);
        hearth_repo.create().expect("create");
        let early = blake3::hash(b"a key").to_hex().to_string();
        assert_eq!(store(&hearth_repo, Object::named(FileType::Key, &early).expect("name"), b"a key").expect("key"), Ok(Stored::Written));
        let config = br#"{"version":1,"cipher":"chacha20-poly1305","body":""}"#;
        assert_eq!(store(&hearth_repo, Object::Config, config).expect("config"), Ok(Stored::Written));
        assert_eq!(store(&hearth_repo, named, b"a hearth pack").expect("blake3-named"), Ok(Stored::Written));
        let restic_named = Object::named(FileType::Pack, &sha(b"x")).expect("name");
        assert!(store(&hearth_repo, restic_named, b"x").is_err(), "Hearth's repository: BLAKE3 names only");
        assert_eq!(r.size(&o).expect("size"), Some(pack.len() as u64));
        assert_eq!(r.list(FileType::Pack).expect("list"), vec![(name.clone(), pack.len() as u64)]);
        assert!(dir.path().join("laptop/data").join(&name[..2]).join(&name).is_file());

        // Bytes that do not hash to their name are refused and leave nothing.
        let other = sha(b"other");
        let wrong = store(&r, Object::named(FileType::Snapshot, &other).expect("name"), b"not other");
        assert!(matches!(wrong, Err(BackupError::Damaged { .. })), "{wrong:?}");
        assert_eq!(r.list(FileType::Snapshot).expect("list"), vec![]);
        assert_eq!(remove_stale_uploads(r.root()), 0, "no temporary left behind");
        assert_eq!(std::fs::read(dir.path().join("laptop/config")).expect("config"), b"config one");

        for bad in ["../../etc/passwd", "ABCDEF", &"g".repeat(64), &name.to_uppercase(), ""] {
            assert!(Object::named(FileType::Key, bad).is_err(), "{bad}");
        }
        assert_eq!(file_type("data"), Some(FileType::Pack));
        assert_eq!(file_type("config"), None);
        assert_eq!(file_type("../data"), None);
    }

    #[test]
    fn append_only_repositories_delete_locks_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let open = HostedRepository::new(dir.path().join("r"), false);
        open.create().expect("create");
        let (snap, lock) = (b"snapshot".to_vec(), b"lock".to_vec());
        let s = Object::named(FileType::Snapshot, &sha(&snap)).expect("name");
        let l = Object::named(FileType::Lock, &sha(&lock)).expect("name");
        store(&open, s.clone(), &snap).expect("snapshot").expect("stored");
        store(&open, l.clone(), &lock).expect("lock").expect("stored");
        let guarded = HostedRepository::new(dir.path().join("r"), true);
        assert_eq!(guarded.delete(&s).expect("delete"), Err(Refusal::AppendOnly));
        assert_eq!(guarded.delete(&Object::Config).expect("delete"), Err(Refusal::AppendOnly));
        assert_eq!(guarded.delete(&l).expect("delete"), Ok(true));
        assert_eq!(guarded.size(&s).expect("size"), Some(snap.len() as u64));
        let listed = summaries(dir.path()).expect("summaries");
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].name.as_str(), listed[0].snapshots, listed[0].bytes), ("r", 1, snap.len() as u64));
        assert!(listed[0].last_snapshot_at.is_some());
        assert_eq!(open.delete(&s).expect("delete"), Ok(true));
        assert_eq!(open.delete(&s).expect("delete"), Ok(false));
        assert_eq!(open.bytes().expect("bytes"), 0);
        assert_eq!(summaries(&dir.path().join("nobody")).expect("none"), vec![]);
    }

    #[test]
    fn an_upload_cut_off_leaves_nothing_and_a_crash_leftover_is_swept() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = HostedRepository::new(dir.path().join("r"), false);
        r.create().expect("create");
        let bytes = b"index".to_vec();
        let o = Object::named(FileType::Index, &sha(&bytes)).expect("name");
        let mut u = r.begin(o.clone()).expect("begin").expect("allowed");
        u.append(&bytes[..2]).expect("append");
        drop(u);
        assert_eq!(r.size(&o).expect("size"), None);
        std::fs::write(dir.path().join("r/data/ab/.upload-1-2"), b"half").expect("leftover");
        assert_eq!(remove_stale_uploads(r.root()), 1);
    }
}
