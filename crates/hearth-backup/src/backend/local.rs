//! A repository in a local folder.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Backend, FileType};
use crate::error::{BackupError, Result};
use crate::pack::PackFile;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A pack streamed into `data/.tmp-PID-packN`, renamed to `data/XX/NAME` when committed.
struct LocalPackFile {
    root: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl PackFile for LocalPackFile {
    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let f = self.file.as_mut().ok_or_else(|| BackupError::Invalid("pack file already committed".into()))?;
        f.write_all(bytes).map_err(|e| BackupError::io(self.tmp.display().to_string(), e))
    }

    fn commit(mut self: Box<Self>, name: &str) -> Result<()> {
        let dest = Local::new(self.root.clone()).path(FileType::Pack, name)?;
        let dir = dest.parent().map(PathBuf::from).unwrap_or_else(|| self.root.clone());
        let io = |e| BackupError::io(dest.display().to_string(), e);
        let f = self.file.take().ok_or_else(|| BackupError::Invalid("pack file already committed".into()))?;
        f.sync_all().map_err(io)?;
        drop(f);
        if let Err(e) = fs::rename(&self.tmp, &dest) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(io(e));
            }
            fs::create_dir_all(&dir).map_err(io)?;
            fs::rename(&self.tmp, &dest).map_err(io)?;
        }
        sync_dir(&dir).map_err(io)
    }
}

impl Drop for LocalPackFile {
    fn drop(&mut self) {
        // Not committed (an error elsewhere): leave nothing behind.
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A folder.
#[derive(Debug, Clone)]
pub struct Local {
    root: PathBuf,
}

impl Local {
    /// The repository at `root`.
    pub fn new(root: PathBuf) -> Self {
        Local { root }
    }

    fn path(&self, t: FileType, name: &str) -> Result<PathBuf> {
        if t == FileType::Config {
            return Ok(self.root.join("config"));
        }
        // Names are hex hashes; refuse anything else so no name can leave the folder.
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BackupError::Invalid(format!("{name:?} is not an object name")));
        }
        let dir = self.root.join(t.dir());
        Ok(if t == FileType::Pack { dir.join(&name[..2]).join(name) } else { dir.join(name) })
    }
}

fn sync_dir(p: &std::path::Path) -> std::io::Result<()> {
    File::open(p)?.sync_all()
}

impl Backend for Local {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn exists(&self) -> Result<bool> {
        Ok(self.root.join("config").exists())
    }

    fn create(&self) -> Result<()> {
        let io = |e| BackupError::io(self.root.display().to_string(), e);
        fs::create_dir_all(&self.root).map_err(io)?;
        for t in [FileType::Key, FileType::Lock, FileType::Snapshot, FileType::Index, FileType::Pack] {
            fs::create_dir_all(self.root.join(t.dir())).map_err(io)?;
        }
        for i in 0..=255u8 {
            fs::create_dir_all(self.root.join("data").join(format!("{i:02x}"))).map_err(io)?;
        }
        sync_dir(&self.root).map_err(io)
    }

    fn list(&self, t: FileType) -> Result<Vec<String>> {
        let dir = self.root.join(t.dir());
        let io = |e| BackupError::io(dir.display().to_string(), e);
        let mut out = Vec::new();
        // A missing folder is an empty one: copies made by tools that drop empty folders (git,
        // some sync programs) stay readable.
        if !dir.exists() && self.root.join("config").exists() {
            return Ok(out);
        }
        let mut push = |p: PathBuf| -> Result<()> {
            for entry in fs::read_dir(&p).map_err(|e| BackupError::io(p.display().to_string(), e))? {
                let entry = entry.map_err(|e| BackupError::io(p.display().to_string(), e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    out.push(name);
                }
            }
            Ok(())
        };
        if t == FileType::Pack {
            for sub in fs::read_dir(&dir).map_err(io)? {
                let sub = sub.map_err(io)?;
                if sub.file_type().map_err(io)?.is_dir() {
                    push(sub.path())?;
                }
            }
        } else {
            push(dir.clone())?;
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let p = self.path(t, name)?;
        fs::read(&p).map_err(|e| BackupError::io(p.display().to_string(), e))
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, length: u32) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_range_into(t, name, offset, length, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(&self, t: FileType, name: &str, offset: u64, length: u32, buf: &mut Vec<u8>) -> Result<()> {
        let p = self.path(t, name)?;
        let io = |e| BackupError::io(p.display().to_string(), e);
        let mut f = File::open(&p).map_err(io)?;
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        buf.clear();
        let got = f.take(u64::from(length)).read_to_end(buf).map_err(io)?;
        if got != length as usize {
            return Err(BackupError::damaged(t.dir(), name, format!("shorter than the index says ({got} of {length} bytes at {offset})")));
        }
        Ok(())
    }

    fn size(&self, t: FileType, name: &str) -> Result<u64> {
        let p = self.path(t, name)?;
        fs::metadata(&p).map(|m| m.len()).map_err(|e| BackupError::io(p.display().to_string(), e))
    }

    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> Result<()> {
        let p = self.path(t, name)?;
        let dir = p.parent().map(PathBuf::from).unwrap_or_else(|| self.root.clone());
        let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), &name[..name.len().min(16)]));
        let io = |e| BackupError::io(p.display().to_string(), e);
        let result = (|| {
            let open = || OpenOptions::new().write(true).create(true).truncate(true).open(&tmp);
            let mut f = match open() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fs::create_dir_all(&dir)?;
                    open()?
                }
                other => other?,
            };
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &p)?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    fn remove(&self, t: FileType, name: &str) -> Result<()> {
        let p = self.path(t, name)?;
        fs::remove_file(&p).map_err(|e| BackupError::io(p.display().to_string(), e))
    }

    fn begin_pack(&self) -> Result<Option<Box<dyn PackFile>>> {
        let dir = self.root.join("data");
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".tmp-{}-pack{n}", std::process::id()));
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(|e| BackupError::io(tmp.display().to_string(), e))?;
        Ok(Some(Box::new(LocalPackFile { root: self.root.clone(), tmp, file: Some(file) })))
    }

    fn remove_stale_temporaries(&self) -> Result<u64> {
        let mut dirs = vec![self.root.clone(), self.root.join("data")];
        for t in [FileType::Key, FileType::Lock, FileType::Snapshot, FileType::Index] {
            dirs.push(self.root.join(t.dir()));
        }
        if let Ok(rd) = fs::read_dir(self.root.join("data")) {
            dirs.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()));
        }
        let mut removed = 0;
        for dir in dirs {
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            for entry in rd.filter_map(|e| e.ok()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                // `.tmp-PID-NAME`: only when that writer no longer runs on this machine.
                let Some(pid) = name.strip_prefix(".tmp-").and_then(|r| r.split('-').next()).and_then(|p| p.parse::<u32>().ok()) else {
                    continue;
                };
                if !crate::lock::process_exists(pid) {
                    fs::remove_file(entry.path()).map_err(|e| BackupError::io(entry.path().display().to_string(), e))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}
