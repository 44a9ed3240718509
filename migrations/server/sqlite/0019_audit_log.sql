-- The append-only, hash-chained audit log (docs/security.md "Audit log"): who did what,
-- when, from where, to what, with the before/after of a change or the filter of an
-- export. `seq` runs 1, 2, 3, … without gaps (the writer takes the last seq + 1 inside
-- its write transaction; SQLite has one writer at a time). `hash` is the SHA-256 of the
-- entry's canonical encoding, which includes `prev_hash` (64 zeros for the first).
-- Rows are never changed or removed: the triggers below refuse it.
-- Keep in step with the other dialect.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    -- UTC, RFC 3339 with microseconds.
    at          TEXT NOT NULL,
    -- A user name, a device id, or `cli:<os user>` for the admin CLI.
    actor       TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    -- The remote IP of an HTTP request; `cli` for a command.
    source      TEXT NOT NULL,
    -- A stable dotted code: login.ok, hazard.event, export.hazards, …
    action      TEXT NOT NULL,
    -- The actor's jurisdiction (NULL: the operator, an unknown user): who may read the
    -- entry (docs/security.md).
    division    TEXT,
    target_kind TEXT,
    target_id   TEXT,
    -- JSON text, hashed as stored.
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_division ON audit_log (division, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an entry is never changed');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an entry is never removed');
END;
