-- Sync settings: which object types sync inbound, and the inbound schedule (NULL: the server's
-- default interval).
ALTER TABLE sync_settings ADD COLUMN inbound_objects TEXT NOT NULL
    DEFAULT '["company","contact","lead","opportunity","opportunity_contact_role","event"]';
ALTER TABLE sync_settings ADD COLUMN interval_secs INTEGER;
