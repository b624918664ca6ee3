//! The box's own backups over HTTP (docs/api.md, "Backups of the box"): thin handlers over
//! `hearth_backup::service`. The backup worker does the runs; these routes set things up, queue
//! runs, and show progress, history and what needs attention.

use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hearth_backup::BackupError;
use hearth_backup::service::Service;
use hearth_backup::service::admin::{JobChange, TargetTest};
use hearth_backup::service::job::{Keep, Scope};
use hearth_backup::service::restore::RestoreRequest;
use hearth_backup::service::target::{RepositoryState, TargetSecret, TargetSpec};
use hearth_catalog::audit::{self, Outcome};
use hearth_catalog::backups::{self, JobRow, RunFilter, RunKind, RunRow, RunState, TargetRow};
use hearth_core::{ErrorKind, Kinded};
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::admin::{address, admin_entry};
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::{ApiError, AppState};

/// The service, made on first use (it reads the box's credential key).
#[derive(Default)]
pub struct ServiceCell(OnceLock<Arc<Service>>);

impl std::fmt::Debug for ServiceCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceCell")
    }
}

/// A backup error as an answer. Errors about a target's credentials are the target's, not the
/// caller's: they are answered as bad input, never as 401/403 (which would log the page out).
pub fn backup_error(e: BackupError) -> ApiError {
    let kind = match e.kind() {
        ErrorKind::Unauthenticated | ErrorKind::Forbidden | ErrorKind::PermissionDenied => ErrorKind::InvalidInput,
        ErrorKind::Internal => return ApiError::internal(e),
        k => k,
    };
    let mut err = ApiError::new(kind, e.to_string());
    err.guidance = e.guidance();
    err
}

/// Run `f` with the service on the blocking pool (it reads disks and networks).
async fn with_service<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Service) -> Result<T, BackupError> + Send + 'static,
) -> Result<T, ApiError> {
    let (cell, catalog, data) = (state.backups.clone(), state.catalog.clone(), state.data_dir.clone());
    tokio::task::spawn_blocking(move || {
        let service = match cell.0.get() {
            Some(s) => s.clone(),
            None => {
                let made = Arc::new(Service::new(catalog, &data)?);
                cell.0.get_or_init(|| made).clone()
            }
        };
        f(&service)
    })
    .await?
    .map_err(backup_error)
}

/// A target as the API shows it (no secrets).
#[derive(Serialize)]
pub struct TargetView {
    id: i64,
    name: String,
    kind: backups::TargetKind,
    /// Where, for people.
    location: String,
    /// The description as given (no secrets).
    target: serde_json::Value,
    created_at: i64,
    drill_next_at: Option<i64>,
    check_next_at: Option<i64>,
    /// The newest ended drill and check.
    last_drill: Option<RunView>,
    last_check: Option<RunView>,
    /// A drill, check or restore queued or in hand.
    current: Option<RunView>,
}

/// A run with its rate and time left.
#[derive(Serialize)]
pub struct RunView {
    #[serde(flatten)]
    run: RunRow,
    /// Bytes per second since it started (running runs).
    rate_bytes_per_second: Option<f64>,
    /// Seconds left at that rate, once the total is known.
    eta_seconds: Option<i64>,
    /// The engine's figures.
    detail: Option<serde_json::Value>,
}

fn run_view(run: RunRow, now: i64) -> RunView {
    let (mut rate, mut eta) = (None, None);
    if run.state == RunState::Running
        && let Some(started) = run.started_at
    {
        let secs = (now - started).max(1) as f64;
        let r = run.bytes_done as f64 / secs;
        rate = Some(r);
        if let Some(total) = run.bytes_total
            && r > 0.0
        {
            eta = Some(((total - run.bytes_done).max(0) as f64 / r).ceil() as i64);
        }
    }
    let detail = run.detail.as_deref().and_then(|d| serde_json::from_str(d).ok());
    RunView { run, rate_bytes_per_second: rate, eta_seconds: eta, detail }
}

/// A job as the API shows it.
#[derive(Serialize)]
pub struct JobView {
    id: i64,
    name: String,
    target_id: i64,
    scope: serde_json::Value,
    schedule: String,
    keep: serde_json::Value,
    enabled: bool,
    next_run_at: Option<i64>,
    created_at: i64,
    /// The run queued or in hand, with progress.
    current: Option<RunView>,
    /// The newest ended run.
    last: Option<RunView>,
    /// The newest run that stored a snapshot.
    last_success: Option<RunView>,
}

/// Something the family should look at.
#[derive(Serialize)]
pub struct Alert {
    /// `backup_failed`, `drill_failed`, `check_failed`, `overdue`, `no_password`.
    kind: &'static str,
    /// What, for people.
    message: String,
    job_id: Option<i64>,
    target_id: Option<i64>,
}

/// `GET /api/v1/backups` body.
#[derive(Serialize)]
pub struct Overview {
    /// Whether the backup password is set up, and how (`recovery_key` or `password`).
    password: Option<hearth_backup::service::backup_key::KeyKind>,
    targets: Vec<TargetView>,
    jobs: Vec<JobView>,
    alerts: Vec<Alert>,
}

/// A backup that has not succeeded for this long while its schedule ran is overdue.
const OVERDUE_AFTER: i64 = 3 * 86400;

fn target_view(t: TargetRow, last_drill: Option<RunRow>, last_check: Option<RunRow>, current: Option<RunRow>, now: i64) -> TargetView {
    let spec: serde_json::Value = serde_json::from_str(&t.spec).unwrap_or(serde_json::Value::Null);
    let location = serde_json::from_value::<TargetSpec>(spec.clone()).map(|s| s.location()).unwrap_or_default();
    TargetView {
        id: t.id,
        name: t.name,
        kind: t.kind,
        location,
        target: spec,
        created_at: t.created_at,
        drill_next_at: t.drill_next_at,
        check_next_at: t.check_next_at,
        last_drill: last_drill.map(|r| run_view(r, now)),
        last_check: last_check.map(|r| run_view(r, now)),
        current: current.map(|r| run_view(r, now)),
    }
}

fn job_view(j: JobRow, runs: &[RunRow], now: i64) -> JobView {
    let mine = || runs.iter().filter(|r| r.job_id == Some(j.id));
    let current = mine().find(|r| !r.state.is_final()).cloned().map(|r| run_view(r, now));
    let last = mine().find(|r| r.state.is_final() && r.state != RunState::Interrupted).cloned().map(|r| run_view(r, now));
    let last_success = mine().find(|r| matches!(r.state, RunState::Succeeded | RunState::Partial)).cloned().map(|r| run_view(r, now));
    JobView {
        id: j.id,
        name: j.name,
        target_id: j.target_id,
        scope: serde_json::from_str(&j.scope).unwrap_or(serde_json::Value::Null),
        schedule: j.schedule,
        keep: serde_json::from_str(&j.keep).unwrap_or(serde_json::Value::Null),
        enabled: j.enabled,
        next_run_at: j.next_run_at,
        created_at: j.created_at,
        current,
        last,
        last_success,
    }
}

/// `GET /api/v1/backups`: the password's state, targets with their last drill and check, jobs
/// with the run in hand (progress, rate, time left) and their last runs, and alerts.
pub async fn overview(State(state): State<AppState>) -> Result<Json<Overview>, ApiError> {
    let now = state.now();
    let (password, targets, jobs, runs, drills, checks, open) = state
        .read(|r| {
            let password = hearth_backup::service::backup_key::kind(r).unwrap_or(None);
            let targets = backups::targets(r)?;
            let jobs = backups::jobs(r)?;
            let runs = backups::runs(r, RunFilter { kind: Some(RunKind::Backup), ..Default::default() }, 500)?;
            let ended = |kind| backups::runs(r, RunFilter { kind: Some(kind), ended: true, ..Default::default() }, 200);
            let open: Vec<RunRow> = backups::runs(r, RunFilter::default(), 200)?
                .into_iter()
                .filter(|r| !r.state.is_final() && r.kind != RunKind::Backup)
                .collect();
            Ok((password, targets, jobs, runs, ended(RunKind::Drill)?, ended(RunKind::Check)?, open))
        })
        .await?;
    let mut alerts = Vec::new();
    if password.is_none() {
        alerts.push(Alert {
            kind: "no_password",
            message: "Backups are not set up: make the recovery key first.".into(),
            job_id: None,
            target_id: None,
        });
    }
    let targets: Vec<TargetView> = targets
        .into_iter()
        .map(|t| {
            let d = drills.iter().find(|r| r.target_id == t.id).cloned();
            let c = checks.iter().find(|r| r.target_id == t.id).cloned();
            for (run, kind, what) in [(&d, "drill_failed", "restore drill"), (&c, "check_failed", "check")] {
                if let Some(r) = run.as_ref().filter(|r| r.state == RunState::Failed) {
                    alerts.push(Alert {
                        kind,
                        message: format!("The {what} of {} failed: {}", t.name, r.message.clone().unwrap_or_default()),
                        job_id: None,
                        target_id: Some(t.id),
                    });
                }
            }
            let current = open.iter().find(|r| r.target_id == t.id).cloned();
            target_view(t, d, c, current, now)
        })
        .collect();
    let jobs: Vec<JobView> = jobs.into_iter().map(|j| job_view(j, &runs, now)).collect();
    for j in &jobs {
        if let Some(last) = j.last.as_ref().filter(|l| l.run.state == RunState::Failed) {
            alerts.push(Alert {
                kind: "backup_failed",
                message: format!("The last backup of {} failed: {}", j.name, last.run.message.clone().unwrap_or_default()),
                job_id: Some(j.id),
                target_id: Some(j.target_id),
            });
        }
        let since = j.last_success.as_ref().and_then(|s| s.run.ended_at).unwrap_or(j.created_at);
        if j.enabled && j.schedule != "manual" && now - since > OVERDUE_AFTER {
            alerts.push(Alert {
                kind: "overdue",
                message: format!("{} has not completed a backup for {} days", j.name, (now - since) / 86400),
                job_id: Some(j.id),
                target_id: Some(j.target_id),
            });
        }
    }
    Ok(Json(Overview { password, targets, jobs, alerts }))
}

/// `POST /api/v1/backups/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSetup {
    /// A password the owner chose; absent: Hearth makes a recovery key.
    pub password: Option<String>,
}

/// `POST /api/v1/backups/password` answer.
#[derive(Serialize)]
pub struct PasswordMade {
    /// The recovery key, shown this once (absent when the owner chose a password).
    recovery_key: Option<String>,
}

/// `POST /api/v1/backups/password`: set up the backup password once. Audited.
pub async fn set_up_password(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<PasswordSetup>,
) -> Result<(StatusCode, Json<PasswordMade>), ApiError> {
    let chosen = body.password.clone();
    let recovery_key = with_service(&state, move |s| s.set_up_password(chosen.as_deref())).await?;
    let detail = if recovery_key.is_some() { "recovery key made" } else { "password chosen" };
    audit_ok(&state, &caller, &peer, "backup.password", "backups", detail).await?;
    Ok((StatusCode::CREATED, Json(PasswordMade { recovery_key })))
}

async fn audit_ok(
    state: &AppState,
    caller: &Caller,
    peer: &Option<axum::Extension<Peer>>,
    action: &'static str,
    target: &str,
    detail: &str,
) -> Result<(), ApiError> {
    let (caller, addr, target, detail, now) = (caller.clone(), address(peer), target.to_string(), detail.to_string(), state.now());
    state
        .write(move |tx| audit::append(tx, &admin_entry(&caller, addr.as_deref(), action, &target, Some(&detail)), Outcome::Ok, now))
        .await?;
    Ok(())
}

/// `POST /api/v1/backups/certificate` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateQuestion {
    /// `https://other.local[:port]`.
    pub address: String,
}

/// `POST /api/v1/backups/certificate`: the certificate another Hearth presents (nothing secret
/// is sent), for the owner to compare with that box's Box page before pinning it.
pub async fn certificate(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CertificateQuestion>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let sha = with_service(&state, move |_| hearth_backup::service::target::observe_certificate(&body.address)).await?;
    Ok(Json(serde_json::json!({ "cert_sha256": sha })))
}

/// A target to test or add.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// A name for people (adding only).
    #[serde(default)]
    pub name: String,
    /// Where.
    pub target: TargetSpec,
    /// Credentials.
    #[serde(default)]
    pub secret: TargetSecret,
}

/// `POST /api/v1/backups/targets/test`: connect and look, writing nothing.
pub async fn test_target(State(state): State<AppState>, JsonBody(body): JsonBody<TargetBody>) -> Result<Json<TargetTest>, ApiError> {
    Ok(Json(with_service(&state, move |s| s.test_target(body.target, &body.secret)).await?))
}

/// `POST /api/v1/backups/targets` answer.
#[derive(Serialize)]
pub struct TargetAdded {
    id: i64,
    /// `empty` (a repository was made) or `opens` (this box's earlier backups are there).
    repository: RepositoryState,
}

/// `POST /api/v1/backups/targets`: test, make the repository if empty, save. Audited.
pub async fn add_target(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<TargetBody>,
) -> Result<(StatusCode, Json<TargetAdded>), ApiError> {
    let now = state.now();
    let name = body.name.clone();
    let (id, repository) = with_service(&state, move |s| {
        let kdf = hearth_backup::keyfile::Kdf::standard()?;
        s.add_target(&body.name, body.target, &body.secret, kdf, now)
    })
    .await?;
    audit_ok(&state, &caller, &peer, "backup.target.add", &name, &format!("target {id}")).await?;
    Ok((StatusCode::CREATED, Json(TargetAdded { id, repository })))
}

/// `DELETE /api/v1/backups/targets/{id}`: forget a target (its repository stays where it is).
pub async fn remove_target(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.write(move |tx| backups::remove_target(tx, id)).await? {
        return Err(ApiError::not_found(format!("no backup target {id}")));
    }
    audit_ok(&state, &caller, &peer, "backup.target.remove", &id.to_string(), "the repository stays on the target").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/backups/jobs` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    pub name: String,
    pub target_id: i64,
    /// Default: everything.
    pub scope: Option<Scope>,
    /// Default: `daily 03:00`.
    pub schedule: Option<String>,
    /// Default: 7 daily, 4 weekly, 12 monthly, 3 yearly.
    pub keep: Option<Keep>,
}

/// `POST /api/v1/backups/jobs`. Audited.
pub async fn add_job(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<JobBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let now = state.now();
    let name = body.name.clone();
    let id =
        with_service(&state, move |s| s.add_job(&body.name, body.target_id, body.scope, body.schedule.as_deref(), body.keep, now)).await?;
    audit_ok(&state, &caller, &peer, "backup.job.add", &name, &format!("job {id}")).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

/// `PATCH /api/v1/backups/jobs/{id}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    pub schedule: Option<String>,
    pub keep: Option<Keep>,
    pub enabled: Option<bool>,
}

/// `PATCH /api/v1/backups/jobs/{id}`.
pub async fn change_job(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<JobPatch>,
) -> Result<StatusCode, ApiError> {
    let now = state.now();
    let change = JobChange { schedule: body.schedule, keep: body.keep, enabled: body.enabled };
    if !with_service(&state, move |s| s.change_job(id, &change, now)).await? {
        return Err(ApiError::not_found(format!("no backup job {id}")));
    }
    audit_ok(&state, &caller, &peer, "backup.job.change", &id.to_string(), "schedule, retention or enabled").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/backups/jobs/{id}`: the job and its history go; snapshots stay.
pub async fn remove_job(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.write(move |tx| backups::remove_job(tx, id)).await? {
        return Err(ApiError::not_found(format!("no backup job {id}")));
    }
    audit_ok(&state, &caller, &peer, "backup.job.remove", &id.to_string(), "snapshots stay on the target").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A queued run.
#[derive(Serialize)]
pub struct Queued {
    run_id: i64,
    /// False when a run of the same kind was already queued or running (that one is returned).
    new: bool,
}

/// `POST /api/v1/backups/jobs/{id}/run`: back up now.
pub async fn run_job(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let (now, user) = (state.now(), caller.user.as_ref().map(|u| u.id));
    let (run_id, new) = with_service(&state, move |s| s.request_backup(id, user, now)).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { run_id, new })))
}

/// `POST /api/v1/backups/targets/{id}/drill`: a restore drill now.
pub async fn drill(state: State<AppState>, caller: axum::Extension<Caller>, id: Path<i64>) -> Result<(StatusCode, Json<Queued>), ApiError> {
    verify(state, caller, id, RunKind::Drill).await
}

/// `POST /api/v1/backups/targets/{id}/check`: read a tenth of the packs back now.
pub async fn check(state: State<AppState>, caller: axum::Extension<Caller>, id: Path<i64>) -> Result<(StatusCode, Json<Queued>), ApiError> {
    verify(state, caller, id, RunKind::Check).await
}

async fn verify(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    kind: RunKind,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let (now, user) = (state.now(), caller.user.as_ref().map(|u| u.id));
    let (run_id, new) = with_service(&state, move |s| s.request_verification(id, kind, user, now)).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { run_id, new })))
}

/// `GET /api/v1/backups/runs` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    pub job: Option<i64>,
    pub target: Option<i64>,
    pub limit: Option<u32>,
}

/// `GET /api/v1/backups/runs`: history, newest first.
pub async fn runs(State(state): State<AppState>, Query(q): Query<RunsQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let now = state.now();
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let list = state.read(move |r| backups::runs(r, RunFilter { job_id: q.job, target_id: q.target, ..Default::default() }, limit)).await?;
    let views: Vec<RunView> = list.into_iter().map(|r| run_view(r, now)).collect();
    Ok(Json(serde_json::json!({ "runs": views })))
}

/// `GET /api/v1/backups/runs/{id}`.
pub async fn run(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<RunView>, ApiError> {
    let now = state.now();
    let r = state.read(move |r| backups::run(r, id)).await?.ok_or_else(|| ApiError::not_found(format!("no backup run {id}")))?;
    Ok(Json(run_view(r, now)))
}

/// A snapshot in a list.
#[derive(Serialize)]
pub struct SnapshotView {
    name: String,
    time: String,
    host: String,
    paths: Vec<String>,
    partial: bool,
    files: u64,
    bytes_added: u64,
}

/// `GET /api/v1/backups/targets/{id}/snapshots`: newest first.
pub async fn snapshots(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<serde_json::Value>, ApiError> {
    let list = with_service(&state, move |s| {
        let target = s.target(id)?;
        let repo = s.open_repository(&target)?;
        let (all, _) = repo.snapshots()?;
        Ok(all
            .into_iter()
            .rev()
            .map(|(name, snap)| SnapshotView {
                name,
                time: snap.time,
                host: snap.host,
                paths: snap.paths,
                partial: snap.partial,
                files: snap.summary.files_new + snap.summary.files_changed + snap.summary.files_unmodified,
                bytes_added: snap.summary.bytes_added,
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(serde_json::json!({ "snapshots": list })))
}

/// `GET …/snapshots/{snapshot}/entries` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// A folder inside the snapshot; its top when absent.
    pub path: Option<String>,
}

/// One entry of a folder in a snapshot.
#[derive(Serialize)]
pub struct EntryView {
    path: String,
    name: String,
    kind: &'static str,
    size: Option<u64>,
    mtime_ns: i64,
}

/// `GET /api/v1/backups/targets/{id}/snapshots/{snapshot}/entries?path=`: one folder's entries.
pub async fn entries(
    State(state): State<AppState>,
    Path((id, snapshot)): Path<(i64, String)>,
    Query(q): Query<EntriesQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if snapshot.is_empty() || !snapshot.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid(format!("{snapshot:?} is not a snapshot name")));
    }
    let list = with_service(&state, move |s| {
        let target = s.target(id)?;
        let repo = s.open_repository(&target)?;
        let path = q.path.as_deref().map(std::path::Path::new);
        let list = hearth_backup::commands::ls::children(&repo, &snapshot, path)?;
        Ok(list
            .into_iter()
            .map(|e| {
                use hearth_backup::tree::NodeType;
                let kind = match e.node.node_type {
                    Some(NodeType::Dir) => "folder",
                    Some(NodeType::File) => "file",
                    Some(NodeType::Symlink) => "link",
                    _ => "other",
                };
                let name = e.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                EntryView { path: e.path.display().to_string(), name, kind, size: e.node.size, mtime_ns: e.node.mtime_ns }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(serde_json::json!({ "entries": list })))
}

/// `POST /api/v1/backups/targets/{id}/restore`: queue a restore. Audited.
pub async fn restore(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<RestoreRequest>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    let (now, user) = (state.now(), caller.user.as_ref().map(|u| u.id));
    let detail = format!("{} {} {:?}", body.snapshot, body.path.as_deref().unwrap_or("/"), body.destination);
    let run_id = with_service(&state, move |s| s.request_restore(id, body, user, now)).await?;
    audit_ok(&state, &caller, &peer, "backup.restore", &id.to_string(), &detail).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { run_id, new: true })))
}
