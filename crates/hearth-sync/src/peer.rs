//! A connected, paired device as the rest of the engine sees it: a queue of messages to send,
//! block requests that wait for their responses, and transfer counters. The session
//! ([`crate::session`]) owns the socket; this handle is what pullers and index senders hold.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};
use prost::bytes::Bytes;

use crate::protocol::messages::{BlockInfo, ErrorCode, Message, Request, Response};

/// How long a block request may wait for its response.
const REQUEST_TIME: Duration = Duration::from_secs(120);

/// A connected device.
pub struct Peer {
    /// Who it is.
    pub device: DeviceId,
    /// The name it gave in its Hello.
    pub name: String,
    /// Its program and version.
    pub client: String,
    /// Its address.
    pub address: String,
    /// Whether the NAS dialled it (otherwise it dialled the NAS).
    pub outgoing: bool,
    /// When it connected (Unix seconds).
    pub connected_at: i64,
    out: mpsc::Sender<Message>,
    waiting: Mutex<HashMap<i32, oneshot::Sender<Response>>>,
    next_id: AtomicI32,
    closed: watch::Sender<Option<String>>,
    /// File data received from it (bytes).
    pub bytes_in: AtomicU64,
    /// File data sent to it (bytes).
    pub bytes_out: AtomicU64,
    /// Recent receive rate (bytes per second), updated every few seconds.
    pub rate_in: AtomicU64,
    /// Recent send rate.
    pub rate_out: AtomicU64,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Peer({}, {})", self.device, self.name)
    }
}

impl Peer {
    /// A handle sending through `out`.
    pub fn new(
        device: DeviceId,
        name: String,
        client: String,
        address: String,
        outgoing: bool,
        connected_at: i64,
        out: mpsc::Sender<Message>,
    ) -> Peer {
        let (closed, _) = watch::channel(None);
        Peer {
            device,
            name,
            client,
            address,
            outgoing,
            connected_at,
            out,
            waiting: Mutex::new(HashMap::new()),
            next_id: AtomicI32::new(1),
            closed,
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            rate_in: AtomicU64::new(0),
            rate_out: AtomicU64::new(0),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<Response>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue a message.
    pub async fn send(&self, m: Message) -> Result<()> {
        self.out.send(m).await.map_err(|_| SyncError::Protocol(format!("{} is no longer connected", self.device)))
    }

    /// Ask for a block and wait for it; the caller checks the data against the block's hash.
    pub async fn request(&self, folder: &str, name: &str, block: &BlockInfo, block_no: i32) -> Result<Bytes> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiting().insert(id, tx);
        let req = Request {
            id,
            folder: folder.to_string(),
            name: name.to_string(),
            offset: block.offset,
            size: block.size,
            hash: block.hash.clone(),
            // Syncthing checks what it sends against the weak hash when it is given, and hashes
            // the block with SHA-256 when it is not.
            weak_hash: block.weak_hash,
            block_no,
            ..Default::default()
        };
        if let Err(e) = self.send(Message::Request(req)).await {
            self.waiting().remove(&id);
            return Err(e);
        }
        let resp = match tokio::time::timeout(REQUEST_TIME, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => return Err(SyncError::Protocol(format!("{} left before answering", self.device))),
            Err(_) => {
                self.waiting().remove(&id);
                return Err(SyncError::Protocol(format!("{} did not answer a block request in time", self.device)));
            }
        };
        if resp.code != ErrorCode::NoError as i32 {
            return Err(SyncError::io(
                name.to_string(),
                std::io::Error::other(format!("{} could not send the block (code {})", self.device, resp.code)),
            ));
        }
        self.bytes_in.fetch_add(resp.data.len() as u64, Ordering::Relaxed);
        Ok(resp.data)
    }

    /// Hand a response to whoever asked; a response nobody asked for is a protocol error.
    pub fn complete(&self, resp: Response) -> Result<()> {
        match self.waiting().remove(&resp.id) {
            Some(tx) => {
                let _ = tx.send(resp);
                Ok(())
            }
            None => Err(SyncError::Protocol(format!("response to an unknown request {}", resp.id))),
        }
    }

    /// Ask the session to end the connection with `reason`.
    pub fn close(&self, reason: &str) {
        self.closed.send_replace(Some(reason.to_string()));
    }

    /// Follow close requests.
    pub fn closed(&self) -> watch::Receiver<Option<String>> {
        self.closed.subscribe()
    }

    /// Fail every request still waiting (the connection ended).
    pub fn fail_waiting(&self) {
        self.waiting().clear();
    }
}
