-- Per-user quotas for the family's files (docs/files.md, "Quotas"): the most bytes a user's
-- files over WebDAV may take; NULL for no limit but the disk.
ALTER TABLE users ADD COLUMN files_quota_bytes INTEGER CHECK (files_quota_bytes IS NULL OR files_quota_bytes >= 0);
