-- Who changed what in a workspace, and when: the audit trail admins see on the Overview.

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    at            INTEGER NOT NULL,
    -- The person who did it, as they were then (an account may be removed later); NULL with
    -- `actor` naming the server's own command line (`server adduser`) or the server's start.
    user_id       INTEGER,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT ''
);

-- A workspace's trail, newest first.
CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id, id);
