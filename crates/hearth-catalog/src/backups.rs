//! Backups as a service (migration 14): targets, jobs and runs. The rows hold what the backup
//! service (`hearth_backup::service`) decided; their JSON columns and sealed credentials are
//! opaque here.
//!
//! The life of a run: [`queue_run`] (queued; a second request for the same job or target and
//! kind while one is open gets the open one) → [`claim_next`] (running) → [`report_progress`]
//! while it works → [`finish_run`]. A run still running when the backup worker starts was cut
//! off by a power cut or a crash: [`interrupt_running`] ends it as interrupted and queues one
//! that continues it (the engine reuses what was already stored).

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::CatalogError;

/// Where a target keeps its repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A folder on a disk the box has mounted (a USB disk).
    Folder,
    /// Any restic REST server.
    Rest,
    /// Another Hearth's `/restic/` endpoints, its certificate pinned.
    Hearth,
    /// S3-compatible storage.
    S3,
}

impl TargetKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Folder => "folder",
            TargetKind::Rest => "rest",
            TargetKind::Hearth => "hearth",
            TargetKind::S3 => "s3",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<TargetKind> {
        Some(match s {
            "folder" => TargetKind::Folder,
            "rest" => TargetKind::Rest,
            "hearth" => TargetKind::Hearth,
            "s3" => TargetKind::S3,
            _ => return None,
        })
    }
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A snapshot of a job's scope, then its retention.
    Backup,
    /// A restore drill: a sample of files restored and compared.
    Drill,
    /// A partial read of the packs (`check --read-data-subset`).
    Check,
    /// A restore someone asked for.
    Restore,
}

impl RunKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Backup => "backup",
            RunKind::Drill => "drill",
            RunKind::Check => "check",
            RunKind::Restore => "restore",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<RunKind> {
        Ok(match s {
            "backup" => RunKind::Backup,
            "drill" => RunKind::Drill,
            "check" => RunKind::Check,
            "restore" => RunKind::Restore,
            other => return Err(bad_text("backup_runs.kind", other)),
        })
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Waiting for the worker.
    Queued,
    /// In hand.
    Running,
    /// Done, nothing wrong.
    Succeeded,
    /// Done, but some files could not be read (the snapshot says which) or differ.
    Partial,
    /// Did not do its work; `message` says why.
    Failed,
    /// Stopped by a shutdown or power cut; a queued run continues it.
    Interrupted,
}

impl RunState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Partial => "partial",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<RunState> {
        Ok(match s {
            "queued" => RunState::Queued,
            "running" => RunState::Running,
            "succeeded" => RunState::Succeeded,
            "partial" => RunState::Partial,
            "failed" => RunState::Failed,
            "interrupted" => RunState::Interrupted,
            other => return Err(bad_text("backup_runs.state", other)),
        })
    }

    /// Whether the run has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, RunState::Queued | RunState::Running)
    }
}

fn bad_text(column: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, format!("{column} holds {value:?}").into())
}

/// A target as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    /// Id.
    pub id: i64,
    /// A name for people, unique.
    pub name: String,
    /// Kind.
    pub kind: TargetKind,
    /// JSON without secrets.
    pub spec: String,
    /// Credentials, sealed.
    pub sealed_secret: Option<Vec<u8>>,
    /// The pinned certificate (hex SHA-256), for another Hearth.
    pub cert_sha256: Option<String>,
    /// When it was added.
    pub created_at: i64,
    /// When the next drill is due.
    pub drill_next_at: Option<i64>,
    /// When the next partial read of the packs is due.
    pub check_next_at: Option<i64>,
}

/// A target to add.
#[derive(Debug, Clone)]
pub struct NewTarget<'a> {
    /// Name.
    pub name: &'a str,
    /// Kind.
    pub kind: TargetKind,
    /// JSON without secrets.
    pub spec: &'a str,
    /// Credentials, sealed.
    pub sealed_secret: Option<&'a [u8]>,
    /// Pinned certificate.
    pub cert_sha256: Option<&'a str>,
    /// First drill.
    pub drill_next_at: i64,
    /// First check.
    pub check_next_at: i64,
}

const TARGET_COLUMNS: &str = "id, name, kind, spec, sealed_secret, cert_sha256, created_at, drill_next_at, check_next_at";

fn target_row(r: &Row<'_>) -> rusqlite::Result<TargetRow> {
    let kind: String = r.get(2)?;
    Ok(TargetRow {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: TargetKind::parse(&kind).ok_or_else(|| bad_text("backup_targets.kind", &kind))?,
        spec: r.get(3)?,
        sealed_secret: r.get(4)?,
        cert_sha256: r.get(5)?,
        created_at: r.get(6)?,
        drill_next_at: r.get(7)?,
        check_next_at: r.get(8)?,
    })
}

/// Add a target; its id. A name that is taken is a conflict.
pub fn add_target(conn: &Connection, t: &NewTarget<'_>, now: i64) -> Result<i64, CatalogError> {
    conn.execute(
        "INSERT INTO backup_targets (name, kind, spec, sealed_secret, cert_sha256, created_at, drill_next_at, check_next_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![t.name, t.kind.as_str(), t.spec, t.sealed_secret, t.cert_sha256, now, t.drill_next_at, t.check_next_at],
    )
    .map_err(|e| match CatalogError::from(e) {
        CatalogError::Conflict(_) => CatalogError::Conflict(format!("a backup target named {:?} exists", t.name)),
        other => other,
    })?;
    Ok(conn.last_insert_rowid())
}

/// Every target, by name.
pub fn targets(conn: &Connection) -> Result<Vec<TargetRow>, CatalogError> {
    let mut stmt = conn.prepare(&format!("SELECT {TARGET_COLUMNS} FROM backup_targets ORDER BY name, id"))?;
    let rows = stmt.query_map([], target_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One target.
pub fn target(conn: &Connection, id: i64) -> Result<Option<TargetRow>, CatalogError> {
    Ok(conn.query_row(&format!("SELECT {TARGET_COLUMNS} FROM backup_targets WHERE id = ?1"), [id], target_row).optional()?)
}

/// Remove a target and its runs' history; refused while a job backs up to it. Whether it existed.
pub fn remove_target(conn: &Connection, id: i64) -> Result<bool, CatalogError> {
    let jobs: i64 = conn.query_row("SELECT count(*) FROM backup_jobs WHERE target_id = ?1", [id], |r| r.get(0))?;
    if jobs > 0 {
        return Err(CatalogError::Conflict(format!("{jobs} backup job(s) use this target; remove them first")));
    }
    Ok(conn.execute("DELETE FROM backup_targets WHERE id = ?1", [id])? > 0)
}

/// Set when the target's next drill and check are due.
pub fn set_target_due(conn: &Connection, id: i64, drill_next_at: Option<i64>, check_next_at: Option<i64>) -> Result<(), CatalogError> {
    conn.execute(
        "UPDATE backup_targets SET drill_next_at = coalesce(?2, drill_next_at), check_next_at = coalesce(?3, check_next_at) WHERE id = ?1",
        params![id, drill_next_at, check_next_at],
    )?;
    Ok(())
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Id.
    pub id: i64,
    /// A name for people, unique.
    pub name: String,
    /// Where it backs up to.
    pub target_id: i64,
    /// JSON: what.
    pub scope: String,
    /// When (`daily 03:00`, …).
    pub schedule: String,
    /// JSON: retention.
    pub keep: String,
    /// Whether the schedule runs it.
    pub enabled: bool,
    /// When the schedule runs it next.
    pub next_run_at: Option<i64>,
    /// When its target was last pruned by it.
    pub last_prune_at: Option<i64>,
    /// When it was added.
    pub created_at: i64,
}

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// Name.
    pub name: &'a str,
    /// Target.
    pub target_id: i64,
    /// JSON: what.
    pub scope: &'a str,
    /// When.
    pub schedule: &'a str,
    /// JSON: retention.
    pub keep: &'a str,
    /// First scheduled run.
    pub next_run_at: Option<i64>,
}

const JOB_COLUMNS: &str = "id, name, target_id, scope, schedule, keep, enabled, next_run_at, last_prune_at, created_at";

fn job_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        name: r.get(1)?,
        target_id: r.get(2)?,
        scope: r.get(3)?,
        schedule: r.get(4)?,
        keep: r.get(5)?,
        enabled: r.get(6)?,
        next_run_at: r.get(7)?,
        last_prune_at: r.get(8)?,
        created_at: r.get(9)?,
    })
}

/// Add a job; its id.
pub fn add_job(conn: &Connection, j: &NewJob<'_>, now: i64) -> Result<i64, CatalogError> {
    if target(conn, j.target_id)?.is_none() {
        return Err(CatalogError::NotFound(format!("backup target {}", j.target_id)));
    }
    conn.execute(
        "INSERT INTO backup_jobs (name, target_id, scope, schedule, keep, next_run_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![j.name, j.target_id, j.scope, j.schedule, j.keep, j.next_run_at, now],
    )
    .map_err(|e| match CatalogError::from(e) {
        CatalogError::Conflict(_) => CatalogError::Conflict(format!("a backup job named {:?} exists", j.name)),
        other => other,
    })?;
    Ok(conn.last_insert_rowid())
}

/// Every job, by name.
pub fn jobs(conn: &Connection) -> Result<Vec<JobRow>, CatalogError> {
    let mut stmt = conn.prepare(&format!("SELECT {JOB_COLUMNS} FROM backup_jobs ORDER BY name, id"))?;
    let rows = stmt.query_map([], job_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One job.
pub fn job(conn: &Connection, id: i64) -> Result<Option<JobRow>, CatalogError> {
    Ok(conn.query_row(&format!("SELECT {JOB_COLUMNS} FROM backup_jobs WHERE id = ?1"), [id], job_row).optional()?)
}

/// Change a job's schedule, retention and whether it runs (`None`: unchanged); whether it exists.
pub fn update_job(
    conn: &Connection,
    id: i64,
    schedule: Option<&str>,
    keep: Option<&str>,
    enabled: Option<bool>,
    next_run_at: Option<i64>,
) -> Result<bool, CatalogError> {
    Ok(conn.execute(
        "UPDATE backup_jobs SET schedule = coalesce(?2, schedule), keep = coalesce(?3, keep),
                enabled = coalesce(?4, enabled), next_run_at = coalesce(?5, next_run_at) WHERE id = ?1",
        params![id, schedule, keep, enabled, next_run_at],
    )? > 0)
}

/// Set when the schedule runs a job next.
pub fn set_next_run(conn: &Connection, id: i64, at: i64) -> Result<(), CatalogError> {
    conn.execute("UPDATE backup_jobs SET next_run_at = ?2 WHERE id = ?1", params![id, at])?;
    Ok(())
}

/// Record that a job pruned its target.
pub fn set_last_prune(conn: &Connection, id: i64, at: i64) -> Result<(), CatalogError> {
    conn.execute("UPDATE backup_jobs SET last_prune_at = ?2 WHERE id = ?1", params![id, at])?;
    Ok(())
}

/// Remove a job and its history; whether it existed. A run in hand finishes on its own.
pub fn remove_job(conn: &Connection, id: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM backup_jobs WHERE id = ?1", [id])? > 0)
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRow {
    /// Id.
    pub id: i64,
    /// The job (backups), if any.
    pub job_id: Option<i64>,
    /// The target.
    pub target_id: i64,
    /// What it does.
    pub kind: RunKind,
    /// Where it is.
    pub state: RunState,
    /// Who asked (none: the schedule).
    pub requested_by: Option<i64>,
    /// JSON: what a restore restores.
    #[serde(skip)]
    pub request: Option<String>,
    /// Times (Unix seconds).
    pub queued_at: i64,
    /// When the worker took it.
    pub started_at: Option<i64>,
    /// When it ended.
    pub ended_at: Option<i64>,
    /// Files looked at so far.
    pub files_done: i64,
    /// Files in all, once counted.
    pub files_total: Option<i64>,
    /// Bytes looked at so far.
    pub bytes_done: i64,
    /// Bytes in all, once counted.
    pub bytes_total: Option<i64>,
    /// The snapshot it made or used.
    pub snapshot: Option<String>,
    /// What happened, for people.
    pub message: Option<String>,
    /// JSON: the engine's figures.
    #[serde(skip)]
    pub detail: Option<String>,
}

const RUN_COLUMNS: &str = "id, job_id, target_id, kind, state, requested_by, request, queued_at, started_at, ended_at,
     files_done, files_total, bytes_done, bytes_total, snapshot, message, detail";

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        job_id: r.get(1)?,
        target_id: r.get(2)?,
        kind: RunKind::parse(&r.get::<_, String>(3)?)?,
        state: RunState::parse(&r.get::<_, String>(4)?)?,
        requested_by: r.get(5)?,
        request: r.get(6)?,
        queued_at: r.get(7)?,
        started_at: r.get(8)?,
        ended_at: r.get(9)?,
        files_done: r.get(10)?,
        files_total: r.get(11)?,
        bytes_done: r.get(12)?,
        bytes_total: r.get(13)?,
        snapshot: r.get(14)?,
        message: r.get(15)?,
        detail: r.get(16)?,
    })
}

/// A run to queue.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// The job (backups).
    pub job_id: Option<i64>,
    /// The target.
    pub target_id: i64,
    /// What.
    pub kind: RunKind,
    /// Who asked.
    pub requested_by: Option<i64>,
    /// JSON: what a restore restores.
    pub request: Option<&'a str>,
    /// Shown until it starts (why it was queued).
    pub message: Option<&'a str>,
}

/// Queue a run; its id and whether it is new. A backup, drill or check already queued or running
/// for the same job (or target) is returned instead of a second one; restores always queue.
pub fn queue_run(conn: &Connection, run: &NewRun<'_>, now: i64) -> Result<(i64, bool), CatalogError> {
    if run.kind != RunKind::Restore {
        let open: Option<i64> = conn
            .query_row(
                "SELECT id FROM backup_runs WHERE state IN ('queued', 'running') AND kind = ?1 AND target_id = ?2
                   AND job_id IS ?3 ORDER BY id LIMIT 1",
                params![run.kind.as_str(), run.target_id, run.job_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = open {
            return Ok((id, false));
        }
    }
    conn.execute(
        "INSERT INTO backup_runs (job_id, target_id, kind, requested_by, request, queued_at, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![run.job_id, run.target_id, run.kind.as_str(), run.requested_by, run.request, now, run.message],
    )?;
    Ok((conn.last_insert_rowid(), true))
}

/// Take the oldest queued run (restores first: someone is waiting for them).
pub fn claim_next(conn: &Connection, now: i64) -> Result<Option<RunRow>, CatalogError> {
    let id: Option<i64> = conn
        .query_row("SELECT id FROM backup_runs WHERE state = 'queued' ORDER BY kind = 'restore' DESC, id LIMIT 1", [], |r| r.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    conn.execute(
        "UPDATE backup_runs SET state = 'running', started_at = ?2, message = NULL, files_done = 0, bytes_done = 0 WHERE id = ?1",
        params![id, now],
    )?;
    run(conn, id)
}

/// Whether any run is queued.
pub fn has_queued(conn: &Connection) -> Result<bool, CatalogError> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM backup_runs WHERE state = 'queued')", [], |r| r.get(0))?)
}

/// Progress of a running run. Totals are set once known (`None`: unchanged).
pub fn report_progress(
    conn: &Connection,
    id: i64,
    files_done: u64,
    bytes_done: u64,
    files_total: Option<u64>,
    bytes_total: Option<u64>,
) -> Result<(), CatalogError> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    conn.execute(
        "UPDATE backup_runs SET files_done = ?2, bytes_done = ?3, files_total = coalesce(?4, files_total),
                bytes_total = coalesce(?5, bytes_total) WHERE id = ?1 AND state = 'running'",
        params![id, clamp(files_done), clamp(bytes_done), files_total.map(clamp), bytes_total.map(clamp)],
    )?;
    Ok(())
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome<'a> {
    /// The snapshot made or used.
    pub snapshot: Option<&'a str>,
    /// What happened, for people.
    pub message: Option<&'a str>,
    /// JSON figures.
    pub detail: Option<&'a str>,
}

/// End a run. An interrupted run is followed by a queued one that continues it.
pub fn finish_run(conn: &Connection, id: i64, state: RunState, outcome: &Outcome<'_>, now: i64) -> Result<(), CatalogError> {
    conn.execute(
        "UPDATE backup_runs SET state = ?2, ended_at = ?3, snapshot = coalesce(?4, snapshot), message = ?5, detail = ?6 WHERE id = ?1",
        params![id, state.as_str(), now, outcome.snapshot, outcome.message, outcome.detail],
    )?;
    if state == RunState::Interrupted {
        continue_run(conn, id, now)?;
    }
    Ok(())
}

fn continue_run(conn: &Connection, id: i64, now: i64) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO backup_runs (job_id, target_id, kind, requested_by, request, queued_at, message)
         SELECT job_id, target_id, kind, requested_by, request, ?2, 'continues run ' || id || ', which was interrupted'
           FROM backup_runs WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Runs left running by a worker that is gone (a power cut, a crash): each ends as interrupted
/// and a queued run continues it. How many.
pub fn interrupt_running(conn: &Connection, now: i64) -> Result<usize, CatalogError> {
    let ids: Vec<i64> =
        conn.prepare("SELECT id FROM backup_runs WHERE state = 'running'")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    for &id in &ids {
        finish_run(
            conn,
            id,
            RunState::Interrupted,
            &Outcome { message: Some("stopped by a power cut or a restart; a new run continues it"), ..Default::default() },
            now,
        )?;
    }
    Ok(ids.len())
}

/// One run.
pub fn run(conn: &Connection, id: i64) -> Result<Option<RunRow>, CatalogError> {
    Ok(conn.query_row(&format!("SELECT {RUN_COLUMNS} FROM backup_runs WHERE id = ?1"), [id], run_row).optional()?)
}

/// Which runs to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFilter {
    /// Only this job's.
    pub job_id: Option<i64>,
    /// Only this target's.
    pub target_id: Option<i64>,
    /// Only this kind.
    pub kind: Option<RunKind>,
    /// Only runs that ended.
    pub ended: bool,
}

/// Runs, newest first, at most `limit`.
pub fn runs(conn: &Connection, filter: RunFilter, limit: u32) -> Result<Vec<RunRow>, CatalogError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RUN_COLUMNS} FROM backup_runs
          WHERE (?1 IS NULL OR job_id = ?1) AND (?2 IS NULL OR target_id = ?2) AND (?3 IS NULL OR kind = ?3)
            AND (?4 = 0 OR ended_at IS NOT NULL)
          ORDER BY id DESC LIMIT ?5"
    ))?;
    let rows = stmt
        .query_map(params![filter.job_id, filter.target_id, filter.kind.map(RunKind::as_str), filter.ended, limit], run_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Forget ended runs beyond the newest `keep` of each job and target and kind.
pub fn purge_history(conn: &Connection, keep: u32) -> Result<usize, CatalogError> {
    Ok(conn.execute(
        "DELETE FROM backup_runs WHERE id IN (
            SELECT id FROM (
                SELECT id, ended_at, row_number() OVER (PARTITION BY job_id, target_id, kind ORDER BY id DESC) AS n FROM backup_runs
            ) WHERE n > ?1 AND ended_at IS NOT NULL)",
        [keep],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    fn catalog() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (c, _) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
        (dir, c)
    }

    fn target_and_job(c: &Catalog) -> (i64, i64) {
        c.write(|tx| {
            let t = add_target(
                tx,
                &NewTarget {
                    name: "usb",
                    kind: TargetKind::Folder,
                    spec: r#"{"path":"/mnt/usb"}"#,
                    sealed_secret: None,
                    cert_sha256: None,
                    drill_next_at: 100,
                    check_next_at: 200,
                },
                1,
            )?;
            let j = add_job(
                tx,
                &NewJob { name: "nightly", target_id: t, scope: "{}", schedule: "daily 03:00", keep: "{}", next_run_at: Some(10) },
                1,
            )?;
            Ok((t, j))
        })
        .expect("add")
    }

    #[test]
    fn names_are_unique_and_a_used_target_cannot_go() {
        let (_d, c) = catalog();
        let (t, j) = target_and_job(&c);
        let again = c.write(|tx| {
            add_target(
                tx,
                &NewTarget {
                    name: "usb",
                    kind: TargetKind::S3,
                    spec: "{}",
                    sealed_secret: Some(b"x"),
                    cert_sha256: None,
                    drill_next_at: 0,
                    check_next_at: 0,
                },
                1,
            )
        });
        assert!(matches!(again, Err(CatalogError::Conflict(m)) if m.contains("usb")));
        assert!(matches!(c.write(|tx| remove_target(tx, t)), Err(CatalogError::Conflict(_))));
        assert!(c.write(|tx| remove_job(tx, j)).expect("remove job"));
        assert!(c.write(|tx| remove_target(tx, t)).expect("remove target"));
        assert!(c.read(targets).expect("list").is_empty());
    }

    #[test]
    fn one_open_run_per_job_and_kind_restores_first() {
        let (_d, c) = catalog();
        let (t, j) = target_and_job(&c);
        let backup = NewRun { job_id: Some(j), target_id: t, kind: RunKind::Backup, requested_by: None, request: None, message: None };
        let (a, new_a) = c.write(|tx| queue_run(tx, &backup, 5)).expect("queue");
        let (b, new_b) = c.write(|tx| queue_run(tx, &backup, 6)).expect("queue");
        assert!(new_a && !new_b && a == b, "a second request joins the open run");
        let restore = NewRun { kind: RunKind::Restore, job_id: None, request: Some("{}"), ..backup.clone() };
        let (r, _) = c.write(|tx| queue_run(tx, &restore, 7)).expect("queue restore");
        let first = c.write(|tx| claim_next(tx, 8)).expect("claim").expect("a run");
        assert_eq!(first.id, r, "someone waits for a restore");
        let second = c.write(|tx| claim_next(tx, 8)).expect("claim").expect("a run");
        assert_eq!((second.id, second.state, second.started_at), (a, RunState::Running, Some(8)));
        assert!(c.write(|tx| claim_next(tx, 9)).expect("claim").is_none());
        c.write(|tx| report_progress(tx, a, 3, 300, Some(10), Some(1000))).expect("progress");
        c.write(|tx| finish_run(tx, a, RunState::Succeeded, &Outcome { snapshot: Some("abc"), ..Default::default() }, 20)).expect("finish");
        let done = c.read(|r| run(r, a)).expect("read").expect("run");
        assert_eq!(
            (done.state, done.files_done, done.bytes_total, done.snapshot.as_deref()),
            (RunState::Succeeded, 3, Some(1000), Some("abc"))
        );
        // Finished: the next request queues a new run.
        assert!(c.write(|tx| queue_run(tx, &backup, 30)).expect("queue").1);
    }

    #[test]
    fn a_run_cut_off_is_interrupted_and_continued() {
        let (_d, c) = catalog();
        let (t, j) = target_and_job(&c);
        let backup = NewRun { job_id: Some(j), target_id: t, kind: RunKind::Backup, requested_by: None, request: None, message: None };
        let (a, _) = c.write(|tx| queue_run(tx, &backup, 5)).expect("queue");
        c.write(|tx| claim_next(tx, 6)).expect("claim");
        assert_eq!(c.write(|tx| interrupt_running(tx, 7)).expect("interrupt"), 1);
        let all = c.read(|r| runs(r, RunFilter { job_id: Some(j), ..Default::default() }, 10)).expect("runs");
        assert_eq!(all.len(), 2);
        assert_eq!((all[1].id, all[1].state), (a, RunState::Interrupted));
        assert_eq!(all[0].state, RunState::Queued);
        assert!(all[0].message.as_deref().is_some_and(|m| m.contains(&format!("run {a}"))), "{:?}", all[0].message);
        let ended = c.read(|r| runs(r, RunFilter { ended: true, ..Default::default() }, 10)).expect("runs");
        assert_eq!(ended.len(), 1);
    }

    #[test]
    fn history_keeps_the_newest_runs() {
        let (_d, c) = catalog();
        let (t, j) = target_and_job(&c);
        let backup = NewRun { job_id: Some(j), target_id: t, kind: RunKind::Backup, requested_by: None, request: None, message: None };
        for i in 0..5 {
            let (id, _) = c.write(|tx| queue_run(tx, &backup, i)).expect("queue");
            c.write(|tx| finish_run(tx, id, RunState::Failed, &Outcome::default(), i)).expect("finish");
        }
        assert_eq!(c.write(|tx| purge_history(tx, 2)).expect("purge"), 3);
        assert_eq!(c.read(|r| runs(r, RunFilter::default(), 10)).expect("runs").len(), 2);
    }
}
