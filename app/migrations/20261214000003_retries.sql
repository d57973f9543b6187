-- Retries: a run started by "Retry" names the run whose failed records it retries, and an outbox
-- row queued by a retry names it too, so the push that takes it makes a run of its own for it.
ALTER TABLE sync_runs ADD COLUMN retry_of BLOB;
ALTER TABLE sync_outbox ADD COLUMN retry_of BLOB;
