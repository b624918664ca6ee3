//! Share links to the family's files (docs/files.md, "Share links"): a file or a folder opened to
//! whoever holds the link, read-only, or as a drop box that only takes files. The links are the
//! photo share links' (`shares`: tokens, passwords, expiry, revoking); a file link names its item
//! by file id, so it follows a rename (into or out of a family folder too) and shows nothing
//! while the item is in the trash. Thin:
//! `hearth_dav::share_links` reads and drops, `hearth_catalog::sharing` keeps the links.
//!
//! `/s/<token>` is the link a family hands out: it opens the web app's page for it, and
//! `/s/<token>/download` is a linked file itself (for `curl` and `wget`).

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hearth_catalog::sharing::{self, ShareLink, Shows};
use hearth_catalog::users::User;
use hearth_dav::Space;
use hearth_dav::path::DavPath;
use hearth_dav::share_links::Looked;
use serde::{Deserialize, Serialize};

use super::dav::http_answer;
use super::files::dav_error;
use super::shares::open_link;
use crate::{ApiError, AppState};

/// The item a file link opens: its owner, the space it is in as the owner reaches it (their
/// files, or a family folder they are a member of), and where it is in it now.
pub(super) struct Linked {
    pub owner: User,
    pub space: Space,
    pub path: DavPath,
    /// The family folder's name, when the item is in one.
    pub family_folder: Option<String>,
}

impl Linked {
    /// The item's name: a file's or folder's, or the family folder's when the link opens one.
    pub fn name(&self) -> Option<String> {
        self.path.name().map(str::to_string).or_else(|| self.family_folder.clone())
    }
}

/// Where `link`'s item is now; 404 when the link is not a file link, its item is in the trash,
/// or it is in a family folder its owner is no longer a member of.
pub(super) async fn linked(state: &AppState, link: &ShareLink) -> Result<Linked, ApiError> {
    let Shows::Files(file) = link.shows() else { return Err(ApiError::not_found("this link shares photos, not files")) };
    let owner_id = link.owner_id;
    let (owner, at) =
        state.read(move |r| Ok((hearth_catalog::users::by_id(r, owner_id)?, hearth_catalog::dav_files::by_id(r, file)?))).await?;
    let owner = owner.ok_or_else(|| ApiError::not_found("this link's owner is gone"))?;
    let gone = || ApiError::not_found("what this link shares is in its owner's trash, or gone");
    let Some((space_key, key)) = at else { return Err(gone()) };
    let (space, family_folder) = super::dav::space_reached(state, &owner, &space_key)
        .await?
        .ok_or_else(|| ApiError::not_found("what this link shares is in a family folder its owner no longer has"))?;
    match hearth_dav::trash::live_path(&space.key, Some((space_key, key))) {
        Some(path) => Ok(Linked { owner, space, path, family_folder }),
        // Its id waits in the trash: the link shows nothing meanwhile.
        None => Err(gone()),
    }
}

/// A path below the linked folder as visitors send it (`Trip/day 1/a.jpg`; empty for the item).
fn below(linked: &DavPath, rel: Option<&str>) -> Result<DavPath, ApiError> {
    let rel = DavPath::from_key(rel.unwrap_or_default()).map_err(|e| ApiError::invalid(format!("path: {e}")))?;
    Ok(rel.rebased(&DavPath::root(), linked))
}

/// A link that gives out what it shares, opened (with its key when it has a password), its item,
/// and the path `rel` below it; 403 for a drop box, saying it does not `refused`.
async fn open_for_reading(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    rel: Option<&str>,
    refused: &str,
) -> Result<(ShareLink, Linked, DavPath), ApiError> {
    let link = open_link(state, token, headers).await?;
    if !link.allow_download {
        return Err(ApiError::forbidden(format!("this link only takes files; it does not {refused}")));
    }
    let item = linked(state, &link).await?;
    let at = below(&item.path, rel)?;
    Ok((link, item, at))
}

/// `?path=`
#[derive(Deserialize, Default)]
pub struct RelQuery {
    /// Below the linked folder; absent or empty for the linked item itself.
    pub path: Option<String>,
}

/// One member of a shared folder.
#[derive(Serialize)]
pub struct Member {
    /// Its name.
    pub name: String,
    /// A folder (else a file).
    pub folder: bool,
    /// Bytes (0 for folders).
    pub size: u64,
    /// Unix seconds of its last change.
    pub modified: i64,
}

/// `GET /api/v1/shared/{token}/files` answer.
#[derive(Serialize)]
pub struct Listing {
    /// The folder, below the linked one (empty for the linked folder).
    pub path: String,
    /// Folders first, then files, each by name.
    pub members: Vec<Member>,
}

fn unix(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `GET /api/v1/shared/{token}/files?path=`: a folder of a read-only folder link.
pub async fn list(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<RelQuery>,
    headers: HeaderMap,
) -> Result<Json<Listing>, ApiError> {
    let (_, item, at) = open_for_reading(&state, &token, &headers, q.path.as_deref(), "show what the folder holds").await?;
    match state.dav.look(item.space, at.clone()).await.map_err(dav_error)? {
        Looked::Folder(_, entries) => {
            let mut members: Vec<Member> = entries
                .into_iter()
                .map(|(name, e)| Member { folder: e.is_folder(), size: e.size, modified: unix(e.modified), name })
                .collect();
            members.sort_by(|a, b| b.folder.cmp(&a.folder).then_with(|| a.name.cmp(&b.name)));
            let path = at.names()[item.path.names().len()..].join("/");
            Ok(Json(Listing { path, members }))
        }
        Looked::File(_) => Err(ApiError::invalid("this is a file: download it")),
        Looked::Missing => Err(ApiError::not_found("no such folder in this link")),
    }
}

/// `GET /api/v1/shared/{token}/download?path=`: the linked file, or a file below the linked
/// folder, with `Range` and `If-None-Match`; a whole download (or a first part) counts once.
pub async fn download(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<RelQuery>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve_file(&state, &token, q.path.as_deref(), method, &headers).await
}

async fn serve_file(state: &AppState, token: &str, rel: Option<&str>, method: Method, headers: &HeaderMap) -> Result<Response, ApiError> {
    let (link, item, at) = open_for_reading(state, token, headers, rel, "give them out").await?;
    match state.dav.look(item.space.clone(), at.clone()).await.map_err(dav_error)? {
        Looked::File(_) => {}
        Looked::Folder(..) => return Err(ApiError::invalid("this is a folder: list it, then download its files")),
        Looked::Missing => return Err(ApiError::not_found("no such file in this link")),
    }
    // The owner's GET, with the visitor's conditions and range.
    let mut ask = axum::http::Request::builder().method(if method == Method::HEAD { Method::HEAD } else { Method::GET }).uri("/");
    for name in [header::RANGE, header::IF_NONE_MATCH, header::IF_MATCH, header::IF_MODIFIED_SINCE] {
        if let Some(v) = headers.get(&name) {
            ask = ask.header(name, v);
        }
    }
    let (parts, ()) = ask.body(()).map_err(ApiError::internal)?.into_parts();
    let range = headers.get(header::RANGE).cloned();
    let answer = state.dav.handle(state.catalog.clone(), item.space, parts, &at.href("", false), http_body_util::Empty::new()).await;
    let mut response = http_answer(answer, range.clone()).await?;
    let first_part = range.as_ref().and_then(|v| v.to_str().ok()).is_none_or(|r| r.replace(' ', "").starts_with("bytes=0-"));
    let whole_or_first = response.status() == StatusCode::OK || (response.status() == StatusCode::PARTIAL_CONTENT && first_part);
    if method == Method::GET && whole_or_first {
        let id = link.id;
        state.write(move |tx| sharing::count_download(tx, id)).await?;
    }
    if let Some(name) = at.name()
        && let Ok(v) = HeaderValue::from_str(&crate::content_disposition::attachment(name))
    {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(response)
}

/// `GET /api/v1/shared/{token}/archive?path=`: a folder link's folder, or a folder below it, as
/// one zip archive (`<name>.zip`); counts once among the link's downloads.
pub async fn archive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<RelQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (link, item, at) = open_for_reading(&state, &token, &headers, q.path.as_deref(), "give them out").await?;
    let name = match at.name() {
        Some(n) => n.to_string(),
        None => item.name().unwrap_or_else(|| "files".to_string()),
    };
    let stream = state.dav.archive(item.space, at, name.clone()).await.map_err(dav_error)?;
    let id = link.id;
    state.write(move |tx| sharing::count_download(tx, id)).await?;
    Ok(super::files::zip_response(stream, &name))
}

/// `?name=`
#[derive(Deserialize)]
pub struct DropQuery {
    /// The file's name on the visitor's device.
    pub name: String,
}

/// `POST /api/v1/shared/{token}/files?name=` answer.
#[derive(Serialize)]
pub struct DroppedFile {
    /// The name it was given (` (1)`, ` (2)`… added when the name was taken).
    pub name: String,
    /// Its bytes.
    pub size: u64,
}

/// `POST /api/v1/shared/{token}/files?name=NAME` with the file as the body: into the linked
/// folder, when the link takes files; never replacing one (201).
pub async fn drop_file(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<DropQuery>,
    request: Request,
) -> Result<(StatusCode, Json<DroppedFile>), ApiError> {
    let link = open_link(&state, &token, request.headers()).await?;
    if !link.allow_upload {
        return Err(ApiError::forbidden("this link does not take files"));
    }
    let item = linked(&state, &link).await?;
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let root = item.space.tree.root().to_path_buf();
    let dropped = state
        .dav
        .drop_file(state.catalog.clone(), item.space, item.path, &q.name, declared, request.into_body())
        .await
        .map_err(dav_error)?;
    // A drop box in a photo folder feeds the photo library like any other write.
    let _ = state.files_written.send(crate::state::FileWritten { owner_id: item.owner.id, path: root.join(dropped.path.relative()) });
    let name = dropped.path.name().unwrap_or_default().to_string();
    Ok((StatusCode::CREATED, Json(DroppedFile { name, size: dropped.size })))
}

/// `GET /s/{token}`: the link's page in the web app.
pub async fn page(Path(token): Path<String>) -> Response {
    let token: String = token.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    Redirect::to(&format!("/#/s/{token}")).into_response()
}

/// `GET /s/{token}/download`: a file link's file (a link with a password needs its key).
pub async fn direct_download(State(state): State<AppState>, Path(token): Path<String>, method: Method, headers: HeaderMap) -> Response {
    serve_file(&state, &token, None, method, &headers).await.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitors_path_stays_below_the_linked_folder() {
        let linked = DavPath::from_key("School/2026").expect("path");
        assert_eq!(below(&linked, None).expect("item"), linked);
        assert_eq!(below(&linked, Some("a/b.pdf")).expect("below").key(), "School/2026/a/b.pdf");
        assert_eq!(below(&linked, Some("/a//b.pdf/")).expect("below").key(), "School/2026/a/b.pdf");
        for bad in ["..", "a/../../x", "./a", "a\0b"] {
            assert!(below(&linked, Some(bad)).is_err(), "{bad:?}");
        }
    }
}
