//! WebDAV dead properties (migration 0018): what clients set with PROPPATCH, per space and path.
//! Paths are names joined by `/` (empty for a space's root); the tree operations carry or drop
//! the rows of everything below a path, so they follow MOVE, COPY and DELETE.

use rusqlite::params;

use crate::error::CatalogError;
use crate::store::Connection;

/// One property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProperty {
    /// Its namespace (empty for none).
    pub namespace: String,
    /// Its local name.
    pub name: String,
    /// Its XML content.
    pub value: String,
}

/// Rows of `path` and everything below it: `path = ?` or `path` starting with `?/`. For the
/// root (empty path) that is every row of the space.
pub(crate) const BELOW: &str = "(?2 = '' OR path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/')";

/// The properties of one resource, by namespace and name.
pub fn of(conn: &Connection, space: &str, path: &str) -> Result<Vec<DeadProperty>, CatalogError> {
    let mut st =
        conn.prepare_cached("SELECT namespace, name, value FROM dav_properties WHERE space = ?1 AND path = ?2 ORDER BY namespace, name")?;
    let rows = st.query_map(params![space, path], |r| Ok(DeadProperty { namespace: r.get(0)?, name: r.get(1)?, value: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The properties of `folder` and of its direct members, by path (one query, for a PROPFIND
/// with `Depth: 1`).
pub fn of_folder_and_members(
    conn: &Connection,
    space: &str,
    folder: &str,
) -> Result<std::collections::HashMap<String, Vec<DeadProperty>>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT path, namespace, name, value FROM dav_properties
         WHERE space = ?1 AND (path = ?2 OR (
            (?2 = '' OR substr(path, 1, length(?2) + 1) = ?2 || '/')
            AND path != ?2
            AND instr(substr(path, CASE WHEN ?2 = '' THEN 1 ELSE length(?2) + 2 END), '/') = 0))
         ORDER BY path, namespace, name",
    )?;
    let mut out: std::collections::HashMap<String, Vec<DeadProperty>> = std::collections::HashMap::new();
    let rows = st.query_map(params![space, folder], |r| {
        Ok((r.get::<_, String>(0)?, DeadProperty { namespace: r.get(1)?, name: r.get(2)?, value: r.get(3)? }))
    })?;
    for row in rows {
        let (path, p) = row?;
        out.entry(path).or_default().push(p);
    }
    Ok(out)
}

/// Sets one property.
pub fn set(conn: &Connection, space: &str, path: &str, namespace: &str, name: &str, value: &str) -> Result<(), CatalogError> {
    conn.prepare_cached(
        "INSERT INTO dav_properties (space, path, namespace, name, value) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (space, path, namespace, name) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![space, path, namespace, name, value])?;
    Ok(())
}

/// Removes one property (nothing when it is not there).
pub fn remove(conn: &Connection, space: &str, path: &str, namespace: &str, name: &str) -> Result<(), CatalogError> {
    conn.prepare_cached("DELETE FROM dav_properties WHERE space = ?1 AND path = ?2 AND namespace = ?3 AND name = ?4")?
        .execute(params![space, path, namespace, name])?;
    Ok(())
}

/// Drops the properties of `path` and everything below it.
pub fn delete_tree(conn: &Connection, space: &str, path: &str) -> Result<usize, CatalogError> {
    Ok(conn.prepare_cached(&format!("DELETE FROM dav_properties WHERE space = ?1 AND {BELOW}"))?.execute(params![space, path])?)
}

/// Copies the properties of `from` and everything below it to the same places under `to`
/// (replacing what `to` had there).
pub fn copy_tree(conn: &Connection, space: &str, from: &str, to: &str) -> Result<usize, CatalogError> {
    copy_tree_to(conn, space, from, space, to)
}

/// [`copy_tree`] into another space (a copy between a member's files and a family folder).
pub fn copy_tree_to(conn: &Connection, space: &str, from: &str, to_space: &str, to: &str) -> Result<usize, CatalogError> {
    Ok(conn
        .prepare_cached(&format!(
            "INSERT OR REPLACE INTO dav_properties (space, path, namespace, name, value)
             SELECT ?4, CASE WHEN ?2 = '' THEN (CASE WHEN path = '' THEN ?3 ELSE ?3 || '/' || path END)
                             ELSE ?3 || substr(path, length(?2) + 1) END, namespace, name, value
             FROM dav_properties WHERE space = ?1 AND {BELOW}"
        ))?
        .execute(params![space, from, to, to_space])?)
}

/// Moves the properties of `from` and everything below it under `to`: what `to` had is
/// dropped first, then the rows are renamed.
pub fn move_tree(conn: &Connection, space: &str, from: &str, to: &str) -> Result<(), CatalogError> {
    move_tree_to(conn, space, from, space, to)
}

/// [`move_tree`] into another space (a move between a member's files and a family folder).
pub fn move_tree_to(conn: &Connection, space: &str, from: &str, to_space: &str, to: &str) -> Result<(), CatalogError> {
    if from.is_empty() || (space == to_space && from == to) {
        return Ok(());
    }
    delete_tree(conn, to_space, to)?;
    conn.prepare_cached(&format!(
        "UPDATE dav_properties SET space = ?4, path = ?3 || substr(path, length(?2) + 1) WHERE space = ?1 AND {BELOW}"
    ))?
    .execute(params![space, from, to, to_space])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    fn names(conn: &Connection, path: &str) -> Vec<String> {
        of(conn, "home:1", path).expect("of").into_iter().map(|p| format!("{}={}", p.name, p.value)).collect()
    }

    #[test]
    fn properties_follow_moves_copies_and_deletes_of_their_tree() {
        let dir = tempfile::tempdir().expect("tmp");
        let (cat, _) = Catalog::open(&dir.path().join("h.db")).expect("open");
        cat.write(|tx| {
            set(tx, "home:1", "a", "urn:x", "p", "1")?;
            set(tx, "home:1", "a/b", "urn:x", "p", "2")?;
            set(tx, "home:1", "ab", "urn:x", "p", "3")?;
            set(tx, "home:2", "a", "urn:x", "p", "other space")?;
            set(tx, "home:1", "a", "urn:x", "p", "1b")?;
            assert_eq!(names(tx, "a"), ["p=1b"]);
            copy_tree(tx, "home:1", "a", "c/d")?;
            assert_eq!(names(tx, "c/d/b"), ["p=2"]);
            move_tree(tx, "home:1", "a", "z")?;
            assert!(names(tx, "a").is_empty() && names(tx, "a/b").is_empty());
            assert_eq!(names(tx, "z/b"), ["p=2"]);
            assert_eq!(names(tx, "ab"), ["p=3"], "a sibling whose name starts alike stays");
            // Between spaces (a member's files and a family folder), both ways.
            copy_tree_to(tx, "home:1", "z", "family:3", "copied")?;
            assert_eq!(of(tx, "family:3", "copied/b")?.len(), 1);
            move_tree_to(tx, "home:1", "z", "family:3", "moved")?;
            assert!(names(tx, "z/b").is_empty());
            assert_eq!(of(tx, "family:3", "moved/b")?[0].value, "2");
            move_tree_to(tx, "family:3", "moved", "home:1", "z")?;
            assert_eq!(names(tx, "z/b"), ["p=2"]);
            assert_eq!(delete_tree(tx, "home:1", "z")?, 2);
            remove(tx, "home:1", "ab", "urn:x", "p")?;
            remove(tx, "home:1", "ab", "urn:x", "p")?;
            assert!(names(tx, "ab").is_empty());
            assert_eq!(of(tx, "home:2", "a")?.len(), 1);
            // A folder and its members in one query: not the grandchildren, not look-alikes.
            set(tx, "home:1", "f", "urn:x", "p", "folder")?;
            set(tx, "home:1", "f/a", "urn:x", "p", "member")?;
            set(tx, "home:1", "f/a/b", "urn:x", "p", "grandchild")?;
            set(tx, "home:1", "fa", "urn:x", "p", "look-alike")?;
            let found = of_folder_and_members(tx, "home:1", "f")?;
            let mut keys: Vec<&String> = found.keys().collect();
            keys.sort();
            assert_eq!(keys, ["f", "f/a"]);
            let root = of_folder_and_members(tx, "home:1", "")?;
            let mut keys: Vec<&String> = root.keys().collect();
            keys.sort();
            assert_eq!(keys, ["f", "fa"], "the root's members only (c/d has a property, c none)");
            Ok(())
        })
        .expect("write");
    }
}
