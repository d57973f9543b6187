-- Retries: see the SQLite migration of the same name.
ALTER TABLE sync_runs ADD COLUMN retry_of UUID;
ALTER TABLE sync_outbox ADD COLUMN retry_of UUID;
