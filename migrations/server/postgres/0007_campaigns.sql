-- Campaigns as data (docs/campaign.md "Campaigns"), and the register facts coverage
-- selects enterprises by, kept beside each enterprise's body (filled from the body at
-- import, and once for the rows imported before this migration).
CREATE TABLE campaign (
    id         TEXT PRIMARY KEY,
    year       BIGINT NOT NULL,
    area_code  TEXT NOT NULL,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

ALTER TABLE enterprise ADD COLUMN name TEXT;
ALTER TABLE enterprise ADD COLUMN dust_involved BIGINT;
ALTER TABLE enterprise ADD COLUMN al_mg BIGINT;
ALTER TABLE enterprise ADD COLUMN workers_per_shift BIGINT;
ALTER TABLE enterprise ADD COLUMN tenant BIGINT;
CREATE INDEX enterprise_village ON enterprise (village_code);
CREATE INDEX inspection_template ON inspection (template_id, enterprise_uscc, finalized_at);
