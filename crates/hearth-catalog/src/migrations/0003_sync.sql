-- Sync peers: the Syncthing devices the owner paired, and those that dialled in unpaired
-- (refused, and listed so the owner can accept them). Device ids are stored as Syncthing prints them.

CREATE TABLE sync_devices (
    device_id  TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    addresses  TEXT NOT NULL DEFAULT '',   -- space-separated tcp://HOST:PORT; empty means dynamic
    added_at   INTEGER NOT NULL
);

CREATE TABLE sync_pending_devices (
    device_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,
    client      TEXT NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
