//! What the Nextcloud apps and nextcloudcmd ask of a Nextcloud besides WebDAV (docs/files.md,
//! "Nextcloud apps"): `status.php`, the OCS user and capabilities, Login Flow v2, the
//! unauthenticated probe of `/remote.php/dav` and the remote-wipe check. Thin: the login flows
//! are `auth::login_flow`'s, the files' usage `hearth_dav`'s.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hearth_catalog::tokens::Scope;
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::auth::login_flow::{self, Grant};
use crate::ocs::{self, OcsFormat, OcsVersion};
use crate::{ApiError, AppState};

/// The Nextcloud version the box answers as: the apps warn about servers older than 31.
pub const NEXTCLOUD_VERSION: (u32, u32, u32) = (31, 0, 0);

fn version_string() -> String {
    let (a, b, c) = NEXTCLOUD_VERSION;
    format!("{a}.{b}.{c}")
}

/// The address clients reach the box at, from the request (`http://hearth.local:8080`).
fn server_url(headers: &HeaderMap, peer: Option<Peer>) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
        .ok_or_else(|| ApiError::invalid("the request has no usable Host header"))?;
    let scheme = if peer.is_some_and(|p| p.tls) { "https" } else { "http" };
    Ok(format!("{scheme}://{host}"))
}

/// `GET /status.php`
pub async fn status() -> Response {
    let (a, b, c) = NEXTCLOUD_VERSION;
    Json(json!({
        "installed": true,
        "maintenance": false,
        "needsDbUpgrade": false,
        "version": format!("{a}.{b}.{c}.0"),
        "versionstring": version_string(),
        "edition": "",
        "productname": "Hearth",
        "extendedSupport": false,
    }))
    .into_response()
}

/// `GET /ocs/v{1,2}.php/cloud/capabilities`
pub async fn capabilities(uri: Uri, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let (a, b, c) = NEXTCLOUD_VERSION;
    let data = json!({
        "version": {"major": a, "minor": b, "micro": c, "string": version_string(), "edition": "", "extendedSupport": false},
        "capabilities": {
            "core": {"pollinterval": 60, "webdav-root": "remote.php/webdav", "reference-api": false},
            "dav": {"chunking": "1.0"},
            "files": {"bigfilechunking": true, "undelete": true, "versioning": true, "version_labeling": false, "comments": false},
            // Public links only (routes::ocs_shares): the family shares with one another through
            // family folders.
            "files_sharing": {
                "api_enabled": true,
                "default_permissions": 1,
                "public": {
                    "enabled": true,
                    "password": {"enforced": false, "askForOptionalPassword": false},
                    "expire_date": {"enabled": false, "enforced": false},
                    "multiple_links": true,
                    "send_mail": false,
                    "upload": true,
                    "upload_files_drop": true,
                },
                "user": {"send_mail": false, "expire_date": {"enabled": false}},
                "group_sharing": false,
                "resharing": false,
                "federation": {"outgoing": false, "incoming": false, "expire_date": {"enabled": false}},
                "sharee": {"query_lookup_default": false, "always_show_unique": true},
            },
            "theming": {"name": "Hearth", "url": "", "slogan": "The family's own box", "color": "#b4532a", "color-text": "#ffffff"},
        },
    });
    ocs::respond(OcsVersion::of_path(uri.path()), OcsFormat::of_request(query.as_deref(), &headers), StatusCode::OK, "OK", data)
}

/// `GET /ocs/v{1,2}.php/cloud/user` and `…/cloud/users/{name}` (one's own only).
pub async fn user(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    name: Option<Path<String>>,
) -> Response {
    let (version, format) = (OcsVersion::of_path(uri.path()), OcsFormat::of_request(query.as_deref(), &headers));
    let me = match caller.require_user() {
        Ok(u) => u.clone(),
        Err(_) => return ocs::respond(version, format, StatusCode::FORBIDDEN, "only a family member has files", json!([])),
    };
    if let Some(Path(n)) = name
        && !n.eq_ignore_ascii_case(&me.name)
    {
        return ocs::respond(version, format, StatusCode::NOT_FOUND, "you may only look at your own account", json!([]));
    }
    let space = super::dav::files_space(&state, &me);
    let (used, free) = match state.dav.usage(space).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = ?e, "the files' usage could not be measured");
            (0, 0)
        }
    };
    let total = used + free;
    let relative = if total == 0 { 0.0 } else { (used as f64 * 10_000.0 / total as f64).round() / 100.0 };
    let data = json!({
        "enabled": true,
        "id": me.name,
        "display-name": me.display_name,
        "displayname": me.display_name,
        "email": Value::Null,
        "phone": "",
        "address": "",
        "website": "",
        "twitter": "",
        "groups": [],
        "language": "",
        "locale": "",
        "backend": "Database",
        // -3: no quota set, the disk's free space is the limit (Nextcloud's convention).
        "quota": {"free": free, "used": used, "total": total, "relative": relative, "quota": me.files_quota_bytes.map_or(json!(-3), |q| json!(q))},
    });
    ocs::respond(version, format, StatusCode::OK, "OK", data)
}

/// `HEAD`, `GET`, `OPTIONS` … `/remote.php/dav[/]`: the apps probe it without credentials to
/// learn that Basic is asked for (the access layer answers that 401); with credentials it is
/// the root of the DAV spaces, where a CalDAV or CardDAV client asks for its principal
/// (PROPFIND, answered as at `/dav/`, docs/calendars.md).
pub async fn dav_root(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    request: axum::extract::Request,
) -> Response {
    match request.method().as_str() {
        "HEAD" | "GET" | "OPTIONS" => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut().insert("dav", HeaderValue::from_static("1, 2, 3, calendar-access, addressbook"));
            r
        }
        "PROPFIND" | "REPORT" => super::pim::answer(&state, &caller, request).await.unwrap_or_else(IntoResponse::into_response),
        _ => {
            let mut r = (StatusCode::METHOD_NOT_ALLOWED, "the DAV root has no resources of its own; your files are under files/<name>/\n")
                .into_response();
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("OPTIONS, GET, HEAD, PROPFIND"));
            r
        }
    }
}

/// `POST /index.php/core/wipe/check`: nothing is to be wiped (the iOS app asks after a 401).
pub async fn wipe_check() -> Response {
    ApiError::not_found("no remote wipe is asked for this device").into_response()
}

/// `POST /index.php/login/v2`: a login flow starts.
pub async fn start_login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let from = peer.as_ref().and_then(|p| p.0.addr).map(|a| a.ip());
    let base = server_url(&headers, peer.map(|p| p.0))?;
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let started = state.login_flows.start(&login_flow::password_name(ua, state.now()), from)?;
    Ok(Json(json!({
        "poll": {"token": started.poll_token, "endpoint": format!("{base}/index.php/login/v2/poll")},
        "login": format!("{base}/index.php/login/v2/flow/{}", started.login_token),
    }))
    .into_response())
}

/// `GET /index.php/login/v2/flow/{token}`: the page the app opens, which is the web app's grant
/// page (it asks the family member to log in first).
pub async fn login_page(Path(token): Path<String>) -> Response {
    let safe = token.len() <= 128 && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if !safe {
        return ApiError::not_found("no such login").into_response();
    }
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/#/login-flow/{token}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `POST /index.php/login/v2/poll` (token in a form body or `?token=`): the app password once
/// granted; 404 before, as a Nextcloud answers.
pub async fn poll_login(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let token_in = |s: &str| {
        s.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .map(|t| percent_encoding::percent_decode_str(t).decode_utf8_lossy().into_owned())
    };
    let token = token_in(body.trim()).or_else(|| query.as_deref().and_then(token_in));
    let Some(grant) = token.and_then(|t| state.login_flows.collect(&t)) else {
        return (StatusCode::NOT_FOUND, Json(json!([]))).into_response();
    };
    match server_url(&headers, peer.map(|p| p.0)) {
        Ok(server) => Json(json!({"server": server, "loginName": grant.login_name, "appPassword": grant.app_password})).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A login flow as the grant page shows it.
#[derive(Serialize)]
pub struct LoginFlowView {
    /// The app asking, and when.
    pub client: String,
    /// Whether it was granted already.
    pub granted: bool,
}

/// `GET /api/v1/login-flows/{token}`
pub async fn login_flow(State(state): State<AppState>, Path(token): Path<String>) -> Result<Json<LoginFlowView>, ApiError> {
    let p = state
        .login_flows
        .pending(&token)
        .ok_or_else(|| ApiError::not_found("no such login is waiting (they last 20 minutes); start again in the app"))?;
    Ok(Json(LoginFlowView { client: p.client, granted: p.granted }))
}

/// `POST /api/v1/login-flows/{token}/grant`: the caller lets the app in with a new app password.
pub async fn grant_login(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = caller.require_user()?.clone();
    let pending =
        state.login_flows.pending(&token).ok_or_else(|| ApiError::not_found("no such login is waiting; start again in the app"))?;
    if pending.granted {
        return Err(ApiError::new(hearth_core::ErrorKind::Conflict, "this login was granted already"));
    }
    let address = peer.and_then(|p| p.0.address_text());
    let (made, secret) = super::account::issue_app_password(&state, &user, pending.client, Scope::Full, address).await?;
    if !state.login_flows.grant(&token, Grant { login_name: user.name.clone(), app_password: secret }) {
        // Granted by another request meanwhile, or expired: this password is not handed out.
        let (uid, id) = (user.id, made.id);
        state.write(move |tx| hearth_catalog::tokens::delete(tx, uid, id)).await?;
        return Err(ApiError::new(hearth_core::ErrorKind::Conflict, "this login was granted already or has expired"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /index.php/core/preview?fileId=&x=&y=`: a picture's or video's preview, from the photo
/// library's thumbnails (250 px for small asks, 1440 above); 404 for a file the library does
/// not hold (the app then shows its icon).
pub async fn preview(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let me = caller.require_user()?.clone();
    let param = |name: &str| {
        query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .map(str::to_string)
    };
    let id: i64 = param("fileId")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::invalid("a preview is asked by fileId (a number from oc:fileid)"))?;
    let side = ["x", "y"].iter().filter_map(|k| param(k)).filter_map(|v| v.parse::<u32>().ok()).max().unwrap_or(0);
    let key = format!("home:{}", me.id);
    let found = state.read(move |c| hearth_catalog::dav_files::by_id(c, hearth_catalog::dav_files::FileId(id))).await?;
    let Some(path) = hearth_dav::trash::live_path(&key, found) else {
        return Err(ApiError::not_found("no such file"));
    };
    let file = state.data_dir.join("users").join(&me.name).join("files").join(path.relative());
    let stored = hearth_photos::ingest::stored_path(&file, &state.data_dir);
    let owner = me.id;
    let asset = state.read(move |c| hearth_catalog::assets::at_path(c, owner, &stored)).await?;
    let Some((asset, _)) = asset else { return Err(ApiError::not_found("no preview of this file: it is not in the photo library")) };
    let size = if side > hearth_photos::thumbnail::GRID { hearth_photos::thumbnail::VIEW } else { hearth_photos::thumbnail::GRID };
    super::photos::serve_thumbnail(&state, owner, asset, Some(size), &headers).await
}
