//! Running an install in the background: one at a time, cancellable, its record written as it
//! goes to a JSON file that whoever shows progress reads. On the appliance this runs in the
//! privileged helper (root writes the slots) and the daemon reads the record; elsewhere (a folder
//! standing in for a box) it runs in the daemon itself.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::channel::{Client, Offer};
use crate::error::{OtaError, Result};
use crate::install::{self, Progress};
use crate::layout::Layout;
use crate::version::Version;

/// Where an install comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A bundle file on the box (an upload).
    File(PathBuf),
    /// An offer of an update channel.
    Channel(Offer),
    /// A bundle at a web address.
    Url(url::Url),
}

/// How an install stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallState {
    /// Going on.
    Running,
    /// Written and read back: the next boot tries it.
    Ready,
    /// The bundle or channel was refused (the reason says why).
    Refused,
    /// Something failed on the way.
    Failed,
    /// Stopped on request.
    Cancelled,
}

/// An install's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRecord {
    /// How it stands.
    pub state: InstallState,
    /// "upload" or the bundle's address.
    pub source: String,
    /// The version, once known.
    pub version: Option<Version>,
    /// Where it is.
    pub progress: Option<Progress>,
    /// Why it was refused or failed.
    pub reason: Option<String>,
    /// What to do about it, when there is something.
    pub guidance: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds, once over.
    pub finished_at: Option<i64>,
    /// Bytes downloaded, and the whole bundle's length (once known).
    pub fetched: u64,
    /// The whole bundle's length, once known.
    pub bundle_len: u64,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Read an install record (absent or unreadable: none).
pub fn read_record(path: &Path) -> Option<InstallRecord> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_record(path: &Path, record: &InstallRecord) {
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    if let Err(e) = hearth_platform::durable::write_atomic(path, &bytes, 0o644) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the install's record");
    }
}

/// Run one install to its end, writing its record to `record_path` (at most twice a second while
/// it runs, and at the end).
pub fn run(layout: &Layout, source: &Source, client: &Client, record_path: &Path, cancel: &AtomicBool) -> InstallRecord {
    let record = starting(source);
    write_record(record_path, &record);
    run_from(record, layout, source, client, record_path, cancel)
}

fn starting(source: &Source) -> InstallRecord {
    InstallRecord {
        state: InstallState::Running,
        source: match source {
            Source::File(_) => "upload".into(),
            Source::Channel(o) => o.bundle.to_string(),
            Source::Url(u) => u.to_string(),
        },
        version: match source {
            Source::Channel(o) => Some(o.version.clone()),
            Source::File(_) | Source::Url(_) => None,
        },
        progress: None,
        reason: None,
        guidance: None,
        started_at: now(),
        finished_at: None,
        fetched: 0,
        bundle_len: 0,
    }
}

fn run_from(
    mut record: InstallRecord,
    layout: &Layout,
    source: &Source,
    client: &Client,
    record_path: &Path,
    cancel: &AtomicBool,
) -> InstallRecord {
    let mut last_write = Instant::now();
    let mut report = |p: &Progress| {
        let phase_changed = record.progress.as_ref().map(|q| q.phase) != Some(p.phase);
        record.progress = Some(p.clone());
        if p.version.is_some() {
            record.version.clone_from(&p.version);
        }
        record.fetched = p.fetched;
        if phase_changed || last_write.elapsed() >= Duration::from_millis(500) {
            write_record(record_path, &record);
            last_write = Instant::now();
        }
    };
    let outcome = match source {
        Source::File(path) => install::from_file(layout, path, cancel, &mut report),
        Source::Channel(offer) => install::from_channel(layout, client, offer, cancel, &mut report),
        Source::Url(url) => install::from_url(layout, client, url, None, cancel, &mut report),
    };
    record.finished_at = Some(now());
    match outcome {
        Ok(done) => {
            record.state = InstallState::Ready;
            record.version = Some(done.version);
            record.fetched = done.fetched;
            record.bundle_len = done.bundle_len;
        }
        Err(e) => {
            use hearth_core::Kinded;
            record.state = match &e {
                OtaError::Cancelled => InstallState::Cancelled,
                e if e.is_refusal() => InstallState::Refused,
                _ => InstallState::Failed,
            };
            record.reason = Some(e.to_string());
            record.guidance = e.guidance();
            tracing::warn!(error = %e, "the update was not installed");
        }
    }
    // An uploaded bundle is spent either way: installed, or refused and useless.
    if let Source::File(path) = source
        && let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove the uploaded bundle");
    }
    write_record(record_path, &record);
    record
}

/// At the start of whoever runs installs: a record still "running" belongs to an install that a
/// restart cut off (its slot holds no version, so it never boots); say so.
pub fn close_interrupted(record_path: &Path) {
    if let Some(mut r) = read_record(record_path)
        && r.state == InstallState::Running
    {
        r.state = InstallState::Failed;
        r.reason = Some("the install was cut off by a restart of Hearth; start it again".into());
        r.finished_at = Some(now());
        write_record(record_path, &r);
    }
}

/// One install at a time, in a thread of this process.
#[derive(Debug, Default)]
pub struct Runner {
    current: Mutex<Option<(std::thread::JoinHandle<()>, Arc<AtomicBool>)>>,
}

impl Runner {
    /// Start installing from `source`; [`OtaError::Busy`] while another install runs.
    pub fn start(&self, layout: Layout, source: Source, client: Client, record_path: PathBuf) -> Result<()> {
        let mut current = self.current.lock().map_err(|_| OtaError::Busy("the installer is broken (poisoned lock)".into()))?;
        if current.as_ref().is_some_and(|(h, _)| !h.is_finished()) {
            return Err(OtaError::Busy("an update is being installed already".into()));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        // The record says "running" before this returns, so whoever asked sees it at once.
        let record = starting(&source);
        write_record(&record_path, &record);
        let handle = std::thread::Builder::new()
            .name("update-install".into())
            .spawn(move || {
                run_from(record, &layout, &source, &client, &record_path, &flag);
            })
            .map_err(OtaError::io("starting the installer"))?;
        *current = Some((handle, cancel));
        Ok(())
    }

    /// Ask the running install to stop (it stops at the next chunk). Whether one was running.
    pub fn cancel(&self) -> bool {
        match self.current.lock() {
            Ok(current) => match current.as_ref() {
                Some((h, flag)) if !h.is_finished() => {
                    flag.store(true, Ordering::Relaxed);
                    true
                }
                _ => false,
            },
            Err(_) => false,
        }
    }

    /// Whether an install is running.
    pub fn busy(&self) -> bool {
        self.current.lock().map(|c| c.as_ref().is_some_and(|(h, _)| !h.is_finished())).unwrap_or(false)
    }
}
