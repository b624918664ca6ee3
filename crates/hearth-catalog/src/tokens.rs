//! App passwords / API tokens: named secrets for phones, the CLI and other apps, each revocable
//! on its own. Only the SHA-256 of a secret is stored, with a short hint for recognising it.

use rusqlite::{Connection, OptionalExtension, params};

use crate::CatalogError;

/// What an app password may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything its user may.
    #[default]
    Full,
    /// Only backing up to the box (restic's REST protocol under `/restic/`).
    Backup,
    /// Backing up without deleting anything but locks.
    BackupAppendOnly,
}

impl Scope {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Backup => "backup",
            Scope::BackupAppendOnly => "backup_append_only",
        }
    }

    fn parse(s: &str) -> Scope {
        match s {
            "backup" => Scope::Backup,
            "backup_append_only" => Scope::BackupAppendOnly,
            _ => Scope::Full,
        }
    }
}

/// A stored token (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppToken {
    /// Row id.
    pub id: i64,
    /// Whose token.
    pub user_id: i64,
    /// The name the user gave it ("Anna's phone").
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub hint: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of its last use.
    pub last_used_at: Option<i64>,
    /// What it may do.
    pub scope: Scope,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppToken> {
    let scope: String = r.get(6)?;
    Ok(AppToken {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        hint: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        scope: Scope::parse(&scope),
    })
}

/// Store a new token; a name used twice by one user is a conflict.
pub fn create(
    conn: &Connection,
    user_id: i64,
    name: &str,
    secret_hash: &[u8],
    hint: &str,
    scope: Scope,
    now: i64,
) -> Result<AppToken, CatalogError> {
    conn.execute(
        "INSERT INTO app_tokens (user_id, name, secret_hash, hint, created_at, scope) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![user_id, name, secret_hash, hint, now, scope.as_str()],
    )
    .map_err(|e| match CatalogError::from(e) {
        CatalogError::Conflict(_) => CatalogError::Conflict(format!("you already have an app password named {name:?}")),
        other => other,
    })?;
    Ok(AppToken { id: conn.last_insert_rowid(), user_id, name: name.into(), hint: hint.into(), created_at: now, last_used_at: None, scope })
}

/// The token with this secret hash.
pub fn find(conn: &Connection, secret_hash: &[u8]) -> Result<Option<AppToken>, CatalogError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, user_id, name, hint, created_at, last_used_at, scope FROM app_tokens WHERE secret_hash = ?1")?;
    Ok(stmt.query_row([secret_hash], from_row).optional()?)
}

/// Record a use (at most the caller's chosen resolution: callers skip this when recent).
pub fn touch(conn: &Connection, id: i64, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE app_tokens SET last_used_at = ?2 WHERE id = ?1")?.execute(params![id, now])?;
    Ok(())
}

/// A user's tokens.
pub fn list(conn: &Connection, user_id: i64) -> Result<Vec<AppToken>, CatalogError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, name, hint, created_at, last_used_at, scope FROM app_tokens WHERE user_id = ?1 ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([user_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revoke a token of `user_id`.
pub fn delete(conn: &Connection, user_id: i64, id: i64) -> Result<(), CatalogError> {
    if conn.execute("DELETE FROM app_tokens WHERE id = ?1 AND user_id = ?2", params![id, user_id])? == 0 {
        return Err(CatalogError::NotFound(format!("app password {id}")));
    }
    Ok(())
}
