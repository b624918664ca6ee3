//! Photo library assets and the timeline over them (migration 6), the map (7), and the sync
//! folders that feed a library (camera folders, 8).
//!
//! The timeline is read in two steps, as a phone scrolls: [`months`] (one row per month with its
//! count, from `asset_months`, which triggers keep exact), then [`month_page`] for the months on
//! screen (the partial index `assets_timeline` serves it in order, resuming after a cursor).
//! Neither reads more rows than it returns, so both stay flat at a million assets
//! (`cargo bench -p hearth-catalog --bench timeline`).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::CatalogError;

/// Where an asset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A sync folder marked as a camera folder.
    Sync,
    /// The upload API.
    Upload,
    /// An external library indexed in place (read-only).
    External,
    /// The Photos folder of a user's files.
    Files,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Sync => "sync",
            Source::Upload => "upload",
            Source::External => "external",
            Source::Files => "files",
        }
    }
}

/// What ingest knows about a new asset.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAsset {
    /// The user whose library it is in.
    pub owner_id: i64,
    /// Where it came from.
    pub source: Source,
    /// Its file, relative to the data folder (absolute for external libraries).
    pub path: String,
    /// BLAKE3 of the content.
    pub checksum: [u8; 32],
    /// `photo` or `video`.
    pub video: bool,
    /// `jpeg`, `heif`, `mp4`…
    pub format: Option<String>,
    /// Bytes.
    pub size_bytes: i64,
    /// Shown size.
    pub width: Option<i64>,
    /// Shown size.
    pub height: Option<i64>,
    /// Unix seconds (see the migration for what it means without an offset).
    pub taken_at: i64,
    /// Minutes east of UTC, when known.
    pub taken_offset: Option<i64>,
    /// Position.
    pub latitude: Option<f64>,
    /// Position.
    pub longitude: Option<f64>,
    /// Camera.
    pub make: Option<String>,
    /// Camera.
    pub model: Option<String>,
    /// Lens.
    pub lens: Option<String>,
    /// Videos.
    pub duration_ms: Option<i64>,
    /// What could not be read, for the family.
    pub metadata_error: Option<String>,
    /// When it was added (Unix seconds).
    pub added_at: i64,
}

/// One month of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Month {
    /// YYYYMM.
    pub month: i64,
    /// Visible assets in it.
    pub count: i64,
}

/// What a timeline page shows of an asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Id.
    pub id: i64,
    /// Unix seconds.
    pub taken_at: i64,
    /// Minutes east of UTC.
    pub taken_offset: Option<i64>,
    /// `photo` or `video`.
    pub kind: String,
    /// Shown size.
    pub width: Option<i64>,
    /// Shown size.
    pub height: Option<i64>,
    /// Videos.
    pub duration_ms: Option<i64>,
    /// Marked as a favourite.
    pub favourite: bool,
    /// `pending`, `ready` or `failed`.
    pub thumbnails: String,
}

/// The columns [`summary_row`] reads, for queries that alias `assets` as `a`.
pub const SUMMARY_COLUMNS: &str = "a.id, a.taken_at, a.taken_offset, a.kind, a.width, a.height, a.duration_ms, a.favourite, a.thumbnails";

/// A [`Summary`] from a row of [`SUMMARY_COLUMNS`].
pub fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Summary> {
    Ok(Summary {
        id: r.get(0)?,
        taken_at: r.get(1)?,
        taken_offset: r.get(2)?,
        kind: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
        duration_ms: r.get(6)?,
        favourite: r.get::<_, i64>(7)? == 1,
        thumbnails: r.get(8)?,
    })
}

/// YYYYMM of the asset's local time.
pub fn local_month(taken_at: i64, offset_minutes: Option<i64>) -> i64 {
    let local = taken_at + offset_minutes.unwrap_or(0) * 60;
    let (year, month, _) = hearth_core::calendar::civil_from_days(local.div_euclid(86400));
    year.clamp(1800, 9999) * 100 + i64::from(month)
}

/// Add an asset; its id. Its thumbnails are `pending` (for the job queue to make), or `failed`
/// when its metadata already could not be read. An asset already at that path for that owner is
/// an error ([`CatalogError::Conflict`]): ingest updates it instead.
pub fn insert(conn: &Connection, a: &NewAsset) -> Result<i64, CatalogError> {
    conn.execute(
        "INSERT INTO assets (owner_id, source, path, checksum, kind, format, size_bytes, width, height, taken_at,
             taken_offset, local_month, latitude, longitude, make, model, lens, duration_ms, metadata_error, added_at, thumbnails)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
             CASE WHEN ?19 IS NULL THEN 'pending' ELSE 'failed' END)",
        params![
            a.owner_id,
            a.source.as_str(),
            a.path,
            &a.checksum[..],
            if a.video { "video" } else { "photo" },
            a.format,
            a.size_bytes,
            a.width,
            a.height,
            a.taken_at,
            a.taken_offset,
            local_month(a.taken_at, a.taken_offset),
            a.latitude,
            a.longitude,
            a.make,
            a.model,
            a.lens,
            a.duration_ms,
            a.metadata_error,
            a.added_at,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Whose asset `id` is.
pub fn owner_of(conn: &Connection, id: i64) -> Result<Option<i64>, CatalogError> {
    Ok(conn.prepare_cached("SELECT owner_id FROM assets WHERE id = ?1")?.query_row([id], |r| r.get(0)).optional()?)
}

/// The owner's asset at `path`: its id and content checksum.
pub fn at_path(conn: &Connection, owner_id: i64, path: &str) -> Result<Option<(i64, [u8; 32])>, CatalogError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT id, checksum FROM assets WHERE owner_id = ?1 AND path = ?2")?
        .query_row(params![owner_id, path], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(id, c)| Some((id, c.try_into().ok()?))))
}

/// The file of asset `id` moved to `path` (a rename, a move between folders): same asset, same
/// albums and favourites; back from the trash if it went there for being missing.
pub fn move_to(conn: &Connection, id: i64, path: &str, source: Source) -> Result<(), CatalogError> {
    conn.prepare_cached(
        "UPDATE assets SET path = ?2, source = ?3,
             trashed_at = CASE WHEN missing_since IS NOT NULL THEN NULL ELSE trashed_at END, missing_since = NULL
         WHERE id = ?1",
    )?
    .execute(params![id, path, source.as_str()])?;
    Ok(())
}

/// The file of asset `id` now holds other content (a photo edited in place): everything read
/// from the file is replaced; the asset keeps its id, albums and flags; thumbnails are made again.
pub fn replace_content(conn: &Connection, id: i64, a: &NewAsset) -> Result<(), CatalogError> {
    conn.execute(
        "UPDATE assets SET checksum = ?2, kind = ?3, format = ?4, size_bytes = ?5, width = ?6, height = ?7, taken_at = ?8,
             taken_offset = ?9, local_month = ?10, latitude = ?11, longitude = ?12, make = ?13, model = ?14, lens = ?15,
             duration_ms = ?16, metadata_error = ?17, city = NULL, region = NULL, country = NULL, phash = NULL,
             thumbnails = CASE WHEN ?17 IS NULL THEN 'pending' ELSE 'failed' END
         WHERE id = ?1",
        params![
            id,
            &a.checksum[..],
            if a.video { "video" } else { "photo" },
            a.format,
            a.size_bytes,
            a.width,
            a.height,
            a.taken_at,
            a.taken_offset,
            local_month(a.taken_at, a.taken_offset),
            a.latitude,
            a.longitude,
            a.make,
            a.model,
            a.lens,
            a.duration_ms,
            a.metadata_error,
        ],
    )?;
    Ok(())
}

/// The owner's assets from `source` whose stored path starts with `prefix`, not in the trash
/// unless they are there for being missing: (id, path, missing_since).
pub fn under(conn: &Connection, owner_id: i64, source: Source, prefix: &str) -> Result<Vec<(i64, String, Option<i64>)>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT id, path, missing_since FROM assets
         WHERE owner_id = ?1 AND source = ?2 AND substr(path, 1, length(?3)) = ?3 AND (trashed_at IS NULL OR missing_since IS NOT NULL)",
    )?;
    let rows = st.query_map(params![owner_id, source.as_str(), prefix], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Asset `id`'s file is gone (`Some(now)`: into the trash, marked missing) or back (`None`).
pub fn set_missing(conn: &Connection, id: i64, since: Option<i64>) -> Result<(), CatalogError> {
    match since {
        Some(t) => conn
            .prepare_cached("UPDATE assets SET trashed_at = ?2, missing_since = ?2 WHERE id = ?1 AND trashed_at IS NULL")?
            .execute(params![id, t])?,
        None => conn
            .prepare_cached("UPDATE assets SET trashed_at = NULL, missing_since = NULL WHERE id = ?1 AND missing_since IS NOT NULL")?
            .execute([id])?,
    };
    Ok(())
}

/// An external library folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Library {
    /// Id.
    pub id: i64,
    /// Whose library it feeds (user name).
    pub user: String,
    /// The folder (absolute).
    pub path: String,
    /// Unix seconds.
    pub added_at: i64,
}

/// Add an external library folder for `owner_id`; its id. A folder already added is a conflict.
pub fn add_library(conn: &Connection, owner_id: i64, path: &str, now: i64) -> Result<i64, CatalogError> {
    conn.execute("INSERT INTO libraries (owner_id, path, added_at) VALUES (?1, ?2, ?3)", params![owner_id, path, now]).map_err(|e| {
        match CatalogError::from(e) {
            CatalogError::Conflict(_) => CatalogError::Conflict(format!("{path} is already a library")),
            other => other,
        }
    })?;
    Ok(conn.last_insert_rowid())
}

/// Every external library, with its owner's id.
pub fn libraries(conn: &Connection) -> Result<Vec<(Library, i64)>, CatalogError> {
    let mut st = conn
        .prepare("SELECT l.id, u.name, l.path, l.added_at, l.owner_id FROM libraries l JOIN users u ON u.id = l.owner_id ORDER BY l.id")?;
    let rows = st.query_map([], |r| Ok((Library { id: r.get(0)?, user: r.get(1)?, path: r.get(2)?, added_at: r.get(3)? }, r.get(4)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stop indexing a library: its assets leave the catalog (their files stay untouched); whether
/// it existed.
pub fn remove_library(conn: &Connection, id: i64) -> Result<bool, CatalogError> {
    let Some((owner, path)): Option<(i64, String)> =
        conn.query_row("SELECT owner_id, path FROM libraries WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?
    else {
        return Ok(false);
    };
    let prefix = format!("{}/", path.trim_end_matches('/'));
    conn.execute(
        "DELETE FROM assets WHERE owner_id = ?1 AND source = 'external' AND substr(path, 1, length(?2)) = ?2",
        params![owner, prefix],
    )?;
    conn.execute("DELETE FROM libraries WHERE id = ?1", [id])?;
    Ok(true)
}

/// The owner's asset with this content, if any (uploads are deduplicated by content).
pub fn by_checksum(conn: &Connection, owner_id: i64, checksum: &[u8; 32]) -> Result<Option<i64>, CatalogError> {
    Ok(conn
        .query_row(
            "SELECT id FROM assets WHERE owner_id = ?1 AND checksum = ?2 ORDER BY id LIMIT 1",
            params![owner_id, &checksum[..]],
            |r| r.get(0),
        )
        .optional()?)
}

/// Make sync folder `folder_id` a camera folder of `owner_id`: photos arriving in it join that
/// library (replaces an earlier owner).
pub fn set_camera_folder(conn: &Connection, folder_id: &str, owner_id: i64, now: i64) -> Result<(), CatalogError> {
    conn.execute(
        "INSERT INTO camera_folders (folder_id, owner_id, added_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (folder_id) DO UPDATE SET owner_id = excluded.owner_id",
        params![folder_id, owner_id, now],
    )?;
    Ok(())
}

/// Stop; whether it was one.
pub fn unset_camera_folder(conn: &Connection, folder_id: &str) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM camera_folders WHERE folder_id = ?1", [folder_id])? > 0)
}

/// Every camera folder: (sync folder id, owner).
pub fn camera_folders(conn: &Connection) -> Result<Vec<(String, i64)>, CatalogError> {
    let mut st = conn.prepare("SELECT folder_id, owner_id FROM camera_folders ORDER BY folder_id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whose library a camera folder feeds.
pub fn camera_folder_owner(conn: &Connection, folder_id: &str) -> Result<Option<i64>, CatalogError> {
    Ok(conn.query_row("SELECT owner_id FROM camera_folders WHERE folder_id = ?1", [folder_id], |r| r.get(0)).optional()?)
}

/// What serving an asset's thumbnails needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnails {
    /// The content checksum (thumbnails are named by it).
    pub checksum: [u8; 32],
    /// `pending`, `ready` or `failed`.
    pub state: String,
    /// Why they failed.
    pub problem: Option<String>,
}

/// The thumbnails of the owner's asset `id`.
pub fn thumbnails_of(conn: &Connection, owner_id: i64, id: i64) -> Result<Option<Thumbnails>, CatalogError> {
    let row: Option<(Vec<u8>, String, Option<String>)> = conn
        .prepare_cached("SELECT checksum, thumbnails, metadata_error FROM assets WHERE owner_id = ?1 AND id = ?2")?
        .query_row(params![owner_id, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.and_then(|(c, state, problem)| Some(Thumbnails { checksum: c.try_into().ok()?, state, problem })))
}

/// Where an asset's file is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Relative to the data folder, or absolute for external libraries.
    pub path: String,
    /// BLAKE3 of the content when ingested.
    pub checksum: [u8; 32],
    /// `jpeg`, `heif`…
    pub format: Option<String>,
}

/// The file of the owner's asset `id`.
pub fn file_of(conn: &Connection, owner_id: i64, id: i64) -> Result<Option<StoredFile>, CatalogError> {
    let row: Option<(String, Vec<u8>, Option<String>)> = conn
        .query_row("SELECT path, checksum, format FROM assets WHERE owner_id = ?1 AND id = ?2", params![owner_id, id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    Ok(row.and_then(|(path, c, format)| Some(StoredFile { path, checksum: c.try_into().ok()?, format })))
}

/// The file of asset `id`, whoever owns it (for workers).
pub fn file_by_id(conn: &Connection, id: i64) -> Result<Option<StoredFile>, CatalogError> {
    let row: Option<(String, Vec<u8>, Option<String>)> = conn
        .prepare_cached("SELECT path, checksum, format FROM assets WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.and_then(|(path, c, format)| Some(StoredFile { path, checksum: c.try_into().ok()?, format })))
}

/// Set asset `id`'s place names (offline reverse geocoding of its position).
pub fn set_place(conn: &Connection, id: i64, city: &str, region: Option<&str>, country: &str) -> Result<(), CatalogError> {
    conn.prepare_cached("UPDATE assets SET city = ?2, region = ?3, country = ?4 WHERE id = ?1")?
        .execute(params![id, city, region, country])?;
    Ok(())
}

/// Up to `limit` assets with a position and no place names yet, after id `after`: (id,
/// latitude, longitude), by id (the backfill when place names arrive after the photos).
pub fn unplaced(conn: &Connection, after: i64, limit: i64) -> Result<Vec<(i64, f64, f64)>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT id, latitude, longitude FROM assets
         WHERE id > ?1 AND latitude IS NOT NULL AND longitude IS NOT NULL AND city IS NULL ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Set asset `id`'s perceptual hash (the bits of the u64, stored as SQLite's signed integer), or
/// copy it from another asset with the same content when `None`.
pub fn set_phash(conn: &Connection, id: i64, phash: Option<u64>) -> Result<(), CatalogError> {
    match phash {
        Some(h) => conn.prepare_cached("UPDATE assets SET phash = ?2 WHERE id = ?1")?.execute(params![id, h as i64])?,
        None => conn
            .prepare_cached(
                "UPDATE assets SET phash = (SELECT o.phash FROM assets o WHERE o.checksum = assets.checksum AND o.phash IS NOT NULL LIMIT 1)
                 WHERE id = ?1",
            )?
            .execute([id])?,
    };
    Ok(())
}

/// Summaries of `owner_id`'s assets among `ids` (others are left out), newest first.
pub fn summaries_of(conn: &Connection, owner_id: i64, ids: &[i64]) -> Result<Vec<Summary>, CatalogError> {
    let mut st = conn.prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM assets a WHERE a.owner_id = ?1 AND a.id = ?2"))?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(s) = st.query_row(params![owner_id, id], summary_row).optional()? {
            out.push(s);
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse((s.taken_at, s.id)));
    Ok(out)
}

/// Every perceptual hash of `owner_id`'s assets that are not in the trash: (id, hash), by id.
pub fn phashes(conn: &Connection, owner_id: i64) -> Result<Vec<(i64, u64)>, CatalogError> {
    let mut st =
        conn.prepare_cached("SELECT id, phash FROM assets WHERE owner_id = ?1 AND phash IS NOT NULL AND trashed_at IS NULL ORDER BY id")?;
    let rows = st.query_map([owner_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Record how asset `id`'s thumbnail job ended: `ready`, or `failed` with the reason for the family.
pub fn set_thumbnails(conn: &Connection, id: i64, failure: Option<&str>) -> Result<(), CatalogError> {
    match failure {
        None => conn.prepare_cached("UPDATE assets SET thumbnails = 'ready' WHERE id = ?1")?.execute([id])?,
        Some(why) => conn
            .prepare_cached("UPDATE assets SET thumbnails = 'failed', metadata_error = coalesce(metadata_error, ?2) WHERE id = ?1")?
            .execute(params![id, why])?,
    };
    Ok(())
}

/// Mark `failed` thumbnails whose job is queued again as `pending`.
pub fn thumbnails_pending_again(conn: &Connection) -> Result<usize, CatalogError> {
    Ok(conn.execute(
        "UPDATE assets SET thumbnails = 'pending'
         WHERE thumbnails = 'failed' AND id IN (SELECT asset_id FROM jobs WHERE kind = 'thumbnails' AND state = 'queued')",
        [],
    )?)
}

/// Everything the catalog knows of an asset, for its details page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Details {
    /// Id.
    pub id: i64,
    /// `sync`, `upload`, `external`, `files`.
    pub source: String,
    /// Its file (relative to the data folder, or absolute for external libraries).
    pub path: String,
    /// BLAKE3 of the content, hex.
    pub checksum: String,
    /// `photo` or `video`.
    pub kind: String,
    /// `jpeg`, `heif`…
    pub format: Option<String>,
    /// Bytes.
    pub size_bytes: i64,
    /// Shown size.
    pub width: Option<i64>,
    /// Shown size.
    pub height: Option<i64>,
    /// Unix seconds.
    pub taken_at: i64,
    /// Minutes east of UTC.
    pub taken_offset: Option<i64>,
    /// Position.
    pub latitude: Option<f64>,
    /// Position.
    pub longitude: Option<f64>,
    /// Place names, when known.
    pub city: Option<String>,
    /// Place names, when known.
    pub region: Option<String>,
    /// Place names, when known.
    pub country: Option<String>,
    /// Camera.
    pub make: Option<String>,
    /// Camera.
    pub model: Option<String>,
    /// Lens.
    pub lens: Option<String>,
    /// Videos.
    pub duration_ms: Option<i64>,
    /// Favourite.
    pub favourite: bool,
    /// Archived.
    pub archived: bool,
    /// In the trash since (Unix seconds).
    pub trashed_at: Option<i64>,
    /// What could not be read.
    pub metadata_error: Option<String>,
    /// Added (Unix seconds).
    pub added_at: i64,
    /// `pending`, `ready` or `failed`.
    pub thumbnails: String,
}

/// The owner's asset `id`, in full.
pub fn details(conn: &Connection, owner_id: i64, id: i64) -> Result<Option<Details>, CatalogError> {
    Ok(conn
        .query_row(
            "SELECT id, source, path, checksum, kind, format, size_bytes, width, height, taken_at, taken_offset, latitude, longitude,
                    city, region, country, make, model, lens, duration_ms, favourite, archived, trashed_at, metadata_error, added_at,
                    thumbnails
             FROM assets WHERE owner_id = ?1 AND id = ?2",
            params![owner_id, id],
            |r| {
                let checksum: Vec<u8> = r.get(3)?;
                Ok(Details {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    path: r.get(2)?,
                    checksum: hearth_core::hex::lower(&checksum),
                    kind: r.get(4)?,
                    format: r.get(5)?,
                    size_bytes: r.get(6)?,
                    width: r.get(7)?,
                    height: r.get(8)?,
                    taken_at: r.get(9)?,
                    taken_offset: r.get(10)?,
                    latitude: r.get(11)?,
                    longitude: r.get(12)?,
                    city: r.get(13)?,
                    region: r.get(14)?,
                    country: r.get(15)?,
                    make: r.get(16)?,
                    model: r.get(17)?,
                    lens: r.get(18)?,
                    duration_ms: r.get(19)?,
                    favourite: r.get::<_, i64>(20)? == 1,
                    archived: r.get::<_, i64>(21)? == 1,
                    trashed_at: r.get(22)?,
                    metadata_error: r.get(23)?,
                    added_at: r.get(24)?,
                    thumbnails: r.get(25)?,
                })
            },
        )
        .optional()?)
}

/// Whether the owner has an asset at `path`.
pub fn exists_at(conn: &Connection, owner_id: i64, path: &str) -> Result<bool, CatalogError> {
    Ok(conn.query_row("SELECT 1 FROM assets WHERE owner_id = ?1 AND path = ?2", params![owner_id, path], |_| Ok(())).optional()?.is_some())
}

/// Move to the trash (`Some(now)`) or restore (`None`); whether the asset exists.
pub fn set_trashed(conn: &Connection, owner_id: i64, id: i64, at: Option<i64>) -> Result<bool, CatalogError> {
    Ok(conn.execute("UPDATE assets SET trashed_at = ?3 WHERE owner_id = ?1 AND id = ?2", params![owner_id, id, at])? > 0)
}

/// Archive (hidden from the timeline, kept in albums and search) or bring back.
pub fn set_archived(conn: &Connection, owner_id: i64, id: i64, archived: bool) -> Result<bool, CatalogError> {
    Ok(conn.execute("UPDATE assets SET archived = ?3 WHERE owner_id = ?1 AND id = ?2", params![owner_id, id, archived])? > 0)
}

/// Mark or unmark as a favourite.
pub fn set_favourite(conn: &Connection, owner_id: i64, id: i64, favourite: bool) -> Result<bool, CatalogError> {
    Ok(conn.execute("UPDATE assets SET favourite = ?3 WHERE owner_id = ?1 AND id = ?2", params![owner_id, id, favourite])? > 0)
}

/// An asset whose time in the trash is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// Id.
    pub id: i64,
    /// Owner.
    pub owner_id: i64,
    /// `upload`, `sync`, `external` or `files`.
    pub source: String,
    /// Its file.
    pub file: StoredFile,
}

/// Up to `limit` assets trashed before `before` (Unix seconds).
pub fn expired_trash(conn: &Connection, before: i64, limit: i64) -> Result<Vec<Expired>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT id, owner_id, source, path, checksum, format FROM assets WHERE trashed_at IS NOT NULL AND trashed_at < ?1 ORDER BY trashed_at LIMIT ?2",
    )?;
    let rows = st.query_map(params![before, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Vec<u8>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, owner_id, source, path, checksum, format) = row?;
        if let Ok(checksum) = <[u8; 32]>::try_from(checksum) {
            out.push(Expired { id, owner_id, source, file: StoredFile { path, checksum, format } });
        }
    }
    Ok(out)
}

/// Whether any asset (of anyone) still has this content: its thumbnails are shared.
pub fn checksum_in_use(conn: &Connection, checksum: &[u8; 32]) -> Result<bool, CatalogError> {
    Ok(conn.query_row("SELECT 1 FROM assets WHERE checksum = ?1 LIMIT 1", [&checksum[..]], |_| Ok(())).optional()?.is_some())
}

/// Delete for good (the trash's expiry); whether it existed.
pub fn delete(conn: &Connection, owner_id: i64, id: i64) -> Result<bool, CatalogError> {
    Ok(conn.execute("DELETE FROM assets WHERE owner_id = ?1 AND id = ?2", params![owner_id, id])? > 0)
}

/// Every month with visible assets, newest first.
pub fn months(conn: &Connection, owner_id: i64) -> Result<Vec<Month>, CatalogError> {
    let mut st = conn.prepare_cached("SELECT month, count FROM asset_months WHERE owner_id = ?1 AND count > 0 ORDER BY month DESC")?;
    let rows = st.query_map([owner_id], |r| Ok(Month { month: r.get(0)?, count: r.get(1)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` visible assets of one month, newest first, after `cursor` (the `(taken_at, id)`
/// of the last one already shown).
pub fn month_page(
    conn: &Connection,
    owner_id: i64,
    month: i64,
    cursor: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<Summary>, CatalogError> {
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, i64::MAX));
    let mut st = conn.prepare_cached(
        "SELECT id, taken_at, taken_offset, kind, width, height, duration_ms, favourite, thumbnails FROM assets
         WHERE owner_id = ?1 AND local_month = ?2 AND trashed_at IS NULL AND archived = 0
           AND (taken_at < ?3 OR (taken_at = ?3 AND id < ?4))
         ORDER BY taken_at DESC, id DESC LIMIT ?5",
    )?;
    let rows = st.query_map(params![owner_id, month, after_t, after_id, limit], summary_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` of `owner_id`'s assets in the trash, newest taken first, after `cursor` (the
/// `(taken_at, id)` of the last one already shown). The trash is small (30 days of it): the
/// `assets_trash` index finds its rows.
pub fn trash_page(conn: &Connection, owner_id: i64, cursor: Option<(i64, i64)>, limit: i64) -> Result<Vec<Summary>, CatalogError> {
    let (after_t, after_id) = cursor.unwrap_or((i64::MAX, i64::MAX));
    let mut st = conn.prepare_cached(
        "SELECT id, taken_at, taken_offset, kind, width, height, duration_ms, favourite, thumbnails FROM assets
         WHERE trashed_at IS NOT NULL AND owner_id = ?1
           AND (taken_at < ?2 OR (taken_at = ?2 AND id < ?3))
         ORDER BY taken_at DESC, id DESC LIMIT ?4",
    )?;
    let rows = st.query_map(params![owner_id, after_t, after_id, limit], summary_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A map marker: one asset, or a cluster of nearby ones at their mean position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// Assets in it.
    pub count: i64,
    /// The asset, when the marker is a single one.
    pub asset_id: Option<i64>,
}

/// A rectangle on the map, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Southern edge.
    pub south: f64,
    /// Western edge.
    pub west: f64,
    /// Northern edge.
    pub north: f64,
    /// Eastern edge.
    pub east: f64,
}

impl Bounds {
    /// The whole world.
    pub const WORLD: Bounds = Bounds { south: -90.0, west: -180.0, north: 90.0, east: 180.0 };
}

/// The grid levels `asset_cells` keeps (migration 7).
const CELL_LEVELS: [u32; 4] = [2, 5, 8, 11];

/// Markers of the owner's visible, located assets inside `bounds`, clustered for map `zoom`
/// (0 shows the whole world in 256 px): a cluster is about 64 px wide at that zoom. Up to zoom 11
/// the clusters come from `asset_cells`; closer in, single assets (at most `limit`).
pub fn map_markers(conn: &Connection, owner_id: i64, zoom: u32, bounds: Bounds, limit: i64) -> Result<Vec<Marker>, CatalogError> {
    // A view across the antimeridian (west > east) is widened to every longitude.
    let bounds = if bounds.west > bounds.east { Bounds { west: -180.0, east: 180.0, ..bounds } } else { bounds };
    if zoom <= 11 {
        // At zoom z the world is 256·2^z px wide: 64 px cells are 2^(z+2) across; the nearest
        // kept level at or below that.
        let want = zoom + 2;
        let level = CELL_LEVELS.iter().rev().copied().find(|l| *l <= want).unwrap_or(CELL_LEVELS[0]);
        let n = f64::from(1u32 << level);
        let cell = |v: f64, lo: f64, span: f64| (((v - lo) / span * n).floor() as i64).clamp(0, (1 << level) - 1);
        let (x0, x1) = (cell(bounds.west, -180.0, 360.0), cell(bounds.east, -180.0, 360.0));
        let (y0, y1) = (cell(bounds.south, -90.0, 180.0), cell(bounds.north, -90.0, 180.0));
        let mut st = conn.prepare_cached(
            "SELECT lat_sum / count, lon_sum / count, count FROM asset_cells
             WHERE owner_id = ?1 AND level = ?2 AND cx BETWEEN ?3 AND ?4 AND cy BETWEEN ?5 AND ?6 AND count > 0",
        )?;
        let rows = st.query_map(params![owner_id, level, x0, x1, y0, y1], |r| {
            Ok(Marker { latitude: r.get(0)?, longitude: r.get(1)?, count: r.get(2)?, asset_id: None })
        })?;
        return Ok(rows.collect::<Result<_, _>>()?);
    }
    let mut st = conn.prepare_cached(
        "SELECT id, latitude, longitude FROM assets
         WHERE owner_id = ?1 AND latitude IS NOT NULL AND trashed_at IS NULL AND archived = 0
           AND latitude BETWEEN ?2 AND ?3 AND longitude BETWEEN ?4 AND ?5 LIMIT ?6",
    )?;
    let rows = st.query_map(params![owner_id, bounds.south, bounds.north, bounds.west, bounds.east, limit], |r| {
        Ok(Marker { latitude: r.get(1)?, longitude: r.get(2)?, count: 1, asset_id: Some(r.get(0)?) })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixtures::{asset, catalog};

    #[test]
    fn local_months() {
        assert_eq!(local_month(0, None), 197001);
        // 2019-12-31 23:30 in Sydney (+11:00) is 12:30 UTC: December locally.
        assert_eq!(local_month(1_577_795_400, Some(660)), 201912);
        // 2019-12-31 23:30 in New York (-05:00) is 04:30 UTC on 1 January.
        assert_eq!(local_month(1_577_853_000, Some(-300)), 201912);
        assert_eq!(local_month(1_577_853_000, None), 202001);
        assert!((180001..=180012).contains(&local_month(-10_000_000_000, None)), "a date before 1800 is kept in 1800");
    }

    #[test]
    fn months_and_pages_follow_trash_archive_and_delete() {
        let (_d, c, owner) = catalog();
        let july = 1_720_973_002; // 2024-07-14 16:03 UTC
        let ids: Vec<i64> =
            c.write(|tx| (0..5).map(|i| insert(tx, &asset(owner, i, july + i * 60))).collect::<Result<_, _>>()).expect("insert");
        let june = c.write(|tx| insert(tx, &asset(owner, 9, july - 30 * 86400))).expect("june");
        assert_eq!(
            c.read(|r| months(r, owner)).expect("months"),
            vec![Month { month: 202407, count: 5 }, Month { month: 202406, count: 1 }]
        );
        let page = c.read(|r| month_page(r, owner, 202407, None, 3)).expect("page");
        assert_eq!(page.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ids[4], ids[3], ids[2]]);
        let last = page.last().map(|s| (s.taken_at, s.id));
        let rest = c.read(move |r| month_page(r, owner, 202407, last, 3)).expect("page");
        assert_eq!(rest.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ids[1], ids[0]]);

        c.write(|tx| set_trashed(tx, owner, ids[0], Some(100))).expect("trash");
        c.write(|tx| set_trashed(tx, owner, ids[2], Some(100))).expect("trash");
        let trash = c.read(move |r| trash_page(r, owner, None, 1)).expect("trash");
        assert_eq!(trash.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ids[2]]);
        let after = trash.last().map(|s| (s.taken_at, s.id));
        let trash = c.read(move |r| trash_page(r, owner, after, 10)).expect("trash");
        assert_eq!(trash.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ids[0]]);
        c.write(|tx| set_trashed(tx, owner, ids[2], None)).expect("restore");
        c.write(|tx| set_archived(tx, owner, ids[1], true)).expect("archive");
        c.write(|tx| delete(tx, owner, june)).expect("delete");
        assert_eq!(c.read(|r| months(r, owner)).expect("months"), vec![Month { month: 202407, count: 3 }]);
        c.write(|tx| set_trashed(tx, owner, ids[0], None)).expect("restore");
        c.write(|tx| set_trashed(tx, owner, ids[0], None)).expect("restore twice changes nothing");
        assert_eq!(c.read(|r| months(r, owner)).expect("months"), vec![Month { month: 202407, count: 4 }]);
        assert_eq!(c.read(|r| by_checksum(r, owner, &[3u8; 32])).expect("dedup"), Some(ids[3]));
        let dup = c.write(|tx| insert(tx, &asset(owner, 3, july)));
        assert!(dup.is_err(), "the same path twice");
    }

    #[test]
    fn map_markers_cluster_far_out_and_are_single_close_in() {
        let (_d, c, owner) = catalog();
        let place =
            |n: i64, lat: f64, lon: f64| NewAsset { latitude: Some(lat), longitude: Some(lon), ..asset(owner, n, 1_700_000_000 + n) };
        let paris: Vec<i64> = c
            .write(move |tx| (0..3).map(|i| insert(tx, &place(i, 48.85 + i as f64 * 0.001, 2.29))).collect::<Result<_, _>>())
            .expect("paris");
        let sydney = c.write(move |tx| insert(tx, &place(10, -33.86, 151.21))).expect("sydney");
        c.write(move |tx| insert(tx, &NewAsset { latitude: None, longitude: None, ..asset(owner, 11, 0) })).expect("no place");
        let world = c.read(move |r| map_markers(r, owner, 0, Bounds::WORLD, 100)).expect("world");
        let mut counts: Vec<i64> = world.iter().map(|m| m.count).collect();
        counts.sort();
        assert_eq!(counts, vec![1, 3], "{world:?}");
        let p = world.iter().find(|m| m.count == 3).expect("paris cluster");
        assert!((p.latitude - 48.851).abs() < 1e-9 && (p.longitude - 2.29).abs() < 1e-9, "the cluster sits at its mean: {p:?}");
        // Close in on Paris: single assets with their ids.
        let view = Bounds { south: 48.8, west: 2.2, north: 48.9, east: 2.4 };
        let close = c.read(move |r| map_markers(r, owner, 15, view, 100)).expect("close");
        let mut ids: Vec<i64> = close.iter().filter_map(|m| m.asset_id).collect();
        ids.sort();
        assert_eq!(ids, paris);
        // The trash, archive and delete leave the map too.
        let (first, second) = (paris[0], paris[1]);
        c.write(move |tx| set_trashed(tx, owner, first, Some(5))).expect("trash");
        c.write(move |tx| set_archived(tx, owner, second, true)).expect("archive");
        c.write(move |tx| delete(tx, owner, sydney)).expect("delete");
        let world = c.read(move |r| map_markers(r, owner, 3, Bounds::WORLD, 100)).expect("world");
        assert_eq!(world.iter().map(|m| m.count).collect::<Vec<_>>(), vec![1], "{world:?}");
        let cells: i64 =
            c.read(|r| Ok(r.query_row("SELECT count(*) FROM asset_cells WHERE count <= 0", [], |x| x.get(0))?)).expect("cells");
        assert_eq!(cells, 0, "empty cells are removed");
    }

    #[test]
    fn the_timeline_queries_use_their_indexes() {
        let (_d, c, _owner) = catalog();
        let plan = |sql: &'static str| {
            c.read(move |r| {
                let mut st = r.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = st.query_map([], |row| row.get::<_, String>(3))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?.join("\n"))
            })
            .expect("plan")
        };
        let page = plan(
            "SELECT id FROM assets WHERE owner_id = 1 AND local_month = 202407 AND trashed_at IS NULL AND archived = 0
             AND (taken_at < 5 OR (taken_at = 5 AND id < 9)) ORDER BY taken_at DESC, id DESC LIMIT 100",
        );
        assert!(page.contains("USING INDEX assets_timeline") && !page.contains("TEMP B-TREE"), "{page}");
        let months = plan("SELECT month, count FROM asset_months WHERE owner_id = 1 AND count > 0 ORDER BY month DESC");
        assert!(months.contains("PRIMARY KEY") && !months.contains("TEMP B-TREE"), "{months}");
    }
}
