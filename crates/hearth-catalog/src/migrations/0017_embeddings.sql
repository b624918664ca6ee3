-- Free-text search with an image/text model the family provides (docs/ml.md): the `embeddings`
-- jobs of the `ml` worker store each photo's vector under the model file's SHA-256, so vectors of
-- another model are never compared with this one's. The jobs are queued by the worker only while
-- such a model is configured (none ships), hence no backfill here.
CREATE TABLE asset_embeddings (
    asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    model    TEXT NOT NULL,
    -- Unit length, little-endian f32.
    vector   BLOB NOT NULL,
    made_at  INTEGER NOT NULL
);
CREATE INDEX asset_embeddings_model ON asset_embeddings(model);
