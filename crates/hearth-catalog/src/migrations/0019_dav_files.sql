-- File ids for WebDAV (docs/files.md): the Nextcloud apps and nextcloudcmd know a file by a
-- number that stays when the file is overwritten or moved (`oc:fileid`, `OC-FileId`), and ask
-- for previews by it. A path is given its id the first time a client needs one; a MOVE renames
-- the rows of everything below it, a DELETE drops them, a COPY's destination gets new ids.
-- `space` and `path` as in dav_properties.
CREATE TABLE dav_files (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    space TEXT NOT NULL,
    path  TEXT NOT NULL,
    UNIQUE (space, path)
);
