-- One row the server writes to find out whether the database can be written again after a
-- storage failure (a full disk, a read-only file): a real write, in a table nothing else uses.
CREATE TABLE storage_checks (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
