-- Search keys for the enterprise register, and a trigram full-text index over them.
-- Rows are written by the store (pinyin is computed in Rust); an index that is out of
-- step with `enterprise` (e.g. right after this migration) is rebuilt on open.

CREATE TABLE enterprise_search (
    rowid           INTEGER PRIMARY KEY,
    enterprise_id   TEXT NOT NULL UNIQUE REFERENCES enterprise (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,  -- lower-cased
    address         TEXT NOT NULL,  -- lower-cased, '' when unknown
    pinyin_full     TEXT NOT NULL,  -- variants separated by one space
    pinyin_initials TEXT NOT NULL,  -- variants separated by one space
    name_chars      INTEGER NOT NULL
) STRICT;

CREATE VIRTUAL TABLE enterprise_fts USING fts5 (
    name, address, pinyin_full, pinyin_initials,
    content = 'enterprise_search', content_rowid = 'rowid', tokenize = 'trigram'
);

CREATE TRIGGER enterprise_search_ai AFTER INSERT ON enterprise_search BEGIN
    INSERT INTO enterprise_fts (rowid, name, address, pinyin_full, pinyin_initials)
    VALUES (new.rowid, new.name, new.address, new.pinyin_full, new.pinyin_initials);
END;
CREATE TRIGGER enterprise_search_ad AFTER DELETE ON enterprise_search BEGIN
    INSERT INTO enterprise_fts (enterprise_fts, rowid, name, address, pinyin_full, pinyin_initials)
    VALUES ('delete', old.rowid, old.name, old.address, old.pinyin_full, old.pinyin_initials);
END;
CREATE TRIGGER enterprise_search_au AFTER UPDATE ON enterprise_search BEGIN
    INSERT INTO enterprise_fts (enterprise_fts, rowid, name, address, pinyin_full, pinyin_initials)
    VALUES ('delete', old.rowid, old.name, old.address, old.pinyin_full, old.pinyin_initials);
    INSERT INTO enterprise_fts (rowid, name, address, pinyin_full, pinyin_initials)
    VALUES (new.rowid, new.name, new.address, new.pinyin_full, new.pinyin_initials);
END;
