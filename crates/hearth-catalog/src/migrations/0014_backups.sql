-- Backups as a service (docs/backups.md): where to (targets), what and when (jobs), and every run
-- of a backup, restore drill, check or restore with its progress and outcome.

-- A place backups go. `spec` is JSON without secrets (a folder path, a URL, an S3 endpoint and
-- bucket); `sealed_secret` holds the credentials sealed with the box's secret key
-- (DATA/secrets/backup-credentials.key); `cert_sha256` pins another Hearth's certificate.
CREATE TABLE backup_targets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('folder', 'rest', 'hearth', 's3')),
    spec TEXT NOT NULL,
    sealed_secret BLOB,
    cert_sha256 TEXT,
    created_at INTEGER NOT NULL,
    -- When the next restore drill and the next partial read of the packs are due.
    drill_next_at INTEGER,
    check_next_at INTEGER
);

-- What to back up, where and when. `scope` is JSON ({"everything":true} or {"paths":[...]}
-- relative to the data folder); `schedule` is text like `daily 03:00`; `keep` is JSON with the
-- retention counts.
CREATE TABLE backup_jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    target_id INTEGER NOT NULL REFERENCES backup_targets (id) ON DELETE RESTRICT,
    scope TEXT NOT NULL,
    schedule TEXT NOT NULL,
    keep TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    next_run_at INTEGER,
    last_prune_at INTEGER,
    created_at INTEGER NOT NULL
);

-- One run. A run is queued by the schedule or a person, claimed by the backup worker, and ends
-- succeeded, partial (some files unreadable), failed or interrupted (a shutdown or power cut;
-- an interrupted run is followed by a queued one that continues it).
CREATE TABLE backup_runs (
    id INTEGER PRIMARY KEY,
    job_id INTEGER REFERENCES backup_jobs (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES backup_targets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('backup', 'drill', 'check', 'restore')),
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'partial', 'failed', 'interrupted')),
    requested_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    -- JSON: what a restore run restores, and to where.
    request TEXT,
    queued_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    files_done INTEGER NOT NULL DEFAULT 0,
    files_total INTEGER,
    bytes_done INTEGER NOT NULL DEFAULT 0,
    bytes_total INTEGER,
    snapshot TEXT,
    message TEXT,
    -- JSON: the engine's summary (new, changed, unmodified files, bytes added, stored).
    detail TEXT
);
CREATE INDEX backup_runs_by_job ON backup_runs (job_id, id);
CREATE INDEX backup_runs_by_target ON backup_runs (target_id, kind, id);
CREATE INDEX backup_runs_open ON backup_runs (state) WHERE state IN ('queued', 'running');
