//! Calendars and contacts over CalDAV and CardDAV (docs/calendars.md): every method on the
//! member's principal, calendar and address-book homes, at the box's own addresses and
//! Nextcloud's. Thin: `hearth_dav::pim` answers; this maps the caller in and the answer out.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::dav::http_answer;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// Any method on a calendar or address-book address, and PROPFIND or REPORT on the DAV root.
pub async fn serve(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>, request: Request) -> Response {
    answer(&state, &caller, request).await.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn answer(state: &AppState, caller: &Caller, request: Request) -> Result<Response, ApiError> {
    let me = caller.require_user()?;
    let member = hearth_dav::pim::Member { id: me.id, name: me.name.clone(), display_name: me.display_name.clone() };
    let (parts, body) = request.into_parts();
    let answer = hearth_dav::pim::handle(state.catalog.clone(), member, parts, body, state.now()).await;
    http_answer(answer, None).await
}

/// `/.well-known/caldav` and `/.well-known/carddav` (RFC 6764): 301 to the DAV root, where the
/// client, having logged in, asks for its principal.
pub async fn well_known() -> Response {
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/dav/"));
    r
}
