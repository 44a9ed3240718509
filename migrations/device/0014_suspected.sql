-- 疑似 (suspected) enterprises (docs/tips.md): the entries the server publishes to the
-- phones of their village (change kind `suspected`, protocol 5), at their latest state,
-- and this phone's answers (`suspected_confirmation` records, gridwalk_core::
-- SuspectedConfirmation as canonical JSON behind their evidence-chain link).
CREATE TABLE suspected_enterprise (
    id           TEXT PRIMARY KEY,
    village_code TEXT NOT NULL,
    name         TEXT,
    address      TEXT NOT NULL,
    note         TEXT NOT NULL,
    deadline     TEXT NOT NULL,                -- YYYY-MM-DD
    state        TEXT NOT NULL CHECK (state IN ('open', 'confirmed', 'not_found')),
    uscc         TEXT,
    body         TEXT NOT NULL,                -- the pulled JSON
    pulled_at    TEXT NOT NULL
) STRICT;
CREATE INDEX suspected_enterprise_village ON suspected_enterprise (village_code, state);

CREATE TABLE suspected_record (
    id             TEXT PRIMARY KEY,           -- UUID v7, the chain link's record id
    suspected_id   TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('confirmed', 'not_found')),
    enterprise_id  TEXT,                       -- the unit registered (confirmed)
    village_code   TEXT NOT NULL,
    payload        TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    recorded_at    TEXT NOT NULL
) STRICT;
CREATE INDEX suspected_record_entry ON suspected_record (suspected_id);
