//! The family's files' housekeeping in the daemon (docs/files.md, "Versions and trash"): every
//! hour (the first a few minutes after start) each member's versions and trash are expired, in
//! this process so it takes the same per-space locks as WebDAV's writes. Writes also expire
//! their space at most hourly; this covers a box nobody writes to and a disk that sync or
//! uploads fill. The same hour, deleted calendar items' and contacts' tombstones older than 90
//! days are forgotten (docs/calendars.md).

use std::time::Duration;

use hearth_api::AppState;
use hearth_core::Shutdown;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure};

const FIRST_AFTER: Duration = Duration::from_secs(300);
const EVERY: Duration = Duration::from_secs(3600);

/// The service.
pub struct FilesKeeper(pub AppState);

impl Service for FilesKeeper {
    fn name(&self) -> &'static str {
        "files"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            ready.ready();
            let mut wait = FIRST_AFTER;
            loop {
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = EVERY;
                match hearth_api::routes::dav::expire_everyones_history(&self.0).await {
                    Ok((0, 0)) => {}
                    Ok((versions, trashed)) => tracing::info!(versions, trashed, "old versions and trash of the family's files removed"),
                    Err(e) => tracing::warn!(error = ?e, "the family's files' versions and trash could not be expired"),
                }
                // Calendars' and address books' tombstones for sync-collection (docs/calendars.md).
                let now = self.0.now();
                match self.0.write(move |tx| hearth_catalog::pim::prune_tombstones(tx, now)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(tombstones = n, "deleted events' and contacts' tombstones past 90 days forgotten"),
                    Err(e) => tracing::warn!(error = ?e, "calendar and contact tombstones could not be pruned"),
                }
            }
        })
    }
}
