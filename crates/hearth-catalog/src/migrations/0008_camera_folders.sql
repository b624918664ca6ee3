-- Sync folders whose arriving photos go into a user's library (a phone's camera folder).
CREATE TABLE camera_folders (
    folder_id TEXT PRIMARY KEY,
    owner_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at  INTEGER NOT NULL
) WITHOUT ROWID;
