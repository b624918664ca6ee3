//! The catalog across a system update (docs/updates.md, "The catalog"): a system on trial that is
//! about to migrate the catalog first copies it with SQLite's online backup, so that if the
//! update is rolled back, the older system finds a catalog of the schema it knows. The older
//! system, finding a catalog newer than it knows and such a copy, puts the copy in place and keeps
//! the newer catalog beside it (never deleted).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::CatalogError;
use crate::migrations;

/// The schema version of the catalog at `path`, read without changing it (`None`: no file).
pub fn schema_of(path: &Path) -> Result<Option<i64>, CatalogError> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| CatalogError::Open { path: path.to_path_buf(), source })?;
    Ok(Some(migrations::version(&conn)?))
}

/// The copy of a catalog of schema `schema` in `dir`.
pub fn snapshot_path(dir: &Path, schema: i64) -> PathBuf {
    dir.join(format!("catalog-schema-{schema}.db"))
}

/// Copy the catalog at `path` into `dir` with SQLite's online backup (a consistent copy, even
/// with a WAL), named by its schema; replaces an older copy of the same schema only once the new
/// one is whole. Returns the copy's path and schema.
pub fn snapshot(path: &Path, dir: &Path) -> Result<(PathBuf, i64), CatalogError> {
    let io = |source: std::io::Error| CatalogError::Io { path: dir.to_path_buf(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let src = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| CatalogError::Open { path: path.to_path_buf(), source })?;
    let schema = migrations::version(&src)?;
    let dest = snapshot_path(dir, schema);
    let tmp = dir.join(format!(".catalog-schema-{schema}.db.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    {
        let mut out = Connection::open(&tmp).map_err(|source| CatalogError::Open { path: tmp.clone(), source })?;
        let backup = rusqlite::backup::Backup::new(&src, &mut out)?;
        backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
    }
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
    // Replacing an older copy of the same schema is the point; the new copy is whole by now.
    std::fs::rename(&tmp, &dest).map_err(io)?;
    sync_dir(dir).map_err(io)?;
    Ok((dest, schema))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Move a file only where nothing is (a hard link never replaces), within one filesystem.
fn move_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// What [`restore_for_this_version`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The schema the catalog had (newer than this version knows).
    pub newer_schema: i64,
    /// Where that catalog was kept.
    pub kept_at: PathBuf,
    /// The copy put in place.
    pub from: PathBuf,
}

/// When the catalog at `path` is newer than this version knows and `dir` holds a copy of the
/// schema this version knows (made before the update migrated it), put that copy in place and
/// keep the newer catalog (and its WAL) in `dir`. Nothing happens otherwise: a catalog too new
/// without a copy is refused as before, by [`crate::Catalog::open`].
pub fn restore_for_this_version(path: &Path, dir: &Path) -> Result<Option<Restored>, CatalogError> {
    let staged = path.with_extension("db.restoring");
    // A power cut between moving the newer catalog away and the copy in: finish the move (the
    // staged copy was whole and flushed before anything moved).
    if !path.exists() && staged.is_file() {
        move_noreplace(&staged, path).map_err(|source| CatalogError::Io { path: path.to_path_buf(), source })?;
    }
    // A catalog that cannot be read is Catalog::open's to report, with its own words.
    let Ok(Some(found)) = schema_of(path) else { return Ok(None) };
    let known = migrations::latest();
    if found <= known {
        return Ok(None);
    }
    let copy = snapshot_path(dir, known);
    if !copy.is_file() {
        return Ok(None);
    }
    let io = |source: std::io::Error| CatalogError::Io { path: dir.to_path_buf(), source };
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let kept = dir.join(format!("catalog-newer-schema-{found}-{stamp}.db"));
    // The copy goes next to the catalog first, whole, so that a power cut leaves either catalog.
    std::fs::copy(&copy, &staged).map_err(io)?;
    std::fs::File::open(&staged).and_then(|f| f.sync_all()).map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            move_noreplace(&side, &PathBuf::from(format!("{}{suffix}", kept.display()))).map_err(io)?;
        }
    }
    move_noreplace(path, &kept).map_err(io)?;
    move_noreplace(&staged, path).map_err(io)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent).map_err(io)?;
    }
    sync_dir(dir).map_err(io)?;
    Ok(Some(Restored { newer_schema: found, kept_at: kept, from: copy }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    #[test]
    fn a_rolled_back_system_gets_the_copy_made_before_the_migration() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("hearth.db");
        let updates = dir.path().join("system/update");
        {
            let (cat, _) = Catalog::open(&db).expect("open");
            cat.write(|tx| crate::settings::set(tx, "marker", "before the update")).expect("write");
        }
        let (copy, schema) = snapshot(&db, &updates).expect("snapshot");
        assert_eq!(schema, migrations::latest());
        assert!(copy.is_file());
        // The "new system" migrates past what this version knows and writes.
        {
            let (cat, _) = Catalog::open(&db).expect("open");
            cat.write(|tx| {
                crate::settings::set(tx, "marker", "after the update")?;
                Ok(tx.pragma_update(None, "user_version", migrations::latest() + 1)?)
            })
            .expect("bump");
        }
        assert!(matches!(Catalog::open(&db), Err(CatalogError::TooNew { .. })));
        let restored = restore_for_this_version(&db, &updates).expect("restore").expect("restored");
        assert_eq!(restored.newer_schema, migrations::latest() + 1);
        let (cat, _) = Catalog::open(&db).expect("the older system opens its catalog");
        assert_eq!(cat.read(|c| crate::settings::get(c, "marker")).expect("read").as_deref(), Some("before the update"));
        assert_eq!(schema_of(&restored.kept_at).expect("kept"), Some(migrations::latest() + 1), "the newer catalog is kept");
        // Nothing to do the next time.
        drop(cat);
        assert_eq!(restore_for_this_version(&db, &updates).expect("again"), None);
    }

    #[test]
    fn a_catalog_too_new_without_a_copy_is_left_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("hearth.db");
        {
            let (cat, _) = Catalog::open(&db).expect("open");
            cat.write(|tx| Ok(tx.pragma_update(None, "user_version", migrations::latest() + 1)?)).expect("bump");
        }
        assert_eq!(restore_for_this_version(&db, &dir.path().join("none")).expect("nothing"), None);
        assert!(matches!(Catalog::open(&db), Err(CatalogError::TooNew { .. })));
    }
}
