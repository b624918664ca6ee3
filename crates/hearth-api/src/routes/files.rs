//! The history of a member's files (docs/files.md, "Versions and trash"): a file's versions and
//! putting one back, the trash. The caller's own files and the family folders they may change,
//! or with `?user=` a member's for an owner or admin (`hearth files …` on the box). Thin:
//! `hearth_dav::history` does it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hearth_catalog::dav_trash::TrashId;
use hearth_dav::DavError;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::auth::Caller;
use crate::{ApiError, AppState};

pub(super) fn dav_error(e: DavError) -> ApiError {
    let message = e.message().to_string();
    match e.status() {
        StatusCode::NOT_FOUND => ApiError::not_found(message),
        StatusCode::BAD_REQUEST => ApiError::invalid(message),
        StatusCode::FORBIDDEN => ApiError::forbidden(message),
        StatusCode::INSUFFICIENT_STORAGE => ApiError::new(hearth_core::ErrorKind::StorageFull, message),
        StatusCode::PRECONDITION_FAILED | StatusCode::LOCKED | StatusCode::CONFLICT => {
            ApiError::new(hearth_core::ErrorKind::Conflict, message)
        }
        _ => ApiError::internal(message),
    }
}

/// `?user=`: an owner or admin (or `hearth` on the box) acting on a member's files.
#[derive(Deserialize, Default)]
pub struct UserQuery {
    /// Whose files; the caller's own when absent.
    pub user: Option<String>,
}

/// `?path=&user=`
#[derive(Deserialize)]
pub struct PathQuery {
    /// A file below the files.
    pub path: String,
    /// Whose files; the caller's own when absent.
    pub user: Option<String>,
}

/// Whose files a request is about: the caller's, or with `user` a member's for an owner or
/// admin (the CLI on the box has no files of its own).
async fn whose(state: &AppState, caller: &Caller, user: Option<String>) -> Result<hearth_catalog::users::User, ApiError> {
    match user {
        None => Ok(caller.require_user()?.clone()),
        Some(name) => {
            if caller.role < hearth_catalog::users::Role::Admin && caller.user.as_ref().is_none_or(|u| !u.name.eq_ignore_ascii_case(&name))
            {
                return Err(ApiError::forbidden("only an owner or admin may look at someone else's files"));
            }
            let n = name.clone();
            state
                .read(move |c| hearth_catalog::users::by_name(c, &n))
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no user named {name:?}")))
        }
    }
}

/// The files of `me` with their family folders: the space a path below them names, and the path
/// inside it.
async fn resolve(
    state: &AppState,
    me: &hearth_catalog::users::User,
    path: &str,
) -> Result<(hearth_dav::Space, hearth_dav::path::DavPath), ApiError> {
    let home = super::dav::files_space_with_family(state, me, super::dav::nextcloud_prefix(me)).await?;
    let at = hearth_dav::path::DavPath::from_key(path).map_err(|e| ApiError::invalid(format!("path: {e}")))?;
    Ok(home.mounted(&at).unwrap_or((home, at)))
}

/// `GET /api/v1/files/archive?path=`: a folder of the caller's files (or of a family folder
/// they see) as one zip archive, `<name>.zip`, streamed as it is written.
pub async fn archive(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<PathQuery>,
) -> Result<Response, ApiError> {
    let me = whose(&state, &caller, q.user).await?;
    let (space, below) = resolve(&state, &me, &q.path).await?;
    // The folder's name as the member sees it (a family folder's own name at its root).
    let name = q.path.trim_matches('/').rsplit('/').next().filter(|n| !n.is_empty()).map_or_else(|| me.name.clone(), str::to_string);
    let stream = state.dav.archive(space, below, name.clone()).await.map_err(dav_error)?;
    Ok(zip_response(stream, &name))
}

/// A folder archive being written as the body of a download named `<name>.zip`.
pub(super) fn zip_response(stream: hearth_dav::archive::ArchiveStream, name: &str) -> Response {
    let body =
        axum::body::Body::from_stream(futures_util::stream::unfold(
            stream,
            |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) },
        ));
    let mut r = Response::new(body);
    let headers = r.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/zip"));
    if let Ok(v) = axum::http::HeaderValue::from_str(&crate::content_disposition::attachment(&format!("{name}.zip"))) {
        headers.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("private, no-store"));
    r
}

/// One version.
#[derive(Serialize)]
pub struct VersionView {
    /// Its name, to restore it by: the replaced file's modification time in seconds.
    pub version: u64,
    /// Bytes.
    pub size: u64,
    /// Unix seconds.
    pub modified: i64,
}

/// `GET /api/v1/files/versions` answer.
#[derive(Serialize)]
pub struct Versions {
    /// Newest first.
    pub versions: Vec<VersionView>,
}

fn secs(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `GET /api/v1/files/versions?path=P`
pub async fn versions(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<PathQuery>,
) -> Result<Json<Versions>, ApiError> {
    let me = whose(&state, &caller, q.user).await?;
    let (space, path) = resolve(&state, &me, &q.path).await?;
    let list = state.dav.versions(state.catalog.clone(), space, &path.href("", false)).await.map_err(dav_error)?;
    Ok(Json(Versions {
        versions: list.into_iter().map(|v| VersionView { version: v.name, size: v.size, modified: secs(v.modified) }).collect(),
    }))
}

/// `POST /api/v1/files/versions/restore` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreVersion {
    /// The file.
    pub path: String,
    /// Which version (from the list).
    pub version: u64,
    /// Whose files; the caller's own when absent.
    #[serde(default)]
    pub user: Option<String>,
}

/// `POST /api/v1/files/versions/restore`
pub async fn restore_version(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    JsonBody(body): JsonBody<RestoreVersion>,
) -> Result<StatusCode, ApiError> {
    let me = whose(&state, &caller, body.user.clone()).await?;
    let (space, path) = resolve(&state, &me, &body.path).await?;
    space.may_write().map_err(dav_error)?;
    state.dav.restore_version(state.catalog.clone(), space, &path.href("", false), body.version).await.map_err(dav_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// One trashed item.
#[derive(Serialize)]
pub struct TrashedView {
    /// Its id.
    pub id: TrashId,
    /// The path it had.
    pub path: String,
    /// Unix seconds.
    pub deleted_at: i64,
    /// Bytes.
    pub size: u64,
    /// Whether it is a folder.
    pub folder: bool,
    /// The family folder it was deleted from (its path begins with that name); `None` for the
    /// member's own files.
    pub family_folder: Option<String>,
}

/// `GET /api/v1/files/trash` answer.
#[derive(Serialize)]
pub struct Trash {
    /// Newest first.
    pub items: Vec<TrashedView>,
}

/// `GET /api/v1/files/trash`
pub async fn trash(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<UserQuery>,
) -> Result<Json<Trash>, ApiError> {
    let me = whose(&state, &caller, q.user).await?;
    let files = super::dav::files_space_with_family(&state, &me, super::dav::nextcloud_prefix(&me)).await?;
    let listed = state.dav.member_trash(state.catalog.clone(), files).await.map_err(dav_error)?;
    let items = listed
        .into_iter()
        .map(|t| TrashedView {
            path: t.path(),
            id: t.item.id,
            deleted_at: t.item.deleted_at,
            size: t.item.size,
            folder: t.item.folder,
            family_folder: t.family_folder,
        })
        .collect();
    Ok(Json(Trash { items }))
}

fn trash_id(id: &str) -> Result<TrashId, ApiError> {
    id.parse()
        .map(TrashId)
        .map_err(|_| ApiError::invalid(format!("{id:?} is not a trash item's id (a number from GET /api/v1/files/trash)")))
}

/// `POST /api/v1/files/trash/{id}/restore` answer.
#[derive(Serialize)]
pub struct Restored {
    /// Where it came back.
    pub path: String,
}

/// `POST /api/v1/files/trash/{id}/restore`
pub async fn restore_trashed(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<UserQuery>,
) -> Result<Json<Restored>, ApiError> {
    let me = whose(&state, &caller, q.user).await?;
    let id = trash_id(&id)?;
    let files = super::dav::files_space_with_family(&state, &me, super::dav::nextcloud_prefix(&me)).await?;
    let path = state.dav.restore_member_trashed(state.catalog.clone(), files, id).await.map_err(dav_error)?;
    Ok(Json(Restored { path }))
}

/// `DELETE /api/v1/files/trash/{id}`
pub async fn purge_trashed(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<UserQuery>,
) -> Result<StatusCode, ApiError> {
    let me = whose(&state, &caller, q.user).await?;
    let id = trash_id(&id)?;
    let files = super::dav::files_space_with_family(&state, &me, super::dav::nextcloud_prefix(&me)).await?;
    state.dav.purge_member_trashed(state.catalog.clone(), files, id).await.map_err(dav_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/files/trash`
pub async fn empty_trash(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<UserQuery>,
) -> Result<StatusCode, ApiError> {
    let me = whose(&state, &caller, q.user).await?;
    let space = super::dav::files_space(&state, &me);
    state.dav.purge_trashed(state.catalog.clone(), space, None).await.map_err(dav_error)?;
    Ok(StatusCode::NO_CONTENT)
}
