//! The web app: `web/` embedded in the binary by `build.rs`, each file named by its content and
//! gzipped at build time. The page is never cached (it names the current files); the files
//! are cached for good (a new build names new ones).

use std::io::Read as _;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::box_settings::TileUrl;

use crate::AppState;

/// One file of the app.
pub(crate) struct WebAsset {
    /// Its named path, `/app/main.1f2e3d4c.js`.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes, gzipped.
    pub gzip: &'static [u8],
    /// Its length before gzip.
    pub plain_len: usize,
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The page's policy: its own files only, and images from the map's tile server when the family
/// chose one.
fn content_security_policy(tiles: Option<&TileUrl>) -> HeaderValue {
    let Some(tiles) = tiles else { return HeaderValue::from_static(CSP) };
    let policy = CSP.replacen("img-src 'self'", &format!("img-src 'self' {}", tiles.origin()), 1);
    // A parsed template has no characters a header refuses; if one ever did, the map goes
    // without tiles rather than the page without a policy.
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static(CSP))
}

/// `GET /`
pub async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = body(&headers, INDEX_GZIP, INDEX_LEN, "text/html; charset=utf-8");
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, content_security_policy(state.box_settings.current().map_tiles.as_ref()));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// `GET /app/{*file}`
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("/app/{file}");
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        // A page of an older build asks for its own files after an update: reloading fixes it.
        return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "not part of this version of the app; reload the page")
            .into_response();
    };
    let mut response = body(&headers, asset.gzip, asset.plain_len, asset.content_type);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// The bytes gzipped when the client takes gzip (every browser does), else unpacked here.
fn body(headers: &HeaderMap, gzip: &'static [u8], plain_len: usize, content_type: &'static str) -> Response {
    let mut response = if accepts_gzip(headers) {
        let mut r = gzip.into_response();
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        let mut plain = Vec::with_capacity(plain_len);
        match flate2::read::GzDecoder::new(gzip).read_to_end(&mut plain) {
            Ok(_) => plain.into_response(),
            // Written by build.rs from these very bytes: unreadable only if the binary is damaged.
            Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "this file of the app is damaged; reinstall Hearth").into_response(),
        }
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0)));
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(accept).expect("header"));
        h
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        assert!(accepts_gzip(&with("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn every_file_is_named_by_content_and_unpacks_to_its_length() {
        assert!(ASSETS.iter().any(|a| a.path.starts_with("/app/main.") && a.path.ends_with(".js")));
        for a in ASSETS {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(a.gzip).read_to_end(&mut plain).expect("gunzip");
            assert_eq!(plain.len(), a.plain_len, "{}", a.path);
        }
        let mut index = String::new();
        flate2::read::GzDecoder::new(INDEX_GZIP).read_to_string(&mut index).expect("gunzip");
        assert!(index.contains("<script type=\"importmap\">"));
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".css")) {
            assert!(index.contains(a.path), "the page links {}", a.path);
        }
        assert!(!index.contains("\"/app/main.js\"") || index.contains("\"/app/main.js\":"), "the page's own paths are named");
    }
}
