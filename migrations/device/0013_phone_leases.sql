-- 厂中厂 leases recorded on the phone (docs/leases.md "Leases recorded on a phone").
-- A lease gains its use (用途 / 生产工艺) and whether a phone recorded it; an enterprise
-- whether a phone registered it (a tenant the register lacked, until an import or the
-- server's register row says otherwise).
ALTER TABLE lease ADD COLUMN use_zh TEXT;
ALTER TABLE lease ADD COLUMN recorded_on_site INTEGER NOT NULL DEFAULT 0
    CHECK (recorded_on_site IN (0, 1));
ALTER TABLE enterprise ADD COLUMN registered_on_site INTEGER NOT NULL DEFAULT 0
    CHECK (registered_on_site IN (0, 1));

-- The frozen payload of each `lease` record (gridwalk_core::LeaseRecord as canonical
-- JSON), behind its evidence-chain link (kind `lease`); the outbox sends it.
CREATE TABLE lease_record (
    id             TEXT PRIMARY KEY,          -- UUID v7, the chain link's record id
    lease_id       TEXT NOT NULL,
    landlord_id    TEXT NOT NULL REFERENCES enterprise (id),
    tenant_id      TEXT NOT NULL REFERENCES enterprise (id),
    payload        TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    recorded_at    TEXT NOT NULL
) STRICT;
CREATE INDEX lease_record_lease ON lease_record (lease_id);
