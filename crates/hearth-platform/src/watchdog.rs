//! The hardware watchdog. Once opened, the board resets unless it is fed regularly; a clean
//! shutdown writes the magic close character so a deliberate stop does not reset the board.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An open watchdog device.
#[derive(Debug)]
pub struct Watchdog {
    file: File,
    path: PathBuf,
}

impl Watchdog {
    /// Open the device at `path` (normally `/dev/watchdog`). `Ok(None)` when it does not exist.
    pub fn open(path: &Path) -> io::Result<Option<Watchdog>> {
        if !path.exists() {
            return Ok(None);
        }
        let file = OpenOptions::new().write(true).open(path)?;
        Ok(Some(Watchdog { file, path: path.to_path_buf() }))
    }

    /// Reset the countdown.
    pub fn feed(&mut self) -> io::Result<()> {
        self.file.write_all(b"\0")?;
        self.file.flush()
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Disarm (magic close) and close: used on a clean shutdown only.
    pub fn disarm(mut self) -> io::Result<()> {
        self.file.write_all(b"V")?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_and_disarms_a_fake_device() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dev = dir.path().join("watchdog");
        assert!(Watchdog::open(&dev).expect("open").is_none());
        std::fs::write(&dev, b"").expect("create");
        let mut w = Watchdog::open(&dev).expect("open").expect("exists");
        w.feed().expect("feed");
        w.feed().expect("feed");
        w.disarm().expect("disarm");
        assert_eq!(std::fs::read(&dev).expect("read"), b"\0\0V");
    }
}
