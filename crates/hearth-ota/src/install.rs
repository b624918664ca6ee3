//! An install from start to end (docs/updates.md): the bundle's start checked (signature, board,
//! versions, size) before the slot is touched; the slot marked as being written; the image
//! written front to back and read back from the card; only then the slot put on trial. A power
//! cut at any point before that last write leaves the box booting its running system, which never
//! changes. Also the two other changes of the boot state: a trial system committing itself, and
//! going back to the previous version.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::boot_state::SlotName;
use crate::bundle::{head, payload};
use crate::channel::{Client, DeltaSource, LocalChunks, Offer};
use crate::error::{OtaError, Result};
use crate::layout::Layout;
use crate::manifest::StoreEntry;
use crate::slot::{self, ChunkSource};
use crate::version::Version;

/// Where an install is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading and checking the bundle's start.
    Checking,
    /// Cutting the running slot into chunks, to fetch only what it lacks.
    Comparing,
    /// Writing the other slot.
    Writing,
    /// Reading the written slot back.
    Verifying,
    /// Setting the boot state.
    Switching,
    /// Written: the next boot tries it.
    Ready,
}

/// Progress of an install.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The phase.
    pub phase: Phase,
    /// Bytes done in this phase.
    pub done: u64,
    /// Bytes in this phase.
    pub total: u64,
    /// The version being installed, once known.
    pub version: Option<Version>,
    /// Bundle bytes downloaded so far (channel installs).
    pub fetched: u64,
    /// Bundle bytes that will be downloaded in all (channel installs, once known).
    pub to_fetch: u64,
}

/// A finished install.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Installed {
    /// The slot written.
    pub slot: SlotName,
    /// Its version.
    pub version: Version,
    /// The whole bundle's length.
    pub bundle_len: u64,
    /// Bytes downloaded (the whole bundle for a file).
    pub fetched: u64,
}

/// Refuse a bundle that is not for this box (board, versions).
pub fn check(layout: &Layout, head: &head::Head) -> Result<()> {
    let m = &head.manifest;
    if !m.boards.contains(&layout.board) {
        return Err(OtaError::WrongBoard { board: layout.board.clone(), boards: m.boards.join(", ") });
    }
    if m.version < layout.running_version {
        return Err(OtaError::Older { running: layout.running_version.to_string(), bundle: m.version.to_string() });
    }
    if layout.running_version < m.min_version {
        return Err(OtaError::NeedsNewer {
            running: layout.running_version.to_string(),
            min: m.min_version.to_string(),
            bundle: m.version.to_string(),
        });
    }
    Ok(())
}

/// Install the bundle in the file `path`.
pub fn from_file(layout: &Layout, path: &Path, cancel: &AtomicBool, report: &mut dyn FnMut(&Progress)) -> Result<Installed> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(path)
        .map_err(OtaError::io(format!("the update file {}", path.display())))?;
    let len = file.metadata().map_err(OtaError::io(format!("the update file {}", path.display())))?.len();
    report(&Progress { phase: Phase::Checking, done: 0, total: len, version: None, fetched: len, to_fetch: len });
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = head::read(&mut reader, &layout.keys)?;
    check(layout, &head)?;
    if len < head.bundle_len() {
        return Err(OtaError::Truncated { expected: head.bundle_len(), got: len });
    }
    if len > head.bundle_len() {
        return Err(OtaError::TrailingBytes);
    }
    let mut source = StreamSource { reader, at: head.payload_offset, total: len };
    write_and_switch(layout, &head, &mut source, cancel, &AtomicU64::new(len), len, report)
}

fn libc_o_nofollow() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

/// Install `offer` from its channel, fetching only the chunks the running slot lacks.
pub fn from_channel(
    layout: &Layout,
    client: &Client,
    offer: &Offer,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&Progress),
) -> Result<Installed> {
    report(&Progress { phase: Phase::Checking, done: 0, total: 0, version: Some(offer.version.clone()), fetched: 0, to_fetch: 0 });
    from_url(layout, client, &offer.bundle, Some(offer), cancel, report)
}

/// Install the bundle at `url` (a web address; the bundle's own signed manifest says what it
/// is), fetching only the chunks the running slot lacks. With `offer`, the bundle must hold what
/// the channel's index said.
pub fn from_url(
    layout: &Layout,
    client: &Client,
    url: &url::Url,
    offer: Option<&Offer>,
    cancel: &AtomicBool,
    report: &mut dyn FnMut(&Progress),
) -> Result<Installed> {
    let head = client.head(url, &layout.keys)?;
    let m = &head.manifest;
    if let Some(offer) = offer
        && (m.version != offer.version || !offer.boards.iter().all(|b| m.boards.contains(b)))
    {
        return Err(OtaError::Channel(format!(
            "the index offers version {} for {}, but the bundle it points to holds version {} for {}",
            offer.version,
            offer.boards.join(", "),
            m.version,
            m.boards.join(", ")
        )));
    }
    check(layout, &head)?;
    let running = File::open(layout.device(layout.running)).map_err(OtaError::io("reading the running slot"))?;
    let running_len = (&running).seek(SeekFrom::End(0)).map_err(OtaError::io("reading the running slot"))?;
    (&running).seek(SeekFrom::Start(0)).map_err(OtaError::io("reading the running slot"))?;
    let version = Some(m.version.clone());
    let local = LocalChunks::cut(running, &m.chunker, cancel, &mut |done| {
        report(&Progress { phase: Phase::Comparing, done, total: running_len, version: version.clone(), fetched: 0, to_fetch: 0 })
    })?;
    let to_fetch = DeltaSource::to_fetch(&head, Some(&local)) + head.payload_offset;
    let fetched = AtomicU64::new(head.payload_offset);
    let mut source = DeltaSource::new(client, url.clone(), &head, Some(&local), &fetched);
    let done = write_and_switch(layout, &head, &mut source, cancel, &fetched, to_fetch, report)?;
    tracing::info!(version = %done.version, fetched = done.fetched, bundle = done.bundle_len, requests = source.requests(), "update written from the channel");
    Ok(done)
}

/// Store entries read front to back from a whole bundle.
struct StreamSource<R> {
    reader: R,
    at: u64,
    total: u64,
}

impl<R: Read> ChunkSource for StreamSource<R> {
    fn next(&mut self, index: usize, entry: &StoreEntry) -> Result<Vec<u8>> {
        let mut stored = vec![0u8; entry.stored_size as usize];
        head::read_exact(&mut self.reader, &mut stored, self.at, self.total)?;
        self.at += stored.len() as u64;
        payload::decode(index, entry, &stored)
    }
}

fn write_and_switch(
    layout: &Layout,
    head: &head::Head,
    source: &mut dyn ChunkSource,
    cancel: &AtomicBool,
    fetched: &AtomicU64,
    to_fetch: u64,
    report: &mut dyn FnMut(&Progress),
) -> Result<Installed> {
    let m = &head.manifest;
    let state = layout.boot.read().state;
    if state.is_on_trial(layout.running) {
        return Err(OtaError::Busy(
            "this system is still on trial: it commits itself once it has been healthy for a while; install after that".into(),
        ));
    }
    let target = layout.running.other();
    let device = layout.device(target);
    let slot_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .map_err(OtaError::io(format!("opening root slot {target} ({})", device.display())))?;
    let capacity = (&slot_file).seek(SeekFrom::End(0)).map_err(OtaError::io(format!("measuring root slot {target}")))?;
    if m.image.size > capacity {
        return Err(OtaError::TooBig { image: m.image.size, slot: capacity });
    }

    // Before the first byte: the slot holds no known version and is on no trial.
    let mut writing = state.clone();
    writing.good = layout.running;
    writing.set_version(layout.running, Some(layout.running_version.clone()));
    writing.set_version(target, None);
    if writing.trial == Some(target) {
        writing.trial = None;
        writing.tries = 0;
    }
    if writing != state {
        layout.boot.write(&writing)?;
    }
    let version = Some(m.version.clone());
    let progress =
        |phase, done, total| Progress { phase, done, total, version: version.clone(), fetched: fetched.load(Ordering::Relaxed), to_fetch };
    slot::write_image(m, source, &slot_file, cancel, &mut |done| report(&progress(Phase::Writing, done, m.image.size)))?;
    slot::read_back(m, &slot_file, target.letter(), cancel, &mut |done| report(&progress(Phase::Verifying, done, m.image.size)))?;
    if cancel.load(Ordering::Relaxed) {
        return Err(OtaError::Cancelled);
    }
    report(&progress(Phase::Switching, 0, 0));
    let mut trial = writing;
    trial.trial = Some(target);
    trial.tries = 0;
    trial.rollback = None;
    trial.set_version(target, Some(m.version.clone()));
    layout.boot.write(&trial)?;
    report(&progress(Phase::Ready, 0, 0));
    Ok(Installed { slot: target, version: m.version.clone(), bundle_len: head.bundle_len(), fetched: fetched.load(Ordering::Relaxed) })
}

/// What committing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The running trial system is now the good one.
    Committed(SlotName),
    /// The running system was already the good one.
    AlreadyGood,
}

/// The running system passed its health gate: make it the good slot.
pub fn commit(layout: &Layout) -> Result<Commit> {
    let state = layout.boot.read().state;
    if state.good == layout.running && state.trial.is_none_or(|t| t == layout.running) {
        if state.trial.is_some() {
            let mut next = state;
            next.trial = None;
            next.tries = 0;
            layout.boot.write(&next)?;
        }
        return Ok(Commit::AlreadyGood);
    }
    if state.trial != Some(layout.running) {
        return Err(OtaError::BootState(format!(
            "root slot {} is running but neither committed nor on trial (the card's state was changed by hand?)",
            layout.running
        )));
    }
    let mut next = state;
    next.good = layout.running;
    next.trial = None;
    next.tries = 0;
    next.rollback = None;
    layout.boot.write(&next)?;
    Ok(Commit::Committed(layout.running))
}

/// Put the previous system (the other slot) on trial, for the next boot; it commits itself when
/// healthy, and this one stays as it is to come back to.
pub fn go_back(layout: &Layout) -> Result<Version> {
    let state = layout.boot.read().state;
    let other = layout.running.other();
    if state.good != layout.running || state.trial == Some(layout.running) {
        return Err(OtaError::Busy("this system is on trial; restarting it without committing goes back by itself".into()));
    }
    let Some(version) = state.version(other).cloned() else {
        return Err(OtaError::Busy(format!("root slot {other} holds no complete system to go back to")));
    };
    let mut next = state;
    next.trial = Some(other);
    next.tries = 0;
    next.rollback = None;
    layout.boot.write(&next)?;
    Ok(version)
}
