-- Reconciliation and forks (docs/sync-protocol.md, protocol 2).
--
-- Every position of a device's sequence and what took it: the device's own record
-- (accepted or refused), or a record the server already held (a duplicate under a new
-- enrollment), or a refused foreign id. The device compares digests of these rows with
-- its own outbox, so a restore of either database is repaired by sending again.
CREATE TABLE device_seq (
    device_id      TEXT NOT NULL REFERENCES device (id),
    seq            BIGINT NOT NULL,
    record_id      TEXT NOT NULL,
    -- The hash the device sent for the record at this position.
    payload_sha256 TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('held', 'rejected')),
    -- The chain link held for the position (NULL: none, or a broken one).
    link_sha256    TEXT,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX device_seq_link ON device_seq (device_id, link_sha256);
INSERT INTO device_seq (device_id, seq, record_id, payload_sha256, status, link_sha256)
    SELECT device_id, seq, id, payload_sha256,
           CASE WHEN state = 'accepted' THEN 'held' ELSE 'rejected' END,
           CASE WHEN reject_code = 'chain_broken' THEN NULL ELSE link_sha256 END
    FROM record;

-- Forks: a phone restored from an older copy continues its chain from a link the server
-- holds other than the last one. Branch 0 is the device's first line; each fork opens
-- the next branch, and its first record names the position it continues (`fork_point`).
ALTER TABLE device ADD COLUMN branch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE record ADD COLUMN branch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE record ADD COLUMN fork_point BIGINT;
