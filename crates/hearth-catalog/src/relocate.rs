//! The data folder moved (a box restored from a backup onto a card mounted elsewhere, a
//! development copy): paths the catalog keeps under the old folder are rewritten to the new one.
//! Paths outside it (an external library on another disk) are left as they are.

use rusqlite::Connection;

use crate::CatalogError;

/// Columns that hold absolute paths.
const PATH_COLUMNS: &[(&str, &str)] = &[("sync_folders", "path"), ("assets", "path"), ("libraries", "path")];

/// Rewrite every path equal to `old` or under it to the same place under `new`; how many rows
/// changed. Both are absolute folder paths without a trailing slash.
pub fn data_folder_moved(conn: &Connection, old: &str, new: &str) -> Result<usize, CatalogError> {
    if old == new || old.is_empty() {
        return Ok(0);
    }
    let mut changed = 0;
    for (table, column) in PATH_COLUMNS {
        // substr, not replace(): only the leading occurrence is the folder.
        changed += conn.execute(
            &format!(
                "UPDATE {table} SET {column} = ?2 || substr({column}, length(?1) + 1)
                  WHERE {column} = ?1 OR substr({column}, 1, length(?1) + 1) = ?1 || '/'"
            ),
            [old, new],
        )?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn paths_under_the_old_folder_move_and_others_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (c, _) = Catalog::open(&dir.path().join("hearth.db")).expect("catalog");
        c.write(|tx| {
            for (id, path) in [("a", "/old/folders/a"), ("b", "/old-other/b"), ("c", "/mnt/disk/c")] {
                tx.execute(
                    "INSERT INTO sync_folders (folder_id, label, path, kind, versioning, keep_days, index_id, added_at)
                     VALUES (?1, ?1, ?2, 'send-receive', 'trashcan', 0, 1, 0)",
                    [id, path],
                )?;
            }
            Ok(())
        })
        .expect("folders");
        assert_eq!(c.write(|tx| data_folder_moved(tx, "/old", "/new")).expect("move"), 1);
        let paths: Vec<String> = c
            .read(|r| {
                Ok(r.prepare("SELECT path FROM sync_folders ORDER BY folder_id")?
                    .query_map([], |row| row.get(0))?
                    .collect::<Result<_, _>>()?)
            })
            .expect("paths");
        assert_eq!(paths, ["/new/folders/a", "/old-other/b", "/mnt/disk/c"]);
        assert_eq!(c.write(|tx| data_folder_moved(tx, "/old", "/new")).expect("again"), 0);
    }
}
