-- How long a workspace keeps its sync history, in days: see the SQLite migration of this name.
ALTER TABLE sync_settings ADD COLUMN retention_days BIGINT NOT NULL DEFAULT 90;
