//! Repository locks (docs/backup-format.md §10).

use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FileType};
use crate::crypto::{Keys, object_name};
use crate::error::{BackupError, Result};
use crate::snapshot::{hostname, now_rfc3339, parse_rfc3339, rfc3339};

const AAD: &[u8] = b"hearth-file locks";
/// How long a lock lives without a refresh.
pub const LIFETIME_SECS: i64 = 30 * 60;

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
    /// Exclusive (prune, forget) or shared (backup, check).
    pub exclusive: bool,
}

/// A held lock; removed on drop.
pub struct Lock<'a> {
    backend: &'a dyn Backend,
    name: String,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Take a lock. Live locks that conflict make this fail with [`BackupError::Locked`]; stale
/// ones are removed when `remove_stale` (and reported in the log), ignored otherwise.
pub fn acquire<'a>(backend: &'a dyn Backend, keys: &Keys, exclusive: bool, remove_stale: bool) -> Result<Lock<'a>> {
    let now = now_secs();
    for name in backend.list(FileType::Lock)? {
        let Ok(bytes) = backend.read(FileType::Lock, &name) else { continue };
        let Some(plain) = keys.enc.open(AAD, &bytes) else { continue };
        let Ok(info) = serde_json::from_slice::<LockInfo>(&plain) else { continue };
        let expires = parse_rfc3339(&info.expires).unwrap_or(0);
        if expires <= now {
            if remove_stale {
                tracing::warn!(host = %info.host, pid = info.pid, expired = %info.expires, "removing a stale lock");
                eprintln!("removed a stale lock of {} (pid {}), expired {}", info.host, info.pid, info.expires);
                let _ = backend.remove(FileType::Lock, &name);
            }
            continue;
        }
        if exclusive || info.exclusive {
            return Err(BackupError::Locked { holder: format!("{} pid {}", info.host, info.pid), expires: info.expires });
        }
    }
    let info =
        LockInfo { host: hostname(), pid: std::process::id(), time: now_rfc3339(), expires: rfc3339(now + LIFETIME_SECS, 0), exclusive };
    let plain = serde_json::to_vec(&info).map_err(|e| BackupError::Invalid(e.to_string()))?;
    let sealed = keys.enc.seal(AAD, &plain)?;
    let name = object_name(&sealed);
    backend.write(FileType::Lock, &name, &sealed)?;
    Ok(Lock { backend, name })
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        let _ = self.backend.remove(FileType::Lock, &self.name);
    }
}
