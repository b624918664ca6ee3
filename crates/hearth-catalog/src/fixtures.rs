//! Fixtures for the catalog's own unit tests: a fresh catalog with a user, more users, and a
//! plain photo to change field by field.

use rusqlite::Connection;

use crate::assets::{NewAsset, Source};
use crate::users::{self, NewUser, Role};
use crate::{Catalog, CatalogError};

/// A catalog in a temporary folder, with its owner `ada`.
pub fn catalog() -> (tempfile::TempDir, Catalog, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (c, _) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
    let owner = c.write(|tx| user(tx, "ada", Role::Owner)).expect("user");
    (dir, c, owner)
}

/// A user named `name`; their id.
pub fn user(tx: &Connection, name: &str, role: Role) -> Result<i64, CatalogError> {
    let u = NewUser { name: name.into(), display_name: name.into(), role, password_hash: "x".into() };
    Ok(users::create(tx, &u, 0)?.id)
}

/// Photo number `n` of `owner`, taken at `taken_at` (+02:00): `library/<n>.jpg`, 4000 × 3000,
/// content checksum `[n; 32]`.
pub fn asset(owner: i64, n: i64, taken_at: i64) -> NewAsset {
    NewAsset {
        owner_id: owner,
        source: Source::Upload,
        path: format!("library/{n}.jpg"),
        checksum: [n as u8; 32],
        video: false,
        format: Some("jpeg".into()),
        size_bytes: 1000,
        width: Some(4000),
        height: Some(3000),
        taken_at,
        taken_offset: Some(120),
        latitude: None,
        longitude: None,
        make: None,
        model: None,
        lens: None,
        duration_ms: None,
        metadata_error: None,
        added_at: 0,
    }
}
