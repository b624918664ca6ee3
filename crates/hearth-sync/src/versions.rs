//! The versions folder: whatever a peer's change would delete or overwrite on the NAS is moved
//! here first, never destroyed (DESIGN goal 1, beyond Syncthing's default). Layout as Syncthing's
//! versioners write it, so people and tools already know it:
//! `FOLDER/.stversions/DIR/NAME~YYYYMMDD-HHMMSS.EXT`. Pruning by age (30 days by default) and the
//! `hearth sync versions` command come with the folder settings.

use std::path::{Path, PathBuf};

use crate::error::{Result, SyncError};

/// The versions folder of a folder root.
pub fn versions_dir(root: &Path) -> PathBuf {
    root.join(".stversions")
}

/// `NAME~STAMP.EXT` (the stamp before the extension, so the version still opens as its type).
fn versioned_name(name: &str, stamp: &str) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}~{stamp}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}~{stamp}"),
    }
}

fn stamp(secs: i64) -> String {
    let (y, m, d) = hearth_core::calendar::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Move the file at `path` (named `name` in the folder at `root`) into the versions folder.
/// Returns where it went; `None` when there was nothing to keep.
pub fn keep(root: &Path, name: &str, path: &Path, now_s: i64) -> Result<Option<PathBuf>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SyncError::io(path.display().to_string(), e)),
    };
    if meta.is_dir() {
        return Ok(None);
    }
    let rel = Path::new(name);
    let base = rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = versions_dir(root).join(rel.parent().unwrap_or(Path::new("")));
    std::fs::create_dir_all(&dir).map_err(|e| SyncError::io(dir.display().to_string(), e))?;
    let mut dest = dir.join(versioned_name(&base, &stamp(now_s)));
    let mut n = 1;
    while dest.exists() {
        dest = dir.join(versioned_name(&base, &format!("{}-{n}", stamp(now_s))));
        n += 1;
    }
    std::fs::rename(path, &dest).map_err(|e| SyncError::io(format!("keeping {} as a version", path.display()), e))?;
    Ok(Some(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_content_is_moved_not_destroyed() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::create_dir_all(root.join("DCIM")).expect("mkdir");
        std::fs::write(root.join("DCIM/IMG_1.jpg"), b"first").expect("write");
        let kept = keep(root, "DCIM/IMG_1.jpg", &root.join("DCIM/IMG_1.jpg"), 1_795_305_600).expect("keep").expect("moved");
        assert_eq!(kept, root.join(".stversions/DCIM/IMG_1~20261122-000000.jpg"));
        assert_eq!(std::fs::read(&kept).expect("read"), b"first");
        std::fs::write(root.join("DCIM/IMG_1.jpg"), b"second").expect("write");
        let again = keep(root, "DCIM/IMG_1.jpg", &root.join("DCIM/IMG_1.jpg"), 1_795_305_600).expect("keep").expect("moved");
        assert_ne!(again, kept, "same second, still two versions");
        assert_eq!(keep(root, "none", &root.join("none"), 0).expect("nothing"), None);
        assert_eq!(versioned_name("README", "S"), "README~S");
        assert_eq!(versioned_name(".hidden", "S"), ".hidden~S");
    }
}
