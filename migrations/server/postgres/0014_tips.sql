-- Tip-offs (举报核查, docs/tips.md): the tip an officer records, with the verification
-- assignment it became and the outcome the verification inspection gave, and — apart —
-- the reporter's identity, read through one guarded path and logged on every read.
-- Keep in step with the other dialect.
CREATE TABLE tip (
    id              TEXT PRIMARY KEY,
    -- The village (or town) the tip belongs to: the named enterprise's village.
    division_code   TEXT NOT NULL,
    -- hotline_12350 | internal | other
    source          TEXT NOT NULL,
    content         TEXT NOT NULL,
    enterprise_uscc TEXT,
    address         TEXT,
    -- YYYY-MM-DD (China date)
    received_on     TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    -- YYYY-MM-DD: the verification's deadline (the assignment's due date)
    deadline        TEXT NOT NULL,
    assignment_id   TEXT,
    -- Projected from the verification inspection (`projections rebuild` derives them
    -- again): substantiated | partly_substantiated | unsubstantiated.
    outcome         TEXT,
    verified_by     TEXT,
    verified_at     TEXT,
    finding         TEXT,
    -- The officer's reward decision: granted | refused | none (NULL until decided).
    reward_decision TEXT,
    reward_yuan     BIGINT,
    reward_note     TEXT,
    reward_by       TEXT,
    reward_at       TEXT
);
CREATE INDEX tip_division ON tip (division_code, received_on);
CREATE INDEX tip_assignment ON tip (assignment_id);

-- Who reported it: never in a list, a detail, a ledger, a log or a pull.
CREATE TABLE tip_reporter (
    tip_id  TEXT PRIMARY KEY REFERENCES tip (id),
    name    TEXT,
    contact TEXT
);

-- Every read of a reporter's identity: who, when.
CREATE TABLE tip_reporter_read (
    tip_id TEXT NOT NULL REFERENCES tip (id),
    reader TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX tip_reporter_read_tip ON tip_reporter_read (tip_id, at);
