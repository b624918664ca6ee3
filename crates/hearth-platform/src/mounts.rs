//! Remounting a filesystem read-write for a moment: the card's FAT partition stays read-only
//! except while the boot state is written (docs/update-bundle.md, "Boot state"), so a power cut at
//! any other time finds it clean.

use std::io;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};

/// Remount the filesystem mounted at `path`, read-only or read-write.
pub fn remount(path: &Path, read_only: bool) -> io::Result<()> {
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if read_only {
        flags |= MsFlags::MS_RDONLY;
    }
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>).map_err(io::Error::from)
}

/// A filesystem remounted read-write until this is dropped (then read-only again).
#[derive(Debug)]
pub struct WritableWhileHeld {
    path: PathBuf,
}

impl WritableWhileHeld {
    /// Remount `path` read-write.
    pub fn new(path: &Path) -> io::Result<WritableWhileHeld> {
        remount(path, false)?;
        Ok(WritableWhileHeld { path: path.to_path_buf() })
    }
}

impl Drop for WritableWhileHeld {
    fn drop(&mut self) {
        if let Err(e) = remount(&self.path, true) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not make the filesystem read-only again");
        }
    }
}
