//! Sync peers: the box's device id, paired Syncthing devices and pending ones (devices that
//! connected unpaired). Pairing and unpairing are admin actions and are audited.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_catalog::audit::{self, NewEntry, Outcome};
use hearth_catalog::sync_peers::{self, PendingDevice, SyncDevice};
use hearth_sync::DeviceId;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::{ApiError, AppState};

/// Append an audit entry for a sync change, in the caller's transaction.
fn audit_entry(
    tx: &crate::state::rusqlite_conn::Transaction<'_>,
    caller: &Caller,
    addr: Option<&str>,
    action: &str,
    target: &str,
    detail: Option<&str>,
    now: i64,
) -> Result<(), hearth_catalog::CatalogError> {
    let e = NewEntry { actor_id: caller.actor_id(), actor_name: Some(&caller.name), address: addr, action, target: Some(target), detail };
    audit::append(tx, &e, Outcome::Ok, now)?;
    Ok(())
}

/// `GET /api/v1/sync/devices` body.
#[derive(Serialize)]
pub struct Devices {
    /// Paired devices.
    pub devices: Vec<SyncDevice>,
    /// Devices that connected without being paired, most recent first.
    pub pending: Vec<PendingDevice>,
}

/// `GET /api/v1/sync/devices`
pub async fn list(State(state): State<AppState>) -> Result<Json<Devices>, ApiError> {
    let (devices, pending) = state.read(|c| Ok((sync_peers::list_devices(c)?, sync_peers::list_pending(c)?))).await?;
    Ok(Json(Devices { devices, pending }))
}

/// `POST /api/v1/sync/devices` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDevice {
    /// The device id (as Syncthing shows it; dashes optional).
    pub device_id: String,
    /// A name (default: the name it gave when it connected, else "device").
    pub name: Option<String>,
    /// Addresses to dial, `tcp://HOST:PORT` (default: none, it connects to the box).
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// `POST /api/v1/sync/devices` — pair a device (also accepts a pending one).
pub async fn add(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<AddDevice>,
) -> Result<(StatusCode, Json<SyncDevice>), ApiError> {
    let id: DeviceId = body.device_id.parse().map_err(|e: hearth_sync::SyncError| ApiError::invalid(e.to_string()))?;
    if state.device.sync_device_id.as_deref() == Some(id.to_string().as_str()) {
        return Err(ApiError::invalid("that is this box's own device id"));
    }
    for a in &body.addresses {
        let ok = a
            .strip_prefix("tcp://")
            .is_some_and(|rest| rest.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()));
        if !ok {
            return Err(ApiError::invalid(format!("address {a:?}: allowed is tcp://HOST:PORT")));
        }
    }
    if let Some(n) = &body.name
        && (n.trim().is_empty() || n.chars().count() > 100)
    {
        return Err(ApiError::invalid("name: 1 to 100 characters"));
    }
    let now = state.now();
    let addr = peer.as_ref().and_then(|p| p.0.address_text());
    let text = id.to_string();
    let device = state
        .write(move |tx| {
            let name = match body.name {
                Some(n) => n.trim().to_string(),
                None => sync_peers::pending_name(tx, &text)?.filter(|n| !n.is_empty()).unwrap_or_else(|| "device".into()),
            };
            let d = SyncDevice { device_id: text.clone(), name, addresses: body.addresses, added_at: now };
            sync_peers::add_device(tx, &d)?;
            audit_entry(tx, &caller, addr.as_deref(), "sync.device.add", &text, Some(&d.name), now)?;
            Ok(d)
        })
        .await?;
    reload(&state).await;
    Ok((StatusCode::CREATED, Json(device)))
}

/// `DELETE /api/v1/sync/devices/{id}` — unpair.
pub async fn remove(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: DeviceId = id.parse().map_err(|e: hearth_sync::SyncError| ApiError::invalid(e.to_string()))?;
    let (now, addr, text) = (state.now(), peer.as_ref().and_then(|p| p.0.address_text()), id.to_string());
    let removed = state
        .write(move |tx| {
            let removed = sync_peers::remove_device(tx, &text)?;
            if removed {
                audit_entry(tx, &caller, addr.as_deref(), "sync.device.remove", &text, None, now)?;
            }
            Ok(removed)
        })
        .await?;
    if !removed {
        return Err(ApiError::not_found("no such paired device"));
    }
    reload(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

fn engine(state: &AppState) -> Result<&hearth_sync::engine::Engine, ApiError> {
    state.sync.as_ref().ok_or_else(|| ApiError::new(hearth_core::ErrorKind::Unavailable, "sync is off (sync.listen = \"off\")"))
}

fn sync_error(e: hearth_sync::SyncError) -> ApiError {
    use hearth_core::Kinded;
    ApiError::new(e.kind(), e.to_string())
}

/// Tell the engine that pairing or folders changed (it resends its ClusterConfig, dials, stops).
async fn reload(state: &AppState) {
    if let Some(e) = &state.sync
        && let Err(err) = e.reload().await
    {
        tracing::warn!(error = %err, "sync engine reload failed");
    }
}

/// `GET /api/v1/sync/folders` body.
#[derive(Serialize)]
pub struct Folders {
    /// Folders the box shares, with their status.
    pub folders: Vec<hearth_sync::engine::FolderStatus>,
    /// Folders paired devices offer, waiting for the owner.
    pub pending: Vec<sync_peers::PendingFolder>,
}

/// `GET /api/v1/sync/folders`
pub async fn folders(State(state): State<AppState>) -> Result<Json<Folders>, ApiError> {
    let pending = state.read(sync_peers::list_pending_folders).await?;
    let folders = state.sync.as_ref().map(|e| e.folder_status()).unwrap_or_default();
    Ok(Json(Folders { folders, pending }))
}

/// `POST /api/v1/sync/folders` body: add a folder, or accept an offered one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddFolder {
    /// The folder id (an offered folder's id to accept it).
    pub id: String,
    /// Label (default: the offer's label, else the id).
    pub label: Option<String>,
    /// Where its files go (default: DATA/folders/ID).
    pub path: Option<String>,
    /// `send-receive`, `send-only` or `receive-only` (default: receive-only when accepting an
    /// offer, send-receive otherwise).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Devices to share it with (default: the devices offering it).
    #[serde(default)]
    pub devices: Vec<String>,
    /// Days versions are kept (default 30; 0 keeps them forever).
    pub keep_days: Option<i64>,
    /// `trashcan` (default) or `staggered`.
    pub versioning: Option<String>,
    /// Accept an offer: refused when no device offers `id`; when a folder `id` exists already,
    /// it is shared with the devices offering it instead of being made again.
    #[serde(default)]
    pub accept: bool,
}

/// `POST /api/v1/sync/folders`
pub async fn add_folder(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<AddFolder>,
) -> Result<(StatusCode, Json<hearth_catalog::sync_folders::SyncFolder>), ApiError> {
    let engine = engine(&state)?.clone();
    let offers: Vec<sync_peers::PendingFolder> =
        state.read(sync_peers::list_pending_folders).await?.into_iter().filter(|o| o.folder_id == body.id).collect();
    let offered = !offers.is_empty();
    if body.accept && !offered {
        return Err(ApiError::not_found(format!("no paired device offers a folder {:?}", body.id))
            .with_guidance("`hearth sync folders list` shows the folders devices offer; `hearth sync folders add` makes a new one"));
    }
    let id = body.id.clone();
    if body.accept
        && let Some(existing) = state.read(move |c| hearth_catalog::sync_folders::get_folder(c, &id)).await?
    {
        return accept_into_existing(&state, &caller, peer.as_ref().map(|p| &p.0), existing, offers).await;
    }
    let mut devices = Vec::new();
    let named = if body.devices.is_empty() { offers.iter().map(|o| o.device_id.clone()).collect() } else { body.devices.clone() };
    for d in named {
        devices.push(d.parse::<DeviceId>().map_err(|e: hearth_sync::SyncError| ApiError::invalid(e.to_string()))?);
    }
    let kind = match body.kind.as_deref() {
        Some(k) => hearth_sync::folder::FolderType::parse(k).map_err(sync_error)?,
        None if offered => hearth_sync::folder::FolderType::ReceiveOnly,
        None => hearth_sync::folder::FolderType::SendReceive,
    };
    let staggered = match body.versioning.as_deref() {
        None | Some("trashcan") => false,
        Some("staggered") => true,
        Some(other) => return Err(ApiError::invalid(format!("versioning {other:?}: allowed are trashcan, staggered"))),
    };
    let path = match &body.path {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let safe: String = body.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
            state.data_dir.join("folders").join(safe)
        }
    };
    let label = body.label.clone().or_else(|| offers.first().map(|o| o.label.clone())).unwrap_or_default();
    let new = hearth_sync::engine::NewFolder {
        id: body.id.clone(),
        label,
        path,
        kind,
        devices,
        keep_days: body.keep_days.unwrap_or(30),
        staggered,
    };
    let row = engine.add_folder(new).await.map_err(sync_error)?;
    let (now, addr, target, detail) =
        (state.now(), peer.as_ref().and_then(|p| p.0.address_text()), row.folder_id.clone(), format!("{} {}", row.kind, row.path));
    state.write(move |tx| audit_entry(tx, &caller, addr.as_deref(), "sync.folder.add", &target, Some(&detail), now)).await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// An offer for a folder id the box already has: the folder is shared with the offering devices
/// (which clears their offers), and stays where and what it is.
async fn accept_into_existing(
    state: &AppState,
    caller: &Caller,
    peer: Option<&Peer>,
    existing: hearth_catalog::sync_folders::SyncFolder,
    offers: Vec<sync_peers::PendingFolder>,
) -> Result<(StatusCode, Json<hearth_catalog::sync_folders::SyncFolder>), ApiError> {
    let (now, addr, caller) = (state.now(), peer.and_then(|p| p.address_text()), caller.clone());
    let folder = existing.folder_id.clone();
    let row = state
        .write(move |tx| {
            for offer in &offers {
                if sync_peers::is_paired(tx, &offer.device_id)? {
                    hearth_catalog::sync_folders::share(tx, &folder, &offer.device_id)?;
                    audit_entry(tx, &caller, addr.as_deref(), "sync.folder.share", &folder, Some(&offer.device_id), now)?;
                }
            }
            hearth_catalog::sync_folders::get_folder(tx, &folder)
        })
        .await?
        .unwrap_or(existing);
    reload(state).await;
    Ok((StatusCode::OK, Json(row)))
}

/// `POST /api/v1/sync/folders/{id}/devices` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareFolder {
    /// The paired device to share with.
    pub device_id: String,
}

/// `POST /api/v1/sync/folders/{id}/devices` — share a folder with another paired device.
pub async fn share_folder(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(folder): Path<String>,
    JsonBody(body): JsonBody<ShareFolder>,
) -> Result<StatusCode, ApiError> {
    let id: DeviceId = body.device_id.parse().map_err(|e: hearth_sync::SyncError| ApiError::invalid(e.to_string()))?;
    let (now, addr, text) = (state.now(), peer.as_ref().and_then(|p| p.0.address_text()), id.to_string());
    state
        .write(move |tx| {
            if hearth_catalog::sync_folders::get_folder(tx, &folder)?.is_none() {
                return Ok(Err(ApiError::not_found(format!("no folder {folder:?}"))));
            }
            if !sync_peers::is_paired(tx, &text)? {
                return Ok(Err(ApiError::invalid(format!("device {text} is not paired"))));
            }
            hearth_catalog::sync_folders::share(tx, &folder, &text)?;
            audit_entry(tx, &caller, addr.as_deref(), "sync.folder.share", &folder, Some(&text), now)?;
            Ok(Ok(()))
        })
        .await??;
    reload(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/sync/folders/{id}` — stop sharing a folder (its files stay).
pub async fn remove_folder(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(folder): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (now, addr) = (state.now(), peer.as_ref().and_then(|p| p.0.address_text()));
    let removed = state
        .write(move |tx| {
            let removed = hearth_catalog::sync_folders::remove_folder(tx, &folder)?;
            if removed {
                audit_entry(tx, &caller, addr.as_deref(), "sync.folder.remove", &folder, None, now)?;
            }
            Ok(removed)
        })
        .await?;
    if !removed {
        return Err(ApiError::not_found("no such folder"));
    }
    reload(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/sync/folders/{id}/scan` — look for local changes now.
pub async fn scan_folder(State(state): State<AppState>, Path(folder): Path<String>) -> Result<StatusCode, ApiError> {
    engine(&state)?.scan(&folder).map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /api/v1/sync/folders/{id}/versions` body.
#[derive(Serialize)]
pub struct Versions {
    /// Kept versions, newest first.
    pub versions: Vec<hearth_sync::versions::Version>,
}

/// `GET /api/v1/sync/folders/{id}/versions`
pub async fn versions(State(state): State<AppState>, Path(folder): Path<String>) -> Result<Json<Versions>, ApiError> {
    let root = engine(&state)?.folder_root(&folder).map_err(|e| ApiError::not_found(e.to_string()))?;
    let versions =
        tokio::task::spawn_blocking(move || hearth_sync::versions::list(&root)).await.map_err(ApiError::internal)?.map_err(sync_error)?;
    Ok(Json(Versions { versions }))
}

/// `POST /api/v1/sync/folders/{id}/versions/restore` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    /// The version, as listed (`DIR/NAME~YYYYMMDD-HHMMSS.EXT`).
    pub version: String,
}

/// `POST /api/v1/sync/folders/{id}/versions/restore` — put a version back (what is there now
/// becomes a version itself).
pub async fn restore_version(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(folder): Path<String>,
    JsonBody(body): JsonBody<Restore>,
) -> Result<StatusCode, ApiError> {
    let engine = engine(&state)?.clone();
    let root = engine.folder_root(&folder).map_err(|e| ApiError::not_found(e.to_string()))?;
    let (version, now) = (body.version.clone(), state.now());
    let restored = tokio::task::spawn_blocking(move || hearth_sync::versions::restore(&root, &version, now))
        .await
        .map_err(ApiError::internal)?
        .map_err(sync_error)?;
    // A photo put back is in the timeline again now, not at the next scan of its folder (a scan
    // may have found it gone meanwhile).
    let (catalog, data_dir, folders) = (state.catalog.clone(), state.data_dir.clone(), state.config.files.photo_folders.clone());
    let rescan =
        tokio::task::spawn_blocking(move || hearth_photos::libraries::scan_holding(&catalog, &data_dir, &folders, &restored, now)).await;
    if let Ok(Err(e)) = rescan {
        tracing::warn!(error = %e, "the photo folder of a restored version could not be scanned; the next scan finds it");
    }
    let addr = peer.as_ref().and_then(|p| p.0.address_text());
    let target = folder.clone();
    state.write(move |tx| audit_entry(tx, &caller, addr.as_deref(), "sync.version.restore", &target, Some(&body.version), now)).await?;
    let _ = engine.scan(&folder);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/sync/connections` body.
#[derive(Serialize)]
pub struct Connections {
    /// Connected devices.
    pub connections: Vec<hearth_sync::engine::ConnectionStatus>,
}

/// `GET /api/v1/sync/connections`
pub async fn connections(State(state): State<AppState>) -> Result<Json<Connections>, ApiError> {
    Ok(Json(Connections { connections: state.sync.as_ref().map(|e| e.connections()).unwrap_or_default() }))
}
