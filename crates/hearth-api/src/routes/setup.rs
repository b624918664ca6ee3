//! Claiming the box: the first person becomes its owner.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hearth_catalog::audit::{self, NewEntry, Outcome};
use hearth_catalog::users::{self, NewUser, Role};
use hearth_catalog::{CatalogError, settings};
use hearth_core::ErrorKind;
use serde::{Deserialize, Serialize};

use super::account::{UserView, session_response};
use super::{JsonBody, check_display_name, check_user_name};
use crate::auth::caller::Peer;
use crate::auth::password;
use crate::{ApiError, AppState};

/// `GET /api/v1/setup` answer.
#[derive(Serialize)]
pub struct SetupState {
    /// Whether an owner exists.
    pub claimed: bool,
    /// Whether this client must give the setup code to claim.
    pub code_required: bool,
    /// A whole-box recovery under way or ready to finish.
    pub recovery: Option<RecoveryView>,
}

fn is_local(state: &AppState, peer: Option<Peer>) -> bool {
    match peer {
        Some(p) if p.local_socket => true,
        Some(Peer { addr: Some(a), .. }) => hearth_platform::network::is_local_peer(a.ip(), &state.local_networks),
        _ => false,
    }
}

/// `GET /api/v1/setup`
pub async fn state(State(state): State<AppState>, peer: Option<axum::Extension<Peer>>) -> Json<SetupState> {
    let peer = peer.map(|p| p.0);
    let claimed = state.setup.current().is_none();
    Json(SetupState { claimed, code_required: !claimed && !is_local(&state, peer), recovery: state.recovery.current() })
}

/// From outside the box's own networks, the setup code must be given (throttled and audited
/// when wrong).
async fn check_setup_code(state: &AppState, peer: Option<Peer>, code: Option<&str>, action: &'static str) -> Result<(), ApiError> {
    if is_local(state, peer) {
        return Ok(());
    }
    let address = peer.and_then(|p| p.address_text());
    let ip = peer.and_then(|p| p.addr).map(|a| a.ip());
    let now = state.clock.now_secs();
    let wait = state.throttle.wait(None, ip, now);
    if wait > 0 {
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(ErrorKind::RateLimited, format!("too many wrong setup codes; try again in {wait} s"))
        });
    }
    if code.is_some_and(|c| state.setup.matches(c)) {
        return Ok(());
    }
    state.throttle.failed(None, ip, now);
    let now_db = state.now();
    state
        .write(move |tx| {
            let e = NewEntry { action, address: address.as_deref(), detail: Some("wrong or missing setup code"), ..Default::default() };
            audit::append(tx, &e, Outcome::Denied, now_db)
        })
        .await?;
    Err(ApiError::forbidden("setting up this Hearth from outside its home network needs the setup code")
        .with_guidance("the code is printed on the box's console and stored in the data folder as setup-code"))
}

/// Where a whole-box recovery is (`GET /api/v1/setup` shows it).
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryView {
    /// `restoring`, `ready` (restart to finish), or `failed`.
    pub state: &'static str,
    /// What happened, for people.
    pub message: String,
    /// The snapshot being restored, once known.
    pub snapshot: Option<hearth_backup::service::recovery::Ready>,
}

/// The recovery in progress, if any.
#[derive(Debug, Default)]
pub struct RecoveryStatus(std::sync::Mutex<Option<RecoveryView>>);

impl RecoveryStatus {
    /// The current state; a failed one does not block a new attempt or a claim.
    pub fn current(&self) -> Option<RecoveryView> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone().filter(|v| v.state != "failed")
    }

    fn view(&self) -> Option<RecoveryView> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, v: RecoveryView) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
    }
}

/// `POST /api/v1/setup/recover` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    /// Where the backup is.
    pub target: hearth_backup::service::target::TargetSpec,
    /// Its credentials.
    #[serde(default)]
    pub secret: hearth_backup::service::target::TargetSecret,
    /// The recovery key (or the backup password the owner chose).
    pub recovery_key: String,
    /// The setup code, needed from outside the box's LAN.
    pub setup_code: Option<String>,
}

/// `POST /api/v1/setup/recover`: an unclaimed box restores the newest backup of a whole box
/// from a place (docs/backups.md, "Whole-box recovery"). 202 at once; the restore runs in the
/// background and `GET /api/v1/setup` follows it. When it is ready, the appliance restarts to
/// finish; elsewhere hearthd is restarted by whoever runs it.
pub async fn recover(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<Recover>,
) -> Result<(axum::http::StatusCode, Json<RecoveryView>), ApiError> {
    let peer = peer.map(|p| p.0);
    if state.setup.current().is_none() {
        return Err(ApiError::new(ErrorKind::Conflict, "this Hearth already has an owner")
            .with_guidance("restore files from the Backups page instead"));
    }
    check_setup_code(&state, peer, body.setup_code.as_deref(), "setup.recover").await?;
    if state.recovery.current().is_some() {
        return Err(ApiError::new(ErrorKind::Conflict, "a restore of this box is already under way"));
    }
    let spec = body.target.validated(&body.secret).map_err(super::backups::backup_error)?;
    let started = RecoveryView { state: "restoring", message: format!("restoring from {}", spec.location()), snapshot: None };
    state.recovery.set(started.clone());
    let (data, status, power) = (state.data_dir.clone(), state.recovery.clone(), state.power.clone());
    let (secret, key) = (body.secret, body.recovery_key);
    tokio::spawn(async move {
        let result = tokio::task::spawn_blocking(move || hearth_backup::service::recovery::prepare(&data, &spec, &secret, &key)).await;
        match result {
            Ok(Ok(ready)) => {
                let message = match &power {
                    Some(_) => "the box restarts to finish".to_string(),
                    None => "restart hearthd to finish".to_string(),
                };
                status.set(RecoveryView { state: "ready", message, snapshot: Some(ready) });
                if let Some(p) = power {
                    // The answer to the page's next poll goes out first.
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    if let Err(e) = tokio::task::spawn_blocking(move || p.reboot()).await {
                        tracing::warn!(error = %e, "could not restart after the recovery");
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "whole-box recovery failed; the box is as it was");
                status.set(RecoveryView { state: "failed", message: super::backups::backup_error(e).message, snapshot: None });
            }
            Err(e) => status.set(RecoveryView { state: "failed", message: format!("the restore stopped: {e}"), snapshot: None }),
        }
    });
    Ok((axum::http::StatusCode::ACCEPTED, Json(started)))
}

/// `GET /api/v1/setup/recover`: the recovery's state, failed ones included.
pub async fn recovery(State(state): State<AppState>) -> Result<Json<RecoveryView>, ApiError> {
    state.recovery.view().map(Json).ok_or_else(|| ApiError::not_found("no restore of this box was started"))
}

/// `POST /api/v1/setup/claim` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The owner's login name.
    pub name: String,
    /// The owner's password.
    pub password: String,
    /// Shown in the UI; defaults to the name.
    pub display_name: Option<String>,
    /// The setup code, needed from outside the box's LAN.
    pub setup_code: Option<String>,
    /// What the family calls the box (phones and the LAN see it); defaults to `device.name`.
    pub box_name: Option<String>,
    /// Where the box is (an IANA name such as `Europe/Paris`); defaults to UTC.
    pub time_zone: Option<String>,
}

/// `POST /api/v1/setup/claim`
pub async fn claim(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Claim>,
) -> Result<Response, ApiError> {
    let peer = peer.map(|p| p.0);
    if state.setup.current().is_none() {
        return Err(ApiError::new(ErrorKind::Conflict, "this Hearth already has an owner").with_guidance("log in instead"));
    }
    let address = peer.and_then(|p| p.address_text());
    check_setup_code(&state, peer, body.setup_code.as_deref(), "setup.claim").await?;
    if state.recovery.current().is_some() {
        return Err(ApiError::new(ErrorKind::Conflict, "this box is being restored from a backup")
            .with_guidance("wait for the restore to finish; the box's users come back with it"));
    }
    check_user_name(&body.name)?;
    let display = body.display_name.clone().unwrap_or_else(|| body.name.clone());
    check_display_name(&display)?;
    password::check_rules(&body.password)?;
    let box_settings = super::box_settings::Change { name: body.box_name.clone(), time_zone: body.time_zone.clone(), map_tiles: None }
        .apply(state.box_settings.current())
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let hash = password::hash(body.password).await?;
    let now = state.now();
    let name = body.name.clone();
    let addr = address.clone();
    let kept = box_settings.clone();
    let user = state
        .write(move |tx| {
            if users::count(tx)? > 0 {
                return Err(CatalogError::Conflict("this Hearth already has an owner".into()));
            }
            let u = users::create(tx, &NewUser { name: name.clone(), display_name: display, role: Role::Owner, password_hash: hash }, now)?;
            settings::set(tx, "claimed_at", &now.to_string())?;
            settings::set_box_settings(tx, &kept)?;
            let e = NewEntry {
                actor_id: Some(u.id),
                actor_name: Some(&name),
                address: addr.as_deref(),
                action: "setup.claim",
                target: Some(&name),
                ..Default::default()
            };
            audit::append(tx, &e, Outcome::Ok, now)?;
            Ok(u)
        })
        .await?;
    state.setup.consume();
    state.box_settings.replace(box_settings.clone());
    if let Some(sync) = &state.sync {
        sync.set_name(box_settings.name.to_string());
    }
    tracing::info!(owner = %user.name, name = %box_settings.name, time_zone = %box_settings.time_zone, "this Hearth has been claimed");
    if peer.is_some_and(|p| p.local_socket) {
        return Ok((axum::http::StatusCode::CREATED, Json(UserView::from(&user))).into_response());
    }
    session_response(&state, &user, peer, &headers, axum::http::StatusCode::CREATED).await
}

/// `POST /api/v1/setup/certificate` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateQuestion {
    /// `https://other.local[:port]`.
    pub address: String,
    /// The setup code, needed from outside the box's LAN.
    pub setup_code: Option<String>,
}

/// `POST /api/v1/setup/certificate`: while unclaimed, the certificate another Hearth presents,
/// for recovering this box from it (admins use `/api/v1/backups/certificate` once claimed).
pub async fn certificate(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<CertificateQuestion>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if state.setup.current().is_none() {
        return Err(ApiError::new(ErrorKind::Conflict, "this Hearth already has an owner").with_guidance("use the Backups page"));
    }
    check_setup_code(&state, peer.map(|p| p.0), body.setup_code.as_deref(), "setup.certificate").await?;
    let address = body.address;
    let sha = tokio::task::spawn_blocking(move || hearth_backup::service::target::observe_certificate(&address))
        .await?
        .map_err(super::backups::backup_error)?;
    Ok(Json(serde_json::json!({ "cert_sha256": sha })))
}
