-- The audit log: logins (good and bad) and every admin action, kept when the actor is deleted.

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_name TEXT,
    address    TEXT,
    action     TEXT NOT NULL,
    target     TEXT,
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    detail     TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
