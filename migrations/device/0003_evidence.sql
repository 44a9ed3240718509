-- Device identity, the per-device evidence hash chain, and photo evidence records.

-- Key/value facts about this device; `device_id` (UUID v7) is created on first open.
CREATE TABLE device_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- One row per evidence record, in order. `hash` covers device id, seq, kind, the
-- record's payload hash and the previous link's hash (see docs/evidence.md), so a
-- deleted or altered record shows as a gap or a mismatch. Rows are never updated.
CREATE TABLE evidence_chain (
    seq            INTEGER PRIMARY KEY CHECK (seq >= 0),
    device_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    prev_hash      TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash           TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX evidence_chain_record ON evidence_chain (record_id);

CREATE TRIGGER evidence_chain_no_update BEFORE UPDATE ON evidence_chain BEGIN
    SELECT RAISE(ABORT, 'evidence chain rows are append-only');
END;

-- A processed photo. Its files live in the photo directory beside the database, named
-- by their own SHA-256; they are written (temp, fsync, rename) before this row commits.
CREATE TABLE photo (
    id               TEXT PRIMARY KEY,
    enterprise_id    TEXT REFERENCES enterprise (id),
    inspector        TEXT NOT NULL,
    original_sha256  TEXT NOT NULL,
    original_ext     TEXT NOT NULL,
    derived_sha256   TEXT NOT NULL,
    thumbnail_sha256 TEXT NOT NULL,
    width            INTEGER NOT NULL,
    height           INTEGER NOT NULL,
    derived_bytes    INTEGER NOT NULL,
    -- The canonical JSON payload exactly as hashed into the chain.
    payload          TEXT NOT NULL,
    payload_sha256   TEXT NOT NULL,
    chain_seq        INTEGER NOT NULL UNIQUE REFERENCES evidence_chain (seq),
    created_at       TEXT NOT NULL
) STRICT;
CREATE INDEX photo_enterprise ON photo (enterprise_id);
