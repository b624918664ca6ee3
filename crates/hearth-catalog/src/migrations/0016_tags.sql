-- Words for things and scenes (docs/ml.md): the `tags` jobs of the `ml` worker run the object
-- detector and the scene classifier on each asset's preview and store the vocabulary's words in
-- asset_tags (0015), which the full-text index already reads. Like faces, when each asset's
-- analysis ended and why it failed.
-- A word's other words are stored too, so search finds "puppy" for a dog, but only the word itself
-- is shown.
ALTER TABLE asset_tags ADD COLUMN shown INTEGER NOT NULL DEFAULT 1 CHECK (shown IN (0, 1));
ALTER TABLE assets ADD COLUMN tags_at INTEGER;
ALTER TABLE assets ADD COLUMN tags_error TEXT;

-- Assets whose thumbnails are made already are tagged in the background, below new photos.
INSERT INTO jobs (kind, asset_id, priority, queued_at)
SELECT 'tags', id, 0, unixepoch() FROM assets WHERE thumbnails = 'ready'
ON CONFLICT (kind, asset_id) DO NOTHING;
