//! Users: who may log in, with which role.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::CatalogError;

/// What a user may do. Owner: everything, including removing admins; admin: manage members and
/// the box; member: their own files and photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A family member.
    Member,
    /// May manage users and the box.
    Admin,
    /// Claimed the box; there is always at least one.
    Owner,
}

impl Role {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    fn parse(s: &str) -> Role {
        match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            // The CHECK constraint allows nothing else; fall back to the least privilege.
            _ => Role::Member,
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name (unique, case-insensitive).
    pub name: String,
    /// Shown in the UI.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub password_changed_at: i64,
    /// The most bytes their files (WebDAV) may take; `None`: as much as the disk has.
    pub files_quota_bytes: Option<u64>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// Shown in the UI.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// The argon2id PHC string.
    pub password_hash: String,
}

const COLUMNS: &str = "id, name, display_name, role, password_hash, created_at, password_changed_at, files_quota_bytes";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        display_name: r.get(2)?,
        role: Role::parse(&role),
        password_hash: r.get(4)?,
        created_at: r.get(5)?,
        password_changed_at: r.get(6)?,
        files_quota_bytes: r.get::<_, Option<i64>>(7)?.and_then(|q| u64::try_from(q).ok()),
    })
}

/// Sets the most bytes a user's files may take (`None`: no limit but the disk).
pub fn set_files_quota(conn: &Connection, id: i64, bytes: Option<u64>) -> Result<(), CatalogError> {
    let bytes = bytes.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
    conn.execute("UPDATE users SET files_quota_bytes = ?2 WHERE id = ?1", params![id, bytes])?;
    Ok(())
}

/// Insert a user; a taken name is a [`CatalogError::Conflict`].
pub fn create(conn: &Connection, u: &NewUser, now: i64) -> Result<User, CatalogError> {
    conn.execute(
        "INSERT INTO users (name, display_name, role, password_hash, created_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![u.name, u.display_name, u.role.as_str(), u.password_hash, now],
    )
    .map_err(|e| match CatalogError::from(e) {
        CatalogError::Conflict(_) => CatalogError::Conflict(format!("a user named {:?} already exists", u.name)),
        other => other,
    })?;
    by_id(conn, conn.last_insert_rowid())?.ok_or_else(|| CatalogError::NotFound("the new user".into()))
}

/// How many users exist (0 means the box is not claimed).
pub fn count(conn: &Connection) -> Result<i64, CatalogError> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

/// How many users have `role`.
pub fn count_with_role(conn: &Connection, role: Role) -> Result<i64, CatalogError> {
    Ok(conn.query_row("SELECT count(*) FROM users WHERE role = ?1", [role.as_str()], |r| r.get(0))?)
}

/// A user by login name (case-insensitive).
pub fn by_name(conn: &Connection, name: &str) -> Result<Option<User>, CatalogError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE name = ?1");
    Ok(conn.query_row(&sql, [name], from_row).optional()?)
}

/// A user by id.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<User>, CatalogError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], from_row).optional()?)
}

/// Every user, by name.
pub fn list(conn: &Connection) -> Result<Vec<User>, CatalogError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY name");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replace a user's password hash.
pub fn set_password(conn: &Connection, id: i64, hash: &str, now: i64) -> Result<(), CatalogError> {
    let n = conn.execute("UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1", params![id, hash, now])?;
    if n == 0 {
        return Err(CatalogError::NotFound(format!("user {id}")));
    }
    Ok(())
}

/// Change a user's role.
pub fn set_role(conn: &Connection, id: i64, role: Role) -> Result<(), CatalogError> {
    let n = conn.execute("UPDATE users SET role = ?2 WHERE id = ?1", params![id, role.as_str()])?;
    if n == 0 {
        return Err(CatalogError::NotFound(format!("user {id}")));
    }
    Ok(())
}

/// Delete a user (their sessions and tokens go with them).
pub fn delete(conn: &Connection, id: i64) -> Result<(), CatalogError> {
    let n = conn.execute("DELETE FROM users WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(CatalogError::NotFound(format!("user {id}")));
    }
    Ok(())
}
