//! The box's disks over HTTP (docs/disks.md): the inventory as the disks service last read it.

use axum::Json;
use axum::extract::State;

use crate::AppState;

/// `GET /api/v1/disks`: every disk with what it holds and where that is mounted.
pub async fn list(State(state): State<AppState>) -> Json<hearth_disks::Inventory> {
    Json(hearth_disks::Inventory::clone(&state.disks.current()))
}
