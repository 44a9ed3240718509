-- Confirmations made on other phones (docs/campaign.md "Enterprise facts"): the server
-- publishes, with each register row, who confirmed a fact, when and from which
-- inspection; that inspection is not on this device, so the `*_inspection` columns of
-- `enterprise_status` name an inspection without referring to the `inspection` table.
-- SQLite cannot drop a foreign key: the table is rebuilt with the same rows.
CREATE TABLE enterprise_status_new (
    enterprise_id              TEXT PRIMARY KEY REFERENCES enterprise (id),
    dust_confirmed_by          TEXT,
    dust_confirmed_at          TEXT,
    dust_confirmed_inspection  TEXT,
    dust_facts                 TEXT,         -- FactUpdate as JSON
    safety_officer_by          TEXT,
    safety_officer_at          TEXT,
    safety_officer_inspection  TEXT,
    risk_report_by             TEXT,
    risk_report_at             TEXT,
    risk_report_inspection     TEXT,
    training_by                TEXT,
    training_at                TEXT,
    training_inspection        TEXT,
    pre_lease_result           TEXT CHECK (pre_lease_result IN ('passed', 'failed')),
    pre_lease_major            INTEGER,
    pre_lease_general          INTEGER,
    pre_lease_conclusion       TEXT,
    pre_lease_by               TEXT,
    pre_lease_at               TEXT,
    pre_lease_inspection       TEXT REFERENCES inspection (id)
) STRICT;
INSERT INTO enterprise_status_new SELECT * FROM enterprise_status;
DROP TABLE enterprise_status;
ALTER TABLE enterprise_status_new RENAME TO enterprise_status;
