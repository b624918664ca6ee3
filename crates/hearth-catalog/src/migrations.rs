//! The numbered schema migrations. The schema version is SQLite's `user_version`; migration N
//! takes the database from N-1 to N in one transaction, so a crash or power cut in the middle
//! leaves version N-1 intact. Never edit a released migration: add a new one.

use rusqlite::{Connection, TransactionBehavior};

use crate::CatalogError;

/// `(version, name, SQL)`, in order, starting at 1.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "accounts", include_str!("migrations/0001_accounts.sql")),
    (2, "audit", include_str!("migrations/0002_audit.sql")),
    (3, "sync", include_str!("migrations/0003_sync.sql")),
    (4, "sync folder offers", include_str!("migrations/0004_sync_folder_offers.sql")),
    (5, "sync folders", include_str!("migrations/0005_sync_folders.sql")),
    (6, "assets", include_str!("migrations/0006_assets.sql")),
    (7, "asset map cells", include_str!("migrations/0007_asset_cells.sql")),
    (8, "camera folders", include_str!("migrations/0008_camera_folders.sql")),
    (9, "jobs", include_str!("migrations/0009_jobs.sql")),
    (10, "albums and sharing", include_str!("migrations/0010_sharing.sql")),
    (11, "search and near-duplicates", include_str!("migrations/0011_search.sql")),
    (12, "libraries", include_str!("migrations/0012_libraries.sql")),
    (13, "app password scopes", include_str!("migrations/0013_token_scopes.sql")),
    (14, "backups", include_str!("migrations/0014_backups.sql")),
    (15, "faces and people", include_str!("migrations/0015_people.sql")),
    (16, "tags", include_str!("migrations/0016_tags.sql")),
    (17, "embeddings", include_str!("migrations/0017_embeddings.sql")),
    (18, "WebDAV dead properties", include_str!("migrations/0018_dav_properties.sql")),
    (19, "WebDAV file ids", include_str!("migrations/0019_dav_files.sql")),
    (20, "files quotas", include_str!("migrations/0020_files_quota.sql")),
    (21, "files trash", include_str!("migrations/0021_dav_trash.sql")),
    (22, "file share links", include_str!("migrations/0022_file_share_links.sql")),
    (23, "family folders", include_str!("migrations/0023_family_folders.sql")),
    (24, "calendars and address books", include_str!("migrations/0024_pim.sql")),
];

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// The schema version of an open database.
pub fn version(conn: &Connection) -> Result<i64, CatalogError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Apply every migration above the current version up to `target`. Returns the versions
/// before and after.
pub fn apply_up_to(conn: &mut Connection, target: i64) -> Result<(i64, i64), CatalogError> {
    let from = version(conn)?;
    for &(v, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > from && m.0 <= target) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| CatalogError::Migration { version: v, source })?;
        tx.execute_batch(sql).map_err(|source| CatalogError::Migration { version: v, source })?;
        tx.pragma_update(None, "user_version", v).map_err(|source| CatalogError::Migration { version: v, source })?;
        tx.commit().map_err(|source| match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => CatalogError::DiskFull,
            _ => CatalogError::Migration { version: v, source },
        })?;
        tracing::info!(version = v, name, "catalog schema updated");
    }
    Ok((from, version(conn)?))
}

/// Apply every pending migration.
pub fn apply(conn: &mut Connection) -> Result<(i64, i64), CatalogError> {
    apply_up_to(conn, latest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0, i as i64 + 1, "migration {} is out of order", m.1);
        }
    }
}
