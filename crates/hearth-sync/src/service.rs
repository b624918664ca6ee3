//! The `sync` service of hearthd: listens for Syncthing devices (BEP over TLS 1.3), learns who
//! each one is from its certificate, hands paired devices to the [`Engine`] and refuses the
//! others — recording them as pending (`GET /api/v1/sync/devices`, `hearth sync devices list`)
//! so they can be accepted. It also starts the engine's folders, its dialler, and local
//! discovery (announcing and listening). Handshakes are bounded in number and time, so a flood of
//! connections cannot starve the box.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearth_catalog::sync_peers::{self, PendingDevice};
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_core::shutdown::Shutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::connection::{accept, server_config};
use crate::engine::Engine;
use crate::protocol::messages::Hello;

/// Handshakes in progress at once; more connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 16;
/// A peer must finish TLS and Hello within this time.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// The sync service.
pub struct SyncService {
    engine: Engine,
    listen: SocketAddr,
    local_discovery: bool,
}

impl SyncService {
    /// A service running `engine`, listening on `listen`, announcing itself on the LAN and
    /// listening for others' announcements when `local_discovery`.
    pub fn new(engine: Engine, listen: SocketAddr, local_discovery: bool) -> Self {
        SyncService { engine, listen, local_discovery }
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
            let identity = self.engine.0.identity.clone();
            tracing::info!(addr = %bound, device_id = %identity.device_id, "sync listening");
            let tls = server_config(&identity).map_err(|e| ServiceFailure::permanent(e.to_string()))?;
            let hello = self.engine.hello();
            self.engine.reload().await.map_err(|e| ServiceFailure::retryable(format!("cannot start the sync folders: {e}")))?;
            let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
            let (stop_discovery, stop_rx) = tokio::sync::watch::channel(false);
            if self.local_discovery {
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                tokio::spawn(crate::discovery::announce(identity.device_id, port, stop_rx.clone()));
                tokio::spawn(crate::discovery::listen(self.engine.clone(), stop_rx));
            }
            let dialler = self.engine.clone();
            tokio::spawn(async move { dialler.dial_loop().await });
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
                let (engine, tls, hello) = (self.engine.clone(), tls.clone(), hello.clone());
                tokio::spawn(handle(tcp, addr, tls, hello, engine, permit));
            }
            let _ = stop_discovery.send(true);
            self.engine.stop();
            Ok(())
        })
    }
}

async fn handle(
    tcp: TcpStream,
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    hello: Hello,
    engine: Engine,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let conn = match tokio::time::timeout(HANDSHAKE_TIME, accept(tcp, tls, &hello)).await {
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
    // The handshake is over: the slot is free for the next one while the session runs.
    drop(permit);
    let id = conn.peer.to_string();
    let catalog = engine.0.catalog.clone();
    let check_id = id.clone();
    let paired = tokio::task::spawn_blocking(move || catalog.read(|c| sync_peers::is_paired(c, &check_id))).await;
    match paired {
        Ok(Ok(true)) => {
            if let Err(e) = engine.serve(conn, addr.to_string(), false).await {
                tracing::debug!(%addr, device = %id, error = %e, "session ended");
            }
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
            let catalog = engine.0.catalog.clone();
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
