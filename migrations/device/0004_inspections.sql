-- Checklist templates, inspections (answers, photos, finalized payloads), findings,
-- hazards (隐患) as append-only events, and the enterprise status inspections confirm.
-- See docs/inspections.md.

-- A template version, exactly as loaded. Keyed by id + version: a new version is a new
-- row, and a version an inspection has used can never change (trigger below).
CREATE TABLE checklist_template (
    id        TEXT NOT NULL CHECK (length(id) > 0),
    version   INTEGER NOT NULL CHECK (version >= 1),
    title_zh  TEXT NOT NULL,
    role      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    content   TEXT NOT NULL,                 -- the template as JSON
    sha256    TEXT NOT NULL CHECK (length(sha256) = 64),
    source    TEXT NOT NULL CHECK (source IN ('builtin', 'import')),
    loaded_at TEXT NOT NULL,
    PRIMARY KEY (id, version)
) STRICT;

-- One inspection (a draft until finalized). Applicability is pinned at start: `facts`
-- holds the enterprise facts the items were filtered with.
CREATE TABLE inspection (
    id               TEXT PRIMARY KEY,       -- UUID v7
    template_id      TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    enterprise_id    TEXT NOT NULL REFERENCES enterprise (id),
    inspector        TEXT NOT NULL CHECK (length(inspector) > 0),
    role             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    facts            TEXT NOT NULL,          -- EnterpriseFacts as JSON
    started_at       TEXT NOT NULL,
    supersedes       TEXT UNIQUE REFERENCES inspection (id),
    finalized_at     TEXT,
    payload          BLOB,                   -- canonical JSON bytes, hashed once
    payload_sha256   TEXT CHECK (payload_sha256 IS NULL OR length(payload_sha256) = 64),
    score            TEXT,                   -- Score as JSON
    chain_seq        INTEGER UNIQUE,
    FOREIGN KEY (template_id, template_version) REFERENCES checklist_template (id, version),
    CHECK ((finalized_at IS NULL) = (payload IS NULL)
       AND (payload IS NULL) = (payload_sha256 IS NULL)
       AND (payload IS NULL) = (score IS NULL)
       AND (payload IS NULL) = (chain_seq IS NULL))
) STRICT;
CREATE INDEX inspection_enterprise ON inspection (enterprise_id, kind);

CREATE TABLE inspection_answer (
    inspection_id TEXT NOT NULL REFERENCES inspection (id),
    item_id       TEXT NOT NULL,
    value         TEXT NOT NULL,             -- AnswerValue as JSON
    note          TEXT,
    answered_at   TEXT NOT NULL,
    answered_by   TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_id)
) STRICT;

-- Photos attached to an item (the evidence of the answer, or the answer of a photo item).
CREATE TABLE inspection_photo (
    inspection_id TEXT NOT NULL REFERENCES inspection (id),
    item_id       TEXT NOT NULL,
    photo_id      TEXT NOT NULL REFERENCES photo (id),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),  -- the derived photo
    attached_at   TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_id, photo_id)
) STRICT;

CREATE TABLE finding (
    inspection_id TEXT NOT NULL REFERENCES inspection (id),
    seq           INTEGER NOT NULL,
    item_id       TEXT NOT NULL,
    section_id    TEXT NOT NULL,
    severity      TEXT NOT NULL CHECK (severity IN ('general', 'major')),
    legal_basis   TEXT,                      -- LegalBasis as JSON
    text_zh       TEXT NOT NULL,
    note          TEXT,
    photos        TEXT NOT NULL DEFAULT '[]',
    hazard_id     TEXT NOT NULL REFERENCES hazard (id),
    PRIMARY KEY (inspection_id, item_id)
) STRICT;

-- A hazard's identity; its state is folded from `hazard_event`.
CREATE TABLE hazard (
    id            TEXT PRIMARY KEY,          -- UUID v7
    enterprise_id TEXT NOT NULL REFERENCES enterprise (id),
    inspection_id TEXT REFERENCES inspection (id),
    item_id       TEXT,
    severity      TEXT NOT NULL CHECK (severity IN ('general', 'major')),
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX hazard_enterprise ON hazard (enterprise_id);
CREATE INDEX hazard_inspection ON hazard (inspection_id);

-- Append-only hazard history. `event` is the whole HazardEvent as JSON (what syncs).
CREATE TABLE hazard_event (
    id          TEXT PRIMARY KEY,            -- UUID v7
    hazard_id   TEXT NOT NULL REFERENCES hazard (id),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    event       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;
CREATE INDEX hazard_event_hazard ON hazard_event (hazard_id, at);

-- What finalized inspections confirmed about an enterprise (issue 4 §6).
CREATE TABLE enterprise_status (
    enterprise_id              TEXT PRIMARY KEY REFERENCES enterprise (id),
    dust_confirmed_by          TEXT,
    dust_confirmed_at          TEXT,
    dust_confirmed_inspection  TEXT REFERENCES inspection (id),
    dust_facts                 TEXT,         -- FactUpdate as JSON
    safety_officer_by          TEXT,
    safety_officer_at          TEXT,
    safety_officer_inspection  TEXT REFERENCES inspection (id),
    risk_report_by             TEXT,
    risk_report_at             TEXT,
    risk_report_inspection     TEXT REFERENCES inspection (id),
    training_by                TEXT,
    training_at                TEXT,
    training_inspection        TEXT REFERENCES inspection (id),
    pre_lease_result           TEXT CHECK (pre_lease_result IN ('passed', 'failed')),
    pre_lease_major            INTEGER,
    pre_lease_general          INTEGER,
    pre_lease_conclusion       TEXT,
    pre_lease_by               TEXT,
    pre_lease_at               TEXT,
    pre_lease_inspection       TEXT REFERENCES inspection (id)
) STRICT;

-- Guards: what is evidence never changes.
CREATE TRIGGER template_used_no_update BEFORE UPDATE ON checklist_template
WHEN EXISTS (SELECT 1 FROM inspection WHERE template_id = old.id AND template_version = old.version)
BEGIN
    SELECT RAISE(ABORT, 'a template version used by an inspection cannot change');
END;
CREATE TRIGGER template_used_no_delete BEFORE DELETE ON checklist_template
WHEN EXISTS (SELECT 1 FROM inspection WHERE template_id = old.id AND template_version = old.version)
BEGIN
    SELECT RAISE(ABORT, 'a template version used by an inspection cannot be deleted');
END;
CREATE TRIGGER inspection_finalized_frozen BEFORE UPDATE ON inspection
WHEN old.payload IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a finalized inspection cannot change');
END;
CREATE TRIGGER inspection_finalized_no_delete BEFORE DELETE ON inspection
WHEN old.payload IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a finalized inspection cannot be deleted');
END;
CREATE TRIGGER answer_finalized_insert BEFORE INSERT ON inspection_answer
WHEN (SELECT payload IS NOT NULL FROM inspection WHERE id = new.inspection_id)
BEGIN
    SELECT RAISE(ABORT, 'the inspection is finalized');
END;
CREATE TRIGGER answer_finalized_update BEFORE UPDATE ON inspection_answer
WHEN (SELECT payload IS NOT NULL FROM inspection WHERE id = old.inspection_id)
BEGIN
    SELECT RAISE(ABORT, 'the inspection is finalized');
END;
CREATE TRIGGER answer_finalized_delete BEFORE DELETE ON inspection_answer
WHEN (SELECT payload IS NOT NULL FROM inspection WHERE id = old.inspection_id)
BEGIN
    SELECT RAISE(ABORT, 'the inspection is finalized');
END;
CREATE TRIGGER photo_finalized_insert BEFORE INSERT ON inspection_photo
WHEN (SELECT payload IS NOT NULL FROM inspection WHERE id = new.inspection_id)
BEGIN
    SELECT RAISE(ABORT, 'the inspection is finalized');
END;
CREATE TRIGGER photo_finalized_delete BEFORE DELETE ON inspection_photo
WHEN (SELECT payload IS NOT NULL FROM inspection WHERE id = old.inspection_id)
BEGIN
    SELECT RAISE(ABORT, 'the inspection is finalized');
END;
CREATE TRIGGER finding_no_update BEFORE UPDATE ON finding
BEGIN
    SELECT RAISE(ABORT, 'findings are append-only');
END;
CREATE TRIGGER finding_no_delete BEFORE DELETE ON finding
BEGIN
    SELECT RAISE(ABORT, 'findings are append-only');
END;
CREATE TRIGGER hazard_event_no_update BEFORE UPDATE ON hazard_event
BEGIN
    SELECT RAISE(ABORT, 'hazard events are append-only');
END;
CREATE TRIGGER hazard_event_no_delete BEFORE DELETE ON hazard_event
BEGIN
    SELECT RAISE(ABORT, 'hazard events are append-only');
END;
