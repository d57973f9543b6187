-- A backfill read through a Bulk API 2.0 query job keeps the job in its cursor, committed with
-- each batch it writes, so that a restart reads on from the same job instead of asking
-- Salesforce for a new one. All NULL (and 0) when the object's backfill is not a Bulk job.
--
-- bulk_began: when the backfill's first job was made (Unix ms); set while a Bulk backfill runs.
-- bulk_job_id, bulk_api_version: the job, and the API version its results must be read with
--   (NULL: the last job failed, and the next sync makes another with the same query).
-- bulk_locator: the set of results to read next (NULL: the first).
-- bulk_offset: records of that set already committed (a restart skips them: a set's rows and
--   their order are fixed once the job is complete).
-- bulk_since: the SystemModstamp the job's query starts from (NULL: every record), so that a job
--   that expired is replaced by one with the same query.
-- bulk_replaced: a job replaced one that expired or changed API version after some of its results
--   were written, so its results include records already written; the backfill's runs since
--   bulk_began tell which.
ALTER TABLE sync_cursors ADD COLUMN bulk_job_id TEXT;
ALTER TABLE sync_cursors ADD COLUMN bulk_api_version TEXT;
ALTER TABLE sync_cursors ADD COLUMN bulk_locator TEXT;
ALTER TABLE sync_cursors ADD COLUMN bulk_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_cursors ADD COLUMN bulk_since INTEGER;
ALTER TABLE sync_cursors ADD COLUMN bulk_began INTEGER;
ALTER TABLE sync_cursors ADD COLUMN bulk_replaced INTEGER NOT NULL DEFAULT 0;
