//! The box's own settings as key/value text (device id, claim time).

use rusqlite::{Connection, OptionalExtension, params};

use crate::CatalogError;

/// Read a setting.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>, CatalogError> {
    Ok(conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

/// Write a setting.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
