-- Folders indexed in place as a user's photo library: external libraries (an old disk, a
-- photographer's archive; read-only: Hearth never changes or deletes a file there). Users'
-- Photos folders (DATA/users/<name>/files/Photos) and camera folders are found without a row.
-- An asset whose file vanished from a watched folder goes to the trash with `missing_since` set,
-- and comes back by itself if the file does (a disk plugged in again, a move undone).

CREATE TABLE libraries (
    id       INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    path     TEXT NOT NULL UNIQUE,
    added_at INTEGER NOT NULL
);
CREATE INDEX libraries_owner ON libraries (owner_id);

ALTER TABLE assets ADD COLUMN missing_since INTEGER;
