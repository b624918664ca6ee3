//! Serving the router: plain HTTP and HTTPS on the LAN, and the owner-only unix socket.
//!
//! [`run`] takes already-bound listeners and a [`Shutdown`]: binding happens at start-up (so a
//! port in use is a clear start-up error, not a restart loop) and tests pass their own. A
//! semaphore bounds the connections served at once; on shutdown the listeners close, requests in
//! flight finish (up to a grace period), and keep-alive connections are closed.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hearth_core::Shutdown;
use hearth_core::announce::{Announcement, Announcements};
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::AppState;
use crate::auth::caller::Peer;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound listening sockets (std types, so a restarted service can clone them again).
#[derive(Debug)]
pub struct Listeners {
    /// Plain HTTP.
    pub http: std::net::TcpListener,
    /// HTTPS and its TLS configuration.
    pub https: Option<(std::net::TcpListener, Arc<rustls::ServerConfig>)>,
    /// The CLI's unix socket and its path.
    pub unix: Option<(std::os::unix::net::UnixListener, PathBuf)>,
}

/// Why a listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {what}: {source}")]
pub struct BindError {
    /// What we tried to bind.
    pub what: String,
    /// The OS error.
    pub source: io::Error,
}

impl hearth_core::Kinded for BindError {
    fn kind(&self) -> hearth_core::ErrorKind {
        hearth_core::ErrorKind::of_io(&self.source)
    }
    fn guidance(&self) -> Option<String> {
        match self.source.kind() {
            io::ErrorKind::AddrInUse => Some(
                "another program (or another hearthd) uses that port: stop it, or pick another port with --listen / --https-listen".into(),
            ),
            io::ErrorKind::PermissionDenied => {
                Some("ports below 1024 need root or CAP_NET_BIND_SERVICE; pick a port above 1024 with --listen".into())
            }
            io::ErrorKind::AddrNotAvailable => Some("that address is not on this machine; use 0.0.0.0 for every interface".into()),
            _ => None,
        }
    }
}

fn bind_tcp(addr: SocketAddr, what: &str) -> Result<std::net::TcpListener, BindError> {
    let l = std::net::TcpListener::bind(addr).map_err(|source| BindError { what: format!("{what} {addr}"), source })?;
    l.set_nonblocking(true).map_err(|source| BindError { what: format!("{what} {addr}"), source })?;
    Ok(l)
}

/// Bind the unix socket at `path`, replacing a stale socket left by a crash (never another kind
/// of file), owner-only.
pub fn bind_unix(path: &Path) -> Result<std::os::unix::net::UnixListener, BindError> {
    let err = |source| BindError { what: format!("the control socket {}", path.display()), source };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            return Err(err(io::Error::new(io::ErrorKind::AlreadyExists, "a file that is not a socket is in the way")));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(err(io::Error::new(io::ErrorKind::AddrInUse, "another hearthd is running on this data folder")));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    let l = std::os::unix::net::UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    l.set_nonblocking(true).map_err(err)?;
    Ok(l)
}

impl Listeners {
    /// Bind HTTP, HTTPS (when `https` is given) and the unix socket (when `socket` is given).
    pub fn bind(
        http: SocketAddr,
        https: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
        socket: Option<&Path>,
    ) -> Result<Listeners, BindError> {
        let http = bind_tcp(http, "HTTP")?;
        let https = match https {
            Some((addr, cfg)) => Some((bind_tcp(addr, "HTTPS")?, cfg)),
            None => None,
        };
        let unix = match socket {
            Some(p) => Some((bind_unix(p)?, p.to_path_buf())),
            None => None,
        };
        Ok(Listeners { http, https, unix })
    }

    /// New handles on the same sockets.
    pub fn try_clone(&self) -> io::Result<Listeners> {
        Ok(Listeners {
            http: self.http.try_clone()?,
            https: match &self.https {
                Some((l, c)) => Some((l.try_clone()?, c.clone())),
                None => None,
            },
            unix: match &self.unix {
                Some((l, p)) => Some((l.try_clone()?, p.clone())),
                None => None,
            },
        })
    }

    /// The HTTP address actually bound (port 0 resolved).
    pub fn http_addr(&self) -> io::Result<SocketAddr> {
        self.http.local_addr()
    }

    /// The HTTPS address actually bound.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }
}

fn serve_conn<I>(io: I, peer: Peer, router: Router, watcher: Watcher, permit: tokio::sync::OwnedSemaphorePermit)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(peer);
        let router = router.clone();
        async move { Ok::<_, Infallible>(router.oneshot(req.map(axum::body::Body::new)).await.unwrap_or_else(|e| match e {})) }
    });
    let conn = http1::Builder::new().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).serve_connection(TokioIo::new(io), svc);
    let fut = watcher.watch(conn);
    tokio::spawn(async move {
        if let Err(e) = fut.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        drop(permit);
    });
}

async fn accept_opt<L, F, T>(l: Option<&L>, f: F) -> io::Result<T>
where
    F: AsyncFnOnce(&L) -> io::Result<T>,
{
    match l {
        Some(l) => f(l).await,
        None => std::future::pending().await,
    }
}

/// Serve `router` on `listeners` until `shutdown` fires, then drain for up to `grace`.
pub async fn run(router: Router, listeners: Listeners, shutdown: Shutdown, max_connections: usize, grace: Duration) -> io::Result<()> {
    let http = tokio::net::TcpListener::from_std(listeners.http)?;
    let https = match listeners.https {
        Some((l, cfg)) => Some((tokio::net::TcpListener::from_std(l)?, tokio_rustls::TlsAcceptor::from(cfg))),
        None => None,
    };
    let unix = match listeners.unix {
        Some((l, p)) => Some((tokio::net::UnixListener::from_std(l)?, p)),
        None => None,
    };
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.wait() => break,
        };
        tokio::select! {
            _ = shutdown.wait() => break,
            r = http.accept() => match r {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    serve_conn(stream, Peer { addr: Some(addr), tls: false, local_socket: false }, router.clone(), graceful.watcher(), permit);
                }
                Err(e) => accept_error(e).await,
            },
            r = accept_opt(https.as_ref(), async |(l, _)| l.accept().await) => match r {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let Some((_, acceptor)) = https.as_ref() else { continue };
                    let acceptor = acceptor.clone();
                    let (router, watcher) = (router.clone(), graceful.watcher());
                    tokio::spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => serve_conn(tls, Peer { addr: Some(addr), tls: true, local_socket: false }, router, watcher, permit),
                            Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
                        }
                    });
                }
                Err(e) => accept_error(e).await,
            },
            r = accept_opt(unix.as_ref(), async |(l, _)| l.accept().await) => match r {
                Ok((stream, _)) => serve_conn(stream, Peer { addr: None, tls: false, local_socket: true }, router.clone(), graceful.watcher(), permit),
                Err(e) => accept_error(e).await,
            },
        }
    }
    drop(http);
    drop(https);
    if let Some((l, path)) = unix {
        drop(l);
        // Only a real shutdown removes the socket; a restart of the service reuses it.
        if shutdown.is_requested() {
            let _ = std::fs::remove_file(path);
        }
    }
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still busy after {grace:?}; closing them");
    }
    Ok(())
}

/// Accept errors (too many open files, a connection reset before accept) must not end the
/// server; pause briefly so a persistent one does not spin.
async fn accept_error(e: io::Error) {
    tracing::warn!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The supervised API service.
pub struct ApiService {
    state: AppState,
    listeners: Listeners,
    announcements: Announcements,
}

impl ApiService {
    /// A service serving `state` on `listeners` and announcing itself in `announcements`.
    pub fn new(state: AppState, listeners: Listeners, announcements: Announcements) -> Self {
        Self { state, listeners, announcements }
    }
}

/// Announce the web app and the API on the LAN as `name`.
fn announce(announcements: &Announcements, d: &crate::state::DeviceInfo, http_port: u16, name: &str) {
    announcements.set(
        "api.http",
        Announcement {
            service_type: "_http._tcp".into(),
            instance: name.to_string(),
            port: http_port,
            txt: vec![("path".into(), "/".into())],
        },
    );
    let mut txt = vec![
        ("version".to_string(), d.version.clone()),
        ("board".to_string(), d.board.clone()),
        ("device".to_string(), name.to_string()),
        ("id".to_string(), d.id.clone()),
        ("api".to_string(), "/api/v1".to_string()),
    ];
    if let (Some(port), Some(fp)) = (d.https_port, &d.cert_sha256) {
        txt.push(("https_port".into(), port.to_string()));
        txt.push(("cert_sha256".into(), fp.clone()));
    }
    announcements.set("api.hearth", Announcement { service_type: "_hearth._tcp".into(), instance: name.to_string(), port: http_port, txt });
    // Laptops find where to back up: restic's REST protocol, one repository per user and name.
    let (port, scheme) = d.https_port.map(|p| (p, "https")).unwrap_or((http_port, "http"));
    announcements.set(
        "api.restic",
        Announcement {
            service_type: "_restic._tcp".into(),
            instance: name.to_string(),
            port,
            txt: vec![("path".into(), "/restic/".into()), ("scheme".into(), scheme.into())],
        },
    );
    // File managers (Finder, GNOME Files, DAVx5) find the family's files: WebDAV over plain HTTP
    // on the LAN, and over TLS when HTTPS is on (docs/files.md).
    let files = vec![("path".to_string(), "/remote.php/dav/files/".to_string())];
    announcements.set(
        "api.webdav",
        Announcement { service_type: "_webdav._tcp".into(), instance: name.to_string(), port: http_port, txt: files.clone() },
    );
    match d.https_port {
        Some(port) => announcements
            .set("api.webdavs", Announcement { service_type: "_webdavs._tcp".into(), instance: name.to_string(), port, txt: files }),
        None => announcements.remove("api.webdavs"),
    }
    // Calendar and contact apps find the box (RFC 6764: the DAV root in TXT `path`;
    // docs/calendars.md), over HTTP and over TLS when HTTPS is on.
    let root = vec![("path".to_string(), "/dav/".to_string())];
    for (key, service) in [("api.caldav", "_caldav._tcp"), ("api.carddav", "_carddav._tcp")] {
        announcements
            .set(key, Announcement { service_type: service.into(), instance: name.to_string(), port: http_port, txt: root.clone() });
    }
    for (key, service) in [("api.caldavs", "_caldavs._tcp"), ("api.carddavs", "_carddavs._tcp")] {
        match d.https_port {
            Some(port) => {
                announcements.set(key, Announcement { service_type: service.into(), instance: name.to_string(), port, txt: root.clone() })
            }
            None => announcements.remove(key),
        }
    }
}

impl Service for ApiService {
    fn name(&self) -> &'static str {
        "api"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            let listeners =
                self.listeners.try_clone().map_err(|e| ServiceFailure::retryable(format!("cannot reuse the listening sockets: {e}")))?;
            let router = crate::routes::router(self.state.clone());
            // Announced under the family's name for the box, again whenever they rename it.
            let renamer = match self.listeners.http_addr() {
                Ok(http) => {
                    let (announcements, device) = (self.announcements.clone(), self.state.device.clone());
                    let mut settings = self.state.box_settings.subscribe();
                    announce(&announcements, &device, http.port(), settings.borrow_and_update().name.as_str());
                    Some(tokio::spawn(async move {
                        while settings.changed().await.is_ok() {
                            let name = settings.borrow_and_update().name.clone();
                            announce(&announcements, &device, http.port(), name.as_str());
                        }
                    }))
                }
                Err(_) => None,
            };
            ready.ready();
            let cfg = &self.state.config;
            // Open pages' event streams end when the server stops, so draining does not wait
            // for them.
            let live = self.state.live.clone();
            live.reopen();
            let stopping = shutdown.clone();
            let closer = tokio::spawn(async move {
                stopping.wait().await;
                live.close();
            });
            let result = run(router, listeners, shutdown, cfg.http.max_connections, cfg.supervisor.shutdown_timeout).await;
            closer.abort();
            if let Some(r) = renamer {
                r.abort();
            }
            self.announcements.remove("api.http");
            self.announcements.remove("api.hearth");
            self.announcements.remove("api.restic");
            result.map_err(|e| ServiceFailure::retryable(format!("the web server stopped: {e}")))
        })
    }
}
