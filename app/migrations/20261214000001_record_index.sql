-- A record's story across runs: which runs touched each record (its timeline), and a directory of
-- the records the workspace's runs have touched, with how the latest run left each (the search).
--
-- A record is filed under its key: 'sf:' and its 18-character Salesforce ID when the run record
-- has one, otherwise 'cv:' and its Conversion id (a contact made in Conversion whose first push
-- has not given it a Salesforce ID). The store writes both tables in the transaction that appends
-- the run records, so they never disagree with them.

-- One row per run record that names a record. A timeline page is one range scan of the key,
-- newest run first, however many runs touched the record.
CREATE TABLE record_touches (
    workspace_id  TEXT NOT NULL,
    record_key    TEXT NOT NULL,
    run_id        BLOB NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, record_key, run_id, seq)
) WITHOUT ROWID;
-- Deleting a run (retention) deletes its touches through this index, not a scan.
CREATE INDEX record_touches_by_run ON record_touches (run_id);

-- One row per record: its latest label, the terms the search matches (lower-cased name and email),
-- its ids, and the latest run record that touched it.
CREATE TABLE sync_records (
    workspace_id   TEXT NOT NULL,
    record_key     TEXT NOT NULL,
    object_type    TEXT NOT NULL,
    label          TEXT,
    name           TEXT,
    email          TEXT,
    salesforce_id  TEXT,
    conversion_id  TEXT,
    last_run_id    BLOB NOT NULL,
    last_seq       INTEGER NOT NULL,
    last_status    TEXT NOT NULL,
    last_message   TEXT,
    last_at        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, record_key)
) WITHOUT ROWID;
-- Prefix search on names and on emails: a range scan each.
CREATE INDEX sync_records_by_name ON sync_records (workspace_id, name);
CREATE INDEX sync_records_by_email ON sync_records (workspace_id, email);
-- A pasted Conversion id, and the record a 'cv:' link became once it reached Salesforce.
CREATE INDEX sync_records_by_conversion_id ON sync_records (workspace_id, conversion_id);
-- Retention: the records whose latest run is older than the history kept.
CREATE INDEX sync_records_by_last_run ON sync_records (workspace_id, last_run_id);

-- The history recorded before this migration, indexed the same way. SQLite's lower() folds ASCII
-- letters only, so a name written with a non-ASCII capital in that history is found by its
-- lower-case spelling only once a newer run touches the record again.
INSERT INTO record_touches (workspace_id, record_key, run_id, seq)
SELECT r.workspace_id,
       CASE WHEN TRIM(COALESCE(rr.salesforce_id, '')) <> '' THEN 'sf:' || TRIM(rr.salesforce_id)
            ELSE 'cv:' || TRIM(rr.conversion_id) END,
       rr.run_id, rr.seq
FROM run_records rr JOIN sync_runs r ON r.id = rr.run_id
WHERE TRIM(COALESCE(rr.salesforce_id, '')) <> '' OR TRIM(COALESCE(rr.conversion_id, '')) <> '';

INSERT INTO sync_records (workspace_id, record_key, object_type, label, name, email, salesforce_id,
                          conversion_id, last_run_id, last_seq, last_status, last_message, last_at)
SELECT t.workspace_id, t.record_key, r.object_type, rr.label,
       CASE WHEN rr.label LIKE '% <%@%>' THEN lower(TRIM(substr(rr.label, 1, instr(rr.label, ' <') - 1)))
            ELSE lower(TRIM(rr.label)) END,
       CASE WHEN rr.label LIKE '% <%@%>'
                 THEN lower(substr(rr.label, instr(rr.label, ' <') + 2, length(rr.label) - instr(rr.label, ' <') - 2))
            WHEN rr.label LIKE '%@%' AND TRIM(rr.label) NOT LIKE '% %' THEN lower(TRIM(rr.label))
       END,
       NULLIF(TRIM(COALESCE(rr.salesforce_id, '')), ''), NULLIF(TRIM(COALESCE(rr.conversion_id, '')), ''),
       t.run_id, t.seq, rr.status, rr.message_code, r.started_at
FROM record_touches t
JOIN run_records rr ON rr.run_id = t.run_id AND rr.seq = t.seq
JOIN sync_runs r ON r.id = t.run_id
WHERE true
ORDER BY t.run_id, t.seq
ON CONFLICT (workspace_id, record_key) DO UPDATE SET
    object_type = excluded.object_type,
    label = COALESCE(excluded.label, sync_records.label),
    name = COALESCE(excluded.name, sync_records.name),
    email = COALESCE(excluded.email, sync_records.email),
    salesforce_id = COALESCE(excluded.salesforce_id, sync_records.salesforce_id),
    conversion_id = COALESCE(excluded.conversion_id, sync_records.conversion_id),
    last_run_id = excluded.last_run_id,
    last_seq = excluded.last_seq,
    last_status = excluded.last_status,
    last_message = excluded.last_message,
    last_at = excluded.last_at;

-- A contact made in Conversion that later reached Salesforce is one record, under its
-- Salesforce ID: its earlier 'cv:' entry goes (its touches stay and join the timeline).
DELETE FROM sync_records
WHERE record_key LIKE 'cv:%'
  AND EXISTS (SELECT 1 FROM sync_records s
              WHERE s.workspace_id = sync_records.workspace_id
                AND s.conversion_id = substr(sync_records.record_key, 4)
                AND s.record_key LIKE 'sf:%');
