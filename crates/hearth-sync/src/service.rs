//! The `sync` service of hearthd: listens for Syncthing devices (BEP over TLS 1.3), learns who
//! each one is from its certificate, and refuses devices the owner has not paired — recording
//! them as pending (`GET /api/v1/sync/devices`, `hearth sync devices list`) so they can be
//! accepted. From paired devices it records the folders they offer (`hearth sync folders list`). Handshakes are bounded in number and time, so a flood of connections cannot starve
//! the box.
//!
//! Still to come (issue 4): running the folder sessions ([`crate::receive`], [`crate::send`])
//! for paired devices, dialling their addresses, local discovery.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearth_catalog::Catalog;
use hearth_catalog::sync_peers::{self, PendingDevice, PendingFolder};
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_core::shutdown::Shutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::connection::{accept, server_config};
use crate::device_id::DeviceId;
use crate::identity::Identity;
use crate::protocol::frame::{read_message, write_message};
use crate::protocol::messages::{Close, Hello, Message};

/// Handshakes in progress at once; more connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 16;
/// A peer must finish TLS and Hello within this time.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// The sync service.
pub struct SyncService {
    catalog: Arc<Catalog>,
    identity: Identity,
    listen: SocketAddr,
    device_name: String,
    local_announce: bool,
}

impl SyncService {
    /// A service listening on `listen` as `identity`, named `device_name` to peers, announcing
    /// itself on the LAN when `local_announce`.
    pub fn new(catalog: Arc<Catalog>, identity: Identity, listen: SocketAddr, device_name: String, local_announce: bool) -> Self {
        SyncService { catalog, identity, listen, device_name, local_announce }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Service for SyncService {
    fn name(&self) -> &'static str {
        "sync"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            let listener = TcpListener::bind(self.listen)
                .await
                .map_err(|e| ServiceFailure::retryable(format!("cannot listen for Syncthing devices on {}: {e}", self.listen)))?;
            let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
            tracing::info!(addr = %bound, device_id = %self.identity.device_id, "sync listening");
            let tls = server_config(&self.identity).map_err(|e| ServiceFailure::permanent(e.to_string()))?;
            let hello = Hello {
                device_name: self.device_name.clone(),
                client_name: "hearth".into(),
                client_version: hearth_core::version::VERSION.into(),
                ..Default::default()
            };
            let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
            let (stop_announcing, stop_rx) = tokio::sync::watch::channel(false);
            if self.local_announce {
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                tokio::spawn(crate::discovery::announce(self.identity.device_id, port, stop_rx));
            }
            ready.ready();
            loop {
                let permit = tokio::select! {
                    _ = shutdown.wait() => break,
                    p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                };
                let (tcp, addr) = tokio::select! {
                    _ = shutdown.wait() => break,
                    a = listener.accept() => match a {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::warn!(error = %e, "sync accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let (catalog, tls, hello, own_id) = (self.catalog.clone(), tls.clone(), hello.clone(), self.identity.device_id);
                tokio::spawn(async move {
                    handle(tcp, addr, tls, hello, catalog, own_id).await;
                    drop(permit);
                });
            }
            let _ = stop_announcing.send(true);
            Ok(())
        })
    }
}

async fn handle(tcp: TcpStream, addr: SocketAddr, tls: Arc<rustls::ServerConfig>, hello: Hello, catalog: Arc<Catalog>, own_id: DeviceId) {
    let mut conn = match tokio::time::timeout(HANDSHAKE_TIME, accept(tcp, tls, &hello)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::info!(%addr, error = %e, "sync handshake failed");
            return;
        }
        Err(_) => {
            tracing::info!(%addr, "sync handshake timed out");
            return;
        }
    };
    let id = conn.peer.to_string();
    let (check_id, check_catalog) = (id.clone(), catalog.clone());
    let paired = tokio::task::spawn_blocking(move || check_catalog.read(|c| sync_peers::is_paired(c, &check_id))).await;
    match paired {
        Ok(Ok(true)) => {
            // The device says which folders it shares with us in its first message; offers of
            // folders the box does not have yet wait for the owner.
            let me = own_id.0.to_vec();
            if let Ok(Ok(Message::ClusterConfig(cc))) = tokio::time::timeout(HANDSHAKE_TIME, read_message(&mut conn.stream)).await {
                let offers: Vec<PendingFolder> = cc
                    .folders
                    .iter()
                    .filter(|f| f.devices.iter().any(|d| d.id == me))
                    .map(|f| PendingFolder {
                        device_id: id.clone(),
                        folder_id: f.id.chars().take(200).collect(),
                        label: f.label.chars().take(200).collect(),
                        first_seen: now(),
                        last_seen: now(),
                    })
                    .collect();
                let n = offers.len();
                let stored = tokio::task::spawn_blocking(move || {
                    catalog.write(|tx| offers.iter().try_for_each(|o| sync_peers::record_pending_folder(tx, o)))
                })
                .await;
                if let Ok(Err(e)) = stored {
                    tracing::warn!(error = %e, "cannot record folder offers");
                }
                tracing::info!(%addr, device = %id, offers = n, "a paired device connected; its folder offers wait for the owner");
            }
            let close = Close { reason: "Hearth is not serving folders to this device yet".into() };
            let _ = write_message(&mut conn.stream, &Message::Close(close), false).await;
        }
        Ok(Ok(false)) => {
            let client = format!("{} {}", conn.hello.client_name, conn.hello.client_version);
            let pending = PendingDevice {
                device_id: id.clone(),
                name: conn.hello.device_name.chars().take(200).collect(),
                address: addr.to_string(),
                client: client.chars().take(200).collect(),
                first_seen: now(),
                last_seen: now(),
            };
            let stored = tokio::task::spawn_blocking(move || catalog.write(|tx| sync_peers::record_pending(tx, &pending))).await;
            if let Ok(Err(e)) = stored {
                tracing::warn!(error = %e, "cannot record a pending device");
            }
            tracing::info!(%addr, device = %id, name = %conn.hello.device_name, "refused an unpaired device; it is listed as pending");
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the paired devices"),
        Err(e) => tracing::warn!(error = %e, "sync check task failed"),
    }
}
