-- Changes whose push failed for a reason that can pass without anyone editing the record are
-- pushed again later instead of being dropped: "Record locked" (someone else was updating it) at
-- once after a backoff, "Insufficient permissions" when a push of the same object succeeds again
-- (access was restored) or after a slower backoff. Their outbox rows stay, with how many pushes
-- of the record failed, the time before which it is not pushed again, and the record message
-- that holds it back (the message code). After the last attempt the rows go and the record stays
-- failed. A row a create queued carries every field (fields NULL), which is how a push knows the
-- record is new to Salesforce even when an interrupted push had already created it there.
ALTER TABLE sync_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_outbox ADD COLUMN retry_at INTEGER;
ALTER TABLE sync_outbox ADD COLUMN retry_reason TEXT;
-- A new change to a record that waits for its retry takes the waiting rows along.
CREATE INDEX sync_outbox_by_record ON sync_outbox (workspace_id, object_type, conversion_id);
