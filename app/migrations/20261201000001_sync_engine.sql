-- The sync engine: Conversion's own records, the outbox of changes waiting to be pushed to
-- Salesforce, the inbound cursors, the connection state and the per-workspace sync settings.
-- Times are Unix milliseconds (UTC). Salesforce ids are the 18-character form.

-- Contacts come from Salesforce Leads and Contacts (salesforce_object says which) or are created
-- in Conversion (no salesforce_id until the first push). An email address is required.
CREATE TABLE conversion_contacts (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    email                TEXT NOT NULL,
    user_id              TEXT,
    first_name           TEXT,
    last_name            TEXT,
    title                TEXT,
    company_id           TEXT,
    salesforce_object    TEXT CHECK (salesforce_object IN ('Lead', 'Contact')),
    salesforce_id        TEXT,
    external_created_at  INTEGER,
    external_updated_at  INTEGER,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversion_contacts_by_sf ON conversion_contacts (workspace_id, salesforce_id);
CREATE INDEX conversion_contacts_by_email ON conversion_contacts (workspace_id, email);
CREATE INDEX conversion_contacts_by_user ON conversion_contacts (workspace_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE conversion_companies (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    name                 TEXT NOT NULL,
    website              TEXT,
    industry             TEXT,
    salesforce_id        TEXT,
    external_created_at  INTEGER,
    external_updated_at  INTEGER,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversion_companies_by_sf ON conversion_companies (workspace_id, salesforce_id);

CREATE TABLE conversion_opportunities (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    name                 TEXT NOT NULL,
    stage                TEXT,
    amount               REAL,
    close_date           TEXT,
    company_id           TEXT NOT NULL,
    salesforce_id        TEXT,
    external_created_at  INTEGER,
    external_updated_at  INTEGER,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversion_opportunities_by_sf ON conversion_opportunities (workspace_id, salesforce_id);

-- Opportunity contact roles: which contact plays which part in an opportunity.
CREATE TABLE conversion_opportunity_contacts (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    opportunity_id       TEXT NOT NULL,
    contact_id           TEXT NOT NULL,
    role                 TEXT,
    is_primary           INTEGER NOT NULL DEFAULT 0,
    salesforce_id        TEXT,
    external_created_at  INTEGER,
    external_updated_at  INTEGER,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversion_opportunity_contacts_by_sf ON conversion_opportunity_contacts (workspace_id, salesforce_id);

CREATE TABLE conversion_events (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    contact_id           TEXT NOT NULL,
    name                 TEXT NOT NULL,
    occurred_at          INTEGER NOT NULL,
    properties           TEXT,
    salesforce_id        TEXT,
    external_created_at  INTEGER,
    external_updated_at  INTEGER,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversion_events_by_sf ON conversion_events (workspace_id, salesforce_id);

-- Changes made in Conversion, written in the same transaction as the change. The outbound worker
-- pushes them in order and deletes a row only once its result is recorded in a run; a whole-run
-- failure leaves the rows here for the next attempt.
CREATE TABLE sync_outbox (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    object_type    TEXT NOT NULL,
    conversion_id  TEXT NOT NULL,
    operation      TEXT NOT NULL CHECK (operation IN ('upsert', 'delete')),
    -- JSON array of the Conversion fields the change touched (null: all of them).
    fields         TEXT,
    -- Salesforce id of a deleted record (the Conversion row is gone by then).
    salesforce_id  TEXT,
    salesforce_object TEXT,
    label          TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX sync_outbox_by_workspace ON sync_outbox (workspace_id, object_type, seq);

-- Inbound position per workspace and object: the last committed (SystemModstamp, Id).
CREATE TABLE sync_cursors (
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    object_type    TEXT NOT NULL,
    backfill_done  INTEGER NOT NULL DEFAULT 0,
    modstamp       INTEGER,
    last_id        TEXT,
    PRIMARY KEY (workspace_id, object_type)
) WITHOUT ROWID;

-- Records already processed whose SystemModstamp is still inside the overlap window: the
-- overlap re-reads them, and this is how they are recognised and not counted twice.
CREATE TABLE sync_seen (
    workspace_id   TEXT NOT NULL,
    object_type    TEXT NOT NULL,
    salesforce_id  TEXT NOT NULL,
    modstamp       INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, object_type, salesforce_id)
) WITHOUT ROWID;

-- The Salesforce connection of a workspace. 'reconnect_needed' pauses all syncing for it.
CREATE TABLE sync_connection (
    workspace_id    TEXT PRIMARY KEY REFERENCES workspaces(id),
    state           TEXT NOT NULL CHECK (state IN ('connected', 'reconnect_needed')),
    detail          TEXT,
    -- No API calls before this time (the daily limit was exceeded).
    limit_paused_until INTEGER,
    updated_at      INTEGER NOT NULL
);

-- Sync rules and write settings of a workspace (defaults when no row exists).
CREATE TABLE sync_settings (
    workspace_id          TEXT PRIMARY KEY REFERENCES workspaces(id),
    -- "Write changes to Salesforce leads and contacts".
    write_contacts        INTEGER NOT NULL DEFAULT 1,
    write_companies       INTEGER NOT NULL DEFAULT 1,
    write_events          INTEGER NOT NULL DEFAULT 1,
    -- 'upsert' or 'update_only' (inbound creates nothing, only updates existing records).
    inbound_write_mode    TEXT NOT NULL DEFAULT 'upsert' CHECK (inbound_write_mode IN ('upsert', 'update_only')),
    -- JSON array of email domains whose contacts are excluded by sync rules.
    excluded_domains      TEXT NOT NULL DEFAULT '[]',
    -- JSON array of Conversion contact fields pushed to Salesforce.
    contact_fields        TEXT NOT NULL DEFAULT '["email","first_name","last_name","title"]'
);
