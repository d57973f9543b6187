-- A record's story across runs: which runs touched each record (its timeline), and a directory of
-- the records the workspace's runs have touched, with how the latest run left each (the search).
-- The same tables as SQLite's migration of the same name; see it for what each column means.
-- The search terms sort in byte order (COLLATE "C"), so a prefix is one range of the index, as on
-- SQLite.

CREATE TABLE record_touches (
    workspace_id  TEXT NOT NULL,
    record_key    TEXT NOT NULL,
    run_id        UUID NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, record_key, run_id, seq)
);
CREATE INDEX record_touches_by_run ON record_touches (run_id);

CREATE TABLE sync_records (
    workspace_id   TEXT NOT NULL,
    record_key     TEXT NOT NULL,
    object_type    TEXT NOT NULL,
    label          TEXT,
    name           TEXT COLLATE "C",
    email          TEXT COLLATE "C",
    salesforce_id  TEXT,
    conversion_id  TEXT,
    last_run_id    UUID NOT NULL,
    last_seq       BIGINT NOT NULL,
    last_status    TEXT NOT NULL,
    last_message   TEXT,
    last_at        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, record_key)
);
CREATE INDEX sync_records_by_name ON sync_records (workspace_id, name);
CREATE INDEX sync_records_by_email ON sync_records (workspace_id, email);
CREATE INDEX sync_records_by_conversion_id ON sync_records (workspace_id, conversion_id);
CREATE INDEX sync_records_by_last_run ON sync_records (workspace_id, last_run_id);

-- The history recorded before this migration.
INSERT INTO record_touches (workspace_id, record_key, run_id, seq)
SELECT r.workspace_id,
       CASE WHEN TRIM(COALESCE(rr.salesforce_id, '')) <> '' THEN 'sf:' || TRIM(rr.salesforce_id)
            ELSE 'cv:' || TRIM(rr.conversion_id) END,
       rr.run_id, rr.seq
FROM run_records rr JOIN sync_runs r ON r.id = rr.run_id
WHERE TRIM(COALESCE(rr.salesforce_id, '')) <> '' OR TRIM(COALESCE(rr.conversion_id, '')) <> '';

INSERT INTO sync_records (workspace_id, record_key, object_type, label, name, email, salesforce_id,
                          conversion_id, last_run_id, last_seq, last_status, last_message, last_at)
SELECT DISTINCT ON (t.workspace_id, t.record_key)
       t.workspace_id, t.record_key, r.object_type, rr.label,
       CASE WHEN rr.label LIKE '% <%@%>' THEN lower(TRIM(split_part(rr.label, ' <', 1)))
            ELSE lower(TRIM(rr.label)) END,
       CASE WHEN rr.label LIKE '% <%@%>' THEN lower(rtrim(split_part(rr.label, ' <', 2), '>'))
            WHEN rr.label LIKE '%@%' AND TRIM(rr.label) NOT LIKE '% %' THEN lower(TRIM(rr.label))
       END,
       NULLIF(TRIM(COALESCE(rr.salesforce_id, '')), ''), NULLIF(TRIM(COALESCE(rr.conversion_id, '')), ''),
       t.run_id, t.seq, rr.status, rr.message_code, r.started_at
FROM record_touches t
JOIN run_records rr ON rr.run_id = t.run_id AND rr.seq = t.seq
JOIN sync_runs r ON r.id = t.run_id
ORDER BY t.workspace_id, t.record_key, t.run_id DESC, t.seq DESC;

DELETE FROM sync_records c
WHERE c.record_key LIKE 'cv:%'
  AND EXISTS (SELECT 1 FROM sync_records s
              WHERE s.workspace_id = c.workspace_id
                AND s.conversion_id = substr(c.record_key, 4)
                AND s.record_key LIKE 'sf:%');
