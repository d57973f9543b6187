-- How long a workspace keeps its sync history, in days (7, 30, 90 or 365). Runs older than that
-- are deleted with their records, touches and message rows by the server's retention pass; the
-- file's freed pages are reused by the writes that follow (SQLite keeps them on its free list), so
-- the database stops growing once history is as old as it is kept.
ALTER TABLE sync_settings ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90;
