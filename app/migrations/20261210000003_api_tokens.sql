-- Tokens scripts use to call the JSON API of one workspace (`Authorization: Bearer …`). Only a
-- SHA-256 of the token is kept: the token is shown once, when it is made.

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    -- Hex SHA-256 of the whole token (a token is 256 random bits: a fast hash is enough).
    token_hash    TEXT NOT NULL UNIQUE,
    -- The token's first characters, to tell tokens apart in the list.
    prefix        TEXT NOT NULL,
    access        TEXT NOT NULL CHECK (access IN ('read', 'read_write')),
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE INDEX api_tokens_by_workspace ON api_tokens (workspace_id, id);
