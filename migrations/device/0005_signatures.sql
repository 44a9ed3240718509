-- Signatures (签字) on inspections: the PNG the signer drew, kept as evidence. Each row
-- is a chain-linked record of kind `signature` naming the inspection and the signer;
-- the PNG is small and stored in the row itself (one transaction with its link).

CREATE TABLE signature (
    id             TEXT PRIMARY KEY,                     -- UUID v7
    inspection_id  TEXT NOT NULL REFERENCES inspection (id),
    signer         TEXT NOT NULL CHECK (length(signer) > 0),
    png_sha256     TEXT NOT NULL CHECK (length(png_sha256) = 64),
    png            BLOB NOT NULL,
    -- The canonical JSON payload exactly as hashed into the chain.
    payload        TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    chain_seq      INTEGER NOT NULL UNIQUE REFERENCES evidence_chain (seq),
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX signature_inspection ON signature (inspection_id);

CREATE TRIGGER signature_no_update BEFORE UPDATE ON signature
BEGIN
    SELECT RAISE(ABORT, 'signatures are append-only');
END;
CREATE TRIGGER signature_no_delete BEFORE DELETE ON signature
BEGIN
    SELECT RAISE(ABORT, 'signatures are append-only');
END;
CREATE TRIGGER signature_finalized_insert BEFORE INSERT ON signature
WHEN (SELECT payload IS NOT NULL FROM inspection WHERE id = new.inspection_id)
BEGIN
    SELECT RAISE(ABORT, 'the inspection is finalized');
END;
