-- Sync activity: workspaces, runs (one per batch) and the records of each run.
-- Times are Unix milliseconds (UTC). Codes are the stable codes of app::domain.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- A run's id is a UUIDv7 stored as 16 big-endian bytes, so ordering by id is ordering by start
-- time: the list's keyset cursor and its date range are both ranges on id, and every filter
-- combination below is served by one index range scan.
CREATE TABLE sync_runs (
    id              BLOB PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    object_type     TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('in_progress', 'completed', 'failed')),
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    expected_total  INTEGER,
    created         INTEGER NOT NULL DEFAULT 0,
    updated         INTEGER NOT NULL DEFAULT 0,
    deleted         INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    -- Position the next appended record gets; equals the number of records.
    next_seq        INTEGER NOT NULL DEFAULT 0,
    failure_code    TEXT,
    failure_detail  TEXT
) WITHOUT ROWID;

CREATE INDEX sync_runs_by_workspace ON sync_runs (workspace_id, id);
CREATE INDEX sync_runs_by_direction ON sync_runs (workspace_id, direction, id);
CREATE INDEX sync_runs_by_object ON sync_runs (workspace_id, object_type, id);
CREATE INDEX sync_runs_by_direction_object ON sync_runs (workspace_id, direction, object_type, id);
-- Runs still in progress: found at start-up (to fail what a crash left behind) and by the
-- health card, without scanning history.
CREATE INDEX sync_runs_in_progress ON sync_runs (workspace_id, id) WHERE status = 'in_progress';

CREATE TABLE run_records (
    run_id               BLOB NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    seq                  INTEGER NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('success', 'skipped', 'failed')),
    action               TEXT NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
    message_code         TEXT,
    detail               TEXT,
    salesforce_id        TEXT,
    conversion_id        TEXT,
    label                TEXT,
    external_created_at  INTEGER,
    external_updated_at  INTEGER,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- The run page's status filter: one range scan per page however large the run.
CREATE INDEX run_records_by_status ON run_records (run_id, status, seq);
