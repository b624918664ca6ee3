//! Words for the things and scenes in a photo (docs/ml.md), as the `ml` worker found them. Search
//! by them goes through the ordinary search route.

use axum::Json;
use axum::extract::{Path, State};
use hearth_catalog::people;
use hearth_catalog::tags::{self, Tag};
use serde::Serialize;

use super::albums::me;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// `GET /api/v1/assets/{id}/tags` body.
#[derive(Serialize)]
pub struct TagList {
    /// The words shown for the photo, the surest first.
    pub tags: Vec<Tag>,
    /// When the photo was last tagged (Unix seconds); null before it has been.
    pub tagged_at: Option<i64>,
    /// Why tagging it failed, if it did.
    pub error: Option<String>,
}

/// `GET /api/v1/assets/{id}/tags`: the words for one of the caller's photos.
pub async fn of_asset(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<TagList>, ApiError> {
    let user = me(&caller)?;
    let list = state
        .read(move |r| {
            if people::owner_of_asset(r, id)? != Some(user) {
                return Ok(None);
            }
            let (tagged_at, error) = tags::tagging_state(r, id)?.map_or((None, None), |(at, e)| (Some(at), e));
            Ok(Some(TagList { tags: tags::tags_of_asset(r, id)?, tagged_at, error }))
        })
        .await?;
    Ok(Json(list.ok_or_else(|| ApiError::not_found("no such photo"))?))
}
