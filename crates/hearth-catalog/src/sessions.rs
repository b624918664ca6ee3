//! Login sessions. Rows are keyed by the SHA-256 of the cookie secret, so a copy of the catalog
//! does not let anyone log in.

use rusqlite::{Connection, OptionalExtension, params};

use crate::CatalogError;

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the secret.
    pub secret_hash: Vec<u8>,
    /// Whose session.
    pub user_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last request.
    pub last_seen_at: i64,
    /// Unix seconds after which the session is dead.
    pub expires_at: i64,
}

/// Store a new session.
pub fn create(conn: &Connection, s: &Session, address: Option<&str>, user_agent: Option<&str>) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO sessions (secret_hash, user_id, created_at, last_seen_at, expires_at, address, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![s.secret_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, address, user_agent],
    )?;
    Ok(())
}

/// A live session by secret hash (expired ones are not returned).
pub fn find(conn: &Connection, secret_hash: &[u8], now: i64) -> Result<Option<Session>, CatalogError> {
    let mut stmt = conn.prepare_cached(
        "SELECT secret_hash, user_id, created_at, last_seen_at, expires_at FROM sessions WHERE secret_hash = ?1 AND expires_at > ?2",
    )?;
    Ok(stmt
        .query_row(params![secret_hash, now], |r| {
            Ok(Session {
                secret_hash: r.get(0)?,
                user_id: r.get(1)?,
                created_at: r.get(2)?,
                last_seen_at: r.get(3)?,
                expires_at: r.get(4)?,
            })
        })
        .optional()?)
}

/// Extend a session that is in use.
pub fn touch(conn: &Connection, secret_hash: &[u8], now: i64, expires_at: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2, expires_at = ?3 WHERE secret_hash = ?1")?.execute(params![
        secret_hash,
        now,
        expires_at
    ])?;
    Ok(())
}

/// End one session.
pub fn delete(conn: &Connection, secret_hash: &[u8]) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM sessions WHERE secret_hash = ?1", [secret_hash])? > 0)
}

/// End every session of a user except `keep` (after a password change).
pub fn delete_for_user(conn: &Connection, user_id: i64, keep: Option<&[u8]>) -> Result<usize, CatalogError> {
    Ok(conn.execute("DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR secret_hash <> ?2)", params![user_id, keep])?)
}

/// Remove expired sessions.
pub fn purge_expired(conn: &Connection, now: i64) -> Result<usize, CatalogError> {
    Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?)
}
