//! User management and the audit log (owners and admins).
//!
//! Rules: an admin manages members; only an owner may create, change or remove admins and
//! owners; the last owner can be neither demoted nor removed.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hearth_catalog::audit::{self, NewEntry, Outcome};
use hearth_catalog::users::{self, NewUser, Role, User};
use hearth_catalog::{CatalogError, sessions};
use serde::Deserialize;

use super::account::UserView;
use super::{JsonBody, check_display_name, check_user_name};
use crate::auth::caller::Peer;
use crate::auth::{Caller, password};
use crate::{ApiError, AppState};

/// `GET /api/v1/users`
pub async fn list_users(State(state): State<AppState>) -> Result<Json<Vec<UserView>>, ApiError> {
    let list = state.read(users::list).await?;
    Ok(Json(list.iter().map(UserView::from).collect()))
}

/// `POST /api/v1/users` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name.
    pub name: String,
    /// Initial password.
    pub password: String,
    /// Display name (defaults to the login name).
    pub display_name: Option<String>,
    /// Role (default member).
    pub role: Option<Role>,
}

fn may_manage(caller: &Caller, role: Role) -> Result<(), ApiError> {
    if role >= Role::Admin && caller.role < Role::Owner {
        return Err(ApiError::forbidden("only an owner may manage admins and owners"));
    }
    Ok(())
}

/// The audit entry of an admin action by `caller` on `target`.
pub(super) fn admin_entry<'a>(
    caller: &'a Caller,
    address: Option<&'a str>,
    action: &'a str,
    target: &'a str,
    detail: Option<&'a str>,
) -> NewEntry<'a> {
    NewEntry { actor_id: caller.actor_id(), actor_name: Some(&caller.name), address, action, target: Some(target), detail }
}

pub(super) fn address(peer: &Option<axum::Extension<Peer>>) -> Option<String> {
    peer.as_ref().and_then(|p| p.0.address_text())
}

/// `POST /api/v1/users`
pub async fn create_user(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    check_user_name(&body.name)?;
    let display = body.display_name.clone().unwrap_or_else(|| body.name.clone());
    check_display_name(&display)?;
    let role = body.role.unwrap_or(Role::Member);
    may_manage(&caller, role)?;
    password::check_rules(&body.password)?;
    let hash = password::hash(body.password).await?;
    let now = state.now();
    let addr = address(&peer);
    let user = state
        .write(move |tx| {
            let u = users::create(tx, &NewUser { name: body.name.clone(), display_name: display, role, password_hash: hash }, now)?;
            let detail = format!("role {}", role.as_str());
            let e = admin_entry(&caller, addr.as_deref(), "user.create", &u.name, Some(&detail));
            audit::append(tx, &e, Outcome::Ok, now)?;
            Ok(u)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

async fn target(state: &AppState, name: String) -> Result<User, ApiError> {
    let n = name.clone();
    state.read(move |c| users::by_name(c, &n)).await?.ok_or_else(|| ApiError::not_found(format!("no user named {name:?}")))
}

/// `PATCH /api/v1/users/{name}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// A new role.
    pub role: Option<Role>,
    /// A new display name.
    pub display_name: Option<String>,
    /// The most MiB their files may take; 0: as much as the disk has.
    pub files_quota_mib: Option<u64>,
}

/// `PATCH /api/v1/users/{name}`
pub async fn update_user(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    let user = target(&state, name).await?;
    may_manage(&caller, user.role)?;
    if let Some(role) = body.role {
        may_manage(&caller, role)?;
    }
    if let Some(d) = &body.display_name {
        check_display_name(d)?;
    }
    let now = state.now();
    let addr = address(&peer);
    let updated = state
        .write(move |tx| {
            if let Some(role) = body.role {
                if user.role == Role::Owner && role != Role::Owner && users::count_with_role(tx, Role::Owner)? <= 1 {
                    return Err(CatalogError::Conflict("the last owner cannot be demoted; make someone else owner first".into()));
                }
                users::set_role(tx, user.id, role)?;
            }
            if let Some(d) = &body.display_name {
                tx.execute("UPDATE users SET display_name = ?2 WHERE id = ?1", rusqlite_params(user.id, d))?;
            }
            if let Some(mib) = body.files_quota_mib {
                users::set_files_quota(tx, user.id, (mib > 0).then(|| mib.saturating_mul(1 << 20)))?;
            }
            let detail = match (body.role, body.files_quota_mib) {
                (Some(r), _) => Some(format!("role {}", r.as_str())),
                (None, Some(0)) => Some("files quota none".to_string()),
                (None, Some(mib)) => Some(format!("files quota {mib} MiB")),
                (None, None) => None,
            };
            let e = admin_entry(&caller, addr.as_deref(), "user.update", &user.name, detail.as_deref());
            audit::append(tx, &e, Outcome::Ok, now)?;
            users::by_id(tx, user.id)?.ok_or_else(|| CatalogError::NotFound("user".into()))
        })
        .await?;
    Ok(Json(UserView::from(&updated)))
}

fn rusqlite_params(id: i64, d: &str) -> (i64, String) {
    (id, d.to_string())
}

/// `DELETE /api/v1/users/{name}`: removes the account (its files are not touched here).
pub async fn delete_user(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = target(&state, name).await?;
    may_manage(&caller, user.role)?;
    let now = state.now();
    let addr = address(&peer);
    state
        .write(move |tx| {
            if user.role == Role::Owner && users::count_with_role(tx, Role::Owner)? <= 1 {
                return Err(CatalogError::Conflict("the last owner cannot be removed".into()));
            }
            users::delete(tx, user.id)?;
            let e = admin_entry(&caller, addr.as_deref(), "user.delete", &user.name, None);
            audit::append(tx, &e, Outcome::Ok, now)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{name}/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password.
    pub password: String,
}

/// `POST /api/v1/users/{name}/password`: sets a new password and ends the user's sessions.
pub async fn reset_password(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<ResetPassword>,
) -> Result<StatusCode, ApiError> {
    let user = target(&state, name).await?;
    if caller.actor_id() != Some(user.id) {
        may_manage(&caller, user.role)?;
    }
    password::check_rules(&body.password)?;
    let hash = password::hash(body.password).await?;
    let now = state.now();
    let addr = address(&peer);
    state
        .write(move |tx| {
            users::set_password(tx, user.id, &hash, now)?;
            sessions::delete_for_user(tx, user.id, None)?;
            let e = admin_entry(&caller, addr.as_deref(), "user.password_reset", &user.name, None);
            audit::append(tx, &e, Outcome::Ok, now)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/audit` query.
#[derive(Deserialize)]
pub struct AuditQuery {
    /// At most this many entries (1 to 500, default 100).
    pub limit: Option<u32>,
    /// Entries older than this id.
    pub before: Option<i64>,
}

/// `GET /api/v1/audit`
pub async fn audit(State(state): State<AppState>, Query(q): Query<AuditQuery>) -> Result<Json<Vec<audit::Entry>>, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    Ok(Json(state.read(move |c| audit::list(c, limit, q.before)).await?))
}

/// Which way the box goes down.
#[derive(Clone, Copy)]
enum PowerAction {
    Off,
    Reboot,
}

async fn power(state: AppState, caller: Caller, peer: Option<axum::Extension<Peer>>, action: PowerAction) -> Result<StatusCode, ApiError> {
    let Some(power) = state.power.clone() else {
        return Err(ApiError::new(
            hearth_core::ErrorKind::Conflict,
            "this hearthd does not control the machine (it is not running as the appliance's daemon); stop it like any program",
        ));
    };
    let now = state.now();
    let addr = address(&peer);
    let (name, verb) = match action {
        PowerAction::Off => ("system.poweroff", "power off"),
        PowerAction::Reboot => ("system.reboot", "reboot"),
    };
    // Recorded before asking, since the box goes down right after.
    state
        .write(move |tx| {
            let e = admin_entry(&caller, addr.as_deref(), name, "box", None);
            audit::append(tx, &e, Outcome::Ok, now)
        })
        .await?;
    let result = match action {
        PowerAction::Off => power.power_off(),
        PowerAction::Reboot => power.reboot(),
    };
    result.map_err(|e| ApiError::new(hearth_core::ErrorKind::of_io(&e), format!("the machine refused to {verb}: {e}")))?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/v1/system/poweroff`: stops every service, unmounts the data disk and powers off.
pub async fn power_off(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
) -> Result<StatusCode, ApiError> {
    power(state, caller, peer, PowerAction::Off).await
}

/// `POST /api/v1/system/reboot`: like power off, then starts again.
pub async fn reboot(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
) -> Result<StatusCode, ApiError> {
    power(state, caller, peer, PowerAction::Reboot).await
}
