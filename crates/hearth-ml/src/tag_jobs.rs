//! The tag jobs (`tags` in the photo library's queue, `hearth_catalog::tags::TAGS_JOB`): what the
//! `ml` worker does with each — read the asset's 1440-pixel preview, score it with the object
//! detector and the scene classifier, and store the vocabulary's words it earns (with their
//! other words for search). Recovery, quarantine and model failures work as for faces
//! ([`crate::face_jobs`]).

use hearth_catalog::tags::{self, TAGS_JOB, Tag};
use hearth_catalog::{Catalog, CatalogError, jobs};

use crate::error::MlError;
use crate::face_jobs::{Ended, RunError};
use crate::image::RgbImage;
use crate::preview_job::{Analysed, analyse_preview};
use crate::tags::Tagger;

/// What the family sees on a photo set aside after stopping the worker twice.
pub const QUARANTINED: &str = "tagging this photo stopped the ML worker twice, so it is set aside";

/// After a worker start: interrupted jobs go back to the queue once; the assets of those
/// interrupted twice are marked. Returns (requeued, quarantined).
pub fn recover(catalog: &Catalog, now: i64) -> Result<(usize, usize), CatalogError> {
    catalog.write(|tx| {
        let r = jobs::recover(tx, TAGS_JOB, QUARANTINED, now)?;
        for &asset in &r.quarantined {
            tags::tags_failed(tx, asset, QUARANTINED, now)?;
        }
        Ok((r.requeued, r.quarantined.len()))
    })
}

/// The rows to store for the words `image` earns: each shown word, then its other words for search
/// (not shown), all with the word's score.
pub fn analyse(tagger: &mut Tagger, image: &RgbImage) -> Result<Vec<Tag>, MlError> {
    let mut out = Vec::new();
    for w in tagger.words(image)? {
        let score = f64::from(w.score);
        out.push(Tag { tag: w.word, score, shown: true });
        out.extend(w.also.into_iter().map(|a| Tag { tag: a, score, shown: false }));
    }
    Ok(out)
}

/// Does one claimed tag job. `preview` names the asset's 1440-pixel preview from its checksum.
pub fn run(
    catalog: &Catalog,
    tagger: &mut Tagger,
    job: &jobs::Job,
    preview: &dyn Fn(&[u8; 32]) -> std::path::PathBuf,
    now: &dyn Fn() -> i64,
) -> Result<Ended, RunError> {
    let asset = job.asset_id;
    let found = match analyse_preview(catalog, job, preview, now, tags::tags_failed, "the taggers gave up on this photo", |image| {
        analyse(tagger, image)
    })? {
        Analysed::Ready(found) => found,
        Analysed::Ended(ended) => return Ok(ended),
    };
    let shown = found.iter().filter(|t| t.shown).count();
    let ended = catalog.write(|tx| match tags::record_tags(tx, asset, &found, now()) {
        Ok(()) => jobs::finish(tx, job.id, now()).map(|()| Ended::Found(shown)),
        // Deleted between the read and now: nothing to tag.
        Err(CatalogError::NotFound(_)) => jobs::finish(tx, job.id, now()).map(|()| Ended::Gone),
        Err(e) => Err(e),
    })?;
    Ok(ended)
}
