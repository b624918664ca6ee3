//! Who may see an asset besides its owner (migration 10): partners (a user lets another see their
//! whole timeline), members of an album that holds it, and holders of a share link. Every route
//! that serves another user's asset asks [`can_see`] (users) or [`link_contains`] (links) first.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::CatalogError;
use crate::assets::Summary;
use crate::dav_files::FileId;

/// Why a user may see an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// It is theirs.
    Owner,
    /// Its owner made them a partner.
    Partner,
    /// It is in an album they own or are a member of.
    Album,
}

/// Whether `user_id` may see asset `asset_id`, why, and whose it is. Trashed assets are their
/// owner's only.
pub fn can_see(conn: &Connection, user_id: i64, asset_id: i64) -> Result<Option<(Sight, i64)>, CatalogError> {
    let row: Option<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT owner_id, trashed_at FROM assets WHERE id = ?1")?
        .query_row([asset_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((owner, trashed)) = row else { return Ok(None) };
    if owner == user_id {
        return Ok(Some((Sight::Owner, owner)));
    }
    if trashed.is_some() {
        return Ok(None);
    }
    if is_partner(conn, owner, user_id)? {
        return Ok(Some((Sight::Partner, owner)));
    }
    let in_album = conn
        .prepare_cached(
            "SELECT 1 FROM album_assets aa JOIN albums a ON a.id = aa.album_id
             LEFT JOIN album_members m ON m.album_id = a.id AND m.user_id = ?2
             WHERE aa.asset_id = ?1 AND (a.owner_id = ?2 OR m.user_id IS NOT NULL) LIMIT 1",
        )?
        .query_row(params![asset_id, user_id], |_| Ok(()))
        .optional()?
        .is_some();
    Ok(in_album.then_some((Sight::Album, owner)))
}

/// Let `partner_id` see `owner_id`'s timeline.
pub fn add_partner(conn: &Connection, owner_id: i64, partner_id: i64, now: i64) -> Result<(), CatalogError> {
    if owner_id == partner_id {
        return Err(CatalogError::Conflict("a user always sees their own photos".into()));
    }
    conn.execute(
        "INSERT INTO partners (owner_id, partner_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![owner_id, partner_id, now],
    )?;
    Ok(())
}

/// Stop; whether they were a partner.
pub fn remove_partner(conn: &Connection, owner_id: i64, partner_id: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM partners WHERE owner_id = ?1 AND partner_id = ?2", params![owner_id, partner_id])? > 0)
}

/// Whether `owner_id` lets `partner_id` see their timeline.
pub fn is_partner(conn: &Connection, owner_id: i64, partner_id: i64) -> Result<bool, CatalogError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM partners WHERE owner_id = ?1 AND partner_id = ?2")?
        .query_row(params![owner_id, partner_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A user's partners both ways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partners {
    /// Users who see the caller's timeline.
    pub sharing_with: Vec<String>,
    /// Users whose timeline the caller sees.
    pub shared_by: Vec<String>,
}

/// [`Partners`] of `user_id`.
pub fn partners_of(conn: &Connection, user_id: i64) -> Result<Partners, CatalogError> {
    let names = |sql: &str| -> Result<Vec<String>, CatalogError> {
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([user_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    Ok(Partners {
        sharing_with: names("SELECT u.name FROM partners p JOIN users u ON u.id = p.partner_id WHERE p.owner_id = ?1 ORDER BY u.name")?,
        shared_by: names("SELECT u.name FROM partners p JOIN users u ON u.id = p.owner_id WHERE p.partner_id = ?1 ORDER BY u.name")?,
    })
}

/// A share link as stored (the token itself is never stored: only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareLink {
    /// Id.
    pub id: i64,
    /// Who made it.
    pub owner_id: i64,
    /// The album it opens, or `None` for a selection of assets or a file.
    pub album_id: Option<i64>,
    /// The file or folder of the owner's files it opens (its WebDAV file id), or `None`.
    #[serde(skip)]
    pub file_id: Option<FileId>,
    /// What it is for.
    pub description: Option<String>,
    /// Whether a password is needed.
    pub has_password: bool,
    /// Unix seconds; `None` for never.
    pub expires_at: Option<i64>,
    /// Originals may be downloaded.
    pub allow_download: bool,
    /// Visitors may add photos (to the album, or to the selection).
    pub allow_upload: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Assets visible through it (not trashed).
    pub asset_count: i64,
    /// Files downloaded through it.
    pub download_count: i64,
    #[serde(skip)]
    /// The argon2id PHC string, when there is a password.
    pub password_hash: Option<String>,
}

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shows {
    /// An album.
    Album(i64),
    /// A selection of photos (`share_link_assets`).
    Photos,
    /// A file or folder of the owner's files.
    Files(FileId),
}

impl ShareLink {
    /// What the link opens.
    pub fn shows(&self) -> Shows {
        match (self.album_id, self.file_id) {
            (Some(album), _) => Shows::Album(album),
            (None, Some(file)) => Shows::Files(file),
            (None, None) => Shows::Photos,
        }
    }
}

/// What a new link is.
#[derive(Debug, Clone)]
pub struct NewLink<'a> {
    /// SHA-256 of the token.
    pub token_hash: [u8; 32],
    /// Who makes it.
    pub owner_id: i64,
    /// An album, or none for `assets` or a file.
    pub album_id: Option<i64>,
    /// A file or folder of the owner's files (then no album and no assets).
    pub file_id: Option<FileId>,
    /// The selection when there is no album.
    pub assets: &'a [i64],
    /// What it is for.
    pub description: Option<&'a str>,
    /// argon2id PHC string.
    pub password_hash: Option<&'a str>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    /// Originals may be downloaded.
    pub allow_download: bool,
    /// Visitors may add photos.
    pub allow_upload: bool,
}

/// Store a link; its id.
pub fn create_link(conn: &Connection, l: &NewLink<'_>, now: i64) -> Result<i64, CatalogError> {
    conn.execute(
        "INSERT INTO share_links (token_hash, owner_id, album_id, file_id, description, password_hash, expires_at, allow_download, allow_upload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            &l.token_hash[..],
            l.owner_id,
            l.album_id,
            l.file_id.map(|f| f.0),
            l.description,
            l.password_hash,
            l.expires_at,
            l.allow_download,
            l.allow_upload,
            now
        ],
    )?;
    let id = conn.last_insert_rowid();
    if l.album_id.is_none() && l.file_id.is_none() {
        add_to_link(conn, id, l.assets)?;
    }
    Ok(id)
}

/// Add assets to a selection link.
pub fn add_to_link(conn: &Connection, link_id: i64, assets: &[i64]) -> Result<(), CatalogError> {
    let mut st = conn.prepare_cached("INSERT INTO share_link_assets (link_id, asset_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?;
    for &a in assets {
        st.execute(params![link_id, a])?;
    }
    Ok(())
}

const LINK_COLUMNS: &str = "l.id, l.owner_id, l.album_id, l.description, l.password_hash, l.expires_at, l.allow_download, l.allow_upload, l.created_at,
    CASE WHEN l.album_id IS NULL
         THEN (SELECT count(*) FROM share_link_assets s JOIN assets x ON x.id = s.asset_id WHERE s.link_id = l.id AND x.trashed_at IS NULL)
         ELSE (SELECT count(*) FROM album_assets s JOIN assets x ON x.id = s.asset_id WHERE s.album_id = l.album_id AND x.trashed_at IS NULL)
    END, l.file_id, l.download_count";

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ShareLink> {
    let password_hash: Option<String> = r.get(4)?;
    Ok(ShareLink {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        album_id: r.get(2)?,
        description: r.get(3)?,
        has_password: password_hash.is_some(),
        password_hash,
        expires_at: r.get(5)?,
        allow_download: r.get::<_, i64>(6)? == 1,
        allow_upload: r.get::<_, i64>(7)? == 1,
        created_at: r.get(8)?,
        asset_count: r.get(9)?,
        file_id: r.get::<_, Option<i64>>(10)?.map(FileId),
        download_count: r.get(11)?,
    })
}

/// The link whose token has this SHA-256.
pub fn link_by_token_hash(conn: &Connection, hash: &[u8]) -> Result<Option<ShareLink>, CatalogError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {LINK_COLUMNS} FROM share_links l WHERE l.token_hash = ?1"))?
        .query_row([hash], link_row)
        .optional()?)
}

/// The links `owner_id` made, newest first.
pub fn links_of(conn: &Connection, owner_id: i64) -> Result<Vec<ShareLink>, CatalogError> {
    let mut st = conn.prepare(&format!("SELECT {LINK_COLUMNS} FROM share_links l WHERE l.owner_id = ?1 ORDER BY l.id DESC"))?;
    let rows = st.query_map([owner_id], link_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Link `id` when it is `owner_id`'s.
pub fn link_of(conn: &Connection, owner_id: i64, id: i64) -> Result<Option<ShareLink>, CatalogError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {LINK_COLUMNS} FROM share_links l WHERE l.id = ?1 AND l.owner_id = ?2"))?
        .query_row(params![id, owner_id], link_row)
        .optional()?)
}

/// Delete one of `owner_id`'s links; whether it existed.
pub fn delete_link(conn: &Connection, owner_id: i64, id: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM share_links WHERE id = ?1 AND owner_id = ?2", params![id, owner_id])? > 0)
}

/// A change to a link: each field `None` leaves that part as it is.
#[derive(Debug, Clone, Default)]
pub struct LinkChange {
    /// A new description (`Some(None)` removes it).
    pub description: Option<Option<String>>,
    /// A new argon2id PHC string (`Some(None)` removes the password).
    pub password_hash: Option<Option<String>>,
    /// A new expiry (`Some(None)`: never).
    pub expires_at: Option<Option<i64>>,
    /// Whether visitors may download.
    pub allow_download: Option<bool>,
    /// Whether visitors may add.
    pub allow_upload: Option<bool>,
}

/// Changes link `id` of `owner_id`'s; whether it was theirs. A changed password ends the
/// visitors' unlocked keys (they are made from it).
pub fn change_link(conn: &Connection, owner_id: i64, id: i64, c: &LinkChange) -> Result<bool, CatalogError> {
    let found =
        conn.query_row("SELECT 1 FROM share_links WHERE id = ?1 AND owner_id = ?2", params![id, owner_id], |_| Ok(())).optional()?;
    if found.is_none() {
        return Ok(false);
    }
    if let Some(d) = &c.description {
        conn.execute("UPDATE share_links SET description = ?2 WHERE id = ?1", params![id, d])?;
    }
    if let Some(p) = &c.password_hash {
        conn.execute("UPDATE share_links SET password_hash = ?2 WHERE id = ?1", params![id, p])?;
    }
    if let Some(e) = c.expires_at {
        conn.execute("UPDATE share_links SET expires_at = ?2 WHERE id = ?1", params![id, e])?;
    }
    if let Some(d) = c.allow_download {
        conn.execute("UPDATE share_links SET allow_download = ?2 WHERE id = ?1", params![id, d])?;
    }
    if let Some(u) = c.allow_upload {
        conn.execute("UPDATE share_links SET allow_upload = ?2 WHERE id = ?1", params![id, u])?;
    }
    Ok(true)
}

/// One more download through link `id`.
pub fn count_download(conn: &Connection, id: i64) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE share_links SET download_count = download_count + 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Whether `asset_id` is visible through the link (in its album or selection, not trashed).
pub fn link_contains(conn: &Connection, link: &ShareLink, asset_id: i64) -> Result<bool, CatalogError> {
    let sql = match link.album_id {
        Some(_) => {
            "SELECT 1 FROM album_assets s JOIN assets x ON x.id = s.asset_id WHERE s.album_id = ?1 AND s.asset_id = ?2 AND x.trashed_at IS NULL"
        }
        None => {
            "SELECT 1 FROM share_link_assets s JOIN assets x ON x.id = s.asset_id WHERE s.link_id = ?1 AND s.asset_id = ?2 AND x.trashed_at IS NULL"
        }
    };
    let key = link.album_id.unwrap_or(link.id);
    Ok(conn.prepare_cached(sql)?.query_row(params![key, asset_id], |_| Ok(())).optional()?.is_some())
}

/// A page of what the link shows, newest first, resuming after `cursor` (taken_at, id).
pub fn link_page(conn: &Connection, link: &ShareLink, cursor: Option<(i64, i64)>, limit: i64) -> Result<Vec<Summary>, CatalogError> {
    if let Some(album) = link.album_id {
        return crate::albums::assets_page(conn, album, cursor, limit);
    }
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, i64::MAX));
    let mut st = conn.prepare_cached(&format!(
        "SELECT {} FROM share_link_assets s JOIN assets a ON a.id = s.asset_id
         WHERE s.link_id = ?1 AND a.trashed_at IS NULL AND (a.taken_at < ?2 OR (a.taken_at = ?2 AND a.id < ?3))
         ORDER BY a.taken_at DESC, a.id DESC LIMIT ?4",
        crate::assets::SUMMARY_COLUMNS
    ))?;
    let rows = st.query_map(params![link.id, after_t, after_id, limit], crate::assets::summary_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::albums::{self, AlbumRole};
    use crate::users::Role;
    use crate::{Catalog, CatalogError, assets, fixtures};

    fn user(tx: &Connection, name: &str) -> Result<i64, CatalogError> {
        fixtures::user(tx, name, Role::Member)
    }

    fn photo(tx: &Connection, owner: i64, n: u8) -> Result<i64, CatalogError> {
        assets::insert(tx, &fixtures::asset(owner, i64::from(n), 1_700_000_000 + i64::from(n)))
    }

    #[test]
    fn owners_partners_album_members_and_links_see_what_they_should() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (c, _) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
        let (ana, ben, cy, a1, a2, b1) = c
            .write(|tx| {
                let (ana, ben, cy) = (user(tx, "ana")?, user(tx, "ben")?, user(tx, "cy")?);
                Ok((ana, ben, cy, photo(tx, ana, 1)?, photo(tx, ana, 2)?, photo(tx, ben, 3)?))
            })
            .expect("setup");
        let sees = |u: i64, a: i64| c.read(move |r| can_see(r, u, a)).expect("can_see").map(|(s, _)| s);
        assert_eq!(sees(ana, a1), Some(Sight::Owner));
        assert_eq!(sees(ben, a1), None);
        // Ana lets Ben see her timeline (not the other way round).
        c.write(|tx| add_partner(tx, ana, ben, 1)).expect("partner");
        assert_eq!(sees(ben, a1), Some(Sight::Partner));
        assert_eq!(sees(ana, b1), None);
        assert_eq!(c.read(|r| partners_of(r, ana)).expect("partners").sharing_with, vec!["ben".to_string()]);
        // An album of Ben's with Ana's photo... Ana can add hers only as an editor of his album.
        let album = c.write(|tx| albums::create(tx, ben, "Holiday", None, 2)).expect("album");
        c.write(|tx| albums::set_member(tx, album, cy, AlbumRole::Viewer, 3)).expect("member");
        c.write(|tx| albums::add_assets(tx, album, &[b1, a2], ben, 4)).expect("add");
        assert_eq!(sees(cy, b1), Some(Sight::Album));
        assert_eq!(sees(cy, a2), Some(Sight::Album));
        assert_eq!(sees(cy, a1), None, "not in the album");
        assert_eq!(c.read(|r| albums::role_of(r, album, cy)).expect("role"), Some(AlbumRole::Viewer));
        let listed = c.read(|r| albums::list_for(r, cy)).expect("list");
        assert_eq!((listed.len(), listed[0].asset_count, listed[0].cover_asset_id), (1, 2, Some(b1)));
        // Trashed: the owner's only.
        c.write(|tx| assets::set_trashed(tx, ben, b1, Some(5))).expect("trash");
        assert_eq!(sees(cy, b1), None);
        assert_eq!(sees(ben, b1), Some(Sight::Owner));
        // A link to a selection: just those, and not once trashed.
        let link_id = c
            .write(|tx| {
                create_link(
                    tx,
                    &NewLink {
                        token_hash: [7; 32],
                        owner_id: ana,
                        album_id: None,
                        file_id: None,
                        assets: &[a1],
                        description: Some("for grandma"),
                        password_hash: None,
                        expires_at: None,
                        allow_download: false,
                        allow_upload: false,
                    },
                    6,
                )
            })
            .expect("link");
        let link = c.read(|r| link_by_token_hash(r, &[7; 32])).expect("read").expect("link");
        assert_eq!((link.id, link.asset_count, link.allow_download), (link_id, 1, false));
        let l = link.clone();
        assert!(c.read(move |r| link_contains(r, &l, a1)).expect("contains"));
        let l = link.clone();
        assert!(!c.read(move |r| link_contains(r, &l, a2)).expect("contains"));
        let l = link.clone();
        assert_eq!(c.read(move |r| link_page(r, &l, None, 10)).expect("page").len(), 1);
        assert!(c.read(|r| link_by_token_hash(r, &[8; 32])).expect("read").is_none());
        // Changed by its owner only, each part on its own.
        let change = LinkChange { password_hash: Some(Some("$argon2id$x".into())), allow_download: Some(true), ..LinkChange::default() };
        assert!(!c.write(|tx| change_link(tx, ben, link_id, &change)).expect("change"), "not ben's");
        assert!(c.read(|r| link_of(r, ben, link_id)).expect("read").is_none(), "not ben's");
        assert!(c.write(|tx| change_link(tx, ana, link_id, &change)).expect("change"));
        let changed = c.read(|r| link_of(r, ana, link_id)).expect("read").expect("link");
        assert_eq!((changed.has_password, changed.allow_download, changed.description.as_deref()), (true, true, Some("for grandma")));
        let clear = LinkChange { password_hash: Some(None), expires_at: Some(Some(99)), description: Some(None), ..LinkChange::default() };
        assert!(c.write(|tx| change_link(tx, ana, link_id, &clear)).expect("change"));
        let changed = c.read(|r| link_by_token_hash(r, &[7; 32])).expect("read").expect("link");
        assert_eq!((changed.has_password, changed.expires_at, changed.description), (false, Some(99), None));
        assert!(c.write(|tx| delete_link(tx, ana, link_id)).expect("delete"));
    }

    #[test]
    fn a_file_link_follows_its_file_counts_downloads_and_ends_with_its_id() {
        use crate::dav_files;
        let dir = tempfile::tempdir().expect("tempdir");
        let (c, _) = Catalog::open(&dir.path().join("hearth.db")).expect("open");
        let (ana, id) = c
            .write(|tx| {
                let ana = user(tx, "ana")?;
                let ids = dav_files::assign(tx, "home:1", &["School/report.pdf".to_string()])?;
                Ok((ana, ids["School/report.pdf"]))
            })
            .expect("setup");
        let link_id = c
            .write(|tx| {
                create_link(
                    tx,
                    &NewLink {
                        token_hash: [9; 32],
                        owner_id: ana,
                        album_id: None,
                        file_id: Some(id),
                        assets: &[],
                        description: None,
                        password_hash: None,
                        expires_at: None,
                        allow_download: true,
                        allow_upload: false,
                    },
                    1,
                )
            })
            .expect("link");
        c.write(|tx| count_download(tx, link_id)).expect("count");
        c.write(|tx| count_download(tx, link_id)).expect("count");
        let link = c.read(|r| link_by_token_hash(r, &[9; 32])).expect("read").expect("link");
        assert_eq!((link.file_id, link.download_count, link.asset_count, link.album_id), (Some(id), 2, 0, None));
        assert_eq!(link.shows(), Shows::Files(id));
        // Moved: the same id, so the same link.
        c.write(|tx| dav_files::move_tree(tx, "home:1", "School", "Archive")).expect("move");
        assert_eq!(c.read(move |r| dav_files::by_id(r, id)).expect("by id"), Some(("home:1".into(), "Archive/report.pdf".into())));
        assert!(c.read(|r| link_by_token_hash(r, &[9; 32])).expect("read").is_some());
        // Its id gone (the trash emptied): the link ends.
        c.write(|tx| dav_files::delete_tree(tx, "home:1", "Archive")).expect("delete");
        assert!(c.read(|r| link_by_token_hash(r, &[9; 32])).expect("read").is_none());
    }
}
