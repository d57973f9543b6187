-- Invitations to a workspace: an admin invites an email with a role; the link (shown once to the
-- admin) creates an account or adds the existing one. Single use, with an expiry; only a SHA-256
-- of the link's token is kept.

CREATE TABLE invitations (
    id            INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    email         TEXT NOT NULL COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash    TEXT NOT NULL UNIQUE,
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    accepted_at   INTEGER,
    revoked_at    INTEGER
);

CREATE INDEX invitations_by_workspace ON invitations (workspace_id, id);
