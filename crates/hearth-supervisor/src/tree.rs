//! The service tree.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_core::Shutdown;
use hearth_core::service::{ReadySignal, Service, ServiceFailure, ServiceState, StatusBoard};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::{Limits, RestartPolicy};

/// A heavy or risky service run as a child process (`hearthd worker KIND`).
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// The worker kind: its status name and cgroup.
    pub kind: &'static str,
    /// The program (normally `std::env::current_exe()`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

enum Runner {
    Task(Arc<dyn Service>),
    Process(WorkerSpec),
}

struct Entry {
    name: String,
    runner: Runner,
    policy: RestartPolicy,
}

/// Starts, watches, restarts and stops services.
pub struct Supervisor {
    status: StatusBoard,
    limits: Arc<Limits>,
    grace: Duration,
    entries: Vec<Entry>,
}

impl Supervisor {
    /// A supervisor reporting on `status`, applying `limits` to workers, and giving each service
    /// `grace` to stop on shutdown.
    pub fn new(status: StatusBoard, limits: Limits, grace: Duration) -> Self {
        Supervisor { status, limits: Arc::new(limits), grace, entries: Vec::new() }
    }

    /// Add a service run as a tokio task.
    pub fn task(&mut self, service: Arc<dyn Service>, policy: RestartPolicy) {
        let name = service.name().to_string();
        self.status.register(&name, "task", None);
        self.entries.push(Entry { name, runner: Runner::Task(service), policy });
    }

    /// Add a worker child process.
    pub fn worker(&mut self, spec: WorkerSpec, policy: RestartPolicy) {
        let name = spec.kind.to_string();
        self.status.register(&name, "process", None);
        self.entries.push(Entry { name, runner: Runner::Process(spec), policy });
    }

    /// Run every service until `shutdown` fires, then stop them all. Returns when every service
    /// has stopped, or after the grace period plus a second for stragglers (which are abandoned
    /// and named in the log).
    pub async fn run(self, shutdown: Shutdown) {
        let mut set = JoinSet::new();
        for entry in self.entries {
            let (status, limits, sd, grace) = (self.status.clone(), self.limits.clone(), shutdown.clone(), self.grace);
            let span = tracing::info_span!("service", name = %entry.name);
            set.spawn(supervise(entry, status, limits, sd, grace).instrument(span));
        }
        shutdown.wait().await;
        let deadline = tokio::time::sleep(self.grace + Duration::from_secs(1));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = set.join_next() => if next.is_none() { break },
                _ = &mut deadline => {
                    let stuck: Vec<String> = self.status.snapshot().into_iter().filter(|s| s.state != ServiceState::Stopped && s.state != ServiceState::Failed).map(|s| s.name).collect();
                    tracing::warn!(?stuck, "services did not stop in time; leaving them");
                    set.abort_all();
                    break;
                }
            }
        }
    }
}

async fn supervise(entry: Entry, status: StatusBoard, limits: Arc<Limits>, shutdown: Shutdown, grace: Duration) {
    let name = entry.name.clone();
    let mut failures: u32 = 0;
    loop {
        if shutdown.is_requested() {
            break;
        }
        status.set_state(&name, ServiceState::Starting);
        let ready = ReadySignal::new(status.clone(), name.clone());
        let started = Instant::now();
        let result = match &entry.runner {
            Runner::Task(svc) => {
                let (svc, sd) = (svc.clone(), shutdown.clone());
                match tokio::spawn(async move { svc.run(sd, ready).await }).await {
                    Ok(r) => r,
                    Err(e) if e.is_panic() => Err(ServiceFailure::retryable(format!("crashed: {}", panic_text(e)))),
                    Err(e) => Err(ServiceFailure::retryable(format!("cancelled: {e}"))),
                }
            }
            Runner::Process(spec) => run_process(spec, &status, &limits, &shutdown, ready, grace).await,
        };
        if shutdown.is_requested() {
            if let Err(f) = &result {
                tracing::warn!(service = %name, error = %f, "stopped with an error during shutdown");
            }
            break;
        }
        let failure = result.err().unwrap_or_else(|| ServiceFailure::retryable("stopped unexpectedly"));
        status.update(&name, |s| {
            s.last_error = Some(failure.message.clone());
            s.restarts += 1;
        });
        if !failure.retryable {
            tracing::error!(service = %name, error = %failure, "failed; not restarting");
            status.set_state(&name, ServiceState::Failed);
            shutdown.wait().await;
            return;
        }
        if started.elapsed() >= entry.policy.stable_after {
            failures = 0;
        }
        failures += 1;
        let (state, wait) = if failures >= entry.policy.quarantine_after {
            failures = 0;
            (ServiceState::Quarantined, entry.policy.quarantine_for)
        } else {
            (ServiceState::BackingOff, entry.policy.backoff(failures))
        };
        tracing::warn!(service = %name, error = %failure, ?state, retry_in = ?wait, "service failed");
        status.set_state(&name, state);
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    status.set_state(&name, ServiceState::Stopped);
}

fn panic_text(e: tokio::task::JoinError) -> String {
    let p = e.into_panic();
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "panic".into())
}

/// Set to `stdin` for worker processes: their stdin closes when the daemon is gone
/// ([`hearth_platform::process::stop_when_stdin_closes`]).
pub const LIFELINE_ENV: &str = "HEARTH_LIFELINE";

async fn run_process(
    spec: &WorkerSpec,
    status: &StatusBoard,
    limits: &Limits,
    shutdown: &Shutdown,
    ready: ReadySignal,
    grace: Duration,
) -> Result<(), ServiceFailure> {
    let mut cmd = tokio::process::Command::new(&spec.program);
    // The worker's stdin is a lifeline: a pipe whose other end only this process holds. When the
    // daemon dies however it dies (SIGKILL, the OOM killer), the kernel closes it, the worker
    // reads end-of-file and stops, instead of living on beside the next daemon's workers.
    cmd.args(&spec.args).stdin(std::process::Stdio::piped()).env(LIFELINE_ENV, "stdin").kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| ServiceFailure::retryable(format!("cannot start {}: {e}", spec.program.display())))?;
    let _lifeline = child.stdin.take();
    let pid = child.id().unwrap_or(0);
    if let Some((group, memory_max)) = limits.group_for(spec.kind) {
        limits.add(&group, pid);
        status.update(spec.kind, |s| s.memory_max = Some(memory_max));
    }
    ready.ready();
    tokio::select! {
        exit = child.wait() => match exit {
            Ok(code) if code.success() => Ok(()),
            Ok(code) => Err(ServiceFailure::retryable(describe_exit(code))),
            Err(e) => Err(ServiceFailure::retryable(format!("lost the worker process: {e}"))),
        },
        _ = shutdown.wait() => {
            hearth_platform::process::terminate(pid);
            match tokio::time::timeout(grace, child.wait()).await {
                Ok(_) => Ok(()),
                Err(_) => {
                    tracing::warn!(kind = spec.kind, pid, "worker ignored SIGTERM; killing it");
                    let _ = child.kill().await;
                    Ok(())
                }
            }
        }
    }
}

fn describe_exit(code: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (code.code(), code.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(9)) => "killed (signal 9; out of memory?)".into(),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::service::BoxFuture;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RestartPolicy {
        RestartPolicy {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            stable_after: Duration::from_secs(3600),
            quarantine_after: 4,
            quarantine_for: Duration::from_secs(3600),
        }
    }

    /// Fails `fail_times` times (alternating error and panic), then serves until shutdown.
    struct Flaky {
        runs: AtomicU32,
        fail_times: u32,
        permanent: bool,
    }

    impl Service for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }
        fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
            Box::pin(async move {
                let n = self.runs.fetch_add(1, Ordering::SeqCst);
                if self.permanent {
                    return Err(ServiceFailure::permanent("bad configuration"));
                }
                if n < self.fail_times {
                    if n % 2 == 1 {
                        panic!("boom {n}");
                    }
                    return Err(ServiceFailure::retryable(format!("failure {n}")));
                }
                ready.ready();
                shutdown.wait().await;
                Ok(())
            })
        }
    }

    async fn wait_for(status: &StatusBoard, name: &str, want: ServiceState) {
        for _ in 0..2000 {
            if status.get(name).map(|s| s.state) == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{name} never reached {want:?}: {:?}", status.get(name));
    }

    #[tokio::test]
    async fn restarts_after_errors_and_panics_then_runs() {
        let status = StatusBoard::new();
        let mut sup = Supervisor::new(status.clone(), Limits::Off("test".into()), Duration::from_secs(1));
        let svc = Arc::new(Flaky { runs: AtomicU32::new(0), fail_times: 3, permanent: false });
        sup.task(svc.clone(), fast());
        let (trigger, shutdown) = hearth_core::shutdown::channel();
        let handle = tokio::spawn(sup.run(shutdown));
        wait_for(&status, "flaky", ServiceState::Running).await;
        let row = status.get("flaky").expect("row");
        assert_eq!(row.restarts, 3);
        assert!(row.last_error.as_deref().is_some_and(|e| e.contains("failure 2")), "{row:?}");
        trigger.fire();
        handle.await.expect("supervisor");
        assert_eq!(status.get("flaky").map(|s| s.state), Some(ServiceState::Stopped));
    }

    #[tokio::test]
    async fn quarantines_a_service_that_keeps_crashing() {
        let status = StatusBoard::new();
        let mut sup = Supervisor::new(status.clone(), Limits::Off("test".into()), Duration::from_secs(1));
        sup.task(Arc::new(Flaky { runs: AtomicU32::new(0), fail_times: 100, permanent: false }), fast());
        let (trigger, shutdown) = hearth_core::shutdown::channel();
        let handle = tokio::spawn(sup.run(shutdown));
        wait_for(&status, "flaky", ServiceState::Quarantined).await;
        assert_eq!(status.get("flaky").map(|s| s.restarts), Some(4));
        trigger.fire();
        handle.await.expect("supervisor");
    }

    #[tokio::test]
    async fn permanent_failure_is_not_restarted() {
        let status = StatusBoard::new();
        let mut sup = Supervisor::new(status.clone(), Limits::Off("test".into()), Duration::from_secs(1));
        let svc = Arc::new(Flaky { runs: AtomicU32::new(0), fail_times: 0, permanent: true });
        sup.task(svc.clone(), fast());
        let (trigger, shutdown) = hearth_core::shutdown::channel();
        let handle = tokio::spawn(sup.run(shutdown));
        wait_for(&status, "flaky", ServiceState::Failed).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(svc.runs.load(Ordering::SeqCst), 1);
        trigger.fire();
        handle.await.expect("supervisor");
    }

    #[tokio::test]
    async fn worker_process_is_restarted_and_terminated_on_shutdown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let counter = dir.path().join("runs");
        // Each run appends a line; the first two runs crash, the third says it is ready to be stopped.
        let script = format!(
            "echo run >> {c}; n=$(grep -c run {c}); if [ $n -le 2 ]; then exit 3; fi; trap 'echo stopped >> {c}; exit 0' TERM; echo ready >> {c}; while :; do sleep 0.05; done",
            c = counter.display()
        );
        let status = StatusBoard::new();
        let mut sup = Supervisor::new(status.clone(), Limits::Off("test".into()), Duration::from_secs(5));
        let spec = WorkerSpec { kind: "thumbnail", program: "sh".into(), args: vec!["-c".into(), script.into()] };
        sup.worker(spec, fast());
        let (trigger, shutdown) = hearth_core::shutdown::channel();
        let handle = tokio::spawn(sup.run(shutdown));
        for _ in 0..2000 {
            if std::fs::read_to_string(&counter).unwrap_or_default().contains("ready") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        wait_for(&status, "thumbnail", ServiceState::Running).await;
        let row = status.get("thumbnail").expect("row");
        assert_eq!(row.restarts, 2);
        assert_eq!(row.last_error.as_deref(), Some("exited with status 3"));
        trigger.fire();
        handle.await.expect("supervisor");
        assert!(std::fs::read_to_string(&counter).expect("read").contains("stopped"), "SIGTERM reached the worker");
    }
}
