//! Resumable uploads, by the tus 1.0.0 protocol (core, with the creation and termination
//! extensions; <https://tus.io/protocols/resumable-upload>), so a phone that loses the network in
//! the middle of a 2 GB video goes on from where it was, and any tus client works.
//!
//! - `POST /api/v1/uploads` with `Upload-Length` and `Upload-Metadata` (`filename`, base64)
//!   makes an upload: 201 and its `Location`.
//! - `HEAD` on it says how much has arrived (`Upload-Offset`).
//! - `PATCH` on it with `Upload-Offset` (which must be what HEAD says) and
//!   `Content-Type: application/offset+octet-stream` appends. When the last byte arrives the file
//!   joins the library exactly like `POST /api/v1/assets`; the answer carries
//!   `Hearth-Asset-Id` (and `Hearth-Duplicate: true` for content the owner already had).
//! - `DELETE` on it gives up.
//!
//! State lives next to the bytes: `DATA/uploads/<user id>/<id>.part` and `<id>.json` (name,
//! length, and once done, the asset). An upload nobody touched for a day is removed by the
//! maintenance worker. One `PATCH` at a time per upload: a second one is refused with 409.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::photos::{MAX_UPLOAD_BYTES, check_name, place_and_ingest};
use crate::auth::Caller;
use crate::{ApiError, AppState};

const TUS_VERSION: &str = "1.0.0";

#[derive(Serialize, Deserialize)]
struct Meta {
    name: String,
    length: u64,
    /// Once complete: the asset, and whether the owner already had it.
    asset: Option<(i64, bool)>,
}

fn dir(state: &AppState, owner: i64) -> PathBuf {
    state.data_dir.join("uploads").join(owner.to_string())
}

fn tus(response: &mut Response) {
    response.headers_mut().insert("Tus-Resumable", HeaderValue::from_static(TUS_VERSION));
}

fn with_tus(mut r: Response) -> Response {
    tus(&mut r);
    r
}

fn error(e: ApiError) -> Response {
    with_tus(e.into_response())
}

/// The refusal (412) for a client speaking another tus version, told before anything else.
fn wrong_version(headers: &HeaderMap) -> Option<Response> {
    match headers.get("Tus-Resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) | None => None,
        Some(_) => {
            let mut r = (StatusCode::PRECONDITION_FAILED, "this server speaks tus 1.0.0").into_response();
            r.headers_mut().insert("Tus-Version", HeaderValue::from_static(TUS_VERSION));
            Some(with_tus(r))
        }
    }
}

fn u64_header(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The `filename` of tus's `Upload-Metadata` (`key base64,key base64`).
fn filename(headers: &HeaderMap) -> Option<String> {
    let meta = headers.get("Upload-Metadata")?.to_str().ok()?;
    meta.split(',').find_map(|pair| {
        let mut it = pair.trim().splitn(2, ' ');
        let (key, value) = (it.next()?, it.next()?);
        if key != "filename" {
            return None;
        }
        String::from_utf8(base64_decode(value.trim())?).ok()
    })
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    if bytes.len() > 2000 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let produced = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + produced]);
    }
    Some(out)
}

fn upload_id(id: &str) -> Result<&str, ApiError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) { Ok(id) } else { Err(ApiError::not_found("no such upload")) }
}

async fn read_meta(path: &std::path::Path) -> Result<Meta, ApiError> {
    let text = tokio::fs::read(path).await.map_err(|_| ApiError::not_found("no such upload (finished and removed, or never made)"))?;
    serde_json::from_slice(&text).map_err(|_| ApiError::internal("an upload's state file is damaged"))
}

/// `OPTIONS /api/v1/uploads`: what this server speaks.
pub async fn options() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert("Tus-Version", HeaderValue::from_static(TUS_VERSION));
    h.insert("Tus-Extension", HeaderValue::from_static("creation,termination"));
    if let Ok(v) = HeaderValue::from_str(&MAX_UPLOAD_BYTES.to_string()) {
        h.insert("Tus-Max-Size", v);
    }
    with_tus(r)
}

/// `POST /api/v1/uploads`: make an upload.
pub async fn create(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, headers: HeaderMap) -> Response {
    if let Some(r) = wrong_version(&headers) {
        return r;
    }
    let result: Result<Response, ApiError> = async {
        let owner = caller.require_user()?.id;
        let length = u64_header(&headers, "Upload-Length").ok_or_else(|| ApiError::invalid("Upload-Length is needed (the file's size)"))?;
        if length > MAX_UPLOAD_BYTES as u64 {
            return Err(ApiError::new(hearth_core::ErrorKind::TooLarge, "the file is larger than uploads may be (4 GiB)"));
        }
        let name = filename(&headers).unwrap_or_else(|| "upload".into());
        check_name(&name)?;
        let mut raw = [0u8; 16];
        crate::auth::secret::fill_random(&mut raw)?;
        let id = crate::auth::secret::hex(&raw);
        let d = dir(&state, owner);
        let io = |e: std::io::Error| ApiError::new(hearth_core::ErrorKind::of_io(&e), format!("cannot start the upload: {e}"));
        tokio::fs::create_dir_all(&d).await.map_err(io)?;
        tokio::fs::OpenOptions::new().write(true).create_new(true).open(d.join(format!("{id}.part"))).await.map_err(io)?;
        let meta = serde_json::to_vec(&Meta { name, length, asset: None }).map_err(ApiError::internal)?;
        write_meta(d.join(format!("{id}.json")), meta).await.map_err(io)?;
        let mut r = StatusCode::CREATED.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/uploads/{id}")) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        Ok(r)
    }
    .await;
    with_tus(result.unwrap_or_else(|e| e.into_response()))
}

/// `HEAD /api/v1/uploads/{id}`: how much has arrived.
pub async fn head(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Path(id): Path<String>) -> Response {
    let result: Result<Response, ApiError> = async {
        let owner = caller.require_user()?.id;
        let id = upload_id(&id)?;
        let d = dir(&state, owner);
        let meta = read_meta(&d.join(format!("{id}.json"))).await?;
        let offset = match meta.asset {
            Some(_) => meta.length,
            None => tokio::fs::metadata(d.join(format!("{id}.part"))).await.map(|m| m.len()).unwrap_or(0),
        };
        let mut r = StatusCode::OK.into_response();
        let h = r.headers_mut();
        h.insert("Upload-Offset", HeaderValue::from(offset));
        h.insert("Upload-Length", HeaderValue::from(meta.length));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some((asset, _)) = meta.asset {
            h.insert("Hearth-Asset-Id", HeaderValue::from(asset));
        }
        Ok(r)
    }
    .await;
    // HEAD answers carry no body: an error is its status alone.
    match result {
        Ok(r) => with_tus(r),
        Err(e) => with_tus(ApiError::status(e.kind).into_response()),
    }
}

/// An upload's state file, whole or not at all after a crash.
async fn write_meta(path: std::path::PathBuf, bytes: Vec<u8>) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || hearth_platform::durable::write_atomic(&path, &bytes, 0o600))
        .await
        .map_err(std::io::Error::other)?
}

fn busy() -> &'static Mutex<HashSet<String>> {
    static BUSY: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    BUSY.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Marks an upload as being written until dropped.
struct Writing(String);

impl Writing {
    fn take(id: &str) -> Option<Writing> {
        let mut set = busy().lock().unwrap_or_else(|p| p.into_inner());
        set.insert(id.to_string()).then(|| Writing(id.to_string()))
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        busy().lock().unwrap_or_else(|p| p.into_inner()).remove(&self.0);
    }
}

/// `PATCH /api/v1/uploads/{id}`: append from `Upload-Offset`; the last byte finishes the upload.
pub async fn patch(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    if let Some(r) = wrong_version(request.headers()) {
        return r;
    }
    match append(&state, &caller, &id, request).await {
        Ok(r) => with_tus(r),
        Err(e) => error(e),
    }
}

async fn append(state: &AppState, caller: &Caller, id: &str, request: Request) -> Result<Response, ApiError> {
    let owner = caller.require_user()?.id;
    let id = upload_id(id)?;
    let headers = request.headers();
    if headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) != Some("application/offset+octet-stream") {
        return Err(ApiError::new(hearth_core::ErrorKind::InvalidInput, "Content-Type must be application/offset+octet-stream")
            .with_guidance("this is a tus upload: see docs/api.md"));
    }
    let offset = u64_header(headers, "Upload-Offset").ok_or_else(|| ApiError::invalid("Upload-Offset is needed"))?;
    let _writing = Writing::take(id)
        .ok_or_else(|| ApiError::new(hearth_core::ErrorKind::Conflict, "this upload is being written by another request"))?;
    let d = dir(state, owner);
    let (meta_path, part) = (d.join(format!("{id}.json")), d.join(format!("{id}.part")));
    let meta = read_meta(&meta_path).await?;
    if meta.asset.is_some() {
        return Err(ApiError::new(hearth_core::ErrorKind::Conflict, "this upload is complete"));
    }
    let io = |e: std::io::Error| ApiError::new(hearth_core::ErrorKind::of_io(&e), format!("the upload could not be stored: {e}"));
    let have = tokio::fs::metadata(&part).await.map_err(io)?.len();
    if offset != have {
        let mut r = ApiError::new(hearth_core::ErrorKind::Conflict, format!("Upload-Offset is {offset}, but {have} bytes have arrived"))
            .into_response();
        r.headers_mut().insert("Upload-Offset", HeaderValue::from(have));
        return Ok(r);
    }
    let mut file = tokio::fs::OpenOptions::new().append(true).open(&part).await.map_err(io)?;
    let mut body: Body = request.into_body();
    let mut total = have;
    // Bytes that arrive are kept even when the connection breaks: that is the point.
    let mut cut: Option<ApiError> = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                cut = Some(ApiError::invalid(format!("the upload was cut off: {e}")));
                break;
            }
        };
        if let Some(data) = frame.data_ref() {
            if total + data.len() as u64 > meta.length {
                cut = Some(ApiError::new(hearth_core::ErrorKind::TooLarge, "more bytes than Upload-Length said"));
                break;
            }
            file.write_all(data).await.map_err(io)?;
            total += data.len() as u64;
        }
    }
    file.sync_all().await.map_err(io)?;
    drop(file);
    if let Some(e) = cut {
        return Err(e);
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    if total == meta.length {
        let (status, uploaded) = match place_and_ingest(state, owner, &meta.name, &part).await {
            Ok(done) => done,
            Err(e) => {
                // Not a photo or video (or no room): the upload is over either way.
                let _ = tokio::fs::remove_file(&part).await;
                let _ = tokio::fs::remove_file(&meta_path).await;
                return Err(e);
            }
        };
        let done = Meta { asset: Some((uploaded.id, status == StatusCode::OK)), ..meta };
        // The finished state stays until maintenance tidies it: a client that missed this answer
        // asks HEAD and learns the asset.
        write_meta(meta_path, serde_json::to_vec(&done).map_err(ApiError::internal)?).await.map_err(io)?;
        r.headers_mut().insert("Hearth-Asset-Id", HeaderValue::from(uploaded.id));
        if status == StatusCode::OK {
            r.headers_mut().insert("Hearth-Duplicate", HeaderValue::from_static("true"));
        }
    }
    r.headers_mut().insert("Upload-Offset", HeaderValue::from(total));
    Ok(r)
}

/// `DELETE /api/v1/uploads/{id}`: give up; what arrived is removed.
pub async fn delete(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, Path(id): Path<String>) -> Response {
    let result: Result<Response, ApiError> = async {
        let owner = caller.require_user()?.id;
        let id = upload_id(&id)?;
        let _writing = Writing::take(id).ok_or_else(|| ApiError::new(hearth_core::ErrorKind::Conflict, "this upload is being written"))?;
        let d = dir(&state, owner);
        read_meta(&d.join(format!("{id}.json"))).await?;
        let _ = tokio::fs::remove_file(d.join(format!("{id}.part"))).await;
        let _ = tokio::fs::remove_file(d.join(format!("{id}.json"))).await;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    with_tus(result.unwrap_or_else(|e| e.into_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tus_metadata_filenames() {
        let mut h = HeaderMap::new();
        h.insert("Upload-Metadata", HeaderValue::from_static("filetype dmlkZW8vbXA0,filename SU1HXzAwMDEuTU9W"));
        assert_eq!(filename(&h).as_deref(), Some("IMG_0001.MOV"));
        h.insert("Upload-Metadata", HeaderValue::from_static("filename !!!"));
        assert_eq!(filename(&h), None);
        assert_eq!(base64_decode("YQ"), Some(b"a".to_vec()));
        assert_eq!(base64_decode("YWI="), Some(b"ab".to_vec()));
        assert_eq!(base64_decode("Y"), None);
    }
}
