-- Folders that paired devices offer to the box, until the owner accepts them (with a path and a
-- folder type) or ignores them.

CREATE TABLE sync_pending_folders (
    device_id   TEXT NOT NULL,
    folder_id   TEXT NOT NULL,
    label       TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (device_id, folder_id)
);
