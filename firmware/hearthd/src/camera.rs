//! Camera folders: a photo that sync completes in a folder marked as some user's camera folder
//! joins that library within seconds. This is where the sync engine's events meet photo ingest
//! (domain crates never depend on each other, so the wiring lives in the binary).

use std::path::PathBuf;
use std::sync::Arc;

use hearth_catalog::assets::{self, Source};
use hearth_catalog::{Catalog, jobs};
use hearth_core::Shutdown;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};
use hearth_photos::ingest::{self, IngestError, Outcome};
use hearth_platform::clock::{Clock, SystemClock};
use hearth_sync::engine::Engine;
use hearth_sync::events::SyncEvent;
use tokio::sync::broadcast::error::RecvError;

/// The service.
pub struct CameraIngest {
    engine: Engine,
    catalog: Arc<Catalog>,
    data_dir: PathBuf,
}

impl CameraIngest {
    /// Ingest files arriving through `engine` into the libraries of their camera folders.
    pub fn new(engine: Engine, catalog: Arc<Catalog>, data_dir: PathBuf) -> Self {
        CameraIngest { engine, catalog, data_dir }
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
            };
            match ingest::ingest(&catalog, &req) {
                Ok(Outcome::Added { id, problem }) => {
                    tracing::info!(%folder, %name, id, problem = problem.as_deref().unwrap_or(""), "photo added")
                }
                Ok(Outcome::Duplicate { id }) => tracing::debug!(%folder, %name, id, "already in the library"),
                Err(IngestError::NotAPhoto { .. }) => tracing::debug!(%folder, %name, "not a photo"),
                Err(e) => tracing::warn!(%folder, %name, error = %e, "the photo could not be added"),
            }
        });
    }
}

impl Service for CameraIngest {
    fn name(&self) -> &'static str {
        "photos"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            let mut events = self.engine.subscribe();
            ready.ready();
            loop {
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    ev = events.recv() => match ev {
                        Ok(SyncEvent::FileArrived { folder, name, .. }) => self.arrived(folder, name),
                        Ok(_) => {}
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "photo ingest fell behind sync; marking the camera folder again ingests what was missed");
                        }
                        Err(RecvError::Closed) => return Err(ServiceFailure::retryable("the sync engine stopped")),
                    }
                }
            }
        })
    }
}
