-- The job queue: work that follows ingest and runs in worker processes (thumbnails now; video
-- posters and ML later). One row per (kind, asset). A worker claims the highest priority, oldest
-- queued job by setting it running and counting the attempt, so a job that was running when its
-- worker died is known at the worker's next start: queued again once, quarantined the second
-- time (it crashed the worker twice). Finished jobs stay as 'done' for the progress report (rate,
-- ETA) until maintenance removes them.

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    asset_id    INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    -- Higher first: someone waiting for this photo > an upload > a folder being walked.
    priority    INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'done', 'failed', 'quarantined')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    queued_at   INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    UNIQUE (kind, asset_id)
);
CREATE INDEX jobs_queue ON jobs (kind, priority DESC, id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (kind) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (kind, finished_at) WHERE state = 'done';
CREATE INDEX jobs_asset ON jobs (asset_id);

-- Whether an asset's thumbnails exist: 'pending' until the thumbnail job ends. Assets of
-- earlier versions had them made during ingest.
ALTER TABLE assets ADD COLUMN thumbnails TEXT NOT NULL DEFAULT 'ready'
    CHECK (thumbnails IN ('pending', 'ready', 'failed'));
