//! The face jobs (`faces` in the photo library's queue, `hearth_catalog::people::FACES_JOB`):
//! what the `ml` worker does with each — read the asset's 1440-pixel preview, find and embed its
//! faces, store them, and place each new face into a person ([`crate::people::place`]). Once a
//! day the worker groups every owner's faces again ([`regroup_all`]).
//!
//! As with thumbnails, a job that takes the worker down stays `running`; at the next start it is
//! retried once, alone, then set aside ([`recover`]). A photo the models cannot read fails its job
//! with the reason on the asset; a model that cannot be loaded is not the photo's fault, and the
//! job is left queued for when it can.

use hearth_catalog::people::{self, FACES_JOB, NewFace};
use hearth_catalog::{Catalog, CatalogError, jobs};

use crate::error::MlError;
use crate::faces::align::aligned;
use crate::faces::detector::FaceDetector;
use crate::faces::embedder::{Embedding, FaceEmbedder};
use crate::image::RgbImage;
use crate::people::{GroupedFace, GroupingRules, Placement, Regrouped, place, regroup};
use crate::preview_job::{Analysed, analyse_preview};

/// What the family sees on a photo set aside after stopping the worker twice.
pub const QUARANTINED: &str = "finding faces in this photo stopped the ML worker twice, so it is set aside";

/// The settings key holding when every face was last grouped again (Unix seconds).
pub const LAST_REGROUP_KEY: &str = "ml.faces.last_regroup";

/// The loaded face models.
pub struct FaceModels {
    /// YuNet.
    pub detector: FaceDetector,
    /// SFace.
    pub embedder: FaceEmbedder,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The faces are stored (how many).
    Found(usize),
    /// The asset was deleted while the job waited.
    Gone,
    /// The photo cannot be analysed; the reason is on the asset.
    Failed(String),
}

/// Why a job could not be done at all (not the photo's fault).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The catalog refused.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A model cannot be used.
    #[error(transparent)]
    Model(MlError),
}

/// After a worker start: interrupted jobs go back to the queue once; the assets of those
/// interrupted twice are marked. Returns (requeued, quarantined).
pub fn recover(catalog: &Catalog, now: i64) -> Result<(usize, usize), CatalogError> {
    catalog.write(|tx| {
        let r = jobs::recover(tx, FACES_JOB, QUARANTINED, now)?;
        for &asset in &r.quarantined {
            people::faces_failed(tx, asset, QUARANTINED, now)?;
        }
        Ok((r.requeued, r.quarantined.len()))
    })
}

/// The faces of one picture: found, aligned, embedded; boxes as fractions of the picture.
pub fn analyse(models: &mut FaceModels, image: &RgbImage) -> Result<Vec<(NewFace, Embedding)>, MlError> {
    let faces = models.detector.detect(image)?;
    let (w, h) = (f64::from(image.width), f64::from(image.height));
    let mut out = Vec::with_capacity(faces.len());
    for f in faces {
        let embedding = models.embedder.embed(&aligned(image, &f)?)?;
        let bbox = [f64::from(f.x) / w, f64::from(f.y) / h, f64::from(f.width) / w, f64::from(f.height) / h];
        out.push((NewFace { bbox, score: f64::from(f.score), embedding: embedding.to_bytes() }, embedding));
    }
    Ok(out)
}

/// Does one claimed face job. `preview` names the asset's 1440-pixel preview from its content
/// checksum (the photo library's cache). The caller runs a job with `attempts > 0` alone.
pub fn run(
    catalog: &Catalog,
    models: &mut FaceModels,
    job: &jobs::Job,
    preview: &dyn Fn(&[u8; 32]) -> std::path::PathBuf,
    rules: GroupingRules,
    now: &dyn Fn() -> i64,
) -> Result<Ended, RunError> {
    let asset = job.asset_id;
    let found = match analyse_preview(catalog, job, preview, now, people::faces_failed, "the face models gave up on this photo", |image| {
        analyse(models, image)
    })? {
        Analysed::Ready(found) => found,
        Analysed::Ended(ended) => return Ok(ended),
    };
    let count = found.len();
    catalog.write(|tx| {
        let faces: Vec<NewFace> = found.iter().map(|(f, _)| f.clone()).collect();
        let ids = people::record_faces(tx, asset, &faces, now())?;
        if let Some(owner) = people::owner_of_asset(tx, asset)? {
            place_new_faces(tx, owner, &ids, rules, now())?;
        }
        jobs::finish(tx, job.id, now())
    })?;
    Ok(Ended::Found(count))
}

/// Places each of `new` (face ids of `owner`) into a person, against every other face of theirs.
fn place_new_faces(
    tx: &hearth_catalog::store::Connection,
    owner: i64,
    new: &[i64],
    rules: GroupingRules,
    now: i64,
) -> Result<(), CatalogError> {
    if new.is_empty() {
        return Ok(());
    }
    let mut known = grouped(people::grouping_faces(tx, owner)?);
    for &face_id in new {
        let Some(me) = known.iter().position(|(id, _)| *id == face_id) else { continue };
        let (_, mine) = known.remove(me);
        let others: Vec<GroupedFace<i64>> = known.iter().map(|(_, f)| f.clone()).collect();
        let person = match place(&mine.embedding, &others, rules) {
            Placement::Join(p) => Some(p),
            Placement::NewPerson(with) => {
                let p = people::create_person(tx, owner, now)?;
                let ids: Vec<i64> = with.iter().map(|&i| known[i].0).collect();
                people::assign_faces(tx, &ids, Some(p))?;
                for &i in &with {
                    known[i].1.person = Some(p);
                }
                Some(p)
            }
            Placement::Unplaced => None,
        };
        if let Some(p) = person {
            people::assign_faces(tx, &[face_id], Some(p))?;
        }
        known.push((face_id, GroupedFace { person, ..mine }));
    }
    Ok(())
}

fn grouped(rows: Vec<people::GroupingFace>) -> Vec<(i64, GroupedFace<i64>)> {
    rows.into_iter()
        .filter_map(|r| {
            // A stored embedding that does not read back is left out of grouping, not guessed.
            let embedding = Embedding::from_bytes(&r.embedding)?;
            Some((r.id, GroupedFace { embedding, person: r.person_id, pinned: r.pinned }))
        })
        .collect()
}

/// Groups every owner's faces again from scratch (see [`crate::people::regroup`]); returns how
/// many faces changed person.
pub fn regroup_all(catalog: &Catalog, rules: GroupingRules, now: i64) -> Result<usize, CatalogError> {
    let owners = catalog.read(people::owners_with_faces)?;
    let mut changed = 0;
    for owner in owners {
        let faces = grouped(catalog.read(move |r| people::grouping_faces(r, owner))?);
        let input: Vec<GroupedFace<i64>> = faces.iter().map(|(_, f)| f.clone()).collect();
        let outcome = regroup(&input, rules);
        changed += catalog.write(|tx| {
            let mut new_people: std::collections::HashMap<usize, i64> = std::collections::HashMap::new();
            let mut changed = 0;
            for ((id, face), to) in faces.iter().zip(&outcome) {
                let person = match to {
                    Regrouped::Person(p) => Some(*p),
                    Regrouped::New(n) => Some(match new_people.get(n) {
                        Some(&p) => p,
                        None => {
                            let p = people::create_person(tx, owner, now)?;
                            new_people.insert(*n, p);
                            p
                        }
                    }),
                    Regrouped::None => None,
                };
                if person != face.person && !face.pinned {
                    people::assign_faces(tx, &[*id], person)?;
                    changed += 1;
                }
            }
            people::remove_empty_people(tx, owner)?;
            Ok(changed)
        })?;
    }
    catalog.write(|tx| hearth_catalog::settings::set(tx, LAST_REGROUP_KEY, &now.to_string()))?;
    Ok(changed)
}

/// Whether a day has passed since the last regrouping.
pub fn regroup_due(catalog: &Catalog, now: i64) -> Result<bool, CatalogError> {
    let last = catalog.read(|r| hearth_catalog::settings::get(r, LAST_REGROUP_KEY))?.and_then(|v| v.parse::<i64>().ok());
    Ok(last.is_none_or(|t| now - t >= 24 * 3600 || now < t))
}
