-- The public check of a printed inspection record (GET /v1/verify/{sha256},
-- docs/console.md "Printable record") looks records up by their payload hash. Keep in
-- step with the other dialect.
CREATE INDEX record_payload_sha256 ON record (payload_sha256);
