-- An officer's work that reaches the phone in the pull (protocol 3, docs/campaign.md
-- "On the phone"): assignments (任务) of enterprises to inspectors, and reviews of
-- finalized inspections. Each is published at its latest state; the device keeps one row
-- per assignment id and per reviewed inspection, replaced only by a state at least as
-- recent (`updated_at`, `at`: RFC 3339 UTC with microseconds, so they compare as text).
-- `body` is the server's JSON (`gridwalk_core::Assignment` / `Review`); the other
-- columns are copies for the queries.
CREATE TABLE assignment (
    id             TEXT PRIMARY KEY,
    assignee       TEXT NOT NULL,          -- the inspector's user name
    enterprise_id  TEXT NOT NULL,          -- may not be on the device (yet)
    template_id    TEXT NOT NULL,
    status         TEXT NOT NULL,          -- open, fulfilled, cancelled
    due            TEXT NOT NULL,          -- YYYY-MM-DD (China date)
    updated_at     TEXT NOT NULL,
    body           TEXT NOT NULL,
    pulled_at      TEXT NOT NULL
) STRICT;
CREATE INDEX assignment_assignee ON assignment (assignee, status, due);

CREATE TABLE review (
    inspection_id  TEXT PRIMARY KEY,       -- the inspection reviewed (may be another phone's)
    state          TEXT NOT NULL,          -- approved, has_issues, rejected
    at             TEXT NOT NULL,
    body           TEXT NOT NULL,
    pulled_at      TEXT NOT NULL
) STRICT;

-- A server sends assignments and reviews only to protocol-3 devices, so those published
-- while this device spoke protocol 2 lie behind its pull cursor. Pull again from the
-- start once (as 0007 did): register and template changes re-apply as upserts, hazard
-- events already here are recognised by id, campaigns are upserts.
DELETE FROM device_meta WHERE key = 'sync.pull_cursor';
