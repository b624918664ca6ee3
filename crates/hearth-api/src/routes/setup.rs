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
    Json(SetupState { claimed, code_required: !claimed && !is_local(&state, peer) })
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
    let ip = peer.and_then(|p| p.addr).map(|a| a.ip());
    if !is_local(&state, peer) {
        let now = state.clock.now_secs();
        let wait = state.throttle.wait(None, ip, now);
        if wait > 0 {
            return Err(ApiError {
                retry_after: Some(wait),
                ..ApiError::new(ErrorKind::RateLimited, format!("too many wrong setup codes; try again in {wait} s"))
            });
        }
        let ok = body.setup_code.as_deref().is_some_and(|c| state.setup.matches(c));
        if !ok {
            state.throttle.failed(None, ip, now);
            let addr = address.clone();
            let now_db = state.now();
            state
                .write(move |tx| {
                    let e = NewEntry {
                        action: "setup.claim",
                        address: addr.as_deref(),
                        detail: Some("wrong or missing setup code"),
                        ..Default::default()
                    };
                    audit::append(tx, &e, Outcome::Denied, now_db)
                })
                .await?;
            return Err(ApiError::forbidden("claiming this Hearth from outside its home network needs the setup code")
                .with_guidance("the code is printed on the box's console and stored in the data folder as setup-code"));
        }
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
