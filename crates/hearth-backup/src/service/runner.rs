//! One run at a time, as the `backup` worker process claims them, and the scheduler that queues
//! what is due.
//!
//! A backup run: the repository must already be there (it was made when the target was saved,
//! so a USB disk that is not mounted is reported, never replaced by a folder on the card) → a
//! consistent copy of the catalog → the files counted in the background for progress → the
//! engine's backup (packs an interrupted run stored are reused) → the job's retention (forget;
//! prune at most weekly) → the outcome in the catalog. A shutdown stops the run at the next file
//! and a queued run continues it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hearth_catalog::backups::{self, NewRun, Outcome, RunKind, RunRow, RunState};
use serde_json::json;

use super::job::{self, Keep, Scope};
use super::schedule::Schedule;
use super::{CHECK_EVERY, DRILL_EVERY, HISTORY_KEPT, ResolvedTarget, Service};
use crate::commands::{backup, check, forget, prune};
use crate::error::{BackupError, Result};
use crate::repository::Repository;

/// A target is pruned by a job at most this often (forgetting is cheap; pruning reads indexes
/// and rewrites packs).
pub const PRUNE_EVERY: i64 = 7 * 86400;
/// How often a running run's progress is written to the catalog.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The final state.
    pub state: RunState,
    /// The snapshot made or used.
    pub snapshot: Option<String>,
    /// What happened, for people.
    pub message: String,
    /// Figures (JSON).
    pub detail: serde_json::Value,
}

impl Finished {
    fn failed(e: &BackupError) -> Finished {
        let state = if matches!(e, BackupError::Cancelled) { RunState::Interrupted } else { RunState::Failed };
        Finished { state, snapshot: None, message: e.to_string(), detail: json!({}) }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn cancelled(cancel: &AtomicBool) -> Result<()> {
    if cancel.load(Ordering::Relaxed) { Err(BackupError::Cancelled) } else { Ok(()) }
}

impl Service {
    /// Work one claimed run to its end and record the outcome. `cancel` stops it early (the run
    /// ends interrupted and is continued by a queued one).
    pub fn execute(&self, run: &RunRow, cancel: &Arc<AtomicBool>) -> Result<Finished> {
        let finished = match run.kind {
            RunKind::Backup => self.run_backup(run, cancel),
            RunKind::Drill => self.run_drill(run, cancel),
            RunKind::Check => self.run_check(run, cancel),
            RunKind::Restore => self.run_restore(run, cancel),
        }
        .unwrap_or_else(|e| Finished::failed(&e));
        match finished.state {
            RunState::Failed => tracing::warn!(run = run.id, kind = run.kind.as_str(), message = %finished.message, "backup run failed"),
            _ => {
                tracing::info!(run = run.id, kind = run.kind.as_str(), state = finished.state.as_str(), message = %finished.message, "backup run ended")
            }
        }
        let detail = finished.detail.to_string();
        let outcome = Outcome { snapshot: finished.snapshot.as_deref(), message: Some(&finished.message), detail: Some(&detail) };
        self.catalog.write(|tx| {
            backups::finish_run(tx, run.id, finished.state, &outcome, now())?;
            backups::purge_history(tx, HISTORY_KEPT)?;
            Ok(())
        })?;
        Ok(finished)
    }

    /// Open the target's repository, which must exist.
    pub fn open_repository(&self, target: &ResolvedTarget) -> Result<Repository> {
        let (backend, password) = self.reach(target)?;
        Repository::open_in(backend, password.as_bytes(), &self.cache_dir())
    }

    /// The target's storage, which must hold a repository, and the password to open it.
    fn reach(&self, target: &ResolvedTarget) -> Result<(Arc<dyn crate::backend::Backend>, super::backup_key::BackupPassword)> {
        let password = self.password()?;
        let backend = target.spec.open(&target.secret)?;
        if !backend.exists()? {
            let hint = match target.spec.local_path() {
                Some(_) => "is the disk plugged in and mounted?",
                None => "was it deleted on the server?",
            };
            return Err(BackupError::NoRepository(format!("{} ({hint})", target.spec.location())));
        }
        Ok((backend, password))
    }

    fn run_backup(&self, run: &RunRow, cancel: &Arc<AtomicBool>) -> Result<Finished> {
        let job_id = run.job_id.ok_or_else(|| BackupError::Invalid("a backup run without a job".into()))?;
        let job = self.catalog.read(|r| backups::job(r, job_id))?.ok_or_else(|| BackupError::Invalid("the job was removed".into()))?;
        let scope: Scope =
            serde_json::from_str(&job.scope).map_err(|e| BackupError::Invalid(format!("the job's scope is damaged: {e}")))?;
        let keep: Keep =
            serde_json::from_str(&job.keep).map_err(|e| BackupError::Invalid(format!("the job's retention is damaged: {e}")))?;
        let target = self.target(job.target_id)?;
        let repo = self.open_repository(&target)?;
        cancelled(cancel)?;
        self.copy_catalog()?;
        let plan = job::plan(&self.data, &scope, target.spec.local_path());
        let progress = Arc::new(backup::BackupProgress::default());
        let done = Arc::new(AtomicBool::new(false));
        let reporter = self.report_progress(run.id, plan.clone(), progress.clone(), done.clone(), cancel.clone());
        let opts = backup::BackupOptions {
            paths: plan.paths.clone(),
            exclude_paths: plan.exclude_paths.clone(),
            host: Some(self.host.clone()),
            progress: Some(progress),
            cancel: Some(cancel.clone()),
            workers: 2,
            ..Default::default()
        };
        let result = backup::run(repo, &opts);
        done.store(true, Ordering::Relaxed);
        let _ = reporter.join();
        let report = result?;
        let s = &report.snapshot.summary;
        let mut message = format!(
            "{} new, {} changed, {} unchanged files; {} added",
            s.files_new,
            s.files_changed,
            s.files_unmodified,
            human_bytes(s.bytes_added)
        );
        if report.snapshot.partial {
            message.push_str(&format!("; {} could not be read (see the snapshot)", report.snapshot.errors.len()));
        }
        let retention =
            if cancel.load(Ordering::Relaxed) { None } else { Some(self.apply_retention(&target, job.id, job.last_prune_at, keep)) };
        match &retention {
            Some(Ok(note)) if !note.is_empty() => message.push_str(&format!("; {note}")),
            Some(Err(e)) => message.push_str(&format!("; old snapshots were not removed: {e}")),
            _ => {}
        }
        let detail = json!({
            "files_new": s.files_new, "files_changed": s.files_changed, "files_unmodified": s.files_unmodified,
            "dirs": s.dirs, "bytes_read": s.bytes_read, "bytes_added": s.bytes_added, "bytes_stored": s.bytes_stored,
            "duration_ms": s.duration_ms, "unreadable": report.snapshot.errors.len(),
        });
        let state = if report.snapshot.partial { RunState::Partial } else { RunState::Succeeded };
        Ok(Finished { state, snapshot: Some(report.name), message, detail })
    }

    /// Forget what the job's retention no longer keeps; prune when something was forgotten and
    /// the last prune is a week old. What was done, for the message.
    fn apply_retention(&self, target: &ResolvedTarget, job_id: i64, last_prune: Option<i64>, keep: Keep) -> Result<String> {
        // Forgetting reads snapshots only: no index to build (at millions of blobs, seconds).
        let (backend, password) = self.reach(target)?;
        let repo = Repository::open_without_index(backend, password.as_bytes())?;
        let forgotten = forget::run(&repo, &keep.policy(), false)?;
        let removed = forgotten.removed;
        if removed == 0 {
            return Ok(String::new());
        }
        let mut note = format!("{removed} old snapshot(s) forgotten");
        if last_prune.is_none_or(|t| now() - t >= PRUNE_EVERY) {
            let report = prune::run(self.open_repository(target)?, prune::PruneOptions::default())?;
            self.catalog.write(|tx| backups::set_last_prune(tx, job_id, now()))?;
            note.push_str(&format!(", {} freed", human_bytes(report.bytes_deleted.saturating_sub(report.bytes_written))));
        }
        Ok(note)
    }

    /// A consistent copy of the catalog at `DATA/backup/catalog/hearth.db` (SQLite's own copy,
    /// made beside it and renamed into place; only this worker writes there).
    fn copy_catalog(&self) -> Result<()> {
        let dest = self.data.join(job::CATALOG_COPY);
        let dir = dest.parent().unwrap_or(&self.data).to_path_buf();
        let io = |e| BackupError::io(dir.display().to_string(), e);
        hearth_platform::durable::ensure_writable_dir(&dir, 0o700).map_err(io)?;
        let tmp = dir.join(format!("hearth.db.new-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        self.catalog.copy_to(&tmp)?;
        // A journal left beside an earlier copy (someone opened it) would be applied to this one.
        for stale in ["hearth.db-wal", "hearth.db-shm", "hearth.db-journal"] {
            let _ = std::fs::remove_file(dir.join(stale));
        }
        std::fs::rename(&tmp, &dest).map_err(io)?;
        hearth_platform::durable::sync_dir(&dir).map_err(io)
    }

    /// A thread writing `progress` to the run's row every second until `done`; it counts the
    /// files first, for the totals.
    fn report_progress(
        &self,
        run_id: i64,
        plan: job::SourcePlan,
        progress: Arc<backup::BackupProgress>,
        done: Arc<AtomicBool>,
        cancel: Arc<AtomicBool>,
    ) -> std::thread::JoinHandle<()> {
        let catalog = self.catalog.clone();
        std::thread::spawn(move || {
            let stop = || done.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed);
            let totals = job::measure(&plan, &stop);
            let mut first = true;
            loop {
                let (files, bytes) = (progress.files.load(Ordering::Relaxed), progress.bytes.load(Ordering::Relaxed));
                let (ft, bt) = match totals {
                    Some((f, b)) if first => (Some(f), Some(b)),
                    _ => (None, None),
                };
                first = false;
                if let Err(e) = catalog.write(|tx| backups::report_progress(tx, run_id, files, bytes, ft, bt)) {
                    tracing::debug!(error = %e, "progress not recorded");
                }
                if stop() {
                    return;
                }
                std::thread::sleep(PROGRESS_EVERY);
            }
        })
    }

    fn run_check(&self, run: &RunRow, cancel: &Arc<AtomicBool>) -> Result<Finished> {
        let target = self.target(run.target_id)?;
        let mut repo = self.open_repository(&target)?;
        cancelled(cancel)?;
        let report = check::run(&mut repo, check::CheckOptions { read_data: false, read_data_subset: Some(10) })?;
        let detail = json!({ "packs_read": report.packs_read, "blobs_read": report.blobs_read, "snapshots": report.snapshots, "problems": report.problems });
        if report.ok() {
            let message =
                format!("{} snapshots and {} packs ({} blobs) checked: no damage", report.snapshots, report.packs_read, report.blobs_read);
            Ok(Finished { state: RunState::Succeeded, snapshot: None, message, detail })
        } else {
            let first = report.problems.first().cloned().unwrap_or_default();
            let message = format!("{} problem(s) found, first: {first}", report.problems.len());
            Ok(Finished { state: RunState::Failed, snapshot: None, message, detail })
        }
    }

    /// Queue what is due at `now`: jobs whose time came, drills and checks of targets. A job
    /// planned further ahead than its schedule allows (the clock went backwards) is planned
    /// again; a run missed while the box was off runs once, not once per missed time. The worker
    /// asks every two seconds: the plan is made from a read, and the catalog is written only
    /// when something changes.
    pub fn queue_due(&self, now: i64) -> Result<usize> {
        let zone = self.zone()?;
        let jobs = self.catalog.read(backups::jobs)?;
        let targets = self.catalog.read(backups::targets)?;
        let steps = plan_due(&jobs, &targets, now, &zone);
        if steps.is_empty() {
            return Ok(0);
        }
        Ok(self.catalog.write(|tx| {
            let mut queued = 0;
            for step in &steps {
                match *step {
                    Due::Run { job_id, target_id, kind } => {
                        let run = NewRun { job_id, target_id, kind, requested_by: None, request: None, message: Some("scheduled") };
                        if backups::queue_run(tx, &run, now)?.1 {
                            queued += 1;
                        }
                    }
                    Due::JobNext { job_id, at } => backups::set_next_run(tx, job_id, at)?,
                    Due::TargetNext { target_id, kind: RunKind::Drill, at } => backups::set_target_due(tx, target_id, Some(at), None)?,
                    Due::TargetNext { target_id, at, .. } => backups::set_target_due(tx, target_id, None, Some(at))?,
                }
            }
            Ok(queued)
        })?)
    }
}

/// One change the scheduler makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// Queue a run.
    Run { job_id: Option<i64>, target_id: i64, kind: RunKind },
    /// Plan a job's next run.
    JobNext { job_id: i64, at: i64 },
    /// Plan a target's next drill or check.
    TargetNext { target_id: i64, kind: RunKind, at: i64 },
}

/// What the schedules ask for at `now`, in order.
fn plan_due(jobs: &[backups::JobRow], targets: &[backups::TargetRow], now: i64, zone: &jiff::tz::TimeZone) -> Vec<Due> {
    let mut steps = Vec::new();
    for j in jobs.iter().filter(|j| j.enabled) {
        let Ok(schedule) = Schedule::parse(&j.schedule) else { continue };
        let Some(next) = schedule.next_after(now, zone) else { continue };
        let replan = match j.next_run_at {
            Some(at) if at <= now => {
                steps.push(Due::Run { job_id: Some(j.id), target_id: j.target_id, kind: RunKind::Backup });
                true
            }
            Some(at) => schedule.longest_gap().is_some_and(|gap| at - now > gap),
            None => true,
        };
        if replan {
            steps.push(Due::JobNext { job_id: j.id, at: next });
        }
    }
    for t in targets {
        for (kind, due, every) in [(RunKind::Drill, t.drill_next_at, DRILL_EVERY), (RunKind::Check, t.check_next_at, CHECK_EVERY)] {
            let Some(at) = due else { continue };
            // Due now, or planned past what the clock allows (it went backwards): plan again.
            let run_now = at <= now;
            if run_now {
                steps.push(Due::Run { job_id: None, target_id: t.id, kind });
            }
            if run_now || at - now > every + 86400 {
                steps.push(Due::TargetNext { target_id: t.id, kind, at: now + every });
            }
        }
    }
    steps
}

/// `1.5 GB`, for messages.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 { format!("{n} bytes") } else { format!("{v:.1} {}", UNITS[u]) }
}
