//! WebDAV file ids (migration 0019): the number a Nextcloud client knows a file or folder by,
//! kept when it is overwritten or moved. Ids are handed out the first time a client needs one;
//! the tree operations carry (MOVE) or drop (DELETE, a COPY's replaced destination) the rows of
//! everything below a path, as [`crate::dav_properties`] does.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use crate::dav_properties::BELOW;
use crate::error::CatalogError;
use crate::store::Connection;

/// A file's id, unique on the box (spaces share one sequence, as a Nextcloud's file cache does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub i64);

impl std::fmt::Display for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The ids `folder` and its direct members already have, by path.
pub fn of_folder_and_members(conn: &Connection, space: &str, folder: &str) -> Result<HashMap<String, FileId>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT path, id FROM dav_files
         WHERE space = ?1 AND (path = ?2 OR (
            (?2 = '' OR substr(path, 1, length(?2) + 1) = ?2 || '/')
            AND path != ?2
            AND instr(substr(path, CASE WHEN ?2 = '' THEN 1 ELSE length(?2) + 2 END), '/') = 0))",
    )?;
    let rows = st.query_map(params![space, folder], |r| Ok((r.get::<_, String>(0)?, FileId(r.get(1)?))))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The id of one path, when it has one.
pub fn id_of(conn: &Connection, space: &str, path: &str) -> Result<Option<FileId>, CatalogError> {
    Ok(conn
        .prepare_cached("SELECT id FROM dav_files WHERE space = ?1 AND path = ?2")?
        .query_row(params![space, path], |r| r.get(0).map(FileId))
        .optional()?)
}

/// The ids of `paths`, given to those that have none yet.
pub fn assign(conn: &Connection, space: &str, paths: &[String]) -> Result<HashMap<String, FileId>, CatalogError> {
    let mut out = HashMap::with_capacity(paths.len());
    for path in paths {
        conn.prepare_cached("INSERT OR IGNORE INTO dav_files (space, path) VALUES (?1, ?2)")?.execute(params![space, path])?;
        if let Some(id) = id_of(conn, space, path)? {
            out.insert(path.clone(), id);
        }
    }
    Ok(out)
}

/// The space and path an id names.
pub fn by_id(conn: &Connection, id: FileId) -> Result<Option<(String, String)>, CatalogError> {
    Ok(conn
        .prepare_cached("SELECT space, path FROM dav_files WHERE id = ?1")?
        .query_row(params![id.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Drops the ids of `path` and everything below it.
pub fn delete_tree(conn: &Connection, space: &str, path: &str) -> Result<usize, CatalogError> {
    Ok(conn.prepare_cached(&format!("DELETE FROM dav_files WHERE space = ?1 AND {BELOW}"))?.execute(params![space, path])?)
}

/// Moves the ids of `from` and everything below it under `to`: the ids `to` had are dropped
/// first (the moved files keep theirs).
pub fn move_tree(conn: &Connection, space: &str, from: &str, to: &str) -> Result<(), CatalogError> {
    move_tree_to(conn, space, from, space, to).map(|_| ())
}

/// [`move_tree`] into another space: a file moved between a member's files and a family folder
/// keeps its id (and the share links that name it); the ids moved.
pub fn move_tree_to(conn: &Connection, space: &str, from: &str, to_space: &str, to: &str) -> Result<Vec<FileId>, CatalogError> {
    if from.is_empty() || (space == to_space && from == to) {
        return Ok(Vec::new());
    }
    delete_tree(conn, to_space, to)?;
    let mut st = conn.prepare_cached(&format!(
        "UPDATE dav_files SET space = ?4, path = ?3 || substr(path, length(?2) + 1) WHERE space = ?1 AND {BELOW} RETURNING id"
    ))?;
    let ids = st.query_map(params![space, from, to, to_space], |r| r.get(0).map(FileId))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn ids_are_given_once_and_follow_moves_but_not_copies_or_deletes() {
        let dir = tempfile::tempdir().expect("tmp");
        let (cat, _) = Catalog::open(&dir.path().join("h.db")).expect("open");
        cat.write(|tx| {
            let paths: Vec<String> = ["", "a", "a/b", "ab"].iter().map(|s| s.to_string()).collect();
            let first = assign(tx, "home:1", &paths)?;
            assert_eq!(first.len(), 4);
            assert_eq!(assign(tx, "home:1", &paths)?, first, "a second ask gives the same ids");
            let other = assign(tx, "home:2", &["a".to_string()])?;
            assert_ne!(other["a"], first["a"], "ids are unique on the box");
            assert_eq!(by_id(tx, first["a/b"])?, Some(("home:1".to_string(), "a/b".to_string())));
            let listed = of_folder_and_members(tx, "home:1", "")?;
            assert_eq!(listed.len(), 3, "the root, a and ab; not a/b");
            // A move keeps the ids; what the destination had goes.
            assign(tx, "home:1", &["z".to_string(), "z/old".to_string()])?;
            move_tree(tx, "home:1", "a", "z")?;
            assert_eq!(id_of(tx, "home:1", "z")?, Some(first["a"]));
            assert_eq!(id_of(tx, "home:1", "z/b")?, Some(first["a/b"]));
            assert_eq!(id_of(tx, "home:1", "z/old")?, None);
            assert_eq!(id_of(tx, "home:1", "a")?, None);
            assert_eq!(id_of(tx, "home:1", "ab")?, Some(first["ab"]), "a look-alike sibling stays");
            // Into another space (a family folder): the ids go along, the look-alike stays.
            assign(tx, "family:3", &["in".to_string(), "in/z".to_string()])?;
            let moved = move_tree_to(tx, "home:1", "z", "family:3", "in/z")?;
            assert_eq!(moved.len(), 2, "z and z/b");
            assert_eq!(by_id(tx, first["a/b"])?, Some(("family:3".to_string(), "in/z/b".to_string())));
            assert_eq!(id_of(tx, "home:1", "z")?, None);
            assert_eq!(id_of(tx, "home:1", "ab")?, Some(first["ab"]));
            move_tree_to(tx, "family:3", "in/z", "home:1", "z")?;
            assert_eq!(delete_tree(tx, "home:1", "z")?, 2);
            assert_eq!(by_id(tx, first["a/b"])?, None);
            // A deleted path asked again gets a new id, never an old one.
            let again = assign(tx, "home:1", &["z".to_string()])?;
            assert!(again["z"].0 > first["a"].0.max(other["a"].0));
            Ok(())
        })
        .expect("write");
    }
}
