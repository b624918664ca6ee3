//! Resolving the caller of a request, and enforcing each route's access level.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth_catalog::tokens::Scope;
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
    /// An app password / API token (its id), as a bearer token or a Basic password.
    Token(i64),
    /// The account's own password in Basic credentials (restic, WebDAV apps).
    Password,
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
    /// What the credentials allow (app passwords may be for backups only).
    pub scope: Scope,
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
    /// `Authorization: Basic` name and password.
    pub basic: Option<(String, String)>,
}

impl Credentials {
    /// Take the credentials of `req`.
    pub fn of(req: &Request) -> Self {
        Credentials {
            peer: req.extensions().get::<Peer>().copied(),
            bearer: bearer(req).map(str::to_string),
            cookie: cookie_value(req, SESSION_COOKIE).map(str::to_string),
            basic: req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(super::basic::parse),
        }
    }
}

/// Work out who is calling. `Ok(None)` means nobody (no or unknown credentials).
pub async fn resolve(state: &AppState, creds: Credentials) -> Result<Option<Caller>, ApiError> {
    let peer = creds.peer;
    if peer.is_some_and(|p| p.local_socket) {
        return Ok(Some(Caller {
            user: None,
            name: "local administrator".into(),
            role: Role::Owner,
            via: Via::LocalSocket,
            scope: Scope::Full,
        }));
    }
    let now = state.now();
    if let Some(token) = creds.bearer.as_deref() {
        return app_password(state, token, None, now).await;
    }
    if let Some((name, password)) = creds.basic {
        if password.starts_with(TOKEN_PREFIX) {
            return app_password(state, &password, Some(&name), now).await;
        }
        return account_password(state, name, password, peer).await;
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
        return Ok(Some(Caller {
            name: user.name.clone(),
            role: user.role,
            user: Some(user),
            via: Via::Session(hash),
            scope: Scope::Full,
        }));
    }
    Ok(None)
}

/// An app password, as a bearer token or as a Basic password under its user's `name`.
async fn app_password(state: &AppState, token: &str, name: Option<&str>, now: i64) -> Result<Option<Caller>, ApiError> {
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
    // Basic credentials name the user; another user's app password proves nothing about them.
    if name.is_some_and(|n| !n.eq_ignore_ascii_case(&user.name)) {
        return Ok(None);
    }
    if t.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY) {
        let id = t.id;
        state.write(move |tx| tokens::touch(tx, id, now)).await?;
    }
    Ok(Some(Caller { name: user.name.clone(), role: user.role, user: Some(user), via: Via::Token(t.id), scope: t.scope }))
}

/// An account's own password in Basic credentials: throttled like logins, remembered a few
/// minutes once verified.
async fn account_password(state: &AppState, name: String, password: String, peer: Option<Peer>) -> Result<Option<Caller>, ApiError> {
    if name.len() > 64 || password.len() > super::password::MAX_LEN {
        return Ok(None);
    }
    let ip = peer.and_then(|p| p.addr).map(|a| a.ip());
    let now = state.clock.now_secs();
    let wait = state.throttle.wait(Some(&name), ip, now);
    if wait > 0 {
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(hearth_core::ErrorKind::RateLimited, format!("too many failed logins; try again in {wait} s"))
        });
    }
    let n = name.clone();
    let user = state.read(move |c| users::by_name(c, &n)).await?;
    let known = user.as_ref().is_some_and(|u| state.verified_passwords.remembers(&u.name, &password, &u.password_hash));
    let ok = known || super::password::verify(password.clone(), user.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = user.filter(|_| ok) else {
        state.throttle.failed(Some(&name), ip, now);
        let address = peer.and_then(|p| p.address_text());
        crate::routes::account::audit_denied_login(state, &name, address, "wrong user name or password (Basic credentials)", state.now())
            .await?;
        return Ok(None);
    };
    if !known {
        state.throttle.succeeded(&user.name);
        state.verified_passwords.remember(&user.name, &password, &user.password_hash);
    }
    Ok(Some(Caller { name: user.name.clone(), role: user.role, user: Some(user), via: Via::Password, scope: Scope::Full }))
}

/// The 401 for a request without credentials. WebDAV clients (and restic) send Basic
/// credentials only once asked for them, so their paths ask for Basic.
fn challenge(path: &str) -> Response {
    let mut r = ApiError::unauthenticated().into_response();
    if path == "/dav" || ["/dav/", "/remote.php/", "/restic/"].iter().any(|p| path.starts_with(p)) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"Hearth\", charset=\"UTF-8\""));
    }
    r
}

/// The layer that refuses a request without the access its route needs.
pub async fn enforce(State(state): State<AppState>, access: Access, mut req: Request, next: Next) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let caller = match resolve(&state, Credentials::of(&req)).await {
        Ok(Some(c)) => c,
        Ok(None) => return challenge(req.uri().path()),
        Err(e) => return e.into_response(),
    };
    if access == Access::Admin && caller.role < Role::Admin {
        return ApiError::forbidden("only an owner or admin may do this").into_response();
    }
    if caller.scope != Scope::Full && !req.uri().path().starts_with("/restic/") {
        return ApiError::forbidden("this app password is for backups only")
            .with_guidance("log in with your own password, or make an app password for all apps on the Family page")
            .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}
