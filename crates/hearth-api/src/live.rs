//! What the web app shows live (the long jobs' progress, the services' states), pushed to open
//! pages as server-sent events (`GET /api/v1/events`). One reader for all of them: while any
//! page listens, a task reads the catalog and the status board once a second and wakes the
//! listeners only when something changed, so ten open pages cost what one does and an idle
//! box sends nothing but keep-alives.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::AppState;

/// How often the task looks while someone listens.
const EVERY: Duration = Duration::from_secs(1);

/// The shared state of live updates.
#[derive(Debug)]
pub struct Live {
    /// The latest activity as the JSON the pages get; `None` before the first read.
    latest: watch::Sender<Option<Arc<str>>>,
    /// Set when the server stops: every stream ends, so shutdown does not wait for open pages.
    closed: watch::Sender<bool>,
    reading: AtomicBool,
}

impl Default for Live {
    fn default() -> Self {
        Live { latest: watch::channel(None).0, closed: watch::channel(false).0, reading: AtomicBool::new(false) }
    }
}

/// One page's view of the updates.
pub struct Listener {
    /// The activity JSON, changed when it changes.
    pub latest: watch::Receiver<Option<Arc<str>>>,
    /// Becomes true when the server stops.
    pub closed: watch::Receiver<bool>,
}

impl Live {
    /// Start listening; starts the reader when it is not running.
    pub fn listen(self: &Arc<Self>, state: &AppState) -> Listener {
        let listener = Listener { latest: self.latest.subscribe(), closed: self.closed.subscribe() };
        if !self.reading.swap(true, Ordering::AcqRel) {
            tokio::spawn(read(self.clone(), state.clone()));
        }
        listener
    }

    /// End every stream (the server is stopping).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Accept listeners again (the server started again after a failure).
    pub fn reopen(&self) {
        self.closed.send_replace(false);
    }
}

async fn read(live: Arc<Live>, state: AppState) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if *live.closed.borrow() {
            live.reading.store(false, Ordering::Release);
            return;
        }
        if live.latest.receiver_count() == 0 {
            live.reading.store(false, Ordering::Release);
            // A page that started listening just now found the reader still running.
            if live.latest.receiver_count() == 0 || live.reading.swap(true, Ordering::AcqRel) {
                return;
            }
        }
        let now = state.now();
        let read = state.read(move |r| {
            Ok((hearth_catalog::jobs::progress(r, now)?, hearth_catalog::settings::get(r, hearth_catalog::people::ML_STATUS_KEY)?))
        });
        let (jobs, ml) = match read.await {
            Ok(read) => read,
            Err(e) => {
                tracing::debug!(error = %e.message, "live activity: reading the jobs failed");
                continue;
            }
        };
        let backups = state.read(open_backup_runs).await.unwrap_or_default();
        let mut services = state.status.snapshot();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        // What the ML worker last said of itself (its backend, the NPU, its models' problems).
        let ml: Option<serde_json::Value> = ml.and_then(|text| serde_json::from_str(&text).ok());
        let json = serde_json::json!({ "jobs": jobs, "backups": backups, "services": services, "ml": ml }).to_string();
        live.latest.send_if_modified(|current| {
            if current.as_deref() == Some(json.as_str()) {
                return false;
            }
            *current = Some(Arc::from(json.as_str()));
            true
        });
    }
}

/// Backup runs queued or in hand, named for people (the job's name, else the target's).
fn open_backup_runs(r: &crate::state::rusqlite_conn::Connection) -> Result<Vec<serde_json::Value>, hearth_catalog::CatalogError> {
    use hearth_catalog::backups;
    let open: Vec<backups::RunRow> =
        backups::runs(r, backups::RunFilter::default(), 50)?.into_iter().filter(|run| !run.state.is_final()).collect();
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let (jobs, targets) = (backups::jobs(r)?, backups::targets(r)?);
    Ok(open
        .into_iter()
        .rev()
        .map(|run| {
            let job = run.job_id.and_then(|id| jobs.iter().find(|j| j.id == id)).map(|j| j.name.clone());
            let target = targets.iter().find(|t| t.id == run.target_id).map(|t| t.name.clone());
            serde_json::json!({
                "id": run.id, "kind": run.kind, "state": run.state, "name": job.or(target).unwrap_or_default(),
                "files_done": run.files_done, "files_total": run.files_total, "bytes_done": run.bytes_done, "bytes_total": run.bytes_total,
            })
        })
        .collect())
}
