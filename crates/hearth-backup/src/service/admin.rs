//! What the owner does with the service (the API's thin handlers call these): test and save
//! targets, add and change jobs, ask for runs. Everything is checked here, so the API, the CLI
//! and the tests get the same answers.

use hearth_catalog::backups::{self, NewJob, NewRun, NewTarget, RunKind};
use serde::Serialize;

use super::job::{Keep, Scope};
use super::restore::RestoreRequest;
use super::schedule::{NIGHTLY, Schedule};
use super::target::{self, RepositoryState, TargetSecret, TargetSpec};
use super::{CHECK_EVERY, DRILL_EVERY, Service};
use crate::error::{BackupError, Result};
use crate::keyfile::Kdf;

/// A name for people: 1 to 64 characters, no control characters, trimmed.
fn check_name(what: &str, name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(BackupError::Invalid(format!("give the {what} a name of 1 to 64 characters")));
    }
    Ok(n.to_string())
}

/// What testing a target found.
#[derive(Debug, Clone, Serialize)]
pub struct TargetTest {
    /// Empty, or a repository this box's password opens.
    pub repository: RepositoryState,
    /// Where, for people.
    pub location: String,
}

/// Changes to a job (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct JobChange {
    /// New schedule text.
    pub schedule: Option<String>,
    /// New retention.
    pub keep: Option<Keep>,
    /// Whether the schedule runs it.
    pub enabled: Option<bool>,
}

impl Service {
    /// Connect to a target and look at what is there, writing nothing.
    pub fn test_target(&self, spec: TargetSpec, secret: &TargetSecret) -> Result<TargetTest> {
        let spec = spec.validated(secret)?;
        let password = self.password()?;
        let repository = target::probe(&spec, secret, &password)?;
        Ok(TargetTest { repository, location: spec.location() })
    }

    /// Test a target, make its repository if it is empty (a second box's password never opens
    /// it), and save it with its credentials sealed. Its first drill is due in a week, its first
    /// check in a month.
    pub fn add_target(&self, name: &str, spec: TargetSpec, secret: &TargetSecret, kdf: Kdf, now: i64) -> Result<(i64, RepositoryState)> {
        let name = check_name("target", name)?;
        let spec = spec.validated(secret)?;
        let password = self.password()?;
        if self.catalog.read(backups::targets)?.iter().any(|t| t.name == name) {
            return Err(BackupError::AlreadyExists(format!("a backup target named {name:?}")));
        }
        let state = target::ensure_repository(&spec, secret, &password, kdf)?;
        let sealed = self.seal_secret(secret)?;
        let spec_json = serde_json::to_string(&spec).map_err(|e| BackupError::Invalid(e.to_string()))?;
        let cert = match &spec {
            TargetSpec::Hearth { cert_sha256, .. } => Some(cert_sha256.clone()),
            _ => None,
        };
        let row = NewTarget {
            name: &name,
            kind: spec.kind(),
            spec: &spec_json,
            sealed_secret: sealed.as_deref(),
            cert_sha256: cert.as_deref(),
            drill_next_at: now + DRILL_EVERY,
            check_next_at: now + CHECK_EVERY,
        };
        let id = self.catalog.write(|tx| backups::add_target(tx, &row, now))?;
        Ok((id, state))
    }

    /// Add a job: everything on the box nightly with the default retention unless told
    /// otherwise. Its first run is the next scheduled time.
    pub fn add_job(
        &self,
        name: &str,
        target_id: i64,
        scope: Option<Scope>,
        schedule: Option<&str>,
        keep: Option<Keep>,
        now: i64,
    ) -> Result<i64> {
        let name = check_name("job", name)?;
        let scope = scope.unwrap_or(Scope::Everything).validated()?;
        let schedule = match schedule {
            Some(s) => Schedule::parse(s)?,
            None => NIGHTLY,
        };
        let keep = keep.unwrap_or_default().validated()?;
        self.password()?;
        let zone = self.zone()?;
        let (scope_json, keep_json) = (to_json(&scope)?, to_json(&keep)?);
        let schedule_text = schedule.to_string();
        let row = NewJob {
            name: &name,
            target_id,
            scope: &scope_json,
            schedule: &schedule_text,
            keep: &keep_json,
            next_run_at: schedule.next_after(now, &zone),
        };
        Ok(self.catalog.write(|tx| backups::add_job(tx, &row, now))?)
    }

    /// Change a job; whether it exists. A new schedule takes effect from now.
    pub fn change_job(&self, id: i64, change: &JobChange, now: i64) -> Result<bool> {
        let schedule = change.schedule.as_deref().map(Schedule::parse).transpose()?;
        let keep = change.keep.map(Keep::validated).transpose()?;
        let keep_json = keep.as_ref().map(to_json).transpose()?;
        let zone = self.zone()?;
        let next = schedule.and_then(|s| s.next_after(now, &zone));
        let schedule_text = schedule.map(|s| s.to_string());
        Ok(self.catalog.write(|tx| {
            let found = backups::update_job(tx, id, schedule_text.as_deref(), keep_json.as_deref(), change.enabled, next)?;
            // Manual: nothing is planned.
            if schedule == Some(Schedule::Manual) {
                tx.execute("UPDATE backup_jobs SET next_run_at = NULL WHERE id = ?1", [id])?;
            }
            Ok(found)
        })?)
    }

    /// Queue a backup of a job now; the run's id and whether it is new (one already queued or
    /// running is returned instead).
    pub fn request_backup(&self, job_id: i64, user: Option<i64>, now: i64) -> Result<(i64, bool)> {
        let job = self.catalog.read(|r| backups::job(r, job_id))?.ok_or_else(|| BackupError::Invalid(format!("no backup job {job_id}")))?;
        let run = NewRun {
            job_id: Some(job.id),
            target_id: job.target_id,
            kind: RunKind::Backup,
            requested_by: user,
            request: None,
            message: Some("asked for"),
        };
        Ok(self.catalog.write(|tx| backups::queue_run(tx, &run, now))?)
    }

    /// Queue a drill or a check of a target now.
    pub fn request_verification(&self, target_id: i64, kind: RunKind, user: Option<i64>, now: i64) -> Result<(i64, bool)> {
        if !matches!(kind, RunKind::Drill | RunKind::Check) {
            return Err(BackupError::Invalid("only drills and checks verify a target".into()));
        }
        self.target(target_id)?;
        let run = NewRun { job_id: None, target_id, kind, requested_by: user, request: None, message: Some("asked for") };
        Ok(self.catalog.write(|tx| backups::queue_run(tx, &run, now))?)
    }

    /// Queue a restore.
    pub fn request_restore(&self, target_id: i64, request: RestoreRequest, user: Option<i64>, now: i64) -> Result<i64> {
        let request = request.validated()?;
        self.target(target_id)?;
        let json = to_json(&request)?;
        let run = NewRun {
            job_id: None,
            target_id,
            kind: RunKind::Restore,
            requested_by: user,
            request: Some(&json),
            message: Some("asked for"),
        };
        Ok(self.catalog.write(|tx| backups::queue_run(tx, &run, now))?.0)
    }

    /// The box's time zone (box settings), UTC when unset.
    pub fn zone(&self) -> Result<jiff::tz::TimeZone> {
        let zone = self.catalog.read(hearth_catalog::settings::time_zone)?;
        Ok(zone.map(|z| z.zone()).unwrap_or(jiff::tz::TimeZone::UTC))
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| BackupError::Invalid(e.to_string()))
}
