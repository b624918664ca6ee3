//! Albums and partner sharing over HTTP. An album's owner renames, shares and deletes it;
//! editors add and remove assets (any they can see); viewers look. Partners: a user lets another
//! see their whole timeline (`GET /api/v1/timeline/months?user=NAME`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hearth_catalog::albums::{self, Album, AlbumRole, Member};
use hearth_catalog::assets::Summary;
use hearth_catalog::sharing::{self, Partners};
use hearth_catalog::{CatalogError, users};
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::photos::{Page, PageQuery};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The signed-in user's id (also used by [`super::people`]).
pub(super) fn me(caller: &Caller) -> Result<i64, ApiError> {
    Ok(caller.require_user()?.id)
}

/// The caller's role in album `id`: 404 when they have none, 403 when it is below `needed`.
async fn role(state: &AppState, id: i64, user: i64, needed: AlbumRole) -> Result<AlbumRole, ApiError> {
    let role = state.read(move |r| albums::role_of(r, id, user)).await?.ok_or_else(|| ApiError::not_found("no such album"))?;
    if role < needed {
        let what = match needed {
            AlbumRole::Owner => "only the album's owner may do that",
            _ => "viewers may look at this album but not change it",
        };
        return Err(ApiError::forbidden(what));
    }
    Ok(role)
}

fn check_title(title: &str) -> Result<(), ApiError> {
    let n = title.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(ApiError::invalid("an album's title is 1 to 200 characters"));
    }
    Ok(())
}

/// `GET /api/v1/albums` body.
#[derive(Serialize)]
pub struct AlbumList {
    /// Owned and shared with the caller, most recently changed first.
    pub albums: Vec<Album>,
}

/// `GET /api/v1/albums`.
pub async fn list(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>) -> Result<Json<AlbumList>, ApiError> {
    let user = me(&caller)?;
    Ok(Json(AlbumList { albums: state.read(move |r| albums::list_for(r, user)).await? }))
}

/// `POST /api/v1/albums` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAlbum {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Assets to put in it (the caller must be able to see each).
    #[serde(default)]
    pub assets: Vec<i64>,
}

/// An album with its members.
#[derive(Serialize)]
pub struct AlbumView {
    /// The album.
    #[serde(flatten)]
    pub album: Album,
    /// Who it is shared with.
    pub members: Vec<Member>,
}

/// `POST /api/v1/albums` → 201 with the album.
pub async fn create(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    JsonBody(body): JsonBody<NewAlbum>,
) -> Result<(StatusCode, Json<AlbumView>), ApiError> {
    let user = me(&caller)?;
    check_title(&body.title)?;
    let now = state.now();
    let album = state
        .write(move |tx| {
            let id = albums::create(tx, user, body.title.trim(), body.description.as_deref(), now)?;
            let visible = only_visible(tx, user, &body.assets)?;
            albums::add_assets(tx, id, &visible, user, now)?;
            albums::get(tx, id, user)?.ok_or_else(|| CatalogError::NotFound("the new album".into()))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(AlbumView { album, members: Vec::new() })))
}

/// The assets of `ids` that `user` may see; an unknown or hidden one is an error, so a client
/// cannot learn which ids exist.
fn only_visible(conn: &rusqlite_conn::Connection, user: i64, ids: &[i64]) -> Result<Vec<i64>, CatalogError> {
    if ids.len() > 10_000 {
        return Err(CatalogError::Conflict("at most 10,000 assets at once".into()));
    }
    for &id in ids {
        if sharing::can_see(conn, user, id)?.is_none() {
            return Err(CatalogError::NotFound(format!("photo {id}")));
        }
    }
    Ok(ids.to_vec())
}

use crate::state::rusqlite_conn;

/// `GET /api/v1/albums/{id}`: the album and its members.
pub async fn get(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<AlbumView>, ApiError> {
    let user = me(&caller)?;
    let found = state
        .read(move |r| {
            let Some(album) = albums::get(r, id, user)? else { return Ok(None) };
            Ok(Some(AlbumView { album, members: albums::members(r, id)? }))
        })
        .await?;
    Ok(Json(found.ok_or_else(|| ApiError::not_found("no such album"))?))
}

/// `PATCH /api/v1/albums/{id}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbumChange {
    /// New title.
    pub title: Option<String>,
    /// New description (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    /// The asset shown for the album (one in it; `null` for the newest).
    #[serde(default, deserialize_with = "present")]
    pub cover_asset_id: Option<Option<i64>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value (also used by
/// [`super::people`]).
pub(super) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// `PATCH /api/v1/albums/{id}` (owner) → 204.
pub async fn change(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<AlbumChange>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    role(&state, id, user, AlbumRole::Owner).await?;
    if let Some(t) = &body.title {
        check_title(t)?;
    }
    let now = state.now();
    state
        .write(move |tx| {
            let description = body.description.as_ref().map(|d| d.as_deref());
            albums::update(tx, id, body.title.as_deref().map(str::trim), description, body.cover_asset_id, now)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/albums/{id}` (owner) → 204; the photos stay in their libraries.
pub async fn delete(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    role(&state, id, user, AlbumRole::Owner).await?;
    state.write(move |tx| albums::delete(tx, id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/albums/{id}/assets?after_taken_at=&after_id=&limit=`: newest first.
pub async fn assets(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page>, ApiError> {
    let user = me(&caller)?;
    role(&state, id, user, AlbumRole::Viewer).await?;
    let (cursor, limit) = super::photos::page_bounds(&q)?;
    let assets: Vec<Summary> = state.read(move |r| albums::assets_page(r, id, cursor, limit)).await?;
    Ok(Json(Page::of(assets, limit)))
}

/// `PUT`/`DELETE /api/v1/albums/{id}/assets` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetIds {
    /// Asset ids.
    pub ids: Vec<i64>,
}

/// How many changed.
#[derive(Serialize)]
pub struct Count {
    /// Assets newly added, or removed.
    pub changed: usize,
}

/// `PUT /api/v1/albums/{id}/assets` (owner, editors): add assets the caller can see.
pub async fn add_assets(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<AssetIds>,
) -> Result<Json<Count>, ApiError> {
    let user = me(&caller)?;
    role(&state, id, user, AlbumRole::Editor).await?;
    let now = state.now();
    let changed = state
        .write(move |tx| {
            let visible = only_visible(tx, user, &body.ids)?;
            albums::add_assets(tx, id, &visible, user, now)
        })
        .await?;
    Ok(Json(Count { changed }))
}

/// `DELETE /api/v1/albums/{id}/assets` (owner, editors): out of the album, not out of any library.
pub async fn remove_assets(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<AssetIds>,
) -> Result<Json<Count>, ApiError> {
    let user = me(&caller)?;
    role(&state, id, user, AlbumRole::Editor).await?;
    let now = state.now();
    let changed = state.write(move |tx| albums::remove_assets(tx, id, &body.ids, now)).await?;
    Ok(Json(Count { changed }))
}

/// `PUT /api/v1/albums/{id}/members/{user}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRole {
    /// `viewer` or `editor`.
    pub role: String,
}

async fn user_id(state: &AppState, name: String) -> Result<i64, ApiError> {
    state.read(move |r| users::by_name(r, &name)).await?.map(|u| u.id).ok_or_else(|| ApiError::not_found("no user with that name"))
}

/// `PUT /api/v1/albums/{id}/members/{user}` (owner) → 204: share the album with a family member.
pub async fn set_member(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((id, name)): Path<(i64, String)>,
    JsonBody(body): JsonBody<MemberRole>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    role(&state, id, user, AlbumRole::Owner).await?;
    let member_role = AlbumRole::parse_member(&body.role).ok_or_else(|| ApiError::invalid("role is viewer or editor"))?;
    let member = user_id(&state, name).await?;
    if member == user {
        return Err(ApiError::invalid("the owner is not a member of their own album"));
    }
    let now = state.now();
    state.write(move |tx| albums::set_member(tx, id, member, member_role, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/albums/{id}/members/{user}` (owner, or the member leaving) → 204.
pub async fn remove_member(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((id, name)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    let member = user_id(&state, name).await?;
    if member != user {
        role(&state, id, user, AlbumRole::Owner).await?;
    }
    if state.write(move |tx| albums::remove_member(tx, id, member)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("that user is not a member of the album"))
    }
}

/// `GET /api/v1/partners`: who sees the caller's timeline, and whose the caller sees.
pub async fn partners(State(state): State<AppState>, axum::Extension(caller): axum::Extension<Caller>) -> Result<Json<Partners>, ApiError> {
    let user = me(&caller)?;
    Ok(Json(state.read(move |r| sharing::partners_of(r, user)).await?))
}

/// `PUT /api/v1/partners/{user}` → 204: let `user` see the caller's whole timeline.
pub async fn add_partner(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    let partner = user_id(&state, name).await?;
    let now = state.now();
    state.write(move |tx| sharing::add_partner(tx, user, partner, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/partners/{user}` → 204: stop.
pub async fn remove_partner(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    let partner = user_id(&state, name).await?;
    if state.write(move |tx| sharing::remove_partner(tx, user, partner)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("that user does not see your timeline"))
    }
}
