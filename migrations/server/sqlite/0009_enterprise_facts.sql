-- Enterprise facts confirmed on a visit (docs/campaign.md "Enterprise facts"): the
-- latest confirmation of each fact of each enterprise, folded from the inspections
-- (a projection: `projections rebuild` derives it again). The register row
-- (`enterprise.body`) keeps what was imported; the row the phones pull is the register
-- row with these applied, naming who confirmed each fact, when, from which inspection.
CREATE TABLE enterprise_fact (
    enterprise_uscc TEXT NOT NULL,
    fact            TEXT NOT NULL,
    record_id       TEXT NOT NULL REFERENCES record (id),
    inspection_id   TEXT NOT NULL,
    confirmed_by    TEXT NOT NULL,
    confirmed_at    TEXT NOT NULL,
    value           TEXT NOT NULL,
    PRIMARY KEY (enterprise_uscc, fact)
);
