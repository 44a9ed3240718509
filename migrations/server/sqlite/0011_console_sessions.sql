-- The officer console (docs/console.md "Sign-in"). Keep in step with the other dialect.

-- A session also ends after a while without a request (idle expiry), not only at its
-- absolute expiry.
ALTER TABLE user_session ADD COLUMN last_seen_at TEXT;

-- Failed sign-ins per user name, known or not (so a lock tells nothing about which
-- names exist). Reset by a successful sign-in.
CREATE TABLE login_throttle (
    user_name       TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at TEXT NOT NULL,
    locked_until    TEXT
);
