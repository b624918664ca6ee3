-- Sync folders: the folders the box shares with paired devices, who each is shared with, and the
-- box's own index of each folder (one row per file; `entry` is the BEP FileInfo as protobuf, kept
-- opaque here), so a restart neither rehashes unchanged files nor changes their version vectors.

CREATE TABLE sync_folders (
    folder_id     TEXT PRIMARY KEY,
    label         TEXT NOT NULL,
    path          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('send-receive', 'send-only', 'receive-only')),
    versioning    TEXT NOT NULL DEFAULT 'trashcan' CHECK (versioning IN ('trashcan', 'staggered')),
    keep_days     INTEGER NOT NULL DEFAULT 30,
    index_id      INTEGER NOT NULL,          -- the u64 as its two's-complement i64
    max_sequence  INTEGER NOT NULL DEFAULT 0,
    added_at      INTEGER NOT NULL
);

CREATE TABLE sync_folder_devices (
    folder_id  TEXT NOT NULL REFERENCES sync_folders (folder_id) ON DELETE CASCADE,
    device_id  TEXT NOT NULL REFERENCES sync_devices (device_id) ON DELETE CASCADE,
    PRIMARY KEY (folder_id, device_id)
);

CREATE TABLE sync_files (
    folder_id  TEXT NOT NULL REFERENCES sync_folders (folder_id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    sequence   INTEGER NOT NULL,
    entry      BLOB NOT NULL,
    PRIMARY KEY (folder_id, name)
) WITHOUT ROWID;

CREATE INDEX sync_files_by_sequence ON sync_files (folder_id, sequence);
