//! The box's disks over HTTP (docs/disks.md): the inventory as the disks service last read it,
//! giving the family's data to a disk, mirroring it on a second, ejecting a disk, scrubbing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_catalog::audit::{self, Outcome};
use hearth_core::ErrorKind;
use hearth_disks::data_disk::UseForData;
use hearth_disks::data_home::{DataFileSystem, DataStart};
use hearth_disks::eject::{EjectRequest, Ejected};
use hearth_disks::pool::{MirrorAction, MirrorRequest, PoolStatus};
use hearth_disks::service::DiskRequestError;
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
    /// The data's btrfs pool, when the data lives on btrfs: its disks, how it stands, the
    /// operation running, the last scrub.
    pub pool: Option<PoolView>,
}

/// The data's pool as `GET /api/v1/disks` shows it.
#[derive(Serialize)]
pub struct PoolView {
    /// What the kernel and the disks say.
    #[serde(flatten)]
    pub status: PoolStatus,
    /// A scrub is running now.
    pub scrubbing: bool,
}

/// `GET /api/v1/disks`: every disk with what it holds and where that is mounted, and where the
/// data lives.
pub async fn list(State(state): State<AppState>) -> Json<DisksView> {
    let disks = state.disks.clone();
    let data = state.data_dir.clone();
    // sysfs and a small file: quick, but still files.
    let pool = tokio::task::spawn_blocking(move || disks.pool(&data).map(|status| PoolView { status, scrubbing: disks.scrubbing() }))
        .await
        .unwrap_or_default();
    Json(DisksView { inventory: hearth_disks::Inventory::clone(&state.disks.current()), data: state.disks.data_start(), pool })
}

/// Run `ask` on a blocking thread, audit it as `action` on `target`, and map its error.
async fn audited<T: Send + 'static>(
    state: &AppState,
    caller: Caller,
    peer: Option<axum::Extension<Peer>>,
    action: &'static str,
    target: String,
    ask: impl FnOnce() -> Result<T, DiskRequestError> + Send + 'static,
) -> Result<T, ApiError> {
    let done = tokio::task::spawn_blocking(ask)
        .await
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("the request about the disk stopped: {e}")))?;
    let now = state.now();
    let addr = address(&peer);
    let outcome = match &done {
        Ok(_) => Outcome::Ok,
        Err(DiskRequestError::NotFound(_) | DiskRequestError::Refused(_) | DiskRequestError::NoHelper) => Outcome::Denied,
        Err(DiskRequestError::Failed(_)) => Outcome::Failed,
    };
    state
        .write(move |tx| {
            let e = admin_entry(&caller, addr.as_deref(), action, &target, None);
            audit::append(tx, &e, outcome, now)
        })
        .await?;
    done.map_err(|e| {
        let kind = match &e {
            DiskRequestError::NotFound(_) => ErrorKind::NotFound,
            DiskRequestError::Refused(_) | DiskRequestError::NoHelper => ErrorKind::Conflict,
            DiskRequestError::Failed(_) => ErrorKind::Internal,
        };
        ApiError::new(kind, e.to_string())
    })
}

/// `POST /api/v1/disks/{serial}/mirror` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorBody {
    /// `add` (a second disk for a pool of one) or `replace` (in the place of a missing disk).
    pub action: MirrorAction,
    /// The family saw what the disk holds and agreed to erase it (needed when it holds anything).
    #[serde(default)]
    pub erase: bool,
}

/// `POST /api/v1/disks/{serial}/mirror`: erase the disk and make it the data pool's second copy,
/// or put it in the place of the missing one. The copying runs in the background
/// (`GET /api/v1/disks`' `pool` says how far); the box keeps running.
pub async fn mirror(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(serial): Path<String>,
    JsonBody(body): JsonBody<MirrorBody>,
) -> Result<StatusCode, ApiError> {
    let request = MirrorRequest { action: body.action, serial: serial.clone(), erase: body.erase };
    let (disks, data) = (state.disks.clone(), state.data_dir.clone());
    let action = match body.action {
        MirrorAction::Add => "disks.mirror_add",
        MirrorAction::Replace => "disks.mirror_replace",
    };
    audited(&state, caller, peer, action, serial, move || disks.change_mirror(&data, &request)).await?;
    state.disks.refresh_now().await;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/v1/disks/{serial}/eject`: unmount every file system of the disk (and detach a USB
/// or SATA disk) so it can be unplugged; refused, naming who holds it, while anything does.
pub async fn eject(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(serial): Path<String>,
) -> Result<Json<Ejected>, ApiError> {
    let request = EjectRequest { serial: serial.clone() };
    let (disks, data) = (state.disks.clone(), state.data_dir.clone());
    let ejected = audited(&state, caller, peer, "disks.eject", serial, move || disks.eject(&data, &request)).await?;
    state.disks.refresh_now().await;
    Ok(Json(ejected))
}

/// `POST /api/v1/disks/card-copy/free`: the family says the move went well: the card's copy of
/// the data from before it is emptied (the card keeps only the mark that its data moved).
pub async fn free_card_copy(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
) -> Result<StatusCode, ApiError> {
    let disks = state.disks.clone();
    audited(&state, caller, peer, "disks.free_card_copy", "card".into(), move || disks.free_card_copy()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/disks/pool/scrub`: read every block of the data's pool and check it against its
/// checksum now, repairing from the other copy (in the background; the monthly one needs no
/// asking).
pub async fn scrub(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
) -> Result<StatusCode, ApiError> {
    let (disks, data) = (state.disks.clone(), state.data_dir.clone());
    audited(&state, caller, peer, "disks.scrub", "pool".into(), move || disks.scrub(&data)).await?;
    Ok(StatusCode::ACCEPTED)
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
    let (disks, data) = (state.disks.clone(), state.data_dir.clone());
    let target = serial.clone();
    audited(&state, caller, peer, "disks.use_for_data", target, move || disks.use_for_data(&data, &request)).await?;
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
