-- 疑似 (suspected) enterprises (docs/tips.md "Tips that name no registered enterprise"):
-- a tip that names an address but no registered enterprise gets an entry the phones of
-- its village pull (change kind `suspected`, protocol 5) and a grid worker answers with
-- a `suspected_confirmation` record. Not a register row: the register needs a real
-- USCC, which the sweep finds. Keep in step with the other dialect.
CREATE TABLE suspected_enterprise (
    id            TEXT PRIMARY KEY,
    tip_id        TEXT NOT NULL UNIQUE REFERENCES tip (id),
    -- The name the tip gave, if any, and the address it named.
    reported_name TEXT,
    address       TEXT NOT NULL,
    village_code  TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    -- Projected from the first accepted `suspected_confirmation` record of the entry
    -- (`projections rebuild` empties and derives them again):
    -- open | confirmed | not_found.
    state         TEXT NOT NULL DEFAULT 'open',
    record_id     TEXT,
    confirmed_by  TEXT,
    confirmed_at  TEXT,
    -- The USCC the sweep found (confirmed), and the grid worker's note.
    uscc          TEXT,
    note          TEXT
);
CREATE INDEX suspected_enterprise_village ON suspected_enterprise (village_code);
