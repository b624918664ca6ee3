//! The sync engine: the folders the NAS shares (each with a task that scans and pulls), the
//! connected devices, the dialler that reaches paired devices, and the status and events the
//! rest of Hearth reads. hearthd makes one [`Engine`], gives it to the `sync` service (which
//! feeds it connections) and to the API (which changes settings in the catalog and then calls
//! [`Engine::reload`]).
//!
//! A folder's task alternates scanning and pulling — never both at once, so a file being
//! received is never mistaken for a local change. A folder whose `.stfolder` marker is missing
//! (its disk not mounted) does neither: an empty mount point must not look like "everything was
//! deleted".

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hearth_catalog::Catalog;
use hearth_catalog::sync_folders::{self, SyncFolder};
use hearth_catalog::sync_peers;
use tokio::sync::{Notify, broadcast, watch};

use crate::connection::{Connection, connect, random_u64};
use crate::device_id::DeviceId;
use crate::error::{Result, SyncError};
use crate::events::SyncEvent;
use crate::folder::{Folder, FolderSettings, FolderState, FolderType};
use crate::identity::Identity;
use crate::ignore::Ignores;
use crate::peer::Peer;
use crate::protocol::messages::Hello;
use crate::puller::Puller;

/// How long the watcher waits for writes to settle before a scan.
pub const SCAN_DELAY: Duration = Duration::from_secs(2);
/// A full rescan happens at least this often (the watcher can miss events).
pub const RESCAN_EVERY: Duration = Duration::from_secs(3600);
/// Paired devices that are not connected are dialled this often.
pub const DIAL_EVERY: Duration = Duration::from_secs(20);
/// How long a dial may take.
const DIAL_TIME: Duration = Duration::from_secs(10);
/// The marker a folder root must hold.
pub const MARKER: &str = ".stfolder";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// What the engine shares with sessions and folder tasks.
pub struct EngineInner {
    /// The NAS's identity.
    pub identity: Identity,
    /// The name peers see (the family may rename the box while it runs).
    name: Mutex<String>,
    /// The catalog.
    pub catalog: Arc<Catalog>,
    /// Events for the rest of Hearth.
    pub events: broadcast::Sender<SyncEvent>,
    /// Bumped when settings change (sessions resend their ClusterConfig).
    pub reconfigured: watch::Sender<u64>,
    /// Turns true when the engine stops.
    pub closing: watch::Sender<bool>,
    folders: Mutex<HashMap<String, Arc<Folder>>>,
    peers: Mutex<HashMap<DeviceId, Arc<Peer>>>,
    discovered: Mutex<HashMap<DeviceId, (Vec<SocketAddr>, Instant)>>,
    dial_now: Notify,
}

impl EngineInner {
    /// Every folder.
    pub fn folders(&self) -> Vec<Arc<Folder>> {
        lock(&self.folders).values().cloned().collect()
    }

    /// One folder.
    pub fn folder(&self, id: &str) -> Option<Arc<Folder>> {
        lock(&self.folders).get(id).cloned()
    }

    /// Connected devices.
    pub fn peers(&self) -> HashMap<DeviceId, Arc<Peer>> {
        lock(&self.peers).clone()
    }

    /// Take a new connection; false when an existing one is kept instead. When both devices
    /// dial each other at once, both keep the connection dialled by the smaller device id.
    pub fn register(&self, new: Arc<Peer>) -> bool {
        let me = self.identity.device_id;
        let dialer = |p: &Peer| if p.outgoing { me } else { p.device };
        let mut peers = lock(&self.peers);
        if let Some(old) = peers.get(&new.device) {
            let keep_new = old.outgoing == new.outgoing || dialer(&new) < dialer(old);
            if !keep_new {
                return false;
            }
            old.close("replaced by a newer connection");
        }
        peers.insert(new.device, new);
        drop(peers);
        for f in self.folders() {
            f.pull_wanted.notify_one();
        }
        true
    }

    /// Forget a connection that ended (unless a newer one replaced it).
    pub fn unregister(&self, peer: &Arc<Peer>) {
        let mut peers = lock(&self.peers);
        if peers.get(&peer.device).is_some_and(|p| Arc::ptr_eq(p, peer)) {
            peers.remove(&peer.device);
        }
    }

    /// Whether `device` is paired.
    pub async fn is_paired(&self, device: DeviceId) -> bool {
        let catalog = self.catalog.clone();
        let id = device.to_string();
        matches!(tokio::task::spawn_blocking(move || catalog.read(|c| sync_peers::is_paired(c, &id))).await, Ok(Ok(true)))
    }
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Engine(pub(crate) Arc<EngineInner>);

/// A folder's status, as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FolderStatus {
    /// Folder id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Where its files are.
    pub path: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: FolderType,
    /// What it is doing.
    pub state: FolderState,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was last scanned.
    pub last_scan: Option<i64>,
    /// Files (not deleted) in the NAS's index.
    pub local_files: u64,
    /// Their bytes.
    pub local_bytes: u64,
    /// Entries the NAS still needs from connected devices.
    pub need_files: u64,
    /// Their bytes.
    pub need_bytes: u64,
    /// Files received since hearthd started.
    pub received_files: u64,
    /// Their bytes.
    pub received_bytes: u64,
    /// Each device it is shared with.
    pub devices: Vec<DeviceCompletion>,
}

/// How far a device is from a folder's global version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeviceCompletion {
    /// Device id.
    pub device_id: String,
    /// Whether it is connected.
    pub connected: bool,
    /// Percent of the global bytes it has (100 when there is nothing).
    pub completion: f64,
    /// Entries it still needs.
    pub need_files: u64,
}

/// A connection's status.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectionStatus {
    /// Device id.
    pub device_id: String,
    /// The name it gave.
    pub name: String,
    /// Its program and version.
    pub client: String,
    /// Its address.
    pub address: String,
    /// Whether the NAS dialled it.
    pub outgoing: bool,
    /// When it connected.
    pub connected_at: i64,
    /// File data received from it since it connected (bytes).
    pub bytes_in: u64,
    /// File data sent to it.
    pub bytes_out: u64,
    /// Recent receive rate (bytes/s).
    pub rate_in: u64,
    /// Recent send rate (bytes/s).
    pub rate_out: u64,
}

/// A folder to add.
#[derive(Debug, Clone)]
pub struct NewFolder {
    /// Folder id (the offering device's, when accepting an offer).
    pub id: String,
    /// Label.
    pub label: String,
    /// Where its files go (absolute; made if missing).
    pub path: PathBuf,
    /// Its type.
    pub kind: FolderType,
    /// Paired devices to share it with.
    pub devices: Vec<DeviceId>,
    /// Days versions are kept (0: forever).
    pub keep_days: i64,
    /// Staggered versioning instead of the trash can.
    pub staggered: bool,
}

impl EngineInner {
    /// The name peers see.
    pub fn name(&self) -> String {
        lock(&self.name).clone()
    }
}

impl Engine {
    /// An engine for `identity`, named `name` to peers.
    pub fn new(catalog: Arc<Catalog>, identity: Identity, name: String) -> Engine {
        let (events, _) = broadcast::channel(1024);
        let (reconfigured, _) = watch::channel(0);
        let (closing, _) = watch::channel(false);
        Engine(Arc::new(EngineInner {
            identity,
            name: Mutex::new(name),
            catalog,
            events,
            reconfigured,
            closing,
            folders: Mutex::new(HashMap::new()),
            peers: Mutex::new(HashMap::new()),
            discovered: Mutex::new(HashMap::new()),
            dial_now: Notify::new(),
        }))
    }

    /// This NAS's device id.
    pub fn device_id(&self) -> DeviceId {
        self.0.identity.device_id
    }

    /// Peers see `name` in their next Hello, and connected ones in the cluster configuration
    /// sent to them now.
    pub fn set_name(&self, name: String) {
        *lock(&self.0.name) = name;
        self.0.reconfigured.send_modify(|n| *n += 1);
    }

    /// The Hello this NAS sends.
    pub fn hello(&self) -> Hello {
        Hello {
            device_name: lock(&self.0.name).clone(),
            client_name: "hearth".into(),
            client_version: hearth_core::version::VERSION.into(),
            ..Default::default()
        }
    }

    /// Follow events.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.0.events.subscribe()
    }

    /// Read the folders from the catalog: start new ones, update changed ones, stop removed
    /// ones; then tell connected devices.
    pub async fn reload(&self) -> Result<()> {
        let catalog = self.0.catalog.clone();
        let rows = tokio::task::spawn_blocking(move || catalog.read(sync_folders::list_folders))
            .await
            .map_err(|e| SyncError::Protocol(e.to_string()))??;
        let wanted: HashSet<String> = rows.iter().map(|r| r.folder_id.clone()).collect();
        for row in rows {
            let settings = match FolderSettings::from_catalog(&row) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(folder = %row.folder_id, error = %e, "folder settings are unusable; folder not started");
                    continue;
                }
            };
            if let Some(existing) = self.0.folder(&row.folder_id) {
                let before = existing.settings();
                for gone in before.devices.iter().filter(|d| !settings.devices.contains(d)) {
                    existing.forget_remote(gone);
                }
                existing.set_settings(settings);
                continue;
            }
            let catalog = self.0.catalog.clone();
            let folder = tokio::task::spawn_blocking(move || Folder::open(catalog, settings))
                .await
                .map_err(|e| SyncError::Protocol(e.to_string()))??;
            let folder = Arc::new(folder);
            lock(&self.0.folders).insert(row.folder_id.clone(), folder.clone());
            tokio::spawn(run_folder(self.0.clone(), folder));
        }
        let removed: Vec<Arc<Folder>> = {
            let mut folders = lock(&self.0.folders);
            let gone: Vec<String> = folders.keys().filter(|k| !wanted.contains(*k)).cloned().collect();
            gone.iter().filter_map(|k| folders.remove(k)).collect()
        };
        for f in removed {
            f.stop.notify_one();
        }
        self.0.reconfigured.send_modify(|n| *n += 1);
        self.0.dial_now.notify_one();
        Ok(())
    }

    /// Add a folder: check the settings, make the directory and its marker, record it, start it.
    pub async fn add_folder(&self, new: NewFolder) -> Result<SyncFolder> {
        let bad = |why: String| SyncError::Invalid(why);
        if new.id.is_empty() || new.id.chars().count() > 200 || new.id.chars().any(char::is_control) {
            return Err(bad("folder id: 1 to 200 characters, no control characters".into()));
        }
        if !new.path.is_absolute() {
            return Err(bad(format!("path {:?} must be absolute", new.path)));
        }
        if !(0..=36_500).contains(&new.keep_days) {
            return Err(bad("keep_days: 0 to 36500".into()));
        }
        let path = new.path.clone();
        let row = SyncFolder {
            folder_id: new.id.clone(),
            label: if new.label.trim().is_empty() { new.id.clone() } else { new.label.trim().to_string() },
            path: new.path.display().to_string(),
            kind: new.kind.as_str().into(),
            versioning: if new.staggered { "staggered".into() } else { "trashcan".into() },
            keep_days: new.keep_days,
            devices: new.devices.iter().map(|d| d.to_string()).collect(),
            added_at: now_s(),
        };
        let index_id = random_u64()?;
        let catalog = self.0.catalog.clone();
        let stored = row.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            std::fs::create_dir_all(&path).map_err(|e| SyncError::io(path.display().to_string(), e))?;
            std::fs::write(path.join(MARKER), b"").map_err(|e| SyncError::io(path.join(MARKER).display().to_string(), e))?;
            catalog.write(|tx| {
                if sync_folders::get_folder(tx, &stored.folder_id)?.is_some() {
                    return Ok(Err(SyncError::Invalid(format!("a folder {:?} exists already", stored.folder_id))));
                }
                if sync_folders::list_folders(tx)?.iter().any(|f| f.path == stored.path) {
                    return Ok(Err(SyncError::Invalid(format!("{} is already shared as another folder", stored.path))));
                }
                for d in &stored.devices {
                    if !sync_peers::is_paired(tx, d)? {
                        return Ok(Err(SyncError::Invalid(format!("device {d} is not paired"))));
                    }
                }
                sync_folders::add_folder(tx, &stored, index_id)?;
                Ok(Ok(()))
            })?
        })
        .await
        .map_err(|e| SyncError::Protocol(e.to_string()))??;
        self.reload().await?;
        Ok(row)
    }

    /// Ask a folder to scan now.
    pub fn scan(&self, folder: &str) -> Result<()> {
        let f = self.0.folder(folder).ok_or_else(|| SyncError::Invalid(format!("no folder {folder:?}")))?;
        f.scan_wanted.notify_one();
        Ok(())
    }

    /// Every folder's status.
    pub fn folder_status(&self) -> Vec<FolderStatus> {
        let peers = self.0.peers();
        let connected: HashSet<DeviceId> = peers.keys().copied().collect();
        let mut out: Vec<FolderStatus> = self
            .0
            .folders()
            .into_iter()
            .map(|f| {
                let s = f.settings();
                let a = f.activity();
                let (local_files, local_bytes) = f.with_local(|l| {
                    l.files
                        .values()
                        .filter(|e| !e.deleted && crate::folder::is_file(e))
                        .fold((0u64, 0u64), |(n, b), e| (n + 1, b + e.size.max(0) as u64))
                });
                let ignores = Ignores::load(&s.root).unwrap_or_default();
                // A send-only folder still shows what peers changed and it did not apply.
                let needs = f.needs(&connected, |n| ignores.ignored(n));
                let devices = s
                    .devices
                    .iter()
                    .map(|d| {
                        let (have, total, need) = f.completion_of(d);
                        DeviceCompletion {
                            device_id: d.to_string(),
                            connected: connected.contains(d),
                            completion: if total == 0 {
                                if need == 0 { 100.0 } else { 0.0 }
                            } else {
                                (have as f64 * 1000.0 / total as f64).floor() / 10.0
                            },
                            need_files: need,
                        }
                    })
                    .collect();
                FolderStatus {
                    id: s.id.clone(),
                    label: s.label.clone(),
                    path: s.root.display().to_string(),
                    kind: s.kind,
                    state: a.state,
                    last_error: a.last_error,
                    last_scan: a.last_scan,
                    local_files,
                    local_bytes,
                    need_files: needs.len() as u64,
                    need_bytes: needs.iter().filter(|n| !n.global.deleted).map(|n| n.global.size.max(0) as u64).sum(),
                    received_files: a.received_files,
                    received_bytes: a.received_bytes,
                    devices,
                }
            })
            .collect();
        out.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// Connected devices.
    pub fn connections(&self) -> Vec<ConnectionStatus> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut out: Vec<ConnectionStatus> = self
            .0
            .peers()
            .values()
            .map(|p| ConnectionStatus {
                device_id: p.device.to_string(),
                name: p.name.clone(),
                client: p.client.clone(),
                address: p.address.clone(),
                outgoing: p.outgoing,
                connected_at: p.connected_at,
                bytes_in: p.bytes_in.load(Relaxed),
                bytes_out: p.bytes_out.load(Relaxed),
                rate_in: p.rate_in.load(Relaxed),
                rate_out: p.rate_out.load(Relaxed),
            })
            .collect();
        out.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        out
    }

    /// Serve an authenticated connection: paired devices get a session; others are recorded as
    /// pending and refused.
    pub async fn serve<S>(&self, conn: Connection<S>, address: String, outgoing: bool) -> Result<()>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        crate::session::run(self.0.clone(), conn, address, outgoing).await
    }

    /// Remember where a device announced itself on the LAN (and dial it soon if it is paired).
    pub fn discovered(&self, device: DeviceId, addresses: Vec<SocketAddr>) {
        if device == self.device_id() || addresses.is_empty() {
            return;
        }
        let fresh = lock(&self.0.discovered).insert(device, (addresses, Instant::now())).is_none();
        if fresh && !self.0.peers().contains_key(&device) {
            self.0.dial_now.notify_one();
        }
    }

    /// Dial paired devices that are not connected, until `closing`.
    pub async fn dial_loop(&self) {
        let mut closing = self.0.closing.subscribe();
        loop {
            let catalog = self.0.catalog.clone();
            let devices = tokio::task::spawn_blocking(move || catalog.read(sync_peers::list_devices)).await;
            let devices = match devices {
                Ok(Ok(d)) => d,
                _ => Vec::new(),
            };
            for d in devices {
                let Ok(id) = d.device_id.parse::<DeviceId>() else { continue };
                if self.0.peers().contains_key(&id) {
                    continue;
                }
                let mut candidates: Vec<SocketAddr> = Vec::new();
                for a in &d.addresses {
                    let Some(hostport) = a.strip_prefix("tcp://") else { continue };
                    if let Ok(found) = tokio::net::lookup_host(hostport).await {
                        candidates.extend(found);
                    }
                }
                if let Some((found, at)) = lock(&self.0.discovered).get(&id).cloned()
                    && at.elapsed() < Duration::from_secs(180)
                {
                    candidates.extend(found);
                }
                for addr in candidates {
                    match tokio::time::timeout(DIAL_TIME, connect(addr, &self.0.identity, Some(id), &self.hello())).await {
                        Ok(Ok(conn)) => {
                            let engine = self.clone();
                            tokio::spawn(async move {
                                let _ = engine.serve(conn, addr.to_string(), true).await;
                            });
                            break;
                        }
                        Ok(Err(e)) => tracing::debug!(device = %id, %addr, error = %e, "dial failed"),
                        Err(_) => tracing::debug!(device = %id, %addr, "dial timed out"),
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(DIAL_EVERY) => {}
                _ = self.0.dial_now.notified() => tokio::time::sleep(Duration::from_millis(200)).await,
                _ = closing.changed() => return,
            }
        }
    }

    /// Stop: folders stop, sessions close.
    pub fn stop(&self) {
        self.0.closing.send_replace(true);
        for f in self.0.folders() {
            f.stop.notify_one();
        }
    }

    /// A folder's versions (see [`crate::versions`]).
    pub fn folder_root(&self, folder: &str) -> Result<PathBuf> {
        self.0.folder(folder).map(|f| f.settings().root).ok_or_else(|| SyncError::Invalid(format!("no folder {folder:?}")))
    }
}

/// Start a watcher that asks `folder` to scan when something under `root` changes (Syncthing's
/// temporaries and the versions folder excluded). `None` when the platform refuses (the hourly
/// rescan still runs).
fn watch_folder(root: &Path, folder: &Arc<Folder>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let weak = Arc::downgrade(folder);
    let root_owned = root.to_path_buf();
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        let relevant = event.paths.iter().any(|p| {
            let rel = p.strip_prefix(&root_owned).unwrap_or(p);
            let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
            let last = rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            first != ".stversions" && !last.starts_with(".syncthing.")
        });
        if relevant && let Some(f) = weak.upgrade() {
            f.scan_wanted.notify_one();
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(mut w) => match w.watch(root, notify::RecursiveMode::Recursive) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(root = %root.display(), error = %e, "cannot watch the folder; relying on periodic scans");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "no filesystem watcher; relying on periodic scans");
            None
        }
    }
}

fn set_state(engine: &EngineInner, folder: &Folder, state: FolderState, error: Option<String>) {
    let mut changed = false;
    folder.update_activity(|a| {
        changed = a.state != state;
        a.state = state;
        if state != FolderState::Scanning && state != FolderState::Syncing {
            a.last_error = error;
        }
    });
    if changed {
        let _ = engine.events.send(SyncEvent::FolderState { folder: folder.id(), state });
    }
}

async fn scan_folder(engine: &EngineInner, folder: &Arc<Folder>, ignores: &Arc<Ignores>) -> Result<usize> {
    set_state(engine, folder, FolderState::Scanning, None);
    let started = Instant::now();
    let (f, ig, short) = (folder.clone(), ignores.clone(), engine.identity.device_id.short());
    let n = tokio::task::spawn_blocking(move || -> Result<usize> {
        let root = f.settings().root;
        let changes = crate::scan::changes(&root, &f, &ig, short, now_s().max(0) as u64)?;
        let n = changes.len();
        f.commit(changes)?;
        Ok(n)
    })
    .await
    .map_err(|e| SyncError::Protocol(e.to_string()))??;
    folder.update_activity(|a| a.last_scan = Some(now_s()));
    if n > 0 {
        tracing::info!(folder = %folder.id(), changes = n, ms = started.elapsed().as_millis() as u64, "scanned");
    }
    Ok(n)
}

/// A folder's life: scan when asked (and hourly), pull when peers announce changes.
async fn run_folder(engine: Arc<EngineInner>, folder: Arc<Folder>) {
    let id = folder.id();
    let root = folder.settings().root;
    let _watcher = if folder.settings().kind.sends() { watch_folder(&root, &folder) } else { None };
    let mut closing = engine.closing.subscribe();
    let mut scan_due = true;
    let mut last_full_scan = Instant::now();
    let mut last_clean: Option<Instant> = None;
    let mut pulled_since_in_sync = true;
    loop {
        let settings = folder.settings();
        if !settings.root.join(MARKER).exists() {
            set_state(
                &engine,
                &folder,
                FolderState::Error,
                Some(format!("{} is missing its {MARKER} marker (is the disk mounted?)", settings.root.display())),
            );
        } else {
            let ignores = match Ignores::load(&settings.root) {
                Ok(i) => Arc::new(i),
                Err(e) => {
                    set_state(&engine, &folder, FolderState::Error, Some(e.to_string()));
                    Arc::new(Ignores::none())
                }
            };
            let mut error = None;
            if scan_due && settings.kind.sends() {
                scan_due = false;
                last_full_scan = Instant::now();
                if let Err(e) = scan_folder(&engine, &folder, &ignores).await {
                    tracing::warn!(folder = %id, error = %e, "scan failed");
                    error = Some(format!("scan: {e}"));
                }
            }
            if last_clean.is_none_or(|t| t.elapsed() > Duration::from_secs(86_400)) {
                last_clean = Some(Instant::now());
                let (root, keep, staggered) = (settings.root.clone(), settings.keep_days, settings.staggered);
                let _ = tokio::task::spawn_blocking(move || {
                    let cleaned =
                        if staggered { crate::versions::thin(&root, keep, now_s()) } else { crate::versions::clean(&root, keep, now_s()) };
                    if let Err(e) = cleaned {
                        tracing::warn!(error = %e, "cleaning the folder's versions failed");
                    }
                    crate::scan::remove_stale_temporaries(&root, Duration::from_secs(86_400))
                })
                .await;
            }
            set_state(&engine, &folder, FolderState::Syncing, None);
            let puller = Puller { folder: folder.clone(), peers: engine.peers(), ignores: ignores.clone(), events: engine.events.clone() };
            let started = Instant::now();
            let round = puller.round().await;
            if round.done + round.failed > 0 {
                tracing::info!(
                    folder = %id, done = round.done, failed = round.failed, waiting = round.waiting,
                    ms = started.elapsed().as_millis() as u64, "pulled"
                );
            }
            if round.scan_wanted {
                scan_due = true;
            }
            if round.done > 0 {
                pulled_since_in_sync = true;
            }
            error = error.or(round.last_error.clone());
            set_state(&engine, &folder, if error.is_some() { FolderState::Error } else { FolderState::Idle }, error);
            if round.done > 0 || round.scan_wanted {
                continue;
            }
            let connected: HashSet<DeviceId> = engine.peers().keys().copied().collect();
            if pulled_since_in_sync && settings.kind.receives() && folder.needs(&connected, |n| ignores.ignored(n)).is_empty() {
                pulled_since_in_sync = false;
                let _ = engine.events.send(SyncEvent::InSync { folder: id.clone() });
            }
        }
        let retry = if folder.activity().state == FolderState::Error { Duration::from_secs(10) } else { Duration::from_secs(60) };
        tokio::select! {
            _ = folder.pull_wanted.notified() => {}
            _ = folder.scan_wanted.notified() => {
                tokio::time::sleep(SCAN_DELAY).await;
                scan_due = true;
            }
            _ = tokio::time::sleep(retry) => {
                if last_full_scan.elapsed() >= RESCAN_EVERY {
                    scan_due = true;
                }
            }
            _ = folder.stop.notified() => return,
            _ = closing.changed() => return,
        }
    }
}
