//! Albums (migration 10): a titled set of assets owned by one user and shared with family
//! members as viewers (see it) or editors (also add and remove assets). An editor may add their
//! own assets; the album shows them to every member. Who may see what is decided in
//! [`crate::sharing`]; this module stores.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::CatalogError;
use crate::assets::Summary;

/// What a user may do with an album.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlbumRole {
    /// Sees it.
    Viewer,
    /// Also adds and removes assets.
    Editor,
    /// Also renames, shares and deletes it.
    Owner,
}

impl AlbumRole {
    /// `viewer` or `editor` (what a member can be).
    pub fn parse_member(s: &str) -> Option<AlbumRole> {
        match s {
            "viewer" => Some(AlbumRole::Viewer),
            "editor" => Some(AlbumRole::Editor),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            AlbumRole::Viewer => "viewer",
            AlbumRole::Editor => "editor",
            AlbumRole::Owner => "owner",
        }
    }
}

/// An album as a list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Album {
    /// Id.
    pub id: i64,
    /// Its owner's user name.
    pub owner: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// The asset shown for it (the newest when none was chosen).
    pub cover_asset_id: Option<i64>,
    /// Assets in it.
    pub asset_count: i64,
    /// The caller's role.
    pub role: AlbumRole,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// A member of an album.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// User name.
    pub user: String,
    /// `viewer` or `editor`.
    pub role: AlbumRole,
}

/// Make an album; its id.
pub fn create(conn: &Connection, owner_id: i64, title: &str, description: Option<&str>, now: i64) -> Result<i64, CatalogError> {
    conn.execute(
        "INSERT INTO albums (owner_id, title, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![owner_id, title, description, now],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Album `id`'s title (for a share link's visitor, who is no member).
pub fn title(conn: &Connection, id: i64) -> Result<Option<String>, CatalogError> {
    Ok(conn.query_row("SELECT title FROM albums WHERE id = ?1", [id], |r| r.get(0)).optional()?)
}

/// `user_id`'s role in album `id`, if any.
pub fn role_of(conn: &Connection, id: i64, user_id: i64) -> Result<Option<AlbumRole>, CatalogError> {
    let owner: Option<i64> = conn.query_row("SELECT owner_id FROM albums WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    match owner {
        None => Ok(None),
        Some(o) if o == user_id => Ok(Some(AlbumRole::Owner)),
        Some(_) => {
            let role: Option<String> = conn
                .query_row("SELECT role FROM album_members WHERE album_id = ?1 AND user_id = ?2", params![id, user_id], |r| r.get(0))
                .optional()?;
            Ok(role.as_deref().and_then(AlbumRole::parse_member))
        }
    }
}

const ALBUM_COLUMNS: &str = "a.id, u.name, a.title, a.description,
    coalesce(a.cover_asset_id, (SELECT x.id FROM album_assets aa JOIN assets x ON x.id = aa.asset_id
                                 WHERE aa.album_id = a.id AND x.trashed_at IS NULL ORDER BY x.taken_at DESC LIMIT 1)),
    (SELECT count(*) FROM album_assets aa JOIN assets x ON x.id = aa.asset_id WHERE aa.album_id = a.id AND x.trashed_at IS NULL),
    a.created_at, a.updated_at";

fn album_row(r: &rusqlite::Row<'_>, role: AlbumRole) -> rusqlite::Result<Album> {
    Ok(Album {
        id: r.get(0)?,
        owner: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        cover_asset_id: r.get(4)?,
        asset_count: r.get(5)?,
        role,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

/// Album `id` as `user_id` sees it (`None` when they may not).
pub fn get(conn: &Connection, id: i64, user_id: i64) -> Result<Option<Album>, CatalogError> {
    let Some(role) = role_of(conn, id, user_id)? else { return Ok(None) };
    Ok(conn
        .query_row(&format!("SELECT {ALBUM_COLUMNS} FROM albums a JOIN users u ON u.id = a.owner_id WHERE a.id = ?1"), [id], |r| {
            album_row(r, role)
        })
        .optional()?)
}

/// Every album `user_id` owns or is a member of, most recently changed first.
pub fn list_for(conn: &Connection, user_id: i64) -> Result<Vec<Album>, CatalogError> {
    let mut st = conn.prepare(&format!(
        "SELECT {ALBUM_COLUMNS}, CASE WHEN a.owner_id = ?1 THEN 'owner' ELSE m.role END
         FROM albums a JOIN users u ON u.id = a.owner_id
         LEFT JOIN album_members m ON m.album_id = a.id AND m.user_id = ?1
         WHERE a.owner_id = ?1 OR m.user_id IS NOT NULL
         ORDER BY a.updated_at DESC, a.id DESC"
    ))?;
    let rows = st.query_map([user_id], |r| {
        let role: String = r.get(8)?;
        album_row(r, if role == "owner" { AlbumRole::Owner } else { AlbumRole::parse_member(&role).unwrap_or(AlbumRole::Viewer) })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Change the title, description or cover (an asset in the album, or `Some(None)` for the newest).
pub fn update(
    conn: &Connection,
    id: i64,
    title: Option<&str>,
    description: Option<Option<&str>>,
    cover: Option<Option<i64>>,
    now: i64,
) -> Result<(), CatalogError> {
    if let Some(t) = title {
        conn.execute("UPDATE albums SET title = ?2 WHERE id = ?1", params![id, t])?;
    }
    if let Some(d) = description {
        conn.execute("UPDATE albums SET description = ?2 WHERE id = ?1", params![id, d])?;
    }
    if let Some(c) = cover {
        if let Some(asset) = c
            && !contains(conn, id, asset)?
        {
            return Err(CatalogError::Conflict("the cover must be a photo in the album".into()));
        }
        conn.execute("UPDATE albums SET cover_asset_id = ?2 WHERE id = ?1", params![id, c])?;
    }
    touch(conn, id, now)
}

fn touch(conn: &Connection, id: i64, now: i64) -> Result<(), CatalogError> {
    conn.execute("UPDATE albums SET updated_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// Delete album `id` (its assets stay in their owners' libraries).
pub fn delete(conn: &Connection, id: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM albums WHERE id = ?1", [id])? > 0)
}

/// Whether asset `asset_id` is in album `id`.
pub fn contains(conn: &Connection, id: i64, asset_id: i64) -> Result<bool, CatalogError> {
    Ok(conn
        .query_row("SELECT 1 FROM album_assets WHERE album_id = ?1 AND asset_id = ?2", params![id, asset_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Add assets (the caller has checked the adder may see each); how many were new to the album.
pub fn add_assets(conn: &Connection, id: i64, assets: &[i64], added_by: i64, now: i64) -> Result<usize, CatalogError> {
    let mut st = conn.prepare_cached(
        "INSERT INTO album_assets (album_id, asset_id, added_by, added_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    let mut added = 0;
    for &a in assets {
        added += st.execute(params![id, a, added_by, now])?;
    }
    touch(conn, id, now)?;
    Ok(added)
}

/// Take assets out of the album (not out of anyone's library); how many were in it.
pub fn remove_assets(conn: &Connection, id: i64, assets: &[i64], now: i64) -> Result<usize, CatalogError> {
    let mut st = conn.prepare_cached("DELETE FROM album_assets WHERE album_id = ?1 AND asset_id = ?2")?;
    let mut removed = 0;
    for &a in assets {
        removed += st.execute(params![id, a])?;
    }
    touch(conn, id, now)?;
    Ok(removed)
}

/// A page of the album's assets, newest first, resuming after `cursor` (taken_at, id).
pub fn assets_page(conn: &Connection, id: i64, cursor: Option<(i64, i64)>, limit: i64) -> Result<Vec<Summary>, CatalogError> {
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, i64::MAX));
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM album_assets aa JOIN assets a ON a.id = aa.asset_id
         WHERE aa.album_id = ?1 AND a.trashed_at IS NULL AND (a.taken_at < ?2 OR (a.taken_at = ?2 AND a.id < ?3))
         ORDER BY a.taken_at DESC, a.id DESC LIMIT ?4",
        crate::assets::SUMMARY_COLUMNS
    ))?;
    let rows = st.query_map(params![id, after_t, after_id, limit], crate::assets::summary_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Make `user_id` a member with `role` (viewer or editor), or change their role.
pub fn set_member(conn: &Connection, id: i64, user_id: i64, role: AlbumRole, now: i64) -> Result<(), CatalogError> {
    if role == AlbumRole::Owner {
        return Err(CatalogError::Conflict("a member is a viewer or an editor".into()));
    }
    conn.execute(
        "INSERT INTO album_members (album_id, user_id, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (album_id, user_id) DO UPDATE SET role = excluded.role",
        params![id, user_id, role.as_str()],
    )?;
    touch(conn, id, now)
}

/// Stop sharing with `user_id`; whether they were a member.
pub fn remove_member(conn: &Connection, id: i64, user_id: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM album_members WHERE album_id = ?1 AND user_id = ?2", params![id, user_id])? > 0)
}

/// The members of album `id`, by name.
pub fn members(conn: &Connection, id: i64) -> Result<Vec<Member>, CatalogError> {
    let mut st =
        conn.prepare("SELECT u.name, m.role FROM album_members m JOIN users u ON u.id = m.user_id WHERE m.album_id = ?1 ORDER BY u.name")?;
    let rows = st.query_map([id], |r| {
        let role: String = r.get(1)?;
        Ok(Member { user: r.get(0)?, role: AlbumRole::parse_member(&role).unwrap_or(AlbumRole::Viewer) })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
