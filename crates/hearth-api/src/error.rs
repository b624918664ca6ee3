//! The API's error type: a status, a stable kind, a message for people and optional guidance.
//!
//! Body: `{"error": {"kind": "invalid_input", "message": "...", "guidance": "..."}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::{ErrorKind, Kinded};

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The stable kind.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
    /// What the user can do.
    pub guidance: Option<String>,
    /// Seconds to wait, for throttled requests.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), guidance: None, retry_after: None }
    }

    /// 400: the request is malformed.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// 401: log in first.
    pub fn unauthenticated() -> Self {
        Self::new(ErrorKind::Unauthenticated, "log in first (session cookie or `Authorization: Bearer` app password)")
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 500 for a failure we did not expect; the detail goes to the log, not the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorKind::Internal, "something went wrong inside Hearth; the log has the details")
    }

    /// Add guidance.
    pub fn with_guidance(mut self, g: impl Into<String>) -> Self {
        self.guidance = Some(g.into());
        self
    }

    /// The HTTP status of a kind.
    pub fn status(kind: ErrorKind) -> StatusCode {
        match kind {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden | ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            ErrorKind::Corrupt | ErrorKind::Incompatible | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<hearth_catalog::CatalogError> for ApiError {
    fn from(e: hearth_catalog::CatalogError) -> Self {
        let kind = e.kind();
        if kind == ErrorKind::Internal {
            return ApiError::internal(e);
        }
        ApiError { kind, message: e.to_string(), guidance: e.guidance(), retry_after: None }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(e)
    }
}

#[derive(serde::Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(serde::Serialize)]
struct Inner<'a> {
    kind: ErrorKind,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    guidance: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = Self::status(self.kind);
        let body = Body { error: Inner { kind: self.kind, message: &self.message, guidance: self.guidance.as_deref() } };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.kind == ErrorKind::Unauthenticated {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"hearth\""));
        }
        resp
    }
}
