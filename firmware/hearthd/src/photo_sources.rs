//! Where photos come from, kept watching: a photo that sync completes in a folder marked as some
//! user's camera folder, or that WebDAV (a phone's auto-upload) writes into one of a user's
//! photo folders (`files.photo_folders`), joins that library within seconds (the sync engine's
//! and the WebDAV routes' events meet photo ingest here: domain crates never depend on each
//! other, so the wiring lives in the binary); and every watched folder (external libraries,
//! users' photo folders, camera folders) is scanned shortly after start and every quarter of an
//! hour, and at once when ingest fell behind the events (`hearth_photos::libraries`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hearth_api::state::FileWritten;
use hearth_catalog::assets::{self, Source};
use hearth_catalog::{Catalog, jobs};
use hearth_core::Shutdown;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_photos::ingest::{self, IngestError, Outcome};
use hearth_platform::clock::{Clock, SystemClock};
use hearth_sync::engine::Engine;
use hearth_sync::events::SyncEvent;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast};

/// The first scan after start, and then between scans.
const FIRST_SCAN_AFTER: Duration = Duration::from_secs(30);
const SCAN_EVERY: Duration = Duration::from_secs(15 * 60);

/// The service.
pub struct PhotoSources {
    /// Absent when sync is off.
    engine: Option<Engine>,
    /// Files written over WebDAV.
    files_written: broadcast::Sender<FileWritten>,
    catalog: Arc<Catalog>,
    data_dir: PathBuf,
    /// Each user's photo folders, relative to their files.
    photo_folders: Vec<String>,
    /// Held while a file is taken in: one at a time, so a phone uploading a thousand photos
    /// does not decode a thousand at once on a 2 GB board.
    one_at_a_time: Arc<std::sync::Mutex<()>>,
}

impl PhotoSources {
    /// Ingest files arriving through `engine` into the libraries of their camera folders and
    /// files written into users' photo folders, and scan the watched folders.
    pub fn new(
        engine: Option<Engine>,
        files_written: broadcast::Sender<FileWritten>,
        catalog: Arc<Catalog>,
        data_dir: PathBuf,
        photo_folders: Vec<String>,
    ) -> Self {
        PhotoSources { engine, files_written, catalog, data_dir, photo_folders, one_at_a_time: Arc::default() }
    }

    /// A file (or folder) written into `owner`'s files: taken in when it is in one of their
    /// photo folders.
    fn written(&self, written: FileWritten) {
        let (catalog, data_dir, folders) = (self.catalog.clone(), self.data_dir.clone(), self.photo_folders.clone());
        let one = self.one_at_a_time.clone();
        tokio::task::spawn_blocking(move || {
            let _one = one.lock().unwrap_or_else(|p| p.into_inner());
            let now = i64::try_from(SystemClock.now_secs()).unwrap_or(i64::MAX);
            let roots = match hearth_photos::libraries::roots(&catalog, &data_dir, &folders) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the watched photo folders");
                    return;
                }
            };
            let Some(root) = roots.into_iter().find(|r| r.owner_id == written.owner_id && written.path.starts_with(&r.path)) else {
                return;
            };
            if written.path.is_dir() {
                // A folder moved or copied in: scanned with its photo folder.
                if let Err(e) = hearth_photos::libraries::scan(&catalog, &root, &data_dir, now) {
                    tracing::warn!(folder = %root.path.display(), error = %e, "photo folder scan failed");
                }
                return;
            }
            let name = written.path.display().to_string();
            take_in(&catalog, &data_dir, written.owner_id, Source::Files, &written.path, now, &name);
        });
    }

    fn arrived(&self, folder: String, name: String) {
        let (catalog, data_dir) = (self.catalog.clone(), self.data_dir.clone());
        let one = self.one_at_a_time.clone();
        // One file at a time on the blocking pool (catalog reads and thumbnails are blocking work).
        tokio::task::spawn_blocking(move || {
            let _one = one.lock().unwrap_or_else(|p| p.into_inner());
            let f = folder.clone();
            let found = catalog.read(move |r| {
                let Some(owner) = assets::camera_folder_owner(r, &f)? else { return Ok(None) };
                Ok(hearth_catalog::sync_folders::get_folder(r, &f)?.map(|sf| (owner, PathBuf::from(sf.path))))
            });
            let (owner, root) = match found {
                Ok(Some(x)) => x,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(%folder, error = %e, "cannot look up the camera folder");
                    return;
                }
            };
            let file = root.join(&name);
            let now = i64::try_from(SystemClock.now_secs()).unwrap_or(i64::MAX);
            take_in(&catalog, &data_dir, owner, Source::Sync, &file, now, &format!("{folder}/{name}"));
        });
    }
}

/// Ingests one arrived file into `owner`'s library (on the blocking pool), logging the outcome.
fn take_in(catalog: &Catalog, data_dir: &std::path::Path, owner: i64, source: Source, file: &std::path::Path, now: i64, what: &str) {
    let stored = ingest::stored_path(file, data_dir);
    let req = ingest::Request { owner_id: owner, source, file, stored_path: stored, now, priority: jobs::priority::NEW, data_dir };
    match ingest::ingest(catalog, &req) {
        Ok(Outcome::Added { id, problem }) => tracing::info!(file = %what, id, problem = problem.as_deref().unwrap_or(""), "photo added"),
        Ok(Outcome::Duplicate { id }) => tracing::debug!(file = %what, id, "already in the library"),
        Ok(Outcome::Moved { id }) => tracing::info!(file = %what, id, "photo moved or renamed; the asset follows it"),
        Ok(Outcome::Replaced { id, .. }) => tracing::info!(file = %what, id, "photo changed in place; read again"),
        Err(IngestError::NotAPhoto { .. }) => tracing::debug!(file = %what, "not a photo"),
        Err(e) => tracing::warn!(file = %what, error = %e, "the photo could not be added"),
    }
}

impl Service for PhotoSources {
    fn name(&self) -> &'static str {
        "photos"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            let rescan = Arc::new(Notify::new());
            let scanner = tokio::spawn(scan_loop(
                self.catalog.clone(),
                self.data_dir.clone(),
                self.photo_folders.clone(),
                rescan.clone(),
                shutdown.clone(),
            ));
            ready.ready();
            let mut sync_events = self.engine.as_ref().map(Engine::subscribe);
            let mut files_events = self.files_written.subscribe();
            let result = loop {
                // Without sync, its branch waits forever.
                let sync_event = async {
                    match sync_events.as_mut() {
                        Some(events) => events.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = shutdown.wait() => break Ok(()),
                    ev = sync_event => match ev {
                        Ok(SyncEvent::FileArrived { folder, name, .. }) => self.arrived(folder, name),
                        Ok(_) => {}
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "photo ingest fell behind sync; scanning the watched folders for what was missed");
                            rescan.notify_one();
                        }
                        Err(RecvError::Closed) => break Err(ServiceFailure::retryable("the sync engine stopped")),
                    },
                    ev = files_events.recv() => match ev {
                        Ok(written) => self.written(written),
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "photo ingest fell behind WebDAV uploads; scanning the watched folders for what was missed");
                            rescan.notify_one();
                        }
                        // The API's state holds a sender as long as hearthd runs.
                        Err(RecvError::Closed) => break Err(ServiceFailure::retryable("the WebDAV events stopped")),
                    },
                }
            };
            scanner.abort();
            result
        })
    }
}

/// Scan every watched folder after [`FIRST_SCAN_AFTER`], then every [`SCAN_EVERY`] or when
/// `rescan` is notified, one scan at a time, on the blocking pool.
async fn scan_loop(catalog: Arc<Catalog>, data_dir: PathBuf, photo_folders: Vec<String>, rescan: Arc<Notify>, shutdown: Shutdown) {
    let mut wait = FIRST_SCAN_AFTER;
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = rescan.notified() => {}
        }
        wait = SCAN_EVERY;
        let (catalog, data_dir, folders) = (catalog.clone(), data_dir.clone(), photo_folders.clone());
        let done = tokio::task::spawn_blocking(move || scan_all(&catalog, &data_dir, &folders)).await;
        if let Err(e) = done {
            tracing::warn!(error = %e, "the photo folder scan stopped");
        }
    }
}

fn scan_all(catalog: &Catalog, data_dir: &std::path::Path, photo_folders: &[String]) {
    let roots = match hearth_photos::libraries::roots(catalog, data_dir, photo_folders) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the watched photo folders");
            return;
        }
    };
    let now = i64::try_from(SystemClock.now_secs()).unwrap_or(i64::MAX);
    for root in roots {
        match hearth_photos::libraries::scan(catalog, &root, data_dir, now) {
            Ok(s) if s.offline => {
                tracing::info!(folder = %root.path.display(), "a watched photo folder is not there (unplugged?); left as it was")
            }
            Ok(s) if s.taken_in + s.missing + s.back > 0 => {
                tracing::info!(folder = %root.path.display(), taken_in = s.taken_in, missing = s.missing, back = s.back, "photo folder scanned")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(folder = %root.path.display(), error = %e, "photo folder scan failed"),
        }
    }
}
