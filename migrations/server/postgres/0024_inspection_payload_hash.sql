-- A record's payload hash is looked up only to verify a printed inspection
-- (`/v1/verify/{sha}`: an accepted inspection with this hash). Indexing every record's
-- hash put a random index leaf into each commit for each evidence record, hazard event
-- and refused record too (a phone's day holds three evidence records per inspection):
-- the index now holds accepted inspections alone.
DROP INDEX record_payload_sha256;
CREATE INDEX record_inspection_payload_sha256 ON record (payload_sha256)
    WHERE kind = 'inspection' AND state = 'accepted';
