-- The whole schema on PostgreSQL: the state the SQLite migrations (migrations/*.sql) reach after
-- the last of them, with the same tables, columns, constraints, index names and defaults, so the
-- same application SQL runs on both.
-- Times are Unix milliseconds (UTC) in BIGINT columns. Codes are the stable codes of app::domain.
-- Integers are BIGINT (the application reads i64), 0/1 flags included. Run ids are UUIDs: a
-- UUIDv7 whose bytes, compared in order as PostgreSQL compares uuid, sort by start time.

-- Sync activity: workspaces, runs (one per batch) and the records of each run.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- A run's id is a UUIDv7, so ordering by id is ordering by start time: the list's keyset cursor
-- and its date range are both ranges on id, and every filter combination below is served by one
-- index range scan.
CREATE TABLE sync_runs (
    id              UUID PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    object_type     TEXT NOT NULL,
    trigger         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('in_progress', 'completed', 'failed')),
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    expected_total  BIGINT,
    created         BIGINT NOT NULL DEFAULT 0,
    updated         BIGINT NOT NULL DEFAULT 0,
    deleted         BIGINT NOT NULL DEFAULT 0,
    skipped         BIGINT NOT NULL DEFAULT 0,
    failed          BIGINT NOT NULL DEFAULT 0,
    -- Position the next appended record gets; equals the number of records.
    next_seq        BIGINT NOT NULL DEFAULT 0,
    failure_code    TEXT,
    failure_detail  TEXT
);

CREATE INDEX sync_runs_by_workspace ON sync_runs (workspace_id, id);
CREATE INDEX sync_runs_by_direction ON sync_runs (workspace_id, direction, id);
CREATE INDEX sync_runs_by_object ON sync_runs (workspace_id, object_type, id);
CREATE INDEX sync_runs_by_direction_object ON sync_runs (workspace_id, direction, object_type, id);
-- Runs still in progress: found at start-up (to fail what a crash left behind) and by the
-- health card, without scanning history.
CREATE INDEX sync_runs_in_progress ON sync_runs (workspace_id, id) WHERE status = 'in_progress';
-- The list's run status filter (failed runs are few: no scan through the completed ones).
CREATE INDEX sync_runs_by_status ON sync_runs (workspace_id, status, id);

CREATE TABLE run_records (
    run_id               UUID NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    seq                  BIGINT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('success', 'skipped', 'failed')),
    action               TEXT NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
    message_code         TEXT,
    detail               TEXT,
    salesforce_id        TEXT,
    conversion_id        TEXT,
    label                TEXT,
    external_created_at  BIGINT,
    external_updated_at  BIGINT,
    PRIMARY KEY (run_id, seq)
);

-- The run page's status filter: one range scan per page however large the run.
CREATE INDEX run_records_by_status ON run_records (run_id, status, seq);

-- The sync engine: Conversion's own records, the outbox of changes waiting to be pushed to
-- Salesforce, the inbound cursors, the connection state and the per-workspace sync settings.
-- Salesforce ids are the 18-character form.

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
    external_created_at  BIGINT,
    external_updated_at  BIGINT,
    updated_at           BIGINT NOT NULL
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
    external_created_at  BIGINT,
    external_updated_at  BIGINT,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversion_companies_by_sf ON conversion_companies (workspace_id, salesforce_id);

CREATE TABLE conversion_opportunities (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    name                 TEXT NOT NULL,
    stage                TEXT,
    amount               DOUBLE PRECISION,
    close_date           TEXT,
    company_id           TEXT NOT NULL,
    salesforce_id        TEXT,
    external_created_at  BIGINT,
    external_updated_at  BIGINT,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversion_opportunities_by_sf ON conversion_opportunities (workspace_id, salesforce_id);

-- Opportunity contact roles: which contact plays which part in an opportunity.
CREATE TABLE conversion_opportunity_contacts (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    opportunity_id       TEXT NOT NULL,
    contact_id           TEXT NOT NULL,
    role                 TEXT,
    is_primary           BIGINT NOT NULL DEFAULT 0,
    salesforce_id        TEXT,
    external_created_at  BIGINT,
    external_updated_at  BIGINT,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversion_opportunity_contacts_by_sf ON conversion_opportunity_contacts (workspace_id, salesforce_id);

CREATE TABLE conversion_events (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    contact_id           TEXT NOT NULL,
    name                 TEXT NOT NULL,
    occurred_at          BIGINT NOT NULL,
    properties           TEXT,
    salesforce_id        TEXT,
    external_created_at  BIGINT,
    external_updated_at  BIGINT,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversion_events_by_sf ON conversion_events (workspace_id, salesforce_id);

-- Changes made in Conversion, written in the same transaction as the change. The outbound worker
-- pushes them in order and deletes a row only once its result is recorded in a run; a whole-run
-- failure leaves the rows here for the next attempt.
-- Changes whose push failed for a reason that can pass without anyone editing the record
-- ("Record locked", "Insufficient permissions") stay, with how many pushes of the record failed
-- (attempts), the time before which it is not pushed again (retry_at) and the record message that
-- holds it back (retry_reason). A row a create queued carries every field (fields NULL).
CREATE TABLE sync_outbox (
    seq               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id),
    object_type       TEXT NOT NULL,
    conversion_id     TEXT NOT NULL,
    operation         TEXT NOT NULL CHECK (operation IN ('upsert', 'delete')),
    -- JSON array of the Conversion fields the change touched (null: all of them).
    fields            TEXT,
    -- Salesforce id of a deleted record (the Conversion row is gone by then).
    salesforce_id     TEXT,
    salesforce_object TEXT,
    label             TEXT,
    created_at        BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    retry_at          BIGINT,
    retry_reason      TEXT
);
CREATE INDEX sync_outbox_by_workspace ON sync_outbox (workspace_id, object_type, seq);
-- The records held back, found without reading the rest of the queue: the ones a newer change
-- takes along, and those refused for permissions that a successful push wakes.
CREATE INDEX sync_outbox_waiting ON sync_outbox (workspace_id, object_type, retry_reason) WHERE retry_at IS NOT NULL;
-- Deletes queued while the record's create was in flight, which get its Salesforce id when the
-- create's answer is committed.
CREATE INDEX sync_outbox_deletes_without_id ON sync_outbox (workspace_id, object_type, conversion_id)
    WHERE operation = 'delete' AND salesforce_id IS NULL;

-- Inbound position per workspace and object: the last committed (SystemModstamp, Id).
-- A backfill read through a Bulk API 2.0 query job keeps the job here, committed with each batch
-- it writes, so that a restart reads on from the same job. All NULL (and 0) when the object's
-- backfill is not a Bulk job.
-- bulk_job_id, bulk_api_version: the job, and the API version its results must be read with
--   (NULL: the last job failed, and the next sync makes another with the same query).
-- bulk_locator: the set of results to read next (NULL: the first).
-- bulk_offset: records of that set already committed (a restart skips them).
-- bulk_since: the SystemModstamp the job's query starts from (NULL: every record).
-- bulk_began: when the backfill's first job was made; set while a Bulk backfill runs.
-- bulk_replaced: a job replaced one that expired or changed API version after some of its results
--   were written, so its results include records already written.
CREATE TABLE sync_cursors (
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id),
    object_type       TEXT NOT NULL,
    backfill_done     BIGINT NOT NULL DEFAULT 0,
    modstamp          BIGINT,
    last_id           TEXT,
    bulk_job_id       TEXT,
    bulk_api_version  TEXT,
    bulk_locator      TEXT,
    bulk_offset       BIGINT NOT NULL DEFAULT 0,
    bulk_since        BIGINT,
    bulk_began        BIGINT,
    bulk_replaced     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, object_type)
);

-- Records already processed whose SystemModstamp is still inside the overlap window: the
-- overlap re-reads them, and this is how they are recognised and not counted twice.
CREATE TABLE sync_seen (
    workspace_id   TEXT NOT NULL,
    object_type    TEXT NOT NULL,
    salesforce_id  TEXT NOT NULL,
    modstamp       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, object_type, salesforce_id)
);

-- The Salesforce connection of a workspace: which org, which integration user, since when, and
-- the last measured API usage. 'reconnect_needed' pauses all syncing for it.
CREATE TABLE sync_connection (
    workspace_id       TEXT PRIMARY KEY REFERENCES workspaces(id),
    state              TEXT NOT NULL CHECK (state IN ('connected', 'reconnect_needed', 'disconnected')),
    detail             TEXT,
    -- No API calls before this time (the daily limit was exceeded).
    limit_paused_until BIGINT,
    updated_at         BIGINT NOT NULL,
    instance_url       TEXT,
    username           TEXT,
    connected_since    BIGINT,
    -- Server-side only: never sent to the browser.
    refresh_token      TEXT,
    api_used           BIGINT,
    api_max            BIGINT,
    api_measured_at    BIGINT
);

-- Sync rules and write settings of a workspace (defaults when no row exists).
CREATE TABLE sync_settings (
    workspace_id          TEXT PRIMARY KEY REFERENCES workspaces(id),
    -- "Write changes to Salesforce leads and contacts".
    write_contacts        BIGINT NOT NULL DEFAULT 1,
    write_companies       BIGINT NOT NULL DEFAULT 1,
    write_events          BIGINT NOT NULL DEFAULT 1,
    -- 'upsert' or 'update_only' (inbound creates nothing, only updates existing records).
    inbound_write_mode    TEXT NOT NULL DEFAULT 'upsert' CHECK (inbound_write_mode IN ('upsert', 'update_only')),
    -- JSON array of email domains whose contacts are excluded by sync rules.
    excluded_domains      TEXT NOT NULL DEFAULT '[]',
    -- JSON array of Conversion contact fields pushed to Salesforce.
    contact_fields        TEXT NOT NULL DEFAULT '["email","first_name","last_name","title"]',
    -- JSON array of the object types that sync inbound.
    inbound_objects       TEXT NOT NULL
        DEFAULT '["company","contact","lead","opportunity","opportunity_contact_role","event"]',
    -- The inbound schedule (NULL: the server's default interval).
    interval_secs         BIGINT,
    -- JSON array of the Conversion company fields pushed to Salesforce accounts.
    company_fields        TEXT NOT NULL DEFAULT '["name","website","industry"]'
);

-- Which messages each run carries, for the list's message filter. One row per run and record
-- message with how many of its records carry it, plus one row for a failed run's whole-run
-- message (records = 0). The key is ordered like the list (run ids sort by start time), so a page
-- filtered by message is one range scan of this table however rare the message.
CREATE TABLE run_messages (
    workspace_id  TEXT NOT NULL,
    code          TEXT NOT NULL,
    run_id        UUID NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    -- The run's direction and object type, copied (they never change once a run begins).
    direction     TEXT NOT NULL,
    object_type   TEXT NOT NULL,
    records       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, code, run_id)
);
CREATE INDEX run_messages_by_direction ON run_messages (workspace_id, code, direction, run_id);
CREATE INDEX run_messages_by_object ON run_messages (workspace_id, code, object_type, run_id);
CREATE INDEX run_messages_by_direction_object ON run_messages (workspace_id, code, direction, object_type, run_id);
-- The health card's groups: the window's entries of every message, without reading its records.
CREATE INDEX run_messages_by_run ON run_messages (workspace_id, run_id);

-- A run that fails as a whole is listed under its message, whoever fails it: every UPDATE that
-- sets failure_code to a non-NULL value adds the run's row (records = 0) unless one exists.
CREATE FUNCTION run_messages_on_failure() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type)
    VALUES (NEW.workspace_id, NEW.failure_code, NEW.id, NEW.direction, NEW.object_type)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER run_messages_on_failure AFTER UPDATE OF failure_code ON sync_runs
    FOR EACH ROW WHEN (NEW.failure_code IS NOT NULL)
    EXECUTE FUNCTION run_messages_on_failure();

-- One row the server writes to find out whether the database can be written again after a
-- storage failure: a real write, in a table nothing else uses.
CREATE TABLE storage_checks (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    checked_at  BIGINT NOT NULL
);

-- People who sign in and the workspaces they belong to (with a role).

CREATE TABLE users (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    -- Compared without case: Jane@Acme.com and jane@acme.com are one person. PostgreSQL has no
    -- NOCASE collation: uniqueness is on lower(email) (users_email_nocase), and application
    -- queries compare with lower() on PostgreSQL.
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    -- An argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash); never the password.
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_nocase ON users (lower(email));

CREATE TABLE memberships (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

-- A person's workspaces (the product bar's switcher, the sign-in's landing).
CREATE INDEX memberships_by_user ON memberships (user_id, workspace_id);

-- Sign-in sessions have no table here: on PostgreSQL, tower-sessions' PostgresStore keeps them in
-- the table "tower_sessions"."session", which it creates itself, and no application SQL reads
-- sessions outside that store.

-- Who changed what in a workspace, and when: the audit trail admins see on the Overview.
CREATE TABLE audit_events (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    at            BIGINT NOT NULL,
    -- The person who did it, as they were then (an account may be removed later); NULL with
    -- `actor` naming the server's own command line (`server adduser`) or the server's start.
    user_id       BIGINT,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT ''
);

-- A workspace's trail, newest first.
CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id, id);

-- Tokens scripts use to call the JSON API of one workspace (`Authorization: Bearer …`). Only a
-- SHA-256 of the token is kept: the token is shown once, when it is made.
CREATE TABLE api_tokens (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    -- Hex SHA-256 of the whole token (a token is 256 random bits: a fast hash is enough).
    token_hash    TEXT NOT NULL UNIQUE,
    -- The token's first characters, to tell tokens apart in the list.
    prefix        TEXT NOT NULL,
    access        TEXT NOT NULL CHECK (access IN ('read', 'read_write')),
    created_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE INDEX api_tokens_by_workspace ON api_tokens (workspace_id, id);

-- Invitations to a workspace: an admin invites an email with a role; the link (shown once to the
-- admin) creates an account or adds the existing one. Single use, with an expiry; only a SHA-256
-- of the link's token is kept.
CREATE TABLE invitations (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    -- Compared without case; PostgreSQL has no NOCASE collation, so application queries compare
    -- with lower() on PostgreSQL.
    email         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash    TEXT NOT NULL UNIQUE,
    created_by    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    accepted_at   BIGINT,
    revoked_at    BIGINT
);

CREATE INDEX invitations_by_workspace ON invitations (workspace_id, id);

-- Who may do each piece of a workspace's sync work right now: a lease per (workspace, work), where
-- work is `inbound:{object}` or `outbound`. A server claims work whose lease is free or ran out,
-- holds it by renewing `expires_at`, and loses it when it stops renewing. `fence` grows by one at
-- every claim; every write made under a lease checks it first, so a server that lost its lease
-- writes nothing after another has taken the work. `done_at` is when the last sync of the work
-- ended, which makes the schedule shared across servers.
CREATE TABLE sync_leases (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    work          TEXT NOT NULL,
    holder        TEXT,
    fence         BIGINT NOT NULL DEFAULT 0,
    expires_at    BIGINT NOT NULL DEFAULT 0,
    claimed_at    BIGINT,
    taken_from    TEXT,
    done_at       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, work)
);
