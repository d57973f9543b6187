-- The connection card and the Rate limits view: which org, which integration user, since when,
-- the last measured API usage, and a 'disconnected' state. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with its rows.
CREATE TABLE sync_connection_new (
    workspace_id       TEXT PRIMARY KEY REFERENCES workspaces(id),
    state              TEXT NOT NULL CHECK (state IN ('connected', 'reconnect_needed', 'disconnected')),
    detail             TEXT,
    limit_paused_until INTEGER,
    updated_at         INTEGER NOT NULL,
    instance_url       TEXT,
    username           TEXT,
    connected_since    INTEGER,
    -- Server-side only: never sent to the browser.
    refresh_token      TEXT,
    api_used           INTEGER,
    api_max            INTEGER,
    api_measured_at    INTEGER
);
INSERT INTO sync_connection_new (workspace_id, state, detail, limit_paused_until, updated_at)
    SELECT workspace_id, state, detail, limit_paused_until, updated_at FROM sync_connection;
DROP TABLE sync_connection;
ALTER TABLE sync_connection_new RENAME TO sync_connection;
