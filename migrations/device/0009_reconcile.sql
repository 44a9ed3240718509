-- Protocol 2 on the phone (docs/sync-client.md "Reconciliation and forks").
--
-- `wire_seq`: the record's position in the device's sequence on the server. It is the
-- chain position + 1 until the phone forks (its database went back in time and the
-- server holds other records at those positions): then the records the server never
-- held are renumbered after the server's last position, in chain order, and the first
-- is marked `fork`. Their chain links keep their positions. Negative: the record belongs
-- to an earlier identity of another user (delivered by it; not in this sequence).
ALTER TABLE sync_record ADD COLUMN wire_seq INTEGER;
UPDATE sync_record SET wire_seq = chain_seq + 1;
CREATE UNIQUE INDEX sync_record_wire ON sync_record (wire_seq);
ALTER TABLE sync_record ADD COLUMN fork INTEGER NOT NULL DEFAULT 0 CHECK (fork IN (0, 1));
-- 1: the payload is over the server's published limit; only the link and hash are sent
-- (the record is set aside on the server as `payload_too_large`, kept whole here).
ALTER TABLE sync_record ADD COLUMN withheld INTEGER NOT NULL DEFAULT 0 CHECK (withheld IN (0, 1));

DROP TRIGGER evidence_chain_queue;
CREATE TRIGGER evidence_chain_queue AFTER INSERT ON evidence_chain BEGIN
    INSERT INTO sync_record (chain_seq, wire_seq, updated_at)
    VALUES (new.seq, (SELECT max(coalesce(max(wire_seq), 0), 0) + 1 FROM sync_record), new.created_at);
END;

-- Records a protocol 1 server refused as `seq_reused` were never stored: they are sent
-- again, and fork.
UPDATE sync_record SET state = 'queued', error_code = NULL, error_message = NULL
WHERE error_code = 'server.seq_reused';
