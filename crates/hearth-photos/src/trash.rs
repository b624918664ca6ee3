//! The trash's expiry: photos stay in the trash for [`KEEP_DAYS`] days (restorable), then they
//! leave the library. An uploaded file is deleted with its asset (the library was its only
//! home); a file that came from a sync folder, an external library or a user's files stays where
//! it is (that folder owns it). Thumbnails go when no asset has that content any more.

use std::path::Path;

use hearth_catalog::assets;
use hearth_catalog::{Catalog, CatalogError};

use crate::thumbnail::{GRID, VIEW};
use crate::thumbnail_jobs::thumbnail_path;

/// Days a photo stays in the trash.
pub const KEEP_DAYS: i64 = 30;

/// Remove what has been in the trash longer than [`KEEP_DAYS`] at `now`; how many assets left.
pub fn expire(catalog: &Catalog, data_dir: &Path, now: i64) -> Result<usize, CatalogError> {
    let before = now - KEEP_DAYS * 86400;
    let mut removed = 0;
    loop {
        let batch = catalog.read(move |r| assets::expired_trash(r, before, 500))?;
        if batch.is_empty() {
            return Ok(removed);
        }
        for e in batch {
            let (id, owner) = (e.id, e.owner_id);
            catalog.write(move |tx| assets::delete(tx, owner, id))?;
            removed += 1;
            let library = data_dir.join("library");
            let file = data_dir.join(&e.file.path);
            // Only a file the library itself holds, never one reached through `..`.
            let stored = Path::new(&e.file.path);
            let inside = !stored.is_absolute() && !stored.components().any(|c| matches!(c, std::path::Component::ParentDir));
            let uploaded = e.source == "upload" && inside && file.starts_with(&library);
            if uploaded
                && let Err(err) = std::fs::remove_file(&file)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(file = %file.display(), error = %err, "an expired photo's file could not be removed");
            }
            let checksum = e.file.checksum;
            if !catalog.read(move |r| assets::checksum_in_use(r, &checksum))? {
                for edge in [GRID, VIEW] {
                    let _ = std::fs::remove_file(thumbnail_path(&data_dir.join("cache"), &checksum, edge));
                }
            }
        }
    }
}
