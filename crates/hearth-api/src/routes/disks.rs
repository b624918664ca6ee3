//! The box's disks over HTTP (docs/disks.md): the inventory as the disks service last read it,
//! and giving the family's data to a disk.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_catalog::audit::{self, Outcome};
use hearth_core::ErrorKind;
use hearth_disks::data_disk::UseForData;
use hearth_disks::data_home::{DataFileSystem, DataStart};
use hearth_disks::service::UseForDataError;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::admin::{address, admin_entry};
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::{ApiError, AppState};

/// The body of `GET /api/v1/disks`.
#[derive(Serialize)]
pub struct DisksView {
    /// Every disk.
    #[serde(flatten)]
    pub inventory: hearth_disks::Inventory,
    /// Where the data lives, and a move made or given up at this start.
    pub data: DataStart,
}

/// `GET /api/v1/disks`: every disk with what it holds and where that is mounted, and where the
/// data lives.
pub async fn list(State(state): State<AppState>) -> Json<DisksView> {
    Json(DisksView { inventory: hearth_disks::Inventory::clone(&state.disks.current()), data: state.disks.data_start() })
}

/// `POST /api/v1/disks/{serial}/use-for-data` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseForDataBody {
    /// `ext4` or `btrfs`.
    pub file_system: DataFileSystem,
    /// The family saw what the disk holds and agreed to erase it (needed when it holds anything).
    #[serde(default)]
    pub erase: bool,
}

/// `POST /api/v1/disks/{serial}/use-for-data`: erase the disk, make the data's file system on it,
/// and restart the box, whose next start copies the data there (verified) and runs from it.
pub async fn use_for_data(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(serial): Path<String>,
    JsonBody(body): JsonBody<UseForDataBody>,
) -> Result<StatusCode, ApiError> {
    let request = UseForData { serial: serial.clone(), file_system: body.file_system, erase: body.erase };
    let disks = state.disks.clone();
    let data = state.data_dir.clone();
    let done = tokio::task::spawn_blocking(move || disks.use_for_data(&data, &request))
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("preparing the disk stopped: {e}")))?;
    let now = state.now();
    let addr = address(&peer);
    let outcome = match &done {
        Ok(()) => Outcome::Ok,
        Err(UseForDataError::Refused(_) | UseForDataError::NoHelper) => Outcome::Denied,
        Err(UseForDataError::Failed(_)) => Outcome::Failed,
    };
    let target = serial.clone();
    state
        .write(move |tx| {
            let e = admin_entry(&caller, addr.as_deref(), "disks.use_for_data", &target, None);
            audit::append(tx, &e, outcome, now)
        })
        .await?;
    done.map_err(|e| {
        let kind = match &e {
            UseForDataError::Refused(r) if r.is_not_found() => ErrorKind::NotFound,
            UseForDataError::Refused(_) | UseForDataError::NoHelper => ErrorKind::Conflict,
            UseForDataError::Failed(_) => ErrorKind::Internal,
        };
        ApiError::new(kind, e.to_string())
    })?;
    tracing::warn!(serial = %serial, "the data goes to a new disk at the next start: restarting");
    let Some(power) = state.power.clone() else {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "the disk is ready, but this hearthd cannot restart the machine: restart it to move the data",
        ));
    };
    power
        .reboot()
        .map_err(|e| ApiError::new(ErrorKind::of_io(&e), format!("the disk is ready, but the machine refused to restart: {e}")))?;
    Ok(StatusCode::ACCEPTED)
}
