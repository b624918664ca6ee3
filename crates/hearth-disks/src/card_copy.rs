//! Freeing the card's copy of the data after a move (docs/disks.md, "Moving the data off the
//! card"), at the family's word once the box runs from the disk: the card's data partition is
//! mounted, checked to be the old copy of this very data (its marker names the disk's file
//! system), emptied but for the marker, and the record says so. The marker stays: a card whose
//! record is lost must still never start on what it held.

use std::path::Path;

use hearth_platform::child;

use crate::data_disk::tool_limits;
use crate::data_home::{CardCopy, DataHome, DataHomeRecord, FsUuid, MOVED_MARKER};

/// Where the card's data partition is mounted while it is emptied.
pub const OLD_CARD: &str = "/run/hearth/old-card";

/// Empty the card's copy on `partition` (mounted at `at` meanwhile) and record it (root's side).
/// Asked again after it was done, it does nothing; cut short, asking again finishes it.
pub fn free(partition: &Path, at: &Path, record: &DataHomeRecord) -> Result<(), String> {
    let (uuid, file_system) = match record.read()? {
        DataHome::Disk { card_copy: CardCopy::Freed, .. } => return Ok(()),
        DataHome::Disk { uuid, file_system, .. } => (uuid, file_system),
        _ => return Err("the data does not live on a disk: what the card holds is the data".into()),
    };
    std::fs::create_dir_all(at).map_err(|e| format!("{}: {e}", at.display()))?;
    let args = [std::ffi::OsStr::new("-t"), "ext4".as_ref(), "-o".as_ref(), "noatime".as_ref(), partition.as_os_str(), at.as_os_str()];
    child::run("mount", &args, tool_limits()).map_err(|e| format!("the card's data partition cannot be mounted: {e}"))?;
    let emptied = empty(at, &uuid);
    let unmounted = child::run("umount", &[at.as_os_str()], tool_limits());
    emptied?;
    unmounted.map_err(|e| format!("the card's data partition could not be unmounted: {e}"))?;
    record
        .write(&DataHome::Disk { uuid, file_system, card_copy: CardCopy::Freed })
        .map_err(|e| format!("the card's copy was emptied, but the record could not say so: {e}"))
}

/// Remove everything under `at` but the marker (and `lost+found`), once the marker shows this is
/// the copy of the data on `uuid`; flushed before it returns.
pub fn empty(at: &Path, uuid: &FsUuid) -> Result<(), String> {
    let marker = std::fs::read_to_string(at.join(MOVED_MARKER))
        .map_err(|e| format!("the card's partition has no mark of a move ({e}): nothing was removed"))?;
    if marker.trim() != uuid.as_str() {
        return Err(format!("the card's partition is the old copy of other data (its mark names {}): nothing was removed", marker.trim()));
    }
    let entries = std::fs::read_dir(at).map_err(|e| format!("{}: {e}", at.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", at.display()))?;
        let name = entry.file_name();
        if name == MOVED_MARKER || name == "lost+found" {
            continue;
        }
        let path = entry.path();
        // Not followed: a link is removed, never what it points to.
        let removed = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        removed.map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let dir = std::fs::File::open(at).map_err(|e| format!("{}: {e}", at.display()))?;
    hearth_platform::durable::sync_file_system(&dir).map_err(|e| format!("{}: {e}", at.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marked_copy_of_this_data_is_emptied_and_the_marker_stays() {
        let card = tempfile::tempdir().expect("tmp");
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::write(outside.path().join("keep"), b"not on the card").expect("write");
        std::fs::create_dir_all(card.path().join("family/Été")).expect("dirs");
        std::fs::write(card.path().join("family/Été/photo.jpg"), b"jpeg").expect("write");
        std::fs::write(card.path().join("catalog.db"), b"db").expect("write");
        std::fs::create_dir(card.path().join("lost+found")).expect("dir");
        std::os::unix::fs::symlink(outside.path(), card.path().join("a link out")).expect("link");
        let uuid: FsUuid = "5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".parse().expect("uuid");
        let other: FsUuid = "0000aaaa-4e5f-4a6b-8c7d-9e0f1a2b3c4d".parse().expect("uuid");
        assert!(empty(card.path(), &uuid).expect_err("no marker").contains("no mark of a move"));
        std::fs::write(card.path().join(MOVED_MARKER), uuid.as_str()).expect("marker");
        assert!(empty(card.path(), &other).expect_err("another disk's").contains("other data"));
        assert!(card.path().join("catalog.db").exists(), "nothing removed on a refusal");
        empty(card.path(), &uuid).expect("emptied");
        let mut left: Vec<String> =
            std::fs::read_dir(card.path()).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, [MOVED_MARKER, "lost+found"]);
        assert_eq!(std::fs::read(outside.path().join("keep")).expect("kept"), b"not on the card", "a link is not followed");
    }
}
