//! Share links: an album, or a selection of photos, opened to whoever holds the link (grandma,
//! without an account). The owner makes one (`POST /api/v1/shares`) and gets its token once;
//! the catalog keeps only the token's SHA-256. A link may need a password, expire, allow
//! downloading originals, and allow uploading (a wedding's guests adding their photos).
//!
//! The visitor's routes are public and live under `/api/v1/shared/{token}`. With a password,
//! `POST …/unlock` checks it (throttled like logins) and answers a key (also set as a cookie
//! scoped to the link's path); the key is SHA-256 of the token and the stored password hash, so
//! it needs no session table, cannot be made without the password, and stops working when the
//! password changes or the link is deleted.
//!
//! A link may also open a file or a folder of the owner's files (`path` at creation): the
//! visitor's routes for those are in `file_shares`.

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_catalog::sharing::{self, NewLink, ShareLink, Shows};
use hearth_catalog::{CatalogError, albums};
use hearth_core::ErrorKind;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::photos::{Page, PageQuery, ThumbQuery, UploadQuery};
use crate::auth::caller::Peer;
use crate::auth::{Caller, password, secret};
use crate::{ApiError, AppState};

/// The cookie a browser keeps an unlocked link's key in.
const KEY_COOKIE: &str = "hearth_share_key";

/// `POST /api/v1/shares` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    /// An album of the caller's (or one they edit)…
    pub album_id: Option<i64>,
    /// …or these assets (the caller must be able to see each)…
    #[serde(default)]
    pub assets: Vec<i64>,
    /// …or a file or folder of the caller's files (`School/2026`).
    pub path: Option<String>,
    /// What it is for ("for grandma").
    pub description: Option<String>,
    /// A password visitors must give.
    pub password: Option<String>,
    /// Unix seconds after which the link stops working.
    pub expires_at: Option<i64>,
    /// Visitors may download originals, or see and download the files (default true).
    pub allow_download: Option<bool>,
    /// Visitors may add photos, or files to the folder (default false). A folder link with
    /// this and without downloads is a drop box.
    pub allow_upload: Option<bool>,
}

/// `POST /api/v1/shares` answer: the only time the token is shown.
#[derive(Serialize)]
pub struct Created {
    /// The link's id (for listing and deleting).
    pub id: i64,
    /// The secret part of the link.
    pub token: String,
    /// The API path visitors use.
    pub path: String,
    /// The address to hand out (`/s/<token>`, on the box's origin).
    pub link: String,
}

/// `POST /api/v1/shares` → 201.
pub async fn create(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    JsonBody(body): JsonBody<NewShare>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let me = caller.require_user()?.clone();
    Ok((StatusCode::CREATED, Json(make_link(&state, &me, body).await?)))
}

/// Makes the link `body` asks for, as `me`: what `POST /api/v1/shares` and Nextcloud's share
/// API both do.
pub(super) async fn make_link(state: &AppState, me: &hearth_catalog::users::User, body: NewShare) -> Result<Created, ApiError> {
    let user = me.id;
    let now = state.now();
    let chosen = usize::from(body.album_id.is_some()) + usize::from(!body.assets.is_empty()) + usize::from(body.path.is_some());
    if chosen != 1 {
        return Err(ApiError::invalid("share an album (album_id), some photos (assets) or a file or folder (path), one of the three"));
    }
    if body.expires_at.is_some_and(|t| t <= now) {
        return Err(ApiError::invalid("expires_at is in the past"));
    }
    let (allow_download, allow_upload) = (body.allow_download.unwrap_or(true), body.allow_upload.unwrap_or(false));
    let file_id = match &body.path {
        Some(path) => Some(shared_file_id(state, me, path, allow_download, allow_upload).await?),
        None => None,
    };
    let password_hash = match body.password {
        Some(p) => {
            password::check_rules(&p)?;
            Some(password::hash(p).await?)
        }
        None => None,
    };
    let token = secret::new_secret()?;
    let token_hash: [u8; 32] = secret::sha256(&token).try_into().map_err(|_| ApiError::internal("sha256 length"))?;
    let id = state
        .write(move |tx| {
            if let Some(album) = body.album_id {
                match albums::role_of(tx, album, user)? {
                    Some(r) if r >= albums::AlbumRole::Editor => {}
                    Some(_) => return Err(CatalogError::Conflict("viewers cannot share an album further".into())),
                    None => return Err(CatalogError::NotFound("album".into())),
                }
            }
            for &a in &body.assets {
                if sharing::can_see(tx, user, a)?.is_none() {
                    return Err(CatalogError::NotFound(format!("photo {a}")));
                }
            }
            sharing::create_link(
                tx,
                &NewLink {
                    token_hash,
                    owner_id: user,
                    album_id: body.album_id,
                    file_id,
                    assets: &body.assets,
                    description: body.description.as_deref(),
                    password_hash: password_hash.as_deref(),
                    expires_at: body.expires_at,
                    allow_download,
                    allow_upload,
                },
                now,
            )
        })
        .await?;
    state.link_tokens.remember(id, &token);
    let path = format!("/api/v1/shared/{token}");
    let link = format!("/s/{token}");
    Ok(Created { id, token, path, link })
}

/// `PATCH /api/v1/shares/{id}` body: each field present is changed.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ShareChange {
    /// What it is for (`null` removes it).
    #[serde(default, with = "serde_with_null")]
    pub description: Option<Option<String>>,
    /// A new password (`null` removes it).
    #[serde(default, with = "serde_with_null")]
    pub password: Option<Option<String>>,
    /// Unix seconds after which it stops working (`null`: never).
    #[serde(default, with = "serde_with_null")]
    pub expires_at: Option<Option<i64>>,
    /// Visitors may download.
    pub allow_download: Option<bool>,
    /// Visitors may add.
    pub allow_upload: Option<bool>,
}

/// A field that may be absent (no change), `null` (cleared) or a value.
mod serde_with_null {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `PATCH /api/v1/shares/{id}` → the link as listed.
pub async fn change(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ShareChange>,
) -> Result<Json<ShareLink>, ApiError> {
    let me = caller.require_user()?.clone();
    Ok(Json(change_link(&state, &me, id, body).await?))
}

/// Changes link `id` of `me`'s as `change` asks (checked as at creation): what `PATCH
/// /api/v1/shares/{id}` and Nextcloud's share API both do.
pub(super) async fn change_link(
    state: &AppState,
    me: &hearth_catalog::users::User,
    id: i64,
    change: ShareChange,
) -> Result<ShareLink, ApiError> {
    let user = me.id;
    let now = state.now();
    let link = state.read(move |r| sharing::link_of(r, user, id)).await?.ok_or_else(|| ApiError::not_found("no such link"))?;
    if let Some(Some(t)) = change.expires_at
        && t <= now
    {
        return Err(ApiError::invalid("expires_at is in the past"));
    }
    let (download, upload) = (change.allow_download.unwrap_or(link.allow_download), change.allow_upload.unwrap_or(link.allow_upload));
    if let Shows::Files(_) = link.shows() {
        let item = super::file_shares::linked(state, &link).await?;
        if item.space.may_write().is_err() {
            return Err(ApiError::forbidden("this family folder is read-only for you: its links are no longer yours to change"));
        }
        let folder = matches!(
            state.dav.look(item.space, item.path).await.map_err(super::files::dav_error)?,
            hearth_dav::share_links::Looked::Folder(..)
        );
        file_link_rights(folder, download, upload)?;
    }
    let password_hash = match change.password {
        Some(Some(p)) => {
            password::check_rules(&p)?;
            Some(Some(password::hash(p).await?))
        }
        Some(None) => Some(None),
        None => None,
    };
    let c = sharing::LinkChange {
        description: change.description,
        password_hash,
        expires_at: change.expires_at,
        allow_download: change.allow_download,
        allow_upload: change.allow_upload,
    };
    let changed = state
        .write(move |tx| {
            if !sharing::change_link(tx, user, id, &c)? {
                return Ok(None);
            }
            sharing::link_of(tx, user, id)
        })
        .await?;
    changed.ok_or_else(|| ApiError::not_found("no such link"))
}

/// What a link to a file or folder may let visitors do: a file link gives the file out; a
/// folder link shows the folder, takes files, or both.
fn file_link_rights(folder: bool, download: bool, upload: bool) -> Result<(), ApiError> {
    if !folder && (upload || !download) {
        return Err(ApiError::invalid("a link to a file gives the file out (allow_download, without allow_upload)"));
    }
    if folder && !upload && !download {
        return Err(ApiError::invalid("a folder link shows the folder (allow_download), takes files (allow_upload), or both"));
    }
    Ok(())
}

/// The file id of `path` in `me`'s files (a family folder's path included), for a new link: it
/// must be there, a file link can only give the file out, and what is in a family folder is
/// shared only by a member who may change it.
async fn shared_file_id(
    state: &AppState,
    me: &hearth_catalog::users::User,
    path: &str,
    allow_download: bool,
    allow_upload: bool,
) -> Result<hearth_catalog::dav_files::FileId, ApiError> {
    let at = hearth_dav::path::DavPath::from_key(path).map_err(|e| ApiError::invalid(format!("path: {e}")))?;
    if at.is_root() {
        return Err(ApiError::invalid("share a folder or a file, not all of your files"));
    }
    let files = super::dav::files_space_with_family(state, me, super::dav::nextcloud_prefix(me)).await?;
    let (space, at) = files.mounted(&at).unwrap_or((files, at));
    if space.may_write().is_err() {
        return Err(ApiError::forbidden("this family folder is read-only for you: only members who may change it share what is in it"));
    }
    let key = space.key.clone();
    let folder = match state.dav.look(space, at.clone()).await.map_err(super::files::dav_error)? {
        hearth_dav::share_links::Looked::Missing => return Err(ApiError::not_found(format!("{path} is not in your files"))),
        hearth_dav::share_links::Looked::File(_) => false,
        hearth_dav::share_links::Looked::Folder(..) => true,
    };
    file_link_rights(folder, allow_download, allow_upload)?;
    let k = at.key();
    let ids = state.write(move |tx| hearth_catalog::dav_files::assign(tx, &key, std::slice::from_ref(&k))).await?;
    ids.into_values().next().ok_or_else(|| ApiError::internal("a file id was not given"))
}

/// One link as its owner sees it.
#[derive(Serialize)]
pub struct LinkView {
    /// The link.
    #[serde(flatten)]
    pub link: ShareLink,
    /// What it opens: `album`, `photos` or `files`.
    pub kind: &'static str,
    /// For `files`: where the file or folder is now in the owner's files; `None` while it is
    /// in the trash.
    pub file_path: Option<String>,
}

/// `GET /api/v1/shares` body.
#[derive(Serialize)]
pub struct LinkList {
    /// The caller's links, newest first (without tokens).
    pub links: Vec<LinkView>,
}

/// `GET /api/v1/shares`.
pub async fn list(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>) -> Result<Json<LinkList>, ApiError> {
    let user = caller.require_user()?.id;
    let home = format!("home:{user}");
    let links = state
        .read(move |r| {
            let mut out = Vec::new();
            let family = hearth_catalog::family_folders::of_user(r, user)?;
            for link in sharing::links_of(r, user)? {
                let (kind, file_path) = match link.shows() {
                    Shows::Album(_) => ("album", None),
                    Shows::Photos => ("photos", None),
                    Shows::Files(id) => ("files", path_in_files(&home, &family, hearth_catalog::dav_files::by_id(r, id)?)),
                };
                out.push(LinkView { link, kind, file_path });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(LinkList { links }))
}

/// Where a file id's row (`space`, `path`) is in a member's files as they see them: in their
/// own (`home`), or below a family folder they are a member of; `None` in the trash or elsewhere.
fn path_in_files(home: &str, family: &[hearth_catalog::family_folders::Membership], row: Option<(String, String)>) -> Option<String> {
    let (space, key) = row?;
    let mount = match hearth_catalog::family_folders::of_space_key(&space) {
        Some(id) => Some(family.iter().find(|m| m.id == id)?.name.clone()),
        None => None,
    };
    let own_key = mount.as_ref().map_or(home.to_string(), |_| space.clone());
    let path = hearth_dav::trash::live_path(&own_key, Some((space, key)))?.key();
    Some(hearth_dav::history::in_files(mount.as_deref(), &path))
}

/// `DELETE /api/v1/shares/{id}` → 204: the link stops working at once.
pub async fn delete(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let user = caller.require_user()?.id;
    if state.write(move |tx| sharing::delete_link(tx, user, id)).await? {
        state.link_tokens.forget(id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such link"))
    }
}

fn key_for(token: &str, password_hash: &str) -> String {
    secret::hex(&secret::sha256(&format!("hearth-share-key\0{token}\0{password_hash}")))
}

/// The link of `token` when it is alive and, if it has a password, `headers` carry its key.
pub(super) async fn open_link(state: &AppState, token: &str, headers: &HeaderMap) -> Result<ShareLink, ApiError> {
    let hash = secret::sha256(token);
    let link = state
        .read(move |r| sharing::link_by_token_hash(r, &hash))
        .await?
        .ok_or_else(|| ApiError::not_found("this link does not exist (it may have been deleted)"))?;
    if link.expires_at.is_some_and(|t| t <= state.now()) {
        return Err(ApiError::not_found("this link has expired"));
    }
    if let Some(ph) = &link.password_hash {
        let given = headers
            .get("x-share-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| crate::auth::caller::cookie_in(headers, KEY_COOKIE).map(str::to_string));
        let ok = given.is_some_and(|g| secret::constant_time_eq(g.as_bytes(), key_for(token, ph).as_bytes()));
        if !ok {
            return Err(ApiError::new(ErrorKind::Unauthenticated, "this link needs its password: POST it to …/unlock"));
        }
    }
    Ok(link)
}

/// `GET /api/v1/shared/{token}` body.
#[derive(Serialize)]
pub struct SharedView {
    /// What the owner wrote.
    pub description: Option<String>,
    /// The album's title, for an album.
    pub album_title: Option<String>,
    /// Who shares it (user name).
    pub shared_by: String,
    /// Photos in it.
    pub asset_count: i64,
    /// Originals may be downloaded.
    pub allow_download: bool,
    /// Photos may be added.
    pub allow_upload: bool,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// What it opens: `album`, `photos`, `file` or `folder`.
    pub kind: &'static str,
    /// A file's or folder's name.
    pub name: Option<String>,
    /// A file's bytes.
    pub size: Option<u64>,
}

/// `GET /api/v1/shared/{token}`: what the link shows (401 until unlocked when it has a password).
pub async fn view(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Result<Json<SharedView>, ApiError> {
    let link = open_link(&state, &token, &headers).await?;
    let (kind, name, size) = match link.shows() {
        Shows::Album(_) => ("album", None, None),
        Shows::Photos => ("photos", None, None),
        Shows::Files(_) => {
            let item = super::file_shares::linked(&state, &link).await?;
            let name = item.name();
            match state.dav.look(item.space, item.path).await.map_err(super::files::dav_error)? {
                hearth_dav::share_links::Looked::File(e) => ("file", name, Some(e.size)),
                hearth_dav::share_links::Looked::Folder(..) => ("folder", name, None),
                hearth_dav::share_links::Looked::Missing => return Err(ApiError::not_found("what this link shares is gone")),
            }
        }
    };
    let (owner, album) = (link.owner_id, link.album_id);
    let (shared_by, album_title) = state
        .read(move |r| {
            let name = hearth_catalog::users::by_id(r, owner)?.map(|u| u.name).unwrap_or_default();
            let title = match album {
                Some(a) => albums::title(r, a)?,
                None => None,
            };
            Ok((name, title))
        })
        .await?;
    Ok(Json(SharedView {
        description: link.description,
        album_title,
        shared_by,
        asset_count: link.asset_count,
        allow_download: link.allow_download,
        allow_upload: link.allow_upload,
        expires_at: link.expires_at,
        kind,
        name,
        size,
    }))
}

/// `POST /api/v1/shared/{token}/unlock` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unlock {
    /// The link's password.
    pub password: String,
}

/// `POST /api/v1/shared/{token}/unlock` answer.
#[derive(Serialize)]
pub struct Unlocked {
    /// Send as `X-Share-Key` (or rely on the cookie this also sets).
    pub key: String,
}

/// `POST /api/v1/shared/{token}/unlock`: check the password (throttled per link and address).
pub async fn unlock(
    State(state): State<AppState>,
    Path(token): Path<String>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<Unlock>,
) -> Result<Response, ApiError> {
    let hash = secret::sha256(&token);
    let link =
        state.read(move |r| sharing::link_by_token_hash(r, &hash)).await?.ok_or_else(|| ApiError::not_found("this link does not exist"))?;
    if link.expires_at.is_some_and(|t| t <= state.now()) {
        return Err(ApiError::not_found("this link has expired"));
    }
    let Some(ph) = link.password_hash.clone() else {
        return Err(ApiError::invalid("this link has no password"));
    };
    let throttle_key = format!("share-link:{}", link.id);
    let ip = peer.as_ref().and_then(|p| p.0.addr).map(|a| a.ip());
    let now = u64::try_from(state.now()).unwrap_or(0);
    let wait = state.throttle.wait(Some(&throttle_key), ip, now);
    if wait > 0 {
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(ErrorKind::RateLimited, format!("too many wrong passwords; try again in {wait} s"))
        });
    }
    if !password::verify(body.password, Some(ph.clone())).await {
        state.throttle.failed(Some(&throttle_key), ip, now);
        return Err(ApiError::new(ErrorKind::Unauthenticated, "that is not the link's password"));
    }
    state.throttle.succeeded(&throttle_key);
    let key = key_for(&token, &ph);
    // For the API, and for the link's own address (`/s/<token>/download`).
    let api_cookie = format!("{KEY_COOKIE}={key}; Path=/api/v1/shared/{token}; HttpOnly; SameSite=Lax");
    let link_cookie = format!("{KEY_COOKIE}={key}; Path=/s/{token}; HttpOnly; SameSite=Lax");
    let mut response = Json(Unlocked { key }).into_response();
    for cookie in [api_cookie, link_cookie] {
        if let Ok(v) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// `GET /api/v1/shared/{token}/assets?after_taken_at=&after_id=&limit=`: newest first.
pub async fn assets(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Json<Page>, ApiError> {
    let link = open_link(&state, &token, &headers).await?;
    let (cursor, limit) = super::photos::page_bounds(&q)?;
    let assets = state.read(move |r| sharing::link_page(r, &link, cursor, limit)).await?;
    Ok(Json(Page::of(assets, limit)))
}

/// The owner of asset `id` when the link shows it; 404 otherwise.
async fn in_link(state: &AppState, link: ShareLink, id: i64) -> Result<i64, ApiError> {
    let shown = state
        .read(move |r| Ok(if sharing::link_contains(r, &link, id)? { hearth_catalog::assets::owner_of(r, id)? } else { None }))
        .await?;
    shown.ok_or_else(|| ApiError::not_found("no such photo in this link"))
}

/// `GET /api/v1/shared/{token}/assets/{id}/thumbnail?size=250|1440`.
pub async fn thumbnail(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, i64)>,
    Query(q): Query<ThumbQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let link = open_link(&state, &token, &headers).await?;
    let owner = in_link(&state, link, id).await?;
    super::photos::serve_thumbnail(&state, owner, id, q.size, &headers).await
}

/// `GET /api/v1/shared/{token}/assets/{id}/original`: when the link allows downloads.
pub async fn original(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let link = open_link(&state, &token, &headers).await?;
    if !link.allow_download {
        return Err(ApiError::forbidden("this link shows photos but does not allow downloading them"));
    }
    let owner = in_link(&state, link, id).await?;
    super::photos::serve_original(&state, owner, id, &headers).await
}

/// `POST /api/v1/shared/{token}/assets?name=NAME`: when the link allows uploads, the photo joins
/// the link owner's library and the album (or the selection).
pub async fn upload(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<UploadQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let link = open_link(&state, &token, request.headers()).await?;
    if !link.allow_upload {
        return Err(ApiError::forbidden("this link does not allow adding photos"));
    }
    let (status, uploaded) = super::photos::receive_upload(&state, link.owner_id, &q.name, request).await?;
    let (id, now) = (uploaded.id, state.now());
    state
        .write(move |tx| match link.album_id {
            Some(album) => albums::add_assets(tx, album, &[id], link.owner_id, now).map(|_| ()),
            None => sharing::add_to_link(tx, link.id, &[id]),
        })
        .await?;
    Ok((status, Json(uploaded)).into_response())
}
