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
use crate::data_home::{CardCopy, DataFileSystem, DataOn, DataStart};
use crate::eject::{self, EjectRefusal, EjectRequest, Ejected};
use crate::inventory::{DeviceFolder, Inventory};
use crate::pool::{self, MirrorRefusal, MirrorRequest, PoolStatus};
use crate::request_file;
use crate::smart::{self, SmartReport};
use crate::sysfs::Transport;
use crate::{mountinfo, uevent};

/// After a block uevent, how long more may arrive before the inventory is read again.
const SETTLE: Duration = Duration::from_millis(250);
/// How often the inventory is read anyway (mounts change without uevents).
const EVERY: Duration = Duration::from_secs(300);
/// How often while the data's pool converts.
const POOL_MOVING_EVERY: Duration = Duration::from_secs(10);

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

/// Whether a read of the disks asks smartctl about those whose health reading is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Only the readings kept (quick: a disk just plugged in shows without waiting for smartctl).
    Kept,
    /// Those due read afresh (a new disk, or a reading an hour old).
    Fresh,
}

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
    /// The data folder, when its pool is looked after here: scrubbed monthly, and the disks
    /// read often while the pool is converting (each read lets the helper tend it).
    pool_data: Option<PathBuf>,
    /// Held from writing a request's file to reading its outcome: two requests at once would
    /// otherwise overwrite each other's file before the helper reads it.
    asking: std::sync::Mutex<()>,
}

/// Why a request about a disk (give it the data, mirror the data on it, eject it, scrub) was not
/// done.
#[derive(Debug, thiserror::Error)]
pub enum DiskRequestError {
    /// No disk has the serial named.
    #[error("{0}")]
    NotFound(String),
    /// The disk, or the pool, may not be used so now.
    #[error("{0}")]
    Refused(String),
    /// Not on the appliance: only its privileged helper may change disks.
    #[error("changing disks is done by the appliance's privileged helper, which this hearthd does not have")]
    NoHelper,
    /// The helper tried and failed (the disk is left as the helper says; the data is untouched).
    #[error("{0}")]
    Failed(String),
}

impl From<Refusal> for DiskRequestError {
    fn from(r: Refusal) -> DiskRequestError {
        if r.is_not_found() { DiskRequestError::NotFound(r.to_string()) } else { DiskRequestError::Refused(r.to_string()) }
    }
}

impl From<MirrorRefusal> for DiskRequestError {
    fn from(r: MirrorRefusal) -> DiskRequestError {
        if r.is_not_found() { DiskRequestError::NotFound(r.to_string()) } else { DiskRequestError::Refused(r.to_string()) }
    }
}

impl From<EjectRefusal> for DiskRequestError {
    fn from(r: EjectRefusal) -> DiskRequestError {
        match r {
            EjectRefusal::NoSuchDisk(_) => DiskRequestError::NotFound(r.to_string()),
            EjectRefusal::Failed(why) => DiskRequestError::Failed(why),
            EjectRefusal::System(_) | EjectRefusal::Held { .. } => DiskRequestError::Refused(r.to_string()),
        }
    }
}

/// Where the helper leaves the outcome of an eject (who holds a disk is only root's to see).
pub const HELPER_EJECT_OUTCOME: &str = "/run/hearth/eject.json";
/// While the helper scrubs the pool, this file holds when it started.
pub const HELPER_SCRUBBING: &str = "/run/hearth/scrubbing";

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
            pool_data: None,
            asking: std::sync::Mutex::new(()),
        }
    }

    /// One request to the helper at a time, from its file to its outcome.
    fn one_at_a_time(&self) -> std::sync::MutexGuard<'_, ()> {
        self.asking.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Look after the data's pool (the data folder is `data`), when it is btrfs: scrub it every
    /// month, and read the disks every few seconds while it converts.
    pub fn looking_after_pool(self, data: PathBuf) -> Disks {
        Disks { pool_data: Some(data), ..self }
    }

    /// How long until the disks are read again: soon while the pool is converting or a long
    /// operation runs (so its end, and what the helper tends next, shows within seconds).
    fn next_read(&self) -> Duration {
        let moving = self
            .pool_data
            .as_deref()
            .and_then(|d| self.pool(d))
            .is_some_and(|p| p.state == pool::PoolState::Converting || p.operation.is_some());
        if moving { POOL_MOVING_EVERY } else { EVERY }
    }

    /// Start the monthly scrub when it is due (blocking): never in the first minutes after a
    /// start (the family is looking at the box then), nor while the pool is degraded, converting
    /// or busy.
    pub fn scrub_if_due(&self, running_for: Duration, now: i64) {
        const SETTLED: Duration = Duration::from_secs(600);
        let Some(data) = &self.pool_data else { return };
        if running_for < SETTLED || self.helper.is_none() || self.scrubbing() {
            return;
        }
        let Some(pool) = self.pool(data) else { return };
        let still = matches!(pool.state, pool::PoolState::Mirrored | pool::PoolState::Single) && pool.operation.is_none();
        if still && pool::scrub_due(pool.last_scrub.as_ref(), now) {
            tracing::info!("the data's pool is due its monthly scrub");
            if let Err(e) = self.scrub(data) {
                tracing::warn!(error = %e, "the monthly scrub could not start");
            }
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
    pub fn use_for_data(&self, data: &Path, request: &UseForData) -> Result<(), DiskRequestError> {
        if self.data_start().on == DataOn::Disk {
            return Err(Refusal::AlreadyMoved.into());
        }
        let (used, _) = data_disk::data_use(data).map_err(DiskRequestError::Failed)?;
        data_disk::check(&self.current(), request, used)?;
        let helper = self.helper()?;
        let _one = self.one_at_a_time();
        request_file::write(data, data_disk::REQUEST_FILE, request).map_err(DiskRequestError::Failed)?;
        helper.ask(Request::DisksUseForData).map_err(|e| DiskRequestError::Failed(format!("preparing the disk failed: {e}")))
    }

    fn helper(&self) -> Result<&Helper, DiskRequestError> {
        self.helper.as_ref().map(|(h, _)| h.as_ref()).ok_or(DiskRequestError::NoHelper)
    }

    /// The data's btrfs pool, when the data lives on a btrfs disk and it is mounted, with its
    /// last scrub (kept under `data`).
    pub fn pool(&self, data: &Path) -> Option<PoolStatus> {
        let start = self.data_start();
        let uuid = start.uuid.filter(|_| start.on == DataOn::Disk && start.file_system == Some(DataFileSystem::Btrfs))?;
        let mut status = pool::read(&self.sources.sys, &uuid, &self.current())?;
        status.last_scrub = pool::read_scrubs(data).pop();
        Some(status)
    }

    /// Add a second disk to the data's pool, or put one in the place of a missing one (blocking:
    /// call from a blocking thread). Checked here, then again by the privileged helper, which
    /// partitions the disk and leaves the copying to the kernel; [`Disks::pool`] shows how far.
    pub fn change_mirror(&self, data: &Path, request: &MirrorRequest) -> Result<(), DiskRequestError> {
        let pool = self.pool(data);
        if pool.is_none() && self.data_start().file_system != Some(DataFileSystem::Btrfs) {
            return Err(MirrorRefusal::NotBtrfs.into());
        }
        let (used, _) = data_disk::data_use(data).map_err(DiskRequestError::Failed)?;
        pool::check(&self.current(), pool.as_ref(), request, used)?;
        let helper = self.helper()?;
        let _one = self.one_at_a_time();
        request_file::write(data, pool::MIRROR_REQUEST, request).map_err(DiskRequestError::Failed)?;
        helper.ask(Request::DisksMirror).map_err(|e| DiskRequestError::Failed(format!("changing the mirror failed: {e}")))
    }

    /// Eject the disk `request` names (blocking): its file systems unmounted, a SCSI disk
    /// detached. The disk holding the system or the data is refused; one held open is refused
    /// with the programs holding it.
    pub fn eject(&self, data: &Path, request: &EjectRequest) -> Result<Ejected, DiskRequestError> {
        let inventory = self.current();
        let disk = inventory.by_serial(&request.serial).ok_or_else(|| EjectRefusal::NoSuchDisk(request.serial.clone()))?;
        if disk.system {
            return Err(EjectRefusal::System(format!("/dev/{}", disk.name)).into());
        }
        let helper = self.helper()?;
        let _one = self.one_at_a_time();
        request_file::write(data, eject::EJECT_REQUEST, request).map_err(DiskRequestError::Failed)?;
        let outcome = Path::new(HELPER_EJECT_OUTCOME);
        let _ = std::fs::remove_file(outcome);
        helper.ask(Request::DisksEject).map_err(|e| DiskRequestError::Failed(format!("ejecting failed: {e}")))?;
        let bytes = std::fs::read(outcome).map_err(|e| DiskRequestError::Failed(format!("{}: {e}", outcome.display())))?;
        let said: Result<Ejected, EjectRefusal> =
            serde_json::from_slice(&bytes).map_err(|e| DiskRequestError::Failed(format!("{}: {e}", outcome.display())))?;
        Ok(said?)
    }

    /// Scrub the data's pool now, in the helper's background (blocking: asks the helper).
    pub fn scrub(&self, data: &Path) -> Result<(), DiskRequestError> {
        if self.pool(data).is_none() {
            return Err(MirrorRefusal::NotBtrfs.into());
        }
        if self.scrubbing() {
            return Err(DiskRequestError::Refused("a scrub is running already".into()));
        }
        self.helper()?.ask(Request::DisksScrub).map_err(|e| DiskRequestError::Failed(format!("the scrub could not start: {e}")))
    }

    /// Empty the card's copy of the data, now that the box runs from a disk (blocking: asks the
    /// helper). Done already, it does nothing.
    pub fn free_card_copy(&self) -> Result<(), DiskRequestError> {
        let start = self.data_start();
        match (start.on, start.card_copy) {
            (DataOn::Disk, Some(CardCopy::Freed)) => return Ok(()),
            (DataOn::Disk, Some(CardCopy::Kept)) => {}
            (DataOn::Disk, None) => {
                return Err(DiskRequestError::Refused("this start did not record the card's copy: restart the box".into()));
            }
            (DataOn::Card, _) => {
                return Err(DiskRequestError::Refused("the data does not live on a disk: what the card holds is the data".into()));
            }
        }
        self.helper()?
            .ask(Request::DisksFreeCardCopy)
            .map_err(|e| DiskRequestError::Failed(format!("the card's copy could not be freed: {e}")))?;
        self.set_data_start(DataStart { card_copy: Some(CardCopy::Freed), ..start });
        Ok(())
    }

    /// Whether the helper is scrubbing the pool now.
    pub fn scrubbing(&self) -> bool {
        self.helper.is_some() && Path::new(HELPER_SCRUBBING).exists()
    }

    /// Reads the inventory now (blocking: call from a blocking thread), in this process or
    /// through the helper: first with the health readings kept (so a disk just plugged in shows
    /// at once), then again with those due read by smartctl (a second or more on a USB bridge).
    /// A helper that fails leaves the last inventory in place.
    pub fn refresh(&self) {
        for health in [Health::Kept, Health::Fresh] {
            let fresh = match &self.helper {
                None => self.read_here(health),
                Some((helper, file)) => match read_through(helper, file, health) {
                    Ok(inventory) => inventory,
                    Err(e) => {
                        tracing::warn!(error = %e, "the privileged helper could not read the disks");
                        return;
                    }
                },
            };
            // Read here, the readings kept tell whether any is due; the helper keeps its own.
            let nothing_due = self.helper.is_none() && !self.health_due(&fresh);
            let fresh = Arc::new(fresh);
            match self.current.write() {
                Ok(mut c) => *c = fresh,
                Err(poisoned) => *poisoned.into_inner() = fresh,
            }
            self.reads.send_modify(|n| *n += 1);
            if nothing_due {
                return;
            }
        }
    }

    /// The inventory read in this process, with each disk's health as `health` says.
    pub fn read_here(&self, health: Health) -> Inventory {
        let text = std::fs::read_to_string(&self.sources.mountinfo).unwrap_or_default();
        let (mounts, skipped) = mountinfo::parse(&text);
        if skipped > 0 {
            tracing::warn!(lines = skipped, "mount table lines that could not be read");
        }
        let mut fresh = Inventory::read(&self.sources.sys, &DeviceFolder(self.sources.dev.clone()), &mounts);
        self.attach_health(&mut fresh, health);
        fresh
    }

    /// The helper's side of [`Disks::through_helper`]: the inventory read here (as root),
    /// written to `file` whole (a temporary file renamed over it) for the daemon to read, and
    /// returned.
    pub fn write_for_daemon(&self, file: &Path, health: Health) -> std::io::Result<Inventory> {
        let inventory = self.read_here(health);
        let json = serde_json::to_vec(&inventory).map_err(std::io::Error::other)?;
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        hearth_platform::durable::write_atomic(file, &json, 0o644)?;
        Ok(inventory)
    }

    /// Whether a disk of `inventory` has no health reading, or one an hour old.
    fn health_due(&self, inventory: &Inventory) -> bool {
        let Ok(cache) = self.health.lock() else { return false };
        inventory
            .disks
            .iter()
            .filter(|d| d.transport != Transport::Sd)
            .any(|d| cache.get(&(d.name.clone(), d.serial.clone())).is_none_or(|(at, _)| at.elapsed() >= HEALTH_EVERY))
    }

    /// Each disk's health: read by smartctl when the disk is new or its reading is an hour old
    /// (one disk at a time, each under smartctl's time limit), else as last read. Disks gone are
    /// forgotten.
    fn attach_health(&self, inventory: &mut Inventory, health: Health) {
        let Ok(mut cache) = self.health.lock() else { return };
        cache.retain(|(name, serial), _| inventory.disks.iter().any(|d| &d.name == name && &d.serial == serial));
        for disk in &mut inventory.disks {
            // SD cards and eMMC have no SMART.
            if disk.transport == Transport::Sd {
                continue;
            }
            let key = (disk.name.clone(), disk.serial.clone());
            let stale = cache.get(&key).is_none_or(|(at, _)| at.elapsed() >= HEALTH_EVERY);
            if stale && health == Health::Fresh {
                let device = self.sources.dev.join(&disk.name);
                let report = smart::read(&self.sources.smartctl, &device, smart::TIME_LIMIT);
                // Weekly, the disk tests itself (as root: the helper's reading); the result is in
                // its log at the next reading.
                if report.self_test_due() {
                    match smart::start_short_test(&self.sources.smartctl, &device) {
                        Ok(()) => tracing::info!(disk = %disk.name, "the disk's short self-test started"),
                        Err(e) => tracing::warn!(disk = %disk.name, error = %e, "the disk's short self-test could not start"),
                    }
                }
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
fn read_through(helper: &Helper, file: &Path, health: Health) -> std::io::Result<Inventory> {
    helper.ask(match health {
        Health::Kept => Request::DisksRead,
        Health::Fresh => Request::DisksReadHealth,
    })?;
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
            let started = Instant::now();
            let disks = self.0.clone();
            let mut wait = tokio::task::spawn_blocking(move || disks.next_read()).await.unwrap_or(EVERY);
            let outcome = loop {
                tokio::select! {
                    _ = shutdown.wait() => break Ok(()),
                    _ = tokio::time::sleep(wait) => {}
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
                let disks = self.0.clone();
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
                // The pool's files are read off the async threads.
                let looked = tokio::task::spawn_blocking(move || {
                    disks.scrub_if_due(started.elapsed(), now);
                    disks.next_read()
                });
                wait = looked.await.unwrap_or(EVERY);
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
