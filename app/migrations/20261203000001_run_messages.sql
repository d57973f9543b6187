-- Which messages each run carries, for the list's message filter ("runs with Invalid email
-- address", linked from the health card). One row per run and record message with how many of its
-- records carry it, plus one row for a failed run's whole-run message (records = 0). The key is
-- ordered like the list (run ids sort by start time), so a page filtered by message is one range
-- scan of this table however rare the message, and the run rows are fetched by primary key.
CREATE TABLE run_messages (
    workspace_id  TEXT NOT NULL,
    code          TEXT NOT NULL,
    run_id        BLOB NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    -- The run's direction and object type, copied (they never change once a run begins): a message
    -- combined with a tab or an object type is still one range scan, even when no run matches.
    direction     TEXT NOT NULL,
    object_type   TEXT NOT NULL,
    records       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, code, run_id)
) WITHOUT ROWID;
CREATE INDEX run_messages_by_direction ON run_messages (workspace_id, code, direction, run_id);
CREATE INDEX run_messages_by_object ON run_messages (workspace_id, code, object_type, run_id);
CREATE INDEX run_messages_by_direction_object ON run_messages (workspace_id, code, direction, object_type, run_id);
-- The health card's groups: the window's entries of every message, without reading its records.
CREATE INDEX run_messages_by_run ON run_messages (workspace_id, run_id);

INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type, records)
    SELECT s.workspace_id, r.message_code, r.run_id, s.direction, s.object_type, COUNT(*)
    FROM run_records r JOIN sync_runs s ON s.id = r.run_id
    WHERE r.message_code IS NOT NULL
    GROUP BY r.run_id, r.message_code;
INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type)
    SELECT workspace_id, failure_code, id, direction, object_type FROM sync_runs WHERE failure_code IS NOT NULL
    ON CONFLICT DO NOTHING;

-- A run that fails as a whole is listed under its message, whoever fails it.
CREATE TRIGGER run_messages_on_failure AFTER UPDATE OF failure_code ON sync_runs
WHEN NEW.failure_code IS NOT NULL
BEGIN
    INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type)
    VALUES (NEW.workspace_id, NEW.failure_code, NEW.id, NEW.direction, NEW.object_type)
    ON CONFLICT DO NOTHING;
END;

-- The list's run status filter (failed runs are few: no scan through the completed ones).
CREATE INDEX sync_runs_by_status ON sync_runs (workspace_id, status, id);
