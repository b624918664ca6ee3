//! The box's system updates over HTTP (docs/api.md, "Updates"): thin handlers over
//! `hearth_ota::updates`. The install itself runs in the background (as root through the
//! privileged helper on the appliance); these routes start it, show its progress, and hold the
//! channel and the history.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use hearth_catalog::audit::{self, Outcome};
use hearth_core::{ErrorKind, Kinded};
use hearth_ota::OtaError;
use hearth_ota::updates::{OfferView, Status};
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::admin::{address, admin_entry};
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::{ApiError, AppState};

/// The largest bundle accepted.
pub const MAX_BUNDLE: u64 = 4 << 30;
/// Room left on the data disk beyond an upload.
const SPARE: u64 = 64 << 20;

/// An update error as an answer.
pub fn update_error(e: OtaError) -> ApiError {
    let kind = match e.kind() {
        ErrorKind::Internal => return ApiError::internal(e),
        // The box's own files (the slots, the boot state) are not the caller's to fix.
        ErrorKind::PermissionDenied | ErrorKind::NotFound => ErrorKind::Internal,
        k => k,
    };
    let mut err = ApiError::new(kind, e.to_string());
    err.guidance = e.guidance();
    err
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, OtaError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?.map_err(update_error)
}

async fn audit_action(
    state: &AppState,
    caller: Caller,
    peer: Option<axum::Extension<Peer>>,
    action: &'static str,
    detail: Option<String>,
) -> Result<(), ApiError> {
    let now = state.now();
    let addr = address(&peer);
    state
        .write(move |tx| {
            let e = admin_entry(&caller, addr.as_deref(), action, "system", detail.as_deref());
            audit::append(tx, &e, Outcome::Ok, now)
        })
        .await
}

/// `GET /api/v1/updates`
pub async fn status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let updates = state.updates.clone();
    Ok(Json(blocking(move || Ok(updates.status())).await?))
}

/// The channel's address.
#[derive(Deserialize)]
pub struct ChannelBody {
    url: String,
}

/// `PUT /api/v1/updates/channel`
pub async fn set_channel(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<ChannelBody>,
) -> Result<StatusCode, ApiError> {
    let updates = state.updates.clone();
    let url = body.url.clone();
    blocking(move || updates.set_channel(&url)).await?;
    audit_action(&state, caller, peer, "update.channel", Some(body.url)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a look at the channel found.
#[derive(Serialize)]
pub struct Checked {
    offer: Option<OfferView>,
}

/// `POST /api/v1/updates/check`
pub async fn check(State(state): State<AppState>) -> Result<Json<Checked>, ApiError> {
    let updates = state.updates.clone();
    Ok(Json(Checked { offer: blocking(move || updates.check()).await? }))
}

/// An install started.
#[derive(Serialize)]
pub struct Started {
    version: Option<String>,
}

/// What to install from the network: the channel's offer, or a bundle's address.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InstallBody {
    url: Option<String>,
}

/// `POST /api/v1/updates/install`: install the channel's offer, or the bundle at `url`.
pub async fn install(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let updates = state.updates.clone();
    // No body (or `{}`): the channel's offer.
    let body: InstallBody = if raw.iter().all(u8::is_ascii_whitespace) {
        InstallBody::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| ApiError::invalid(format!("the body: {e}")))?
    };
    let (version, detail) = match body.url {
        Some(url) => {
            let u = url.clone();
            blocking(move || updates.install_url(&u)).await?;
            (None, format!("address: {url}"))
        }
        None => {
            let v = blocking(move || updates.install_offer()).await?;
            (Some(v.clone()), format!("channel: {v}"))
        }
    };
    audit_action(&state, caller, peer, "update.install", Some(detail)).await?;
    Ok((StatusCode::ACCEPTED, Json(Started { version })))
}

/// `POST /api/v1/updates/upload`: the body is a bundle; it is kept on the data disk and installed
/// (checked first in full: nothing is written to a slot before its signature holds).
pub async fn upload(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    request: Request,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let updates = state.updates.clone();
    if updates.layout().is_none() {
        return Err(update_error(OtaError::Busy(
            "this Hearth does not run from a card with two system slots: it cannot update itself".into(),
        )));
    }
    if updates.installing() {
        return Err(update_error(OtaError::Busy("an update is being installed already".into())));
    }
    let dir = updates.dir().to_path_buf();
    let declared =
        request.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared {
        if len > MAX_BUNDLE {
            return Err(ApiError::new(ErrorKind::TooLarge, format!("an update bundle may have at most {MAX_BUNDLE} bytes")));
        }
        let d = dir.clone();
        let free = tokio::task::spawn_blocking(move || hearth_platform::durable::space(&d).map(|(free, _)| free))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::new(ErrorKind::of_io(&e), format!("cannot see the data disk's free space: {e}")))?;
        if free < len + SPARE {
            return Err(update_error(OtaError::NoSpace { needed: len + SPARE, free }));
        }
    }
    let mut nonce = [0u8; 8];
    crate::auth::secret::fill_random(&mut nonce)?;
    let tmp = dir.join(format!(".upload-{}.part", crate::auth::secret::hex(&nonce)));
    let io = |e: std::io::Error| {
        let mut err = ApiError::new(ErrorKind::of_io(&e), format!("the update could not be stored: {e}"));
        if e.kind() == std::io::ErrorKind::StorageFull {
            err.guidance = Some("free some space on the data disk, or update from the channel (it needs no room)".into());
        }
        err
    };
    use tokio::io::AsyncWriteExt as _;
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).await.map_err(io)?;
    let mut body = request.into_body();
    let mut total = 0u64;
    let written: Result<(), ApiError> = async {
        use http_body_util::BodyExt as _;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ApiError::invalid(format!("the upload was cut off: {e}")))?;
            if let Some(data) = frame.data_ref() {
                total += data.len() as u64;
                if total > MAX_BUNDLE {
                    return Err(ApiError::new(ErrorKind::TooLarge, format!("an update bundle may have at most {MAX_BUNDLE} bytes")));
                }
                file.write_all(data).await.map_err(io)?;
            }
        }
        if declared.is_some_and(|d| d != total) {
            return Err(ApiError::invalid("the upload was cut off before its end"));
        }
        file.sync_all().await.map_err(io)
    }
    .await;
    drop(file);
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    let received = tmp.clone();
    blocking(move || updates.install_received(&received)).await?;
    audit_action(&state, caller, peer, "update.install", Some(format!("upload of {total} bytes"))).await?;
    Ok((StatusCode::ACCEPTED, Json(Started { version: None })))
}

/// `POST /api/v1/updates/cancel`
pub async fn cancel(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    let updates = state.updates.clone();
    blocking(move || updates.cancel()).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/v1/updates/go-back`: the previous version on trial at the next boot, and the box
/// restarted into it.
pub async fn go_back(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let Some(power) = state.power.clone() else {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "this hearthd does not control the machine: it cannot restart into the previous version",
        ));
    };
    let updates = state.updates.clone();
    let version = blocking(move || updates.go_back()).await?;
    audit_action(&state, caller, peer, "update.go_back", Some(version.clone())).await?;
    power.reboot().map_err(|e| ApiError::new(ErrorKind::of_io(&e), format!("the machine refused to restart: {e}")))?;
    Ok((StatusCode::ACCEPTED, Json(Started { version: Some(version) })))
}
