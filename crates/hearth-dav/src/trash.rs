//! The trash of the family's files (docs/files.md, "Versions and trash"): a DELETE moves the
//! file or folder whole to `<trash>/<id>` after recording it (`hearth_catalog::dav_trash`); its
//! file ids and dead properties wait under the key `/trash/<id>`. Putting back and removing
//! for good are here too. Callers hold the space's commit lock; all of it is blocking work.

use std::io;
use std::path::PathBuf;

use hearth_catalog::dav_trash::{self, TrashId, Trashed};
use hearth_catalog::{Catalog, CatalogError, dav_files, dav_properties};

use crate::path::DavPath;
use crate::tree::Tree;

/// Why the trash could not do something.
#[derive(Debug, thiserror::Error)]
pub enum TrashError {
    /// No such item in this space's trash.
    #[error("there is no such item in the trash")]
    NotFound,
    /// The catalog refused.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// One user's trash folder.
#[derive(Debug, Clone)]
pub struct Trash {
    root: PathBuf,
}

/// The catalog key a trashed item's ids and properties wait under.
fn waiting_key(id: TrashId) -> String {
    format!("/trash/{id}")
}

/// The path a file id's row (`dav_files::by_id`: space and path) names in the files of
/// `space`, when it is there: `None` for another space, and for an item waiting in the trash
/// (its rows are kept under a key that starts with `/`, which no path does).
pub fn live_path(space: &str, row: Option<(String, String)>) -> Option<DavPath> {
    let (in_space, key) = row?;
    if in_space != space || key.starts_with('/') {
        return None;
    }
    DavPath::from_key(&key).ok()
}

impl Trash {
    /// The trash kept under `root` (on the same file system as the files).
    pub fn new(root: PathBuf) -> Trash {
        Trash { root }
    }

    fn item(&self, id: TrashId) -> PathBuf {
        self.root.join(id.0.to_string())
    }

    /// Moves what is at `path` in `space` to the trash: recorded first, then moved (a row
    /// whose item never arrived is dropped when listed), then its ids and properties follow.
    pub fn put(&self, catalog: &Catalog, space: &str, tree: &Tree, path: &DavPath, now: i64) -> Result<TrashId, TrashError> {
        let entry = tree.stat(path)?.ok_or(TrashError::NotFound)?;
        let size = if entry.is_folder() { tree.size_beneath(path)? } else { entry.size };
        let key = path.key();
        let id = catalog.write(|tx| dav_trash::add(tx, space, &key, now, size, entry.is_folder()))?;
        if let Err(e) = tree.move_out(path, &self.item(id)) {
            catalog.write(|tx| dav_trash::remove(tx, space, id))?;
            return Err(e.into());
        }
        let waiting = waiting_key(id);
        catalog.write(|tx| {
            dav_files::move_tree(tx, space, &key, &waiting)?;
            dav_properties::move_tree(tx, space, &key, &waiting)
        })?;
        Ok(id)
    }

    /// A space's trashed items that are there, newest first.
    pub fn list(&self, catalog: &Catalog, space: &str) -> Result<Vec<Trashed>, TrashError> {
        let rows = catalog.read(|c| dav_trash::list(c, space))?;
        Ok(rows.into_iter().filter(|t| self.item(t.id).symlink_metadata().is_ok()).collect())
    }

    /// Puts an item back at the path it had, making the folders above it when they are gone;
    /// `name (restored)` (or `(restored 2)`…) when the name is taken. Where it came back.
    pub fn restore(&self, catalog: &Catalog, space: &str, tree: &Tree, id: TrashId) -> Result<DavPath, TrashError> {
        let item = catalog.read(|c| dav_trash::get(c, space, id))?.ok_or(TrashError::NotFound)?;
        let from = self.item(id);
        if from.symlink_metadata().is_err() {
            return Err(TrashError::NotFound);
        }
        let original = DavPath::from_key(&item.path).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let parent = original.parent().unwrap_or_default();
        tree.make_folders(&parent)?;
        let name = original.name().unwrap_or("restored").to_string();
        let mut at = original.clone();
        for n in 1..=100 {
            match tree.move_in(&from, &at) {
                Ok(()) => {
                    let (waiting, key) = (waiting_key(id), at.key());
                    catalog.write(|tx| {
                        dav_files::move_tree(tx, space, &waiting, &key)?;
                        dav_properties::move_tree(tx, space, &waiting, &key)?;
                        dav_trash::remove(tx, space, id)
                    })?;
                    return Ok(at);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let suffix = if n == 1 { " (restored)".to_string() } else { format!(" (restored {n})") };
                    let new_name = match name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty() && !item.folder) {
                        Some((stem, ext)) => format!("{stem}{suffix}.{ext}"),
                        None => format!("{name}{suffix}"),
                    };
                    at = parent.child(&new_name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, "every restored name is taken").into())
    }

    /// Removes an item for good, with its waiting ids and properties.
    pub fn purge(&self, catalog: &Catalog, space: &str, id: TrashId) -> Result<(), TrashError> {
        let path = self.item(id);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path)?,
            Ok(_) => std::fs::remove_file(&path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let waiting = waiting_key(id);
        catalog.write(|tx| {
            dav_files::delete_tree(tx, space, &waiting)?;
            dav_properties::delete_tree(tx, space, &waiting)?;
            dav_trash::remove(tx, space, id)
        })?;
        Ok(())
    }

    /// Every row of the space, with whether its item is there (for expiry).
    pub fn all(&self, catalog: &Catalog, space: &str) -> Result<Vec<(Trashed, bool)>, TrashError> {
        let rows = catalog.read(|c| dav_trash::list(c, space))?;
        Ok(rows.into_iter().map(|t| (self.item(t.id).symlink_metadata().is_ok(), t)).map(|(there, t)| (t, there)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_waiting_in_the_trash_names_no_live_path() {
        let row = |space: &str, path: &str| Some((space.to_string(), path.to_string()));
        assert_eq!(live_path("home:1", row("home:1", "School/a.pdf")).map(|p| p.key()), Some("School/a.pdf".to_string()));
        assert_eq!(live_path("home:1", row("home:1", "/trash/1/a.pdf")), None, "waiting in the trash");
        assert_eq!(live_path("home:1", row("home:2", "School/a.pdf")), None, "another member's");
        assert_eq!(live_path("home:1", None), None);
    }

    #[test]
    fn a_trashed_folder_comes_back_with_its_ids_beside_what_took_its_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let (catalog, _) = Catalog::open(&dir.path().join("h.db")).expect("catalog");
        let tree = Tree::open(dir.path().join("files"), dir.path().join("scratch")).expect("tree");
        let trash = Trash::new(dir.path().join("trash"));
        let p = |s: &str| DavPath::from_encoded(s).expect("path");
        std::fs::create_dir_all(dir.path().join("files/School/2026")).expect("mkdir");
        std::fs::write(dir.path().join("files/School/2026/notes.txt"), "maths").expect("write");
        let ids = catalog.write(|tx| dav_files::assign(tx, "home:1", &["School/2026/notes.txt".to_string()])).expect("ids");
        let id = trash.put(&catalog, "home:1", &tree, &p("School"), 50).expect("trash");
        assert!(!dir.path().join("files/School").exists());
        let listed = trash.list(&catalog, "home:1").expect("list");
        assert_eq!((listed[0].path.as_str(), listed[0].size, listed[0].folder), ("School", 5, true));
        // Meanwhile a new School folder is made; the old one comes back beside it.
        std::fs::create_dir_all(dir.path().join("files/School")).expect("mkdir");
        let back = trash.restore(&catalog, "home:1", &tree, id).expect("restore");
        assert_eq!(back.key(), "School (restored)");
        assert_eq!(std::fs::read(dir.path().join("files/School (restored)/2026/notes.txt")).expect("back"), b"maths");
        let kept = catalog.read(|c| dav_files::id_of(c, "home:1", "School (restored)/2026/notes.txt")).expect("id");
        assert_eq!(kept, Some(ids["School/2026/notes.txt"]), "the file keeps its id");
        assert!(trash.list(&catalog, "home:1").expect("list").is_empty());
        // A file whose folder is gone comes back with its folders made; purge forgets for good.
        let id = trash.put(&catalog, "home:1", &tree, &p("School%20(restored)/2026/notes.txt"), 60).expect("trash");
        std::fs::remove_dir_all(dir.path().join("files/School (restored)")).expect("rm");
        assert_eq!(trash.restore(&catalog, "home:1", &tree, id).expect("restore").key(), "School (restored)/2026/notes.txt");
        let id = trash.put(&catalog, "home:1", &tree, &p("School%20(restored)/2026/notes.txt"), 70).expect("trash");
        trash.purge(&catalog, "home:1", id).expect("purge");
        assert!(matches!(trash.restore(&catalog, "home:1", &tree, id), Err(TrashError::NotFound)));
        assert_eq!(std::fs::read_dir(dir.path().join("trash")).expect("trash").count(), 0);
    }
}
