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
            let e = NewEntry {
                actor_id: caller.actor_id(),
                actor_name: Some(&caller.name),
                address: addr.as_deref(),
                action: "sync.device.add",
                target: Some(&text),
                detail: Some(&d.name),
            };
            audit::append(tx, &e, Outcome::Ok, now)?;
            Ok(d)
        })
        .await?;
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
                let e = NewEntry {
                    actor_id: caller.actor_id(),
                    actor_name: Some(&caller.name),
                    address: addr.as_deref(),
                    action: "sync.device.remove",
                    target: Some(&text),
                    detail: None,
                };
                audit::append(tx, &e, Outcome::Ok, now)?;
            }
            Ok(removed)
        })
        .await?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("no such paired device")) }
}

/// `GET /api/v1/sync/folders` body.
#[derive(Serialize)]
pub struct Folders {
    /// Folders paired devices offer, waiting for the owner.
    pub pending: Vec<sync_peers::PendingFolder>,
}

/// `GET /api/v1/sync/folders`
pub async fn folders(State(state): State<AppState>) -> Result<Json<Folders>, ApiError> {
    let pending = state.read(sync_peers::list_pending_folders).await?;
    Ok(Json(Folders { pending }))
}
