//! One connection with a paired device, all its shared folders multiplexed on it: both sides
//! send a ClusterConfig; for every folder both share, each sends its index (whole, or only what
//! changed since the index the other already holds) and then updates as files change; block
//! requests go both ways. A folder the device offers that the NAS does not share with it is
//! recorded for the owner to accept.
//!
//! The socket is split: a reader task, a writer task fed by a queue (so index senders, pullers
//! and answers never wait on each other), and this loop. A device that sends nothing for
//! [`IDLE_LIMIT`] is dropped; the NAS pings every [`PING_EVERY`], as Syncthing expects.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hearth_catalog::sync_peers::{self, PendingFolder};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::connection::{Connection, spawn_reader};
use crate::device_id::DeviceId;
use crate::engine::EngineInner;
use crate::error::{Result, SyncError};
use crate::events::SyncEvent;
use crate::folder::{Folder as SharedFolder, FolderType, is_file};
use crate::paths::check_name;
use crate::peer::Peer;
use crate::protocol::frame::write_message;
use crate::protocol::messages::*;
use crate::puller::refuse;

/// A ping goes out this often.
pub const PING_EVERY: Duration = Duration::from_secs(60);
/// A device silent for this long is disconnected.
pub const IDLE_LIMIT: Duration = Duration::from_secs(300);
/// Index entries per message.
const INDEX_BATCH: usize = 1000;
/// Block requests answered at once per connection.
const ANSWERS_AT_ONCE: usize = 16;
/// Messages queued for the writer.
const QUEUE: usize = 64;

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Our ClusterConfig for `peer`: every folder shared with it.
pub(crate) fn cluster_config(engine: &EngineInner, peer: DeviceId, peer_name: &str) -> ClusterConfig {
    let me = engine.identity.device_id;
    let folders = engine
        .folders()
        .into_iter()
        .filter(|f| f.shared_with(&peer))
        .map(|f| {
            let s = f.settings();
            let (index_id, max_sequence) = f.with_local(|l| (l.index_id, l.max_sequence));
            Folder {
                id: s.id.clone(),
                label: s.label.clone(),
                read_only: s.kind == FolderType::SendOnly,
                devices: vec![
                    Device {
                        id: me.0.to_vec(),
                        name: engine.name(),
                        addresses: vec!["dynamic".into()],
                        max_sequence,
                        index_id,
                        ..Default::default()
                    },
                    Device { id: peer.0.to_vec(), name: peer_name.to_string(), addresses: vec!["dynamic".into()], ..Default::default() },
                ],
                ..Default::default()
            }
        })
        .collect();
    ClusterConfig { folders }
}

/// Send the index of `folder` to `peer`, starting after `start`, then every change.
async fn send_index(peer: Arc<Peer>, folder: Arc<SharedFolder>, start: i64) {
    let id = folder.id();
    let mut changes = folder.watch_sequence();
    let mut sent = start;
    let mut first = start == 0;
    loop {
        changes.borrow_and_update();
        loop {
            let batch = folder.entries_since(sent, INDEX_BATCH);
            if batch.is_empty() && !first {
                break;
            }
            sent = batch.last().map_or(sent, |f| f.sequence);
            let msg = if std::mem::take(&mut first) {
                Message::Index(Index { folder: id.clone(), files: batch })
            } else {
                Message::IndexUpdate(IndexUpdate { folder: id.clone(), files: batch })
            };
            if peer.send(msg).await.is_err() {
                return;
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
        // Let a burst of commits settle into one update.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Answer a block request from the NAS's files.
///
/// The peer verifies every block's SHA-256 itself, so the NAS does not hash what it sends when
/// the file is as scanned (same size and modification time) and the request names the block the
/// scan recorded at that offset; otherwise the data is hashed, and a mismatch asks for a scan.
fn answer(folder: Option<Arc<SharedFolder>>, r: &Request) -> Response {
    let fail = |code: ErrorCode| Response { id: r.id, data: Default::default(), code: code as i32 };
    let Some(folder) = folder else { return fail(ErrorCode::Generic) };
    if r.from_temporary {
        return answer_from_temporary(&folder, r);
    }
    let Some(entry) = folder.with_local_entry(&r.name, |f| {
        (!f.deleted && !f.invalid && is_file(f)).then(|| {
            let recorded = f.blocks.binary_search_by_key(&r.offset, |b| b.offset).ok().is_some_and(|i| f.blocks[i].hash == r.hash);
            (f.size, (f.modified_s, f.modified_ns), recorded)
        })
    }) else {
        return fail(ErrorCode::NoSuchFile);
    };
    let Some((size, modified, recorded)) = entry else { return fail(ErrorCode::NoSuchFile) };
    if r.offset < 0 || r.size <= 0 || r.size as usize > crate::scan::MAX_BLOCK || r.offset.saturating_add(i64::from(r.size)) > size {
        return fail(ErrorCode::InvalidFile);
    }
    let Ok(path) = crate::paths::safe_path(&folder.settings().root, &r.name) else { return fail(ErrorCode::InvalidFile) };
    let mut data = vec![0u8; r.size as usize];
    let read = std::fs::File::open(&path).and_then(|file| {
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut data, r.offset as u64)?;
        file.metadata()
    });
    let meta = match read {
        Ok(m) => m,
        Err(e) => {
            tracing::info!(name = %r.name, error = %e, "cannot read a requested block");
            folder.scan_wanted.notify_one();
            return fail(ErrorCode::Generic);
        }
    };
    let as_scanned = recorded && meta.len() == size as u64 && (meta.mtime(), meta.mtime_nsec() as i32) == modified;
    if !as_scanned && !r.hash.is_empty() && crate::hashing::sha256(&data).as_slice() != r.hash.as_slice() {
        // The file changed since it was scanned: the scan announces the new content.
        folder.scan_wanted.notify_one();
        return fail(ErrorCode::InvalidFile);
    }
    Response { id: r.id, data: data.into(), code: ErrorCode::NoError as i32 }
}

/// Answer a request for a block of a file the NAS is still receiving (a peer saw our
/// DownloadProgress): from the temporary, always hashed (nothing recorded it).
fn answer_from_temporary(folder: &SharedFolder, r: &Request) -> Response {
    let fail = |code: ErrorCode| Response { id: r.id, data: Default::default(), code: code as i32 };
    if r.offset < 0 || r.size <= 0 || r.size as usize > crate::scan::MAX_BLOCK || r.hash.is_empty() {
        return fail(ErrorCode::InvalidFile);
    }
    let Ok(path) = crate::paths::safe_path(&folder.settings().root, &r.name) else { return fail(ErrorCode::InvalidFile) };
    let mut data = vec![0u8; r.size as usize];
    let read = std::fs::File::open(crate::paths::temp_path(&path))
        .and_then(|file| std::os::unix::fs::FileExt::read_exact_at(&file, &mut data, r.offset as u64));
    if read.is_err() || crate::hashing::sha256(&data).as_slice() != r.hash.as_slice() {
        return fail(ErrorCode::NoSuchFile);
    }
    Response { id: r.id, data: data.into(), code: ErrorCode::NoError as i32 }
}

/// Entries from a peer's index, checked: names that could leave the folder are dropped, entries
/// whose blocks do not add up are kept but marked invalid (never pulled).
fn checked(peer: DeviceId, folder: &str, files: Vec<FileInfo>) -> Vec<FileInfo> {
    files
        .into_iter()
        .filter_map(|mut f| {
            if let Err(e) = check_name(&f.name) {
                tracing::warn!(%peer, %folder, error = %e, "dropping an index entry");
                return None;
            }
            if !f.deleted
                && is_file(&f)
                && let Some(why) = refuse(&f)
            {
                tracing::warn!(%peer, %folder, name = %f.name, %why, "an index entry that cannot be pulled");
                f.invalid = true;
            }
            Some(f)
        })
        .collect()
}

struct Shared {
    senders: HashMap<String, JoinHandle<()>>,
}

impl Shared {
    fn stop_all(&mut self) {
        for (_, h) in self.senders.drain() {
            h.abort();
        }
    }
}

/// Work out which folders both sides share, start index senders for new ones, stop them for
/// those no longer shared, and record offers of folders the NAS does not share with the peer.
async fn reconcile(engine: &Arc<EngineInner>, peer: &Arc<Peer>, theirs: &ClusterConfig, shared: &mut Shared) {
    let me = engine.identity.device_id.0.to_vec();
    let mut mutual = HashMap::new();
    let mut offers = Vec::new();
    for f in &theirs.folders {
        let Some(mine) = f.devices.iter().find(|d| d.id == me) else { continue };
        match engine.folder(&f.id) {
            Some(folder) if folder.shared_with(&peer.device) => {
                let ours = folder.with_local(|l| l.index_id);
                let start = if mine.index_id == ours { mine.max_sequence.max(0) } else { 0 };
                mutual.insert(f.id.clone(), (folder, start));
            }
            _ => offers.push(PendingFolder {
                device_id: peer.device.to_string(),
                folder_id: f.id.chars().take(200).collect(),
                label: f.label.chars().take(200).collect(),
                first_seen: now_s(),
                last_seen: now_s(),
            }),
        }
    }
    shared.senders.retain(|id, h| {
        let keep = mutual.contains_key(id) && !h.is_finished();
        if !keep {
            h.abort();
            if let Some(folder) = engine.folder(id) {
                folder.forget_remote(&peer.device);
            }
        }
        keep
    });
    for (id, (folder, start)) in mutual {
        shared.senders.entry(id).or_insert_with(|| tokio::spawn(send_index(peer.clone(), folder, start)));
    }
    if !offers.is_empty() {
        let n = offers.len();
        let catalog = engine.catalog.clone();
        let stored = tokio::task::spawn_blocking(move || {
            catalog.write(|tx| offers.iter().try_for_each(|o| sync_peers::record_pending_folder(tx, o)))
        })
        .await;
        if let Ok(Err(e)) = stored {
            tracing::warn!(error = %e, "cannot record folder offers");
        }
        tracing::info!(device = %peer.device, offers = n, "the device offers folders the NAS does not share with it yet");
    }
}

/// Serve a connection with a paired device until it ends, the engine stops, or it is replaced.
pub(crate) async fn run<S>(engine: Arc<EngineInner>, conn: Connection<S>, address: String, outgoing: bool) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let device = conn.peer;
    let (rd, mut wr) = tokio::io::split(conn.stream);
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(QUEUE);
    let client = format!("{} {}", conn.hello.client_name, conn.hello.client_version);
    let peer = Arc::new(Peer::new(device, conn.hello.device_name.clone(), client, address, outgoing, now_s(), out_tx));
    if !engine.register(peer.clone()) {
        let _ = write_message(&mut wr, &Message::Close(Close { reason: "already connected".into() }), false).await;
        return Ok(());
    }
    tracing::info!(%device, name = %peer.name, outgoing, "device connected");
    let _ = engine.events.send(SyncEvent::DeviceConnected { device: device.to_string() });

    let writer_peer = peer.clone();
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let compress = matches!(m, Message::Index(_) | Message::IndexUpdate(_) | Message::ClusterConfig(_));
            if let Message::Response(r) = &m {
                writer_peer.bytes_out.fetch_add(r.data.len() as u64, Ordering::Relaxed);
            }
            let closing = matches!(m, Message::Close(_));
            if let Err(e) = write_message(&mut wr, &m, compress).await {
                tracing::debug!(error = %e, "writing to a device failed");
                break;
            }
            if closing {
                break;
            }
        }
    });
    let (mut rx, reader) = spawn_reader(rd);
    let answers = Arc::new(Semaphore::new(ANSWERS_AT_ONCE));
    let mut shared = Shared { senders: HashMap::new() };
    let mut theirs: Option<ClusterConfig> = None;
    let mut reconfigured = engine.reconfigured.subscribe();
    let mut closing = engine.closing.subscribe();
    let mut closed = peer.closed();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut rates = tokio::time::interval(Duration::from_secs(2));
    let (mut last_in, mut last_out) = (0u64, 0u64);
    let mut heard = Instant::now();

    let first = Message::ClusterConfig(cluster_config(&engine, device, &peer.name));
    let result: Result<()> = async {
        peer.send(first).await?;
        loop {
            let msg = tokio::select! {
                m = rx.recv() => match m {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
                _ = ping.tick() => {
                    if heard.elapsed() > IDLE_LIMIT {
                        return Err(SyncError::Protocol(format!("nothing heard for {} s", IDLE_LIMIT.as_secs())));
                    }
                    peer.send(Message::Ping(Ping {})).await?;
                    continue;
                }
                _ = rates.tick() => {
                    let (i, o) = (peer.bytes_in.load(Ordering::Relaxed), peer.bytes_out.load(Ordering::Relaxed));
                    peer.rate_in.store((i - last_in) / 2, Ordering::Relaxed);
                    peer.rate_out.store((o - last_out) / 2, Ordering::Relaxed);
                    (last_in, last_out) = (i, o);
                    continue;
                }
                r = reconfigured.changed() => {
                    if r.is_err() { return Ok(()); }
                    if !engine.is_paired(device).await {
                        let _ = peer.send(Message::Close(Close { reason: "unpaired".into() })).await;
                        return Ok(());
                    }
                    peer.send(Message::ClusterConfig(cluster_config(&engine, device, &peer.name))).await?;
                    if let Some(cc) = &theirs {
                        reconcile(&engine, &peer, cc, &mut shared).await;
                    }
                    continue;
                }
                _ = closing.changed() => {
                    let _ = peer.send(Message::Close(Close { reason: "shutting down".into() })).await;
                    return Ok(());
                }
                _ = closed.changed() => {
                    let reason = closed.borrow().clone().unwrap_or_default();
                    let _ = peer.send(Message::Close(Close { reason })).await;
                    return Ok(());
                }
            };
            heard = Instant::now();
            match msg {
                Message::ClusterConfig(cc) => {
                    reconcile(&engine, &peer, &cc, &mut shared).await;
                    theirs = Some(cc);
                }
                Message::Index(Index { folder, files }) | Message::IndexUpdate(IndexUpdate { folder, files })
                    if !shared.senders.contains_key(&folder) =>
                {
                    tracing::debug!(%device, %folder, n = files.len(), "index of a folder not shared with this device; ignored");
                }
                Message::Index(Index { folder, files }) => {
                    if let Some(f) = engine.folder(&folder) {
                        f.update_remote(device, checked(device, &folder, files), true);
                    }
                }
                Message::IndexUpdate(IndexUpdate { folder, files }) => {
                    if let Some(f) = engine.folder(&folder) {
                        f.update_remote(device, checked(device, &folder, files), false);
                    }
                }
                Message::Request(r) => {
                    let folder = engine.folder(&r.folder).filter(|f| f.shared_with(&device) && shared.senders.contains_key(&r.folder));
                    let (peer, permit) = (peer.clone(), answers.clone().acquire_owned().await);
                    tokio::spawn(async move {
                        let id = r.id;
                        let resp = tokio::task::spawn_blocking(move || answer(folder, &r)).await.unwrap_or(Response {
                            id,
                            data: Default::default(),
                            code: ErrorCode::Generic as i32,
                        });
                        let _ = peer.send(Message::Response(resp)).await;
                        drop(permit);
                    });
                }
                Message::Response(r) => peer.complete(r)?,
                Message::Close(c) => {
                    tracing::info!(%device, reason = %c.reason, "device closed the connection");
                    return Ok(());
                }
                Message::Ping(_) | Message::DownloadProgress(_) => {}
            }
        }
    }
    .await;
    if let Err(e) = &result {
        tracing::info!(%device, error = %e, "connection ended");
    }
    shared.stop_all();
    reader.abort();
    peer.fail_waiting();
    engine.unregister(&peer);
    // Let queued messages (a Close) go out, then stop the writer.
    drop(peer);
    let mut writer = writer;
    if tokio::time::timeout(Duration::from_secs(2), &mut writer).await.is_err() {
        writer.abort();
    }
    let _ = engine.events.send(SyncEvent::DeviceDisconnected { device: device.to_string() });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::{FileInfoType, Vector};

    fn request(name: &str, offset: i64, size: i32, hash: &[u8]) -> Request {
        Request { id: 9, folder: "f".into(), name: name.into(), offset, size, hash: hash.to_vec(), ..Default::default() }
    }

    #[test]
    fn blocks_are_sent_as_scanned_and_changed_files_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Arc::new(crate::folder::tests::folder(dir.path()));
        let root = dir.path().join("f");
        std::fs::create_dir_all(&root).expect("mkdir");
        let path = root.join("a.bin");
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &content).expect("write");
        let meta = std::fs::metadata(&path).expect("stat");
        let blocks = crate::scan::hash_blocks(&path, crate::scan::MIN_BLOCK).expect("hash");
        let entry = FileInfo {
            name: "a.bin".into(),
            r#type: FileInfoType::File as i32,
            size: content.len() as i64,
            modified_s: meta.mtime(),
            modified_ns: meta.mtime_nsec() as i32,
            version: Some(Vector::default()),
            blocks: blocks.clone(),
            ..Default::default()
        };
        folder.commit(vec![entry]).expect("commit");
        let b1 = &blocks[1];
        let ok = answer(Some(folder.clone()), &request("a.bin", b1.offset, b1.size, &b1.hash));
        assert_eq!(ok.code, ErrorCode::NoError as i32);
        assert_eq!(ok.data, content[b1.offset as usize..(b1.offset + i64::from(b1.size)) as usize]);
        // A hash the scan did not record at that offset is checked, and refused.
        let wrong = answer(Some(folder.clone()), &request("a.bin", b1.offset, b1.size, &blocks[0].hash));
        assert_eq!(wrong.code, ErrorCode::InvalidFile as i32);
        // Changed behind the scanner's back (other bytes, another modification time): refused.
        let mut changed = content.clone();
        changed[b1.offset as usize] ^= 0xff;
        std::fs::write(&path, &changed).expect("rewrite");
        let file = std::fs::File::options().write(true).open(&path).expect("open");
        file.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000)).expect("mtime");
        let stale = answer(Some(folder.clone()), &request("a.bin", b1.offset, b1.size, &b1.hash));
        assert_eq!(stale.code, ErrorCode::InvalidFile as i32);
        // Blocks the change did not touch are still what the peer asked for.
        let b0 = &blocks[0];
        assert_eq!(answer(Some(folder.clone()), &request("a.bin", 0, b0.size, &b0.hash)).code, ErrorCode::NoError as i32);
        assert_eq!(answer(Some(folder.clone()), &request("nope", 0, 1, &[])).code, ErrorCode::NoSuchFile as i32);
        // A block of a file still being received comes from its temporary, checked.
        std::fs::write(crate::paths::temp_path(&root.join("b.bin")), &content).expect("temporary");
        let mut from_tmp = request("b.bin", b1.offset, b1.size, &b1.hash);
        from_tmp.from_temporary = true;
        assert_eq!(answer(Some(folder.clone()), &from_tmp).data, ok.data);
        from_tmp.hash = blocks[0].hash.clone();
        assert_eq!(answer(Some(folder), &from_tmp).code, ErrorCode::NoSuchFile as i32);
    }
}
