-- Calendars and address books (docs/calendars.md): each member's collections, the events,
-- tasks and contacts in them as the clients sent them, and what was deleted, for sync-collection.
CREATE TABLE pim_collections (
    id              INTEGER PRIMARY KEY,
    owner_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('calendar', 'addressbook')),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    display_name    TEXT,
    description     TEXT,
    color           TEXT,
    sort_order      TEXT,
    -- CalDAV's calendar-timezone as the client set it (a VCALENDAR with one VTIMEZONE): the zone
    -- floating times and dates are read in when a query asks by time range.
    timezone        TEXT,
    -- The components a calendar takes, comma-separated (VEVENT,VTODO,VJOURNAL); '' for a book.
    components      TEXT NOT NULL DEFAULT '',
    -- Bumped by every change of an item in it: the sync token's number.
    sync_seq        INTEGER NOT NULL DEFAULT 0,
    -- Tombstones below this seq are gone: an older sync token is no longer valid.
    tombstones_from INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (owner_id, kind, name)
);

CREATE TABLE pim_items (
    id            INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES pim_collections (id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    uid           TEXT NOT NULL,
    -- VEVENT, VTODO, VJOURNAL for calendars; VCARD for contacts.
    component     TEXT NOT NULL,
    body          TEXT NOT NULL,
    etag          TEXT NOT NULL,
    -- The window every instance falls in (Unix seconds, UTC); ends NULL: no end.
    starts        INTEGER,
    ends          INTEGER,
    seq           INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    UNIQUE (collection_id, name),
    UNIQUE (collection_id, uid)
);
CREATE INDEX pim_items_changes ON pim_items (collection_id, seq);

CREATE TABLE pim_tombstones (
    collection_id INTEGER NOT NULL REFERENCES pim_collections (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    deleted_at    INTEGER NOT NULL,
    PRIMARY KEY (collection_id, name)
) WITHOUT ROWID;

-- Calendars and address books a member shares with others of the family, read-only or
-- read-write (docs/calendars.md, "Shared calendars and address books").
CREATE TABLE pim_collection_members (
    collection_id INTEGER NOT NULL REFERENCES pim_collections (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access        TEXT NOT NULL CHECK (access IN ('read', 'write')),
    PRIMARY KEY (collection_id, user_id)
) WITHOUT ROWID;
CREATE INDEX pim_collection_members_user ON pim_collection_members (user_id);
