//! The Calendars & contacts page's view of a member's calendars and address books (docs/api.md,
//! docs/calendars.md): list, make, rename or recolour, delete. Phones and vdirsyncer reach the
//! same collections over CalDAV and CardDAV (`routes::pim`). Thin: the storage is
//! `hearth_catalog::pim`'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_catalog::pim::{self, Collection, CollectionKind, CollectionProps, ShareAccess, ShareMember};
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::albums::me;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// A calendar or address book as the page shows it.
#[derive(Serialize)]
pub struct CollectionView {
    /// `calendar` or `addressbook`.
    pub kind: CollectionKind,
    /// Its address name in the caller's home (`<owner>~<name>` for one shared with them).
    pub name: String,
    /// Who shares it with the caller (null: it is theirs).
    pub shared_by: Option<String>,
    /// What the caller may do in one shared with them (null: it is theirs).
    pub access: Option<ShareAccess>,
    /// Who the caller shares it with (theirs only).
    pub members: Vec<ShareMember>,
    /// The name shown (its address name when none was given).
    pub display_name: String,
    /// `#RRGGBB` or `#RRGGBBAA`, when set.
    pub color: Option<String>,
    /// How many events, tasks or contacts.
    pub items: i64,
    /// Its CalDAV or CardDAV address on this box.
    pub href: String,
}

/// The view of `c` at `segment` of `user`'s home (its name, or `<owner>~<name>` when shared).
fn view_at(c: Collection, segment: String, items: i64, user: &str) -> CollectionView {
    let href = hearth_dav::pim_path::Hrefs::new(hearth_dav::pim_path::Style::Hearth, user).collection(c.kind, &segment);
    CollectionView {
        kind: c.kind,
        display_name: c.display_name.unwrap_or_else(|| c.name.clone()),
        name: segment,
        shared_by: None,
        access: None,
        members: Vec::new(),
        color: c.color,
        items,
        href,
    }
}

fn view(c: Collection, items: i64, user: &str, members: Vec<ShareMember>) -> CollectionView {
    let segment = c.name.clone();
    CollectionView { members, ..view_at(c, segment, items, user) }
}

fn shared_view(s: pim::Shared, items: i64, user: &str) -> CollectionView {
    let segment = s.segment();
    CollectionView { shared_by: Some(s.owner), access: Some(s.access), ..view_at(s.collection, segment, items, user) }
}

/// `GET /api/v1/calendars` body.
#[derive(Serialize)]
pub struct CollectionList {
    /// Calendars first, then address books, each by name.
    pub collections: Vec<CollectionView>,
}

/// `GET /api/v1/calendars`: the caller's calendars and address books (the defaults made the
/// first time, as a phone's first visit would), then those others share with them.
pub async fn list(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Json<CollectionList>, ApiError> {
    let user = me(&caller)?;
    let name = caller.require_user()?.name.clone();
    let now = state.now();
    let collections = state
        .write(move |tx| {
            let mut out = Vec::new();
            for kind in [CollectionKind::Calendar, CollectionKind::AddressBook] {
                pim::ensure_default(tx, user, kind, now)?;
                for c in pim::collections(tx, user, kind)? {
                    let items = pim::item_count(tx, c.id)?;
                    let members = pim::members(tx, c.id)?;
                    out.push(view(c, items, &name, members));
                }
                for s in pim::shared_with(tx, user, kind)? {
                    let items = pim::item_count(tx, s.collection.id)?;
                    out.push(shared_view(s, items, &name));
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(CollectionList { collections }))
}

/// `POST /api/v1/calendars` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCollection {
    /// `calendar` or `addressbook`.
    pub kind: CollectionKind,
    /// The name shown.
    pub display_name: String,
    /// `#RRGGBB` or `#RRGGBBAA`.
    pub color: Option<String>,
}

/// `PATCH /api/v1/calendars/{kind}/{name}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionPatch {
    /// The name shown.
    pub display_name: Option<String>,
    /// `#RRGGBB` or `#RRGGBBAA`; null removes it.
    #[serde(default, deserialize_with = "super::albums::present")]
    pub color: Option<Option<String>>,
}

fn display_name(s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err(ApiError::invalid("a name is 1 to 100 characters, without control characters"));
    }
    Ok(s.to_string())
}

fn color(c: Option<String>) -> Result<Option<String>, ApiError> {
    match c {
        None => Ok(None),
        Some(c) => {
            let hex = c.strip_prefix('#').unwrap_or("");
            if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ApiError::invalid("a colour is #RRGGBB or #RRGGBBAA"));
            }
            Ok(Some(c.to_ascii_uppercase()))
        }
    }
}

/// `POST /api/v1/calendars` → 201 and the new calendar or address book.
pub async fn create(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    JsonBody(body): JsonBody<NewCollection>,
) -> Result<(StatusCode, Json<CollectionView>), ApiError> {
    let user = me(&caller)?;
    let name = caller.require_user()?.name.clone();
    let shown = display_name(&body.display_name)?;
    let color = color(body.color)?;
    let kind = body.kind;
    let now = state.now();
    let made = state
        .write(move |tx| {
            let address = pim::unused_name(tx, user, kind, &shown)?;
            let props = CollectionProps { display_name: Some(Some(shown)), color: Some(color), ..Default::default() };
            pim::create_collection(tx, user, kind, &address, &kind.default_components(), &props, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view(made, 0, &name, Vec::new()))))
}

/// `PATCH /api/v1/calendars/{kind}/{name}` → the calendar or address book.
pub async fn change(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((kind, address)): Path<(CollectionKind, String)>,
    JsonBody(body): JsonBody<CollectionPatch>,
) -> Result<Json<CollectionView>, ApiError> {
    let user = me(&caller)?;
    let name = caller.require_user()?.name.clone();
    let props = CollectionProps {
        display_name: body.display_name.as_deref().map(display_name).transpose()?.map(Some),
        color: body.color.map(color).transpose()?,
        ..Default::default()
    };
    let changed = state
        .write(move |tx| {
            let Some(c) = pim::collection(tx, user, kind, &address)? else { return Ok(None) };
            pim::change_collection(tx, c.id, &props)?;
            let items = pim::item_count(tx, c.id)?;
            let members = pim::members(tx, c.id)?;
            Ok(pim::collection(tx, user, kind, &address)?.map(|c| (c, items, members)))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no such calendar or address book of yours"))?;
    Ok(Json(view(changed.0, changed.1, &name, changed.2)))
}

/// `DELETE /api/v1/calendars/{kind}/{name}` → 204: it and everything in it are gone; for one
/// shared with the caller (`<owner>~<name>`), the caller leaves it and it stays its owner's.
pub async fn remove(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((kind, address)): Path<(CollectionKind, String)>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    let gone = state
        .write(move |tx| {
            if let Some((owner, shared)) = address.split_once('~') {
                let Some(s) = pim::shared_collection(tx, user, kind, owner, shared)? else { return Ok(false) };
                return pim::unshare(tx, s.collection.id, user);
            }
            let Some(c) = pim::collection(tx, user, kind, &address)? else { return Ok(false) };
            pim::delete_collection(tx, c.id)?;
            Ok(true)
        })
        .await?;
    if !gone {
        return Err(ApiError::not_found("no such calendar or address book"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/calendars/{kind}/{name}/members/{user}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAccess {
    /// `read` or `write`.
    pub access: ShareAccess,
}

/// The id of the caller's own collection `address` of `kind`, and the id of the member `name`.
async fn own_and_member(
    state: &AppState,
    user: i64,
    kind: CollectionKind,
    address: String,
    member: String,
) -> Result<(pim::CollectionId, i64), ApiError> {
    let (collection, member) = state
        .read(move |r| {
            Ok((pim::collection(r, user, kind, &address)?.map(|c| c.id), hearth_catalog::users::by_name(r, &member)?.map(|u| u.id)))
        })
        .await?;
    let collection = collection.ok_or_else(|| ApiError::not_found("no such calendar or address book of yours"))?;
    let member = member.ok_or_else(|| ApiError::not_found("no family member with that name"))?;
    Ok((collection, member))
}

/// `PUT /api/v1/calendars/{kind}/{name}/members/{user}` → 204: the caller shares their calendar
/// or address book with a family member, to read or to change (or changes which).
pub async fn share(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((kind, address, member)): Path<(CollectionKind, String, String)>,
    JsonBody(body): JsonBody<MemberAccess>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    let (collection, member) = own_and_member(&state, user, kind, address, member).await?;
    if member == user {
        return Err(ApiError::invalid("it is yours already"));
    }
    state.write(move |tx| pim::share(tx, collection, member, body.access)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/calendars/{kind}/{name}/members/{user}` → 204: no longer shared with them.
pub async fn unshare(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path((kind, address, member)): Path<(CollectionKind, String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = me(&caller)?;
    let (collection, member) = own_and_member(&state, user, kind, address, member).await?;
    if !state.write(move |tx| pim::unshare(tx, collection, member)).await? {
        return Err(ApiError::not_found("it is not shared with them"));
    }
    Ok(StatusCode::NO_CONTENT)
}
