//! The disks service: the inventory kept current for the API. It is read at start, then again
//! each time the kernel says a block device came, changed or went (a short settle first, since
//! a disk's partitions follow it within milliseconds), and every few minutes besides (a mount
//! or an unmount sends no uevent). Readers get the last complete inventory, never a half-read
//! one; reading runs on a blocking thread (it opens devices, which a slow USB disk can stall),
//! and the uevent socket is read on a thread of its own that stops with the service.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hearth_core::Shutdown;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_platform::privileged_helper::{Helper, Request};
use hearth_platform::uevent_socket::{MESSAGE_MAX, UeventSocket};

use crate::data_disk::{self, Refusal, UseForData};
use crate::data_home::{DataOn, DataStart};
use crate::inventory::{DeviceFolder, Inventory};
use crate::smart::{self, SmartReport};
use crate::sysfs::Transport;
use crate::{mountinfo, uevent};

/// After a block uevent, how long more may arrive before the inventory is read again.
const SETTLE: Duration = Duration::from_millis(250);
/// How often the inventory is read anyway (mounts change without uevents).
const EVERY: Duration = Duration::from_secs(300);

/// Where the inventory is read from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// sysfs (`/sys`).
    pub sys: PathBuf,
    /// Device files (`/dev`).
    pub dev: PathBuf,
    /// The mount table (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
    /// The smartctl program (smartmontools).
    pub smartctl: String,
}

impl Default for Sources {
    fn default() -> Sources {
        Sources { sys: "/sys".into(), dev: "/dev".into(), mountinfo: "/proc/self/mountinfo".into(), smartctl: "smartctl".into() }
    }
}

/// A disk as its health reading is kept: kernel name and serial.
type DiskKey = (String, Option<String>);

/// How long a disk's health reading is kept before smartctl is asked again.
const HEALTH_EVERY: Duration = Duration::from_secs(3600);

/// Where the appliance's privileged helper leaves the disks it read as root.
pub const HELPER_INVENTORY: &str = "/run/hearth/disks.json";

/// The inventory as last read, shared by the service and the API.
pub struct Disks {
    sources: Sources,
    /// On the appliance hearthd runs as the `hearth` user, which may not read disks: the
    /// privileged helper reads them (this same code, as root) into this file.
    helper: Option<(Arc<Helper>, PathBuf)>,
    current: RwLock<Arc<Inventory>>,
    /// Each disk's last health reading, by kernel name and serial (another disk plugged into the
    /// same port is read afresh), with when it was read.
    health: std::sync::Mutex<BTreeMap<DiskKey, (Instant, SmartReport)>>,
    /// Counts completed reads, so waiters can tell a new inventory from the old one.
    reads: tokio::sync::watch::Sender<u64>,
    /// Where the data lives, as prepare-data found it at this start.
    data_start: RwLock<DataStart>,
}

/// Why the data could not be given to a disk.
#[derive(Debug, thiserror::Error)]
pub enum UseForDataError {
    /// The disk may not be used.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Not on the appliance: only its privileged helper may format disks.
    #[error("moving the data to a disk is done by the appliance's privileged helper, which this hearthd does not have")]
    NoHelper,
    /// The helper tried and failed (the disk is left as the helper says; the data is untouched).
    #[error("preparing the disk failed: {0}")]
    Failed(String),
}

impl Default for Disks {
    fn default() -> Disks {
        Disks::new(Sources::default())
    }
}

impl Disks {
    /// Nothing read yet (an empty inventory until [`Disks::refresh`]).
    pub fn new(sources: Sources) -> Disks {
        Disks {
            sources,
            helper: None,
            current: RwLock::default(),
            health: Default::default(),
            reads: tokio::sync::watch::Sender::new(0),
            data_start: RwLock::default(),
        }
    }

    /// Disks read by the privileged helper (the appliance), which leaves them in `file`.
    pub fn through_helper(helper: Arc<Helper>, file: PathBuf) -> Disks {
        Disks { helper: Some((helper, file)), ..Disks::new(Sources::default()) }
    }

    /// The inventory as last read.
    pub fn current(&self) -> Arc<Inventory> {
        self.current.read().map(|c| c.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Where the data lives, as prepare-data found it at this start.
    pub fn data_start(&self) -> DataStart {
        self.data_start.read().map(|d| d.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Remember what prepare-data said at this start.
    pub fn set_data_start(&self, start: DataStart) {
        match self.data_start.write() {
            Ok(mut d) => *d = start,
            Err(poisoned) => *poisoned.into_inner() = start,
        }
    }

    /// Give the data to the disk `request` names (blocking: call from a blocking thread): checked
    /// against the inventory here, then partitioned, formatted and recorded by the privileged
    /// helper, which checks again. The move itself is made by the next start (the caller
    /// restarts the box). `data` is the data folder.
    pub fn use_for_data(&self, data: &Path, request: &UseForData) -> Result<(), UseForDataError> {
        if self.data_start().on == DataOn::Disk {
            return Err(Refusal::AlreadyMoved.into());
        }
        let (used, _) = data_disk::data_use(data).map_err(UseForDataError::Failed)?;
        data_disk::check(&self.current(), request, used)?;
        let Some((helper, _)) = &self.helper else { return Err(UseForDataError::NoHelper) };
        let file = data.join(data_disk::REQUEST_FILE);
        let json = serde_json::to_vec(request).map_err(|e| UseForDataError::Failed(e.to_string()))?;
        let written = file
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| hearth_platform::durable::write_atomic(&file, &json, 0o644));
        written.map_err(|e| UseForDataError::Failed(format!("{}: {e}", file.display())))?;
        helper.ask(Request::DisksUseForData).map_err(|e| UseForDataError::Failed(e.to_string()))
    }

    /// Reads the inventory now (blocking: call from a blocking thread), in this process or
    /// through the helper. A helper that fails leaves the last inventory in place.
    pub fn refresh(&self) {
        let fresh = match &self.helper {
            None => self.read_here(),
            Some((helper, file)) => match read_through(helper, file) {
                Ok(inventory) => inventory,
                Err(e) => {
                    tracing::warn!(error = %e, "the privileged helper could not read the disks");
                    return;
                }
            },
        };
        let fresh = Arc::new(fresh);
        match self.current.write() {
            Ok(mut c) => *c = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        self.reads.send_modify(|n| *n += 1);
    }

    /// The inventory read in this process, with each disk's health.
    pub fn read_here(&self) -> Inventory {
        let text = std::fs::read_to_string(&self.sources.mountinfo).unwrap_or_default();
        let (mounts, skipped) = mountinfo::parse(&text);
        if skipped > 0 {
            tracing::warn!(lines = skipped, "mount table lines that could not be read");
        }
        let mut fresh = Inventory::read(&self.sources.sys, &DeviceFolder(self.sources.dev.clone()), &mounts);
        self.attach_health(&mut fresh);
        fresh
    }

    /// The helper's side of [`Disks::through_helper`]: the inventory read here (as root),
    /// written to `file` whole (a temporary file renamed over it) for the daemon to read.
    pub fn write_for_daemon(&self, file: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(&self.read_here()).map_err(std::io::Error::other)?;
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        hearth_platform::durable::write_atomic(file, &json, 0o644)
    }

    /// Each disk's health: read by smartctl when the disk is new or its reading is an hour old
    /// (one disk at a time, each under smartctl's time limit), else as last read. Disks gone are
    /// forgotten.
    fn attach_health(&self, inventory: &mut Inventory) {
        let Ok(mut cache) = self.health.lock() else { return };
        cache.retain(|(name, serial), _| inventory.disks.iter().any(|d| &d.name == name && &d.serial == serial));
        for disk in &mut inventory.disks {
            // SD cards and eMMC have no SMART.
            if disk.transport == Transport::Sd {
                continue;
            }
            let key = (disk.name.clone(), disk.serial.clone());
            let stale = cache.get(&key).is_none_or(|(at, _)| at.elapsed() >= HEALTH_EVERY);
            if stale {
                let report = smart::read(&self.sources.smartctl, &self.sources.dev.join(&disk.name), smart::TIME_LIMIT);
                cache.insert(key.clone(), (Instant::now(), report));
            }
            disk.health = cache.get(&key).map(|(_, r)| r.clone());
        }
    }

    /// Reads the inventory on a blocking thread and waits for it.
    pub async fn refresh_now(self: &Arc<Self>) {
        let disks = self.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || disks.refresh()).await {
            tracing::warn!(error = %e, "reading the disks failed");
        }
    }

    /// Counts of completed reads, to wait for the next one.
    pub fn reads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reads.subscribe()
    }
}

impl std::fmt::Debug for Disks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disks").field("sources", &self.sources).field("through_helper", &self.helper.is_some()).finish_non_exhaustive()
    }
}

/// Asks the helper to read the disks, then reads what it wrote.
fn read_through(helper: &Helper, file: &Path) -> std::io::Result<Inventory> {
    helper.ask(Request::DisksRead)?;
    let bytes = std::fs::read(file)?;
    serde_json::from_slice(&bytes).map_err(|e| std::io::Error::other(format!("{}: {e}", file.display())))
}

/// The service (`disks` on the status board).
pub struct DisksService(pub Arc<Disks>);

impl Service for DisksService {
    fn name(&self) -> &'static str {
        "disks"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            // The socket is read on a thread of its own; it says "something happened" here.
            let (events, mut happened) = tokio::sync::mpsc::channel::<()>(1);
            let listener = match UeventSocket::open(POLL) {
                Ok(socket) => Some(std::thread::Builder::new().name("uevents".into()).spawn(move || listen(&socket, &events))),
                Err(e) => {
                    // Without it (a container without netlink) the periodic reads still run.
                    tracing::warn!(error = %e, "no kernel uevents: disks plugged in are noticed within {} s", EVERY.as_secs());
                    None
                }
            };
            let listener = match listener.transpose() {
                Ok(l) => l,
                Err(e) => return Err(ServiceFailure::retryable(format!("cannot start the uevent thread: {e}"))),
            };
            self.0.refresh_now().await;
            ready.ready();
            let outcome = loop {
                tokio::select! {
                    _ = shutdown.wait() => break Ok(()),
                    _ = tokio::time::sleep(EVERY) => {}
                    got = happened.recv(), if listener.is_some() => {
                        if got.is_none() {
                            break Err(ServiceFailure::retryable("the kernel uevent socket failed (see the log)"));
                        }
                        // Let the partitions and the rest of a burst arrive, then read once.
                        tokio::select! {
                            _ = shutdown.wait() => break Ok(()),
                            _ = tokio::time::sleep(SETTLE) => {}
                        }
                        while happened.try_recv().is_ok() {}
                    }
                }
                self.0.refresh_now().await;
            };
            // The thread sees the channel closed within POLL and ends; wait for it.
            drop(happened);
            if let Some(thread) = listener {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            }
            outcome
        })
    }
}

/// How long a read of the socket waits before the thread checks whether it should stop.
const POLL: Duration = Duration::from_secs(1);

/// The uevent thread: a note on `events` for each block-device uevent (or lost burst), until the
/// service drops its end or the socket fails.
fn listen(socket: &UeventSocket, events: &tokio::sync::mpsc::Sender<()>) {
    let mut buf = vec![0u8; MESSAGE_MAX];
    while !events.is_closed() {
        let block = match socket.receive(&mut buf) {
            Ok(None) => false,
            Ok(Some(n)) => {
                uevent::parse(&buf[..n]).inspect(|e| tracing::debug!(name = %e.name, action = ?e.action, "block device uevent")).is_some()
            }
            // The kernel's queue overflowed: events were lost, which a full read covers.
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => true,
            Err(e) => {
                tracing::warn!(error = %e, "reading kernel uevents failed");
                return;
            }
        };
        // A full channel already holds a note that a read is due.
        if block && events.try_send(()).is_err() && events.is_closed() {
            return;
        }
    }
}
