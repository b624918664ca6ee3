//! Where photos come from, kept watching: a photo that sync completes in a folder marked as some
//! user's camera folder joins that library within seconds (the sync engine's events meet photo
//! ingest here: domain crates never depend on each other, so the wiring lives in the binary);
//! and every watched folder (external libraries, users' Photos folders, camera folders) is
//! scanned shortly after start and every quarter of an hour, and at once when ingest fell
//! behind sync's events (`hearth_photos::libraries`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hearth_catalog::assets::{self, Source};
use hearth_catalog::{Catalog, jobs};
use hearth_core::Shutdown;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_photos::ingest::{self, IngestError, Outcome};
use hearth_platform::clock::{Clock, SystemClock};
use hearth_sync::engine::Engine;
use hearth_sync::events::SyncEvent;
use tokio::sync::Notify;
use tokio::sync::broadcast::error::RecvError;

/// The first scan after start, and then between scans.
const FIRST_SCAN_AFTER: Duration = Duration::from_secs(30);
const SCAN_EVERY: Duration = Duration::from_secs(15 * 60);

/// The service.
pub struct PhotoSources {
    /// Absent when sync is off: then only the scans run.
    engine: Option<Engine>,
    catalog: Arc<Catalog>,
    data_dir: PathBuf,
}

impl PhotoSources {
    /// Ingest files arriving through `engine` into the libraries of their camera folders, and
    /// scan the watched folders.
    pub fn new(engine: Option<Engine>, catalog: Arc<Catalog>, data_dir: PathBuf) -> Self {
        PhotoSources { engine, catalog, data_dir }
    }

    fn arrived(&self, folder: String, name: String) {
        let (catalog, data_dir) = (self.catalog.clone(), self.data_dir.clone());
        // One file at a time on the blocking pool (catalog reads and thumbnails are blocking work).
        tokio::task::spawn_blocking(move || {
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
            let stored = ingest::stored_path(&file, &data_dir);
            let req = ingest::Request {
                owner_id: owner,
                source: Source::Sync,
                file: &file,
                stored_path: stored,
                now,
                priority: jobs::priority::NEW,
                data_dir: &data_dir,
            };
            match ingest::ingest(&catalog, &req) {
                Ok(Outcome::Added { id, problem }) => {
                    tracing::info!(%folder, %name, id, problem = problem.as_deref().unwrap_or(""), "photo added")
                }
                Ok(Outcome::Duplicate { id }) => tracing::debug!(%folder, %name, id, "already in the library"),
                Ok(Outcome::Moved { id }) => tracing::info!(%folder, %name, id, "photo moved or renamed; the asset follows it"),
                Ok(Outcome::Replaced { id, .. }) => tracing::info!(%folder, %name, id, "photo changed in place; read again"),
                Err(IngestError::NotAPhoto { .. }) => tracing::debug!(%folder, %name, "not a photo"),
                Err(e) => tracing::warn!(%folder, %name, error = %e, "the photo could not be added"),
            }
        });
    }
}

impl Service for PhotoSources {
    fn name(&self) -> &'static str {
        "photos"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            let rescan = Arc::new(Notify::new());
            let scanner = tokio::spawn(scan_loop(self.catalog.clone(), self.data_dir.clone(), rescan.clone(), shutdown.clone()));
            ready.ready();
            let Some(engine) = &self.engine else {
                shutdown.wait().await;
                scanner.abort();
                return Ok(());
            };
            let mut events = engine.subscribe();
            let result = loop {
                tokio::select! {
                    _ = shutdown.wait() => break Ok(()),
                    ev = events.recv() => match ev {
                        Ok(SyncEvent::FileArrived { folder, name, .. }) => self.arrived(folder, name),
                        Ok(_) => {}
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "photo ingest fell behind sync; scanning the watched folders for what was missed");
                            rescan.notify_one();
                        }
                        Err(RecvError::Closed) => break Err(ServiceFailure::retryable("the sync engine stopped")),
                    }
                }
            };
            scanner.abort();
            result
        })
    }
}

/// Scan every watched folder after [`FIRST_SCAN_AFTER`], then every [`SCAN_EVERY`] or when
/// `rescan` is notified, one scan at a time, on the blocking pool.
async fn scan_loop(catalog: Arc<Catalog>, data_dir: PathBuf, rescan: Arc<Notify>, shutdown: Shutdown) {
    let mut wait = FIRST_SCAN_AFTER;
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = rescan.notified() => {}
        }
        wait = SCAN_EVERY;
        let (catalog, data_dir) = (catalog.clone(), data_dir.clone());
        let done = tokio::task::spawn_blocking(move || scan_all(&catalog, &data_dir)).await;
        if let Err(e) = done {
            tracing::warn!(error = %e, "the photo folder scan stopped");
        }
    }
}

fn scan_all(catalog: &Catalog, data_dir: &std::path::Path) {
    let roots = match hearth_photos::libraries::roots(catalog, data_dir) {
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
