//! How full the data disk may get (docs/disks.md, "Full disks"). From 90% the family is warned;
//! from 97% new writes are refused before they start (an upload, a WebDAV PUT, a file sync would
//! pull), rather than failing mid-file, while deletions, moves and reads go on, so the box can
//! always be cleaned up. One rule for every writer.

use std::fmt;

/// From this share of the disk in use, the family is warned.
pub const WARN_AT_PERCENT: u64 = 90;
/// From this share in use (counting what a write would add), writes are refused.
pub const REFUSE_AT_PERCENT: u64 = 97;

/// How full a disk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fullness {
    /// Below [`WARN_AT_PERCENT`].
    Fine,
    /// From [`WARN_AT_PERCENT`]: time to make room or add a disk.
    Filling,
    /// From [`REFUSE_AT_PERCENT`]: new writes are refused.
    Full,
}

/// A disk's room as `df` counts it: what is used, and what an unprivileged writer may still
/// use. Their sum is the disk's usable size: blocks reserved for root, and blocks a shared or
/// overlaid file system does not offer at all, count neither as used nor as free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Bytes an unprivileged writer may still use (statvfs's `f_bavail`).
    pub free: u64,
    /// Bytes in use (`f_blocks - f_bfree`).
    pub used: u64,
}

/// A write refused because the disk is full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoom {
    /// The disk as it was.
    pub room: Room,
    /// What the write would have added.
    pub incoming: u64,
}

impl fmt::Display for NoRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the box's disk is {}% full ({} MiB free): new files are not taken until some are deleted or a bigger disk is added",
            self.room.percent_used(),
            self.room.free >> 20
        )
    }
}

impl std::error::Error for NoRoom {}

impl Room {
    /// The share in use, in whole percent (rounded down; a disk of size 0 is full).
    pub fn percent_used(&self) -> u64 {
        self.percent_after(0)
    }

    fn percent_after(&self, incoming: u64) -> u64 {
        let total = u128::from(self.used) + u128::from(self.free);
        if total == 0 {
            return 100;
        }
        let used = u128::from(self.used) + u128::from(incoming);
        (used * 100 / total).min(100) as u64
    }

    /// How full the disk is now.
    pub fn fullness(&self) -> Fullness {
        match self.percent_used() {
            p if p >= REFUSE_AT_PERCENT => Fullness::Full,
            p if p >= WARN_AT_PERCENT => Fullness::Filling,
            _ => Fullness::Fine,
        }
    }

    /// Whether a write of `incoming` bytes may start (0 when its size is not known: then only
    /// a disk already full refuses it).
    pub fn admits(&self, incoming: u64) -> Result<(), NoRoom> {
        if self.percent_after(incoming) >= REFUSE_AT_PERCENT || incoming > self.free {
            Err(NoRoom { room: *self, incoming })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thresholds() {
        let gib = 1u64 << 30;
        let disk = |free| Room { free, used: 100 * gib - free };
        assert_eq!(disk(50 * gib).fullness(), Fullness::Fine);
        assert_eq!(disk(10 * gib).fullness(), Fullness::Filling);
        assert_eq!(disk(4 * gib).fullness(), Fullness::Filling);
        assert_eq!(disk(3 * gib).fullness(), Fullness::Full);
        assert!(disk(4 * gib).admits(0).is_ok());
        assert!(disk(4 * gib).admits(gib / 2).is_ok());
        let no = disk(4 * gib).admits(gib).expect_err("would pass 97%");
        assert_eq!(
            no.to_string(),
            "the box's disk is 96% full (4096 MiB free): new files are not taken until some are deleted or a bigger disk is added"
        );
        assert!(disk(3 * gib).admits(0).is_err(), "full: even a write of unknown size waits");
        assert!(Room { free: 0, used: 0 }.admits(0).is_err());
        assert_eq!(Room { free: u64::MAX, used: u64::MAX }.percent_used(), 50, "nonsense from statvfs does not overflow");
        // A shared file system whose size counts blocks it does not offer: as df counts it.
        assert_eq!(Room { free: 70 * gib, used: 22 * gib }.fullness(), Fullness::Fine);
    }
}
