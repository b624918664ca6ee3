//! Sending a folder to a peer (the NAS's copy is the source): the folder is scanned, offered in
//! an Index with this device's version counter, and the peer's block requests are answered from
//! the files — only for names the NAS offered, only within the file, at most 16 MiB at a time.
//!
//! Not yet here (issue 4 continues): rescans and the watcher, the persistent index (versions
//! survive restarts), applying the peer's changes in send-receive folders.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::connection::{Connection, random_u64, spawn_reader};
use crate::error::{Result, SyncError};
use crate::paths::safe_path;
use crate::protocol::frame::write_message;
use crate::protocol::messages::*;
use crate::receive::Local;
use crate::scan::{MAX_BLOCK, bump, scan};

/// A folder the NAS sends.
#[derive(Debug, Clone)]
pub struct SendFolder {
    /// Folder id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Its files.
    pub root: PathBuf,
}

fn answer(root: &std::path::Path, offered: &HashMap<String, FileInfo>, r: &Request) -> Response {
    let fail = |code: ErrorCode| Response { id: r.id, data: Vec::new(), code: code as i32 };
    let Some(f) = offered.get(&r.name) else { return fail(ErrorCode::NoSuchFile) };
    if r.offset < 0 || r.size <= 0 || r.size as usize > MAX_BLOCK || r.offset.saturating_add(i64::from(r.size)) > f.size {
        return fail(ErrorCode::InvalidFile);
    }
    let Ok(path) = safe_path(root, &r.name) else { return fail(ErrorCode::InvalidFile) };
    let mut data = vec![0u8; r.size as usize];
    match std::fs::File::open(&path).and_then(|file| file.read_exact_at(&mut data, r.offset as u64)) {
        Ok(()) => Response { id: r.id, data, code: ErrorCode::NoError as i32 },
        Err(e) => {
            tracing::warn!(name = %r.name, error = %e, "cannot read a requested block");
            fail(ErrorCode::Generic)
        }
    }
}

/// Offer `folder` on this connection and answer requests until `shutdown` or the peer leaves.
pub async fn run<S>(conn: Connection<S>, local: Local, folder: SendFolder, mut shutdown: watch::Receiver<bool>) -> Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let peer = conn.peer;
    let root = folder.root.clone();
    let mut files = tokio::task::spawn_blocking(move || scan(&root)).await.map_err(|e| SyncError::Protocol(e.to_string()))??;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(1);
    let short = local.device.short();
    for (i, f) in files.iter_mut().enumerate() {
        f.version = Some(bump(None, short, now));
        f.sequence = i as i64 + 1;
        f.modified_by = short;
    }
    let offered: std::sync::Arc<HashMap<String, FileInfo>> =
        std::sync::Arc::new(files.iter().map(|f| (f.name.clone(), f.clone())).collect());

    let (rd, mut wr) = tokio::io::split(conn.stream);
    let (mut rx, reader) = spawn_reader(rd);
    let index_id = random_u64()?;
    let me = Device {
        id: local.device.0.to_vec(),
        name: local.name.clone(),
        addresses: vec!["dynamic".into()],
        max_sequence: files.len() as i64,
        index_id,
        ..Default::default()
    };
    let them = Device { id: peer.0.to_vec(), addresses: vec!["dynamic".into()], ..Default::default() };
    let cc = ClusterConfig {
        folders: vec![Folder {
            id: folder.id.clone(),
            label: folder.label.clone(),
            read_only: true,
            devices: vec![me, them],
            ..Default::default()
        }],
    };
    write_message(&mut wr, &Message::ClusterConfig(cc), true).await?;
    write_message(&mut wr, &Message::Index(Index { folder: folder.id.clone(), files }), true).await?;

    let result = loop {
        let msg = tokio::select! {
            m = rx.recv() => match m {
                Some(Ok(m)) => m,
                Some(Err(e)) => break Err(e),
                None => break Ok(()),
            },
            _ = shutdown.changed() => {
                let _ = write_message(&mut wr, &Message::Close(Close { reason: "shutting down".into() }), false).await;
                break Ok(());
            }
        };
        match msg {
            Message::Request(r) => {
                let resp = if r.folder == folder.id {
                    let (root, offered) = (folder.root.clone(), offered.clone());
                    tokio::task::spawn_blocking(move || answer(&root, &offered, &r))
                        .await
                        .map_err(|e| SyncError::Protocol(e.to_string()))?
                } else {
                    Response { id: r.id, data: Vec::new(), code: ErrorCode::NoSuchFile as i32 }
                };
                if let Err(e) = write_message(&mut wr, &Message::Response(resp), false).await {
                    break Err(e);
                }
            }
            Message::Close(c) => {
                tracing::info!(%peer, reason = %c.reason, "peer closed the connection");
                break Ok(());
            }
            _ => {}
        }
    };
    reader.abort();
    result
}
