//! Calendars and address books (migration 24, docs/calendars.md): each member's collections,
//! the events, tasks and contacts in them as the clients sent them, and tombstones of deleted
//! ones for `sync-collection`. `hearth_dav::pim` validates what clients send and serves it; this
//! module keeps it, with the checks that must hold under a second request at the same moment
//! (ETag preconditions, one UID per collection) done inside the writing transaction.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::CatalogError;

/// How long a deleted item's tombstone is kept for clients that sync now and then.
pub const TOMBSTONE_DAYS: i64 = 90;

/// What a collection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionKind {
    /// Events, tasks, journal entries (CalDAV).
    Calendar,
    /// Contacts (CardDAV).
    AddressBook,
}

impl CollectionKind {
    fn as_str(self) -> &'static str {
        match self {
            CollectionKind::Calendar => "calendar",
            CollectionKind::AddressBook => "addressbook",
        }
    }

    /// The components a new collection of this kind takes when its maker names none: events
    /// and tasks for a calendar; none for an address book.
    pub fn default_components(self) -> Vec<String> {
        match self {
            CollectionKind::Calendar => vec!["VEVENT".to_string(), "VTODO".to_string()],
            CollectionKind::AddressBook => Vec::new(),
        }
    }

    /// The collection every member has of this kind, made when their home is first asked for.
    pub fn default_name(self) -> &'static str {
        match self {
            CollectionKind::Calendar => "personal",
            CollectionKind::AddressBook => "contacts",
        }
    }
}

impl ToSql for CollectionKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for CollectionKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "calendar" => Ok(CollectionKind::Calendar),
            "addressbook" => Ok(CollectionKind::AddressBook),
            other => Err(FromSqlError::Other(format!("unknown collection kind {other:?}").into())),
        }
    }
}

/// A collection's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CollectionId(pub i64);

/// A calendar or address book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    /// Id.
    pub id: CollectionId,
    /// Whose.
    pub owner_id: i64,
    /// What it holds.
    pub kind: CollectionKind,
    /// Its path segment.
    pub name: String,
    /// The name shown in apps.
    pub display_name: Option<String>,
    /// `calendar-description` / `addressbook-description`.
    pub description: Option<String>,
    /// Apple's `calendar-color` as the client wrote it (`#RRGGBBAA`).
    pub color: Option<String>,
    /// Apple's `calendar-order`, as the client wrote it.
    pub sort_order: Option<String>,
    /// CalDAV's `calendar-timezone` as the client set it.
    pub timezone: Option<String>,
    /// The components a calendar takes (`VEVENT`, `VTODO`, `VJOURNAL`); empty for a book.
    pub components: Vec<String>,
    /// The number of its last change (its sync token's).
    pub sync_seq: i64,
    /// Sync tokens below this are no longer valid (their tombstones are gone).
    pub tombstones_from: i64,
}

/// Changes to a collection's properties: `Some(None)` removes one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionProps {
    /// Display name.
    pub display_name: Option<Option<String>>,
    /// Description.
    pub description: Option<Option<String>>,
    /// Colour.
    pub color: Option<Option<String>>,
    /// Order.
    pub sort_order: Option<Option<String>>,
    /// Time zone (a VCALENDAR with one VTIMEZONE).
    pub timezone: Option<Option<String>>,
}

const COLLECTION_COLUMNS: &str =
    "id, owner_id, kind, name, display_name, description, color, sort_order, components, sync_seq, tombstones_from, timezone";

fn collection_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Collection> {
    let components: String = r.get(8)?;
    Ok(Collection {
        id: CollectionId(r.get(0)?),
        owner_id: r.get(1)?,
        kind: r.get(2)?,
        name: r.get(3)?,
        display_name: r.get(4)?,
        description: r.get(5)?,
        color: r.get(6)?,
        sort_order: r.get(7)?,
        components: components.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
        sync_seq: r.get(9)?,
        tombstones_from: r.get(10)?,
        timezone: r.get(11)?,
    })
}

/// `owner_id`'s collections of `kind`, by name.
pub fn collections(conn: &Connection, owner_id: i64, kind: CollectionKind) -> Result<Vec<Collection>, CatalogError> {
    let mut st =
        conn.prepare_cached(&format!("SELECT {COLLECTION_COLUMNS} FROM pim_collections WHERE owner_id = ?1 AND kind = ?2 ORDER BY name"))?;
    let rows = st.query_map(params![owner_id, kind], collection_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One of `owner_id`'s collections by its name.
pub fn collection(conn: &Connection, owner_id: i64, kind: CollectionKind, name: &str) -> Result<Option<Collection>, CatalogError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLLECTION_COLUMNS} FROM pim_collections WHERE owner_id = ?1 AND kind = ?2 AND name = ?3"))?
        .query_row(params![owner_id, kind, name], collection_row)
        .optional()?)
}

/// How many items a collection holds.
pub fn item_count(conn: &Connection, collection: CollectionId) -> Result<i64, CatalogError> {
    Ok(conn.prepare_cached("SELECT count(*) FROM pim_items WHERE collection_id = ?1")?.query_row([collection.0], |r| r.get(0))?)
}

/// An address name for a new collection shown as `display`: its letters and digits in lower
/// case joined by `-` (`calendar` or `contacts` when none are left), with `-2`, `-3` … when
/// `owner_id` has that name already.
pub fn unused_name(conn: &Connection, owner_id: i64, kind: CollectionKind, display: &str) -> Result<String, CatalogError> {
    let mut base = String::new();
    for c in display.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.is_empty() && !base.ends_with('-') {
            base.push('-');
        }
    }
    let mut base: String = base.trim_end_matches('-').chars().take(60).collect();
    if base.is_empty() {
        base = match kind {
            CollectionKind::Calendar => "calendar".into(),
            CollectionKind::AddressBook => "contacts".into(),
        };
    }
    let mut name = base.clone();
    let mut n = 1;
    while collection(conn, owner_id, kind, &name)?.is_some() {
        n += 1;
        name = format!("{base}-{n}");
    }
    Ok(name)
}

/// Whether `owner_id` has a collection of `kind`.
pub fn has_any(conn: &Connection, owner_id: i64, kind: CollectionKind) -> Result<bool, CatalogError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM pim_collections WHERE owner_id = ?1 AND kind = ?2 LIMIT 1")?
        .query_row(params![owner_id, kind], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Makes `owner_id`'s default collection of `kind` when they have none of that kind yet
/// (a member who deleted every calendar gets `personal` back, as Nextcloud does).
pub fn ensure_default(conn: &Connection, owner_id: i64, kind: CollectionKind, now: i64) -> Result<(), CatalogError> {
    if !has_any(conn, owner_id, kind)? {
        let display = match kind {
            CollectionKind::Calendar => "Personal",
            CollectionKind::AddressBook => "Contacts",
        };
        let props = CollectionProps { display_name: Some(Some(display.into())), ..Default::default() };
        create_collection(conn, owner_id, kind, kind.default_name(), &kind.default_components(), &props, now)?;
    }
    Ok(())
}

/// Makes a collection; `Conflict` when `owner_id` has one of that kind and name.
pub fn create_collection(
    conn: &Connection,
    owner_id: i64,
    kind: CollectionKind,
    name: &str,
    components: &[String],
    props: &CollectionProps,
    now: i64,
) -> Result<Collection, CatalogError> {
    if collection(conn, owner_id, kind, name)?.is_some() {
        return Err(CatalogError::Conflict(format!("a {} named {name:?} exists", kind.as_str())));
    }
    let flat = |v: &Option<Option<String>>| v.clone().flatten();
    conn.prepare_cached(
        "INSERT INTO pim_collections (owner_id, kind, name, display_name, description, color, sort_order, components, created_at, timezone)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        owner_id,
        kind,
        name,
        flat(&props.display_name),
        flat(&props.description),
        flat(&props.color),
        flat(&props.sort_order),
        components.join(","),
        now,
        flat(&props.timezone)
    ])?;
    collection(conn, owner_id, kind, name)?.ok_or_else(|| CatalogError::NotFound(format!("collection {name}")))
}

/// Sets or removes a collection's properties.
pub fn change_collection(conn: &Connection, id: CollectionId, props: &CollectionProps) -> Result<(), CatalogError> {
    let changes = [
        ("display_name", &props.display_name),
        ("description", &props.description),
        ("color", &props.color),
        ("sort_order", &props.sort_order),
        ("timezone", &props.timezone),
    ];
    for (column, change) in changes {
        if let Some(value) = change {
            conn.prepare_cached(&format!("UPDATE pim_collections SET {column} = ?2 WHERE id = ?1"))?.execute(params![id.0, value])?;
        }
    }
    Ok(())
}

/// Deletes a collection with everything in it.
pub fn delete_collection(conn: &Connection, id: CollectionId) -> Result<(), CatalogError> {
    conn.prepare_cached("DELETE FROM pim_collections WHERE id = ?1")?.execute([id.0])?;
    Ok(())
}

/// What a member may do in a calendar or address book another shares with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareAccess {
    /// See what is in it.
    Read,
    /// Also add, change and delete events, tasks or contacts.
    Write,
}

impl ToSql for ShareAccess {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(match self {
            ShareAccess::Read => "read",
            ShareAccess::Write => "write",
        }))
    }
}

impl FromSql for ShareAccess {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value.as_str()? {
            "read" => Ok(ShareAccess::Read),
            "write" => Ok(ShareAccess::Write),
            other => Err(FromSqlError::Other(format!("unknown share access {other:?}").into())),
        }
    }
}

/// Someone a collection is shared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareMember {
    /// Their user id.
    #[serde(skip)]
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// What they may do.
    pub access: ShareAccess,
}

/// A collection another member shares with the one asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    /// The collection.
    pub collection: Collection,
    /// Its owner's name.
    pub owner: String,
    /// What the one asking may do.
    pub access: ShareAccess,
}

impl Shared {
    /// Its path segment in the home of the member it is shared with: `<owner>~<name>` (a
    /// member's own collection names never hold `~`, docs/calendars.md).
    pub fn segment(&self) -> String {
        format!("{}~{}", self.owner, self.collection.name)
    }
}

/// Shares a collection with `user_id` (not its owner), or changes what they may do.
pub fn share(conn: &Connection, id: CollectionId, user_id: i64, access: ShareAccess) -> Result<(), CatalogError> {
    let owner: i64 = conn.prepare_cached("SELECT owner_id FROM pim_collections WHERE id = ?1")?.query_row([id.0], |r| r.get(0))?;
    if owner == user_id {
        return Err(CatalogError::Conflict("a calendar or address book is its owner's already".into()));
    }
    conn.prepare_cached(
        "INSERT INTO pim_collection_members (collection_id, user_id, access) VALUES (?1, ?2, ?3)
         ON CONFLICT (collection_id, user_id) DO UPDATE SET access = excluded.access",
    )?
    .execute(params![id.0, user_id, access])?;
    Ok(())
}

/// Stops sharing a collection with `user_id`; whether it was shared with them.
pub fn unshare(conn: &Connection, id: CollectionId, user_id: i64) -> Result<bool, CatalogError> {
    Ok(conn
        .prepare_cached("DELETE FROM pim_collection_members WHERE collection_id = ?1 AND user_id = ?2")?
        .execute(params![id.0, user_id])?
        > 0)
}

/// Who a collection is shared with, by name.
pub fn members(conn: &Connection, id: CollectionId) -> Result<Vec<ShareMember>, CatalogError> {
    let mut st = conn.prepare_cached(
        "SELECT m.user_id, u.name, m.access FROM pim_collection_members m JOIN users u ON u.id = m.user_id
         WHERE m.collection_id = ?1 ORDER BY u.name",
    )?;
    let rows = st.query_map([id.0], |r| Ok(ShareMember { user_id: r.get(0)?, name: r.get(1)?, access: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn shared_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Shared> {
    Ok(Shared { collection: collection_row(r)?, owner: r.get(12)?, access: r.get(13)? })
}

/// The collections of `kind` others share with `user_id`, by owner and name.
pub fn shared_with(conn: &Connection, user_id: i64, kind: CollectionKind) -> Result<Vec<Shared>, CatalogError> {
    let columns = COLLECTION_COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
    let mut st = conn.prepare_cached(&format!(
        "SELECT {columns}, u.name, m.access FROM pim_collection_members m
         JOIN pim_collections c ON c.id = m.collection_id JOIN users u ON u.id = c.owner_id
         WHERE m.user_id = ?1 AND c.kind = ?2 ORDER BY u.name, c.name"
    ))?;
    let rows = st.query_map(params![user_id, kind], shared_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The collection `owner`'s `name` of `kind`, when it is shared with `user_id`.
pub fn shared_collection(
    conn: &Connection,
    user_id: i64,
    kind: CollectionKind,
    owner: &str,
    name: &str,
) -> Result<Option<Shared>, CatalogError> {
    let columns = COLLECTION_COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {columns}, u.name, m.access FROM pim_collection_members m
             JOIN pim_collections c ON c.id = m.collection_id JOIN users u ON u.id = c.owner_id
             WHERE m.user_id = ?1 AND c.kind = ?2 AND u.name = ?3 AND c.name = ?4"
        ))?
        .query_row(params![user_id, kind, owner, name], shared_row)
        .optional()?)
}

/// An item as listings show it (no text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMeta {
    /// Its name in the collection.
    pub name: String,
    /// Quoted strong ETag.
    pub etag: String,
    /// Bytes of its text.
    pub size: i64,
    /// Its component (`VEVENT`, `VTODO`, `VJOURNAL`, `VCARD`).
    pub component: String,
}

/// An item with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What listings show.
    pub meta: ItemMeta,
    /// Its UID.
    pub uid: String,
    /// The text as the client sent it.
    pub body: String,
    /// When it was last written (Unix seconds).
    pub modified_at: i64,
}

/// An item to store, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem<'a> {
    /// Its name in the collection.
    pub name: &'a str,
    /// Its UID.
    pub uid: &'a str,
    /// Its component.
    pub component: &'a str,
    /// Its text.
    pub body: &'a str,
    /// Quoted strong ETag of the text.
    pub etag: &'a str,
    /// The window its instances fall in (Unix seconds; `None` at the end: no end).
    pub window: Option<(i64, Option<i64>)>,
}

/// A write's condition on the item already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// None.
    Any,
    /// `If-None-Match: *`: only when no item of that name exists.
    Absent,
    /// `If-Match: *`: only when it exists.
    Present,
    /// `If-Match`: only when its ETag is one of these (quoted).
    EtagIn(Vec<String>),
}

impl Precondition {
    fn holds(&self, current: Option<&str>) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Absent => current.is_none(),
            Precondition::Present => current.is_some(),
            Precondition::EtagIn(tags) => current.is_some_and(|c| tags.iter().any(|t| t == c)),
        }
    }
}

/// What [`put_item`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// A new item.
    Created,
    /// The item of that name replaced.
    Replaced,
    /// The precondition did not hold: nothing written.
    PreconditionFailed,
    /// Another item of the collection has that UID (its name): nothing written.
    UidTaken(String),
}

const ITEM_META_COLUMNS: &str = "name, etag, length(CAST(body AS BLOB)), component";

fn meta_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ItemMeta> {
    Ok(ItemMeta { name: r.get(0)?, etag: r.get(1)?, size: r.get(2)?, component: r.get(3)? })
}

/// An item's columns with its text: [`ITEM_META_COLUMNS`] first, as [`item_row`] reads them.
const ITEM_COLUMNS: &str = "name, etag, length(CAST(body AS BLOB)), component, uid, body, modified_at";

fn item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    Ok(Item { meta: meta_row(r)?, uid: r.get(4)?, body: r.get(5)?, modified_at: r.get(6)? })
}

/// Every item of a collection, by name.
pub fn items(conn: &Connection, collection: CollectionId) -> Result<Vec<ItemMeta>, CatalogError> {
    let mut st = conn.prepare_cached(&format!("SELECT {ITEM_META_COLUMNS} FROM pim_items WHERE collection_id = ?1 ORDER BY name"))?;
    let rows = st.query_map([collection.0], meta_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One item with its text.
pub fn item(conn: &Connection, collection: CollectionId, name: &str) -> Result<Option<Item>, CatalogError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM pim_items WHERE collection_id = ?1 AND name = ?2"))?
        .query_row(params![collection.0, name], item_row)
        .optional()?)
}

/// Items of a collection of `component` (any when `None`) whose window may overlap `range`
/// (start, end; either open), with their text: the candidates a time-range query then checks
/// instance by instance. Items without a window are always candidates.
pub fn items_in_window(
    conn: &Connection,
    collection: CollectionId,
    component: Option<&str>,
    range: Option<(Option<i64>, Option<i64>)>,
) -> Result<Vec<Item>, CatalogError> {
    let (start, end) = range.unwrap_or((None, None));
    let mut st = conn.prepare_cached(&format!(
        "SELECT {ITEM_COLUMNS} FROM pim_items
         WHERE collection_id = ?1 AND (?2 IS NULL OR component = ?2)
           AND (starts IS NULL OR ((?3 IS NULL OR ends IS NULL OR ends > ?3) AND (?4 IS NULL OR starts < ?4)))
         ORDER BY name"
    ))?;
    let rows = st.query_map(params![collection.0, component, start, end], item_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The next change number of a collection.
fn next_seq(conn: &Connection, collection: CollectionId) -> Result<i64, CatalogError> {
    Ok(conn
        .prepare_cached("UPDATE pim_collections SET sync_seq = sync_seq + 1 WHERE id = ?1 RETURNING sync_seq")?
        .query_row([collection.0], |r| r.get(0))?)
}

/// Writes an item if `pre` holds for the one of that name and no other item has its UID. Run
/// in one write transaction, so two clients writing at once cannot both pass the checks.
pub fn put_item(
    conn: &Connection,
    collection: CollectionId,
    new: &NewItem<'_>,
    pre: &Precondition,
    now: i64,
) -> Result<PutOutcome, CatalogError> {
    let current: Option<String> = conn
        .prepare_cached("SELECT etag FROM pim_items WHERE collection_id = ?1 AND name = ?2")?
        .query_row(params![collection.0, new.name], |r| r.get(0))
        .optional()?;
    if !pre.holds(current.as_deref()) {
        return Ok(PutOutcome::PreconditionFailed);
    }
    let holder: Option<String> = conn
        .prepare_cached("SELECT name FROM pim_items WHERE collection_id = ?1 AND uid = ?2 AND name <> ?3")?
        .query_row(params![collection.0, new.uid, new.name], |r| r.get(0))
        .optional()?;
    if let Some(name) = holder {
        return Ok(PutOutcome::UidTaken(name));
    }
    let seq = next_seq(conn, collection)?;
    let (starts, ends) = match new.window {
        Some((s, e)) => (Some(s), e),
        None => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO pim_items (collection_id, name, uid, component, body, etag, starts, ends, seq, modified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (collection_id, name) DO UPDATE SET uid = excluded.uid, component = excluded.component,
           body = excluded.body, etag = excluded.etag, starts = excluded.starts, ends = excluded.ends,
           seq = excluded.seq, modified_at = excluded.modified_at",
    )?
    .execute(params![collection.0, new.name, new.uid, new.component, new.body, new.etag, starts, ends, seq, now])?;
    conn.prepare_cached("DELETE FROM pim_tombstones WHERE collection_id = ?1 AND name = ?2")?.execute(params![collection.0, new.name])?;
    Ok(if current.is_some() { PutOutcome::Replaced } else { PutOutcome::Created })
}

/// What [`delete_item`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Gone, with a tombstone.
    Deleted,
    /// There was no such item.
    NotFound,
    /// The precondition did not hold: nothing deleted.
    PreconditionFailed,
}

/// Deletes an item if `pre` holds, leaving a tombstone for `sync-collection`.
pub fn delete_item(
    conn: &Connection,
    collection: CollectionId,
    name: &str,
    pre: &Precondition,
    now: i64,
) -> Result<DeleteOutcome, CatalogError> {
    let current: Option<String> = conn
        .prepare_cached("SELECT etag FROM pim_items WHERE collection_id = ?1 AND name = ?2")?
        .query_row(params![collection.0, name], |r| r.get(0))
        .optional()?;
    if current.is_none() {
        return Ok(DeleteOutcome::NotFound);
    }
    if !pre.holds(current.as_deref()) {
        return Ok(DeleteOutcome::PreconditionFailed);
    }
    let seq = next_seq(conn, collection)?;
    conn.prepare_cached("DELETE FROM pim_items WHERE collection_id = ?1 AND name = ?2")?.execute(params![collection.0, name])?;
    conn.prepare_cached(
        "INSERT INTO pim_tombstones (collection_id, name, seq, deleted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (collection_id, name) DO UPDATE SET seq = excluded.seq, deleted_at = excluded.deleted_at",
    )?
    .execute(params![collection.0, name, seq, now])?;
    Ok(DeleteOutcome::Deleted)
}

/// What changed in a collection since a sync token's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Items written since, by name.
    pub changed: Vec<ItemMeta>,
    /// Names of items deleted since.
    pub deleted: Vec<String>,
    /// The collection's number now (the new token's).
    pub now: i64,
}

/// The changes after `since` (a number the collection gave in a token); `None` when that token
/// is no longer valid (older than the tombstones kept, or from the future).
pub fn changes_since(conn: &Connection, collection: &Collection, since: i64) -> Result<Option<Changes>, CatalogError> {
    if since < collection.tombstones_from || since > collection.sync_seq {
        return Ok(None);
    }
    let mut st =
        conn.prepare_cached(&format!("SELECT {ITEM_META_COLUMNS} FROM pim_items WHERE collection_id = ?1 AND seq > ?2 ORDER BY seq"))?;
    let changed = st.query_map(params![collection.id.0, since], meta_row)?.collect::<Result<_, _>>()?;
    let mut st = conn.prepare_cached("SELECT name FROM pim_tombstones WHERE collection_id = ?1 AND seq > ?2 ORDER BY seq")?;
    let deleted = st.query_map(params![collection.id.0, since], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(Some(Changes { changed, deleted, now: collection.sync_seq }))
}

/// Forgets tombstones older than [`TOMBSTONE_DAYS`]; tokens from before them become invalid.
/// Returns how many went.
pub fn prune_tombstones(conn: &Connection, now: i64) -> Result<usize, CatalogError> {
    let before = now - TOMBSTONE_DAYS * 86_400;
    conn.prepare_cached(
        "UPDATE pim_collections SET tombstones_from = (SELECT max(seq) FROM pim_tombstones t
           WHERE t.collection_id = pim_collections.id AND t.deleted_at < ?1)
         WHERE EXISTS (SELECT 1 FROM pim_tombstones t WHERE t.collection_id = pim_collections.id AND t.deleted_at < ?1)",
    )?
    .execute([before])?;
    Ok(conn.prepare_cached("DELETE FROM pim_tombstones WHERE deleted_at < ?1")?.execute([before])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn new<'a>(name: &'a str, uid: &'a str, body: &'a str, etag: &'a str) -> NewItem<'a> {
        NewItem { name, uid, component: "VEVENT", body, etag, window: Some((100, Some(200))) }
    }

    #[test]
    fn defaults_collections_and_their_properties() {
        let (_dir, catalog, owner) = fixtures::catalog();
        catalog
            .write(|tx| {
                ensure_default(tx, owner, CollectionKind::Calendar, 1)?;
                ensure_default(tx, owner, CollectionKind::Calendar, 1)?;
                ensure_default(tx, owner, CollectionKind::AddressBook, 1)
            })
            .expect("defaults");
        let calendars = catalog.read(|r| collections(r, owner, CollectionKind::Calendar)).expect("list");
        assert_eq!(calendars.len(), 1, "made once");
        assert_eq!((calendars[0].name.as_str(), calendars[0].components.clone()), ("personal", vec!["VEVENT".into(), "VTODO".into()]));
        let books = catalog.read(|r| collections(r, owner, CollectionKind::AddressBook)).expect("list");
        assert_eq!((books[0].name.as_str(), books[0].display_name.as_deref()), ("contacts", Some("Contacts")));

        let props = CollectionProps { color: Some(Some("#FF0000FF".into())), ..Default::default() };
        let work = catalog
            .write(|tx| create_collection(tx, owner, CollectionKind::Calendar, "work", &["VEVENT".into()], &props, 2))
            .expect("create");
        assert_eq!(work.color.as_deref(), Some("#FF0000FF"));
        let again = catalog.write(|tx| create_collection(tx, owner, CollectionKind::Calendar, "work", &[], &props, 2));
        assert!(matches!(again, Err(CatalogError::Conflict(_))));
        // A book may have the name of a calendar: they are different homes.
        catalog.write(|tx| create_collection(tx, owner, CollectionKind::AddressBook, "work", &[], &props, 2)).expect("book");
        let change = CollectionProps { display_name: Some(Some("Work".into())), color: Some(None), ..Default::default() };
        catalog.write(|tx| change_collection(tx, work.id, &change)).expect("change");
        let work = catalog.read(|r| collection(r, owner, CollectionKind::Calendar, "work")).expect("get").expect("work");
        assert_eq!((work.display_name.as_deref(), work.color), (Some("Work"), None));
        let names: Vec<String> = ["Work", "Ünïcode & Co!", "✓✓", "personal"]
            .iter()
            .map(|d| catalog.read(|r| unused_name(r, owner, CollectionKind::Calendar, d)).expect("name"))
            .collect();
        assert_eq!(names, ["work-2", "n-code-co", "calendar", "personal-2"]);
        assert_eq!(catalog.read(|r| item_count(r, work.id)).expect("count"), 0);
        catalog.write(|tx| delete_collection(tx, work.id)).expect("delete");
        assert!(catalog.read(|r| collection(r, owner, CollectionKind::Calendar, "work")).expect("get").is_none());
    }

    #[test]
    fn items_with_preconditions_unique_uids_and_changes_for_sync() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let cal = catalog
            .write(|tx| create_collection(tx, owner, CollectionKind::Calendar, "c", &[], &CollectionProps::default(), 1))
            .expect("calendar");
        let put = |n: &NewItem<'_>, pre: Precondition| catalog.write(|tx| put_item(tx, cal.id, n, &pre, 5)).expect("put");
        assert_eq!(put(&new("a.ics", "A", "one", "\"1\""), Precondition::Absent), PutOutcome::Created);
        assert_eq!(put(&new("a.ics", "A", "two", "\"2\""), Precondition::Absent), PutOutcome::PreconditionFailed);
        assert_eq!(put(&new("a.ics", "A", "two", "\"2\""), Precondition::EtagIn(vec!["\"9\"".into()])), PutOutcome::PreconditionFailed);
        assert_eq!(put(&new("b.ics", "B", "b", "\"b\""), Precondition::Present), PutOutcome::PreconditionFailed);
        assert_eq!(put(&new("a.ics", "A", "two", "\"2\""), Precondition::EtagIn(vec!["\"1\"".into()])), PutOutcome::Replaced);
        assert_eq!(put(&new("b.ics", "A", "b", "\"b\""), Precondition::Any), PutOutcome::UidTaken("a.ics".into()));
        let token = catalog.read(|r| collection(r, owner, CollectionKind::Calendar, "c")).expect("get").expect("c");
        assert_eq!(put(&new("b.ics", "B", "bee", "\"b\""), Precondition::Any), PutOutcome::Created);

        let a = catalog.read(|r| item(r, cal.id, "a.ics")).expect("get").expect("a");
        assert_eq!((a.body.as_str(), a.meta.etag.as_str(), a.meta.size, a.uid.as_str()), ("two", "\"2\"", 3, "A"));
        assert_eq!(catalog.read(|r| items(r, cal.id)).expect("list").len(), 2);

        let del = |name: &str, pre: Precondition| catalog.write(|tx| delete_item(tx, cal.id, name, &pre, 6)).expect("delete");
        assert_eq!(del("a.ics", Precondition::EtagIn(vec!["\"1\"".into()])), DeleteOutcome::PreconditionFailed);
        assert_eq!(del("a.ics", Precondition::EtagIn(vec!["\"2\"".into()])), DeleteOutcome::Deleted);
        assert_eq!(del("a.ics", Precondition::Any), DeleteOutcome::NotFound);

        let since = catalog.read(|r| changes_since(r, &cal_now(&catalog, owner), token.sync_seq)).expect("changes").expect("valid");
        assert_eq!(since.changed.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["b.ics"]);
        assert_eq!(since.deleted, vec!["a.ics".to_string()]);
        let all = catalog.read(|r| changes_since(r, &cal_now(&catalog, owner), 0)).expect("changes").expect("valid");
        assert_eq!((all.changed.len(), all.deleted.len(), all.now), (1, 1, since.now));
        assert!(
            catalog.read(|r| changes_since(r, &cal_now(&catalog, owner), since.now + 1)).expect("changes").is_none(),
            "a token from the future"
        );

        // Time-range candidates: b.ics covers 100–200.
        let names = |range| catalog.read(|r| items_in_window(r, cal.id, Some("VEVENT"), range)).expect("window");
        assert_eq!(names(Some((Some(150), Some(160)))).len(), 1);
        assert_eq!(names(Some((Some(200), None))).len(), 0, "ends at 200");
        assert_eq!(names(Some((None, Some(100)))).len(), 0, "starts at 100");
        assert_eq!(catalog.read(|r| items_in_window(r, cal.id, Some("VTODO"), None)).expect("window").len(), 0);

        // The UID is free again once its item is gone; a name written again loses its tombstone.
        assert_eq!(put(&new("c.ics", "A", "c", "\"c\""), Precondition::Absent), PutOutcome::Created);
        assert_eq!(put(&new("a.ics", "A2", "a", "\"a\""), Precondition::Absent), PutOutcome::Created);
        let after = catalog.read(|r| changes_since(r, &cal_now(&catalog, owner), since.now)).expect("changes").expect("valid");
        assert!(after.deleted.is_empty(), "{after:?}");

        // Tombstones older than 90 days go, and tokens from before them with them.
        catalog.write(|tx| delete_item(tx, cal.id, "c.ics", &Precondition::Any, 10)).expect("delete");
        let pruned = catalog.write(|tx| prune_tombstones(tx, 10 + TOMBSTONE_DAYS * 86_400 + 1)).expect("prune");
        assert_eq!(pruned, 1);
        let now = cal_now(&catalog, owner);
        assert!(catalog.read(|r| changes_since(r, &now, since.now)).expect("changes").is_none(), "the token is too old now");
        assert!(catalog.read(|r| changes_since(r, &now, now.sync_seq)).expect("changes").is_some());
    }

    #[test]
    fn collections_shared_with_family_members() {
        let (_dir, catalog, owner) = fixtures::catalog();
        let (bob, cy) = catalog
            .write(|tx| Ok((fixtures::user(tx, "bob", crate::users::Role::Member)?, fixtures::user(tx, "cy", crate::users::Role::Member)?)))
            .expect("users");
        let family = catalog
            .write(|tx| create_collection(tx, owner, CollectionKind::Calendar, "family", &[], &CollectionProps::default(), 1))
            .expect("calendar");
        catalog.write(|tx| share(tx, family.id, bob, ShareAccess::Write)).expect("share");
        catalog.write(|tx| share(tx, family.id, cy, ShareAccess::Read)).expect("share");
        catalog.write(|tx| share(tx, family.id, cy, ShareAccess::Write)).expect("changed");
        assert!(matches!(catalog.write(|tx| share(tx, family.id, owner, ShareAccess::Read)), Err(CatalogError::Conflict(_))));
        let m = catalog.read(|r| members(r, family.id)).expect("members");
        assert_eq!(
            m.iter().map(|m| (m.name.as_str(), m.access)).collect::<Vec<_>>(),
            [("bob", ShareAccess::Write), ("cy", ShareAccess::Write)]
        );
        let for_bob = catalog.read(|r| shared_with(r, bob, CollectionKind::Calendar)).expect("shared");
        assert_eq!((for_bob.len(), for_bob[0].owner.as_str(), for_bob[0].collection.name.as_str()), (1, "ada", "family"));
        assert!(catalog.read(|r| shared_with(r, bob, CollectionKind::AddressBook)).expect("shared").is_empty());
        assert!(catalog.read(|r| shared_collection(r, bob, CollectionKind::Calendar, "ada", "family")).expect("get").is_some());
        assert!(catalog.read(|r| shared_collection(r, bob, CollectionKind::Calendar, "ada", "other")).expect("get").is_none());
        assert!(
            catalog.read(|r| shared_collection(r, owner, CollectionKind::Calendar, "ada", "family")).expect("get").is_none(),
            "not shared with its owner"
        );
        assert!(catalog.write(|tx| unshare(tx, family.id, bob)).expect("unshare"));
        assert!(!catalog.write(|tx| unshare(tx, family.id, bob)).expect("unshare"));
        catalog.write(|tx| delete_collection(tx, family.id)).expect("delete");
        assert!(catalog.read(|r| shared_with(r, cy, CollectionKind::Calendar)).expect("shared").is_empty(), "gone with it");
    }

    fn cal_now(catalog: &crate::Catalog, owner: i64) -> Collection {
        catalog.read(|r| collection(r, owner, CollectionKind::Calendar, "c")).expect("get").expect("c")
    }
}
