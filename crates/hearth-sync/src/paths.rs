//! Names from peers become paths on the NAS only through [`safe_path`]: a name is a relative,
//! `/`-separated path whose parts are plain names; anything that could leave the folder
//! (`..`, absolute paths, NUL, empty parts, backslashes that some peers use as separators) or
//! land on Syncthing's own files (`.stfolder`, `.stignore`, `.stversions`, temporary files) is
//! refused, and no existing symlink inside the folder is followed.

use std::path::{Path, PathBuf};

use crate::error::{Result, SyncError};

/// Longest name accepted (bytes).
const MAX_NAME: usize = 4096;

/// Whether `name` is acceptable as a name inside a folder (without looking at the disk).
pub fn check_name(name: &str) -> Result<()> {
    let bad = |why: &str| SyncError::Protocol(format!("refused file name {name:?}: {why}"));
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(bad("empty or too long"));
    }
    if name.contains('\0') || name.contains('\\') {
        return Err(bad("NUL or backslash"));
    }
    if name.starts_with('/') {
        return Err(bad("absolute"));
    }
    for (i, part) in name.split('/').enumerate() {
        if part.is_empty() || part == "." || part == ".." {
            return Err(bad("empty, '.' or '..' part"));
        }
        if i == 0 && matches!(part, ".stfolder" | ".stignore" | ".stversions") || part.starts_with(".syncthing.") {
            return Err(bad("reserved name"));
        }
    }
    Ok(())
}

/// The path of `name` inside `root`, or why not.
pub fn safe_path(root: &Path, name: &str) -> Result<PathBuf> {
    check_name(name)?;
    let bad = |why: &str| SyncError::Protocol(format!("refused file name {name:?}: {why}"));
    let mut path = root.to_path_buf();
    for (i, part) in name.split('/').enumerate() {
        path.push(part);
        // An existing symlink on the way (not as the last part) would lead out of the folder.
        if let Ok(m) = std::fs::symlink_metadata(&path)
            && m.file_type().is_symlink()
            && i + 1 < name.split('/').count()
        {
            return Err(bad("passes through a symlink"));
        }
    }
    Ok(path)
}

/// The temporary name Syncthing uses while a file arrives: `.syncthing.NAME.tmp` next to it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".syncthing.{name}.tmp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        assert_eq!(safe_path(root, "DCIM/IMG_1.jpg").expect("ok"), root.join("DCIM/IMG_1.jpg"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "x\0y", "a\\..\\b", ".stfolder", ".syncthing.a.tmp"] {
            assert!(safe_path(root, bad).is_err(), "{bad:?}");
        }
        std::os::unix::fs::symlink("/etc", root.join("link")).expect("symlink");
        assert!(safe_path(root, "link/passwd").is_err());
        assert_eq!(temp_path(&root.join("a/b.jpg")), root.join("a/.syncthing.b.jpg.tmp"));
    }
}
