//! Copying the data partition to a new data disk, every file read back from the disk and
//! compared (docs/disks.md, "Moving the data"). It runs in `hearthd prepare-data` before any
//! service starts, so nothing changes the source meanwhile; a copy cut short by a power cut is
//! run again from the start and skips the files already on the disk whole (same length and
//! BLAKE3 as the source's), so it resumes rather than starting over.
//!
//! What is copied: directories, regular files, symbolic links and hard links (as links), with
//! their modes, owners and modification times (sync compares times, so they must survive).
//! Sockets, pipes and device files are listed and left out; the destination's own
//! `lost+found` is left alone and the source's is not copied, nor the card's
//! [`crate::data_home::MOVED_MARKER`].

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// How often a copy says how far it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How much is read or written at a time.
const CHUNK: usize = 1 << 20;

/// How far a copy is, for the console and the status file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CopyCount {
    /// Regular files done (copied or found whole).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Of those, files found already whole on the destination (a resumed copy).
    pub already_there: u64,
    /// Directories made or found.
    pub directories: u64,
    /// Symbolic and hard links made.
    pub links: u64,
}

/// What a finished copy did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CopyReport {
    /// The counts.
    pub count: CopyCount,
    /// Files that are neither files, directories nor links, left out (paths from the top).
    pub left_out: Vec<PathBuf>,
    /// How long it took, seconds.
    pub seconds: f64,
}

impl CopyReport {
    /// Bytes copied per second (the files found whole count too: they were read twice).
    pub fn bytes_per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.count.bytes as f64 / self.seconds } else { 0.0 }
    }
}

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading the source failed: the card may be failing.
    #[error("reading {path} from the card failed: {source}")]
    Source {
        /// The path, from the top.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// Writing to the disk failed.
    #[error("writing {path} to the disk failed: {source}")]
    Destination {
        /// The path, from the top.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The disk gave back other bytes than were written.
    #[error("{path} read back from the disk differs from what was written: the disk or its cable may be failing")]
    Differs {
        /// The path, from the top.
        path: PathBuf,
    },
}

/// Copy everything under `from` into `to` (an empty or partly copied file system's top),
/// calling `progress` now and then.
pub fn copy_verified(from: &Path, to: &Path, progress: &mut dyn FnMut(&CopyCount)) -> Result<CopyReport, CopyError> {
    let started = Instant::now();
    let mut copy =
        Copy { from, to, count: CopyCount::default(), left_out: Vec::new(), linked: HashMap::new(), last_said: started, progress };
    copy.directory(Path::new(""))?;
    (copy.progress)(&copy.count);
    // Everything written is flushed per file; this covers the directories' own entries.
    let top = File::open(to).map_err(|source| CopyError::Destination { path: PathBuf::new(), source })?;
    hearth_platform::durable::sync_file_system(&top).map_err(|source| CopyError::Destination { path: PathBuf::new(), source })?;
    Ok(CopyReport { count: copy.count, left_out: copy.left_out, seconds: started.elapsed().as_secs_f64() })
}

struct Copy<'a> {
    from: &'a Path,
    to: &'a Path,
    count: CopyCount,
    left_out: Vec<PathBuf>,
    /// Source (device, inode) of files with more than one name → the first name copied.
    linked: HashMap<(u64, u64), PathBuf>,
    last_said: Instant,
    progress: &'a mut dyn FnMut(&CopyCount),
}

impl Copy<'_> {
    fn src_err(rel: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
        move |source| CopyError::Source { path: rel.to_path_buf(), source }
    }

    fn dst_err(rel: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
        move |source| CopyError::Destination { path: rel.to_path_buf(), source }
    }

    fn directory(&mut self, rel: &Path) -> Result<(), CopyError> {
        let src = self.from.join(rel);
        let dst = self.to.join(rel);
        let meta = fs::symlink_metadata(&src).map_err(Self::src_err(rel))?;
        match fs::symlink_metadata(&dst) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                remove_any(&dst).map_err(Self::dst_err(rel))?;
                fs::create_dir(&dst).map_err(Self::dst_err(rel))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(&dst).map_err(Self::dst_err(rel))?,
            Err(e) => return Err(Self::dst_err(rel)(e)),
        }
        self.count.directories += 1;
        let mut names: Vec<_> = fs::read_dir(&src)
            .map_err(Self::src_err(rel))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(Self::src_err(rel))?;
        names.sort();
        for name in names {
            let child = rel.join(&name);
            if rel.as_os_str().is_empty() && (name == "lost+found" || name == crate::data_home::MOVED_MARKER) {
                continue;
            }
            let m = fs::symlink_metadata(self.from.join(&child)).map_err(Self::src_err(&child))?;
            let kind = m.file_type();
            if kind.is_dir() {
                self.directory(&child)?;
            } else if kind.is_file() {
                self.file(&child, &m)?;
            } else if kind.is_symlink() {
                self.symlink(&child, &m)?;
            } else {
                self.left_out.push(child);
            }
        }
        // After its entries, which change a directory's time.
        set_owner_mode_time(&dst, &meta).map_err(Self::dst_err(rel))
    }

    fn symlink(&mut self, rel: &Path, meta: &fs::Metadata) -> Result<(), CopyError> {
        let target = fs::read_link(self.from.join(rel)).map_err(Self::src_err(rel))?;
        let dst = self.to.join(rel);
        if fs::read_link(&dst).ok().as_ref() != Some(&target) {
            if fs::symlink_metadata(&dst).is_ok() {
                remove_any(&dst).map_err(Self::dst_err(rel))?;
            }
            std::os::unix::fs::symlink(&target, &dst).map_err(Self::dst_err(rel))?;
        }
        std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid())).map_err(Self::dst_err(rel))?;
        self.count.links += 1;
        Ok(())
    }

    fn file(&mut self, rel: &Path, meta: &fs::Metadata) -> Result<(), CopyError> {
        let dst = self.to.join(rel);
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.linked.get(&key) {
                let first = self.to.join(first);
                let same = fs::metadata(&first).ok().zip(fs::symlink_metadata(&dst).ok()).is_some_and(|(a, b)| a.ino() == b.ino());
                if !same {
                    if fs::symlink_metadata(&dst).is_ok() {
                        remove_any(&dst).map_err(Self::dst_err(rel))?;
                    }
                    fs::hard_link(&first, &dst).map_err(Self::dst_err(rel))?;
                }
                self.count.links += 1;
                return Ok(());
            }
            self.linked.insert(key, rel.to_path_buf());
        }
        self.copy_file(rel, meta, &dst)?;
        set_owner_mode_time(&dst, meta).map_err(Self::dst_err(rel))?;
        self.count.files += 1;
        Ok(())
    }

    /// Copy one file unless the destination already holds it whole (found by reading both),
    /// and read what was written back from the disk to compare.
    fn copy_file(&mut self, rel: &Path, meta: &fs::Metadata, dst: &Path) -> Result<(), CopyError> {
        let mut src = File::open(self.from.join(rel)).map_err(Self::src_err(rel))?;
        if let Ok(existing) = fs::symlink_metadata(dst)
            && existing.is_file()
            && existing.len() == meta.len()
        {
            let ours = hash_file(&self.from.join(rel)).map_err(Self::src_err(rel))?;
            if hash_file(dst).map_err(Self::dst_err(rel))? == ours {
                self.count.already_there += 1;
                self.count.bytes += meta.len();
                return Ok(());
            }
        }
        if let Ok(existing) = fs::symlink_metadata(dst)
            && !existing.is_file()
        {
            remove_any(dst).map_err(Self::dst_err(rel))?;
        }
        let mut out = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(dst).map_err(Self::dst_err(rel))?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Self::src_err(rel)(e)),
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(Self::dst_err(rel))?;
            self.count.bytes += n as u64;
            self.now_and_then();
        }
        out.sync_all().map_err(Self::dst_err(rel))?;
        hearth_platform::durable::forget_cached_pages(&out);
        // Read back from the disk, not from memory: the written pages were dropped above.
        if hash_file(dst).map_err(Self::dst_err(rel))? != hasher.finalize() {
            return Err(CopyError::Differs { path: rel.to_path_buf() });
        }
        Ok(())
    }

    /// Tell `progress` every few seconds.
    fn now_and_then(&mut self) {
        if self.last_said.elapsed() >= PROGRESS_EVERY {
            self.last_said = Instant::now();
            (self.progress)(&self.count);
        }
    }
}

fn hash_file(path: &Path) -> io::Result<blake3::Hash> {
    let mut f = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(hasher.finalize()),
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn set_owner_mode_time(dst: &Path, meta: &fs::Metadata) -> io::Result<()> {
    std::os::unix::fs::chown(dst, Some(meta.uid()), Some(meta.gid()))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    let modified = UNIX_EPOCH + Duration::new(meta.mtime().max(0) as u64, meta.mtime_nsec().clamp(0, 999_999_999) as u32);
    let accessed = UNIX_EPOCH + Duration::new(meta.atime().max(0) as u64, meta.atime_nsec().clamp(0, 999_999_999) as u32);
    let times = fs::FileTimes::new().set_modified(modified).set_accessed(accessed);
    // Read-only is enough: setting given times needs ownership, not write access (and a file
    // copied as read-only could not be opened for writing by anyone but root).
    File::open(dst)?.set_times(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) {
        fs::create_dir_all(dir.join("photos/2024/Été")).expect("dirs");
        fs::write(dir.join("photos/2024/Été/a b.jpg"), vec![7u8; 3 * CHUNK + 5]).expect("a");
        fs::write(dir.join("photos/empty"), b"").expect("empty");
        fs::write(dir.join("hearth.db"), b"catalog").expect("db");
        fs::write(dir.join("hearth.db-wal"), b"wal").expect("wal");
        std::os::unix::fs::symlink("photos/2024", dir.join("latest")).expect("symlink");
        fs::hard_link(dir.join("hearth.db"), dir.join("photos/hardlinked.db")).expect("hard link");
        fs::set_permissions(dir.join("hearth.db-wal"), fs::Permissions::from_mode(0o640)).expect("mode");
        fs::create_dir(dir.join("lost+found")).expect("lost+found");
        nix::unistd::mkfifo(&dir.join("pipe"), nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("fifo");
        let old = fs::FileTimes::new().set_modified(UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789));
        File::options().write(true).open(dir.join("photos/empty")).expect("open").set_times(old).expect("time");
    }

    #[test]
    fn a_tree_is_copied_whole_and_a_second_run_finds_it_there() {
        let from = tempfile::tempdir().expect("from");
        let to = tempfile::tempdir().expect("to");
        tree(from.path());
        let mut said = 0;
        let report = copy_verified(from.path(), to.path(), &mut |_| said += 1).expect("copy");
        assert!(said >= 1);
        assert_eq!(report.count.files, 4, "{report:?}");
        assert_eq!(report.count.links, 2, "the symlink and the second name of hearth.db");
        assert_eq!(report.left_out, vec![PathBuf::from("pipe")]);
        assert!(!to.path().join("lost+found").exists());
        let read = |p: &str| fs::read(to.path().join(p)).expect(p);
        assert_eq!(read("photos/2024/Été/a b.jpg"), vec![7u8; 3 * CHUNK + 5]);
        assert_eq!(read("hearth.db-wal"), b"wal");
        assert_eq!(fs::read_link(to.path().join("latest")).expect("link"), PathBuf::from("photos/2024"));
        let (a, b) =
            (fs::metadata(to.path().join("hearth.db")).expect("a"), fs::metadata(to.path().join("photos/hardlinked.db")).expect("b"));
        assert_eq!(a.ino(), b.ino(), "a hard link stays one file");
        assert_eq!(fs::metadata(to.path().join("hearth.db-wal")).expect("wal").mode() & 0o777, 0o640);
        let empty = fs::metadata(to.path().join("photos/empty")).expect("empty");
        assert_eq!((empty.mtime(), empty.mtime_nsec()), (1_600_000_000, 123_456_789), "times survive to the nanosecond");

        let again = copy_verified(from.path(), to.path(), &mut |_| {}).expect("again");
        assert_eq!(again.count.already_there, 4, "{again:?}");
    }

    #[test]
    fn a_copy_cut_short_is_finished_by_the_next_run() {
        let from = tempfile::tempdir().expect("from");
        let to = tempfile::tempdir().expect("to");
        tree(from.path());
        copy_verified(from.path(), to.path(), &mut |_| {}).expect("copy");
        // As a power cut leaves it: one file short, one with other bytes of the same length, one
        // missing, and a file where a directory belongs.
        let big = to.path().join("photos/2024/Été/a b.jpg");
        File::options().write(true).open(&big).expect("open").set_len(CHUNK as u64).expect("cut");
        fs::write(to.path().join("hearth.db-wal"), b"WAL").expect("differs");
        fs::remove_file(to.path().join("photos/empty")).expect("rm");
        fs::remove_dir_all(to.path().join("photos/2024")).expect("rm dir");
        fs::write(to.path().join("photos/2024"), b"not a dir").expect("file");
        let report = copy_verified(from.path(), to.path(), &mut |_| {}).expect("again");
        assert_eq!(fs::read(&big).expect("big"), vec![7u8; 3 * CHUNK + 5]);
        assert_eq!(fs::read(to.path().join("hearth.db-wal")).expect("wal"), b"wal");
        assert!(to.path().join("photos/empty").is_file());
        assert_eq!(report.count.already_there, 1, "only hearth.db was whole: {report:?}");
    }

    #[test]
    fn an_unreadable_source_stops_the_copy_with_its_path() {
        let from = tempfile::tempdir().expect("from");
        let to = tempfile::tempdir().expect("to");
        fs::create_dir(from.path().join("locked")).expect("dir");
        fs::write(from.path().join("locked/x"), b"x").expect("x");
        fs::set_permissions(from.path().join("locked"), fs::Permissions::from_mode(0o000)).expect("lock");
        let result = copy_verified(from.path(), to.path(), &mut |_| {});
        fs::set_permissions(from.path().join("locked"), fs::Permissions::from_mode(0o755)).expect("unlock");
        if nix::unistd::geteuid().is_root() {
            // Root reads through the mode: the copy succeeds.
            assert!(result.is_ok());
        } else {
            let e = result.expect_err("locked");
            assert!(matches!(&e, CopyError::Source { path, .. } if path == Path::new("locked")), "{e}");
        }
    }
}
