//! Folders the library watches in place: external libraries (an old disk, an archive; never
//! written to), each user's photo folders among their files (`files.photo_folders`: `Photos`,
//! the Nextcloud apps' `InstantUpload`…, under `DATA/users/<name>/files/`), and camera folders
//! (sync folders marked for a user). A scan ingests what is new, follows what moved
//! (same content at a new path: the asset keeps its id, albums and favourites), sends to the
//! trash what vanished (marked missing: restorable, and restored by itself when the file comes
//! back), and does nothing at all to a folder that is not there (an unplugged disk is not the
//! family deleting their photos).

use std::path::{Path, PathBuf};

use hearth_catalog::assets::{self, Source};
use hearth_catalog::{Catalog, CatalogError};

use crate::ingest;

/// A folder that feeds a user's library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Whose library.
    pub owner_id: i64,
    /// What kind of folder.
    pub source: Source,
    /// The folder.
    pub path: PathBuf,
}

/// What a scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scan {
    /// The folder was not there: nothing was touched.
    pub offline: bool,
    /// New, moved or changed files taken in.
    pub taken_in: usize,
    /// Assets whose file vanished, now in the trash.
    pub missing: usize,
    /// Assets whose file came back, out of the trash.
    pub back: usize,
}

/// Every watched folder: external libraries, users' photo folders that exist (`photo_folders`,
/// relative to each user's files), camera folders.
pub fn roots(catalog: &Catalog, data_dir: &Path, photo_folders: &[String]) -> Result<Vec<Root>, CatalogError> {
    let data_dir = data_dir.to_path_buf();
    let photo_folders = photo_folders.to_vec();
    catalog.read(move |r| {
        let mut out: Vec<Root> = assets::libraries(r)?
            .into_iter()
            .map(|(l, owner)| Root { owner_id: owner, source: Source::External, path: PathBuf::from(l.path) })
            .collect();
        for u in hearth_catalog::users::list(r)? {
            let files = data_dir.join("users").join(&u.name).join("files");
            for folder in &photo_folders {
                let photos = files.join(folder);
                // One folder inside another is scanned once, as part of the outer one.
                let inside_another = photo_folders.iter().any(|other| other != folder && photos.starts_with(files.join(other)));
                if photos.is_dir() && !inside_another {
                    out.push(Root { owner_id: u.id, source: Source::Files, path: photos });
                }
            }
        }
        for (folder, owner) in assets::camera_folders(r)? {
            if let Some(f) = hearth_catalog::sync_folders::get_folder(r, &folder)? {
                out.push(Root { owner_id: owner, source: Source::Sync, path: PathBuf::from(f.path) });
            }
        }
        Ok(out)
    })
}

/// Scan one watched folder (see the module's description).
pub fn scan(catalog: &Catalog, root: &Root, data_dir: &Path, now: i64) -> Result<Scan, CatalogError> {
    scan_root(catalog, root, data_dir, now)
}

/// Scan the watched folders that hold `path` (a version put back, a file restored by hand), so
/// what came back is in the library now, not at the next scheduled scan; how many were scanned.
pub fn scan_holding(catalog: &Catalog, data_dir: &Path, photo_folders: &[String], path: &Path, now: i64) -> Result<usize, CatalogError> {
    let mut scanned = 0;
    for root in roots(catalog, data_dir, photo_folders)?.into_iter().filter(|r| path.starts_with(&r.path)) {
        scan_root(catalog, &root, data_dir, now)?;
        scanned += 1;
    }
    Ok(scanned)
}

fn scan_root(catalog: &Catalog, root: &Root, data_dir: &Path, now: i64) -> Result<Scan, CatalogError> {
    if !root.path.is_dir() {
        return Ok(Scan { offline: true, ..Scan::default() });
    }
    let (added, _, _) = ingest::ingest_tree(catalog, root.owner_id, root.source, &root.path, data_dir, now);
    let mut prefix = ingest::stored_path(&root.path, data_dir);
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    let (owner, source) = (root.owner_id, root.source);
    let known = catalog.read(move |r| assets::under(r, owner, source, &prefix))?;
    let mut scan = Scan { taken_in: added, ..Scan::default() };
    let mut changes = Vec::new();
    for (id, path, missing_since) in known {
        let there = data_dir.join(&path).is_file();
        match (there, missing_since) {
            (false, None) => {
                changes.push((id, Some(now)));
                scan.missing += 1;
            }
            (true, Some(_)) => {
                changes.push((id, None));
                scan.back += 1;
            }
            _ => {}
        }
    }
    if !changes.is_empty() {
        catalog.write(move |tx| {
            for (id, since) in &changes {
                assets::set_missing(tx, *id, *since)?;
            }
            Ok(())
        })?;
    }
    Ok(scan)
}
