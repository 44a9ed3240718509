-- Devices that hold a record besides the one that first pushed it: a device enrolled
-- anew for the same user (a reinstalled app, a revoked and re-enrolled phone) pushes
-- its chain again, and the records the old identity had pushed come back as duplicates.
-- The new device still has their photos; this table lets it be told which are missing
-- and upload them, so those records can become complete.
CREATE TABLE record_holder (
    record_id TEXT NOT NULL REFERENCES record (id),
    device_id TEXT NOT NULL REFERENCES device (id),
    PRIMARY KEY (record_id, device_id)
);
CREATE INDEX record_holder_device ON record_holder (device_id);
