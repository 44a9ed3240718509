-- The append-only, hash-chained audit log (docs/security.md "Audit log"): who did what,
-- when, from where, to what, with the before/after of a change or the filter of an
-- export. `seq` runs 1, 2, 3, … without gaps: the writer takes a transaction-scoped
-- advisory lock (pg_advisory_xact_lock(7262019)) and then the last seq + 1, so two
-- entries never share a prev_hash. `hash` is the SHA-256 of the entry's canonical
-- encoding, which includes `prev_hash` (64 zeros for the first). `detail` is TEXT, not
-- JSONB, so it is hashed exactly as stored.
-- Rows are never changed or removed: the trigger function below refuses UPDATE, DELETE
-- and TRUNCATE (a role without those privileges is the operator's other option,
-- docs/security.md). Keep in step with the other dialect.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    source      TEXT NOT NULL,
    action      TEXT NOT NULL,
    division    TEXT,
    target_kind TEXT,
    target_id   TEXT,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_division ON audit_log (division, seq);
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
