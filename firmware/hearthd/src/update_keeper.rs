//! The updates service (docs/updates.md): on a system on trial, the health gate (every service
//! running for `update.health_grace`, then the catalog's full integrity check) and then the
//! commit, or the reason noted and a restart (the bootloader counts three tries); on any system,
//! a look at the update channel every `update.check_every_hours`.
//!
//! `hearthd update-watch` is the gate's backstop, started by rcS as root on a trial boot: when
//! the new system is still on trial well after `update.trial_limit_secs` (hearthd never came up,
//! so it could not even fail its gate), it notes why and restarts the box.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_catalog::Catalog;
use hearth_core::Shutdown;
use hearth_core::service::{BoxFuture, ReadySignal, Service, ServiceFailure, ServiceState, StatusBoard};
use hearth_ota::health::{Gate, Observation, Verdict};
use hearth_ota::updates::Updates;
use hearth_platform::power::Power;

const LOOK_EVERY: Duration = Duration::from_secs(2);

/// The service.
pub struct UpdateKeeper {
    pub updates: Arc<Updates>,
    pub status: StatusBoard,
    pub catalog: Arc<Catalog>,
    pub power: Option<Arc<dyn Power>>,
    pub grace: Duration,
    pub limit: Duration,
    pub check_every: Duration,
}

/// How the other services are, for the gate.
fn observe(board: &StatusBoard) -> Observation {
    let mut waiting = Vec::new();
    for s in board.snapshot() {
        if s.name == "updates" {
            continue;
        }
        match s.state {
            ServiceState::Running => {}
            ServiceState::Failed | ServiceState::Quarantined => {
                return Observation::Broken(format!("{} {}: {}", s.name, state_word(s.state), s.last_error.unwrap_or_default()));
            }
            other => waiting.push(match &s.last_error {
                Some(e) => format!("{} {} ({e})", s.name, state_word(other)),
                None => format!("{} {}", s.name, state_word(other)),
            }),
        }
    }
    if waiting.is_empty() { Observation::Healthy } else { Observation::Unhealthy(waiting.join("; ")) }
}

fn state_word(s: ServiceState) -> &'static str {
    match s {
        ServiceState::Starting => "is starting",
        ServiceState::Running => "is running",
        ServiceState::BackingOff => "is restarting after a failure",
        ServiceState::Failed => "failed",
        ServiceState::Quarantined => "failed again and again",
        ServiceState::Stopped => "stopped",
    }
}

impl UpdateKeeper {
    /// The gate, to its end: whether the system committed.
    async fn gate(&self, shutdown: &Shutdown) -> bool {
        let version = self.updates.layout().map(|l| l.running_version.to_string()).unwrap_or_default();
        tracing::info!(%version, grace_s = self.grace.as_secs(), "this system is on trial: it commits itself once every service has been healthy for the grace period");
        let mut gate = Gate::new(self.grace, self.limit, Instant::now());
        loop {
            let verdict = match gate.observe(Instant::now(), observe(&self.status)) {
                Verdict::Passed => {
                    let catalog = self.catalog.clone();
                    let check = tokio::task::spawn_blocking(move || {
                        catalog.read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))?))
                    })
                    .await;
                    match check {
                        Ok(Ok(ok)) if ok == "ok" => Verdict::Passed,
                        Ok(Ok(problem)) => Verdict::Failed(format!("the catalog's integrity check failed: {problem}")),
                        Ok(Err(e)) => Verdict::Failed(format!("the catalog's integrity check could not run: {e}")),
                        Err(e) => Verdict::Failed(format!("the catalog's integrity check stopped: {e}")),
                    }
                }
                other => other,
            };
            match verdict {
                Verdict::Waiting => {}
                Verdict::Passed => {
                    let updates = self.updates.clone();
                    match tokio::task::spawn_blocking(move || updates.commit()).await {
                        Ok(Ok(_)) => {
                            tracing::info!(%version, "this system passed its health gate and is committed");
                            return true;
                        }
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "this system passed its health gate but could not be committed; trying again")
                        }
                        Err(e) => tracing::error!(error = %e, "committing stopped"),
                    }
                }
                Verdict::Failed(reason) => {
                    tracing::error!(%version, %reason, "this system failed its health gate; restarting (the bootloader goes back after three tries)");
                    eprintln!("\n    Hearth: the updated system is not healthy ({reason}); restarting\n");
                    self.updates.note_trial_failure(&version, &reason);
                    match &self.power {
                        Some(p) => {
                            if let Err(e) = p.reboot() {
                                tracing::error!(error = %e, "could not restart the box");
                            }
                        }
                        None => tracing::warn!("not an appliance: not restarting"),
                    }
                    return false;
                }
            }
            tokio::select! {
                _ = shutdown.wait() => return false,
                _ = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    }
}

impl Service for UpdateKeeper {
    fn name(&self) -> &'static str {
        "updates"
    }

    fn run<'a>(&'a self, shutdown: Shutdown, ready: ReadySignal) -> BoxFuture<'a, Result<(), ServiceFailure>> {
        Box::pin(async move {
            ready.ready();
            if self.updates.on_trial() && !self.gate(&shutdown).await {
                shutdown.wait().await;
                return Ok(());
            }
            loop {
                if self.updates.channel_url().is_some() && self.updates.layout().is_some() {
                    let updates = self.updates.clone();
                    match tokio::task::spawn_blocking(move || updates.check()).await {
                        Ok(Ok(Some(offer))) => tracing::info!(version = %offer.version, "the update channel offers a newer system"),
                        Ok(Ok(None)) => tracing::debug!("the update channel offers nothing newer"),
                        Ok(Err(e)) => tracing::info!(error = %e, "the update channel could not be read"),
                        Err(e) => tracing::warn!(error = %e, "looking at the update channel stopped"),
                    }
                }
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    _ = tokio::time::sleep(self.check_every) => {}
                }
            }
        })
    }
}

/// `hearthd update-watch`: the backstop of a trial boot (see the module's comment).
pub fn watch(config: &hearth_core::config::Config, data: &Path, board: &str) -> ExitCode {
    let layout = match hearth_ota::layout::Layout::of_this_appliance(board) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hearth: update watch: {e}");
            return ExitCode::SUCCESS;
        }
    };
    if !layout.running_on_trial() {
        return ExitCode::SUCCESS;
    }
    // The daemon's own gate fails at the limit; this is for a daemon that never got that far.
    std::thread::sleep(config.update.trial_limit + Duration::from_secs(60));
    if !layout.running_on_trial() {
        return ExitCode::SUCCESS;
    }
    let version = layout.running_version.to_string();
    let reason = format!("hearthd did not pass its health gate within {} s of starting", config.update.trial_limit.as_secs() + 60);
    eprintln!("hearth: the updated system {version} is not healthy ({reason}); restarting");
    note_as_daemon(data, &version, &reason);
    use hearth_platform::power::{BusyboxInit, Power};
    match BusyboxInit.reboot() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: update watch: cannot restart: {e}");
            ExitCode::from(1)
        }
    }
}

/// Note why the trial failed in the daemon's update folder, owned as the folder is (this runs
/// as root; the daemon reads it after the rollback).
fn note_as_daemon(data: &Path, version: &str, reason: &str) {
    let dir: PathBuf = crate::privileged_helper::update_dir(data);
    let _ = std::fs::create_dir_all(&dir);
    let updates = Updates::new(None, hearth_ota::updates::Control::InProcess(Default::default()), dir.clone(), dir.join("unused"), None);
    updates.note_trial_failure(version, reason);
    if let Ok(meta) = std::fs::metadata(data) {
        use std::os::unix::fs::MetadataExt;
        let (uid, gid) = (nix::unistd::Uid::from_raw(meta.uid()), nix::unistd::Gid::from_raw(meta.gid()));
        for name in ["", hearth_ota::updates::TRIAL, hearth_ota::updates::HISTORY] {
            let _ = nix::unistd::chown(&dir.join(name), Some(uid), Some(gid));
        }
        let _ = nix::unistd::chown(&data.join("system"), Some(uid), Some(gid));
    }
}
