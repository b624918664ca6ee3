//! The trash of the family's files (migration 0021): one row per file or folder a DELETE moved
//! aside, with the path it had. The item itself is a file system matter (`hearth_dav::trash`).

use rusqlite::{OptionalExtension, params};

use crate::error::CatalogError;
use crate::store::Connection;

/// A trashed item's id (its name in the trash folder too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct TrashId(pub i64);

impl std::fmt::Display for TrashId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One trashed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trashed {
    /// Its id.
    pub id: TrashId,
    /// The path it had (names joined by `/`).
    pub path: String,
    /// Unix seconds.
    pub deleted_at: i64,
    /// Its bytes (of everything in it, for a folder).
    pub size: u64,
    /// Whether it is a folder.
    pub folder: bool,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Trashed> {
    Ok(Trashed {
        id: TrashId(r.get(0)?),
        path: r.get(1)?,
        deleted_at: r.get(2)?,
        size: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
        folder: r.get::<_, i64>(4)? != 0,
    })
}

/// Records an item about to be moved to the trash; its id.
pub fn add(conn: &Connection, space: &str, path: &str, deleted_at: i64, size: u64, folder: bool) -> Result<TrashId, CatalogError> {
    conn.prepare_cached("INSERT INTO dav_trash (space, path, deleted_at, size, folder) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![
        space,
        path,
        deleted_at,
        i64::try_from(size).unwrap_or(i64::MAX),
        i64::from(folder)
    ])?;
    Ok(TrashId(conn.last_insert_rowid()))
}

/// A space's trashed items, newest first.
pub fn list(conn: &Connection, space: &str) -> Result<Vec<Trashed>, CatalogError> {
    let mut st =
        conn.prepare_cached("SELECT id, path, deleted_at, size, folder FROM dav_trash WHERE space = ?1 ORDER BY deleted_at DESC, id DESC")?;
    let rows = st.query_map(params![space], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One item of a space.
pub fn get(conn: &Connection, space: &str, id: TrashId) -> Result<Option<Trashed>, CatalogError> {
    Ok(conn
        .prepare_cached("SELECT id, path, deleted_at, size, folder FROM dav_trash WHERE space = ?1 AND id = ?2")?
        .query_row(params![space, id.0], from_row)
        .optional()?)
}

/// Forgets an item (put back or removed for good).
/// The space whose trash holds item `id` (ids are the box's: one space has it).
pub fn space_of(conn: &Connection, id: TrashId) -> Result<Option<String>, CatalogError> {
    Ok(conn.prepare_cached("SELECT space FROM dav_trash WHERE id = ?1")?.query_row(params![id.0], |r| r.get(0)).optional()?)
}

pub fn remove(conn: &Connection, space: &str, id: TrashId) -> Result<(), CatalogError> {
    conn.prepare_cached("DELETE FROM dav_trash WHERE space = ?1 AND id = ?2")?.execute(params![space, id.0])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn items_are_listed_newest_first_per_space_and_forgotten() {
        let dir = tempfile::tempdir().expect("tmp");
        let (cat, _) = Catalog::open(&dir.path().join("h.db")).expect("open");
        cat.write(|tx| {
            let a = add(tx, "home:1", "School/notes.txt", 100, 16, false)?;
            let b = add(tx, "home:1", "Old", 200, 4096, true)?;
            add(tx, "home:2", "theirs", 300, 1, false)?;
            let listed = list(tx, "home:1")?;
            assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [b, a]);
            assert!(listed[0].folder && !listed[1].folder);
            assert_eq!(get(tx, "home:2", a)?, None, "another space's item is not there");
            assert_eq!(space_of(tx, a)?.as_deref(), Some("home:1"));
            assert_eq!(space_of(tx, TrashId(999))?, None);
            remove(tx, "home:1", a)?;
            assert_eq!(list(tx, "home:1")?.len(), 1);
            Ok(())
        })
        .expect("write");
    }
}
