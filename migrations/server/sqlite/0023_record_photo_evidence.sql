-- Photos are looked up by hash only to find the evidence record that stands for them
-- (the photo's stamp, its on-site check, its chain position); an inspection's photos are
-- read by its record id. Indexing every link by hash cost a random index leaf per photo
-- of every inspection: the index now holds the evidence records' links alone.
-- `evidence` is 1 on a link whose record is an evidence record (set at push).
ALTER TABLE record_photo ADD COLUMN evidence SMALLINT NOT NULL DEFAULT 0;
UPDATE record_photo SET evidence = 1
 WHERE record_id IN (SELECT id FROM record WHERE kind = 'evidence');
DROP INDEX record_photo_sha;
CREATE INDEX record_photo_evidence_sha ON record_photo (sha256) WHERE evidence = 1;
