//! Logging in and out, the caller's own account, and their app passwords.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_catalog::audit::{self, NewEntry, Outcome};
use hearth_catalog::sessions::{self, Session};
use hearth_catalog::tokens;
use hearth_catalog::users::{self, Role, User};
use hearth_core::ErrorKind;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::caller::Peer;
use crate::auth::{Caller, SESSION_COOKIE, TOKEN_PREFIX, Via, password, secret};
use crate::{ApiError, AppState};

/// A user as the API shows it (never the password hash).
#[derive(Serialize)]
pub struct UserView {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
    /// The most bytes their files may take; absent: as much as the disk has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_quota_bytes: Option<u64>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            created_at: u.created_at,
            files_quota_bytes: u.files_quota_bytes,
        }
    }
}

/// Create a session for `user` and answer with its cookie and the user.
pub async fn session_response(
    state: &AppState,
    user: &User,
    peer: Option<Peer>,
    headers: &HeaderMap,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let secret_value = secret::new_secret()?;
    let now = state.now();
    let idle = i64::try_from(state.config.accounts.session_idle.as_secs()).unwrap_or(i64::MAX / 2);
    let s = Session {
        secret_hash: secret::sha256(&secret_value),
        user_id: user.id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + idle,
    };
    let address = peer.and_then(|p| p.address_text());
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(200).collect::<String>());
    state.write(move |tx| sessions::create(tx, &s, address.as_deref(), agent.as_deref())).await?;
    let secure = if peer.is_some_and(|p| p.tls) { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={secret_value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={idle}{secure}");
    let mut resp = (status, Json(UserView::from(user))).into_response();
    let value = HeaderValue::from_str(&cookie).map_err(ApiError::internal)?;
    resp.headers_mut().insert(header::SET_COOKIE, value);
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `POST /api/v1/auth/login` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Login name.
    pub name: String,
    /// Password.
    pub password: String,
}

pub(crate) async fn audit_denied_login(
    state: &AppState,
    name: &str,
    address: Option<String>,
    detail: &'static str,
    now: i64,
) -> Result<(), ApiError> {
    let name = name.to_string();
    state
        .write(move |tx| {
            let e = NewEntry {
                actor_name: Some(&name),
                address: address.as_deref(),
                action: "login",
                detail: Some(detail),
                ..Default::default()
            };
            audit::append(tx, &e, Outcome::Denied, now)
        })
        .await
}

/// `POST /api/v1/auth/login`
pub async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let peer = peer.map(|p| p.0);
    let ip = peer.and_then(|p| p.addr).map(|a| a.ip());
    let address = peer.and_then(|p| p.address_text());
    if body.name.len() > 64 || body.password.len() > password::MAX_LEN {
        return Err(ApiError::invalid("user name or password too long"));
    }
    let now_u = state.clock.now_secs();
    let now = state.now();
    let wait = state.throttle.wait(Some(&body.name), ip, now_u);
    if wait > 0 {
        audit_denied_login(&state, &body.name, address.clone(), "throttled", now).await?;
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(ErrorKind::RateLimited, format!("too many failed logins; try again in {wait} s"))
        });
    }
    let name = body.name.clone();
    let user = state.read(move |c| users::by_name(c, &name)).await?;
    let ok = password::verify(body.password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = user.filter(|_| ok) else {
        state.throttle.failed(Some(&body.name), ip, now_u);
        audit_denied_login(&state, &body.name, address.clone(), "wrong user name or password", now).await?;
        return Err(ApiError::new(ErrorKind::Unauthenticated, "wrong user name or password"));
    };
    state.throttle.succeeded(&user.name);
    let (id, n, a) = (user.id, user.name.clone(), address.clone());
    state
        .write(move |tx| {
            let e = NewEntry { actor_id: Some(id), actor_name: Some(&n), address: a.as_deref(), action: "login", ..Default::default() };
            audit::append(tx, &e, Outcome::Ok, now)
        })
        .await?;
    session_response(&state, &user, peer, &headers, StatusCode::OK).await
}

/// `POST /api/v1/auth/logout`: ends the session; clears the cookie.
pub async fn logout(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>) -> Result<Response, ApiError> {
    if let Via::Session(hash) = caller.via.clone() {
        state.write(move |tx| sessions::delete(tx, &hash)).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    resp.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(ApiError::internal)?);
    Ok(resp)
}

/// `GET /api/v1/me`
pub async fn me(axum::Extension(caller): axum::Extension<Caller>) -> Result<Json<UserView>, ApiError> {
    Ok(Json(UserView::from(caller.require_user()?)))
}

/// `POST /api/v1/me/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    pub current: String,
    /// The new password.
    pub new: String,
}

/// `POST /api/v1/me/password`: needs the current password; ends the user's other sessions.
pub async fn change_password(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let user = caller.require_user()?.clone();
    let ip = peer.as_ref().and_then(|p| p.0.addr).map(|a| a.ip());
    let now_u = state.clock.now_secs();
    let wait = state.throttle.wait(Some(&user.name), ip, now_u);
    if wait > 0 {
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(ErrorKind::RateLimited, format!("too many wrong passwords; try again in {wait} s"))
        });
    }
    if !password::verify(body.current, Some(user.password_hash.clone())).await {
        state.throttle.failed(Some(&user.name), ip, now_u);
        return Err(ApiError::forbidden("the current password is wrong"));
    }
    password::check_rules(&body.new)?;
    let hash = password::hash(body.new).await?;
    let now = state.now();
    let keep = match &caller.via {
        Via::Session(h) => Some(h.clone()),
        _ => None,
    };
    let address = peer.and_then(|p| p.0.address_text());
    state
        .write(move |tx| {
            users::set_password(tx, user.id, &hash, now)?;
            sessions::delete_for_user(tx, user.id, keep.as_deref())?;
            let e = NewEntry {
                actor_id: Some(user.id),
                actor_name: Some(&user.name),
                address: address.as_deref(),
                action: "password.change",
                target: Some(&user.name),
                ..Default::default()
            };
            audit::append(tx, &e, Outcome::Ok, now)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me/tokens`
pub async fn list_tokens(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Json<Vec<tokens::AppToken>>, ApiError> {
    let id = caller.require_user()?.id;
    Ok(Json(state.read(move |c| tokens::list(c, id)).await?))
}

/// `POST /api/v1/me/tokens` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A name to recognise it by ("Anna's phone").
    pub name: String,
    /// What it may do (default: everything its user may).
    #[serde(default)]
    pub scope: tokens::Scope,
}

/// `POST /api/v1/me/tokens` answer: the secret is shown this once.
#[derive(Serialize)]
pub struct CreatedToken {
    /// The stored token.
    pub token: tokens::AppToken,
    /// The app password to give the app: `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// `POST /api/v1/me/tokens`
pub async fn create_token(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let user = caller.require_user()?.clone();
    super::check_display_name(&body.name)
        .map_err(|_| ApiError::invalid("an app password's name is 1 to 64 characters of printable text"))?;
    let address = peer.and_then(|p| p.0.address_text());
    let (token, secret_value) = issue_app_password(&state, &user, body.name, body.scope, address).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret: secret_value })))
}

/// Makes an app password named `name` for `user` (audited); its record and its secret, which
/// is shown this once.
pub async fn issue_app_password(
    state: &AppState,
    user: &User,
    name: String,
    scope: tokens::Scope,
    address: Option<String>,
) -> Result<(tokens::AppToken, String), ApiError> {
    let secret_value = format!("{TOKEN_PREFIX}{}", secret::new_secret()?);
    let hint: String = secret_value.chars().take(TOKEN_PREFIX.len() + 4).collect();
    let hash = secret::sha256(&secret_value);
    let now = state.now();
    let user = user.clone();
    let token = state
        .write(move |tx| {
            let t = tokens::create(tx, user.id, &name, &hash, &hint, scope, now)?;
            let e = NewEntry {
                actor_id: Some(user.id),
                actor_name: Some(&user.name),
                address: address.as_deref(),
                action: "token.create",
                target: Some(&name),
                detail: Some(scope.as_str()),
            };
            audit::append(tx, &e, Outcome::Ok, now)?;
            Ok(t)
        })
        .await?;
    Ok((token, secret_value))
}

/// `DELETE /api/v1/me/tokens/{id}`
pub async fn revoke_token(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = caller.require_user()?.clone();
    let id: i64 =
        id.parse().map_err(|_| ApiError::invalid(format!("{id:?} is not an app password id (a number from GET /api/v1/me/tokens)")))?;
    let now = state.now();
    state
        .write(move |tx| {
            tokens::delete(tx, user.id, id)?;
            let target = id.to_string();
            let e = NewEntry {
                actor_id: Some(user.id),
                actor_name: Some(&user.name),
                action: "token.revoke",
                target: Some(&target),
                ..Default::default()
            };
            audit::append(tx, &e, Outcome::Ok, now)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
