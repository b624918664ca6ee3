//! Repository locks (docs/backup-format.md §10).
//!
//! A lock is a sealed object in `locks/`. Writers that add data (`backup`) and readers that must
//! not see packs disappear (`check`, `restore`) take a shared lock; commands that delete
//! (`forget`, `prune`, `key remove`) take an exclusive one. A held lock is refreshed by a
//! background thread (a new object written, then the old one deleted) so a long backup never
//! looks stale, and removed when the [`Lock`] is dropped.
//!
//! A lock is stale when it is past its expiry, or when it was taken on this host by a process that
//! no longer exists (a backup killed with SIGKILL). Stale locks never block; they are deleted
//! only when asked (`--remove-stale-locks`), and the command says so.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FileType};
use crate::crypto::{Keys, object_name};
use crate::error::{BackupError, Result};
use crate::repository::Repository;
use crate::snapshot::{hostname, now_rfc3339, parse_rfc3339, rfc3339};

const AAD: &[u8] = b"hearth-file locks";
/// How long a lock lives without a refresh.
pub const LIFETIME_SECS: i64 = 30 * 60;
/// How often a held lock is refreshed.
pub const REFRESH: Duration = Duration::from_secs(5 * 60);

/// A stored lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// Machine.
    pub host: String,
    /// Process.
    pub pid: u32,
    /// Taken at.
    pub time: String,
    /// Stale after.
    pub expires: String,
    /// Exclusive (prune, forget, key remove) or shared (backup, check, restore).
    pub exclusive: bool,
}

impl LockInfo {
    /// Why this lock is stale at `now`, or `None` while it is live.
    pub fn stale_reason(&self, now: i64) -> Option<String> {
        let expires = parse_rfc3339(&self.expires).unwrap_or(0);
        if expires <= now {
            return Some(format!("expired {}", self.expires));
        }
        if self.host == hostname() && !process_exists(self.pid) {
            return Some(format!("process {} on this host is gone", self.pid));
        }
        None
    }
}

/// Whether a process with this pid exists on this host (also decides whether a folder's
/// temporary file belongs to a writer that is gone).
pub(crate) fn process_exists(pid: u32) -> bool {
    pid == std::process::id() || std::path::Path::new("/proc").join(pid.to_string()).exists()
}

/// How to lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Others may hold shared locks at the same time.
    Shared,
    /// Nobody else may hold any lock.
    Exclusive,
}

/// A held lock; refreshed in the background, removed on drop.
pub struct Lock {
    stop: Option<Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lock")
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Every lock in the repository that can be read, with its name. Locks sealed with another
/// repository's key or damaged are skipped (they cannot be honoured or attributed).
pub fn list(backend: &dyn Backend, keys: &Keys) -> Result<Vec<(String, LockInfo)>> {
    let mut out = Vec::new();
    for name in backend.list(FileType::Lock)? {
        let Ok(bytes) = backend.read(FileType::Lock, &name) else { continue };
        let Some(plain) = keys.enc.open(AAD, &bytes) else { continue };
        let Ok(info) = serde_json::from_slice::<LockInfo>(&plain) else { continue };
        out.push((name, info));
    }
    Ok(out)
}

fn write_lock(backend: &dyn Backend, keys: &Keys, exclusive: bool) -> Result<String> {
    let now = now_secs();
    let info =
        LockInfo { host: hostname(), pid: std::process::id(), time: now_rfc3339(), expires: rfc3339(now + LIFETIME_SECS, 0), exclusive };
    let plain = serde_json::to_vec(&info).map_err(|e| BackupError::Invalid(e.to_string()))?;
    let sealed = keys.enc.seal(AAD, &plain)?;
    let name = object_name(&sealed);
    backend.write(FileType::Lock, &name, &sealed)?;
    Ok(name)
}

/// Take a lock on `repo`. A live conflicting lock makes this fail with [`BackupError::Locked`];
/// stale ones are ignored, or deleted when `remove_stale` (each reported on stderr).
pub fn acquire(repo: &Repository, mode: LockMode, remove_stale: bool) -> Result<Lock> {
    acquire_with(repo, mode, remove_stale, REFRESH)
}

/// [`acquire`] with a chosen refresh interval (tests use a short one).
pub fn acquire_with(repo: &Repository, mode: LockMode, remove_stale: bool, refresh: Duration) -> Result<Lock> {
    let backend = repo.backend_arc();
    let exclusive = mode == LockMode::Exclusive;
    let conflicts = |backend: &dyn Backend, own: Option<&str>| -> Result<()> {
        let now = now_secs();
        for (name, info) in list(backend, &repo.keys)? {
            if Some(name.as_str()) == own {
                continue;
            }
            if let Some(why) = info.stale_reason(now) {
                if remove_stale {
                    tracing::warn!(host = %info.host, pid = info.pid, %why, "removing a stale lock");
                    eprintln!("removed a stale lock of {} (pid {}): {why}", info.host, info.pid);
                    let _ = backend.remove(FileType::Lock, &name);
                } else {
                    tracing::info!(host = %info.host, pid = info.pid, %why, "ignoring a stale lock");
                }
                continue;
            }
            if exclusive || info.exclusive {
                let kind = if info.exclusive { "an exclusive" } else { "a shared" };
                return Err(BackupError::Locked {
                    holder: format!("{kind} lock of {} (pid {}, taken {})", info.host, info.pid, info.time),
                    expires: info.expires,
                });
            }
        }
        Ok(())
    };
    conflicts(backend.as_ref(), None)?;
    let name = write_lock(backend.as_ref(), &repo.keys, exclusive)?;
    // Two processes can pass the first look at the same moment; looking again after our own lock
    // is stored means at least one of them sees the other and backs off.
    if let Err(e) = conflicts(backend.as_ref(), Some(&name)) {
        let _ = backend.remove(FileType::Lock, &name);
        return Err(e);
    }
    let keys = Keys::derive(*repo.keys.master(), repo.keys.cipher)?;
    let (stop_tx, stop_rx) = channel();
    let refresher = std::thread::Builder::new()
        .name("backup-lock".into())
        .spawn(move || refresh_loop(backend, keys, exclusive, name, refresh, stop_rx))
        .map_err(|e| BackupError::io("the lock refresher thread", e))?;
    Ok(Lock { stop: Some(stop_tx), refresher: Some(refresher) })
}

fn refresh_loop(backend: Arc<dyn Backend>, keys: Keys, exclusive: bool, mut name: String, every: Duration, stop: Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
        match write_lock(backend.as_ref(), &keys, exclusive) {
            Ok(new) => {
                let _ = backend.remove(FileType::Lock, &name);
                name = new;
            }
            // Keep the old lock; it stays valid until it expires and the next round retries.
            Err(e) => tracing::warn!(error = %e, "cannot refresh the repository lock"),
        }
    }
    if let Err(e) = backend.remove(FileType::Lock, &name) {
        tracing::warn!(error = %e, "cannot remove the repository lock; it expires by itself");
    }
}

impl Lock {
    /// Release the lock now (also done on drop).
    pub fn release(mut self) {
        self.stop_refresher();
    }

    fn stop_refresher(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.stop_refresher();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::local::Local;
    use crate::crypto::Cipher;
    use crate::keyfile::Kdf;

    fn repo(dir: &std::path::Path) -> Repository {
        Repository::init(Arc::new(Local::new(dir.join("r"))), b"pw", Cipher::ChaCha20Poly1305, Kdf::for_tests().expect("kdf"))
            .expect("init")
    }

    #[test]
    fn shared_locks_coexist_and_exclusive_ones_do_not() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = repo(dir.path());
        let a = acquire(&r, LockMode::Shared, false).expect("shared");
        let b = acquire(&r, LockMode::Shared, false).expect("second shared");
        assert!(matches!(acquire(&r, LockMode::Exclusive, false), Err(BackupError::Locked { .. })));
        drop(a);
        drop(b);
        assert!(r.backend().list(FileType::Lock).expect("list").is_empty(), "dropped locks are removed");
        let x = acquire(&r, LockMode::Exclusive, false).expect("exclusive");
        assert!(matches!(acquire(&r, LockMode::Shared, false), Err(BackupError::Locked { .. })));
        x.release();
        assert!(r.backend().list(FileType::Lock).expect("list").is_empty());
    }

    #[test]
    fn a_lock_of_a_dead_process_is_stale_and_removed_on_request() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = repo(dir.path());
        // A lock written by a process that has exited.
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let now = now_secs();
        let info = LockInfo { host: hostname(), pid: dead, time: now_rfc3339(), expires: rfc3339(now + 600, 0), exclusive: true };
        let sealed = r.keys.enc.seal(AAD, &serde_json::to_vec(&info).expect("json")).expect("seal");
        r.backend().write(FileType::Lock, &object_name(&sealed), &sealed).expect("write");
        assert!(info.stale_reason(now).is_some());
        let l = acquire(&r, LockMode::Exclusive, false).expect("a stale lock does not block");
        drop(l);
        assert_eq!(r.backend().list(FileType::Lock).expect("list").len(), 1, "kept unless asked");
        drop(acquire(&r, LockMode::Shared, true).expect("lock"));
        assert!(r.backend().list(FileType::Lock).expect("list").is_empty());
        // A live lock of another host is honoured until it expires.
        let other = LockInfo { host: "elsewhere".into(), pid: 1, time: now_rfc3339(), expires: rfc3339(now + 600, 0), exclusive: false };
        assert!(other.stale_reason(now).is_none());
        assert!(other.stale_reason(now + 601).is_some());
    }

    #[test]
    fn a_held_lock_is_refreshed() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = repo(dir.path());
        let l = acquire_with(&r, LockMode::Shared, false, Duration::from_millis(20)).expect("lock");
        let first = r.backend().list(FileType::Lock).expect("list");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let now = r.backend().list(FileType::Lock).expect("list");
            if now.len() == 1 && now != first {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the lock was never refreshed");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(l);
        assert!(r.backend().list(FileType::Lock).expect("list").is_empty());
    }
}
