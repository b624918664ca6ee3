-- Share links to the family's files (docs/files.md, "Share links"): a link opens a file or a
-- folder of its owner's files, known by its file id (dav_files), so the link follows the item
-- when it is moved or renamed, shows nothing while it is in the trash (its id waits there),
-- and ends when the id does (the trash emptied, a MOVE that replaced it). download_count
-- counts the files fetched through the link (a resumed download counts once).
ALTER TABLE share_links ADD COLUMN file_id INTEGER REFERENCES dav_files (id) ON DELETE CASCADE;
ALTER TABLE share_links ADD COLUMN download_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX share_links_file ON share_links (file_id);
