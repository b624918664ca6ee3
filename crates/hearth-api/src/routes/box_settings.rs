//! The family's settings for the box: its name, time zone and map tiles.

use axum::Json;
use axum::extract::State;
use hearth_catalog::audit::{self, Outcome};
use hearth_catalog::settings;
use hearth_core::box_settings::{BoxName, BoxSettingError, BoxSettings, TileUrl, TimeZoneName};
use serde::Deserialize;

use super::JsonBody;
use super::admin::{address, admin_entry};
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::{ApiError, AppState};

/// `GET /api/v1/box`
pub async fn get(State(state): State<AppState>) -> Json<BoxSettings> {
    Json(state.box_settings.current())
}

/// `PATCH /api/v1/box` body: what changes; the rest stays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// What phones and the LAN call the box.
    pub name: Option<String>,
    /// An IANA time zone name.
    pub time_zone: Option<String>,
    /// A tile template; `""` goes back to the embedded outline.
    pub map_tiles: Option<String>,
}

impl Change {
    /// `current` with this change, every value checked.
    pub fn apply(&self, current: BoxSettings) -> Result<BoxSettings, BoxSettingError> {
        let mut s = current;
        if let Some(n) = &self.name {
            s.name = BoxName::parse(n)?;
        }
        if let Some(z) = &self.time_zone {
            s.time_zone = TimeZoneName::parse(z)?;
        }
        if let Some(t) = &self.map_tiles {
            s.map_tiles = if t.trim().is_empty() { None } else { Some(TileUrl::parse(t)?) };
        }
        Ok(s)
    }
}

/// `PATCH /api/v1/box`
pub async fn change(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    JsonBody(body): JsonBody<Change>,
) -> Result<Json<BoxSettings>, ApiError> {
    let live = state.box_settings.clone();
    // One change at a time, so the catalog and what the daemon was told end in the same order.
    let _changing = live.changing().await;
    let new = body.apply(live.current()).map_err(|e| ApiError::invalid(e.to_string()))?;
    let now = state.now();
    let addr = address(&peer);
    let kept = new.clone();
    state
        .write(move |tx| {
            settings::set_box_settings(tx, &kept)?;
            let detail = format!("name {:?}, time zone {}, map tiles {}", kept.name.as_str(), kept.time_zone, kept.map_tiles.is_some());
            audit::append(tx, &admin_entry(&caller, addr.as_deref(), "box.settings", "box", Some(&detail)), Outcome::Ok, now)
        })
        .await?;
    live.replace(new.clone());
    if let Some(sync) = &state.sync {
        sync.set_name(new.name.to_string());
    }
    Ok(Json(new))
}
