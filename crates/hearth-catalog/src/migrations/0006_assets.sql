-- The photo library: one row per photo or video the library knows, and the per-month counts the
-- timeline reads instead of counting a million rows (kept by triggers in the same transaction).
-- "Visible" means in the timeline: not in the trash and not archived.

CREATE TABLE assets (
    id             INTEGER PRIMARY KEY,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source         TEXT NOT NULL CHECK (source IN ('sync', 'upload', 'external', 'files')),
    path           TEXT NOT NULL,
    checksum       BLOB NOT NULL CHECK (length(checksum) = 32),
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'video')),
    format         TEXT,
    size_bytes     INTEGER NOT NULL,
    width          INTEGER,
    height         INTEGER,
    -- Unix seconds; the wall time read as UTC when the offset is unknown; the file's time when
    -- the file has no date.
    taken_at       INTEGER NOT NULL,
    taken_offset   INTEGER,
    -- YYYYMM of the photo's own local time: the timeline's bucket (a photo taken at 23:30 on
    -- 31 December in Sydney stays in December wherever it is viewed).
    local_month    INTEGER NOT NULL CHECK (local_month BETWEEN 180001 AND 999912),
    latitude       REAL,
    longitude      REAL,
    city           TEXT,
    region         TEXT,
    country        TEXT,
    make           TEXT,
    model          TEXT,
    lens           TEXT,
    duration_ms    INTEGER,
    favourite      INTEGER NOT NULL DEFAULT 0 CHECK (favourite IN (0, 1)),
    archived       INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    trashed_at     INTEGER,
    metadata_error TEXT,
    added_at       INTEGER NOT NULL,
    UNIQUE (owner_id, path)
);
CREATE INDEX assets_timeline ON assets (owner_id, local_month, taken_at DESC, id DESC)
    WHERE trashed_at IS NULL AND archived = 0;
CREATE INDEX assets_checksum ON assets (owner_id, checksum);
CREATE INDEX assets_trash ON assets (trashed_at) WHERE trashed_at IS NOT NULL;

CREATE TABLE asset_months (
    owner_id INTEGER NOT NULL,
    month    INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (owner_id, month)
) WITHOUT ROWID;

CREATE TRIGGER asset_months_insert AFTER INSERT ON assets
WHEN NEW.trashed_at IS NULL AND NEW.archived = 0
BEGIN
    INSERT INTO asset_months (owner_id, month, count) VALUES (NEW.owner_id, NEW.local_month, 1)
    ON CONFLICT (owner_id, month) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER asset_months_delete AFTER DELETE ON assets
WHEN OLD.trashed_at IS NULL AND OLD.archived = 0
BEGIN
    UPDATE asset_months SET count = count - 1 WHERE owner_id = OLD.owner_id AND month = OLD.local_month;
    DELETE FROM asset_months WHERE owner_id = OLD.owner_id AND month = OLD.local_month AND count <= 0;
END;

CREATE TRIGGER asset_months_update AFTER UPDATE OF trashed_at, archived, local_month, owner_id ON assets
BEGIN
    UPDATE asset_months SET count = count - 1
    WHERE OLD.trashed_at IS NULL AND OLD.archived = 0 AND owner_id = OLD.owner_id AND month = OLD.local_month;
    DELETE FROM asset_months WHERE owner_id = OLD.owner_id AND month = OLD.local_month AND count <= 0;
    INSERT INTO asset_months (owner_id, month, count)
    SELECT NEW.owner_id, NEW.local_month, 1 WHERE NEW.trashed_at IS NULL AND NEW.archived = 0
    ON CONFLICT (owner_id, month) DO UPDATE SET count = count + 1;
END;
