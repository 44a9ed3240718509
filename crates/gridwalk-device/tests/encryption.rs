//! The device database encrypted at rest (issue 15, docs/security.md): a new database is
//! SQLCipher-encrypted with a key from its key store; a plain database written by the
//! previous release (the fixture `tests/fixtures/plain-0.1-schema13.db`, made with it:
//! 40 enterprises and a lease imported, a photo added to the evidence chain, a draft
//! inspection answered) is encrypted in place with every row kept; an encryption cut
//! short leaves the plain database whole; a missing or wrong key is a clear error that
//! changes nothing.

use gridwalk_device::db_key::{is_plain, DbKey, KeyFile, KeyStore};
use gridwalk_device::error::StoreError;
use gridwalk_device::store::{open_raw, Store};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plain-0.1-schema13.db")
}

/// Every table's rows, hashed in rowid order: the content of the database. Empty tables
/// are left out: a migration newer than the fixture adds them on the upgrade, and a
/// table that lost its rows still differs (present on one side only).
fn content(conn: &rusqlite::Connection) -> BTreeMap<String, (usize, String)> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut out = BTreeMap::new();
    for t in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\""))
            .expect("select");
        let n = stmt.column_count();
        let mut h = Sha256::new();
        let mut rows = 0;
        let mut q = stmt.query([]).expect("query");
        while let Some(row) = q.next().expect("row") {
            rows += 1;
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i).expect("value");
                h.update(format!("{v:?}\u{1f}").as_bytes());
            }
            h.update(b"\x1e");
        }
        if rows > 0 {
            out.insert(t, (rows, format!("{:x}", h.finalize())));
        }
    }
    out
}

fn sha(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).expect("read")))
}

fn plain_copy(dir: &Path) -> PathBuf {
    let path = dir.join("gridwalk.db");
    std::fs::copy(fixture(), &path).expect("copy fixture");
    path
}

#[test]
fn a_new_database_is_encrypted_and_unreadable_without_its_key() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("gridwalk.db");
    {
        let store = Store::open(&path).expect("open");
        store
            .connection()
            .execute(
                "INSERT INTO device_meta (key, value) VALUES ('probe', '金坛区秘密隐患台账')",
                [],
            )
            .expect("insert");
    }
    assert!(!is_plain(&path).expect("read"), "the file is encrypted");
    let bytes = std::fs::read(&path).expect("read");
    assert!(
        !bytes
            .windows("金坛区秘密隐患台账".len())
            .any(|w| w == "金坛区秘密隐患台账".as_bytes()),
        "no plain text in the file"
    );
    // Without the key SQLite sees no database.
    let bare = rusqlite::Connection::open(&path).expect("bare open");
    assert!(bare
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r
            .get::<_, i64>(0))
        .is_err());
    // With it, everything is there.
    let store = Store::open(&path).expect("reopen");
    let v: String = store
        .connection()
        .query_row(
            "SELECT value FROM device_meta WHERE key = 'probe'",
            [],
            |r| r.get(0),
        )
        .expect("probe");
    assert_eq!(v, "金坛区秘密隐患台账");
    assert_eq!(
        store.check_integrity().expect("check"),
        Vec::<String>::new()
    );
}

#[test]
fn a_plain_database_of_the_previous_release_is_encrypted_in_place_without_loss() {
    let dir = tempfile::tempdir().expect("dir");
    let path = plain_copy(dir.path());
    assert!(is_plain(&path).expect("read"));
    let before = content(&rusqlite::Connection::open(&path).expect("plain open"));
    assert!(before["enterprise"].0 >= 40, "{before:?}");
    assert!(before["evidence_chain"].0 >= 1, "{before:?}");

    let store = Store::open(&path).expect("open migrates");
    assert_eq!(
        store.check_integrity().expect("check"),
        Vec::<String>::new()
    );
    drop(store);
    assert!(!is_plain(&path).expect("read"), "encrypted in place");
    assert!(KeyFile::beside(&path).load().expect("key").is_some());
    assert!(!dir.path().join("gridwalk.db.encrypting").exists());
    let after = content(&open_raw(&path).expect("keyed open"));
    assert_eq!(before, after, "every row kept");
    // The search and the register still answer.
    let store = Store::open(&path).expect("reopen");
    let n: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM enterprise", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n as usize, before["enterprise"].0);
}

#[test]
fn an_encryption_cut_short_leaves_the_plain_database_whole_and_the_next_open_finishes_it() {
    let dir = tempfile::tempdir().expect("dir");
    let path = plain_copy(dir.path());
    let before = content(&rusqlite::Connection::open(&path).expect("plain open"));
    // Killed after the key was kept and while the copy was being written.
    let key = DbKey::random().expect("key");
    KeyFile::beside(&path).save(&key).expect("save");
    std::fs::write(dir.path().join("gridwalk.db.encrypting"), b"half a copy").expect("write");
    let plain_sha = sha(&path);
    assert!(is_plain(&path).expect("read"));
    assert_eq!(sha(&path), plain_sha);

    drop(Store::open(&path).expect("open finishes"));
    assert_eq!(
        KeyFile::beside(&path).load().expect("key"),
        Some(key),
        "the key kept before is the one used"
    );
    assert!(!is_plain(&path).expect("read"));
    assert_eq!(content(&open_raw(&path).expect("keyed open")), before);
}

#[test]
fn a_missing_or_wrong_key_is_a_clear_error_that_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("gridwalk.db");
    drop(Store::open(&path).expect("open"));
    let keys = KeyFile::beside(&path);
    let key = keys.load().expect("load").expect("key");
    let db_sha = sha(&path);

    std::fs::remove_file(keys.path()).expect("lose the key");
    let err = Store::open(&path).expect_err("no key");
    assert!(matches!(err, StoreError::Key { .. }), "{err}");
    assert_eq!(err.code(), "store.key");
    assert!(err.to_string().contains("key is missing"), "{err}");
    assert!(
        !keys.path().exists(),
        "no new key made for an encrypted database"
    );
    assert_eq!(sha(&path), db_sha);

    // A key is never replaced by saving another.
    std::fs::write(keys.path(), DbKey::random().expect("other").to_hex()).expect("write");
    assert!(keys.save(&key).is_err(), "an existing key is not replaced");
    let err = Store::open(&path).expect_err("wrong key");
    assert!(matches!(err, StoreError::Key { .. }), "{err}");
    assert!(err.to_string().contains("does not open"), "{err}");
    assert_eq!(sha(&path), db_sha);

    std::fs::remove_file(keys.path()).expect("remove the wrong key");
    keys.save(&key).expect("restore the key");
    drop(Store::open(&path).expect("opens again"));
}

#[test]
fn committed_frames_left_in_the_plain_log_are_encrypted_with_the_rest() {
    let dir = tempfile::tempdir().expect("dir");
    let path = plain_copy(dir.path());
    // An earlier release killed with its last writes still in the write-ahead log.
    let app = rusqlite::Connection::open(&path).expect("plain open");
    app.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
         INSERT INTO device_meta (key, value) VALUES ('last-write', '最后一笔');",
    )
    .expect("write");
    let wal = dir.path().join("gridwalk.db-wal");
    assert!(
        std::fs::metadata(&wal).expect("wal").len() > 0,
        "frames in the log"
    );
    let before = content(&app);
    std::mem::forget(app);

    drop(Store::open(&path).expect("open migrates"));
    assert!(!is_plain(&path).expect("read"));
    let after = content(&open_raw(&path).expect("keyed open"));
    assert_eq!(before, after, "the logged write is kept");
}

#[test]
fn a_database_another_program_is_reading_is_left_plain_and_untouched() {
    let dir = tempfile::tempdir().expect("dir");
    let path = plain_copy(dir.path());
    let other = rusqlite::Connection::open(&path).expect("plain open");
    other
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             INSERT INTO device_meta (key, value) VALUES ('other', 'x');
             BEGIN; SELECT count(*) FROM enterprise;",
        )
        .expect("a reader");
    let err = Store::open(&path).expect_err("busy");
    assert!(matches!(err, StoreError::Key { .. }), "{err}");
    assert!(err.to_string().contains("another program"), "{err}");
    assert!(is_plain(&path).expect("read"), "left plain");
    other.execute_batch("COMMIT;").expect("end the read");
    drop(other);
    drop(Store::open(&path).expect("opens once the other program is gone"));
    assert!(!is_plain(&path).expect("read"));
}

#[test]
fn openers_at_once_make_one_key_and_encrypt_once() {
    let dir = tempfile::tempdir().expect("dir");
    let path = plain_copy(dir.path());
    let before = content(&rusqlite::Connection::open(&path).expect("plain open"));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || Store::open(&path).map(drop))
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("every opener succeeds");
    }
    assert!(!is_plain(&path).expect("read"));
    assert_eq!(content(&open_raw(&path).expect("keyed open")), before);
    // And a fresh database opened at once by several.
    let fresh = dir.path().join("fresh.db");
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let fresh = fresh.clone();
            std::thread::spawn(move || Store::open(&fresh).map(drop))
        })
        .collect();
    for t in threads {
        t.join().expect("thread").expect("every opener succeeds");
    }
    drop(open_raw(&fresh).expect("one key opens it"));
}
