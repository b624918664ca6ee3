//! The audit log: who logged in (or failed to), and every admin action.

use rusqlite::{Connection, params};

use crate::CatalogError;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused (wrong password, not allowed, throttled).
    Denied,
    /// Tried and failed.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// One audited event to append.
#[derive(Debug, Clone, Default)]
pub struct NewEntry<'a> {
    /// Who did it (when known).
    pub actor_id: Option<i64>,
    /// Their name, kept when the user is deleted; for failed logins, the name tried.
    pub actor_name: Option<&'a str>,
    /// The client's address.
    pub address: Option<&'a str>,
    /// A stable action name (`login`, `user.create`, `setup.claim`).
    pub action: &'a str,
    /// What it acted on (a user name, a token name).
    pub target: Option<&'a str>,
    /// Short detail, never a secret.
    pub detail: Option<&'a str>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// Row id (increasing).
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// The actor's user id, when still present.
    pub actor_id: Option<i64>,
    /// The actor's name.
    pub actor_name: Option<String>,
    /// The client's address.
    pub address: Option<String>,
    /// The action.
    pub action: String,
    /// Its target.
    pub target: Option<String>,
    /// ok, denied or failed.
    pub outcome: String,
    /// Detail.
    pub detail: Option<String>,
}

/// Append an entry.
pub fn append(conn: &Connection, e: &NewEntry<'_>, outcome: Outcome, now: i64) -> Result<(), CatalogError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor_id, actor_name, address, action, target, outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![now, e.actor_id, e.actor_name, e.address, e.action, e.target, outcome.as_str(), e.detail])?;
    Ok(())
}

/// The newest entries, newest first, older than `before_id` when given.
pub fn list(conn: &Connection, limit: u32, before_id: Option<i64>) -> Result<Vec<Entry>, CatalogError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor_id, actor_name, address, action, target, outcome, detail FROM audit_log \
         WHERE (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit, before_id], |r| {
        Ok(Entry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor_id: r.get(2)?,
            actor_name: r.get(3)?,
            address: r.get(4)?,
            action: r.get(5)?,
            target: r.get(6)?,
            outcome: r.get(7)?,
            detail: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
