//! Snapshots (docs/backup-format.md §9).

use serde::{Deserialize, Serialize};

use hearth_core::calendar::{civil_from_days, days_from_civil};

use crate::blob::BlobId;
use crate::crypto::Keys;
use crate::error::{BackupError, Result};

const AAD: &[u8] = b"hearth-file snapshots";

/// A file or folder that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotError {
    /// The path.
    pub path: String,
    /// Why.
    pub error: String,
}

/// What a backup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Files not in the parent snapshot.
    pub files_new: u64,
    /// Files that changed since the parent.
    pub files_changed: u64,
    /// Files skipped as unchanged (not read).
    pub files_unmodified: u64,
    /// Folders.
    pub dirs: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// Plaintext bytes of new blobs.
    pub bytes_added: u64,
    /// Bytes written to the repository (sealed, compressed).
    pub bytes_stored: u64,
    /// Wall time.
    pub duration_ms: u64,
}

/// A snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version.
    pub version: u32,
    /// When it was taken (RFC 3339 with ns).
    pub time: String,
    /// Machine.
    pub host: String,
    /// User.
    pub user: String,
    /// What was backed up.
    pub paths: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Exclude patterns.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Root tree.
    pub tree: BlobId,
    /// The snapshot used to skip unchanged files.
    #[serde(default)]
    pub parent: Option<String>,
    /// Some entries could not be read.
    #[serde(default)]
    pub partial: bool,
    /// Those entries.
    #[serde(default)]
    pub errors: Vec<SnapshotError>,
    /// Counts.
    #[serde(default)]
    pub summary: Summary,
}

impl Snapshot {
    /// Sealed bytes.
    pub fn seal(&self, keys: &Keys) -> Result<Vec<u8>> {
        let plain = serde_json::to_vec(self).map_err(|e| BackupError::Invalid(e.to_string()))?;
        keys.enc.seal(AAD, &plain)
    }

    /// Open a stored snapshot.
    pub fn open(name: &str, sealed: &[u8], keys: &Keys) -> Result<Snapshot> {
        let plain = keys.enc.open(AAD, sealed).ok_or_else(|| BackupError::damaged("snapshots", name, "authentication failed"))?;
        Self::parse(name, &plain)
    }

    /// Parse the plaintext of a snapshot (after authentication).
    pub fn parse(name: &str, plain: &[u8]) -> Result<Snapshot> {
        let s: Snapshot = serde_json::from_slice(plain).map_err(|e| BackupError::damaged("snapshots", name, e.to_string()))?;
        if s.version != crate::FORMAT_VERSION {
            return Err(BackupError::NewerFormat { found: s.version, known: crate::FORMAT_VERSION });
        }
        Ok(s)
    }
}

/// Now as RFC 3339 UTC with nanoseconds.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// Unix seconds + nanoseconds as RFC 3339 UTC.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parse what [`rfc3339`] writes (UTC, `Z`) back to Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(1_795_000_000, 5), "2026-11-18T11:06:40.000000005Z");
        assert_eq!(parse_rfc3339("2026-11-18T11:06:40.000000005Z"), Some(1_795_000_000));
        assert_eq!(parse_rfc3339(&rfc3339(951_782_400, 0)), Some(951_782_400), "leap day 2000-02-29");
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}
