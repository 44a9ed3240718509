-- Projections (docs/campaign.md): accepted records folded into tables an officer can
-- query. Derived data only: `gridwalk-server projections rebuild` empties them and folds
-- every stored record again, giving the same rows.

-- One row per finalized inspection.
CREATE TABLE inspection (
    record_id         TEXT PRIMARY KEY REFERENCES record (id),
    inspection_id     TEXT NOT NULL,
    enterprise_id     TEXT NOT NULL,
    enterprise_uscc   TEXT NOT NULL,
    division_code     TEXT NOT NULL,
    template_id       TEXT NOT NULL,
    template_version  INTEGER NOT NULL,
    inspector         TEXT NOT NULL,
    role              TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    finalized_at      TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    payload_sha256    TEXT NOT NULL,
    passed            INTEGER NOT NULL,
    failed            INTEGER NOT NULL,
    pass_rate_bp      INTEGER,
    findings          INTEGER NOT NULL,
    photo_count       INTEGER NOT NULL,
    -- The nearest photo stamp to the enterprise's registered site, in metres, and whether
    -- any photo of the inspection was taken outside the radius (NULL: no stamp to judge).
    onsite_distance_m INTEGER,
    off_site          INTEGER,
    supersedes        TEXT
);
CREATE INDEX inspection_enterprise ON inspection (enterprise_uscc, finalized_at);
CREATE INDEX inspection_division ON inspection (division_code, template_id);

-- The failed items of each inspection.
CREATE TABLE finding (
    record_id   TEXT NOT NULL REFERENCES record (id),
    item_id     TEXT NOT NULL,
    section_id  TEXT NOT NULL,
    severity    TEXT NOT NULL,
    text_zh     TEXT NOT NULL,
    legal_basis TEXT,
    note        TEXT,
    photo_count INTEGER NOT NULL,
    PRIMARY KEY (record_id, item_id)
);

-- Every hazard event, applied or not: one that is not legal where it falls in the
-- merged order (two phones changed the hazard at once) is kept with `applied = 0`.
CREATE TABLE hazard_event (
    record_id   TEXT PRIMARY KEY REFERENCES record (id),
    hazard_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    applied     INTEGER NOT NULL,
    skip_reason TEXT
);
CREATE INDEX hazard_event_hazard ON hazard_event (hazard_id, at);

-- Each hazard's state, the fold of its events (NULL until its creation is folded).
ALTER TABLE hazard ADD COLUMN status TEXT;
ALTER TABLE hazard ADD COLUMN deadline TEXT;
ALTER TABLE hazard ADD COLUMN assignee TEXT;
ALTER TABLE hazard ADD COLUMN listed INTEGER;
ALTER TABLE hazard ADD COLUMN found_at TEXT;
ALTER TABLE hazard ADD COLUMN closed_at TEXT;
ALTER TABLE hazard ADD COLUMN event_count INTEGER;
ALTER TABLE hazard ADD COLUMN skipped_events INTEGER;
ALTER TABLE hazard ADD COLUMN state TEXT;
CREATE INDEX hazard_open ON hazard (division_code, status, deadline);
