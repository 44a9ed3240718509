-- 厂中厂 leases recorded on phones (docs/leases.md "Leases recorded on a phone"): the
-- projection of accepted `lease` records, one row per lease (the latest record of it
-- wins). The landlord's and tenant's published register rows are the imported rows with
-- these leases merged in, so a register re-import keeps them; `projections rebuild`
-- derives the same rows from the records. Keep in step with the other dialect.
CREATE TABLE phone_lease (
    lease_id      TEXT PRIMARY KEY,
    record_id     TEXT NOT NULL REFERENCES record (id),
    landlord_id   TEXT NOT NULL,
    landlord_uscc TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    tenant_uscc   TEXT NOT NULL,
    -- The record's payload as received (gridwalk_core::LeaseRecord).
    body          TEXT NOT NULL
);
CREATE INDEX phone_lease_landlord ON phone_lease (landlord_id);
CREATE INDEX phone_lease_tenant ON phone_lease (tenant_id);
