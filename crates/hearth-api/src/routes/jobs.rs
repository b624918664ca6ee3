//! The job queue over HTTP: how far thumbnails, faces, tags and vectors have got, and a retry of what
//! failed for admins.

use axum::Json;
use axum::extract::{Path, State};
use hearth_catalog::audit::{self, Outcome};
use hearth_catalog::jobs::{self, Progress};
use serde::Serialize;

use super::admin::{address, admin_entry};
use crate::auth::Caller;
use crate::auth::caller::Peer;
use crate::{ApiError, AppState};

/// `GET /api/v1/jobs` body.
#[derive(Serialize)]
pub struct JobsView {
    /// One entry per kind that has jobs.
    pub jobs: Vec<Progress>,
    /// What the ML worker runs on, and why its models cannot be used if they cannot (as it last
    /// said); null before it has loaded them once.
    pub ml: Option<serde_json::Value>,
}

/// `GET /api/v1/jobs`: per kind, how many jobs wait, run, are done, failed or are quarantined;
/// the rate over the last minute and the time left at that rate; the ML worker's state.
pub async fn progress(State(state): State<AppState>) -> Result<Json<JobsView>, ApiError> {
    let now = state.now();
    let (jobs, ml) = state
        .read(move |r| Ok((jobs::progress(r, now)?, hearth_catalog::settings::get(r, hearth_catalog::people::ML_STATUS_KEY)?)))
        .await?;
    Ok(Json(JobsView { jobs, ml: ml.and_then(|text| serde_json::from_str(&text).ok()) }))
}

/// `POST /api/v1/jobs/{kind}/retry` answer.
#[derive(Serialize)]
pub struct Retried {
    /// Jobs queued again.
    pub queued: usize,
}

/// `POST /api/v1/jobs/{kind}/retry`: queue the failed and quarantined jobs of `kind` again (after
/// an update that decodes more, say). Audited.
pub async fn retry(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    peer: Option<axum::Extension<Peer>>,
    Path(kind): Path<String>,
) -> Result<Json<Retried>, ApiError> {
    let (faces, tags, vectors) =
        (hearth_catalog::people::FACES_JOB, hearth_catalog::tags::TAGS_JOB, hearth_catalog::embeddings::EMBEDDINGS_JOB);
    if kind != jobs::THUMBNAILS && kind != faces && kind != tags && kind != vectors {
        return Err(ApiError::not_found(format!("no job kind {kind:?} (known: {}, {faces}, {tags}, {vectors})", jobs::THUMBNAILS)));
    }
    let now = state.now();
    let addr = address(&peer);
    let queued = state
        .write(move |tx| {
            let n = if kind == jobs::THUMBNAILS { hearth_photos::thumbnail_jobs::retry(tx, now)? } else { jobs::retry(tx, &kind, now)? };
            let detail = format!("{n} queued");
            audit::append(tx, &admin_entry(&caller, addr.as_deref(), "jobs.retry", &kind, Some(&detail)), Outcome::Ok, now)?;
            Ok(n)
        })
        .await?;
    Ok(Json(Retried { queued }))
}
