//! The family's files over WebDAV (docs/files.md): each user's home at `/dav/files/<user>/`, and
//! at Nextcloud's `/remote.php/dav/files/<user>/` and `/remote.php/webdav/`, so the apps that
//! speak to a Nextcloud find theirs. This maps the URL to the caller's space and the answer to
//! HTTP; the protocol is `hearth_dav`'s.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hearth_catalog::family_folders::{FamilyFolderId, FolderAccess};
use hearth_dav::tree::Tree;
use hearth_dav::{DavBody, Space, SpaceKind};

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// Where each user's files are served; the user's name follows these prefixes.
pub const FILES_PREFIXES: [&str; 2] = ["/dav/files/", "/remote.php/dav/files/"];
/// Nextcloud's older address of the caller's own files.
pub const WEBDAV_PREFIX: &str = "/remote.php/webdav";
/// Where each user's chunked uploads are made (Nextcloud's; `hearth_dav::chunked`).
pub const UPLOADS_PREFIX: &str = "/remote.php/dav/uploads/";

/// The space a request path names, its kind, the href prefix it is served under and the path
/// below it (still %-encoded). `Err` when the path names someone else's files.
fn split<'a>(path: &'a str, me: &str) -> Result<(SpaceKind, String, &'a str), ApiError> {
    if let Some(rest) = path.strip_prefix(UPLOADS_PREFIX) {
        let (user, below) = rest.split_once('/').unwrap_or((rest, ""));
        if !percent_decoded(user).eq_ignore_ascii_case(me) {
            return Err(ApiError::forbidden("these uploads belong to someone else").with_guidance(format!("use {UPLOADS_PREFIX}{me}/")));
        }
        return Ok((SpaceKind::Uploads, format!("{UPLOADS_PREFIX}{user}/"), below));
    }
    let (prefix, below) = split_files(path, me)?;
    Ok((SpaceKind::Files, prefix, below))
}

/// [`split`] for the addresses of files only.
fn split_files<'a>(path: &'a str, me: &str) -> Result<(String, &'a str), ApiError> {
    if let Some(rest) = path.strip_prefix(WEBDAV_PREFIX)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return Ok((format!("{WEBDAV_PREFIX}/"), rest.trim_start_matches('/')));
    }
    for prefix in FILES_PREFIXES {
        if let Some(rest) = path.strip_prefix(prefix) {
            let (user, below) = rest.split_once('/').unwrap_or((rest, ""));
            let user_decoded = percent_decoded(user);
            if !user_decoded.eq_ignore_ascii_case(me) {
                return Err(ApiError::forbidden("these files belong to someone else").with_guidance(format!("use {prefix}{me}/")));
            }
            return Ok((format!("{prefix}{user}/"), below));
        }
    }
    Err(ApiError::not_found("no such WebDAV space"))
}

fn percent_decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The folder of `user`'s files and the scratch folder beside it (same file system).
pub fn home_folders(data_dir: &std::path::Path, user: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let base = data_dir.join("users").join(user);
    (base.join("files"), base.join(".dav-scratch"))
}

/// The folder of `user`'s chunked uploads in progress (beside their files).
pub fn uploads_folder(data_dir: &std::path::Path, user: &str) -> std::path::PathBuf {
    data_dir.join("users").join(user).join(".dav-uploads")
}

/// `me`'s files as a space, under the Nextcloud address.
pub fn files_space(state: &AppState, me: &hearth_catalog::users::User) -> Space {
    space(state, me, SpaceKind::Files, nextcloud_prefix(me))
}

/// The Nextcloud address of `me`'s files (`/remote.php/dav/files/<name>/`).
pub(super) fn nextcloud_prefix(me: &hearth_catalog::users::User) -> String {
    format!("{}{}/", FILES_PREFIXES[1], me.name)
}

/// Expires every member's versions and trash (docs/files.md, "Versions and trash"); how many
/// versions and trashed items went. hearthd calls it every hour, so a box nobody writes to
/// still forgets what is older than 30 days, and a disk filled by other means makes room.
pub async fn expire_everyones_history(state: &AppState) -> Result<(usize, usize), ApiError> {
    let members = state.read(hearth_catalog::users::list).await?;
    let mut spaces: Vec<Space> = members.iter().map(|me| files_space(state, me)).collect();
    spaces.extend(family_spaces(state).await?);
    let (mut versions, mut trashed) = (0, 0);
    for space in spaces {
        let key = space.key.clone();
        match state.dav.expire_space(state.catalog.clone(), space).await {
            Ok((v, t)) => {
                versions += v;
                trashed += t;
            }
            Err(e) => tracing::warn!(space = %key, error = %e, "versions and trash could not be expired"),
        }
    }
    Ok((versions, trashed))
}

/// The space of `kind` for `me`, served under `href_prefix`.
fn space(state: &AppState, me: &hearth_catalog::users::User, kind: SpaceKind, href_prefix: String) -> Space {
    let (files, scratch) = home_folders(&state.data_dir, &me.name);
    let (key, root) = match kind {
        SpaceKind::Files => (format!("home:{}", me.id), files),
        SpaceKind::Uploads => (format!("uploads:{}", me.id), uploads_folder(&state.data_dir, &me.name)),
    };
    // hearth_dav makes the folders at the space's first request.
    let (quota, history) = match kind {
        SpaceKind::Files => {
            let base = state.data_dir.join("users").join(&me.name);
            let history = hearth_dav::History {
                versions: hearth_dav::versions::Versions::new(base.join(".dav-versions")),
                trash: hearth_dav::trash::Trash::new(base.join(".dav-trash")),
            };
            (me.files_quota_bytes, Some(history))
        }
        SpaceKind::Uploads => (None, None),
    };
    Space {
        key,
        kind,
        tree: Tree::new(root, scratch),
        href_prefix,
        principal: me.name.clone(),
        quota,
        history,
        access: hearth_dav::Access::Own,
        mounts: Vec::new(),
    }
}

/// The folder of family folder `id`'s files and its own folders beside it.
pub fn family_folder_base(data_dir: &std::path::Path, id: FamilyFolderId) -> std::path::PathBuf {
    data_dir.join("family").join(id.to_string())
}

/// Family folder `id` as `principal` reaches it with `access`, served under `href_prefix`.
fn family_space(state: &AppState, principal: &str, id: FamilyFolderId, access: FolderAccess, href_prefix: String) -> Space {
    let base = family_folder_base(&state.data_dir, id);
    Space {
        key: hearth_catalog::family_folders::space_key(id),
        kind: SpaceKind::Files,
        tree: Tree::new(base.join("files"), base.join(".dav-scratch")),
        href_prefix,
        principal: principal.to_string(),
        // A family folder's bytes count against nobody's quota; the disk is its limit.
        quota: None,
        history: Some(hearth_dav::History {
            versions: hearth_dav::versions::Versions::new(base.join(".dav-versions")),
            trash: hearth_dav::trash::Trash::new(base.join(".dav-trash")),
        }),
        access: match access {
            FolderAccess::Read => hearth_dav::Access::FamilyRead,
            FolderAccess::Write => hearth_dav::Access::FamilyWrite,
        },
        mounts: Vec::new(),
    }
}

/// `me`'s files with the family folders they are a member of at the root.
pub(super) async fn files_space_with_family(
    state: &AppState,
    me: &hearth_catalog::users::User,
    href_prefix: String,
) -> Result<Space, ApiError> {
    let mut space = space(state, me, SpaceKind::Files, href_prefix);
    let memberships = state.memberships.of(state, me.id).await?;
    for m in memberships {
        // The same encoding as every other href the member's client gets.
        let Ok(at) = hearth_dav::path::DavPath::root().child(&m.name) else { continue };
        let prefix = at.href(&space.href_prefix, true);
        space.mounts.push(hearth_dav::Mount { space: family_space(state, &me.name, m.id, m.access, prefix), name: m.name });
    }
    Ok(space)
}

/// The space a file id's `key` names as `owner` reaches it today: their own files, or a family
/// folder they are still a member of (with their access, and its name), under their Nextcloud
/// address; `None` for anything else.
pub(super) async fn space_reached(
    state: &AppState,
    owner: &hearth_catalog::users::User,
    key: &str,
) -> Result<Option<(Space, Option<String>)>, ApiError> {
    let own = files_space(state, owner);
    if key == own.key {
        return Ok(Some((own, None)));
    }
    let Some(id) = hearth_catalog::family_folders::of_space_key(key) else { return Ok(None) };
    let memberships = state.memberships.of(state, owner.id).await?;
    Ok(memberships.into_iter().find(|m| m.id == id).and_then(|m| {
        let prefix = hearth_dav::path::DavPath::root().child(&m.name).ok()?.href(&own.href_prefix, true);
        Some((family_space(state, &owner.name, m.id, m.access, prefix), Some(m.name)))
    }))
}

/// Every family folder as a space (for expiring their versions and trash).
async fn family_spaces(state: &AppState) -> Result<Vec<Space>, ApiError> {
    let folders = state.read(hearth_catalog::family_folders::list).await?;
    Ok(folders.into_iter().map(|f| family_space(state, "hearth", f.id, FolderAccess::Write, String::from("/"))).collect())
}

/// Every WebDAV method on the file spaces.
pub async fn serve(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, request: Request) -> Response {
    match handle(&state, &caller, request).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The path below the caller's files that a request's `Destination` names (still %-encoded);
/// `None` without one, `Err` when it names another server or someone else's files.
fn destination_below(parts: &axum::http::request::Parts, me: &str) -> Result<Option<String>, ApiError> {
    let Some(destination) = parts.headers.get("destination").and_then(|v| v.to_str().ok()) else { return Ok(None) };
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let full =
        hearth_dav::headers::same_host_path(destination, host).map_err(|e| ApiError::invalid(format!("the Destination: {}", e.0)))?;
    Ok(Some(split_files(full, me)?.1.to_string()))
}

/// Where a %-encoded path below a member's own files is on disk; `None` when it is not a
/// valid path, or is in a family folder (which feeds nobody's photo library).
fn local_path(space: &Space, encoded_below: &str) -> Option<std::path::PathBuf> {
    let path = hearth_dav::path::DavPath::from_encoded(encoded_below).ok()?;
    if space.mounted(&path).is_some() {
        return None;
    }
    Some(space.tree.root().join(path.relative()))
}

/// Nextcloud's trash and versions of the caller's files (`/remote.php/dav/trashbin/<user>/…`,
/// `/remote.php/dav/versions/<user>/…`; docs/files.md, "Versions and trash").
pub async fn serve_history(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, request: Request) -> Response {
    let me = match caller.require_user() {
        Ok(u) => u.clone(),
        Err(e) => return e.into_response(),
    };
    let path = request.uri().path().to_string();
    let (kind, rest) = if let Some(rest) = path.strip_prefix("/remote.php/dav/trashbin/") {
        ("trashbin", rest)
    } else if let Some(rest) = path.strip_prefix("/remote.php/dav/versions/") {
        ("versions", rest)
    } else {
        return ApiError::not_found("no such WebDAV space").into_response();
    };
    let (user, below) = rest.split_once('/').unwrap_or((rest, ""));
    if !percent_decoded(user).eq_ignore_ascii_case(&me.name) {
        return ApiError::forbidden("this belongs to someone else").into_response();
    }
    let prefix = format!("/remote.php/dav/{kind}/{user}/");
    let range = request.headers().get(header::RANGE).cloned();
    let files = match files_space_with_family(&state, &me, nextcloud_prefix(&me)).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let below = below.to_string();
    let (parts, _) = request.into_parts();
    let answer = if kind == "trashbin" {
        state.dav.trashbin(state.catalog.clone(), files, parts, &prefix, &below).await
    } else {
        state.dav.versions_dav(state.catalog.clone(), files, parts, &prefix, &below).await
    };
    http_answer(answer, range).await.unwrap_or_else(IntoResponse::into_response)
}

/// The upload a `MOVE <upload>/.file` finishes (its path below the uploads space).
fn finishing_upload<'a>(kind: SpaceKind, parts: &axum::http::request::Parts, below: &'a str) -> Option<&'a str> {
    if kind != SpaceKind::Uploads || parts.method.as_str() != "MOVE" {
        return None;
    }
    below.strip_suffix("/.file")
}

async fn handle(state: &AppState, caller: &Caller, request: Request) -> Result<Response, ApiError> {
    let me = caller.require_user()?.clone();
    let raw_path = request.uri().path().to_string();
    let (kind, href_prefix, below) = split(&raw_path, &me.name)?;
    let below = below.to_string();
    let space = match kind {
        SpaceKind::Files => files_space_with_family(state, &me, href_prefix).await?,
        SpaceKind::Uploads => space(state, &me, kind, href_prefix),
    };
    let (parts, body) = request.into_parts();
    let range = parts.headers.get(header::RANGE).cloned();
    // What a successful request leaves written in the caller's files, for the photo sources.
    let mut written = None;
    let answer = match finishing_upload(kind, &parts, &below) {
        Some(upload) => {
            // MOVE <upload>/.file: the destination is in the caller's files.
            let dest_below = destination_below(&parts, &me.name)?
                .ok_or_else(|| ApiError::invalid("finishing an upload (MOVE …/.file) needs a Destination header"))?;
            let files = files_space_with_family(state, &me, nextcloud_prefix(&me)).await?;
            written = local_path(&files, &dest_below);
            let upload = upload.to_string();
            state.dav.finish_chunked(state.catalog.clone(), space, &upload, files, parts, &dest_below).await
        }
        None => {
            if kind == SpaceKind::Files {
                written = match parts.method.as_str() {
                    "PUT" => local_path(&space, &below),
                    "MOVE" | "COPY" => destination_below(&parts, &me.name).ok().flatten().and_then(|d| local_path(&space, &d)),
                    _ => None,
                };
            }
            state.dav.handle(state.catalog.clone(), space, parts, &below, body).await
        }
    };
    if let Some(path) = written.filter(|_| answer.status().is_success()) {
        // Nobody listening (no photo sources running) is fine.
        let _ = state.files_written.send(crate::state::FileWritten { owner_id: me.id, path });
    }
    http_answer(answer, range).await
}

/// A `hearth_dav` answer as an HTTP response: a file's body streamed, as the request's `Range`
/// asks (200, 206 or 416), with the answer's headers.
pub(super) async fn http_answer(answer: hearth_dav::DavResponse, range: Option<header::HeaderValue>) -> Result<Response, ApiError> {
    let (parts, body) = answer.into_parts();
    let content_type = || parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    let request_headers = || {
        let mut h = axum::http::HeaderMap::new();
        if let Some(r) = range.clone() {
            h.insert(header::RANGE, r);
        }
        h
    };
    let ranged = match body {
        DavBody::Empty => None,
        DavBody::Text(t) => {
            let mut response = Body::from(t).into_response();
            *response.status_mut() = parts.status;
            for (k, v) in &parts.headers {
                response.headers_mut().insert(k.clone(), v.clone());
            }
            return Ok(response);
        }
        DavBody::Bytes(bytes) => Some(crate::byte_range::respond_bytes(&request_headers(), bytes, content_type())),
        DavBody::File { file, len } => Some(
            crate::byte_range::respond(&request_headers(), file, len, content_type())
                .await
                .map_err(|e| ApiError::internal(format!("the file could not be read: {e}")))?,
        ),
    };
    if let Some(mut r) = ranged {
        // The range code chose 200, 206 or 416; the DAV answer's headers go along.
        for (k, v) in &parts.headers {
            if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
                r.headers_mut().insert(k.clone(), v.clone());
            }
        }
        return Ok(r);
    }
    let mut response = Body::empty().into_response();
    *response.status_mut() = parts.status;
    for (k, v) in &parts.headers {
        response.headers_mut().insert(k.clone(), v.clone());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_callers_own_space() {
        let files = SpaceKind::Files;
        assert_eq!(split("/dav/files/anna/a/b%20c", "anna").expect("own"), (files, "/dav/files/anna/".to_string(), "a/b%20c"));
        assert_eq!(split("/dav/files/Anna", "anna").expect("own").2, "");
        assert_eq!(split("/remote.php/dav/files/anna/x/", "anna").expect("nc").1, "/remote.php/dav/files/anna/");
        assert_eq!(split("/remote.php/webdav/x", "anna").expect("webdav"), (files, "/remote.php/webdav/".to_string(), "x"));
        assert_eq!(split("/remote.php/webdav", "anna").expect("webdav root").2, "");
        let up = split("/remote.php/dav/uploads/anna/u1/00001", "anna").expect("uploads");
        assert_eq!(up, (SpaceKind::Uploads, "/remote.php/dav/uploads/anna/".to_string(), "u1/00001"));
        assert!(split("/remote.php/dav/uploads/bob/u1", "anna").is_err());
        assert!(split("/dav/files/bob/x", "anna").is_err());
        assert!(split("/remote.php/webdavx", "anna").is_err());
    }
}
