//! A local cache of a network repository's metadata: index files and tree blobs, the objects
//! every command reads and that are small. With it, opening a repository on a REST server or in
//! S3 downloads only index files it has not seen, and a backup finds its parent snapshot's
//! trees (per path: size, mtime, ctime, inode → chunk list) on the local disk, so an unchanged
//! tree costs no download and no read of file contents.
//!
//! Entries hold the bytes exactly as stored in the repository (sealed), so the cache reveals
//! nothing and every hit is verified again: index files by their name (the hash of their bytes),
//! tree blobs by authentication. A damaged or stale entry is a miss. Writes are best effort
//! (temporary name, rename, no fsync): losing the cache costs downloads, never data.
//!
//! Layout: `BASE/<repository id>/index/<name>`, `BASE/<repository id>/trees/<id[..2]>/<id>`.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// A repository's cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Where caches live by default: `$HEARTH_BACKUP_CACHE`, else `$XDG_CACHE_HOME/hearth/backup`,
    /// else `~/.cache/hearth/backup`.
    pub fn default_base() -> Option<PathBuf> {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        env("HEARTH_BACKUP_CACHE")
            .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("hearth/backup")))
            .or_else(|| env("HOME").map(|p| p.join(".cache/hearth/backup")))
    }

    /// The cache of repository `repo_id` under `base` (made, owner-only, when missing).
    pub fn open(base: &Path, repo_id: &str) -> std::io::Result<Cache> {
        use std::os::unix::fs::DirBuilderExt;
        if repo_id.is_empty() || !repo_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::other("the repository id is not hex"));
        }
        let dir = base.join(repo_id);
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        Ok(Cache { dir })
    }

    fn path(&self, kind: &str, name: &str) -> Option<PathBuf> {
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(match kind {
            "trees" => self.dir.join(kind).join(&name[..2]).join(name),
            _ => self.dir.join(kind).join(name),
        })
    }

    /// The cached bytes of `kind/name`, if any (the caller verifies them).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A cached object, if it is there.
    pub fn get(&self, kind: &str, name: &str) -> Option<Vec<u8>> {
        fs::read(self.path(kind, name)?).ok()
    }

    /// Remember `bytes` as `kind/name` (best effort).
    pub fn put(&self, kind: &str, name: &str, bytes: &[u8]) {
        let Some(path) = self.path(kind, name) else { return };
        let Some(dir) = path.parent() else { return };
        let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), &name[..16]));
        let result = fs::create_dir_all(dir).and_then(|()| fs::write(&tmp, bytes)).and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            tracing::debug!(error = %e, path = %path.display(), "cannot write to the backup cache");
        }
    }

    /// Forget a damaged entry.
    pub fn remove(&self, kind: &str, name: &str) {
        if let Some(p) = self.path(kind, name) {
            let _ = fs::remove_file(p);
        }
    }

    /// Delete cached index files the repository no longer has (prune replaced them).
    pub fn retain_index(&self, keep: &HashSet<String>) {
        let Ok(rd) = fs::read_dir(self.dir.join("index")) else { return };
        for e in rd.filter_map(|e| e.ok()) {
            if !keep.contains(e.file_name().to_string_lossy().as_ref()) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_remove_and_names_are_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let c = Cache::open(dir.path(), "abcd").expect("open");
        let name = "ab".repeat(32);
        assert!(c.get("trees", &name).is_none());
        c.put("trees", &name, b"sealed");
        assert_eq!(c.get("trees", &name).as_deref(), Some(&b"sealed"[..]));
        c.put("index", &name, b"x");
        c.retain_index(&HashSet::new());
        assert!(c.get("index", &name).is_none());
        c.remove("trees", &name);
        assert!(c.get("trees", &name).is_none());
        c.put("trees", "../../etc/passwd", b"no");
        assert!(c.get("trees", "../../etc/passwd").is_none());
        assert!(Cache::open(dir.path(), "../x").is_err());
    }
}
