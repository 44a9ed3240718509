-- GridWalk central server, PostgreSQL dialect. Keep in step with sqlite/0001_init.sql.
CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE division (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    parent_code TEXT
);

CREATE TABLE enterprise (
    id           TEXT PRIMARY KEY,
    uscc         TEXT NOT NULL UNIQUE,
    village_code TEXT NOT NULL,
    body         TEXT NOT NULL
);

CREATE TABLE app_user (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('grid_worker', 'expert', 'officer', 'admin')),
    jurisdiction TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE device (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES app_user (id),
    name            TEXT,
    device_key_hash TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    enrolled_at     TEXT NOT NULL,
    revoked_at      TEXT,
    next_seq        BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE enrollment_code (
    code_hash       TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES app_user (id),
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    device_key_hash TEXT,
    device_id       TEXT
);

CREATE TABLE record (
    id              TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES device (id),
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    payload_sha256  TEXT NOT NULL,
    payload         TEXT,
    enterprise_uscc TEXT,
    division_code   TEXT,
    state           TEXT NOT NULL CHECK (state IN ('accepted', 'rejected')),
    reject_code     TEXT,
    reject_detail   TEXT,
    device_time     TEXT,
    received_at     TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX record_kind ON record (kind);

CREATE TABLE record_photo (
    record_id TEXT NOT NULL REFERENCES record (id),
    sha256    TEXT NOT NULL,
    PRIMARY KEY (record_id, sha256)
);
CREATE INDEX record_photo_sha ON record_photo (sha256);

-- Photos held and verified, by content hash.
CREATE TABLE blob (
    sha256      TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    verified_at TEXT NOT NULL
);

CREATE TABLE upload (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES device (id),
    sha256       TEXT NOT NULL,
    length       BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL DEFAULT 0,
    metadata     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    completed_at TEXT
);

-- Latest version of each pullable entity; a change takes a new seq.
CREATE TABLE change_log (
    seq           BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL,
    division_code TEXT,
    body          TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX change_log_division ON change_log (division_code, seq);
