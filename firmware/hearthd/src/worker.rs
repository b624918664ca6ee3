//! Worker processes. Each runs in its own cgroup with the board's budget for its kind; a crash
//! takes down only the worker, and the supervisor restarts it.
//!
//! - `maintenance`: keeps the catalog tidy: expired sessions removed, photos 30 days in the trash
//!   removed (hearth_photos::trash), the query planner's statistics refreshed, the WAL folded back
//!   into the database. Runs shortly after start and
//!   then every few hours, at low CPU and IO weight.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use hearth_catalog::{Catalog, sessions};

const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);
const EVERY: Duration = Duration::from_secs(6 * 3600);

/// `hearthd worker KIND --data DIR`.
pub fn main(kind: &str, data: &Path) -> ExitCode {
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
    match kind {
        "maintenance" => rt.block_on(maintenance(data)),
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
    let photos = hearth_photos::trash::expire(&catalog, data, now)?;
    catalog.write(|tx| Ok(tx.execute_batch("PRAGMA optimize")?))?;
    catalog.checkpoint()?;
    Ok((purged, photos))
}
