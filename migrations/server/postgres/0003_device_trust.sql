-- Trust nothing a device sends (docs/server.md, "Device trust").

-- Which device delivered the bytes of each verified photo. A photo counts for a record
-- only once the record's device (or a device holding the record after enrolling anew)
-- has uploaded those bytes itself: naming another device's photo hash is not enough.
CREATE TABLE blob_source (
    sha256      TEXT NOT NULL REFERENCES blob (sha256),
    device_id   TEXT NOT NULL REFERENCES device (id),
    verified_at TEXT NOT NULL,
    PRIMARY KEY (sha256, device_id)
);
CREATE INDEX blob_source_device ON blob_source (device_id);
-- Before this migration every completed upload counted; keep what was counted then.
INSERT INTO blob_source (sha256, device_id, verified_at)
    SELECT u.sha256, u.device_id, MIN(u.completed_at) FROM upload u
    JOIN blob b ON b.sha256 = u.sha256
    WHERE u.completed_at IS NOT NULL
    GROUP BY u.sha256, u.device_id;

-- Each hazard and the division of its enterprise, fixed by its creation: every later
-- event is authorised against this division and published under it.
CREATE TABLE hazard (
    id                TEXT PRIMARY KEY,
    enterprise_id     TEXT NOT NULL,
    enterprise_uscc   TEXT NOT NULL,
    division_code     TEXT NOT NULL,
    severity          TEXT NOT NULL CHECK (severity IN ('general', 'major')),
    created_record_id TEXT NOT NULL REFERENCES record (id)
);
CREATE INDEX hazard_division ON hazard (division_code);

-- Last activity of an upload, for the sweep that expires stale ones.
ALTER TABLE upload ADD COLUMN updated_at TEXT;
UPDATE upload SET updated_at = COALESCE(completed_at, created_at);
CREATE INDEX upload_open ON upload (device_id, completed_at);
