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
        let jobs = match state.read(move |r| hearth_catalog::jobs::progress(r, now)).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::debug!(error = %e.message, "live activity: reading the jobs failed");
                continue;
            }
        };
        let mut services = state.status.snapshot();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        let json = serde_json::json!({ "jobs": jobs, "services": services }).to_string();
        live.latest.send_if_modified(|current| {
            if current.as_deref() == Some(json.as_str()) {
                return false;
            }
            *current = Some(Arc::from(json.as_str()));
            true
        });
    }
}
