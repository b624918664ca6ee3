//! The thumbnail jobs: what the `thumbnail` worker process does with each job the queue
//! (`hearth_catalog::jobs`) gives it — read the asset's file, make both sizes, put them in the
//! content-addressed cache, and record the outcome on the asset and the job.
//!
//! Decoding pixels is where a hostile or broken file can do harm, which is why this runs in a
//! worker process under the board's memory budget rather than in the daemon: a decoder that
//! panics fails the job (the panic is caught: the same input would panic again); one that takes
//! the whole process down (out of memory, an abort) leaves the job `running`, and the queue's
//! recovery retries it once and then quarantines it.
//!
//! The cache: `DATA/cache/thumbs/ab/<blake3 of the original>-{250,1440}.jpg`, written atomically,
//! shared by every copy of the same photo, so a thumbnail already there is not made again.

use std::path::{Path, PathBuf};

use hearth_catalog::{Catalog, CatalogError, assets, jobs};

use crate::thumbnail::{self, GRID, VIEW};

/// What the family sees on a photo set aside after crashing the worker twice.
pub const QUARANTINED: &str =
    "making this photo's thumbnails stopped the thumbnail worker twice, so it is set aside; the original is kept and can be downloaded";

/// Where the thumbnail of `checksum` at `edge` px lives under `cache` (`DATA/cache`).
pub fn thumbnail_path(cache: &Path, checksum: &[u8; 32], edge: u32) -> PathBuf {
    let hex = hearth_core::hex::lower(checksum);
    cache.join("thumbs").join(&hex[..2]).join(format!("{hex}-{edge}.jpg"))
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Both thumbnails are in the cache.
    Made,
    /// The asset was deleted while the job waited.
    Gone,
    /// The photo cannot be thumbnailed; the reason is on the asset.
    Failed(String),
}

/// Recover after a worker start: jobs interrupted by the previous worker's death go back to the
/// queue once; the assets of those interrupted twice are marked with [`QUARANTINED`]; the
/// scratch folder's leftovers (`DATA/cache/tmp`) go. Returns (requeued, quarantined).
pub fn recover(catalog: &Catalog, data_dir: &Path, now: i64) -> Result<(usize, usize), CatalogError> {
    let scratch = data_dir.join("cache").join("tmp");
    if let Ok(entries) = std::fs::read_dir(&scratch) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    catalog.write(|tx| {
        let r = jobs::recover(tx, jobs::THUMBNAILS, QUARANTINED, now)?;
        for &asset in &r.quarantined {
            assets::set_thumbnails(tx, asset, Some(QUARANTINED))?;
        }
        Ok((r.requeued, r.quarantined.len()))
    })
}

/// Why a job could not be done at all (not the photo's fault: the job stays running, and is
/// retried once the worker restarts).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The catalog refused.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The thumbnail cache cannot be written (disk full, permissions).
    #[error("the thumbnail cache cannot be written: {0}")]
    Cache(std::io::Error),
}

impl hearth_core::Kinded for RunError {
    fn kind(&self) -> hearth_core::ErrorKind {
        match self {
            RunError::Catalog(e) => e.kind(),
            RunError::Cache(e) => hearth_core::ErrorKind::of_io(e),
        }
    }
}

/// Queue the failed and quarantined thumbnail jobs again (an admin's retry); their assets wait
/// for thumbnails again. How many.
pub fn retry(conn: &hearth_catalog::store::Connection, now: i64) -> Result<usize, CatalogError> {
    let n = jobs::retry(conn, jobs::THUMBNAILS, now)?;
    assets::thumbnails_pending_again(conn)?;
    Ok(n)
}

/// Do one claimed thumbnail job. The caller runs a job with `attempts > 0` alone (see
/// `hearth_catalog::jobs`); the attempt is counted here, right before decoding.
pub fn run(catalog: &Catalog, data_dir: &Path, job: &jobs::Job, now: impl Fn() -> i64) -> Result<Ended, RunError> {
    let asset = job.asset_id;
    let Some(file) = catalog.read(move |r| assets::file_by_id(r, asset))? else {
        catalog.write(|tx| jobs::finish(tx, job.id, now()))?;
        return Ok(Ended::Gone);
    };
    let cache = data_dir.join("cache");
    let targets = [GRID, VIEW].map(|edge| thumbnail_path(&cache, &file.checksum, edge));
    let made = if targets.iter().all(|t| t.exists()) {
        // Another copy of the same photo made them already (its hash is copied below).
        Ok(None)
    } else {
        catalog.write(|tx| jobs::begin(tx, job.id))?;
        make(&data_dir.join(&file.path), &cache.join("tmp"), &targets)
    };
    let end = match made {
        Ok(phash) => {
            catalog.write(|tx| {
                assets::set_thumbnails(tx, asset, None)?;
                assets::set_phash(tx, asset, phash)?;
                // The ML worker reads the preview: its faces and tags come after the thumbnails, and
                // again after new thumbnails (the photo's content changed).
                jobs::requeue(tx, hearth_catalog::people::FACES_JOB, asset, jobs::priority::BULK, now())?;
                jobs::requeue(tx, hearth_catalog::tags::TAGS_JOB, asset, jobs::priority::BULK, now())?;
                // Its picture's vector (free-text search) is made again when the worker next
                // queues what has none.
                hearth_catalog::embeddings::forget(tx, asset)?;
                jobs::finish(tx, job.id, now())
            })?;
            Ended::Made
        }
        Err(Problem::Input(why)) => {
            catalog.write(|tx| {
                assets::set_thumbnails(tx, asset, Some(&why))?;
                jobs::fail(tx, job.id, &why, now())
            })?;
            Ended::Failed(why)
        }
        Err(Problem::Cache(e)) => return Err(RunError::Cache(e)),
    };
    Ok(end)
}

enum Problem {
    /// The file: missing, too big, undecodable. Retrying does not help.
    Input(String),
    /// Our side: the cache cannot be written.
    Cache(std::io::Error),
}

/// Make both thumbnails; the grid one's difference hash.
fn make(original: &Path, scratch: &Path, targets: &[PathBuf; 2]) -> Result<Option<u64>, Problem> {
    #[cfg(debug_assertions)]
    fault_injection(original);
    // A panicking decoder would panic again on the same bytes: that is a failed job, not a crash.
    let thumbs = match std::panic::catch_unwind(|| thumbnail::make_from_file(original, scratch, &[GRID, VIEW])) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err(Problem::Input(e.to_string())),
        Err(_) => return Err(Problem::Input("the photo's pixels could not be decoded (the decoder gave up)".into())),
    };
    for (t, path) in thumbs.iter().zip(targets) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Problem::Cache)?;
        }
        hearth_platform::durable::write_atomic(path, &t.jpeg, 0o600).map_err(Problem::Cache)?;
    }
    Ok(thumbs.iter().find_map(|t| t.dhash))
}

/// Debug builds only: `HEARTH_TEST_ABORT_ON=<file name>` aborts the process when that file is
/// decoded, so the tests can check what a real worker crash does to the queue.
#[cfg(debug_assertions)]
fn fault_injection(original: &Path) {
    if let Some(name) = std::env::var_os("HEARTH_TEST_ABORT_ON")
        && original.file_name() == Some(name.as_os_str())
    {
        eprintln!("HEARTH_TEST_ABORT_ON: aborting on {}", original.display());
        std::process::abort();
    }
}
