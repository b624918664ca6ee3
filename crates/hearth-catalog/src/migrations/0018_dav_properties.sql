-- WebDAV dead properties (docs/files.md): what clients set with PROPPATCH on a file or folder of
-- a WebDAV space, kept here so backups carry them. `space` names the space (`home:<user id>`),
-- `path` the resource below its root (names joined by '/', '' for the root); a MOVE or COPY
-- carries the rows of everything below along. `value` is the property's XML content, written so
-- that it stands alone (every element declares its namespace).
CREATE TABLE dav_properties (
    space     TEXT NOT NULL,
    path      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (space, path, namespace, name)
) WITHOUT ROWID;
