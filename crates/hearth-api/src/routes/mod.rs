//! The route table. Every route is listed once with its access level; [`router`] builds the
//! axum router from this table only, wrapping each route in the layer that enforces its access.
//! Handlers of protected routes receive the [`crate::auth::Caller`] as an extension.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::Method;
use axum::routing::{MethodRouter, any, delete, get, head, options, patch, post, put};
use serde::de::DeserializeOwned;

use crate::auth::{Access, caller};
use crate::{ApiError, AppState};

pub mod account;
pub mod admin;
pub mod albums;
pub mod backups;
pub mod box_settings;
pub mod calendars;
pub mod dav;
pub mod discover;
pub mod disks;
pub mod events;
pub mod family_folders;
pub mod file_shares;
pub mod files;
pub mod health;
pub mod jobs;
pub mod nextcloud;
pub mod ocs_shares;
pub mod people;
pub mod photos;
pub mod pim;
pub mod qr;
pub mod restic;
pub mod setup;
pub mod shares;
pub mod sync;
pub mod tags;
pub mod updates;
pub mod uploads;
pub mod web;

/// One route.
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path, with `{param}` placeholders.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

fn r(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route { method, path, access, handler }
}

/// The method standing for all of WebDAV's in the table.
fn webdav() -> Method {
    Method::from_bytes(b"PROPFIND").unwrap_or(Method::GET)
}

/// Every route Hearth serves. docs/api.md describes each.
pub fn table() -> Vec<Route> {
    use Access::*;
    vec![
        r(Method::GET, "/", Public, get(web::index)),
        r(Method::GET, "/app/{*file}", Public, get(web::asset)),
        r(Method::GET, "/api/health", Public, get(health::health)),
        r(Method::GET, "/api/v1/setup", Public, get(setup::state)),
        r(Method::POST, "/api/v1/setup/claim", Public, post(setup::claim)),
        r(Method::POST, "/api/v1/setup/recover", Public, post(setup::recover)),
        r(Method::GET, "/api/v1/setup/recover", Public, get(setup::recovery)),
        r(Method::POST, "/api/v1/setup/certificate", Public, post(setup::certificate)),
        r(Method::POST, "/api/v1/auth/login", Public, post(account::login)),
        r(Method::POST, "/api/v1/auth/logout", User, post(account::logout)),
        r(Method::GET, "/api/v1/me", User, get(account::me)),
        r(Method::POST, "/api/v1/me/password", User, post(account::change_password)),
        r(Method::GET, "/api/v1/me/tokens", User, get(account::list_tokens)),
        r(Method::POST, "/api/v1/me/tokens", User, post(account::create_token)),
        r(Method::DELETE, "/api/v1/me/tokens/{id}", User, delete(account::revoke_token)),
        r(Method::GET, "/api/v1/status", User, get(health::status)),
        r(Method::GET, "/api/v1/box", User, get(box_settings::get)),
        r(Method::PATCH, "/api/v1/box", Admin, patch(box_settings::change)),
        r(Method::POST, "/api/v1/qr", User, post(qr::make)),
        r(Method::GET, "/api/v1/sync/id", User, get(health::sync_id)),
        r(Method::GET, "/api/v1/sync/devices", User, get(sync::list)),
        r(Method::GET, "/api/v1/sync/folders", User, get(sync::folders)),
        r(Method::POST, "/api/v1/sync/devices", Admin, post(sync::add)),
        r(Method::DELETE, "/api/v1/sync/devices/{id}", Admin, delete(sync::remove)),
        r(Method::POST, "/api/v1/sync/folders", Admin, post(sync::add_folder)),
        r(Method::DELETE, "/api/v1/sync/folders/{id}", Admin, delete(sync::remove_folder)),
        r(Method::POST, "/api/v1/sync/folders/{id}/devices", Admin, post(sync::share_folder)),
        r(Method::POST, "/api/v1/sync/folders/{id}/scan", User, post(sync::scan_folder)),
        r(Method::GET, "/api/v1/sync/folders/{id}/versions", User, get(sync::versions)),
        r(Method::POST, "/api/v1/sync/folders/{id}/versions/restore", Admin, post(sync::restore_version)),
        r(Method::GET, "/api/v1/sync/connections", User, get(sync::connections)),
        r(Method::POST, "/api/v1/assets", User, post(photos::upload)),
        r(Method::OPTIONS, "/api/v1/uploads", Public, options(uploads::options)),
        r(Method::POST, "/api/v1/uploads", User, post(uploads::create)),
        r(Method::HEAD, "/api/v1/uploads/{id}", User, head(uploads::head)),
        r(Method::PATCH, "/api/v1/uploads/{id}", User, patch(uploads::patch)),
        r(Method::DELETE, "/api/v1/uploads/{id}", User, delete(uploads::delete)),
        r(Method::GET, "/api/v1/assets/{id}/thumbnail", User, get(photos::thumbnail)),
        r(Method::GET, "/api/v1/assets/{id}/original", User, get(photos::original)),
        r(Method::GET, "/api/v1/assets/{id}", User, get(photos::details)),
        r(Method::POST, "/api/v1/assets/check", User, post(photos::check)),
        r(Method::PATCH, "/api/v1/assets/{id}", User, patch(photos::change)),
        r(Method::POST, "/api/v1/assets/{id}/trash", User, post(photos::trash)),
        r(Method::POST, "/api/v1/assets/{id}/restore", User, post(photos::restore)),
        r(Method::GET, "/api/v1/trash", User, get(photos::trash_list)),
        r(Method::GET, "/api/v1/timeline/months", User, get(photos::months)),
        r(Method::GET, "/api/v1/timeline/months/{month}", User, get(photos::month_page)),
        r(Method::GET, "/api/v1/map/markers", User, get(photos::markers)),
        r(Method::PUT, "/api/v1/photos/camera-folders/{id}", Admin, put(photos::set_camera_folder)),
        r(Method::GET, "/api/v1/photos/libraries", Admin, get(photos::libraries)),
        r(Method::POST, "/api/v1/photos/libraries", Admin, post(photos::add_library)),
        r(Method::DELETE, "/api/v1/photos/libraries/{id}", Admin, delete(photos::remove_library)),
        r(Method::POST, "/api/v1/photos/scan", User, post(photos::scan)),
        r(Method::DELETE, "/api/v1/photos/camera-folders/{id}", Admin, delete(photos::unset_camera_folder)),
        r(Method::GET, "/api/v1/search", User, get(discover::search)),
        r(Method::GET, "/api/v1/search/suggestions", User, get(discover::suggest)),
        r(Method::GET, "/api/v1/search/meaning", User, get(discover::by_meaning)),
        r(Method::GET, "/api/v1/search/capabilities", User, get(discover::capabilities)),
        r(Method::GET, "/api/v1/memories", User, get(discover::memories)),
        r(Method::GET, "/api/v1/duplicates", User, get(discover::duplicates)),
        r(Method::POST, "/api/v1/duplicates/resolve", User, post(discover::resolve)),
        r(Method::GET, "/api/v1/albums", User, get(albums::list)),
        r(Method::POST, "/api/v1/albums", User, post(albums::create)),
        r(Method::GET, "/api/v1/albums/{id}", User, get(albums::get)),
        r(Method::PATCH, "/api/v1/albums/{id}", User, patch(albums::change)),
        r(Method::DELETE, "/api/v1/albums/{id}", User, delete(albums::delete)),
        r(Method::GET, "/api/v1/albums/{id}/assets", User, get(albums::assets)),
        r(Method::PUT, "/api/v1/albums/{id}/assets", User, put(albums::add_assets)),
        r(Method::DELETE, "/api/v1/albums/{id}/assets", User, delete(albums::remove_assets)),
        r(Method::PUT, "/api/v1/albums/{id}/members/{user}", User, put(albums::set_member)),
        r(Method::DELETE, "/api/v1/albums/{id}/members/{user}", User, delete(albums::remove_member)),
        r(Method::GET, "/api/v1/people", User, get(people::list)),
        r(Method::GET, "/api/v1/people/{id}", User, get(people::get)),
        r(Method::PATCH, "/api/v1/people/{id}", User, patch(people::change)),
        r(Method::POST, "/api/v1/people/{id}/merge", User, post(people::merge)),
        r(Method::POST, "/api/v1/people/{id}/split", User, post(people::split)),
        r(Method::GET, "/api/v1/people/{id}/assets", User, get(people::assets)),
        r(Method::GET, "/api/v1/people/{id}/faces", User, get(people::faces)),
        r(Method::GET, "/api/v1/assets/{id}/faces", User, get(people::of_asset)),
        r(Method::GET, "/api/v1/assets/{id}/tags", User, get(tags::of_asset)),
        r(Method::PUT, "/api/v1/faces/{id}/person", User, put(people::set_face_person)),
        r(Method::GET, "/api/v1/partners", User, get(albums::partners)),
        r(Method::PUT, "/api/v1/partners/{user}", User, put(albums::add_partner)),
        r(Method::DELETE, "/api/v1/partners/{user}", User, delete(albums::remove_partner)),
        r(Method::POST, "/api/v1/shares", User, post(shares::create)),
        r(Method::GET, "/api/v1/shares", User, get(shares::list)),
        r(Method::PATCH, "/api/v1/shares/{id}", User, patch(shares::change)),
        r(Method::DELETE, "/api/v1/shares/{id}", User, delete(shares::delete)),
        r(Method::GET, "/api/v1/shared/{token}", Public, get(shares::view)),
        r(Method::POST, "/api/v1/shared/{token}/unlock", Public, post(shares::unlock)),
        r(Method::GET, "/api/v1/shared/{token}/assets", Public, get(shares::assets)),
        r(Method::POST, "/api/v1/shared/{token}/assets", Public, post(shares::upload)),
        r(Method::GET, "/api/v1/shared/{token}/assets/{id}/thumbnail", Public, get(shares::thumbnail)),
        r(Method::GET, "/api/v1/shared/{token}/assets/{id}/original", Public, get(shares::original)),
        r(Method::GET, "/api/v1/family-folders", Admin, get(family_folders::list)),
        r(Method::POST, "/api/v1/family-folders", Admin, post(family_folders::create)),
        r(Method::DELETE, "/api/v1/family-folders/{id}", Admin, delete(family_folders::delete)),
        r(Method::PUT, "/api/v1/family-folders/{id}/members/{user}", Admin, put(family_folders::set_member)),
        r(Method::DELETE, "/api/v1/family-folders/{id}/members/{user}", Admin, delete(family_folders::remove_member)),
        r(Method::GET, "/api/v1/shared/{token}/files", Public, get(file_shares::list)),
        r(Method::POST, "/api/v1/shared/{token}/files", Public, post(file_shares::drop_file)),
        r(Method::GET, "/api/v1/shared/{token}/download", Public, get(file_shares::download)),
        r(Method::GET, "/api/v1/shared/{token}/archive", Public, get(file_shares::archive)),
        r(Method::GET, "/s/{token}", Public, get(file_shares::page)),
        r(Method::GET, "/s/{token}/download", Public, get(file_shares::direct_download)),
        r(Method::GET, "/api/v1/jobs", User, get(jobs::progress)),
        r(Method::GET, "/api/v1/events", User, get(events::stream)),
        r(Method::POST, "/api/v1/jobs/{kind}/retry", Admin, post(jobs::retry)),
        r(Method::GET, "/api/v1/users", Admin, get(admin::list_users)),
        r(Method::POST, "/api/v1/users", Admin, post(admin::create_user)),
        r(Method::PATCH, "/api/v1/users/{name}", Admin, patch(admin::update_user)),
        r(Method::DELETE, "/api/v1/users/{name}", Admin, delete(admin::delete_user)),
        r(Method::POST, "/api/v1/users/{name}/password", Admin, post(admin::reset_password)),
        r(Method::GET, "/api/v1/audit", Admin, get(admin::audit)),
        r(Method::GET, "/api/v1/disks", Admin, get(disks::list)),
        r(Method::POST, "/api/v1/disks/{serial}/use-for-data", Admin, post(disks::use_for_data)),
        r(Method::POST, "/api/v1/disks/{serial}/mirror", Admin, post(disks::mirror)),
        r(Method::POST, "/api/v1/disks/{serial}/eject", Admin, post(disks::eject)),
        r(Method::POST, "/api/v1/disks/pool/scrub", Admin, post(disks::scrub)),
        r(Method::POST, "/api/v1/disks/card-copy/free", Admin, post(disks::free_card_copy)),
        r(Method::POST, "/api/v1/system/poweroff", Admin, post(admin::power_off)),
        r(Method::POST, "/api/v1/system/reboot", Admin, post(admin::reboot)),
        r(Method::GET, "/api/v1/updates", Admin, get(updates::status)),
        r(Method::PUT, "/api/v1/updates/channel", Admin, put(updates::set_channel)),
        r(Method::POST, "/api/v1/updates/check", Admin, post(updates::check)),
        r(Method::POST, "/api/v1/updates/install", Admin, post(updates::install)),
        r(Method::POST, "/api/v1/updates/upload", Admin, post(updates::upload)),
        r(Method::POST, "/api/v1/updates/cancel", Admin, post(updates::cancel)),
        r(Method::POST, "/api/v1/updates/go-back", Admin, post(updates::go_back)),
        r(Method::GET, "/api/v1/backups/hosted", User, get(restic::hosted)),
        r(Method::GET, "/api/v1/backups", Admin, get(backups::overview)),
        r(Method::POST, "/api/v1/backups/password", Admin, post(backups::set_up_password)),
        r(Method::POST, "/api/v1/backups/certificate", Admin, post(backups::certificate)),
        r(Method::POST, "/api/v1/backups/targets/test", Admin, post(backups::test_target)),
        r(Method::POST, "/api/v1/backups/targets", Admin, post(backups::add_target)),
        r(Method::DELETE, "/api/v1/backups/targets/{id}", Admin, delete(backups::remove_target)),
        r(Method::POST, "/api/v1/backups/targets/{id}/drill", Admin, post(backups::drill)),
        r(Method::POST, "/api/v1/backups/targets/{id}/check", Admin, post(backups::check)),
        r(Method::GET, "/api/v1/backups/targets/{id}/snapshots", Admin, get(backups::snapshots)),
        r(Method::GET, "/api/v1/backups/targets/{id}/snapshots/{snapshot}/entries", Admin, get(backups::entries)),
        r(Method::POST, "/api/v1/backups/targets/{id}/restore", Admin, post(backups::restore)),
        r(Method::POST, "/api/v1/backups/jobs", Admin, post(backups::add_job)),
        r(Method::PATCH, "/api/v1/backups/jobs/{id}", Admin, patch(backups::change_job)),
        r(Method::DELETE, "/api/v1/backups/jobs/{id}", Admin, delete(backups::remove_job)),
        r(Method::POST, "/api/v1/backups/jobs/{id}/run", Admin, post(backups::run_job)),
        r(Method::GET, "/api/v1/backups/runs", Admin, get(backups::runs)),
        r(Method::GET, "/api/v1/backups/runs/{id}", Admin, get(backups::run)),
        // restic's REST protocol: a repository per user and name (docs/api.md, "Backups of other machines").
        r(Method::GET, "/restic/{user}/{*path}", User, get(restic::serve)),
        r(Method::HEAD, "/restic/{user}/{*path}", User, head(restic::serve)),
        r(Method::POST, "/restic/{user}/{*path}", User, post(restic::serve)),
        r(Method::DELETE, "/restic/{user}/{*path}", User, delete(restic::serve)),
        // The family's files over WebDAV (docs/files.md): every method on each path; PROPFIND
        // stands for them in this table.
        r(webdav(), "/dav/files/{*path}", User, any(dav::serve)),
        r(webdav(), "/remote.php/dav/files/{*path}", User, any(dav::serve)),
        r(webdav(), "/remote.php/dav/uploads/{*path}", User, any(dav::serve)),
        r(webdav(), "/remote.php/dav/trashbin/{*path}", User, any(dav::serve_history)),
        r(webdav(), "/remote.php/dav/versions/{*path}", User, any(dav::serve_history)),
        r(webdav(), "/remote.php/webdav", User, any(dav::serve)),
        // The Calendars & contacts page's view of the same (docs/calendars.md).
        r(Method::GET, "/api/v1/calendars", User, get(calendars::list)),
        r(Method::POST, "/api/v1/calendars", User, post(calendars::create)),
        r(Method::PATCH, "/api/v1/calendars/{kind}/{name}", User, patch(calendars::change)),
        r(Method::DELETE, "/api/v1/calendars/{kind}/{name}", User, delete(calendars::remove)),
        r(Method::PUT, "/api/v1/calendars/{kind}/{name}/members/{user}", User, put(calendars::share)),
        r(Method::DELETE, "/api/v1/calendars/{kind}/{name}/members/{user}", User, delete(calendars::unshare)),
        // Calendars and contacts (docs/calendars.md): CalDAV and CardDAV, every method.
        r(webdav(), "/.well-known/caldav", Public, any(pim::well_known)),
        r(webdav(), "/.well-known/carddav", Public, any(pim::well_known)),
        r(webdav(), "/dav", User, any(pim::serve)),
        r(webdav(), "/dav/", User, any(pim::serve)),
        r(webdav(), "/dav/principals/{*path}", User, any(pim::serve)),
        r(webdav(), "/dav/calendars/{*path}", User, any(pim::serve)),
        r(webdav(), "/dav/addressbooks/{*path}", User, any(pim::serve)),
        r(webdav(), "/remote.php/dav/principals/{*path}", User, any(pim::serve)),
        r(webdav(), "/remote.php/dav/calendars/{*path}", User, any(pim::serve)),
        r(webdav(), "/remote.php/dav/addressbooks/{*path}", User, any(pim::serve)),
        // The history of the caller's files (docs/files.md, "Versions and trash").
        r(Method::GET, "/api/v1/files/archive", User, get(files::archive)),
        r(Method::GET, "/api/v1/files/versions", User, get(files::versions)),
        r(Method::POST, "/api/v1/files/versions/restore", User, post(files::restore_version)),
        r(Method::GET, "/api/v1/files/trash", User, get(files::trash)),
        r(Method::DELETE, "/api/v1/files/trash", User, delete(files::empty_trash)),
        r(Method::POST, "/api/v1/files/trash/{id}/restore", User, post(files::restore_trashed)),
        r(Method::DELETE, "/api/v1/files/trash/{id}", User, delete(files::purge_trashed)),
        // What the Nextcloud apps ask besides WebDAV (docs/files.md, "Nextcloud apps").
        r(Method::GET, "/status.php", Public, get(nextcloud::status)),
        r(webdav(), "/remote.php/dav", User, any(nextcloud::dav_root)),
        r(webdav(), "/remote.php/dav/", User, any(nextcloud::dav_root)),
        r(Method::GET, "/ocs/v1.php/cloud/capabilities", Public, get(nextcloud::capabilities)),
        r(Method::GET, "/ocs/v2.php/cloud/capabilities", Public, get(nextcloud::capabilities)),
        r(Method::GET, "/ocs/v1.php/cloud/user", User, get(nextcloud::user)),
        r(Method::GET, "/ocs/v2.php/cloud/user", User, get(nextcloud::user)),
        r(Method::GET, "/ocs/v1.php/cloud/users/{name}", User, get(nextcloud::user)),
        r(Method::GET, "/ocs/v2.php/cloud/users/{name}", User, get(nextcloud::user)),
        // Nextcloud's share API: the apps' Share screen (docs/files.md, "Nextcloud apps").
        r(Method::GET, "/ocs/v1.php/apps/files_sharing/api/v1/shares", User, get(ocs_shares::list)),
        r(Method::GET, "/ocs/v2.php/apps/files_sharing/api/v1/shares", User, get(ocs_shares::list)),
        r(Method::POST, "/ocs/v1.php/apps/files_sharing/api/v1/shares", User, post(ocs_shares::create)),
        r(Method::POST, "/ocs/v2.php/apps/files_sharing/api/v1/shares", User, post(ocs_shares::create)),
        r(Method::GET, "/ocs/v1.php/apps/files_sharing/api/v1/shares/{id}", User, get(ocs_shares::get)),
        r(Method::GET, "/ocs/v2.php/apps/files_sharing/api/v1/shares/{id}", User, get(ocs_shares::get)),
        r(Method::PUT, "/ocs/v1.php/apps/files_sharing/api/v1/shares/{id}", User, put(ocs_shares::update)),
        r(Method::PUT, "/ocs/v2.php/apps/files_sharing/api/v1/shares/{id}", User, put(ocs_shares::update)),
        r(Method::DELETE, "/ocs/v1.php/apps/files_sharing/api/v1/shares/{id}", User, delete(ocs_shares::delete)),
        r(Method::DELETE, "/ocs/v2.php/apps/files_sharing/api/v1/shares/{id}", User, delete(ocs_shares::delete)),
        r(Method::GET, "/ocs/v1.php/apps/files_sharing/api/v1/sharees", User, get(ocs_shares::sharees)),
        r(Method::GET, "/ocs/v2.php/apps/files_sharing/api/v1/sharees", User, get(ocs_shares::sharees)),
        r(Method::POST, "/index.php/core/wipe/check", Public, post(nextcloud::wipe_check)),
        r(Method::GET, "/index.php/core/preview", User, get(nextcloud::preview)),
        r(Method::POST, "/index.php/login/v2", Public, post(nextcloud::start_login)),
        r(Method::GET, "/index.php/login/v2/flow/{token}", Public, get(nextcloud::login_page)),
        r(Method::POST, "/index.php/login/v2/poll", Public, post(nextcloud::poll_login)),
        r(Method::GET, "/api/v1/login-flows/{token}", User, get(nextcloud::login_flow)),
        r(Method::POST, "/api/v1/login-flows/{token}/grant", User, post(nextcloud::grant_login)),
        r(webdav(), "/remote.php/webdav/", User, any(dav::serve)),
        r(webdav(), "/remote.php/webdav/{*path}", User, any(dav::serve)),
    ]
}

/// The router for `state`, built from [`table`].
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in table() {
        let access = route.access;
        let enforce = axum::middleware::from_fn_with_state(
            state.clone(),
            move |st: axum::extract::State<AppState>, req: Request, next: axum::middleware::Next| caller::enforce(st, access, req, next),
        );
        // WebDAV's routes take every method (`any`, a fallback to axum), which only `layer`
        // wraps; the others keep `route_layer`, so an unknown method is a 405, not a 401.
        // Files are refused before they start when the disk is full; applied first, so it runs
        // after `enforce` (the outer layer) and tells only callers who may write.
        let handler = if crate::full_disk::STORING_ROUTES.contains(&route.path) {
            let full = axum::middleware::from_fn_with_state(state.clone(), crate::full_disk::refuse_when_full);
            if route.method == webdav() { route.handler.layer(full) } else { route.handler.route_layer(full) }
        } else {
            route.handler
        };
        let layered = if route.method == webdav() { handler.layer(enforce) } else { handler.route_layer(enforce) };
        router = router.route(route.path, layered);
    }
    let limit = state.config.http.max_body_bytes;
    router.fallback(|| async { ApiError::not_found("no such page or API route") }).layer(DefaultBodyLimit::max(limit)).with_state(state)
}

/// A JSON request body whose rejections are JSON errors with a message that says what is wrong.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => {
                use axum::extract::rejection::JsonRejection;
                let status = rejection.status();
                Err(match rejection {
                    _ if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                        hearth_core::ErrorKind::TooLarge,
                        "the request body is larger than this endpoint accepts (http.max_body_bytes)",
                    ),
                    JsonRejection::MissingJsonContentType(_) => {
                        ApiError::invalid("send the body as JSON with `Content-Type: application/json`")
                    }
                    JsonRejection::JsonDataError(e) => ApiError::invalid(format!("the JSON does not fit this request: {}", e.body_text())),
                    JsonRejection::JsonSyntaxError(e) => ApiError::invalid(format!("the body is not valid JSON: {}", e.body_text())),
                    other => ApiError::invalid(other.body_text()),
                })
            }
        }
    }
}

/// A user name: 1 to 32 of letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn check_user_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{name:?} is not a valid user name: use 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// A display name: 1 to 64 characters of printable text.
pub fn check_display_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("a display name is 1 to 64 characters of printable text"));
    }
    Ok(())
}
