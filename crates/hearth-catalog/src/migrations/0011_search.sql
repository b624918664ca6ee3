-- Search and near-duplicates. `asset_search` is a full-text index (FTS5, diacritics folded, so
-- "ile de france" finds Île-de-France) over each asset's file path, place names and camera,
-- kept by triggers in the same transaction as the asset; its rowid is the asset's id.
-- `phash` is a 64-bit difference hash of the upright grid thumbnail: near-identical pictures
-- (a re-saved copy, a burst) differ in a few bits.

CREATE VIRTUAL TABLE asset_search USING fts5 (
    path, place, camera,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO asset_search (rowid, path, place, camera)
SELECT id, path, concat_ws(' ', city, region, country), concat_ws(' ', make, model, lens) FROM assets;

CREATE TRIGGER asset_search_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_search (rowid, path, place, camera)
    VALUES (NEW.id, NEW.path, concat_ws(' ', NEW.city, NEW.region, NEW.country), concat_ws(' ', NEW.make, NEW.model, NEW.lens));
END;

CREATE TRIGGER asset_search_delete AFTER DELETE ON assets BEGIN
    DELETE FROM asset_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER asset_search_update AFTER UPDATE OF path, city, region, country, make, model, lens ON assets BEGIN
    DELETE FROM asset_search WHERE rowid = OLD.id;
    INSERT INTO asset_search (rowid, path, place, camera)
    VALUES (NEW.id, NEW.path, concat_ws(' ', NEW.city, NEW.region, NEW.country), concat_ws(' ', NEW.make, NEW.model, NEW.lens));
END;

ALTER TABLE assets ADD COLUMN phash INTEGER;

-- Search results and date ranges come newest first without sorting the library.
CREATE INDEX assets_taken ON assets (owner_id, taken_at DESC, id DESC) WHERE trashed_at IS NULL;

-- Content shared across libraries (a thumbnail already made, a hash to copy, the last copy
-- leaving the trash) is found by checksum alone.
CREATE INDEX assets_content ON assets (checksum);
