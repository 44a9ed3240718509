-- Chain links of version 2 (docs/evidence.md): the device time, in Unix milliseconds,
-- is under the link hash, so the time a record carries to the server cannot be edited
-- without breaking its link. NULL for the version 1 links made before this migration,
-- which keep their hashes (the chain is append-only; nothing is re-hashed).
ALTER TABLE evidence_chain ADD COLUMN at_ms INTEGER;
