//! The files of one space on disk: what a [`DavPath`] names, and the changes WebDAV makes to
//! them, each safe against a power cut and against a second request doing the same at once.
//!
//! - Nothing outside the space's folder is reachable: paths are checked names only
//!   ([`DavPath`]), and a symbolic link met on the way is treated as absent (WebDAV cannot make
//!   one; one made by hand on the box must not lead a client elsewhere).
//! - A new file's bytes go to a temporary file in the space's scratch folder (same file system),
//!   are fsynced, and only then take the name: with `RENAME_NOREPLACE` when the name was free,
//!   or by exchanging places with the very file the request's conditions were checked against
//!   (`RENAME_EXCHANGE`, then its inode compared): a file that changed under the request is put
//!   back and the request is told, never overwritten unseen. The folder is fsynced after.
//! - All of these run on the blocking pool; callers hold the space's commit lock around the
//!   check of a request's conditions and the change itself.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::path::DavPath;

/// A file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder (a WebDAV collection).
    Folder,
}

/// What the file system says about a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File or folder.
    pub kind: Kind,
    /// Bytes (0 for folders).
    pub size: u64,
    /// Last change of its content.
    pub modified: SystemTime,
    /// When the file system made it, when it knows.
    pub created: Option<SystemTime>,
    /// Its inode (a replaced file has another).
    pub inode: u64,
    /// Nanoseconds of `modified`, for the entity tag.
    mtime_ns: i128,
    /// A folder's epoch and mark (`marks`), when the tree keeps marks.
    mark: Option<(u64, u64)>,
}

impl Entry {
    fn of(meta: &fs::Metadata) -> Option<Entry> {
        let kind = if meta.file_type().is_file() {
            Kind::File
        } else if meta.file_type().is_dir() {
            Kind::Folder
        } else {
            return None;
        };
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        Some(Entry {
            kind,
            size: if kind == Kind::File { meta.len() } else { 0 },
            modified,
            created: meta.created().ok(),
            inode: meta.ino(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            mark: None,
        })
    }

    /// A strong entity tag: inode, size and modification time, so any write, replacement or
    /// touch gives another; a folder's also has its mark, so a change anywhere beneath it gives
    /// another (`marks`).
    pub fn etag(&self) -> String {
        match self.mark {
            Some((epoch, mark)) if self.kind == Kind::Folder => {
                format!("\"{:x}-{:x}-{:x}-{epoch:x}-{mark:x}\"", self.inode, self.size, self.mtime_ns)
            }
            _ => format!("\"{:x}-{:x}-{:x}\"", self.inode, self.size, self.mtime_ns),
        }
    }

    /// Whether it is a folder.
    pub fn is_folder(&self) -> bool {
        self.kind == Kind::Folder
    }
}

/// One space's folder and its scratch folder.
#[derive(Debug, Clone)]
pub struct Tree {
    root: PathBuf,
    scratch: PathBuf,
    /// The folder marks and this space's key in them.
    marks: Option<(std::sync::Arc<crate::marks::FolderMarks>, String)>,
}

/// What a name held when a request's conditions were checked, which a change must find still
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Nothing.
    Absent,
    /// The file with this inode.
    File(u64),
}

/// A change that found the name no longer as its conditions saw it.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Another writer got there between the check and the change.
    #[error("the resource changed while this request was being handled")]
    Changed,
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Tree {
    /// The tree of `root`, whose temporary files go to `scratch` (same file system, outside
    /// `root`), touching nothing yet ([`Tree::prepare`] makes the folders).
    pub fn new(root: PathBuf, scratch: PathBuf) -> Tree {
        Tree { root, scratch, marks: None }
    }

    /// [`Tree::new`], with its folders made when missing.
    pub fn open(root: PathBuf, scratch: PathBuf) -> io::Result<Tree> {
        let t = Tree::new(root, scratch);
        t.prepare()?;
        Ok(t)
    }

    /// Makes the space's folder and its scratch folder when missing.
    pub fn prepare(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        fs::create_dir_all(&self.scratch)
    }

    /// This tree with its folders' ETags marked by `marks` under `space`.
    pub fn marked(mut self, marks: std::sync::Arc<crate::marks::FolderMarks>, space: &str) -> Tree {
        self.marks = Some((marks, space.to_string()));
        self
    }

    fn with_mark(&self, path: &DavPath, mut entry: Entry) -> Entry {
        if entry.kind == Kind::Folder
            && let Some((marks, space)) = &self.marks
        {
            entry.mark = Some(marks.of(space, path));
        }
        entry
    }

    /// The space's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes temporary files left by uploads a crash or a cut connection ended, older than
    /// `age` (younger ones may belong to uploads running now).
    pub fn clean_scratch(&self, age: std::time::Duration) -> io::Result<usize> {
        let mut n = 0;
        for e in fs::read_dir(&self.scratch)?.flatten() {
            let old = e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok()).is_some_and(|d| d >= age);
            if old && e.file_name().to_string_lossy().ends_with(".part") && fs::remove_file(e.path()).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The file system path of `path`, every folder on the way checked not to be a symbolic
    /// link; `None` when one is (or is not a folder).
    fn local(&self, path: &DavPath) -> io::Result<Option<PathBuf>> {
        let mut p = self.root.clone();
        let names = path.names();
        for (i, n) in names.iter().enumerate() {
            p.push(n);
            if i + 1 < names.len() {
                match fs::symlink_metadata(&p) {
                    Ok(m) if m.file_type().is_dir() => {}
                    Ok(_) => return Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Some(p))
    }

    fn local_or_missing(&self, path: &DavPath) -> io::Result<PathBuf> {
        self.local(path)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{path} does not exist")))
    }

    /// What is at `path`; `None` when nothing (or a link, or a device) is.
    pub fn stat(&self, path: &DavPath) -> io::Result<Option<Entry>> {
        let Some(p) = self.local(path)? else { return Ok(None) };
        match fs::symlink_metadata(&p) {
            Ok(m) => Ok(Entry::of(&m).map(|e| self.with_mark(path, e))),
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The members of the folder at `path`, by name; names that are not UTF-8 or not
    /// acceptable as WebDAV names, links and devices are left out.
    pub fn list(&self, path: &DavPath) -> io::Result<Vec<(String, Entry)>> {
        let dir = self.local_or_missing(path)?;
        let mut out = Vec::new();
        for e in fs::read_dir(&dir)? {
            let e = e?;
            let Ok(name) = e.file_name().into_string() else { continue };
            if DavPath::check_name(&name).is_err() {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(e.path()) else { continue };
            if let Some(entry) = Entry::of(&meta) {
                let entry = match path.child(&name) {
                    Ok(child) => self.with_mark(&child, entry),
                    Err(_) => entry,
                };
                out.push((name, entry));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The bytes of every file beneath the folder at `path` (symbolic links not followed; what
    /// cannot be read counts nothing).
    pub fn size_beneath(&self, path: &DavPath) -> io::Result<u64> {
        let mut total = 0u64;
        let mut pending = vec![self.local_or_missing(path)?];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                let Ok(t) = e.file_type() else { continue };
                if t.is_dir() {
                    pending.push(e.path());
                } else if t.is_file() {
                    total += e.metadata().map(|m| m.len()).unwrap_or(0);
                }
            }
        }
        Ok(total)
    }

    /// Opens the file at `path` for reading.
    pub fn open_file(&self, path: &DavPath) -> io::Result<(File, Entry)> {
        use std::os::unix::fs::OpenOptionsExt;
        let p = self.local_or_missing(path)?;
        let f = File::options().read(true).custom_flags(nix::libc::O_NOFOLLOW).open(&p)?;
        let meta = f.metadata()?;
        match Entry::of(&meta) {
            Some(e) if e.kind == Kind::File => Ok((f, e)),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{path} is not a file"))),
        }
    }

    /// A new temporary file for an upload.
    pub fn begin_upload(&self) -> io::Result<Upload> {
        let path = self.scratch.join(format!("{}.part", crate::locks::new_uuid()));
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        Ok(Upload { file: Some(file), path, written: 0, done: false, synced: false })
    }

    /// Gives `upload`'s bytes the name `path`, if the name still holds what `expect` says
    /// (module docs). The name is durable once [`Placed::durable`] returns, which the caller
    /// may do after letting go of its commit lock (both fsyncs then run outside it).
    pub fn commit_upload(&self, mut upload: Upload, path: &DavPath, expect: Expect) -> Result<Placed, ChangeError> {
        let to = self.local_or_missing(path)?;
        let parent = to.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        upload.sync()?;
        drop(upload.file.take());
        match expect {
            Expect::Absent => match hearth_platform::durable::rename_noreplace(&upload.path, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(ChangeError::Changed),
                Err(e) => return Err(e.into()),
            },
            Expect::File(inode) => {
                use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
                renameat2(AT_FDCWD, &upload.path, AT_FDCWD, &to, RenameFlags::RENAME_EXCHANGE).map_err(io::Error::from)?;
                // The old file is now at the temporary's name.
                let old = fs::symlink_metadata(&upload.path)?;
                if old.ino() != inode || !old.file_type().is_file() {
                    renameat2(AT_FDCWD, &upload.path, AT_FDCWD, &to, RenameFlags::RENAME_EXCHANGE).map_err(io::Error::from)?;
                    return Err(ChangeError::Changed);
                }
            }
        }
        upload.done = true;
        // The replaced file, now at the temporary's name: kept as a version or removed by
        // whoever takes the placement.
        let old = (expect != Expect::Absent).then(|| Replaced { path: upload.path.clone() });
        Ok(Placed { created: expect == Expect::Absent, folder: parent, old })
    }

    /// Makes the folder `path` (its parent must exist). `AlreadyExists` when the name is taken.
    pub fn make_folder(&self, path: &DavPath) -> io::Result<()> {
        let p = self.local_or_missing(path)?;
        fs::create_dir(&p)?;
        if let Some(parent) = p.parent() {
            hearth_platform::durable::sync_dir(parent)?;
        }
        Ok(())
    }

    /// Makes the folder at `path` and every missing folder above it (Nextcloud's
    /// `X-NC-WebDAV-AutoMkcol`); a file on the way is an error.
    pub fn make_folders(&self, path: &DavPath) -> io::Result<bool> {
        let mut at = DavPath::root();
        let mut made = false;
        for name in path.names() {
            at = at.child(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            match self.stat(&at)? {
                Some(e) if e.is_folder() => {}
                Some(_) => return Err(io::Error::from_raw_os_error(nix::libc::ENOTDIR)),
                None => match self.make_folder(&at) {
                    Ok(()) => made = true,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(made)
    }

    /// Removes `path` and, for a folder, everything in it.
    pub fn remove(&self, path: &DavPath) -> io::Result<()> {
        let p = self.local_or_missing(path)?;
        let meta = fs::symlink_metadata(&p)?;
        if meta.file_type().is_dir() {
            fs::remove_dir_all(&p)?;
        } else {
            fs::remove_file(&p)?;
        }
        if let Some(parent) = p.parent() {
            hearth_platform::durable::sync_dir(parent)?;
        }
        Ok(())
    }

    /// Moves what is at `path` out of the space to `outside` (a free name on the same file
    /// system: the trash), both folders fsynced.
    pub fn move_out(&self, path: &DavPath, outside: &Path) -> io::Result<()> {
        let p = self.local_or_missing(path)?;
        if let Some(dir) = outside.parent() {
            fs::create_dir_all(dir)?;
        }
        hearth_platform::durable::rename_noreplace(&p, outside)?;
        if let Some(parent) = p.parent() {
            hearth_platform::durable::sync_dir(parent)?;
        }
        if let Some(dir) = outside.parent() {
            hearth_platform::durable::sync_dir(dir)?;
        }
        Ok(())
    }

    /// Moves `outside` (on the same file system) into the space at the free name `path`;
    /// `AlreadyExists` when it is taken.
    pub fn move_in(&self, outside: &Path, path: &DavPath) -> io::Result<()> {
        let p = self.local_or_missing(path)?;
        hearth_platform::durable::rename_noreplace(outside, &p)?;
        if let Some(parent) = p.parent() {
            hearth_platform::durable::sync_dir(parent)?;
        }
        Ok(())
    }

    /// Moves `from` to the free name `to` (the caller removed what was there, if allowed).
    /// `AlreadyExists` when `to` is taken after all.
    pub fn rename(&self, from: &DavPath, to: &DavPath) -> io::Result<()> {
        self.move_to(from, self, to)
    }

    /// Moves `from` to the free name `to` in `dest` (another space: a member's files and a
    /// family folder), by one rename when both are on one file system, else by a copy and then
    /// the removal of `from`. `AlreadyExists` when `to` is taken.
    pub fn move_to(&self, from: &DavPath, dest: &Tree, to: &DavPath) -> io::Result<()> {
        let a = self.local_or_missing(from)?;
        let b = dest.local_or_missing(to)?;
        match hearth_platform::durable::rename_noreplace(&a, &b) {
            Ok(()) => {
                for dir in [a.parent(), b.parent()].into_iter().flatten() {
                    hearth_platform::durable::sync_dir(dir)?;
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                self.copy_to(from, dest, to, true)?;
                self.remove(from)
            }
            Err(e) => Err(e),
        }
    }

    /// Copies `from` to the free name `to`: a file through a temporary (so `to` never holds
    /// half a copy), a folder with its members when `deep`, else empty.
    pub fn copy(&self, from: &DavPath, to: &DavPath, deep: bool) -> io::Result<()> {
        self.copy_to(from, self, to, deep)
    }

    /// [`Tree::copy`] into `dest` (another space), through `dest`'s temporaries.
    pub fn copy_to(&self, from: &DavPath, dest: &Tree, to: &DavPath, deep: bool) -> io::Result<()> {
        let src = self.local_or_missing(from)?;
        let meta = fs::symlink_metadata(&src)?;
        if meta.file_type().is_dir() {
            dest.make_folder(to)?;
            if deep {
                for (name, _) in self.list(from)? {
                    let (f, t) = (from.child(&name).map_err(io::Error::other)?, to.child(&name).map_err(io::Error::other)?);
                    self.copy_to(&f, dest, &t, true)?;
                }
            }
            return Ok(());
        }
        if !meta.file_type().is_file() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{from} is not a file")));
        }
        let mut upload = dest.begin_upload()?;
        {
            let mut input = File::open(&src)?;
            let file = upload.file.as_mut().ok_or_else(|| io::Error::other("no temporary"))?;
            io::copy(&mut input, file)?;
        }
        if let Ok(t) = meta.modified()
            && let Some(f) = upload.file.as_ref()
        {
            f.set_modified(t)?;
        }
        match dest.commit_upload(upload, to, Expect::Absent) {
            Ok(placed) => placed.durable().map(|_| ()),
            Err(ChangeError::Changed) => Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{to} exists"))),
            Err(ChangeError::Io(e)) => Err(e),
        }
    }

    /// Sets the modification time of `path` (the Nextcloud apps send the phone's).
    pub fn set_modified(&self, path: &DavPath, when: SystemTime) -> io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let p = self.local_or_missing(path)?;
        File::options().write(true).custom_flags(nix::libc::O_NOFOLLOW).open(&p)?.set_modified(when)
    }

    /// Free and total bytes of the file system under the space.
    pub fn space(&self) -> io::Result<(u64, u64)> {
        hearth_platform::durable::space(&self.root)
    }
}

/// A file that has taken its name, not yet durable in its folder.
#[derive(Debug)]
#[must_use = "the name is durable only after `durable`"]
pub struct Placed {
    created: bool,
    folder: PathBuf,
    old: Option<Replaced>,
}

impl Placed {
    /// fsyncs the folder; returns whether the file is new. The file it replaced is removed.
    pub fn durable(self) -> io::Result<bool> {
        Ok(self.durable_keeping()?.0)
    }

    /// fsyncs the folder; returns whether the file is new and, when it replaced one, that
    /// file (removed unless kept: [`Replaced::keep_in`]).
    pub fn durable_keeping(mut self) -> io::Result<(bool, Option<Replaced>)> {
        hearth_platform::durable::sync_dir(&self.folder)?;
        Ok((self.created, self.old.take()))
    }
}

/// The file an upload replaced, at a temporary name in the scratch folder; removed when
/// dropped unless kept.
#[derive(Debug)]
pub struct Replaced {
    path: PathBuf,
}

impl Replaced {
    /// Its metadata.
    pub fn metadata(&self) -> io::Result<fs::Metadata> {
        fs::symlink_metadata(&self.path)
    }

    /// Moves it into `dir` (made when missing, same file system) under `name`, or the first of
    /// `name + 1`, `name + 2`… that is free (names are numbers); the name it got.
    pub fn keep_in(mut self, dir: &Path, name: u64) -> io::Result<u64> {
        fs::create_dir_all(dir)?;
        let mut n = name;
        loop {
            match hearth_platform::durable::rename_noreplace(&self.path, &dir.join(n.to_string())) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < name.saturating_add(1000) => n += 1,
                Err(e) => return Err(e),
            }
        }
        self.path = PathBuf::new();
        hearth_platform::durable::sync_dir(dir)?;
        Ok(n)
    }
}

impl Drop for Replaced {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// An upload on its way to a temporary file; removed when dropped without being committed.
#[derive(Debug)]
pub struct Upload {
    file: Option<File>,
    path: PathBuf,
    written: u64,
    done: bool,
    synced: bool,
}

impl Upload {
    /// fsyncs what was written (before taking a commit lock, so uploads do not wait on each
    /// other's disk flushes); appending after this is refused.
    pub fn sync(&mut self) -> io::Result<()> {
        if !self.synced {
            self.file.as_ref().ok_or_else(|| io::Error::other("the upload is closed"))?.sync_all()?;
            self.synced = true;
        }
        Ok(())
    }

    /// Appends bytes.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.synced {
            return Err(io::Error::other("the upload was already synced"));
        }
        let f = self.file.as_mut().ok_or_else(|| io::Error::other("the upload is closed"))?;
        f.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Appends the rest of `source` (in the kernel, by `copy_file_range`, where it can).
    pub fn append_file(&mut self, source: &mut File) -> io::Result<u64> {
        if self.synced {
            return Err(io::Error::other("the upload was already synced"));
        }
        let f = self.file.as_mut().ok_or_else(|| io::Error::other("the upload is closed"))?;
        let n = io::copy(source, f)?;
        self.written += n;
        Ok(n)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Sets the file's modification time before it takes its name.
    pub fn set_modified(&self, when: SystemTime) -> io::Result<()> {
        match &self.file {
            Some(f) => f.set_modified(when),
            None => Ok(()),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> DavPath {
        DavPath::from_encoded(s).expect("path")
    }

    fn tree() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().expect("tmp");
        let t = Tree::open(dir.path().join("files"), dir.path().join("scratch")).expect("open");
        (dir, t)
    }

    fn put(t: &Tree, path: &str, bytes: &[u8]) -> Result<bool, ChangeError> {
        let expect = match t.stat(&p(path)).expect("stat") {
            Some(e) => Expect::File(e.inode),
            None => Expect::Absent,
        };
        let mut u = t.begin_upload().expect("begin");
        u.append(bytes).expect("append");
        Ok(t.commit_upload(u, &p(path), expect)?.durable()?)
    }

    #[test]
    fn uploads_take_their_name_only_when_it_holds_what_was_checked() {
        let (_d, t) = tree();
        assert!(put(&t, "a.txt", b"one").expect("new"));
        let first = t.stat(&p("a.txt")).expect("stat").expect("there");
        assert!(!put(&t, "a.txt", b"two!").expect("replace"));
        assert_eq!(fs::read(t.root().join("a.txt")).expect("read"), b"two!");
        // A request that checked the first file finds the second: refused, the second kept.
        let mut u = t.begin_upload().expect("begin");
        u.append(b"three").expect("append");
        assert!(matches!(t.commit_upload(u, &p("a.txt"), Expect::File(first.inode)), Err(ChangeError::Changed)));
        assert_eq!(fs::read(t.root().join("a.txt")).expect("read"), b"two!");
        let mut u = t.begin_upload().expect("begin");
        u.append(b"four").expect("append");
        assert!(matches!(t.commit_upload(u, &p("a.txt"), Expect::Absent), Err(ChangeError::Changed)));
        // Dropped uploads leave no temporary.
        drop(t.begin_upload().expect("begin"));
        assert_eq!(fs::read_dir(&t.scratch).expect("scratch").count(), 0);
        assert!(t.stat(&p("a.txt/x")).expect("below a file").is_none());
    }

    #[test]
    fn temporaries_left_by_a_crash_are_removed_and_running_ones_kept() {
        let (_d, t) = tree();
        let old = t.scratch.join("left.part");
        fs::write(&old, b"half").expect("write");
        File::options()
            .write(true)
            .open(&old)
            .expect("open")
            .set_modified(SystemTime::now() - std::time::Duration::from_secs(90_000))
            .expect("age");
        let running = t.begin_upload().expect("begin");
        fs::write(t.scratch.join("note.txt"), b"not ours").expect("write");
        assert_eq!(t.clean_scratch(std::time::Duration::from_secs(86_400)).expect("clean"), 1);
        assert!(!old.exists() && running.path.exists() && t.scratch.join("note.txt").exists());
    }

    #[test]
    fn links_lead_nowhere() {
        let (d, t) = tree();
        fs::create_dir(d.path().join("outside")).expect("mkdir");
        fs::write(d.path().join("outside/secret"), b"s").expect("write");
        std::os::unix::fs::symlink(d.path().join("outside"), t.root().join("link")).expect("link");
        std::os::unix::fs::symlink(d.path().join("outside/secret"), t.root().join("file-link")).expect("link");
        assert!(t.stat(&p("link")).expect("stat").is_none());
        assert!(t.stat(&p("link/secret")).expect("stat").is_none());
        assert!(t.open_file(&p("link/secret")).is_err());
        assert!(t.open_file(&p("file-link")).is_err() || t.stat(&p("file-link")).expect("stat").is_none());
        assert!(t.list(&DavPath::root()).expect("list").is_empty());
        assert!(t.make_folder(&p("link/new")).is_err());
    }

    #[test]
    fn copies_moves_and_removals() {
        let (_d, t) = tree();
        t.make_folder(&p("c")).expect("mkdir");
        t.make_folder(&p("c/d")).expect("mkdir");
        put(&t, "c/d/f", b"x").expect("put");
        t.copy(&p("c"), &p("e"), true).expect("deep copy");
        assert_eq!(fs::read(t.root().join("e/d/f")).expect("copied"), b"x");
        t.copy(&p("c"), &p("g"), false).expect("shallow copy");
        assert!(t.list(&p("g")).expect("list").is_empty());
        assert_eq!(t.rename(&p("e"), &p("c")).map_err(|e| e.kind()), Err(io::ErrorKind::AlreadyExists));
        t.rename(&p("e"), &p("h")).expect("move");
        t.remove(&p("h")).expect("remove");
        assert!(t.stat(&p("h")).expect("stat").is_none());
        assert_eq!(t.make_folder(&p("c")).map_err(|e| e.kind()), Err(io::ErrorKind::AlreadyExists));
    }
}
