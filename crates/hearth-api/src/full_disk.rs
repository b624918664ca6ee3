//! Writes refused before they start when the data disk is full (docs/disks.md, "Full disks"):
//! a layer on the routes that store files (uploads, WebDAV's file trees, share drops, restic's
//! hosted repositories). The size a request declares counts (`Content-Length`, tus's
//! `Upload-Length`, the Nextcloud apps' `OC-Total-Length` on each chunk), so a 2 GB video is
//! refused at once rather than after 1.9 GB; the refusal is `507 Insufficient Storage` with the
//! reason. Reads, deletions and moves are never refused.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// The routes the layer is on (method `*`: WebDAV's, which take every method).
pub const STORING_ROUTES: [&str; 11] = [
    "/api/v1/assets",
    "/api/v1/uploads",
    "/api/v1/uploads/{id}",
    "/api/v1/shared/{token}/assets",
    "/api/v1/shared/{token}/files",
    "/restic/{user}/{*path}",
    "/dav/files/{*path}",
    "/remote.php/dav/files/{*path}",
    "/remote.php/dav/uploads/{*path}",
    "/remote.php/webdav/{*path}",
    "/remote.php/webdav/",
];

/// Whether a request with this method adds data (on the routes above).
fn adds_data(method: &Method) -> bool {
    matches!(method.as_str(), "PUT" | "POST" | "PATCH" | "COPY")
}

/// The largest size the request says it brings (0: it does not say).
pub fn declared_size(headers: &HeaderMap) -> u64 {
    ["content-length", "upload-length", "oc-total-length"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok()?.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

/// The layer: a request that adds data starts only when the disk has room for it.
pub async fn refuse_when_full(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if adds_data(request.method()) {
        let incoming = declared_size(request.headers());
        let data = state.data_dir.clone();
        // statvfs can wait on a slow disk: not on the runtime's threads.
        let checked = tokio::task::spawn_blocking(move || hearth_platform::durable::admits(&data, incoming)).await;
        if let Ok(Err(e)) = checked
            && e.kind() == std::io::ErrorKind::StorageFull
        {
            return ApiError::new(hearth_core::ErrorKind::StorageFull, e.to_string()).into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declared_size_is_the_largest_said() {
        let mut h = HeaderMap::new();
        assert_eq!(declared_size(&h), 0);
        h.insert("content-length", "10485760".parse().expect("header"));
        h.insert("oc-total-length", "2147483648".parse().expect("header"));
        assert_eq!(declared_size(&h), 2 << 30);
        h.insert("upload-length", "nonsense".parse().expect("header"));
        assert_eq!(declared_size(&h), 2 << 30);
        assert!(adds_data(&Method::PUT) && adds_data(&Method::from_bytes(b"COPY").expect("copy")));
        assert!(!adds_data(&Method::DELETE) && !adds_data(&Method::from_bytes(b"MOVE").expect("move")) && !adds_data(&Method::GET));
    }

    #[test]
    fn every_storing_route_is_in_the_table() {
        let table = crate::routes::table();
        for path in STORING_ROUTES {
            assert!(table.iter().any(|r| r.path == path), "{path} is not a route");
        }
    }
}
