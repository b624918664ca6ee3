//! Receiving a folder from a peer, the NAS's main job (a phone's camera folder arriving): after
//! the Hello, both sides send a ClusterConfig naming the folder and an Index; every file of the
//! peer's index that the NAS does not have at that version is pulled block by block (up to
//! [`WINDOW`] requests in flight), each block checked against its SHA-256, written into
//! `.syncthing.NAME.tmp`, made durable, given its time and permissions, and renamed into place;
//! then an IndexUpdate tells the peer the NAS has it (same version vector), and a
//! [`SyncEvent::FileArrived`] tells the rest of Hearth.
//!
//! A file the peer deletes, and the old content of a file it overwrites, move into the versions
//! folder ([`crate::versions`]) instead of being destroyed.
//!
//! Not yet here (issue 4 continues): the persistent local index, folder deletions, symlinks,
//! conflicts, ignores, scanning and watching. Those entries are logged and left alone, so
//! nothing on the NAS is lost meanwhile.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};

use crate::connection::{Connection, random_u64, spawn_reader};
use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};
use crate::paths::{safe_path, temp_path};
use crate::protocol::frame::write_message;
use crate::protocol::messages::*;

/// Block requests in flight at once.
pub const WINDOW: usize = 32;
/// The largest block BEP allows (16 MiB).
const MAX_BLOCK: i32 = 16 << 20;

/// A folder the NAS receives.
#[derive(Debug, Clone)]
pub struct ReceiveFolder {
    /// Folder id (as the peer names it).
    pub id: String,
    /// Label.
    pub label: String,
    /// Where its files go.
    pub root: PathBuf,
}

/// What other parts of Hearth hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// A file is complete on the NAS.
    FileArrived {
        /// Folder id.
        folder: String,
        /// Its name in the folder.
        name: String,
        /// Bytes.
        size: u64,
    },
    /// Everything the peer announced so far is on the NAS.
    InSync {
        /// Folder id.
        folder: String,
    },
}

/// Who we are on this connection.
#[derive(Debug, Clone)]
pub struct Local {
    /// Our device id.
    pub device: DeviceId,
    /// Our device name.
    pub name: String,
}

struct State {
    folder: ReceiveFolder,
    files: HashMap<String, FileInfo>,
    sequence: i64,
    index_id: u64,
}

fn same_version(a: &Option<Vector>, b: &Option<Vector>) -> bool {
    let norm = |v: &Option<Vector>| {
        let mut c: Vec<(u64, u64)> = v.iter().flat_map(|v| v.counters.iter().map(|c| (c.id, c.value))).filter(|c| c.1 != 0).collect();
        c.sort_unstable();
        c
    };
    norm(a) == norm(b)
}

/// Check a file entry before acting on it; `None` when it is fine.
fn refuse(f: &FileInfo) -> Option<String> {
    if f.size < 0 {
        return Some("negative size".into());
    }
    let mut offset = 0i64;
    for b in &f.blocks {
        if b.offset != offset || b.size <= 0 || b.size > MAX_BLOCK || b.hash.len() != 32 {
            return Some("its block list is inconsistent".into());
        }
        offset += i64::from(b.size);
    }
    if offset != f.size {
        return Some(format!("blocks add up to {offset} bytes, not {}", f.size));
    }
    None
}

/// Serve one connection for `folder` until `shutdown` turns true or the peer leaves.
pub async fn run<S>(
    conn: Connection<S>,
    local: Local,
    folder: ReceiveFolder,
    events: mpsc::UnboundedSender<SyncEvent>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = conn.peer;
    let (rd, mut wr) = tokio::io::split(conn.stream);
    let (mut rx, reader) = spawn_reader(rd);
    let index_id = random_u64()?;
    let mut st = State { folder, files: HashMap::new(), sequence: 0, index_id };
    let device = |id: DeviceId, name: &str, max_sequence: i64, index_id: u64| Device {
        id: id.0.to_vec(),
        name: name.to_string(),
        addresses: vec!["dynamic".into()],
        max_sequence,
        index_id,
        ..Default::default()
    };
    let cc = ClusterConfig {
        folders: vec![Folder {
            id: st.folder.id.clone(),
            label: st.folder.label.clone(),
            devices: vec![device(local.device, &local.name, st.sequence, st.index_id), device(peer, "", 0, 0)],
            ..Default::default()
        }],
    };
    write_message(&mut wr, &Message::ClusterConfig(cc), true).await?;
    write_message(&mut wr, &Message::Index(Index { folder: st.folder.id.clone(), files: Vec::new() }), true).await?;

    let mut backlog: VecDeque<Message> = VecDeque::new();
    let result = loop {
        let msg = match backlog.pop_front() {
            Some(m) => m,
            None => tokio::select! {
                m = rx.recv() => match m {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => break Err(e),
                    None => break Ok(()),
                },
                _ = shutdown.changed() => {
                    let _ = write_message(&mut wr, &Message::Close(Close { reason: "shutting down".into() }), false).await;
                    break Ok(());
                }
            },
        };
        match msg {
            Message::Index(Index { folder, files }) | Message::IndexUpdate(IndexUpdate { folder, files }) if folder == st.folder.id => {
                if let Err(e) = pull(&mut st, files, &mut wr, &mut rx, &mut backlog, &events).await {
                    break Err(e);
                }
                let _ = events.send(SyncEvent::InSync { folder: st.folder.id.clone() });
            }
            Message::Index(i) => tracing::debug!(%peer, folder = %i.folder, "index of a folder not shared with us"),
            Message::IndexUpdate(i) => tracing::debug!(%peer, folder = %i.folder, "index of a folder not shared with us"),
            Message::Request(r) => {
                // A receive-only folder offers nothing yet.
                let resp = Response { id: r.id, data: Vec::new(), code: ErrorCode::NoSuchFile as i32 };
                if let Err(e) = write_message(&mut wr, &Message::Response(resp), false).await {
                    break Err(e);
                }
            }
            Message::Close(c) => {
                tracing::info!(%peer, reason = %c.reason, "peer closed the connection");
                break Ok(());
            }
            Message::ClusterConfig(_) | Message::Ping(_) | Message::DownloadProgress(_) | Message::Response(_) => {}
        }
    };
    reader.abort();
    result
}

/// Pull every file of `files` that we lack, then announce what we now have.
async fn pull<W>(
    st: &mut State,
    files: Vec<FileInfo>,
    wr: &mut W,
    rx: &mut mpsc::Receiver<Result<Message>>,
    backlog: &mut VecDeque<Message>,
    events: &mpsc::UnboundedSender<SyncEvent>,
) -> Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut have = Vec::new();
    let mut next_id: i32 = 1;
    for f in files {
        if st.files.get(&f.name).is_some_and(|mine| same_version(&mine.version, &f.version)) {
            continue;
        }
        let kind = FileInfoType::try_from(f.r#type).ok();
        if f.deleted && kind == Some(FileInfoType::File) {
            // A deletion moves the NAS's copy into the versions folder.
            if let Ok(path) = safe_path(&st.folder.root, &f.name) {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                match crate::versions::keep(&st.folder.root, &f.name, &path, now) {
                    Ok(Some(kept)) => {
                        tracing::info!(folder = %st.folder.id, name = %f.name, kept = %kept.display(), "deleted by the peer; kept as a version")
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(folder = %st.folder.id, name = %f.name, error = %e, "cannot keep a deleted file; leaving it in place");
                        continue;
                    }
                }
            }
        } else if f.deleted || f.invalid || !matches!(kind, Some(FileInfoType::File | FileInfoType::Directory)) {
            tracing::info!(folder = %st.folder.id, name = %f.name, "not applied yet (folder deletions, links and invalid entries come later)");
            continue;
        }
        if f.deleted {
            st.sequence += 1;
            let mut mine = f.clone();
            mine.sequence = st.sequence;
            st.files.insert(mine.name.clone(), mine.clone());
            have.push(mine);
            continue;
        }
        let path = match safe_path(&st.folder.root, &f.name) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(folder = %st.folder.id, error = %e, "skipping a file");
                continue;
            }
        };
        if kind == Some(FileInfoType::Directory) {
            std::fs::create_dir_all(&path).map_err(|e| SyncError::io(path.display().to_string(), e))?;
        } else {
            if let Some(why) = refuse(&f) {
                tracing::warn!(folder = %st.folder.id, name = %f.name, %why, "skipping a file the peer described badly");
                continue;
            }
            if already_have(&path, &f) {
                // The NAS already holds exactly this content (a folder shared again, a restart):
                // nothing to download and nothing to keep as a version.
                tracing::debug!(folder = %st.folder.id, name = %f.name, "content already present");
                if let Ok(file) = std::fs::File::options().write(true).open(&path) {
                    apply_meta(&file, &path, &f);
                }
                let _ = events.send(SyncEvent::FileArrived { folder: st.folder.id.clone(), name: f.name.clone(), size: f.size as u64 });
            } else {
                match fetch(st, &f, &path, wr, rx, backlog, &mut next_id).await {
                    Ok(()) => {
                        let _ =
                            events.send(SyncEvent::FileArrived { folder: st.folder.id.clone(), name: f.name.clone(), size: f.size as u64 });
                    }
                    Err(e @ SyncError::Protocol(_)) => return Err(e),
                    Err(e) => {
                        tracing::warn!(folder = %st.folder.id, name = %f.name, error = %e, "could not receive a file; it is tried again on the next index");
                        continue;
                    }
                }
            }
        }
        st.sequence += 1;
        let mut mine = f.clone();
        mine.sequence = st.sequence;
        st.files.insert(mine.name.clone(), mine.clone());
        have.push(mine);
    }
    if !have.is_empty() {
        write_message(wr, &Message::IndexUpdate(IndexUpdate { folder: st.folder.id.clone(), files: have }), true).await?;
    }
    Ok(())
}

/// Give a received file the peer's permissions (unless it says not to) and modification time.
fn apply_meta(file: &std::fs::File, path: &std::path::Path, f: &FileInfo) {
    if !f.no_permissions && f.permissions != 0 {
        let _ = std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(f.permissions & 0o777));
    }
    let mtime = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(f.modified_s.max(0) as u64)
        + std::time::Duration::from_nanos(f.modified_ns.max(0) as u64);
    let _ = file.set_times(std::fs::FileTimes::new().set_modified(mtime));
}

/// Whether the file at `path` already has exactly the content `f` describes (same size, same
/// block hashes).
fn already_have(path: &std::path::Path, f: &FileInfo) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    if !meta.is_file() || meta.len() != f.size as u64 {
        return false;
    }
    let Some(first) = f.blocks.first() else { return f.size == 0 };
    match crate::scan::hash_blocks(path, first.size as usize) {
        Ok(mine) => mine.len() == f.blocks.len() && mine.iter().zip(&f.blocks).all(|(a, b)| a.hash == b.hash),
        Err(_) => false,
    }
}

/// Request every block of `f`, write them into the temporary file, then put it in place.
async fn fetch<W>(
    st: &State,
    f: &FileInfo,
    path: &std::path::Path,
    wr: &mut W,
    rx: &mut mpsc::Receiver<Result<Message>>,
    backlog: &mut VecDeque<Message>,
    next_id: &mut i32,
) -> Result<()>
where
    W: AsyncWrite + Unpin,
{
    let io = |e| SyncError::io(path.display().to_string(), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = temp_path(path);
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(io)?;
    let result = async {
        let mut waiting: HashMap<i32, usize> = HashMap::new();
        let mut next_block = 0usize;
        let mut done = 0usize;
        while done < f.blocks.len() {
            while waiting.len() < WINDOW && next_block < f.blocks.len() {
                let b = &f.blocks[next_block];
                let id = *next_id;
                *next_id = next_id.wrapping_add(1);
                let req = Request {
                    id,
                    folder: st.folder.id.clone(),
                    name: f.name.clone(),
                    offset: b.offset,
                    size: b.size,
                    hash: b.hash.clone(),
                    block_no: next_block as i32,
                    ..Default::default()
                };
                write_message(wr, &Message::Request(req), false).await?;
                waiting.insert(id, next_block);
                next_block += 1;
            }
            let resp = loop {
                match rx.recv().await {
                    Some(Ok(Message::Response(r))) => break r,
                    Some(Ok(other)) => backlog.push_back(other),
                    Some(Err(e)) => return Err(e),
                    None => return Err(SyncError::Protocol("the peer left in the middle of a file".into())),
                }
            };
            let Some(i) = waiting.remove(&resp.id) else {
                return Err(SyncError::Protocol(format!("response to an unknown request {}", resp.id)));
            };
            let b = &f.blocks[i];
            if resp.code != ErrorCode::NoError as i32 {
                return Err(SyncError::io(
                    f.name.clone(),
                    std::io::Error::other(format!("the peer could not send block {i} (code {})", resp.code)),
                ));
            }
            let digest = ring::digest::digest(&ring::digest::SHA256, &resp.data);
            if resp.data.len() != b.size as usize || digest.as_ref() != b.hash.as_slice() {
                return Err(SyncError::io(f.name.clone(), std::io::Error::other(format!("block {i} does not match its hash"))));
            }
            file.write_all_at(&resp.data, b.offset as u64).map_err(io)?;
            done += 1;
        }
        file.set_len(f.size as u64).map_err(io)?;
        apply_meta(&file, &tmp, f);
        file.sync_all().map_err(io)?;
        // What the NAS had under this name is kept, never overwritten.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        crate::versions::keep(&st.folder.root, &f.name, path, now)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent() {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
