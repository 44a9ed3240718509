//! `gridwalk-server backup --out FILE`: a consistent copy of the SQLite database, taken
//! while the server runs (docs/server.md "Backup and restore").
//!
//! SQLite's online backup API copies every page in one step inside one read
//! transaction: a WAL-mode writer is never held up, and the copy is the database as of
//! one commit (a multi-step copy would start over each time another connection wrote).
//! The copy is written beside the target as `FILE.partial`, checked
//! (`PRAGMA quick_check`), synced and only then renamed to `FILE`, so a backup cut short
//! never leaves a file that looks whole. PostgreSQL is backed up with `pg_dump`; this
//! command says so rather than guess at a dump.

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already; give a new file (a backup never overwrites one)")]
    Exists(PathBuf),
    #[error("the server's database {0} does not exist")]
    NoDatabase(PathBuf),
    #[error(
        "this server runs on PostgreSQL: back it up with pg_dump (pg_dump --format=custom \
         --file=FILE DATABASE_URL) and copy the blob store beside it; docs/server.md \
         \"Backup and restore\""
    )]
    Postgres,
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the copy failed its check: {0}")]
    Check(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let context = context.into();
    move |source| BackupError::Io { context, source }
}

/// What a backup wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupReport {
    /// The backup file.
    pub out: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its schema version (`PRAGMA user_version`).
    pub schema_version: i64,
    /// Records it holds.
    pub records: i64,
    /// Photos (verified blobs) it references; their files are not in the backup.
    pub photos: i64,
    /// How long the copy took, in milliseconds.
    pub millis: u128,
}

/// How long the backup waits for a lock another connection holds before each retry.
const BUSY_PAUSE: Duration = Duration::from_millis(50);

/// Copies the SQLite database at `database` to `out` (which must not exist).
pub fn backup_sqlite(database: &Path, out: &Path) -> Result<BackupReport, BackupError> {
    let start = Instant::now();
    if !database.exists() {
        return Err(BackupError::NoDatabase(database.to_path_buf()));
    }
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    let mut partial = out.as_os_str().to_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    // A partial file is what an earlier backup left when it was cut short.
    match std::fs::remove_file(&partial) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(format!("cannot remove {}", partial.display()))(e)),
    }
    let result = copy_and_check(database, &partial);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(io(format!("cannot rename to {}", out.display())))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename is durable once the directory is.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(format!("cannot sync {}", dir.display())))?;
    }
    let bytes = std::fs::metadata(out)
        .map_err(io(format!("cannot read {}", out.display())))?
        .len();
    Ok(BackupReport {
        out: out.to_path_buf(),
        bytes,
        millis: start.elapsed().as_millis(),
        ..report
    })
}

fn copy_and_check(database: &Path, partial: &Path) -> Result<BackupReport, BackupError> {
    let src = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(30))?;
    {
        let mut dst = Connection::open(partial)?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // Every page in one step: one read transaction, one commit's database.
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                rusqlite::backup::StepResult::Busy | rusqlite::backup::StepResult::Locked => {
                    std::thread::sleep(BUSY_PAUSE)
                }
                _ => std::thread::sleep(BUSY_PAUSE),
            }
        }
    }
    let copy = Connection::open(partial)?;
    // The copy is a database of its own: not in WAL mode, so it is one file.
    copy.pragma_update(None, "journal_mode", "DELETE")?;
    let check: String = copy.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(BackupError::Check(check));
    }
    let schema_version: i64 = copy.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let records: i64 = copy.query_row("SELECT count(*) FROM record", [], |r| r.get(0))?;
    let photos: i64 = copy.query_row("SELECT count(*) FROM blob", [], |r| r.get(0))?;
    drop(copy);
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("cannot sync {}", partial.display())))?;
    Ok(BackupReport {
        out: partial.to_path_buf(),
        bytes: 0,
        schema_version,
        records,
        photos,
        millis: 0,
    })
}
