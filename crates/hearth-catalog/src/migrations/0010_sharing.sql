-- Albums and sharing. An album belongs to its owner and holds assets of anyone who may add to it
-- (its owner and its editors); its members see every asset in it. Partner sharing lets a user
-- see another user's whole timeline. Share links open an album, or a selection of assets, to
-- anyone holding the link's random token (stored as its SHA-256, so the catalog never holds a
-- usable link), optionally behind a password, until an expiry.

CREATE TABLE albums (
    id             INTEGER PRIMARY KEY,
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title          TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description    TEXT,
    cover_asset_id INTEGER REFERENCES assets (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX albums_owner ON albums (owner_id);

CREATE TABLE album_assets (
    album_id INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    added_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (album_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX album_assets_asset ON album_assets (asset_id);

CREATE TABLE album_members (
    album_id INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
    PRIMARY KEY (album_id, user_id)
) WITHOUT ROWID;
CREATE INDEX album_members_user ON album_members (user_id);

-- owner_id lets partner_id see owner_id's timeline (not the other way round).
CREATE TABLE partners (
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    partner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner_id, partner_id),
    CHECK (owner_id <> partner_id)
) WITHOUT ROWID;
CREATE INDEX partners_partner ON partners (partner_id);

CREATE TABLE share_links (
    id             INTEGER PRIMARY KEY,
    token_hash     BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    owner_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- An album, or (NULL) the assets in share_link_assets.
    album_id       INTEGER REFERENCES albums (id) ON DELETE CASCADE,
    description    TEXT,
    -- argon2id PHC string, when the link has a password.
    password_hash  TEXT,
    expires_at     INTEGER,
    allow_download INTEGER NOT NULL DEFAULT 1 CHECK (allow_download IN (0, 1)),
    allow_upload   INTEGER NOT NULL DEFAULT 0 CHECK (allow_upload IN (0, 1)),
    created_at     INTEGER NOT NULL
);
CREATE INDEX share_links_owner ON share_links (owner_id);

CREATE TABLE share_link_assets (
    link_id  INTEGER NOT NULL REFERENCES share_links (id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, asset_id)
) WITHOUT ROWID;
