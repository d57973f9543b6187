-- Alerts: a workspace's webhook, the runs the alert scan has looked at, how alerts of one message
-- are folded (at most one an hour), and every delivery and attempt. Owned by store/alerts/.
-- Times are Unix milliseconds (UTC).

-- A workspace's webhook (at most one). The signing secret is sealed (store/keyring.rs) with the
-- workspace as associated data, as the Salesforce refresh token is.
CREATE TABLE alert_webhooks (
    workspace_id      TEXT PRIMARY KEY REFERENCES workspaces(id),
    url               TEXT NOT NULL,
    secret            TEXT NOT NULL,
    -- A finished run with at least this many failed records alerts; 0: whole-run failures only.
    failed_threshold  INTEGER NOT NULL DEFAULT 0,
    enabled           INTEGER NOT NULL DEFAULT 1,
    -- When it was last switched on: alerts are for runs that finish from then on.
    enabled_at        INTEGER NOT NULL,
    -- The scan's position (a run id, 16 bytes): every run with a smaller id is finished and was
    -- looked at. It trails the oldest run in progress, and a few minutes behind now.
    scan_from         BLOB NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- Runs the scan has looked at from its position on, so that no run alerts twice (a scan's window
-- overlaps the last one's; several servers share the database). Rows behind the position go.
CREATE TABLE alert_checks (
    workspace_id  TEXT NOT NULL,
    run_id        BLOB NOT NULL,
    PRIMARY KEY (workspace_id, run_id)
) WITHOUT ROWID;

-- Per message (a whole-run message's code, or 'failed_records'): when its last alert was made,
-- and the alerts held back since, which the next one (at the earliest an hour later) stands for.
CREATE TABLE alert_folds (
    workspace_id  TEXT NOT NULL,
    message       TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    folded        INTEGER NOT NULL DEFAULT 0,
    -- The latest alert held back: the digest at the hour's end is about it.
    last_run_id   BLOB,
    last_reason   TEXT,
    PRIMARY KEY (workspace_id, message)
) WITHOUT ROWID;

-- One alert to deliver: about a run (or a test), retried on the schedule until a 2xx answer.
CREATE TABLE alert_deliveries (
    id               INTEGER PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    reason           TEXT NOT NULL CHECK (reason IN ('run_failed', 'failed_records_threshold', 'test')),
    message          TEXT NOT NULL,
    -- The run it is about (not a foreign key: the alert outlives a run deleted later); NULL: a test.
    run_id           BLOB,
    folded           INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'gave_up', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- While pending: when the next attempt is due.
    next_attempt_at  INTEGER,
    -- The JSON sent, fixed at the first attempt so that every retry carries the same bytes.
    body             TEXT
);

-- A run alerts once.
CREATE UNIQUE INDEX alert_deliveries_by_run ON alert_deliveries (workspace_id, run_id);
-- What is due: the pending few.
CREATE INDEX alert_deliveries_due ON alert_deliveries (workspace_id, next_attempt_at) WHERE state = 'pending';

-- Every attempt, for the Overview's list.
CREATE TABLE alert_attempts (
    id            INTEGER PRIMARY KEY,
    delivery_id   INTEGER NOT NULL REFERENCES alert_deliveries(id) ON DELETE CASCADE,
    workspace_id  TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    -- The receiver's HTTP status, when it answered; else why no answer came.
    status_code   INTEGER,
    error         TEXT,
    duration_ms   INTEGER NOT NULL
);

CREATE INDEX alert_attempts_by_workspace ON alert_attempts (workspace_id, id);
