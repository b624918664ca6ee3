-- What an app password may do: everything its user may ('full'), or only back up to the box over
-- restic's REST protocol ('backup'), or that without deleting anything but locks
-- ('backup_append_only': a laptop's password that ransomware cannot use to erase its history).
ALTER TABLE app_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full'
    CHECK (scope IN ('full', 'backup', 'backup_append_only'));
