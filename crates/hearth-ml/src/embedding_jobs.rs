//! The embedding jobs (`embeddings` in the photo library's queue,
//! `hearth_catalog::embeddings::EMBEDDINGS_JOB`), only while the family has provided an
//! image/text model (`ml.embedding`): the `ml` worker makes each photo's vector from its
//! 1440-pixel preview with the model's image half and stores it under the model file's SHA-256.
//! The worker queues them itself ([`prepare`]) because nothing else knows a model is there:
//! at start, and while idle for photos that arrived since. Recovery, quarantine and model
//! failures work as for faces ([`crate::face_jobs`]).

use hearth_catalog::embeddings::{self, EMBEDDINGS_JOB};
use hearth_catalog::store::Connection;
use hearth_catalog::{Catalog, CatalogError, jobs};

use crate::embedding::ImageEmbedding;
use crate::face_jobs::{Ended, RunError};
use crate::preview_job::{Analysed, analyse_preview};

/// What the family sees on a photo set aside after stopping the worker twice.
pub const QUARANTINED: &str = "making this photo's vector stopped the ML worker twice, so it is set aside";

/// After a worker start: interrupted jobs go back to the queue once, those interrupted twice are
/// set aside (the job's error says why). Returns (requeued, quarantined).
pub fn recover(catalog: &Catalog, now: i64) -> Result<(usize, usize), CatalogError> {
    catalog.write(|tx| {
        let r = jobs::recover(tx, EMBEDDINGS_JOB, QUARANTINED, now)?;
        Ok((r.requeued, r.quarantined.len()))
    })
}

/// Makes `model` (an image model's SHA-256) the one whose vectors are kept (another model's
/// vectors and jobs go) and queues every photo without a vector of it. Returns the jobs queued.
pub fn prepare(catalog: &Catalog, model: &str, now: i64) -> Result<usize, CatalogError> {
    catalog.write(|tx| {
        if embeddings::use_model(tx, model)? {
            tracing::info!(model, "a new image/text model: every photo's vector is made with it");
        }
        embeddings::queue_missing(tx, model, now)
    })
}

/// The job's error is the record of a photo whose vector cannot be made; the asset has no column
/// for it (search simply does not find it).
fn nothing_to_mark(_: &Connection, _: i64, _: &str, _: i64) -> Result<(), CatalogError> {
    Ok(())
}

/// Does one claimed embedding job with `model` (whose file's SHA-256 is `fingerprint`).
pub fn run(
    catalog: &Catalog,
    model: &mut dyn ImageEmbedding,
    fingerprint: &str,
    job: &jobs::Job,
    preview: &dyn Fn(&[u8; 32]) -> std::path::PathBuf,
    now: &dyn Fn() -> i64,
) -> Result<Ended, RunError> {
    let asset = job.asset_id;
    let vector = match analyse_preview(catalog, job, preview, now, nothing_to_mark, "the image model gave up on this photo", |image| {
        model.embed_image(image)
    })? {
        Analysed::Ready(v) => v,
        Analysed::Ended(ended) => return Ok(ended),
    };
    let ended = catalog.write(|tx| match embeddings::record(tx, asset, fingerprint, vector.values(), now()) {
        Ok(()) => jobs::finish(tx, job.id, now()).map(|()| Ended::Found(1)),
        Err(CatalogError::NotFound(_)) => jobs::finish(tx, job.id, now()).map(|()| Ended::Gone),
        Err(CatalogError::Invalid(why)) => jobs::fail(tx, job.id, &why, now()).map(|()| Ended::Failed(why)),
        Err(e) => Err(e),
    })?;
    Ok(ended)
}
