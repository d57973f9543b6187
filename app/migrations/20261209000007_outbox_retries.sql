-- Changes whose push failed for a reason that can pass without anyone editing the record are
-- pushed again later instead of being dropped: "Record locked" (someone else was updating it)
-- after a short backoff, "Insufficient permissions" when a push of the same object succeeds again
-- (access was restored) or after a slower backoff. Their outbox rows stay, with how many pushes
-- of the record failed, the time before which it is not pushed again, and the record message
-- that holds it back (the message code). After the last attempt the rows go and the record stays
-- failed. A row a create queued carries every field (fields NULL), which is how a push knows the
-- record is new to Salesforce even when an interrupted push had already created it there.
ALTER TABLE sync_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_outbox ADD COLUMN retry_at INTEGER;
ALTER TABLE sync_outbox ADD COLUMN retry_reason TEXT;
-- The records held back, found without reading the rest of the queue: the ones a newer change
-- takes along, and those refused for permissions that a successful push wakes.
CREATE INDEX sync_outbox_waiting ON sync_outbox (workspace_id, object_type, retry_reason) WHERE retry_at IS NOT NULL;
-- Deletes queued while the record's create was in flight, which get its Salesforce id when the
-- create's answer is committed.
CREATE INDEX sync_outbox_deletes_without_id ON sync_outbox (workspace_id, object_type, conversion_id)
    WHERE operation = 'delete' AND salesforce_id IS NULL;
