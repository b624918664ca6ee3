//! People over HTTP (docs/ml.md): the faces the ML worker found, grouped into people per owner;
//! a family names, hides, merges them and moves a face that landed in the wrong person. Thin:
//! the rules are `hearth_catalog::people` and `hearth_ml::people`.

use axum::Json;
use axum::extract::{Path, Query, State};
use hearth_catalog::people::{self, FaceTarget, FaceView, Person, PersonChange};
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::albums::me;
use super::photos::{Page, PageQuery};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// `GET /api/v1/people` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Hidden people too.
    #[serde(default)]
    pub hidden: bool,
}

/// `GET /api/v1/people` body.
#[derive(Serialize)]
pub struct PeopleList {
    /// Named first, then by how many faces.
    pub people: Vec<Person>,
}

/// `GET /api/v1/people?hidden=true`: the caller's people.
pub async fn list(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<Json<PeopleList>, ApiError> {
    let user = me(&caller)?;
    Ok(Json(PeopleList { people: state.read(move |r| people::list(r, user, q.hidden)).await? }))
}

/// `GET /api/v1/people/{id}`.
pub async fn get(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<Person>, ApiError> {
    let user = me(&caller)?;
    let person = state.read(move |r| people::get(r, user, id)).await?;
    Ok(Json(person.ok_or_else(|| ApiError::not_found("no such person"))?))
}

/// `PATCH /api/v1/people/{id}` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    /// Their name (`null` or "" forgets it).
    #[serde(default, deserialize_with = "super::albums::present")]
    pub name: Option<Option<String>>,
    /// Hidden from the list and from search.
    pub hidden: Option<bool>,
    /// The face shown for them (one of theirs).
    pub cover_face_id: Option<i64>,
}

/// `PATCH /api/v1/people/{id}` → the person.
pub async fn change(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<PersonPatch>,
) -> Result<Json<Person>, ApiError> {
    let user = me(&caller)?;
    let name = match body.name {
        None => None,
        Some(None) => Some(None),
        Some(Some(n)) => {
            let n = n.trim().to_string();
            if n.chars().count() > 100 || n.chars().any(char::is_control) {
                return Err(ApiError::invalid("a name is at most 100 characters, without control characters"));
            }
            Some((!n.is_empty()).then_some(n))
        }
    };
    let c = PersonChange { name, hidden: body.hidden, cover_face: body.cover_face_id };
    let now = state.now();
    let person = state
        .write(move |tx| {
            people::change(tx, user, id, &c, now)?;
            people::get(tx, user, id)
        })
        .await?;
    Ok(Json(person.ok_or_else(|| ApiError::not_found("no such person"))?))
}

/// `POST /api/v1/people/{id}/merge` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The people whose faces move into this one (they are then gone).
    pub people: Vec<i64>,
}

/// `POST /api/v1/people/{id}/merge` → the merged person.
pub async fn merge(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<MergeBody>,
) -> Result<Json<Person>, ApiError> {
    let user = me(&caller)?;
    if body.people.is_empty() || body.people.len() > 1000 {
        return Err(ApiError::invalid("merge names 1 to 1000 people"));
    }
    let now = state.now();
    let person = state
        .write(move |tx| {
            people::merge(tx, user, id, &body.people, now)?;
            people::get(tx, user, id)
        })
        .await?;
    Ok(Json(person.ok_or_else(|| ApiError::not_found("no such person"))?))
}

/// `POST /api/v1/people/{id}/split` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// Some of this person's faces: they become a new person.
    pub faces: Vec<i64>,
}

/// `POST /api/v1/people/{id}/split` → the new person (201): the named faces, taken out of this
/// one, placed by hand so grouping keeps them apart.
pub async fn split(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<SplitBody>,
) -> Result<(axum::http::StatusCode, Json<Person>), ApiError> {
    let user = me(&caller)?;
    if body.faces.is_empty() || body.faces.len() > 10_000 {
        return Err(ApiError::invalid("split names 1 to 10000 faces"));
    }
    let now = state.now();
    let person = state
        .write(move |tx| {
            let new = people::split(tx, user, id, &body.faces, now)?;
            people::get(tx, user, new)
        })
        .await?;
    let person = person.ok_or_else(|| ApiError::not_found("no such person"))?;
    Ok((axum::http::StatusCode::CREATED, Json(person)))
}

/// `GET /api/v1/people/{id}/assets?after_taken_at=&after_id=&limit=`: newest first.
pub async fn assets(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page>, ApiError> {
    let user = me(&caller)?;
    let (cursor, limit) = super::photos::page_bounds(&q)?;
    let page = state
        .read(move |r| {
            if people::get(r, user, id)?.is_none() {
                return Ok(None);
            }
            people::assets_page(r, user, id, cursor, limit).map(Some)
        })
        .await?;
    Ok(Json(Page::of(page.ok_or_else(|| ApiError::not_found("no such person"))?, limit)))
}

/// `GET /api/v1/people/{id}/faces` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacesQuery {
    /// Resume after this face id (the page's `next`).
    pub after: Option<i64>,
    /// At most this many (1–1000; 200 when not given).
    pub limit: Option<i64>,
}

/// `GET /api/v1/people/{id}/faces` body.
#[derive(Serialize)]
pub struct FacePage {
    /// By face id.
    pub faces: Vec<FaceView>,
    /// The `after` of the next page; null on the last.
    pub next: Option<i64>,
}

/// `GET /api/v1/people/{id}/faces?after=&limit=`: the person's faces, for picking those that
/// are someone else.
pub async fn faces(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    Query(q): Query<FacesQuery>,
) -> Result<Json<FacePage>, ApiError> {
    let user = me(&caller)?;
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit is 1 to 1000"));
    }
    let faces = state
        .read(move |r| {
            if people::get(r, user, id)?.is_none() {
                return Ok(None);
            }
            people::faces_of_person(r, user, id, q.after, limit).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no such person"))?;
    let next = (faces.len() as i64 == limit).then(|| faces.last().map(|f| f.id)).flatten();
    Ok(Json(FacePage { faces, next }))
}

/// `GET /api/v1/assets/{id}/faces` body.
#[derive(Serialize)]
pub struct FaceList {
    /// Left to right.
    pub faces: Vec<FaceView>,
}

/// `GET /api/v1/assets/{id}/faces`: the faces in one of the caller's photos.
pub async fn of_asset(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<FaceList>, ApiError> {
    let user = me(&caller)?;
    let faces = state
        .read(move |r| {
            if people::owner_of_asset(r, id)? != Some(user) {
                return Ok(None);
            }
            people::faces_of_asset(r, id).map(Some)
        })
        .await?;
    Ok(Json(FaceList { faces: faces.ok_or_else(|| ApiError::not_found("no such photo"))? }))
}

/// `PUT /api/v1/faces/{id}/person` body: exactly one of the fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacePerson {
    /// An existing person of the caller.
    pub person_id: Option<i64>,
    /// A new person for this face alone.
    #[serde(default)]
    pub new_person: bool,
    /// No person (not a face, or someone not to group).
    #[serde(default)]
    pub nobody: bool,
}

/// `PUT /api/v1/faces/{id}/person` → the face, placed by hand.
pub async fn set_face_person(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<FacePerson>,
) -> Result<Json<FaceView>, ApiError> {
    let user = me(&caller)?;
    let target = match (body.person_id, body.new_person, body.nobody) {
        (Some(p), false, false) => FaceTarget::Person(p),
        (None, true, false) => FaceTarget::New,
        (None, false, true) => FaceTarget::Nobody,
        _ => return Err(ApiError::invalid("give exactly one of person_id, new_person, nobody")),
    };
    let now = state.now();
    let face = state
        .write(move |tx| {
            people::move_face(tx, user, id, target, now)?;
            people::face(tx, user, id)
        })
        .await?;
    Ok(Json(face.ok_or_else(|| ApiError::not_found("no such face"))?))
}
