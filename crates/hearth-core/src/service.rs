//! What the supervisor runs, and the shared table of how each service is doing.
//!
//! A light service is a [`Service`] run as a tokio task; a heavy or risky one is a child process of
//! the same binary (`hearthd worker KIND`), described to the supervisor by its own crate. Both
//! report into one [`StatusBoard`], which `GET /api/health` reads.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::shutdown::Shutdown;

/// A boxed future, the return type of [`Service::run`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a service's run ended with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFailure {
    /// What went wrong, for the status board and the log.
    pub message: String,
    /// `false` when restarting cannot help (a corrupt catalog, a setting that must be fixed);
    /// the service is then marked failed instead of being restarted.
    pub retryable: bool,
}

impl ServiceFailure {
    /// A failure a restart may fix.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true }
    }

    /// A failure a restart cannot fix; the service is marked failed.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false }
    }
}

impl std::fmt::Display for ServiceFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A long-running part of Hearth that the supervisor starts, watches and restarts.
///
/// `run` is called again after a failure, so it must start from persistent state, not from
/// whatever the last run left in memory. It returns `Ok(())` only when `shutdown` fired and the
/// service has finished or checkpointed its work.
pub trait Service: Send + Sync + 'static {
    /// A short stable name (`api`, `mdns`, `sync`), used in logs, the status board and cgroups.
    fn name(&self) -> &'static str;

    /// Run until `shutdown` fires or the service fails. `ready` is called once the service is
    /// serving (listening, registered), which moves it from `starting` to `running`.
    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>>;
}

/// Passed to [`Service::run`]; calling [`ReadySignal::ready`] marks the service running.
#[derive(Clone)]
pub struct ReadySignal {
    board: StatusBoard,
    name: String,
}

impl ReadySignal {
    /// A signal that updates `name` on `board`.
    pub fn new(board: StatusBoard, name: impl Into<String>) -> Self {
        Self { board, name: name.into() }
    }

    /// The service is now serving.
    pub fn ready(&self) {
        self.board.update(&self.name, |s| {
            if s.state == ServiceState::Starting {
                s.state = ServiceState::Running;
            }
        });
    }
}

/// The life-cycle states of a supervised service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Started, not yet serving.
    Starting,
    /// Serving.
    Running,
    /// Crashed or failed; waiting before the next restart.
    BackingOff,
    /// Stopped with an error a restart cannot fix; needs a person (the message says what).
    Failed,
    /// Crashed too many times in a row without staying up; held back for a long pause so it does
    /// not take the box down with it, then tried again.
    Quarantined,
    /// Stopped because Hearth is shutting down.
    Stopped,
}

/// One row of the status board.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceStatus {
    /// The service's name.
    pub name: String,
    /// `task` (in the daemon) or `process` (a worker child process).
    pub runs_as: &'static str,
    /// Its current state.
    pub state: ServiceState,
    /// How many times it has been restarted since the daemon started.
    pub restarts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// Unix seconds when the state last changed.
    pub since: u64,
    /// The memory limit applied to it, in bytes, when limits are on.
    pub memory_max: Option<u64>,
}

/// The shared, cheap-to-clone table of service states.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    inner: Arc<RwLock<BTreeMap<String, ServiceStatus>>>,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl StatusBoard {
    /// An empty board.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a service in the `starting` state (or reset an existing row to it).
    pub fn register(&self, name: &str, runs_as: &'static str, memory_max: Option<u64>) {
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        map.insert(
            name.to_string(),
            ServiceStatus {
                name: name.to_string(),
                runs_as,
                state: ServiceState::Starting,
                restarts: 0,
                last_error: None,
                since: now_secs(),
                memory_max,
            },
        );
    }

    /// Change a service's row; `since` is bumped when the state changes.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut ServiceStatus)) {
        let mut map = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(status) = map.get_mut(name) {
            let before = status.state;
            f(status);
            if status.state != before {
                status.since = now_secs();
            }
        }
    }

    /// Set a service's state.
    pub fn set_state(&self, name: &str, state: ServiceState) {
        self.update(name, |s| s.state = state);
    }

    /// A copy of every row, ordered by name.
    pub fn snapshot(&self) -> Vec<ServiceStatus> {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }

    /// A copy of one row.
    pub fn get(&self, name: &str) -> Option<ServiceStatus> {
        let map = self.inner.read().unwrap_or_else(|p| p.into_inner());
        map.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_moves_starting_to_running_only() {
        let board = StatusBoard::new();
        board.register("api", "task", None);
        let ready = ReadySignal::new(board.clone(), "api");
        ready.ready();
        assert_eq!(board.get("api").map(|s| s.state), Some(ServiceState::Running));
        board.set_state("api", ServiceState::Failed);
        ready.ready();
        assert_eq!(board.get("api").map(|s| s.state), Some(ServiceState::Failed));
    }
}
