-- Who may do each piece of a workspace's sync work right now: a lease per (workspace, work), where
-- work is `inbound:{object}` or `outbound`. A server claims work whose lease is free or ran out,
-- holds it by renewing `expires_at`, and loses it when it stops renewing. `fence` grows by one at
-- every claim; every write made under a lease checks it first, so a server that lost its lease
-- (paused, cut off) writes nothing after another has taken the work. `done_at` is when the last
-- sync of the work ended, which makes the schedule shared: a scheduled pass claims work only when
-- its interval has passed since then, whichever server synced it last.

CREATE TABLE sync_leases (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    work          TEXT NOT NULL,
    holder        TEXT,
    fence         INTEGER NOT NULL DEFAULT 0,
    expires_at    INTEGER NOT NULL DEFAULT 0,
    claimed_at    INTEGER,
    taken_from    TEXT,
    done_at       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, work)
) WITHOUT ROWID;
