-- The officer's side of the campaign (docs/campaign.md "Assignments", "Review",
-- "Supervision sampling", "Officer actions"). Keep in step with the other dialect.

-- A change is sent only to devices speaking at least this protocol (older parsers
-- would not know it): campaigns need 2; assignments, reviews and 五定 events 3.
ALTER TABLE change_log ADD COLUMN min_protocol BIGINT NOT NULL DEFAULT 1;
UPDATE change_log SET min_protocol = 2 WHERE kind = 'campaign';

-- Officers and admins sign in with a password (argon2id, PHC string); devices keep
-- their tokens. A session token is stored as its SHA-256, like device tokens.
ALTER TABLE app_user ADD COLUMN password_hash TEXT;
CREATE TABLE user_session (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES app_user (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- What an officer does on the server (hazard events, reviews, assignment events) is
-- stored as records of the officer's console: a device row of kind 'console' that no
-- token opens. Projections then rebuild from records alone.
ALTER TABLE device ADD COLUMN kind TEXT NOT NULL DEFAULT 'phone';

-- Projections (rebuilt by `projections rebuild`).
-- The latest review of each inspection.
CREATE TABLE review (
    inspection_id TEXT PRIMARY KEY,
    record_id     TEXT NOT NULL REFERENCES record (id),
    state         TEXT NOT NULL,
    comment       TEXT,
    reviewer      TEXT NOT NULL,
    at            TEXT NOT NULL
);
-- Each assignment's latest state.
CREATE TABLE assignment (
    id              TEXT PRIMARY KEY,
    enterprise_uscc TEXT NOT NULL,
    division_code   TEXT NOT NULL,
    assignee        TEXT NOT NULL,
    template_id     TEXT NOT NULL,
    due             TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sample_id       TEXT,
    fulfilled_by    TEXT,
    body            TEXT NOT NULL
);
CREATE INDEX assignment_open ON assignment (enterprise_uscc, assignee, template_id, status);
CREATE INDEX assignment_division ON assignment (division_code, status, due);

-- Supervision samples (督导抽查), with what proves them: seed and register version.
CREATE TABLE supervision_sample (
    id               TEXT PRIMARY KEY,
    division_code    TEXT NOT NULL,
    seed             TEXT NOT NULL,
    register_version TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    body             TEXT NOT NULL
);
CREATE INDEX supervision_sample_division ON supervision_sample (division_code, created_at);
