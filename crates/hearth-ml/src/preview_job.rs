//! What every ML job of the photo library's queue does before and around its models (faces and
//! tags alike): find the asset (gone: the job is finished), mark the job begun, read the asset's
//! 1440-pixel preview and run the analysis on it, a panic in a model on those pixels counting as
//! this photo's failure (it would come again on the same pixels). A photo that cannot be
//! analysed fails its job with the reason on the asset; a model problem is the caller's to
//! handle (the job goes back to the queue).

use std::path::{Path, PathBuf};

use hearth_catalog::store::Connection;
use hearth_catalog::{Catalog, CatalogError, assets, jobs};

use crate::error::MlError;
use crate::face_jobs::{Ended, RunError};
use crate::image::RgbImage;

/// How far the shared part got.
pub(crate) enum Analysed<T> {
    /// The analysis's result, for the caller to record (and finish the job).
    Ready(T),
    /// The job ended here (the asset is gone, or the photo failed and the failure is recorded).
    Ended(Ended),
}

/// Runs `analyse` on the claimed `job`'s preview. `failed` records a photo's failure on the asset
/// (in the same transaction as the job's); `gave_up` is the reason recorded when a model panics.
pub(crate) fn analyse_preview<T>(
    catalog: &Catalog,
    job: &jobs::Job,
    preview: &dyn Fn(&[u8; 32]) -> PathBuf,
    now: &dyn Fn() -> i64,
    failed: fn(&Connection, i64, &str, i64) -> Result<(), CatalogError>,
    gave_up: &str,
    analyse: impl FnOnce(&RgbImage) -> Result<T, MlError>,
) -> Result<Analysed<T>, RunError> {
    let asset = job.asset_id;
    let Some(file) = catalog.read(move |r| assets::file_by_id(r, asset))? else {
        catalog.write(|tx| jobs::finish(tx, job.id, now()))?;
        return Ok(Analysed::Ended(Ended::Gone));
    };
    catalog.write(|tx| jobs::begin(tx, job.id))?;
    let analysed = read_preview(&preview(&file.checksum)).and_then(|image| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyse(&image))).unwrap_or_else(|_| Err(MlError::Image(gave_up.into())))
    });
    match analysed {
        Ok(found) => Ok(Analysed::Ready(found)),
        Err(e) if e.is_model_problem() => Err(RunError::Model(e)),
        Err(e) => {
            let why = e.to_string();
            catalog.write(|tx| {
                failed(tx, asset, &why, now())?;
                jobs::fail(tx, job.id, &why, now())
            })?;
            Ok(Analysed::Ended(Ended::Failed(why)))
        }
    }
}

fn read_preview(path: &Path) -> Result<RgbImage, MlError> {
    let bytes = std::fs::read(path).map_err(|e| MlError::Image(format!("the photo's preview cannot be read ({e})")))?;
    RgbImage::decode_jpeg(&bytes)
}
