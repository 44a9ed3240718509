-- The device's evidence chain anchored on the server (docs/evidence.md): each record
-- keeps the link it came with, and each device the hash of the link at its last
-- sequence position, which the next record's previous hash must equal.
ALTER TABLE record ADD COLUMN link_sha256 TEXT;
ALTER TABLE record ADD COLUMN prev_link_sha256 TEXT;
ALTER TABLE record ADD COLUMN link_version BIGINT;
-- NULL: the record at next_seq - 1 came without a link (an app older than anchoring).
ALTER TABLE device ADD COLUMN chain_head TEXT;
-- Clock skew on the record (docs/evidence.md): `ahead` (device time after its arrival),
-- `gnss` (device time far from the GNSS fix time the payload carries) or `implausible`
-- (before 2024); with the skew in seconds.
ALTER TABLE record ADD COLUMN clock_flag TEXT;
ALTER TABLE record ADD COLUMN clock_skew_s BIGINT;
