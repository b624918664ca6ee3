-- Family folders (docs/files.md, "Family folders"): folders of files the family shares, each
-- shown at the root of its members' files (over WebDAV and on the Files page) under its name,
-- with read or read-write access per member. Their files live in DATA/family/<id>/files; their
-- WebDAV ids and dead properties are kept under the space 'family:<id>'.
CREATE TABLE family_folders (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE
               CHECK (length(name) BETWEEN 1 AND 255 AND instr(name, '/') = 0 AND name NOT IN ('.', '..')),
    created_at INTEGER NOT NULL
);

CREATE TABLE family_folder_members (
    folder_id INTEGER NOT NULL REFERENCES family_folders (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    access    TEXT NOT NULL CHECK (access IN ('read', 'write')),
    PRIMARY KEY (folder_id, user_id)
) WITHOUT ROWID;
CREATE INDEX family_folder_members_user ON family_folder_members (user_id);
