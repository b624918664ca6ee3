//! Finding photos again: search (words, dates, kind, favourites), "on this day" memories, and
//! near-duplicates with a way to trash the extra copies. All over the caller's own library.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use hearth_catalog::assets::{self, Summary};
use hearth_catalog::embeddings;
use hearth_catalog::search::{self, Memory};
use hearth_core::error::ErrorKind;
use serde::{Deserialize, Serialize};

use super::JsonBody;
use super::photos::{Page, PageQuery};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// `GET /api/v1/search` query.
#[derive(Deserialize)]
pub struct SearchQuery {
    /// Words, each matched as a prefix in file names, place names and cameras.
    pub q: Option<String>,
    /// Taken at or after (Unix seconds).
    pub from: Option<i64>,
    /// Taken before (Unix seconds).
    pub to: Option<i64>,
    /// `photo` or `video`.
    pub kind: Option<String>,
    /// Only favourites.
    #[serde(default)]
    pub favourite: bool,
    /// Archived photos too.
    #[serde(default)]
    pub archived: bool,
    /// Paging, as the timeline's.
    pub after_taken_at: Option<i64>,
    /// See `after_taken_at`.
    pub after_id: Option<i64>,
    /// 1–1000, default 200.
    pub limit: Option<i64>,
}

/// `GET /api/v1/search?q=&from=&to=&kind=&favourite=&archived=&after_taken_at=&after_id=&limit=`.
pub async fn search(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Page>, ApiError> {
    let owner = caller.require_user()?.id;
    if q.q.as_deref().is_some_and(|t| t.len() > 500) {
        return Err(ApiError::invalid("the search text is at most 500 characters"));
    }
    if q.kind.as_deref().is_some_and(|k| k != "photo" && k != "video") {
        return Err(ApiError::invalid("kind is photo or video"));
    }
    let (cursor, limit) =
        super::photos::page_bounds(&PageQuery { user: None, after_taken_at: q.after_taken_at, after_id: q.after_id, limit: q.limit })?;
    let query = search::Query { text: q.q, from: q.from, to: q.to, kind: q.kind, favourite: q.favourite, include_archived: q.archived };
    let assets = state.read(move |r| search::search(r, owner, &query, cursor, limit)).await?;
    Ok(Json(Page::of(assets, limit)))
}

/// `GET /api/v1/search/capabilities` body.
#[derive(Serialize)]
pub struct SearchCapabilities {
    /// Whether the family provided an image/text model, so `GET /api/v1/search/meaning` can answer.
    pub meaning: bool,
}

/// `GET /api/v1/search/capabilities`: what search can do on this box beyond words (the web app
/// asks before offering a search by meaning, rather than meeting a 409 on every search).
pub async fn capabilities(State(state): State<AppState>) -> Json<SearchCapabilities> {
    Json(SearchCapabilities { meaning: state.sentences.is_some() })
}

/// `GET /api/v1/search/meaning` query.
#[derive(Deserialize)]
pub struct MeaningQuery {
    /// A sentence: "a red car in the snow".
    pub q: String,
    /// 1–500, default 100.
    pub limit: Option<usize>,
}

/// `GET /api/v1/search/meaning` body.
#[derive(Serialize)]
pub struct MeaningResults {
    /// The caller's photos nearest to the sentence, nearest first, each with its `score` (cosine
    /// similarity: comparable within one answer, not between models).
    pub assets: Vec<embeddings::Nearest>,
    /// The caller's photos with a vector of this model so far, and the photos to have one: while
    /// the worker is still making them, some photos cannot be found yet.
    pub covered: i64,
    /// See `covered`.
    pub photos: i64,
}

/// `GET /api/v1/search/meaning?q=&limit=`: free-text search with the image/text model the family
/// provided (`ml.embedding`). 409 when there is none (none ships), 503 when it cannot be loaded,
/// 400 when it gives the sentence no usable vector.
pub async fn by_meaning(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<MeaningQuery>,
) -> Result<Json<MeaningResults>, ApiError> {
    let owner = caller.require_user()?.id;
    let sentence = q.q.trim().to_string();
    if sentence.is_empty() || sentence.chars().count() > 300 {
        return Err(ApiError::invalid("the sentence is 1 to 300 characters"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit is 1 to 500"));
    }
    let Some(sentences) = state.sentences.clone() else {
        return Err(ApiError::new(ErrorKind::Conflict, "free-text search needs an image/text model, and none is set up on this box")
            .with_guidance("Hearth ships none: name a CLIP-like model's files in hearth.toml's [ml.embedding] (docs/ml.md)"));
    };
    let (model, vector) = tokio::task::spawn_blocking(move || sentences.vector(&sentence)).await??;
    let (assets, (covered, photos)) =
        state.read(move |r| Ok((embeddings::nearest(r, owner, &model, &vector, limit)?, embeddings::coverage(r, owner, &model)?))).await?;
    Ok(Json(MeaningResults { assets, covered, photos }))
}

/// `GET /api/v1/search/suggestions` query.
#[derive(Deserialize)]
pub struct SuggestQuery {
    /// What the user has typed so far.
    pub q: String,
}

/// `GET /api/v1/search/suggestions` body.
#[derive(Serialize)]
pub struct Suggestions {
    /// Places and cameras starting with the text, the most photographed first (at most 8).
    pub suggestions: Vec<search::Suggestion>,
}

/// `GET /api/v1/search/suggestions?q=`: the caller's places and cameras that start with `q`.
pub async fn suggest(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<SuggestQuery>,
) -> Result<Json<Suggestions>, ApiError> {
    let owner = caller.require_user()?.id;
    let text = q.q.trim().to_string();
    if text.chars().count() > 100 {
        return Err(ApiError::invalid("a suggestion is asked for with at most 100 characters"));
    }
    if text.is_empty() {
        return Ok(Json(Suggestions { suggestions: Vec::new() }));
    }
    Ok(Json(Suggestions { suggestions: state.read(move |r| search::suggestions(r, owner, &text, 8)).await? }))
}

/// `GET /api/v1/memories` query.
#[derive(Deserialize)]
pub struct MemoriesQuery {
    /// The day, `YYYY-MM-DD` (the phone's today; the box's UTC date without it).
    pub date: Option<String>,
}

/// `GET /api/v1/memories` body.
#[derive(Serialize)]
pub struct Memories {
    /// Earlier years on this day, newest first.
    pub memories: Vec<Memory>,
}

/// `GET /api/v1/memories?date=YYYY-MM-DD`: photos taken on this day in earlier years.
pub async fn memories(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Query(q): Query<MemoriesQuery>,
) -> Result<Json<Memories>, ApiError> {
    let owner = caller.require_user()?.id;
    let (year, month, day) = match q.date.as_deref() {
        Some(d) => parse_date(d).ok_or_else(|| ApiError::invalid("date is YYYY-MM-DD"))?,
        // Today where the box is.
        None => {
            let (y, m, d) = state.box_settings.current().time_zone.date_at(state.now());
            (i64::from(y), i64::from(m), i64::from(d))
        }
    };
    let memories = state.read(move |r| search::on_this_day(r, owner, year, month, day, 24)).await?;
    Ok(Json(Memories { memories }))
}

fn parse_date(s: &str) -> Option<(i64, i64, i64)> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    (parts.next().is_none() && (1800..=9999).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// `GET /api/v1/duplicates` body.
#[derive(Serialize)]
pub struct Duplicates {
    /// Groups of near-identical photos (newest first within a group).
    pub groups: Vec<Vec<Summary>>,
}

/// `GET /api/v1/duplicates`: the caller's near-identical photos, grouped.
pub async fn duplicates(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Result<Json<Duplicates>, ApiError> {
    let owner = caller.require_user()?.id;
    let groups = state
        .read(move |r| {
            let hashes = assets::phashes(r, owner)?;
            hearth_photos::duplicates::groups(&hashes).iter().map(|g| assets::summaries_of(r, owner, g)).collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(Json(Duplicates { groups }))
}

/// `POST /api/v1/duplicates/resolve` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    /// The copies to move to the trash (restorable for 30 days).
    pub trash: Vec<i64>,
}

/// `POST /api/v1/duplicates/resolve` → 204: the copies go to the trash; 404 names one that is
/// not the caller's (nothing is trashed then).
pub async fn resolve(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    JsonBody(body): JsonBody<Resolve>,
) -> Result<StatusCode, ApiError> {
    let owner = caller.require_user()?.id;
    if body.trash.len() > 10_000 {
        return Err(ApiError::invalid("at most 10,000 at once"));
    }
    let now = state.now();
    state
        .write(move |tx| {
            for &id in &body.trash {
                if !assets::set_trashed(tx, owner, id, Some(now))? {
                    return Err(hearth_catalog::CatalogError::NotFound(format!("photo {id}")));
                }
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
