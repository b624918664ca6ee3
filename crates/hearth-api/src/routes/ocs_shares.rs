//! Nextcloud's share API (`/ocs/v{1,2}.php/apps/files_sharing/api/v1/…`; docs/files.md,
//! "Nextcloud apps"), which the apps' Share screen speaks: public links to a file or folder of
//! the caller's files, made, listed, changed and deleted as the box's own file links
//! (`shares::make_link`, `shares::change_link`). A family shares with one another through family
//! folders, not by sharing with an account: such a request is refused with a message saying so,
//! and the search for people to share with finds nobody.
//!
//! The catalog keeps only a link's token's SHA-256: a link's URL is in the answer that makes it
//! and, for an hour, in what reads it back (`link_tokens`); after that it is shown empty.

use std::collections::HashMap;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use hearth_catalog::sharing::{self, ShareLink, Shows};
use hearth_catalog::users::User;
use hearth_dav::share_links::Looked;
use serde_json::{Value, json};

use super::shares::{NewShare, ShareChange, change_link, make_link};
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::ocs::{self, OcsFormat, OcsVersion};
use crate::{ApiError, AppState};

/// Nextcloud's share type for a public link; the only kind the box makes.
const PUBLIC_LINK: i64 = 3;
/// Nextcloud's permission bits.
const READ: i64 = 1;
const UPDATE: i64 = 2;
const CREATE: i64 = 4;
const DELETE: i64 = 8;
/// The most bytes of a request's parameters read.
const MOST_BODY: usize = 64 * 1024;

/// A request's parameters: the query's, then the body's (a form or a JSON object) over them.
struct Params(HashMap<String, String>);

impl Params {
    async fn of(request: Request) -> Result<Params, ApiError> {
        let (parts, body) = request.into_parts();
        let mut map: HashMap<String, String> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let bytes = axum::body::to_bytes(body, MOST_BODY)
            .await
            .map_err(|_| ApiError::new(hearth_core::ErrorKind::TooLarge, "a share request's parameters are larger than 64 KiB"))?;
        let json_body = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("json"));
        if json_body && !bytes.is_empty() {
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))?;
            let Value::Object(fields) = v else { return Err(ApiError::invalid("the body is a JSON object of parameters")) };
            for (k, v) in fields {
                let text = match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                map.insert(k, text);
            }
        } else {
            map.extend(form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())));
        }
        Ok(Params(map))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
    }

    fn number(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ApiError::invalid(format!("{name} is a number, not {v:?}"))),
        }
    }
}

/// A path as the apps send it (`/School/notes.pdf`, a folder with or without its `/`), as the
/// box's API names it (`School/notes.pdf`).
fn files_path(p: &str) -> String {
    p.trim_matches('/').to_string()
}

/// An expiry date as the apps send it (`2026-12-31`, or with a time), as the Unix second the
/// link stops working: the end of that day, UTC. Empty: never.
fn expiry(date: &str) -> Result<Option<i64>, ApiError> {
    let date = date.trim();
    if date.is_empty() {
        return Ok(None);
    }
    let day = date.get(..10).unwrap_or(date);
    let mut parts = day.splitn(3, '-').map(|n| n.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::invalid(format!("expireDate is a date like 2026-12-31, not {date:?}")));
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(ApiError::invalid(format!("expireDate {date:?} is not a date")));
    }
    Ok(Some((hearth_core::calendar::days_from_civil(y, m, d) + 1) * 86_400))
}

/// What visitors may do, from Nextcloud's permission bits and `publicUpload`: (download, upload).
fn rights(permissions: Option<i64>, public_upload: Option<bool>) -> (Option<bool>, Option<bool>) {
    match (permissions, public_upload) {
        (Some(p), _) if p > 0 => (Some(p & READ != 0), Some(p & (CREATE | UPDATE | DELETE) != 0)),
        (_, Some(upload)) => (None, Some(upload)),
        _ => (None, None),
    }
}

/// Nextcloud's permission bits for what a link lets visitors do (a drop box is create only).
fn permissions_of(link: &ShareLink) -> i64 {
    match (link.allow_download, link.allow_upload) {
        (true, true) => READ | CREATE,
        (false, true) => CREATE,
        _ => READ,
    }
}

fn server_url(headers: &HeaderMap, peer: Option<&Peer>) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("hearth.local");
    let scheme = if peer.is_some_and(|p| p.tls) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// A link as the apps read it (an OCS share element), or `None` when it is not a file link or
/// its item cannot be reached now.
async fn element(state: &AppState, me: &User, link: &ShareLink, server: &str) -> Result<Option<Value>, ApiError> {
    let Shows::Files(file_id) = link.shows() else { return Ok(None) };
    let item = match super::file_shares::linked(state, link).await {
        Ok(item) => item,
        Err(e) if e.kind == hearth_core::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let path = hearth_dav::history::in_files(item.family_folder.as_deref(), &item.path.key());
    let name = item.name().unwrap_or_default();
    let folder = match state.dav.look(item.space, item.path).await.map_err(super::files::dav_error)? {
        Looked::Folder(..) => true,
        Looked::File(_) => false,
        Looked::Missing => return Ok(None),
    };
    let token = state.link_tokens.get(link.id);
    let expiration = link.expires_at.map(|t| {
        let (y, m, d) = hearth_core::calendar::civil_from_days((t - 1).div_euclid(86_400));
        format!("{y:04}-{m:02}-{d:02} 00:00:00")
    });
    Ok(Some(json!({
        "id": link.id.to_string(),
        "share_type": PUBLIC_LINK,
        "uid_owner": me.name,
        "displayname_owner": me.display_name,
        "permissions": permissions_of(link),
        "can_edit": true,
        "can_delete": true,
        "stime": link.created_at,
        "parent": Value::Null,
        "expiration": expiration,
        "token": token.clone().unwrap_or_default(),
        "uid_file_owner": me.name,
        "displayname_file_owner": me.display_name,
        "note": link.description.clone().unwrap_or_default(),
        "label": "",
        "path": format!("/{path}"),
        "item_type": if folder { "folder" } else { "file" },
        "mimetype": if folder { "httpd/unix-directory" } else { hearth_dav::content_type::of(&name) },
        "has_preview": false,
        "storage_id": format!("home::{}", me.name),
        "storage": 1,
        "item_source": file_id.0,
        "file_source": file_id.0,
        "file_target": format!("/{name}"),
        "share_with": Value::Null,
        "share_with_displayname": Value::Null,
        // The apps read only whether there is one; the box never shows a password's hash.
        "password": if link.has_password { "(set)" } else { "" },
        "send_password_by_talk": false,
        "url": token.map(|t| format!("{server}/s/{t}")).unwrap_or_default(),
        "mail_send": 0,
        "hide_download": 0,
        "attributes": Value::Null,
    })))
}

/// The answer to an OCS request: the data, or the error in the envelope with its status.
fn answer(version: OcsVersion, format: OcsFormat, result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(data) => ocs::respond(version, format, StatusCode::OK, "OK", data),
        Err(e) => ocs::respond(version, format, ApiError::status(e.kind), &e.message, json!([])),
    }
}

/// A share API request as its handlers take it: the family member asking, the parameters, the
/// box's address as the client reached it, and how to answer (OCS version and format). Taken
/// last, since it reads the body; refused in the OCS envelope.
pub struct OcsRequest {
    me: User,
    params: Params,
    server: String,
    version: OcsVersion,
    format: OcsFormat,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for OcsRequest {
    type Rejection = Response;

    async fn from_request(request: Request, _: &S) -> Result<Self, Response> {
        let version = OcsVersion::of_path(request.uri().path());
        let format = OcsFormat::of_request(request.uri().query(), request.headers());
        let me = request.extensions().get::<Caller>().and_then(|c| c.require_user().ok().cloned());
        let me = me.ok_or_else(|| answer(version, format, Err(ApiError::forbidden("only a family member shares files"))))?;
        let server = server_url(request.headers(), request.extensions().get::<Peer>());
        let params = Params::of(request).await.map_err(|e| answer(version, format, Err(e)))?;
        Ok(OcsRequest { me, params, server, version, format })
    }
}

impl OcsRequest {
    fn answer(&self, result: Result<Value, ApiError>) -> Response {
        answer(self.version, self.format, result)
    }
}

/// `GET /ocs/v{1,2}.php/apps/files_sharing/api/v1/shares[?path=&subfiles=&shared_with_me=]`:
/// the caller's file links (those of `path`, or of what is directly in the folder `path` with
/// `subfiles`); none are shared with them.
pub async fn list(State(state): State<AppState>, ask: OcsRequest) -> Response {
    let result = async {
        if ask.params.flag("shared_with_me") == Some(true) {
            return Ok(json!([]));
        }
        let wanted = ask.params.get("path").map(files_path);
        let subfiles = ask.params.flag("subfiles") == Some(true);
        let user = ask.me.id;
        let links = state.read(move |r| sharing::links_of(r, user)).await?;
        let mut out = Vec::new();
        for link in &links {
            let Some(e) = element(&state, &ask.me, link, &ask.server).await? else { continue };
            let path = files_path(e["path"].as_str().unwrap_or(""));
            let keep = match &wanted {
                None => true,
                Some(w) if subfiles => path.rsplit_once('/').map_or("", |(parent, _)| parent) == w.as_str(),
                Some(w) => &path == w,
            };
            if keep {
                out.push(e);
            }
        }
        if let Some(w) = &wanted
            && out.is_empty()
            && !subfiles
        {
            // Nextcloud answers 404 for a path with no shares; the apps take it as "none".
            return Err(ApiError::not_found(format!("no links to {w}")));
        }
        Ok(Value::Array(out))
    }
    .await;
    ask.answer(result)
}

/// `GET …/shares/{id}`: one of the caller's links.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>, ask: OcsRequest) -> Response {
    let result = one_link(&state, &ask.me, &id, &ask.server).await.map(|one| json!([one]));
    ask.answer(result)
}

async fn one_link(state: &AppState, me: &User, id: &str, server: &str) -> Result<Value, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("no such share"))?;
    let user = me.id;
    let link = state.read(move |r| sharing::link_of(r, user, id)).await?.ok_or_else(|| ApiError::not_found("no such share"))?;
    element(state, me, &link, server).await?.ok_or_else(|| ApiError::not_found("no such share"))
}

/// `POST …/shares` (`path`, `shareType=3`, `permissions`, `publicUpload`, `password`,
/// `expireDate`, `note`): a link to a file or folder of the caller's.
pub async fn create(State(state): State<AppState>, ask: OcsRequest) -> Response {
    let result = async {
        let params = &ask.params;
        match params.number("shareType")? {
            Some(PUBLIC_LINK) => {}
            None => return Err(ApiError::invalid("say what kind of share: shareType=3, a public link")),
            Some(_) => {
                return Err(ApiError::forbidden(
                    "this box shares with the family through family folders, and with others by link (shareType=3)",
                ));
            }
        }
        let path = params.get("path").map(files_path).filter(|p| !p.is_empty()).ok_or_else(|| ApiError::invalid("path is needed"))?;
        let (download, upload) = rights(params.number("permissions")?, params.flag("publicUpload"));
        let body = NewShare {
            album_id: None,
            assets: Vec::new(),
            path: Some(path),
            description: params.get("note").or(params.get("label")).map(str::to_string).filter(|n| !n.is_empty()),
            password: params.get("password").map(str::to_string).filter(|p| !p.is_empty()),
            expires_at: expiry(params.get("expireDate").unwrap_or(""))?,
            allow_download: download,
            allow_upload: upload,
        };
        let created = make_link(&state, &ask.me, body).await?;
        one_link(&state, &ask.me, &created.id.to_string(), &ask.server).await
    }
    .await;
    ask.answer(result)
}

/// `PUT …/shares/{id}` (`password`, `expireDate`, `permissions`, `publicUpload`, `note`; an
/// empty password or date removes it): changes one of the caller's links.
pub async fn update(State(state): State<AppState>, Path(id): Path<String>, ask: OcsRequest) -> Response {
    let result = async {
        let params = &ask.params;
        let link_id: i64 = id.parse().map_err(|_| ApiError::not_found("no such share"))?;
        let (download, upload) = rights(params.number("permissions")?, params.flag("publicUpload"));
        let change = ShareChange {
            description: params.get("note").or(params.get("label")).map(|n| Some(n.to_string()).filter(|n| !n.is_empty())),
            password: params.get("password").map(|p| Some(p.to_string()).filter(|p| !p.is_empty())),
            expires_at: params.get("expireDate").map(expiry).transpose()?,
            allow_download: download,
            allow_upload: upload,
        };
        change_link(&state, &ask.me, link_id, change).await?;
        one_link(&state, &ask.me, &id, &ask.server).await
    }
    .await;
    ask.answer(result)
}

/// `DELETE …/shares/{id}`: the link stops working at once.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, ask: OcsRequest) -> Response {
    let result = async {
        let user = ask.me.id;
        let id: i64 = id.parse().map_err(|_| ApiError::not_found("no such share"))?;
        if !state.write(move |tx| sharing::delete_link(tx, user, id)).await? {
            return Err(ApiError::not_found("no such share"));
        }
        state.link_tokens.forget(id);
        Ok(json!([]))
    }
    .await;
    ask.answer(result)
}

/// `GET …/sharees?search=`: the people to share with by account; nobody (family folders are
/// how a family shares).
pub async fn sharees(uri: Uri, headers: HeaderMap) -> Response {
    let (version, format) = (OcsVersion::of_path(uri.path()), OcsFormat::of_request(uri.query(), &headers));
    let nobody =
        json!({"exact": {"users": [], "groups": [], "remotes": [], "emails": []}, "users": [], "groups": [], "remotes": [], "emails": []});
    ocs::respond(version, format, StatusCode::OK, "OK", nobody)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_paths_and_permissions_read_as_the_apps_send_them() {
        assert_eq!(files_path("/School/2026/"), "School/2026");
        assert_eq!(files_path("notes.pdf"), "notes.pdf");
        assert_eq!(expiry("").expect("none"), None);
        // The end of 2026-12-31, UTC.
        assert_eq!(expiry("2026-12-31").expect("date"), Some(1_798_761_600));
        assert_eq!(expiry("2026-12-31 00:00:00").expect("date"), Some(1_798_761_600));
        for bad in ["31.12.2026", "2026-13-01", "tomorrow"] {
            assert!(expiry(bad).is_err(), "{bad}");
        }
        assert_eq!(rights(Some(1), None), (Some(true), Some(false)));
        assert_eq!(rights(Some(4), None), (Some(false), Some(true)), "a file drop");
        assert_eq!(rights(Some(15), None), (Some(true), Some(true)));
        assert_eq!(rights(None, Some(true)), (None, Some(true)));
        assert_eq!(rights(Some(-1), None), (None, None), "the apps' 'no permissions given'");
    }
}
