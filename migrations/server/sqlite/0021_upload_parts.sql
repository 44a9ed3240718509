-- Partial tus uploads live in the object store, one object per chunk
-- (`uploads/<upload id>/<start>-<nonce>`), so that any server replica can resume an
-- upload another one started. A chunk counts once its row is here: the row is written
-- in the same transaction as the compare-and-set of `upload.upload_offset`, so a chunk
-- written by a replica that lost the race (or died) is never part of the photo.
CREATE TABLE upload_part (
    upload_id  TEXT NOT NULL REFERENCES upload (id) ON DELETE CASCADE,
    start      INTEGER NOT NULL,
    length     INTEGER NOT NULL,
    object_key TEXT NOT NULL,
    PRIMARY KEY (upload_id, start)
);

-- Unfinished uploads of the release before kept their bytes in `DATA/uploads/<id>`,
-- which this release does not read: they start again from byte 0 (a tus client asks
-- with HEAD and resumes from the offset it is given).
UPDATE upload SET upload_offset = 0 WHERE completed_at IS NULL;
