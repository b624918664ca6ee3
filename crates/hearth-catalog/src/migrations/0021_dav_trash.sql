-- The trash of the family's files (docs/files.md, "Versions and trash"): what a DELETE over
-- WebDAV moved to DATA/users/<name>/.dav-trash/<id>, with the path it had, so it can be put
-- back; the item's file ids and dead properties wait under the key '/trash/<id>'.
CREATE TABLE dav_trash (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    space      TEXT NOT NULL,
    path       TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    folder     INTEGER NOT NULL CHECK (folder IN (0, 1))
);
CREATE INDEX dav_trash_by_space ON dav_trash (space, deleted_at);
