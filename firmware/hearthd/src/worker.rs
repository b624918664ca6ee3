//! Worker processes. Each runs in its own cgroup with the board's budget for its kind; a crash
//! takes down only the worker, and the supervisor restarts it.
//!
//! - `maintenance`: keeps the catalog tidy: expired sessions removed, photos 30 days in the trash
//!   removed (hearth_photos::trash), place names given to located photos that have none
//!   (hearth_photos::places), resumable uploads abandoned for a day removed, finished jobs older
//!   than a day removed, the query planner's statistics refreshed, the WAL folded back into the
//!   database. Runs shortly after start and then every few hours, at low CPU and IO weight.
//! - `thumbnail`: works the thumbnail job queue (`hearth_catalog::jobs`) with `--threads`
//!   jobs at once (the board's `workers.concurrency`): decoding photos from outside is the riskiest
//!   and most memory-hungry thing Hearth does, so it happens here, in the `thumbnail` budget. At
//!   start it recovers the jobs its previous run died on (`hearth_photos::thumbnail_jobs::recover`).
//! - `backup`: the backup service (`hearth_backup::service`): queues what the schedules say is due,
//!   works the queued runs one at a time (backups, drills, checks, restores) in the `backup`
//!   budget. At start, runs its previous life left running are ended as interrupted and
//!   continued; on SIGTERM the run in hand stops at the next file and is continued next time.
//! - `ml`: faces found and grouped into people (`crate::ml_worker`, docs/ml.md), in the `ml`
//!   budget, below thumbnails.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hearth_catalog::{Catalog, jobs, sessions};
use hearth_photos::thumbnail_jobs::{self, Ended};
use hearth_platform::clock::{Clock, SystemClock};

const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);
const EVERY: Duration = Duration::from_secs(6 * 3600);

/// A resumable upload untouched this long is abandoned (its partial file and state go).
const STALE_UPLOAD: Duration = Duration::from_secs(86400);

/// Remove the files under `DATA/uploads/<user>/` last written before `before`; how many.
fn remove_stale_uploads(root: &Path, before: std::time::SystemTime) -> usize {
    let mut removed = 0;
    for user in std::fs::read_dir(root).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(user.path()).into_iter().flatten().flatten() {
            let old = f.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < before);
            if old && f.file_type().is_ok_and(|t| t.is_file()) && std::fs::remove_file(f.path()).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// How long an idle thumbnail thread waits before looking at the queue again.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Done jobs are kept this long for the progress report.
const KEEP_DONE_JOBS: i64 = 86400;

/// `hearthd worker KIND --data DIR [--threads N]`.
pub fn main(kind: &str, data: &Path, threads: u32, ml: &crate::ml_worker::MlOptions) -> ExitCode {
    let filter = std::env::var("HEARTH_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("worker {kind}: {e}");
            return ExitCode::from(2);
        }
    };
    // Started by the supervisor: stop when the daemon is gone, even if it was SIGKILLed.
    if std::env::var(hearth_supervisor::tree::LIFELINE_ENV).as_deref() == Ok("stdin")
        && let Err(e) = hearth_platform::process::stop_when_stdin_closes()
    {
        eprintln!("worker {kind}: cannot watch the daemon: {e}");
        return ExitCode::from(2);
    }
    match kind {
        "maintenance" => rt.block_on(maintenance(data)),
        "thumbnail" => rt.block_on(thumbnails(data, threads)),
        "backup" => rt.block_on(backups(data)),
        "ml" => rt.block_on(crate::ml_worker::main(data, threads, ml)),
        other => {
            eprintln!("unknown worker kind {other:?}");
            ExitCode::from(2)
        }
    }
}

async fn maintenance(data: &Path) -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else { return ExitCode::from(2) };
    let mut wait = FIRST_RUN_AFTER;
    loop {
        tokio::select! {
            _ = term.recv() => return ExitCode::SUCCESS,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = EVERY;
        let data = data.to_path_buf();
        let result = tokio::task::spawn_blocking(move || tidy(&data)).await;
        match result {
            Ok(Ok((purged, photos))) => tracing::info!(expired_sessions = purged, expired_photos = photos, "catalog maintenance done"),
            Ok(Err(e)) => tracing::warn!(error = %e, "catalog maintenance failed; will try again"),
            Err(e) => tracing::warn!(error = %e, "catalog maintenance crashed"),
        }
    }
}

fn tidy(data: &Path) -> Result<(usize, usize), hearth_catalog::CatalogError> {
    let (catalog, _) = Catalog::open(&data.join("hearth.db"))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let purged = catalog.write(|tx| sessions::purge_expired(tx, now))?;
    catalog.write(|tx| jobs::purge_done(tx, now - KEEP_DONE_JOBS))?;
    let stale = remove_stale_uploads(&data.join("uploads"), std::time::SystemTime::now() - STALE_UPLOAD);
    if stale > 0 {
        tracing::info!(files = stale, "abandoned resumable uploads removed");
    }
    let photos = hearth_photos::trash::expire(&catalog, data, now)?;
    if let Some(places) = hearth_photos::places::global() {
        let named = hearth_photos::places::backfill(&catalog, places)?;
        if named > 0 {
            tracing::info!(named, "place names given to photos that had none");
        }
    }
    catalog.write(|tx| Ok(tx.execute_batch("PRAGMA optimize")?))?;
    catalog.checkpoint()?;
    Ok((purged, photos))
}

fn now() -> i64 {
    i64::try_from(SystemClock.now_secs()).unwrap_or(i64::MAX)
}

async fn thumbnails(data: &Path, threads: u32) -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else { return ExitCode::from(2) };
    let catalog = match Catalog::open(&data.join("hearth.db")) {
        Ok((c, _)) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "the thumbnail worker cannot open the catalog");
            return ExitCode::from(1);
        }
    };
    match thumbnail_jobs::recover(&catalog, data, now()) {
        Ok((0, 0)) => {}
        Ok((requeued, quarantined)) => {
            tracing::warn!(
                requeued,
                quarantined,
                "the previous thumbnail worker stopped in the middle of jobs; they are retried once, then set aside"
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "the thumbnail worker cannot recover its jobs");
            return ExitCode::from(1);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let alone = Arc::new(RwLock::new(()));
    let (failed_tx, mut failed_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut handles = Vec::new();
    for n in 0..threads {
        let (catalog, data, stop, alone, failed) = (catalog.clone(), data.to_path_buf(), stop.clone(), alone.clone(), failed_tx.clone());
        let spawned = std::thread::Builder::new().name(format!("thumbnail-{n}")).spawn(move || {
            if let Err(e) = work_thumbnails(&catalog, &data, &stop, &alone) {
                let _ = failed.send(e);
            }
        });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => tracing::warn!(error = %e, "cannot start a thumbnail thread; working with fewer"),
        }
    }
    drop(failed_tx);
    if handles.is_empty() {
        return ExitCode::from(1);
    }
    let code = tokio::select! {
        _ = term.recv() => ExitCode::SUCCESS,
        Some(e) = failed_rx.recv() => {
            tracing::error!(error = %e, "the thumbnail worker stops; the supervisor starts it again");
            ExitCode::from(1)
        }
    };
    // Each thread finishes the photo in hand (well under a second) and stops.
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || {
        for h in handles {
            let _ = h.join();
        }
    })
    .await;
    code
}

/// One thread: claim, make, record, until `stop`. `Err` when the catalog or the cache cannot
/// be written (the job in hand stays running and is retried by the next worker). A job that was
/// in hand when an earlier worker died runs `alone` (the write side), so if it kills the worker
/// again it is the only suspect.
fn work_thumbnails(catalog: &Catalog, data: &Path, stop: &AtomicBool, alone: &RwLock<()>) -> Result<(), String> {
    while !stop.load(Ordering::Relaxed) {
        // Look before claiming: an idle worker only reads, and never holds the write lock.
        if !catalog.read(|r| jobs::has_queued(r, jobs::THUMBNAILS)).map_err(|e| e.to_string())? {
            std::thread::sleep(IDLE_POLL);
            continue;
        }
        let Some(job) = catalog.write(|tx| jobs::claim(tx, jobs::THUMBNAILS, now())).map_err(|e| e.to_string())? else { continue };
        // A poisoned lock only means another thread panicked; the gate itself holds no data.
        let (_shared, _exclusive) = if job.attempts > 0 {
            tracing::info!(asset = job.asset_id, "retrying, alone, a photo that was in hand when the worker stopped");
            (None, Some(alone.write().unwrap_or_else(|p| p.into_inner())))
        } else {
            (Some(alone.read().unwrap_or_else(|p| p.into_inner())), None)
        };
        let ended = match thumbnail_jobs::run(catalog, data, &job, now) {
            Ok(ended) => ended,
            Err(e) => {
                // The cache or the catalog failed (a full disk, say): the photo is not to blame,
                // so its attempt is not counted against it.
                let _ = catalog.write(|tx| jobs::release(tx, job.id));
                return Err(e.to_string());
            }
        };
        match ended {
            Ended::Made => tracing::debug!(asset = job.asset_id, "thumbnails made"),
            Ended::Gone => tracing::debug!(asset = job.asset_id, "the asset was deleted before its thumbnails"),
            Ended::Failed(why) => tracing::info!(asset = job.asset_id, %why, "no thumbnails for this photo"),
        }
    }
    Ok(())
}

/// How often the backup worker looks at the schedules and the queue.
const BACKUP_POLL: Duration = Duration::from_secs(2);

async fn backups(data: &Path) -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else { return ExitCode::from(2) };
    let service = match Catalog::open(&data.join("hearth.db"))
        .map_err(hearth_backup::BackupError::from)
        .and_then(|(c, _)| hearth_backup::service::Service::new(Arc::new(c), data))
    {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!(error = %e, "the backup worker cannot start");
            return ExitCode::from(1);
        }
    };
    match service.catalog().write(|tx| hearth_catalog::backups::interrupt_running(tx, now())) {
        Ok(0) => {}
        Ok(n) => tracing::warn!(runs = n, "backup runs were cut off by a power cut or crash; they continue now"),
        Err(e) => {
            tracing::error!(error = %e, "the backup worker cannot read its runs");
            return ExitCode::from(1);
        }
    }
    let cancel = Arc::new(AtomicBool::new(false));
    loop {
        let (s, c) = (service.clone(), cancel.clone());
        let mut work = tokio::task::spawn_blocking(move || -> Result<(), hearth_backup::BackupError> {
            s.queue_due(now())?;
            while !c.load(Ordering::Relaxed) {
                let Some(run) = s.catalog().write(|tx| hearth_catalog::backups::claim_next(tx, now()))? else { break };
                s.execute(&run, &c)?;
            }
            Ok(())
        });
        let result = tokio::select! {
            _ = term.recv() => {
                // The run in hand stops at its next file; what it stored stays and is reused.
                cancel.store(true, Ordering::Relaxed);
                let _ = work.await;
                return ExitCode::SUCCESS;
            }
            r = &mut work => r,
        };
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the backup worker could not record a run; it tries again"),
            Err(e) => tracing::warn!(error = %e, "a backup run crashed"),
        }
        tokio::select! {
            _ = term.recv() => return ExitCode::SUCCESS,
            _ = tokio::time::sleep(BACKUP_POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uploads_older_than_the_cutoff_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("uploads/1");
        std::fs::create_dir_all(&user).expect("mkdir");
        std::fs::write(user.join("a.part"), b"x").expect("write");
        std::fs::write(user.join("a.json"), b"{}").expect("write");
        assert_eq!(remove_stale_uploads(&dir.path().join("uploads"), std::time::UNIX_EPOCH), 0, "nothing is that old");
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(remove_stale_uploads(&dir.path().join("uploads"), later), 2);
        assert_eq!(remove_stale_uploads(&dir.path().join("missing"), later), 0);
    }
}
