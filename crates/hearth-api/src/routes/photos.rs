//! The photo library over HTTP: uploads, the timeline (months, then a month's assets), map
//! markers, and thumbnails. Every route reads and writes the caller's own library only.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_catalog::assets::{self, Bounds, Marker, Month, Source, Summary};
use hearth_catalog::jobs;
use hearth_photos::ingest::{self, Outcome};
use hearth_photos::thumbnail::{GRID, VIEW};
use hearth_photos::thumbnail_jobs;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The largest upload accepted (a long 4K video; photos are far smaller).
pub const MAX_UPLOAD_BYTES: usize = 4 << 30;

/// Whether `If-None-Match` names `etag` (the client's copy is current).
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}

fn owner(caller: &Caller) -> Result<i64, ApiError> {
    Ok(caller.require_user()?.id)
}

/// `GET /api/v1/timeline/months` body.
#[derive(Serialize)]
pub struct Months {
    /// Newest first.
    pub months: Vec<Month>,
}

/// `GET /api/v1/timeline/months`: every month with photos, newest first, with counts.
pub async fn months(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(of): Query<Of>,
) -> Result<Json<Months>, ApiError> {
    let owner = timeline_owner(&state, &caller, of.user).await?;
    Ok(Json(Months { months: state.read(move |r| assets::months(r, owner)).await? }))
}

/// Whose timeline (`?user=NAME`): the caller's own without it; another user's when they made the
/// caller their partner.
#[derive(Deserialize)]
pub struct Of {
    /// A user name.
    pub user: Option<String>,
}

/// The owner whose timeline the caller asked for (`None`: their own); 404 for a user who has
/// not made the caller a partner.
async fn timeline_owner(state: &AppState, caller: &Caller, user: Option<String>) -> Result<i64, ApiError> {
    let me = owner(caller)?;
    let Some(name) = user else { return Ok(me) };
    let found = state
        .read(move |r| {
            let Some(u) = hearth_catalog::users::by_name(r, &name)? else { return Ok(None) };
            Ok((u.id == me || hearth_catalog::sharing::is_partner(r, u.id, me)?).then_some(u.id))
        })
        .await?;
    found.ok_or_else(|| ApiError::not_found("no timeline of that user is shared with you"))
}

/// Query of a month page.
#[derive(Deserialize)]
pub struct PageQuery {
    /// Whose timeline (see [`Of`]).
    pub user: Option<String>,
    /// Resume after this asset (`taken_at` and `id` of the last one shown), both or neither.
    pub after_taken_at: Option<i64>,
    /// See `after_taken_at`.
    pub after_id: Option<i64>,
    /// At most this many (1–1000, default 200).
    pub limit: Option<i64>,
}

/// `GET /api/v1/timeline/months/{month}` body.
#[derive(Serialize)]
pub struct Page {
    /// Newest first.
    pub assets: Vec<Summary>,
    /// Pass as `after_taken_at` / `after_id` for the next page; absent at the end.
    pub next: Option<(i64, i64)>,
}

/// `GET /api/v1/timeline/months/{month}`: a month's assets (YYYYMM), newest first.
pub async fn month_page(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(month): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page>, ApiError> {
    let owner = timeline_owner(&state, &caller, q.user.clone()).await?;
    if !(180001..=999912).contains(&month) || !(1..=12).contains(&(month % 100)) {
        return Err(ApiError::invalid("the month is YYYYMM, like 202407"));
    }
    let (cursor, limit) = page_bounds(&q)?;
    let assets = state.read(move |r| assets::month_page(r, owner, month, cursor, limit)).await?;
    Ok(Json(Page::of(assets, limit)))
}

/// The cursor and limit of a page query (limit 1–1000, default 200).
pub(super) fn page_bounds(q: &PageQuery) -> Result<(Option<(i64, i64)>, i64), ApiError> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit is 1 to 1000"));
    }
    let cursor = match (q.after_taken_at, q.after_id) {
        (Some(t), Some(id)) => Some((t, id)),
        (None, None) => None,
        _ => return Err(ApiError::invalid("give both after_taken_at and after_id, or neither")),
    };
    Ok((cursor, limit))
}

impl Page {
    /// A page of `assets` asked for with `limit`: `next` is set when it may not be the last.
    pub fn of(assets: Vec<Summary>, limit: i64) -> Page {
        let next = (assets.len() as i64 == limit).then(|| assets.last().map(|a| (a.taken_at, a.id))).flatten();
        Page { assets, next }
    }
}

/// Query of the map.
#[derive(Deserialize)]
pub struct MapQuery {
    /// Whose map (see [`Of`]).
    pub user: Option<String>,
    /// Map zoom, 0 (the world in 256 px) to 22.
    pub zoom: u32,
    /// The view, degrees; the whole world without them.
    pub south: Option<f64>,
    /// See `south`.
    pub west: Option<f64>,
    /// See `south`.
    pub north: Option<f64>,
    /// See `south`.
    pub east: Option<f64>,
}

/// `GET /api/v1/map/markers` body.
#[derive(Serialize)]
pub struct Markers {
    /// Clusters (no `asset_id`) or single assets.
    pub markers: Vec<Marker>,
}

/// `GET /api/v1/map/markers?zoom=Z[&south=&west=&north=&east=]`
pub async fn markers(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<MapQuery>,
) -> Result<Json<Markers>, ApiError> {
    let owner = timeline_owner(&state, &caller, q.user.clone()).await?;
    if q.zoom > 22 {
        return Err(ApiError::invalid("zoom is 0 to 22"));
    }
    let bounds = match (q.south, q.west, q.north, q.east) {
        (None, None, None, None) => Bounds::WORLD,
        (Some(south), Some(west), Some(north), Some(east))
            if (-90.0..=90.0).contains(&south)
                && (-90.0..=90.0).contains(&north)
                && south <= north
                && (-180.0..=180.0).contains(&west)
                && (-180.0..=180.0).contains(&east) =>
        {
            Bounds { south, west, north, east }
        }
        _ => return Err(ApiError::invalid("give south, west, north and east in degrees (south ≤ north), or none for the whole world")),
    };
    let zoom = q.zoom;
    Ok(Json(Markers { markers: state.read(move |r| assets::map_markers(r, owner, zoom, bounds, 5000)).await? }))
}

/// Query of a thumbnail.
#[derive(Deserialize)]
pub struct ThumbQuery {
    /// 250 (grid, the default) or 1440 (viewing).
    pub size: Option<u32>,
}

/// `GET /api/v1/assets/{id}/thumbnail?size=250|1440`: a JPEG; its ETag is the content's checksum,
/// so it is cached for good and revalidated with a 304. While the thumbnail worker has not made it
/// yet: 503 with `Retry-After`, and the job moves to the front of the queue (someone is waiting).
pub async fn thumbnail(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    Query(q): Query<ThumbQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let owner = viewable(&state, &caller, id).await?;
    serve_thumbnail(&state, owner, id, q.size, &headers).await
}

/// Whose asset `id` is, when the caller may see it (theirs, a partner's, in an album they are
/// in); 404 otherwise, the same as for an asset that does not exist.
pub(super) async fn viewable(state: &AppState, caller: &Caller, id: i64) -> Result<i64, ApiError> {
    let user = owner(caller)?;
    match state.read(move |r| hearth_catalog::sharing::can_see(r, user, id)).await? {
        Some((_, owner)) => Ok(owner),
        None => Err(ApiError::not_found("no such photo")),
    }
}

/// A thumbnail of `owner`'s asset `id` (the caller's right to see it is checked).
pub(super) async fn serve_thumbnail(
    state: &AppState,
    owner: i64,
    id: i64,
    size: Option<u32>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let size = size.unwrap_or(GRID);
    if size != GRID && size != VIEW {
        return Err(ApiError::invalid(format!("size is {GRID} or {VIEW}")));
    }
    let thumbs = state.read(move |r| assets::thumbnails_of(r, owner, id)).await?.ok_or_else(|| ApiError::not_found("no such photo"))?;
    match thumbs.state.as_str() {
        "pending" => {
            state.write(move |tx| jobs::hurry(tx, jobs::THUMBNAILS, id, jobs::priority::WAITING)).await?;
            let mut e = ApiError::new(hearth_core::ErrorKind::Unavailable, "the thumbnail is being made");
            e.retry_after = Some(2);
            return Err(e);
        }
        "failed" => {
            let why = thumbs.problem.unwrap_or_else(|| "the photo could not be decoded".into());
            return Err(ApiError::not_found(format!("this photo has no thumbnail: {why}")));
        }
        _ => {}
    }
    let checksum = thumbs.checksum;
    let hex = crate::auth::secret::hex(&checksum);
    let etag = format!("\"{hex}-{size}\"");
    let cache = "private, max-age=31536000, immutable";
    if etag_matches(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache.to_string())]).into_response());
    }
    let path = thumbnail_jobs::thumbnail_path(&state.data_dir.join("cache"), &checksum, size);
    let bytes = tokio::fs::read(&path).await.map_err(|_| ApiError::not_found("this photo has no thumbnail (its details say why)"))?;
    Ok((
        [(header::CONTENT_TYPE, "image/jpeg".to_string()), (header::ETAG, etag), (header::CACHE_CONTROL, cache.to_string())],
        Body::from(bytes),
    )
        .into_response())
}

/// Query of an upload.
#[derive(Deserialize)]
pub struct UploadQuery {
    /// The file's name on the phone (`IMG_0001.HEIC`).
    pub name: String,
}

/// `POST /api/v1/assets` answer.
#[derive(Serialize)]
pub struct Uploaded {
    /// The asset.
    pub id: i64,
    /// The owner already had this content: nothing was stored.
    pub duplicate: bool,
    /// Why its metadata could not be read, when it could not (thumbnails follow from a worker:
    /// the asset's `thumbnails` says when they are ready, or why they failed).
    pub problem: Option<String>,
}

/// `POST /api/v1/assets?name=NAME` with the file as the body: stored under
/// `DATA/library/<user id>/`, then ingested. 201 when added, 200 for content already there.
pub async fn upload(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<UploadQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let owner = owner(&caller)?;
    let (status, uploaded) = receive_upload(&state, owner, &q.name, request).await?;
    Ok((status, Json(uploaded)).into_response())
}

/// Store an upload's body in `owner`'s library and ingest it: 201 when added, 200 for content
/// the owner already had.
pub(super) async fn receive_upload(state: &AppState, owner: i64, name: &str, request: Request) -> Result<(StatusCode, Uploaded), ApiError> {
    let name = check_name(name)?;
    let dir = library_dir(state, owner).await?;
    // The body goes to a temporary file as it arrives: a video never sits in memory.
    let tmp = dir.join(format!(".upload-{}", std::process::id() as u64 * 1_000_000 + u64::from(rand_u32())));
    let io = |e: std::io::Error| ApiError::new(hearth_core::ErrorKind::of_io(&e), format!("the upload could not be stored: {e}"));
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).await.map_err(io)?;
    let mut body = request.into_body();
    let mut total = 0usize;
    let written: Result<(), ApiError> = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ApiError::invalid(format!("the upload was cut off: {e}")))?;
            if let Some(data) = frame.data_ref() {
                total += data.len();
                if total > MAX_UPLOAD_BYTES {
                    return Err(ApiError::new(hearth_core::ErrorKind::TooLarge, "the file is larger than uploads may be (4 GiB)"));
                }
                file.write_all(data).await.map_err(io)?;
            }
        }
        file.sync_all().await.map_err(io)
    }
    .await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(tmp).await;
        return Err(e);
    }
    place_and_ingest(state, owner, name, &tmp).await
}

/// An upload's file name: its own name, no folders, not hidden.
pub(super) fn check_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    let ok_name = !name.is_empty() && name.len() <= 255 && !name.starts_with('.') && !name.contains(['/', '\\', '\0']);
    if !ok_name {
        return Err(ApiError::invalid("name is the file's own name, without folders"));
    }
    Ok(name)
}

async fn library_dir(state: &AppState, owner: i64) -> Result<std::path::PathBuf, ApiError> {
    let dir = state.data_dir.join("library").join(owner.to_string());
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::new(hearth_core::ErrorKind::of_io(&e), format!("cannot make the library folder: {e}")))?;
    Ok(dir)
}

/// Move a complete upload (`tmp`, on the data disk) into `owner`'s library under a free version
/// of `name`, and ingest it: 201 when added, 200 for content the owner already had (the file is
/// not kept then); a file that is not a photo or video is removed and refused.
pub(super) async fn place_and_ingest(
    state: &AppState,
    owner: i64,
    name: &str,
    tmp: &std::path::Path,
) -> Result<(StatusCode, Uploaded), ApiError> {
    let io = |e: std::io::Error| ApiError::new(hearth_core::ErrorKind::of_io(&e), format!("the upload could not be stored: {e}"));
    let dir = library_dir(state, owner).await?;
    // A free name: IMG_0001.jpg, then IMG_0001 (1).jpg, …, each taken only if nothing is there at
    // the moment of the move, so two uploads of one name at once both keep their file.
    let (from, into, wanted) = (tmp.to_path_buf(), dir.clone(), name.to_string());
    let placed = tokio::task::spawn_blocking(move || hearth_platform::durable::place_new_file(&from, &into, &wanted, 10_000))
        .await
        .map_err(|e| ApiError::new(hearth_core::ErrorKind::Internal, format!("storing the upload stopped: {e}")))?;
    let target = match placed {
        Ok(target) => target,
        Err(e) => {
            let _ = tokio::fs::remove_file(tmp).await;
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                return Err(ApiError::new(hearth_core::ErrorKind::Conflict, format!("no free name for {name} in the library")));
            }
            return Err(io(e));
        }
    };
    let stored = target.strip_prefix(&state.data_dir).unwrap_or(&target).display().to_string();
    let catalog = state.catalog.clone();
    let now = state.now();
    let (file_path, data_dir) = (target.clone(), state.data_dir.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        ingest::ingest(
            &catalog,
            &ingest::Request {
                owner_id: owner,
                source: Source::Upload,
                file: &file_path,
                stored_path: stored,
                now,
                priority: jobs::priority::NEW,
                data_dir: &data_dir,
            },
        )
    })
    .await
    .map_err(|e| ApiError::new(hearth_core::ErrorKind::Internal, format!("ingest stopped: {e}")))?;
    match outcome {
        Ok(Outcome::Added { id, problem } | Outcome::Replaced { id, problem }) => {
            Ok((StatusCode::CREATED, Uploaded { id, duplicate: false, problem }))
        }
        // The owner's asset of this content had lost its file: this upload is its file now.
        Ok(Outcome::Moved { id }) => Ok((StatusCode::OK, Uploaded { id, duplicate: true, problem: None })),
        Ok(Outcome::Duplicate { id }) => {
            let _ = tokio::fs::remove_file(&target).await;
            Ok((StatusCode::OK, Uploaded { id, duplicate: true, problem: None }))
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&target).await;
            Err(ApiError::new(hearth_core::Kinded::kind(&e), e.user_message()))
        }
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = crate::auth::secret::fill_random(&mut b);
    u32::from_le_bytes(b)
}

/// `PUT /api/v1/photos/camera-folders/{id}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraFolder {
    /// Whose library the folder's photos join.
    pub user: String,
}

/// `PUT /api/v1/photos/camera-folders/{id}`: photos in sync folder `id`, and every photo that
/// arrives in it later, join `user`'s library. The ones already there are ingested in the
/// background. 202.
pub async fn set_camera_folder(
    State(state): State<AppState>,
    Path(folder_id): Path<String>,
    super::JsonBody(body): super::JsonBody<CameraFolder>,
) -> Result<StatusCode, ApiError> {
    let folder = {
        let id = folder_id.clone();
        state
            .read(move |r| hearth_catalog::sync_folders::get_folder(r, &id))
            .await?
            .ok_or_else(|| ApiError::not_found("no sync folder with that id"))?
    };
    let user = state
        .read(move |r| hearth_catalog::users::by_name(r, &body.user))
        .await?
        .ok_or_else(|| ApiError::not_found("no user with that name"))?;
    let now = state.now();
    let (id, owner) = (folder_id.clone(), user.id);
    state.write(move |tx| assets::set_camera_folder(tx, &id, owner, now)).await?;
    let (catalog, data_dir) = (state.catalog.clone(), state.data_dir.clone());
    let root = std::path::PathBuf::from(&folder.path);
    tokio::task::spawn_blocking(move || {
        let (added, duplicates, refused) = ingest::ingest_tree(&catalog, owner, Source::Sync, &root, &data_dir, now);
        tracing::info!(folder = %folder_id, added, duplicates, refused, "camera folder ingested");
    });
    Ok(StatusCode::ACCEPTED)
}

/// `DELETE /api/v1/photos/camera-folders/{id}`: arriving photos no longer join a library (the
/// ones already in it stay). 204, or 404 when it was not a camera folder.
pub async fn unset_camera_folder(State(state): State<AppState>, Path(folder_id): Path<String>) -> Result<StatusCode, ApiError> {
    if state.write(move |tx| assets::unset_camera_folder(tx, &folder_id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("that folder is not a camera folder"))
    }
}

/// `GET /api/v1/assets/{id}/original`: the file as it arrived, streamed, with `Range` (one range:
/// 206; past the end: 416) and an `ETag` from the content (`If-None-Match` → 304).
pub async fn original(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let owner = viewable(&state, &caller, id).await?;
    serve_original(&state, owner, id, &headers).await
}

/// The original of `owner`'s asset `id` (the caller's right to it is checked).
pub(super) async fn serve_original(state: &AppState, owner: i64, id: i64, headers: &HeaderMap) -> Result<Response, ApiError> {
    let assets::StoredFile { path: stored, checksum, format } =
        state.read(move |r| assets::file_of(r, owner, id)).await?.ok_or_else(|| ApiError::not_found("no such photo"))?;
    let path = if std::path::Path::new(&stored).is_absolute() { std::path::PathBuf::from(&stored) } else { state.data_dir.join(&stored) };
    let file = tokio::fs::File::open(&path).await.map_err(|_| ApiError::not_found("the photo's file is no longer on the disk"))?;
    let len = file.metadata().await.map_err(|e| ApiError::new(hearth_core::ErrorKind::of_io(&e), e.to_string()))?.len();
    let hex = crate::auth::secret::hex(&checksum);
    let etag = format!("\"{hex}\"");
    let kind = match format.as_deref() {
        Some("jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("heif") => "image/heic",
        Some("mp4") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("matroska") => "video/x-matroska",
        _ => "application/octet-stream",
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| format!("photo-{id}"));
    let common = [
        (header::ETAG, etag.clone()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
        (header::CACHE_CONTROL, "private, no-cache".to_string()),
        (header::CONTENT_DISPOSITION, crate::content_disposition::inline(&name)),
    ];
    if etag_matches(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let io = |e: std::io::Error| ApiError::new(hearth_core::ErrorKind::of_io(&e), e.to_string());
    let mut response = crate::byte_range::respond(headers, file.into_std().await, len, kind).await.map_err(io)?;
    for (name, value) in common {
        response.headers_mut().insert(name, axum::http::HeaderValue::from_str(&value).map_err(ApiError::internal)?);
    }
    Ok(response)
}

/// `PATCH /api/v1/assets/{id}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetChange {
    /// Mark or unmark as a favourite.
    pub favourite: Option<bool>,
    /// Hide from the timeline (kept in albums and search), or bring back.
    pub archived: Option<bool>,
}

/// `PATCH /api/v1/assets/{id}`: favourite and archive. 204; 404 for another user's asset.
pub async fn change(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    super::JsonBody(body): super::JsonBody<AssetChange>,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&caller)?;
    if body.favourite.is_none() && body.archived.is_none() {
        return Err(ApiError::invalid("give favourite and/or archived"));
    }
    let found = state
        .write(move |tx| {
            let mut found = true;
            if let Some(f) = body.favourite {
                found &= assets::set_favourite(tx, owner, id, f)?;
            }
            if let Some(a) = body.archived {
                found &= assets::set_archived(tx, owner, id, a)?;
            }
            Ok(found)
        })
        .await?;
    if found { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("no such photo")) }
}

/// `POST /api/v1/assets/{id}/trash`: into the trash for 30 days (gone from the timeline and the
/// map, restorable). 204.
pub async fn trash(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&caller)?;
    let now = state.now();
    if state.write(move |tx| assets::set_trashed(tx, owner, id, Some(now))).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such photo"))
    }
}

/// `GET /api/v1/trash`: the caller's photos in the trash, newest taken first, a page like a
/// month's.
pub async fn trash_list(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page>, ApiError> {
    let owner = owner(&caller)?;
    let (cursor, limit) = page_bounds(&q)?;
    let assets = state.read(move |r| assets::trash_page(r, owner, cursor, limit)).await?;
    Ok(Json(Page::of(assets, limit)))
}

/// `POST /api/v1/assets/{id}/restore`: out of the trash. 204.
pub async fn restore(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let owner = owner(&caller)?;
    if state.write(move |tx| assets::set_trashed(tx, owner, id, None)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such photo"))
    }
}

/// `GET /api/v1/assets/{id}`: everything known about a photo.
pub async fn details(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<assets::Details>, ApiError> {
    let owner = viewable(&state, &caller, id).await?;
    Ok(Json(state.read(move |r| assets::details(r, owner, id)).await?.ok_or_else(|| ApiError::not_found("no such photo"))?))
}

/// `POST /api/v1/assets/check` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// BLAKE3 checksums (hex) of files a client is about to upload; at most 1,000.
    pub checksums: Vec<String>,
}

/// `POST /api/v1/assets/check` answer.
#[derive(Serialize)]
pub struct Checked {
    /// The checksums the caller's library already has, with the asset that has each.
    pub existing: std::collections::BTreeMap<String, i64>,
}

/// `POST /api/v1/assets/check`: which of these files the library already has, so a phone
/// re-uploading its roll sends nothing twice.
pub async fn check(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    super::JsonBody(body): super::JsonBody<Check>,
) -> Result<Json<Checked>, ApiError> {
    let owner = owner(&caller)?;
    if body.checksums.len() > 1000 {
        return Err(ApiError::invalid("at most 1,000 checksums at once"));
    }
    let mut wanted = Vec::with_capacity(body.checksums.len());
    for hex in body.checksums {
        let bytes: Option<Vec<u8>> = (hex.len() == 64 && hex.is_ascii())
            .then(|| (0..32).map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()).collect())
            .flatten();
        let Some(sum) = bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
            return Err(ApiError::invalid("each checksum is the file's BLAKE3 in 64 hex digits"));
        };
        wanted.push((hex.to_ascii_lowercase(), sum));
    }
    let existing = state
        .read(move |r| {
            let mut found = std::collections::BTreeMap::new();
            for (hex, sum) in &wanted {
                if let Some(id) = assets::by_checksum(r, owner, sum)? {
                    found.insert(hex.clone(), id);
                }
            }
            Ok(found)
        })
        .await?;
    Ok(Json(Checked { existing }))
}

/// `GET /api/v1/photos/libraries` body.
#[derive(Serialize)]
pub struct Libraries {
    /// External library folders, oldest first.
    pub libraries: Vec<assets::Library>,
}

/// `GET /api/v1/photos/libraries` (admin).
pub async fn libraries(State(state): State<AppState>) -> Result<Json<Libraries>, ApiError> {
    let libraries = state.read(|r| Ok(assets::libraries(r)?.into_iter().map(|(l, _)| l).collect())).await?;
    Ok(Json(Libraries { libraries }))
}

/// `POST /api/v1/photos/libraries` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLibrary {
    /// Whose library it feeds.
    pub user: String,
    /// An absolute folder outside Hearth's data folder.
    pub path: String,
}

/// `POST /api/v1/photos/libraries` (admin) → 201: the folder's photos join `user`'s library,
/// indexed in place (the folder is never written to), scanned now and every quarter of an hour.
pub async fn add_library(
    State(state): State<AppState>,
    super::JsonBody(body): super::JsonBody<NewLibrary>,
) -> Result<(StatusCode, Json<assets::Library>), ApiError> {
    let path = std::path::PathBuf::from(&body.path);
    if !path.is_absolute() {
        return Err(ApiError::invalid("the library's path is absolute (/mnt/archive/photos)"));
    }
    let real = tokio::fs::canonicalize(&path).await.map_err(|e| ApiError::not_found(format!("{}: {e}", path.display())))?;
    if !real.is_dir() {
        return Err(ApiError::invalid(format!("{} is not a folder", real.display())));
    }
    if real.starts_with(&state.data_dir) || state.data_dir.starts_with(&real) {
        return Err(ApiError::invalid("a library is outside Hearth's data folder (photos inside it are already Hearth's)"));
    }
    let user = state
        .read(move |r| hearth_catalog::users::by_name(r, &body.user))
        .await?
        .ok_or_else(|| ApiError::not_found("no user with that name"))?;
    let (now, text) = (state.now(), real.display().to_string());
    let library = state
        .write(move |tx| {
            let id = assets::add_library(tx, user.id, &text, now)?;
            Ok(assets::Library { id, user: user.name.clone(), path: text, added_at: now })
        })
        .await?;
    let (catalog, data_dir, owner) = (state.catalog.clone(), state.data_dir.clone(), user.id);
    tokio::task::spawn_blocking(move || {
        let root = hearth_photos::libraries::Root { owner_id: owner, source: Source::External, path: real };
        match hearth_photos::libraries::scan(&catalog, &root, &data_dir, now) {
            Ok(s) => tracing::info!(folder = %root.path.display(), taken_in = s.taken_in, "library scanned"),
            Err(e) => tracing::warn!(folder = %root.path.display(), error = %e, "library scan failed"),
        }
    });
    Ok((StatusCode::CREATED, Json(library)))
}

/// `DELETE /api/v1/photos/libraries/{id}` (admin) → 204: its photos leave the library (the
/// files stay where they are).
pub async fn remove_library(State(state): State<AppState>, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    if state.write(move |tx| assets::remove_library(tx, id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such library"))
    }
}

/// `POST /api/v1/photos/scan` answer.
#[derive(Serialize, Default)]
pub struct ScanReport {
    /// Folders scanned.
    pub folders: usize,
    /// Folders not there (unplugged): left as they were.
    pub offline: usize,
    /// New, moved or changed files taken in.
    pub taken_in: usize,
    /// Photos whose file vanished: now in the trash.
    pub missing: usize,
    /// Photos whose file came back: out of the trash.
    pub back: usize,
}

/// `POST /api/v1/photos/scan`: scan the caller's watched folders now (their photo folders
/// among their files, their camera folders, their external libraries) instead of at the next
/// quarter hour.
pub async fn scan(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>) -> Result<Json<ScanReport>, ApiError> {
    let owner = owner(&caller)?;
    let (catalog, data_dir, now) = (state.catalog.clone(), state.data_dir.clone(), state.now());
    let folders = state.config.files.photo_folders.clone();
    let report = tokio::task::spawn_blocking(move || -> Result<ScanReport, hearth_catalog::CatalogError> {
        let mut report = ScanReport::default();
        for root in hearth_photos::libraries::roots(&catalog, &data_dir, &folders)?.into_iter().filter(|r| r.owner_id == owner) {
            let s = hearth_photos::libraries::scan(&catalog, &root, &data_dir, now)?;
            report.folders += 1;
            report.offline += usize::from(s.offline);
            report.taken_in += s.taken_in;
            report.missing += s.missing;
            report.back += s.back;
        }
        Ok(report)
    })
    .await
    .map_err(|e| ApiError::new(hearth_core::ErrorKind::Internal, format!("the scan stopped: {e}")))??;
    Ok(Json(report))
}
