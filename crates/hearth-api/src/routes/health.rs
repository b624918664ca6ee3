//! Health (public) and status (logged in).

use axum::Json;
use axum::extract::State;
use hearth_core::service::{ServiceState, ServiceStatus};
use serde::Serialize;

use crate::state::DeviceInfo;
use crate::{ApiError, AppState};

/// The body of `GET /api/health`.
#[derive(Serialize)]
pub struct Health {
    /// `ok` when every service runs, `degraded` otherwise.
    pub status: &'static str,
    /// Hearth's version.
    pub version: String,
    /// The board profile.
    pub board: String,
    /// Whether the box still waits to be claimed.
    pub setup_required: bool,
    /// Every supervised service.
    pub services: Vec<ServiceStatus>,
}

/// `GET /api/health` — no login: the web page and monitoring use it before anyone logs in.
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    let services = state.status.snapshot();
    let all_ok = services.iter().all(|s| s.state == ServiceState::Running);
    Json(Health {
        status: if all_ok { "ok" } else { "degraded" },
        version: state.device.version.clone(),
        board: state.device.board.clone(),
        setup_required: state.setup.current().is_some(),
        services,
    })
}

/// The body of `GET /api/v1/status`.
#[derive(Serialize)]
pub struct Status {
    /// Facts about the box.
    pub device: crate::state::DeviceInfo,
    /// The board profile.
    pub board: hearth_core::board::BoardProfile,
    /// Every supervised service.
    pub services: Vec<ServiceStatus>,
    /// The data folder.
    pub data_dir: String,
    /// Free bytes on the data disk.
    pub data_free_bytes: Option<u64>,
    /// Size of the data disk as `df` counts it: used and free (blocks reserved for root not
    /// counted).
    pub data_total_bytes: Option<u64>,
    /// How full the data disk is: `fine`, `filling` (from 90%: warned) or `full` (from 97%:
    /// new files are refused; docs/disks.md, "Full disks").
    pub data_fullness: Option<hearth_core::disk_room::Fullness>,
    /// The share of the data disk in use, whole percent.
    pub data_percent_used: Option<u64>,
    /// Users on the box.
    pub users: i64,
    /// hearthd's own resident memory (its worker processes not counted).
    pub daemon_resident_bytes: Option<u64>,
    /// The newest restore drill of the box's backups, if any ran: its state, when it ended,
    /// what it said, how many files it restored.
    pub last_verified_restore: Option<VerifiedRestore>,
}

/// The newest restore drill, for the status page.
#[derive(Serialize)]
pub struct VerifiedRestore {
    /// `succeeded` or `failed`.
    pub state: hearth_catalog::backups::RunState,
    /// When it ended.
    pub at: Option<i64>,
    /// Files restored and compared.
    pub files: u64,
    /// What it said.
    pub message: Option<String>,
}

fn last_drill(r: &crate::state::rusqlite_conn::Connection) -> Result<Option<VerifiedRestore>, hearth_catalog::CatalogError> {
    use hearth_catalog::backups::{RunFilter, RunKind, runs};
    let newest = runs(r, RunFilter { kind: Some(RunKind::Drill), ended: true, ..Default::default() }, 1)?;
    Ok(newest.into_iter().next().map(|run| {
        let files = run
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|d| d["files"].as_u64())
            .unwrap_or(0);
        VerifiedRestore { state: run.state, at: run.ended_at, files, message: run.message }
    }))
}

/// `GET /api/v1/status`
pub async fn status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let users = state.read(hearth_catalog::users::count).await?;
    let last_verified_restore = state.read(last_drill).await?;
    let data = state.data_dir.clone();
    let room = tokio::task::spawn_blocking(move || hearth_platform::durable::room(&data)).await.ok().and_then(Result::ok);
    Ok(Json(Status {
        device: DeviceInfo { name: state.box_settings.current().name.to_string(), ..(*state.device).clone() },
        board: (*state.board).clone(),
        services: state.status.snapshot(),
        data_dir: state.data_dir.display().to_string(),
        data_free_bytes: room.map(|r| r.free),
        data_total_bytes: room.map(|r| r.used.saturating_add(r.free)),
        data_fullness: room.map(|r| r.fullness()),
        data_percent_used: room.map(|r| r.percent_used()),
        users,
        daemon_resident_bytes: hearth_platform::memory::resident_bytes(),
        last_verified_restore,
    }))
}

/// The body of `GET /api/v1/sync/id`.
#[derive(Serialize)]
pub struct SyncId {
    /// The device id to enter on a phone or laptop running Syncthing.
    pub device_id: String,
    /// The name peers see.
    pub name: String,
}

/// `GET /api/v1/sync/id` — the box's Syncthing device id.
pub async fn sync_id(State(state): State<AppState>) -> Result<Json<SyncId>, ApiError> {
    let id = state.device.sync_device_id.clone().ok_or_else(|| ApiError::not_found("sync is not set up on this box"))?;
    Ok(Json(SyncId { device_id: id, name: state.box_settings.current().name.to_string() }))
}
