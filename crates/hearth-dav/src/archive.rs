//! A folder of a space as one zip archive, written as it is read (docs/files.md, "Folder
//! archives"): what a visitor of a folder link or the Files page downloads with one click. The
//! members are stored, not compressed (photos, videos and documents are compressed already, and a
//! Pi's CPU is better spent elsewhere); sizes and CRCs follow each member (data descriptors), and
//! zip64 records are written past 4 GiB or 65,535 members, so the archive streams to any `Write`
//! without seeking. rawzip writes the records.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::mpsc;

use crate::methods::{Dav, DavError, Space, blocking};
use crate::path::DavPath;
use crate::tree::Tree;

/// Archives written at once; another asked meanwhile is refused (503: try again) rather than
/// holding one more of the box's blocking threads for a slow download.
pub const MOST_AT_ONCE: usize = 2;
/// Bytes handed to the HTTP body at a time.
const CHUNK: usize = 256 * 1024;
/// Chunks waiting for a slow client before the writer waits too.
const QUEUED: usize = 4;

/// An archive being written: its bytes as they come, an `Err` last when it could not be
/// finished (the client then sees a cut download, never a whole-looking archive).
pub type ArchiveStream = mpsc::Receiver<io::Result<Bytes>>;

/// A `Write` whose bytes go to an HTTP body a chunk at a time; it waits while the client is
/// slow and fails once the client is gone.
struct ToBody {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ToBody {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ToBody {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Dav {
    /// The folder `folder` of `space` as a zip archive named `top` inside, written on a blocking
    /// thread as the client reads it. 404 for nothing there, 400 for a file, 503 while
    /// [`MOST_AT_ONCE`] archives are being written.
    pub async fn archive(self: &Arc<Self>, space: Space, folder: DavPath, top: String) -> Result<ArchiveStream, DavError> {
        let turn = Arc::clone(&self.archives).try_acquire_owned().map_err(|_| {
            DavError::new(StatusCode::SERVICE_UNAVAILABLE, "other folders are being downloaded right now; try again in a minute")
        })?;
        let space = self.prepared(space).await?;
        let (tree, at) = (space.tree.clone(), folder.clone());
        blocking(move || match tree.stat(&at)? {
            Some(e) if e.is_folder() => Ok(()),
            Some(_) => Err(DavError::new(StatusCode::BAD_REQUEST, "this is a file: download it as it is")),
            None => Err(DavError::new(StatusCode::NOT_FOUND, format!("{at} does not exist"))),
        })
        .await?;
        let (tx, rx) = mpsc::channel(QUEUED);
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let mut out = ToBody { tx: tx.clone(), buf: Vec::with_capacity(CHUNK) };
            match write_folder(&space.tree, &folder, &top, &mut out) {
                Ok(done) => {
                    tracing::info!(space = %space.key, files = done.files, bytes = done.bytes, "a folder was downloaded as an archive")
                }
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => {
                    tracing::warn!(space = %space.key, error = %e, "a folder archive could not be finished");
                    let _ = tx.blocking_send(Err(e));
                }
            }
        });
        Ok(rx)
    }
}

/// What an archive held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Archived {
    /// Files written.
    pub files: u64,
    /// Folders written.
    pub folders: u64,
    /// Bytes of the files.
    pub bytes: u64,
}

fn zip_error(e: rawzip::Error) -> io::Error {
    io::Error::other(format!("zip: {e}"))
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Writes the folder `folder` of `tree`, with everything below it, to `out` as a zip archive
/// whose members are under `top/` (the folder's name). Links and devices are left out, as every
/// listing leaves them out; a file that changes while it is read is archived as it was read.
pub fn write_folder<W: Write>(tree: &Tree, folder: &DavPath, top: &str, out: W) -> io::Result<Archived> {
    let mut archive = rawzip::ZipArchiveWriter::new(out);
    let mut done = Archived::default();
    let top = DavPath::check_name(top).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let mut pending = vec![(folder.clone(), top)];
    while let Some((at, name)) = pending.pop() {
        let entry = tree.stat(&at)?.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{at} does not exist")))?;
        archive
            .new_dir(format!("{name}/").as_str())
            .last_modified(rawzip::time::UtcDateTime::from_unix(unix(entry.modified)))
            .unix_permissions(0o755)
            .create()
            .map_err(zip_error)?;
        done.folders += 1;
        let mut members = tree.list(&at)?;
        members.sort_by(|a, b| a.0.cmp(&b.0));
        for (member, e) in members.into_iter().rev() {
            let path = at.child(&member).map_err(io::Error::other)?;
            let inside = format!("{name}/{member}");
            if e.is_folder() {
                pending.push((path, inside));
                continue;
            }
            let (mut file, _) = match tree.open_file(&path) {
                Ok(f) => f,
                // Gone between the listing and now: left out, as a listing a moment later would.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            let (mut writer, config) = archive
                .new_file(inside.as_str())
                .last_modified(rawzip::time::UtcDateTime::from_unix(unix(e.modified)))
                .unix_permissions(0o644)
                .start()
                .map_err(zip_error)?;
            let mut data = config.wrap(&mut writer);
            done.bytes += io::copy(&mut file, &mut data)?;
            let (_, descriptor) = data.finish().map_err(zip_error)?;
            writer.finish(descriptor).map_err(zip_error)?;
            done.files += 1;
        }
    }
    let mut out = archive.finish().map_err(zip_error)?;
    out.flush()?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_becomes_an_archive_that_unzip_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("files");
        std::fs::create_dir_all(root.join("Trip/day 1/empty")).expect("mkdir");
        std::fs::write(root.join("Trip/day 1/a.txt"), b"alpha").expect("write");
        std::fs::write(root.join("Trip/ünï ✈.bin"), vec![7u8; 200_000]).expect("write");
        std::fs::write(root.join("Trip/zero"), b"").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", root.join("Trip/link")).expect("symlink");
        let tree = Tree::open(root, dir.path().join("scratch")).expect("tree");
        let mut zip = Vec::new();
        let done = write_folder(&tree, &DavPath::from_key("Trip").expect("path"), "Trip", &mut zip).expect("archive");
        assert_eq!(done, Archived { files: 3, folders: 3, bytes: 200_005 });

        let archive = rawzip::ZipArchive::from_slice(&zip).expect("a zip");
        let mut names = Vec::new();
        let mut entries = archive.entries();
        while let Some(e) = entries.next_entry().expect("entry") {
            let name = e.file_path().try_normalize().expect("name").as_ref().to_string();
            if name == "Trip/day 1/a.txt" {
                let local = archive.get_entry(e.wayfinder()).expect("local");
                let mut text = String::new();
                std::io::Read::read_to_string(&mut local.verifying_reader(local.data()), &mut text).expect("read");
                assert_eq!(text, "alpha");
            }
            names.push(name);
        }
        names.sort();
        assert_eq!(names, ["Trip/", "Trip/day 1/", "Trip/day 1/a.txt", "Trip/day 1/empty/", "Trip/zero", "Trip/ünï ✈.bin"]);
        assert!(write_folder(&tree, &DavPath::from_key("None").expect("path"), "None", &mut Vec::new()).is_err());
    }
}
