-- The map: per-user counts of visible, located assets in grid cells at levels 2, 5, 8, 11 (a level-L
-- cell is 360/2^L degrees of longitude by 180/2^L of latitude), with coordinate sums for each
-- cluster's centre. Kept by triggers like asset_months, so the whole world's markers are a read of
-- at most a few thousand rows whatever the library's size.

CREATE TABLE asset_cells (
    owner_id INTEGER NOT NULL,
    level    INTEGER NOT NULL,
    cx       INTEGER NOT NULL,
    cy       INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    lat_sum  REAL NOT NULL,
    lon_sum  REAL NOT NULL,
    PRIMARY KEY (owner_id, level, cx, cy)
) WITHOUT ROWID;

CREATE INDEX assets_place ON assets (owner_id, latitude, longitude)
    WHERE latitude IS NOT NULL AND trashed_at IS NULL AND archived = 0;

CREATE TRIGGER asset_cells_insert AFTER INSERT ON assets
WHEN NEW.trashed_at IS NULL AND NEW.archived = 0 AND NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL
BEGIN
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 2, min(CAST((NEW.longitude + 180.0) / 360.0 * 4 AS INTEGER), 3), min(CAST((NEW.latitude + 90.0) / 180.0 * 4 AS INTEGER), 3), 1, NEW.latitude, NEW.longitude WHERE 1
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 5, min(CAST((NEW.longitude + 180.0) / 360.0 * 32 AS INTEGER), 31), min(CAST((NEW.latitude + 90.0) / 180.0 * 32 AS INTEGER), 31), 1, NEW.latitude, NEW.longitude WHERE 1
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 8, min(CAST((NEW.longitude + 180.0) / 360.0 * 256 AS INTEGER), 255), min(CAST((NEW.latitude + 90.0) / 180.0 * 256 AS INTEGER), 255), 1, NEW.latitude, NEW.longitude WHERE 1
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 11, min(CAST((NEW.longitude + 180.0) / 360.0 * 2048 AS INTEGER), 2047), min(CAST((NEW.latitude + 90.0) / 180.0 * 2048 AS INTEGER), 2047), 1, NEW.latitude, NEW.longitude WHERE 1
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
END;

CREATE TRIGGER asset_cells_delete AFTER DELETE ON assets
WHEN OLD.trashed_at IS NULL AND OLD.archived = 0 AND OLD.latitude IS NOT NULL AND OLD.longitude IS NOT NULL
BEGIN
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE 1 AND owner_id = OLD.owner_id AND level = 2 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 4 AS INTEGER), 3) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 4 AS INTEGER), 3);
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE 1 AND owner_id = OLD.owner_id AND level = 5 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 32 AS INTEGER), 31) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 32 AS INTEGER), 31);
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE 1 AND owner_id = OLD.owner_id AND level = 8 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 256 AS INTEGER), 255) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 256 AS INTEGER), 255);
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE 1 AND owner_id = OLD.owner_id AND level = 11 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 2048 AS INTEGER), 2047) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 2048 AS INTEGER), 2047);
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 2 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 4 AS INTEGER), 3) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 4 AS INTEGER), 3) AND count <= 0;
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 5 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 32 AS INTEGER), 31) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 32 AS INTEGER), 31) AND count <= 0;
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 8 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 256 AS INTEGER), 255) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 256 AS INTEGER), 255) AND count <= 0;
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 11 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 2048 AS INTEGER), 2047) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 2048 AS INTEGER), 2047) AND count <= 0;
END;

CREATE TRIGGER asset_cells_update AFTER UPDATE OF trashed_at, archived, latitude, longitude, owner_id ON assets
BEGIN
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE OLD.trashed_at IS NULL AND OLD.archived = 0 AND OLD.latitude IS NOT NULL AND OLD.longitude IS NOT NULL AND owner_id = OLD.owner_id AND level = 2 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 4 AS INTEGER), 3) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 4 AS INTEGER), 3);
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE OLD.trashed_at IS NULL AND OLD.archived = 0 AND OLD.latitude IS NOT NULL AND OLD.longitude IS NOT NULL AND owner_id = OLD.owner_id AND level = 5 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 32 AS INTEGER), 31) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 32 AS INTEGER), 31);
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE OLD.trashed_at IS NULL AND OLD.archived = 0 AND OLD.latitude IS NOT NULL AND OLD.longitude IS NOT NULL AND owner_id = OLD.owner_id AND level = 8 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 256 AS INTEGER), 255) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 256 AS INTEGER), 255);
    UPDATE asset_cells SET count = count - 1, lat_sum = lat_sum - OLD.latitude, lon_sum = lon_sum - OLD.longitude
    WHERE OLD.trashed_at IS NULL AND OLD.archived = 0 AND OLD.latitude IS NOT NULL AND OLD.longitude IS NOT NULL AND owner_id = OLD.owner_id AND level = 11 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 2048 AS INTEGER), 2047) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 2048 AS INTEGER), 2047);
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 2 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 4 AS INTEGER), 3) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 4 AS INTEGER), 3) AND count <= 0;
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 5 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 32 AS INTEGER), 31) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 32 AS INTEGER), 31) AND count <= 0;
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 8 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 256 AS INTEGER), 255) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 256 AS INTEGER), 255) AND count <= 0;
    DELETE FROM asset_cells WHERE owner_id = OLD.owner_id AND level = 11 AND cx = min(CAST((OLD.longitude + 180.0) / 360.0 * 2048 AS INTEGER), 2047) AND cy = min(CAST((OLD.latitude + 90.0) / 180.0 * 2048 AS INTEGER), 2047) AND count <= 0;
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 2, min(CAST((NEW.longitude + 180.0) / 360.0 * 4 AS INTEGER), 3), min(CAST((NEW.latitude + 90.0) / 180.0 * 4 AS INTEGER), 3), 1, NEW.latitude, NEW.longitude WHERE NEW.trashed_at IS NULL AND NEW.archived = 0 AND NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 5, min(CAST((NEW.longitude + 180.0) / 360.0 * 32 AS INTEGER), 31), min(CAST((NEW.latitude + 90.0) / 180.0 * 32 AS INTEGER), 31), 1, NEW.latitude, NEW.longitude WHERE NEW.trashed_at IS NULL AND NEW.archived = 0 AND NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 8, min(CAST((NEW.longitude + 180.0) / 360.0 * 256 AS INTEGER), 255), min(CAST((NEW.latitude + 90.0) / 180.0 * 256 AS INTEGER), 255), 1, NEW.latitude, NEW.longitude WHERE NEW.trashed_at IS NULL AND NEW.archived = 0 AND NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
    INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
    SELECT NEW.owner_id, 11, min(CAST((NEW.longitude + 180.0) / 360.0 * 2048 AS INTEGER), 2047), min(CAST((NEW.latitude + 90.0) / 180.0 * 2048 AS INTEGER), 2047), 1, NEW.latitude, NEW.longitude WHERE NEW.trashed_at IS NULL AND NEW.archived = 0 AND NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL
    ON CONFLICT (owner_id, level, cx, cy) DO UPDATE SET count = count + 1, lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
END;

-- Existing assets (none on a box that had no library before, but a migration must not assume).
INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
SELECT owner_id, 2, min(CAST((assets.longitude + 180.0) / 360.0 * 4 AS INTEGER), 3), min(CAST((assets.latitude + 90.0) / 180.0 * 4 AS INTEGER), 3), count(*), sum(latitude), sum(longitude)
FROM assets WHERE assets.trashed_at IS NULL AND assets.archived = 0 AND assets.latitude IS NOT NULL AND assets.longitude IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
SELECT owner_id, 5, min(CAST((assets.longitude + 180.0) / 360.0 * 32 AS INTEGER), 31), min(CAST((assets.latitude + 90.0) / 180.0 * 32 AS INTEGER), 31), count(*), sum(latitude), sum(longitude)
FROM assets WHERE assets.trashed_at IS NULL AND assets.archived = 0 AND assets.latitude IS NOT NULL AND assets.longitude IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
SELECT owner_id, 8, min(CAST((assets.longitude + 180.0) / 360.0 * 256 AS INTEGER), 255), min(CAST((assets.latitude + 90.0) / 180.0 * 256 AS INTEGER), 255), count(*), sum(latitude), sum(longitude)
FROM assets WHERE assets.trashed_at IS NULL AND assets.archived = 0 AND assets.latitude IS NOT NULL AND assets.longitude IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO asset_cells (owner_id, level, cx, cy, count, lat_sum, lon_sum)
SELECT owner_id, 11, min(CAST((assets.longitude + 180.0) / 360.0 * 2048 AS INTEGER), 2047), min(CAST((assets.latitude + 90.0) / 180.0 * 2048 AS INTEGER), 2047), count(*), sum(latitude), sum(longitude)
FROM assets WHERE assets.trashed_at IS NULL AND assets.archived = 0 AND assets.latitude IS NOT NULL AND assets.longitude IS NOT NULL GROUP BY 1, 2, 3, 4;
