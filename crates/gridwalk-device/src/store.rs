//! The device database: one SQLite file, WAL journal, foreign keys on, `synchronous =
//! FULL` so that a write is on disk when the call that made it returns.

use crate::error::StoreError;
use crate::migrations;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An open device database.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// In-memory copy of the search table for short queries, built on first use.
    pub(crate) short_index: std::cell::RefCell<Option<crate::short_index::ShortIndex>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date,
    /// its key in the [`crate::db_key::default_key_store`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Self::open_at_version(path, migrations::latest_version())
    }

    /// Opens the database and migrates it only up to `version`: for tests of upgrade paths.
    pub fn open_at_version(path: impl AsRef<Path>, version: i64) -> Result<Store, StoreError> {
        let keys = crate::db_key::default_key_store(path.as_ref());
        Self::open_with_keys(path, version, keys.as_ref())
    }

    /// Opens the database encrypted with the key `keys` holds (made there the first
    /// time; a plain database of an earlier release is encrypted in place first), and
    /// migrates it up to `version`.
    pub fn open_with_keys(
        path: impl AsRef<Path>,
        version: i64,
        keys: &dyn crate::db_key::KeyStore,
    ) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = crate::db_key::open_lock(&path)?;
        let key = crate::db_key::prepare(&path, keys)?;
        let mut conn = open_keyed(&path, &key)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate_to(&mut conn, version)?;
        let store = Store {
            conn,
            path,
            short_index: Default::default(),
        };
        if version >= 2 {
            store.ensure_search_index()?;
        }
        if version >= 3 {
            crate::evidence::ensure_device_id(&store.conn)?;
        }
        if version >= 4 {
            store
                .ensure_builtin_templates()
                .map_err(|e| StoreError::Corrupt {
                    table: "checklist_template",
                    column: "content",
                    detail: format!("loading the shipped templates: {e}"),
                })?;
        }
        // Held through the migrations too: two openers of a new database do not both
        // create its tables.
        drop(lock);
        Ok(store)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Current schema version.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::current_version(&self.conn)
    }

    /// Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check`; returns the problems found.
    pub fn check_integrity(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            let row = row?;
            if row != "ok" {
                problems.push(row);
            }
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let rows = stmt.query_map([], |r| {
            Ok(format!(
                "foreign key violation in {} row {}",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?
            ))
        })?;
        for row in rows {
            problems.push(row?);
        }
        Ok(problems)
    }

    /// Direct access to the connection for the crate's own modules and tests.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// A bare connection to the encrypted database at `path` with the key of its
/// [`crate::db_key::default_key_store`]: no migration, no settings. For tools and tests
/// that read or alter the file directly.
pub fn open_raw(path: impl AsRef<Path>) -> Result<Connection, StoreError> {
    let path = path.as_ref();
    let keys = crate::db_key::default_key_store(path);
    let key = keys
        .load()
        .map_err(|detail| StoreError::Key {
            path: path.to_path_buf(),
            detail,
        })?
        .ok_or_else(|| StoreError::Key {
            path: path.to_path_buf(),
            detail: format!("no key in {}", keys.describe()),
        })?;
    open_keyed(path, &key)
}

/// Opens the encrypted database at `path` with `key` and proves the key reads it.
fn open_keyed(path: &Path, key: &crate::db_key::DbKey) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    // Before the first read: another program closing its last connection holds the file
    // while it checkpoints, and a read then must wait, not fail with "database is locked".
    conn.busy_timeout(Duration::from_secs(10))?;
    // Every transaction takes the write lock when it begins: a deferred one that reads
    // first (the evidence chain's last link) and writes after cannot wait for another
    // writer and would fail at once ("database is locked") if the sync loop wrote between.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    key.apply(&conn)?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {
            crate::db_key::DbKey::tune(&conn)?;
            Ok(conn)
        }
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            Err(StoreError::Key {
                path: path.to_path_buf(),
                detail: "the key does not open this database (another phone's key, or not a GridWalk database)".into(),
            })
        }
        Err(source) => Err(StoreError::Open {
            path: path.to_path_buf(),
            source,
        }),
    }
}

// ---- device_meta: one key, one text value (settings, sync state)

/// The `device_meta` value of `key`, if set.
pub(crate) fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM device_meta WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Sets (inserts or replaces) the `device_meta` value of `key`.
pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO device_meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// Removes `key` from `device_meta`.
pub(crate) fn delete_meta(conn: &Connection, key: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM device_meta WHERE key = ?1", [key])?;
    Ok(())
}
