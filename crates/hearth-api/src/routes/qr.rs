//! `POST /api/v1/qr`: a QR code of the caller's text, for the web app's pairing pages.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::JsonBody;
use crate::ApiError;

/// The body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrText {
    /// What the code says.
    pub text: String,
}

/// `POST /api/v1/qr` `{text}` → `image/svg+xml`.
pub async fn make(JsonBody(body): JsonBody<QrText>) -> Result<Response, ApiError> {
    let svg = crate::qr::svg(&body.text).map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-store")], svg).into_response())
}
