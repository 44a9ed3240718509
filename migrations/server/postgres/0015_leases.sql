-- The 厂中厂 leases of the register (docs/leases.md): one row per lease, taken from the
-- landlord's published register entry (its sites, each with its leases) at every import,
-- so the 厂中厂台账 finds a division's leases by index instead of reading every
-- enterprise body. Rows of registers imported before this migration are filled once at
-- start (`server_meta` key `leases_indexed`). Keep in step with the other dialect.
CREATE TABLE lease (
    id          TEXT PRIMARY KEY,
    site_id     TEXT NOT NULL,
    landlord_id TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    -- The site as JSON (gridwalk_core::Site) and the lease as JSON (gridwalk_core::Lease).
    site        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX lease_landlord ON lease (landlord_id);
CREATE INDEX lease_tenant ON lease (tenant_id);
