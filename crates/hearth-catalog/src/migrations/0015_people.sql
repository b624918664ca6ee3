-- Photo ML (docs/ml.md): faces found in each asset's preview, the people they are grouped into,
-- and words for things and scenes. Search finds people's names and tags: the full-text index
-- gets two columns (FTS5 tables cannot gain columns, so it is made again and filled), kept by
-- triggers in the same transaction as the faces, people and tags they come from.

CREATE TABLE people (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL until someone names them.
    name       TEXT CHECK (name IS NULL OR length(name) BETWEEN 1 AND 100),
    hidden     INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1)),
    -- The face shown for them; NULL: the most confident one.
    cover_face INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX people_owner ON people (owner_id);

CREATE TABLE faces (
    id        INTEGER PRIMARY KEY,
    asset_id  INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    -- The asset's owner: people are grouped per owner.
    owner_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The box as fractions (0–1) of the upright picture.
    x         REAL NOT NULL,
    y         REAL NOT NULL,
    width     REAL NOT NULL,
    height    REAL NOT NULL,
    score     REAL NOT NULL,
    -- 128 little-endian f32, unit length (SFace).
    embedding BLOB NOT NULL CHECK (length(embedding) = 512),
    person_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
    -- Put in its person (or in none) by hand: grouping never moves it.
    pinned    INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1))
);
CREATE INDEX faces_asset ON faces (asset_id);
CREATE INDEX faces_person ON faces (person_id);
CREATE INDEX faces_owner ON faces (owner_id, person_id);

-- Words for what is in a picture (from the object detector and the scene classifier).
CREATE TABLE asset_tags (
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    score    REAL NOT NULL,
    PRIMARY KEY (asset_id, tag)
) WITHOUT ROWID;

-- When each ML analysis of an asset ended (NULL: not yet), and why it failed if it did.
ALTER TABLE assets ADD COLUMN faces_at INTEGER;
ALTER TABLE assets ADD COLUMN faces_error TEXT;

-- The full-text index again, with people's names and tags.
DROP TRIGGER asset_search_insert;
DROP TRIGGER asset_search_delete;
DROP TRIGGER asset_search_update;
DROP TABLE asset_search;

CREATE VIRTUAL TABLE asset_search USING fts5 (
    path, place, camera, people, tags,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- One asset's row, made again from its sources.
CREATE VIEW asset_search_source AS
SELECT a.id AS id, a.path AS path,
       concat_ws(' ', a.city, a.region, a.country) AS place,
       concat_ws(' ', a.make, a.model, a.lens) AS camera,
       (SELECT group_concat(DISTINCT p.name) FROM faces f JOIN people p ON p.id = f.person_id
         WHERE f.asset_id = a.id AND p.name IS NOT NULL AND p.hidden = 0) AS people,
       (SELECT group_concat(t.tag, ' ') FROM asset_tags t WHERE t.asset_id = a.id) AS tags
FROM assets a;

INSERT INTO asset_search (rowid, path, place, camera, people, tags)
SELECT id, path, place, camera, people, tags FROM asset_search_source;

CREATE TRIGGER asset_search_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source WHERE id = NEW.id;
END;

CREATE TRIGGER asset_search_delete AFTER DELETE ON assets BEGIN
    DELETE FROM asset_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER asset_search_update AFTER UPDATE OF path, city, region, country, make, model, lens ON assets BEGIN
    DELETE FROM asset_search WHERE rowid = OLD.id;
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source WHERE id = NEW.id;
END;

CREATE TRIGGER asset_search_faces_insert AFTER INSERT ON faces WHEN NEW.person_id IS NOT NULL BEGIN
    DELETE FROM asset_search WHERE rowid = NEW.asset_id;
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source WHERE id = NEW.asset_id;
END;

CREATE TRIGGER asset_search_faces_delete AFTER DELETE ON faces WHEN OLD.person_id IS NOT NULL BEGIN
    DELETE FROM asset_search WHERE rowid = OLD.asset_id;
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source WHERE id = OLD.asset_id;
END;

CREATE TRIGGER asset_search_faces_update AFTER UPDATE OF person_id ON faces
WHEN OLD.person_id IS NOT NEW.person_id BEGIN
    DELETE FROM asset_search WHERE rowid = NEW.asset_id;
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source WHERE id = NEW.asset_id;
END;

CREATE TRIGGER asset_search_people_update AFTER UPDATE OF name, hidden ON people BEGIN
    DELETE FROM asset_search WHERE rowid IN (SELECT asset_id FROM faces WHERE person_id = NEW.id);
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source
    WHERE id IN (SELECT asset_id FROM faces WHERE person_id = NEW.id);
END;

CREATE TRIGGER asset_search_tags_insert AFTER INSERT ON asset_tags BEGIN
    DELETE FROM asset_search WHERE rowid = NEW.asset_id;
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source WHERE id = NEW.asset_id;
END;

CREATE TRIGGER asset_search_tags_delete AFTER DELETE ON asset_tags BEGIN
    DELETE FROM asset_search WHERE rowid = OLD.asset_id;
    INSERT INTO asset_search (rowid, path, place, camera, people, tags)
    SELECT id, path, place, camera, people, tags FROM asset_search_source WHERE id = OLD.asset_id;
END;

-- Assets whose thumbnails are made already are analysed in the background, below new photos.
INSERT INTO jobs (kind, asset_id, priority, queued_at)
SELECT 'faces', id, 0, unixepoch() FROM assets WHERE thumbnails = 'ready'
ON CONFLICT (kind, asset_id) DO NOTHING;
