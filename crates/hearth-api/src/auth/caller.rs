//! Resolving the caller of a request, and enforcing each route's access level.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth_catalog::users::{Role, User};
use hearth_catalog::{sessions, tokens, users};

use super::{SESSION_COOKIE, TOKEN_PREFIX, secret};
use crate::{ApiError, AppState};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, setup, login, the web page.
    Public,
    /// Any logged-in user.
    User,
    /// Owners and admins.
    Admin,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A login session cookie (its secret's hash).
    Session(Vec<u8>),
    /// An app password / API token (its id).
    Token(i64),
    /// The owner-only unix socket in the data folder: whoever can open it already controls the
    /// data, so it acts with the owner's rights.
    LocalSocket,
}

/// The authenticated caller, put in the request's extensions by [`enforce`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user, when the caller is one (not for the local socket).
    pub user: Option<User>,
    /// A name for the audit log.
    pub name: String,
    /// The rights.
    pub role: Role,
    /// How.
    pub via: Via,
}

impl Caller {
    /// The user, or an error for callers that are not a user (the local socket).
    pub fn require_user(&self) -> Result<&User, ApiError> {
        self.user.as_ref().ok_or_else(|| ApiError::invalid("this needs a user: log in, or use `hearth --url URL` with an app password"))
    }

    /// The user's id for the audit log.
    pub fn actor_id(&self) -> Option<i64> {
        self.user.as_ref().map(|u| u.id)
    }
}

/// Where a request came from, put in the extensions by the server for every connection.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The TCP peer, when TCP.
    pub addr: Option<SocketAddr>,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// Whether it came through the owner-only unix socket.
    pub local_socket: bool,
}

impl Peer {
    /// The client's address as text, for the audit log.
    pub fn address_text(&self) -> Option<String> {
        if self.local_socket {
            return Some("local socket".into());
        }
        self.addr.map(|a| a.ip().to_string())
    }
}

/// How often a session or token's "last used" is written at most.
const TOUCH_EVERY: i64 = 60;

fn cookie_value<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    cookie_in(req.headers(), name)
}

/// The value of cookie `name` in a request's headers.
pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
    })
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// The credentials a request carries, taken out of it before any await (a request body is not
/// `Sync`, so a request cannot be borrowed across awaits).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Where it came from.
    pub peer: Option<Peer>,
    /// `Authorization: Bearer` value.
    pub bearer: Option<String>,
    /// The session cookie's value.
    pub cookie: Option<String>,
}

impl Credentials {
    /// Take the credentials of `req`.
    pub fn of(req: &Request) -> Self {
        Credentials {
            peer: req.extensions().get::<Peer>().copied(),
            bearer: bearer(req).map(str::to_string),
            cookie: cookie_value(req, SESSION_COOKIE).map(str::to_string),
        }
    }
}

/// Work out who is calling. `Ok(None)` means nobody (no or unknown credentials).
pub async fn resolve(state: &AppState, creds: Credentials) -> Result<Option<Caller>, ApiError> {
    let peer = creds.peer;
    if peer.is_some_and(|p| p.local_socket) {
        return Ok(Some(Caller { user: None, name: "local administrator".into(), role: Role::Owner, via: Via::LocalSocket }));
    }
    let now = state.now();
    if let Some(token) = creds.bearer.as_deref() {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let hash = secret::sha256(token);
        let found = state
            .read(move |c| {
                let Some(t) = tokens::find(c, &hash)? else { return Ok(None) };
                Ok(users::by_id(c, t.user_id)?.map(|u| (t, u)))
            })
            .await?;
        let Some((t, user)) = found else { return Ok(None) };
        if t.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY) {
            let id = t.id;
            state.write(move |tx| tokens::touch(tx, id, now)).await?;
        }
        return Ok(Some(Caller { name: user.name.clone(), role: user.role, user: Some(user), via: Via::Token(t.id) }));
    }
    if let Some(cookie) = creds.cookie.as_deref() {
        if cookie.len() > 128 {
            return Ok(None);
        }
        let hash = secret::sha256(cookie);
        let h = hash.clone();
        let found = state
            .read(move |c| {
                let Some(s) = sessions::find(c, &h, now)? else { return Ok(None) };
                Ok(users::by_id(c, s.user_id)?.map(|u| (s, u)))
            })
            .await?;
        let Some((s, user)) = found else { return Ok(None) };
        if now - s.last_seen_at >= TOUCH_EVERY {
            let idle = i64::try_from(state.config.accounts.session_idle.as_secs()).unwrap_or(i64::MAX / 2);
            let h = hash.clone();
            state.write(move |tx| sessions::touch(tx, &h, now, now + idle)).await?;
        }
        return Ok(Some(Caller { name: user.name.clone(), role: user.role, user: Some(user), via: Via::Session(hash) }));
    }
    Ok(None)
}

/// The layer that refuses a request without the access its route needs.
pub async fn enforce(State(state): State<AppState>, access: Access, mut req: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let caller = match resolve(&state, Credentials::of(&req)).await {
        Ok(Some(c)) => c,
        Ok(None) => return ApiError::unauthenticated().into_response(),
        Err(e) => return e.into_response(),
    };
    if access == Access::Admin && caller.role < Role::Admin {
        return ApiError::forbidden("only an owner or admin may do this").into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}
