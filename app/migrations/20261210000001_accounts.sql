-- People who sign in, the workspaces they belong to (with a role), and their sign-in sessions.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    -- Compared without case: Jane@Acme.com and jane@acme.com are one person.
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name           TEXT NOT NULL,
    -- An argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash); never the password.
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);

CREATE TABLE memberships (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
) WITHOUT ROWID;

-- A person's workspaces (the product bar's switcher, the sign-in's landing).
CREATE INDEX memberships_by_user ON memberships (user_id, workspace_id);

-- Sign-in sessions, in the layout tower-sessions' SQLite store reads and writes: the session id,
-- its record (MessagePack: the signed-in person's id) and when it expires (a UTC time as sqlx
-- writes one). Expired rows are deleted by the server every few minutes.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    data         BLOB NOT NULL,
    expiry_date  INTEGER NOT NULL
);
