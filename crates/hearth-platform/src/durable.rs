//! Files that survive a crash or power cut whole: the old content or the new, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Write `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename over the
/// target, fsync the folder. `mode` is the file's permission bits (0o600 for secrets).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        // A leftover temporary file from a crash may have other bits; set them explicitly.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Move `from` to `to` only if nothing is at `to`: the check and the move are one step, so a
/// second writer doing the same at the same moment gets `AlreadyExists` instead of replacing
/// (or being replaced by) the first. `renameat2(RENAME_NOREPLACE)`; where the filesystem does
/// not know that flag, a hard link (which never replaces either) and then unlinking `from`.
/// Both paths must be on one filesystem. The caller makes the folder durable (`sync_dir`).
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use nix::errno::Errno;
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::EINVAL | Errno::ENOSYS) => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Move the file `from` into `dir` under `name`, or, when that name is taken, the first free
/// `stem (1).ext`, `stem (2).ext`, … (what phones and desktops do); never over an existing file,
/// even when another writer places a file of the same name at the same moment. The folder is
/// fsynced before returning the path used. Gives up with `AlreadyExists` after `max_tries` names.
pub fn place_new_file(from: &Path, dir: &Path, name: &str, max_tries: u32) -> io::Result<std::path::PathBuf> {
    for n in 0..max_tries {
        let candidate = dir.join(numbered(name, n));
        match rename_noreplace(from, &candidate) {
            Ok(()) => {
                sync_dir(dir)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("no free name for {name} after {max_tries} tries")))
}

/// The `n`th name to try for a file called `name` when that name is taken: `name` itself for 0,
/// then `stem (n).ext` (what phones and desktops do).
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    numbered_name(stem, n, &ext)
}

/// `stem (n)ext`, the stem shortened (at a character boundary) so the name stays within the
/// 255 bytes a Linux filesystem allows.
fn numbered_name(stem: &str, n: u32, ext: &str) -> String {
    let suffix = format!(" ({n}){ext}");
    let mut end = stem.len().min(255usize.saturating_sub(suffix.len()));
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &stem[..end])
}

/// fsync a folder so a rename or a new file in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Flush everything written to the file system holding `f` (its directories' entries too).
pub fn sync_file_system(f: &std::fs::File) -> io::Result<()> {
    nix::unistd::syncfs(f).map_err(io::Error::from)
}

/// Ask the kernel to forget a flushed file's cached pages, so that reading it again reads the
/// disk rather than memory (a copy verified by reading back). Advice only: a kernel that does
/// not take it leaves the file as it was.
pub fn forget_cached_pages(f: &std::fs::File) {
    let _ = nix::fcntl::posix_fadvise(f, 0, 0, nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED);
}

/// Create `dir` (and parents) with `mode` if missing, and check we can write into it.
pub fn ensure_writable_dir(dir: &Path, mode: u32) -> io::Result<()> {
    if !dir.exists() {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))?;
    }
    if !dir.is_dir() {
        return Err(io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a folder", dir.display())));
    }
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    File::create(&probe)?;
    fs::remove_file(&probe)
}

/// Free and total bytes of the filesystem holding `path`.
pub fn space(path: &Path) -> io::Result<(u64, u64)> {
    let st = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    let frsize = st.fragment_size() as u64;
    Ok((st.blocks_available() as u64 * frsize, st.blocks() as u64 * frsize))
}

/// The room on the file system holding `path` (docs/disks.md, "Full disks").
pub fn room(path: &Path) -> io::Result<hearth_core::disk_room::Room> {
    let st = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    let frsize = st.fragment_size() as u64;
    let used = (st.blocks() as u64).saturating_sub(st.blocks_free() as u64).saturating_mul(frsize);
    Ok(hearth_core::disk_room::Room { free: (st.blocks_available() as u64).saturating_mul(frsize), used })
}

/// Whether a write of `incoming` bytes (0: unknown) may start on the file system holding
/// `path`: refused with `StorageFull` and the reason when it would take the disk past
/// [`hearth_core::disk_room::REFUSE_AT_PERCENT`].
pub fn admits(path: &Path, incoming: u64) -> io::Result<()> {
    room(path)?.admits(incoming).map_err(|no| io::Error::new(io::ErrorKind::StorageFull, no.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("secret");
        write_atomic(&p, b"one", 0o600).expect("write");
        write_atomic(&p, b"two", 0o600).expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        let mode = fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn rename_noreplace_never_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"new").expect("write");
        fs::write(&b, b"old").expect("write");
        let err = rename_noreplace(&a, &b).expect_err("b exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&b).expect("read"), b"old");
        assert_eq!(fs::read(&a).expect("read"), b"new", "the source stays where it was");
        let c = dir.path().join("c");
        rename_noreplace(&a, &c).expect("c is free");
        assert!(!a.exists());
        assert_eq!(fs::read(&c).expect("read"), b"new");
    }

    #[test]
    fn placing_many_files_of_one_name_at_once_keeps_every_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = dir.path().join("lib");
        fs::create_dir(&lib).expect("mkdir");
        let sources: Vec<_> = (0..32)
            .map(|i| {
                let p = dir.path().join(format!("upload-{i}"));
                fs::write(&p, format!("photo {i}")).expect("write");
                p
            })
            .collect();
        let placed: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = sources.iter().map(|p| s.spawn(|| place_new_file(p, &lib, "IMG_0001.jpg", 100))).collect();
            handles.into_iter().map(|h| h.join().expect("thread").expect("placed")).collect()
        });
        let mut contents: Vec<_> = placed.iter().map(|p| fs::read_to_string(p).expect("read")).collect();
        contents.sort();
        let mut want: Vec<_> = (0..32).map(|i| format!("photo {i}")).collect();
        want.sort();
        assert_eq!(contents, want, "every upload is on disk under its own name");
        assert_eq!(fs::read_dir(&lib).expect("ls").count(), 32);
        assert!(placed.iter().any(|p| p.ends_with("IMG_0001.jpg")));
        assert!(placed.iter().any(|p| p.ends_with("IMG_0001 (31).jpg")));
    }

    #[test]
    fn numbered_names_stay_within_255_bytes() {
        let stem = "é".repeat(126); // 252 bytes
        let n = numbered_name(&stem, 12, ".jpg");
        assert!(n.len() <= 255 && n.ends_with(" (12).jpg"), "{n}");
        assert_eq!(numbered_name("IMG", 1, ".jpg"), "IMG (1).jpg");
        assert_eq!(numbered("report.pdf", 0), "report.pdf");
        assert_eq!(numbered("report.pdf", 2), "report (2).pdf");
        assert_eq!(numbered("archive.tar.gz", 1), "archive.tar (1).gz");
        assert_eq!(numbered("notes", 1), "notes (1)");
        assert_eq!(numbered(".profile", 1), ".profile (1)");
    }

    #[test]
    fn placing_gives_up_after_its_tries() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("x"), b"1").expect("write");
        fs::write(dir.path().join("x (1)"), b"2").expect("write");
        let src = dir.path().join("src");
        fs::write(&src, b"3").expect("write");
        let err = place_new_file(&src, dir.path(), "x", 2).expect_err("both taken");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&src).expect("read"), b"3", "nothing lost");
        assert_eq!(place_new_file(&src, dir.path(), "x", 3).expect("third"), dir.path().join("x (2)"));
    }

    #[test]
    fn space_reports_something() {
        let (free, total) = space(Path::new("/")).expect("statvfs");
        assert!(total >= free && total > 0);
    }
}
