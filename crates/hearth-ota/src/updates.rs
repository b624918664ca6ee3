//! The box's updates as the daemon sees them (docs/updates.md): what runs and what the other
//! slot holds, the install going on, the channel and its offer, the history of installs, trials,
//! commits and rollbacks. The routes and the CLI are thin over this; the health gate (in hearthd,
//! which sees the services) calls [`Updates::commit`] and [`Updates::note`].
//!
//! Changes to the slots go through a [`Control`]: on the appliance the privileged helper (root
//! writes the slots and the boot state; the daemon only asks), elsewhere this process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hearth_platform::privileged_helper::{Helper, Request};
use serde::{Deserialize, Serialize};

use crate::boot_state::SlotName;
use crate::channel::{self, Client, Offer};
use crate::error::{OtaError, Result};
use crate::install::{self, Commit};
use crate::layout::Layout;
use crate::runner::{self, InstallRecord, InstallState, Runner, Source};
use crate::version::Version;

/// The file an uploaded bundle is kept in until it is installed (under the update folder).
pub const UPLOAD: &str = "upload.hup";
/// The offer the helper installs from (under the update folder).
pub const OFFER: &str = "offer.json";
/// The history of updates (under the update folder).
pub const HISTORY: &str = "history.json";
/// Why the last trial failed (under the update folder), read after a rollback.
pub const TRIAL: &str = "trial.json";
/// The channel the family chose (under the update folder).
pub const CHANNEL: &str = "channel.txt";
/// Events kept.
const HISTORY_LEN: usize = 20;

/// How the slots are changed.
#[derive(Debug)]
pub enum Control {
    /// Through the privileged helper (the appliance).
    Helper(Arc<Helper>),
    /// In this process (a folder standing in for a box).
    InProcess(Runner),
}

/// Something that happened to the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A system was written to the other slot.
    Installed,
    /// A bundle or channel was refused.
    Refused,
    /// An install failed.
    Failed,
    /// An install was cancelled.
    Cancelled,
    /// A system on trial passed its health gate.
    Committed,
    /// A system on trial failed its health gate (the box restarts; three tries).
    GateFailed,
    /// The bootloader went back after three tries.
    RolledBack,
    /// The family went back to the previous version.
    WentBack,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unix seconds.
    pub at: i64,
    /// What.
    pub kind: EventKind,
    /// The version concerned.
    pub version: Option<String>,
    /// Why, when it went wrong.
    pub reason: Option<String>,
}

/// Why the last trial failed, kept on the data disk for the system that comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialNotes {
    /// The version on trial.
    pub version: String,
    /// The reasons, one per failed try.
    pub reasons: Vec<String>,
}

/// A slot as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotView {
    /// a or b.
    pub slot: SlotName,
    /// Its version, when known.
    pub version: Option<String>,
}

/// The channel as shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelView {
    /// Its index's address.
    pub url: Option<String>,
    /// When it was last looked at (Unix seconds).
    pub checked_at: Option<i64>,
    /// A newer system for this board, when there is one.
    pub offer: Option<OfferView>,
    /// Why the last look failed.
    pub error: Option<String>,
}

/// An offer as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferView {
    /// Its version.
    pub version: String,
    /// Release notes.
    pub notes: String,
    /// The whole bundle's length, when the index says.
    pub size: Option<u64>,
}

/// Everything the Updates page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Whether this box can update itself (it runs from a card with two slots).
    pub available: bool,
    /// The board.
    pub board: String,
    /// What runs.
    pub running: Option<SlotView>,
    /// What the other slot holds.
    pub other: Option<SlotView>,
    /// The slot the next boot starts.
    pub next_boot: Option<SlotName>,
    /// The running system is on trial (it commits itself once healthy).
    pub on_trial: bool,
    /// Boots of the slot on trial so far.
    pub tries: u8,
    /// Whether "go back to the previous version" is possible now.
    pub can_go_back: bool,
    /// The install going on, or the last one since the daemon started.
    pub install: Option<InstallRecord>,
    /// The newest event.
    pub last: Option<Event>,
    /// Events, newest first.
    pub history: Vec<Event>,
    /// The channel.
    pub channel: ChannelView,
}

#[derive(Serialize, Deserialize)]
struct OfferFile {
    bundle: String,
    /// Absent: a bundle at an address, not a channel's offer.
    version: Option<Version>,
    boards: Vec<String>,
    size: Option<u64>,
    notes: String,
}

/// The daemon's side of updates.
#[derive(Debug)]
pub struct Updates {
    layout: Option<Layout>,
    control: Control,
    dir: PathBuf,
    record_path: PathBuf,
    default_channel: Option<String>,
    client: Client,
    channel: Mutex<(ChannelView, Option<Offer>)>,
    /// Held while an upload is put in place and its install started.
    placing: Mutex<()>,
    /// Held while the history is read and written (several requests may note at once).
    history_lock: Mutex<()>,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Updates {
    /// Updates of the box laid out as `layout` (none: this machine has no slots), its records
    /// in `dir` (DATA/system/update), the install record at `record_path`.
    pub fn new(layout: Option<Layout>, control: Control, dir: PathBuf, record_path: PathBuf, default_channel: Option<String>) -> Updates {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot make the update folder");
        }
        if matches!(control, Control::InProcess(_)) {
            runner::close_interrupted(&record_path);
        }
        // Uploads a restart cut off: nothing names them any more.
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".upload-") && name.ends_with(".part") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let updates = Updates {
            layout,
            control,
            dir,
            record_path,
            default_channel,
            client: Client::new(),
            channel: Mutex::new((ChannelView::default(), None)),
            placing: Mutex::new(()),
            history_lock: Mutex::new(()),
        };
        updates.note_rollback();
        updates
    }

    /// The layout, when this box has slots.
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// The folder of the update records.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where an upload is kept until it is installed.
    pub fn upload_path(&self) -> PathBuf {
        self.dir.join(UPLOAD)
    }

    fn need_layout(&self) -> Result<&Layout> {
        self.layout
            .as_ref()
            .ok_or_else(|| OtaError::Busy("this Hearth does not run from a card with two system slots: it cannot update itself".into()))
    }

    /// Whether the running system is on trial.
    pub fn on_trial(&self) -> bool {
        self.layout.as_ref().is_some_and(Layout::running_on_trial)
    }

    /// The history, newest first.
    pub fn history(&self) -> Vec<Event> {
        std::fs::read(self.dir.join(HISTORY)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Add an event to the history.
    pub fn note(&self, kind: EventKind, version: Option<String>, reason: Option<String>) {
        let _one = self.history_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.note_locked(kind, version, reason);
    }

    fn note_locked(&self, kind: EventKind, version: Option<String>, reason: Option<String>) {
        let mut h = self.history();
        h.insert(0, Event { at: now(), kind, version, reason });
        h.truncate(HISTORY_LEN);
        if let Err(e) = hearth_platform::durable::write_atomic(&self.dir.join(HISTORY), &serde_json::to_vec(&h).unwrap_or_default(), 0o600)
        {
            tracing::warn!(error = %e, "cannot write the update history");
        }
    }

    /// Remember why this trial failed, for the system that comes back.
    pub fn note_trial_failure(&self, version: &str, reason: &str) {
        let path = self.dir.join(TRIAL);
        let mut notes: TrialNotes = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|n: &TrialNotes| n.version == version)
            .unwrap_or(TrialNotes { version: version.to_string(), reasons: Vec::new() });
        notes.reasons.push(reason.to_string());
        if let Err(e) = hearth_platform::durable::write_atomic(&path, &serde_json::to_vec(&notes).unwrap_or_default(), 0o600) {
            tracing::warn!(error = %e, "cannot write why the trial failed");
        }
        self.note(EventKind::GateFailed, Some(version.to_string()), Some(reason.to_string()));
    }

    /// After the bootloader went back: say so once, with the reasons the trial left.
    fn note_rollback(&self) {
        let Some(layout) = &self.layout else { return };
        let state = layout.boot.read().state;
        let Some(gave_up) = state.rollback else { return };
        if gave_up == layout.running {
            return;
        }
        let version = state.version(gave_up).map(ToString::to_string);
        // Said once per install of that version: a rollback noted since its last install counts.
        let history = self.history();
        let since_install = history.iter().take_while(|e| !(e.kind == EventKind::Installed && e.version == version));
        if since_install.into_iter().any(|e| e.kind == EventKind::RolledBack && e.version == version) {
            return;
        }
        let notes: Option<TrialNotes> = std::fs::read(self.dir.join(TRIAL)).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let reason = match notes {
            Some(n) if Some(&n.version) == version.as_ref() && !n.reasons.is_empty() => {
                format!("it was not healthy in {} tries: {}", n.reasons.len(), n.reasons.last().cloned().unwrap_or_default())
            }
            _ => "it did not start (three tries)".to_string(),
        };
        tracing::warn!(version = ?version, %reason, "the update was rolled back");
        self.note(EventKind::RolledBack, version, Some(reason));
    }

    /// The install record, and a finished install noted in the history once.
    fn install_record(&self) -> Option<InstallRecord> {
        let record = runner::read_record(&self.record_path)?;
        if record.state != InstallState::Running {
            let kind = match record.state {
                InstallState::Ready => EventKind::Installed,
                InstallState::Refused => EventKind::Refused,
                InstallState::Cancelled => EventKind::Cancelled,
                _ => EventKind::Failed,
            };
            let version = record.version.as_ref().map(ToString::to_string);
            let seen =
                self.history().iter().any(|e| record.finished_at.is_some_and(|f| e.at >= f) && e.kind == kind && e.version == version);
            if !seen {
                self.note(kind, version, record.reason.clone());
            }
        }
        Some(record)
    }

    /// Everything the Updates page shows.
    pub fn status(&self) -> Status {
        let install = self.install_record();
        // The history and the boot state read together: a commit changes both under this lock,
        // so the page never shows a committed system whose commit is not yet in its history.
        let together = self.history_lock.lock().unwrap_or_else(|p| p.into_inner());
        let history = self.history();
        let boot_state = self.layout.as_ref().map(|layout| layout.boot.read().state);
        drop(together);
        let channel = self.channel.lock().map(|c| c.0.clone()).unwrap_or_default();
        let channel = ChannelView { url: self.channel_url(), ..channel };
        let (Some(layout), Some(state)) = (&self.layout, boot_state) else {
            return Status {
                available: false,
                board: String::new(),
                running: None,
                other: None,
                next_boot: None,
                on_trial: false,
                tries: 0,
                can_go_back: false,
                install,
                last: history.first().cloned(),
                history,
                channel,
            };
        };
        let other = layout.running.other();
        let on_trial = state.is_on_trial(layout.running);
        Status {
            available: true,
            board: layout.board.clone(),
            running: Some(SlotView { slot: layout.running, version: Some(layout.running_version.to_string()) }),
            other: Some(SlotView { slot: other, version: state.version(other).map(ToString::to_string) }),
            next_boot: Some(state.next_boot()),
            on_trial,
            tries: if on_trial { state.tries } else { 0 },
            can_go_back: !on_trial && state.good == layout.running && state.version(other).is_some() && state.trial.is_none(),
            install,
            last: history.first().cloned(),
            history,
            channel,
        }
    }

    /// The channel's address: the family's choice, else the configured one.
    pub fn channel_url(&self) -> Option<String> {
        match std::fs::read_to_string(self.dir.join(CHANNEL)) {
            Ok(s) if s.trim().is_empty() => None,
            Ok(s) => Some(s.trim().to_string()),
            Err(_) => self.default_channel.clone(),
        }
    }

    /// Set the channel ("" for none).
    pub fn set_channel(&self, url: &str) -> Result<()> {
        let url = url.trim();
        if !url.is_empty() {
            channel::channel_url(url)?;
        }
        hearth_platform::durable::write_atomic(&self.dir.join(CHANNEL), url.as_bytes(), 0o600)
            .map_err(OtaError::io("saving the channel"))?;
        if let Ok(mut c) = self.channel.lock() {
            *c = (ChannelView::default(), None);
        }
        Ok(())
    }

    /// Look at the channel now: the newest offer for this board newer than what runs.
    pub fn check(&self) -> Result<Option<OfferView>> {
        let layout = self.need_layout()?;
        let url = self.channel_url().ok_or_else(|| OtaError::Channel("no update channel is set".into()))?;
        let result = channel::channel_url(&url).and_then(|u| self.client.index(&u));
        let mut c = self.channel.lock().map_err(|_| OtaError::Busy("the channel state is broken (poisoned lock)".into()))?;
        c.0.checked_at = Some(now());
        match result {
            Ok(offers) => {
                let offer = channel::newest_for(&offers, &layout.board, &layout.running_version).cloned();
                c.0.error = None;
                c.0.offer = offer.as_ref().map(|o| OfferView { version: o.version.to_string(), notes: o.notes.clone(), size: o.size });
                c.1 = offer;
                Ok(c.0.offer.clone())
            }
            Err(e) => {
                c.0.error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Whether an install is going on.
    pub fn installing(&self) -> bool {
        match &self.control {
            Control::InProcess(r) => r.busy(),
            Control::Helper(_) => runner::read_record(&self.record_path).is_some_and(|r| r.state == InstallState::Running),
        }
    }

    /// Put a received bundle (`received`, a file in [`Updates::dir`]) in place and install it.
    /// [`OtaError::Busy`] while another install goes on (the received file is removed then).
    pub fn install_received(&self, received: &Path) -> Result<()> {
        let result = (|| {
            self.need_layout()?;
            let _placing = self.placing.lock().map_err(|_| OtaError::Busy("the installer is broken (poisoned lock)".into()))?;
            if self.installing() {
                return Err(OtaError::Busy("an update is being installed already".into()));
            }
            // Not installing: an upload left from an install a restart cut off is spent.
            let upload = self.upload_path();
            let _ = std::fs::remove_file(&upload);
            hearth_platform::durable::rename_noreplace(received, &upload).map_err(OtaError::io("placing the upload"))?;
            self.install_upload()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(received);
        }
        result
    }

    /// Install the bundle uploaded to [`Updates::upload_path`].
    pub fn install_upload(&self) -> Result<()> {
        let layout = self.need_layout()?;
        match &self.control {
            Control::Helper(h) => h.ask(Request::UpdateInstallUpload).map_err(|e| OtaError::Busy(e.to_string())),
            Control::InProcess(r) => {
                r.start(layout.clone(), Source::File(self.upload_path()), self.client.clone(), self.record_path.clone())
            }
        }
    }

    /// Install the channel's offer (looking at the channel first when it was not yet).
    pub fn install_offer(&self) -> Result<String> {
        let layout = self.need_layout()?;
        let cached = self.channel.lock().ok().and_then(|c| c.1.clone());
        let offer = match cached {
            Some(o) => o,
            None => {
                self.check()?;
                self.channel
                    .lock()
                    .ok()
                    .and_then(|c| c.1.clone())
                    .ok_or_else(|| OtaError::Channel("the channel offers nothing newer".into()))?
            }
        };
        let version = offer.version.to_string();
        match &self.control {
            Control::Helper(h) => {
                let file = OfferFile {
                    bundle: offer.bundle.to_string(),
                    version: Some(offer.version.clone()),
                    boards: offer.boards.clone(),
                    size: offer.size,
                    notes: offer.notes.clone(),
                };
                hearth_platform::durable::write_atomic(&self.dir.join(OFFER), &serde_json::to_vec(&file).unwrap_or_default(), 0o644)
                    .map_err(OtaError::io("saving the offer"))?;
                h.ask(Request::UpdateInstallChannel).map_err(|e| OtaError::Busy(e.to_string()))?;
            }
            Control::InProcess(r) => r.start(layout.clone(), Source::Channel(offer), self.client.clone(), self.record_path.clone())?,
        }
        Ok(version)
    }

    /// Install the bundle at `url` (an http(s) address of a `.hup`), downloading only what the
    /// running slot lacks.
    pub fn install_url(&self, url: &str) -> Result<()> {
        let layout = self.need_layout()?;
        let url = channel::channel_url(url)?;
        match &self.control {
            Control::Helper(h) => {
                let file = OfferFile { bundle: url.to_string(), version: None, boards: Vec::new(), size: None, notes: String::new() };
                hearth_platform::durable::write_atomic(&self.dir.join(OFFER), &serde_json::to_vec(&file).unwrap_or_default(), 0o644)
                    .map_err(OtaError::io("saving the address"))?;
                h.ask(Request::UpdateInstallChannel).map_err(|e| OtaError::Busy(e.to_string()))
            }
            Control::InProcess(r) => r.start(layout.clone(), Source::Url(url), self.client.clone(), self.record_path.clone()),
        }
    }

    /// Stop the install going on.
    pub fn cancel(&self) -> Result<()> {
        match &self.control {
            Control::Helper(h) => h.ask(Request::UpdateCancel).map_err(|e| OtaError::Busy(e.to_string())),
            Control::InProcess(r) => {
                r.cancel();
                Ok(())
            }
        }
    }

    /// The running trial system passed its gate: commit it.
    pub fn commit(&self) -> Result<Commit> {
        let layout = self.need_layout()?;
        if self.installing() {
            return Err(OtaError::Busy("an update is being installed".into()));
        }
        let was_trial = self.on_trial();
        // Held from the boot state's change to the history's line (see `status`).
        let _together = self.history_lock.lock().unwrap_or_else(|p| p.into_inner());
        match &self.control {
            Control::Helper(h) => h.ask(Request::UpdateCommit).map_err(|e| OtaError::BootState(e.to_string()))?,
            Control::InProcess(_) => {
                install::commit(layout)?;
            }
        }
        let _ = std::fs::remove_file(self.dir.join(TRIAL));
        if was_trial {
            self.note_locked(EventKind::Committed, Some(layout.running_version.to_string()), None);
            Ok(Commit::Committed(layout.running))
        } else {
            Ok(Commit::AlreadyGood)
        }
    }

    /// Put the previous system on trial for the next boot (the caller restarts the box).
    pub fn go_back(&self) -> Result<String> {
        let layout = self.need_layout()?;
        // The other slot may be half written: it must not be put on trial under the installer.
        if self.installing() {
            return Err(OtaError::Busy("an update is being installed into the other slot; cancel it first".into()));
        }
        let state = layout.boot.read().state;
        let version = state.version(layout.running.other()).map(ToString::to_string);
        match &self.control {
            Control::Helper(h) => h.ask(Request::UpdateGoBack).map_err(|e| OtaError::Busy(e.to_string()))?,
            Control::InProcess(_) => {
                install::go_back(layout)?;
            }
        }
        let version = version.unwrap_or_default();
        self.note(EventKind::WentBack, Some(version.clone()), None);
        Ok(version)
    }
}

/// Read what the daemon asked to install from the network (the helper's side; the file is the
/// daemon's, so it is checked like any outside input): a channel's offer, or a bundle's address.
pub fn read_offer(dir: &Path) -> Result<Source> {
    let bytes = std::fs::read(dir.join(OFFER)).map_err(OtaError::io("reading the offer"))?;
    let f: OfferFile = serde_json::from_slice(&bytes).map_err(|e| OtaError::Channel(format!("the offer: {e}")))?;
    let bundle = channel::channel_url(&f.bundle)?;
    Ok(match f.version {
        Some(version) => Source::Channel(Offer { bundle, version, boards: f.boards, size: f.size, notes: f.notes }),
        None => Source::Url(bundle),
    })
}
