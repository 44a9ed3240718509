-- The sync outbox (docs/sync-client.md): one row per evidence-chain link (every record
-- the device must deliver) and one per photo file, with explicit states; the signed
-- receipts the server returned; enrollment and cursors live in `device_meta` (`sync.*`).

-- Every chain link is a record to push. The trigger queues it in the same transaction
-- that creates it, so a record can never exist without its outbox row.
CREATE TABLE sync_record (
    chain_seq     INTEGER PRIMARY KEY REFERENCES evidence_chain (seq),
    state         TEXT NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'sending', 'failed', 'accepted', 'complete', 'rejected')),
    -- SHA-256 of the photo files the record references (JSON array), set when first sent.
    photos        TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT,
    error_message TEXT,
    updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX sync_record_state ON sync_record (state, chain_seq);

CREATE TRIGGER evidence_chain_queue AFTER INSERT ON evidence_chain BEGIN
    INSERT INTO sync_record (chain_seq, updated_at) VALUES (new.seq, new.created_at);
END;
INSERT INTO sync_record (chain_seq, updated_at) SELECT seq, created_at FROM evidence_chain;

-- Every file the server must hold, by SHA-256: the derived (processed) photo of each
-- photo record, and each signature PNG. `upload_url` and `upload_offset` remember the tus
-- upload so a cut resumes where the server stopped. `rejected`: every record referencing
-- the file was refused by the server, so it will never be asked for (a new record
-- referencing it queues it again).
CREATE TABLE sync_photo (
    sha256        TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    source        TEXT NOT NULL CHECK (source IN ('photo', 'signature')),
    bytes         INTEGER NOT NULL,
    state         TEXT NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'sending', 'failed', 'complete', 'rejected')),
    upload_url    TEXT,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT,
    error_message TEXT,
    updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX sync_photo_state ON sync_photo (state);

CREATE TRIGGER photo_queue AFTER INSERT ON photo BEGIN
    INSERT INTO sync_photo (sha256, source, bytes, updated_at)
    VALUES (new.derived_sha256, 'photo', new.derived_bytes, new.created_at)
    ON CONFLICT (sha256) DO UPDATE SET state = 'queued', updated_at = excluded.updated_at
    WHERE sync_photo.state = 'rejected';
END;
CREATE TRIGGER signature_queue AFTER INSERT ON signature BEGIN
    INSERT INTO sync_photo (sha256, source, bytes, updated_at)
    VALUES (new.png_sha256, 'signature', length(new.png), new.created_at)
    ON CONFLICT (sha256) DO UPDATE SET state = 'queued', updated_at = excluded.updated_at
    WHERE sync_photo.state = 'rejected';
END;
INSERT OR IGNORE INTO sync_photo (sha256, source, bytes, updated_at)
    SELECT derived_sha256, 'photo', derived_bytes, created_at FROM photo;
INSERT OR IGNORE INTO sync_photo (sha256, source, bytes, updated_at)
    SELECT png_sha256, 'signature', length(png), created_at FROM signature;

-- Signed receipts exactly as received (the device's proof of what the server holds).
CREATE TABLE sync_receipt (
    id          INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    body        TEXT NOT NULL,
    signature   TEXT NOT NULL
) STRICT;
