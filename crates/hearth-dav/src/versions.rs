//! Earlier versions of the family's files (docs/files.md, "Versions and trash"): the file a PUT
//! replaces is moved, not removed, to `<versions>/<file id>/<seconds>`, named by its own
//! modification time. Listing, reading and expiry are here; restoring is placing a copy like a
//! PUT (`methods`).

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hearth_catalog::dav_files::FileId;

use crate::tree::Replaced;

/// One kept version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Its name: the replaced file's modification time in seconds (made unique).
    pub name: u64,
    /// Its bytes.
    pub size: u64,
    /// The replaced file's modification time.
    pub modified: SystemTime,
    /// When it was kept (the rename's change time).
    pub kept: SystemTime,
}

/// One user's versions folder.
#[derive(Debug, Clone)]
pub struct Versions {
    root: PathBuf,
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Versions {
    /// The versions kept under `root` (on the same file system as the files).
    pub fn new(root: PathBuf) -> Versions {
        Versions { root }
    }

    fn dir(&self, id: FileId) -> PathBuf {
        self.root.join(id.0.to_string())
    }

    /// Keeps a replaced file as a version of the file `id`; its name.
    pub fn keep(&self, id: FileId, replaced: Replaced) -> io::Result<u64> {
        let modified = replaced.metadata()?.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        replaced.keep_in(&self.dir(id), seconds(modified))
    }

    /// The versions of the file `id`, newest first.
    pub fn list(&self, id: FileId) -> io::Result<Vec<Version>> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(self.dir(id)) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for e in entries.flatten() {
            let Some(name) = e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else { continue };
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let kept = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(meta.ctime()).unwrap_or(0));
            out.push(Version { name, size: meta.len(), modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), kept });
        }
        out.sort_by_key(|v| std::cmp::Reverse(v.name));
        Ok(out)
    }

    /// Opens one version for reading.
    pub fn open(&self, id: FileId, name: u64) -> io::Result<File> {
        File::open(self.dir(id).join(name.to_string()))
    }

    /// Hands the versions of the file `id` to `other` (the file moved to another space); nothing
    /// when it has none. Both are on one file system, else they stay (and expire here).
    pub fn hand_over(&self, id: FileId, other: &Versions) -> io::Result<()> {
        let (from, to) = (self.dir(id), other.dir(id));
        if !from.exists() {
            return Ok(());
        }
        fs::create_dir_all(&other.root)?;
        match hearth_platform::durable::rename_noreplace(&from, &to) {
            Ok(()) => hearth_platform::durable::sync_dir(&other.root),
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every version kept, with its path, bytes and when it was kept (for expiry).
    pub fn all(&self) -> io::Result<Vec<(PathBuf, u64, SystemTime)>> {
        let mut out = Vec::new();
        let dirs = match fs::read_dir(&self.root) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for d in dirs.flatten() {
            let Ok(files) = fs::read_dir(d.path()) else { continue };
            for f in files.flatten() {
                let Ok(meta) = f.metadata() else { continue };
                if meta.is_file() {
                    let kept = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(meta.ctime()).unwrap_or(0));
                    out.push((f.path(), meta.len(), kept));
                }
            }
        }
        Ok(out)
    }

    /// Removes one version (by its path from [`Versions::all`]), and its folder once empty.
    pub fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)?;
        if let Some(dir) = path.parent() {
            // Fails while other versions are there, which is fine.
            let _ = fs::remove_dir(dir);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::DavPath;
    use crate::tree::{Expect, Tree};

    #[test]
    fn a_replaced_file_is_kept_under_its_time_and_listed_newest_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let tree = Tree::open(dir.path().join("files"), dir.path().join("scratch")).expect("tree");
        let versions = Versions::new(dir.path().join("versions"));
        let path = DavPath::from_encoded("a.txt").expect("path");
        let put = |bytes: &[u8], when: u64| {
            let mut u = tree.begin_upload().expect("upload");
            u.append(bytes).expect("append");
            u.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(when)).expect("mtime");
            let expect = tree.stat(&path).expect("stat").map_or(Expect::Absent, |e| Expect::File(e.inode));
            tree.commit_upload(u, &path, expect).expect("commit").durable_keeping().expect("durable").1
        };
        assert!(put(b"one", 1000).is_none(), "nothing replaced the first time");
        let id = FileId(7);
        assert_eq!(versions.keep(id, put(b"two", 1000).expect("replaced")).expect("keep"), 1000);
        assert_eq!(versions.keep(id, put(b"three", 2000).expect("replaced")).expect("keep"), 1001, "the same second: the next name");
        let listed = versions.list(id).expect("list");
        assert_eq!(listed.iter().map(|v| v.name).collect::<Vec<_>>(), [1001, 1000]);
        assert_eq!(std::io::read_to_string(versions.open(id, 1000).expect("open")).expect("read"), "one");
        assert_eq!(std::io::read_to_string(versions.open(id, 1001).expect("open")).expect("read"), "two");
        assert_eq!(std::fs::read(dir.path().join("files/a.txt")).expect("current"), b"three");
        // A replaced file not kept is removed with the placement.
        drop(put(b"four", 3000));
        assert_eq!(std::fs::read_dir(dir.path().join("scratch")).expect("scratch").count(), 0);
        assert_eq!(versions.all().expect("all").len(), 2);
        for (p, _, _) in versions.all().expect("all") {
            versions.remove(&p).expect("remove");
        }
        assert!(!dir.path().join("versions/7").exists(), "an empty version folder goes");
        assert!(versions.list(FileId(8)).expect("none").is_empty());
    }
}
