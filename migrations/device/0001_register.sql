-- The enterprise register: jurisdiction tree, enterprises, sites and 厂中厂 leases.

CREATE TABLE division (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('district', 'town', 'village', 'grid')),
    -- The enclosing division; NULL or outside the table for the root of what is loaded.
    parent_code TEXT
) STRICT;
CREATE INDEX division_parent ON division (parent_code);

CREATE TABLE enterprise (
    id                       TEXT PRIMARY KEY,          -- UUID v5 of the USCC
    uscc                     TEXT NOT NULL UNIQUE,
    name                     TEXT NOT NULL CHECK (length(name) > 0),
    address                  TEXT,
    village_code             TEXT NOT NULL REFERENCES division (code),
    lat                      REAL CHECK (lat BETWEEN -90 AND 90),
    lon                      REAL CHECK (lon BETWEEN -180 AND 180),
    industry                 TEXT,
    dust_involved            INTEGER NOT NULL DEFAULT 0 CHECK (dust_involved IN (0, 1)),
    dust_types               TEXT NOT NULL DEFAULT '[]', -- JSON array of Chinese names
    workers_per_shift        INTEGER CHECK (workers_per_shift >= 0),
    al_mg                    INTEGER NOT NULL DEFAULT 0 CHECK (al_mg IN (0, 1)),
    key_supervision          INTEGER NOT NULL DEFAULT 0 CHECK (key_supervision IN (0, 1)),
    safety_officer_name      TEXT,
    safety_officer_phone     TEXT,
    safety_officer_confirmed INTEGER NOT NULL DEFAULT 0 CHECK (safety_officer_confirmed IN (0, 1)),
    risk_report              TEXT NOT NULL DEFAULT 'unknown',
    warning_education        TEXT NOT NULL DEFAULT 'unknown',
    updated_at               TEXT NOT NULL,
    CHECK ((lat IS NULL) = (lon IS NULL))
) STRICT;
CREATE INDEX enterprise_village ON enterprise (village_code);

CREATE TABLE site (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    address     TEXT,
    landlord_id TEXT NOT NULL REFERENCES enterprise (id),
    storeys     INTEGER CHECK (storeys > 0),
    structure   TEXT
) STRICT;
CREATE INDEX site_landlord ON site (landlord_id);

CREATE TABLE lease (
    id                      TEXT PRIMARY KEY,
    site_id                 TEXT NOT NULL REFERENCES site (id),
    tenant_id               TEXT NOT NULL REFERENCES enterprise (id),
    floors                  TEXT,
    area_m2                 REAL CHECK (area_m2 > 0),
    start_date              TEXT,
    end_date                TEXT,
    equipment_leased        INTEGER NOT NULL DEFAULT 0 CHECK (equipment_leased IN (0, 1)),
    equipment_description   TEXT,
    safety_agreement_signed INTEGER CHECK (safety_agreement_signed IN (0, 1)),
    UNIQUE (site_id, tenant_id)
) STRICT;
CREATE INDEX lease_tenant ON lease (tenant_id);
