//! The storage seam: one [`Backend`] trait with two implementations, embedded SQLite
//! ([`SqliteBackend`]) and PostgreSQL ([`PgBackend`]). Business logic (`store.rs`)
//! is written once over [`Tx`]; SQL uses `$1`-style placeholders and portable
//! statements, and only the migrations differ by dialect.

use crate::error::StoreError;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A value bound to or read from SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Text(s.clone())
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(o: Option<T>) -> Val {
        o.map_or(Val::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Val>);

impl Row {
    /// Text at column `i` (`None` for NULL).
    pub fn text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.0.get(i) {
            Some(Val::Text(s)) => Ok(Some(s.clone())),
            Some(Val::Null) => Ok(None),
            Some(Val::Int(n)) => Ok(Some(n.to_string())),
            None => Err(DbError::Decode(format!("no column {i}"))),
        }
    }
    /// Non-null text at column `i`.
    pub fn str(&self, i: usize) -> Result<String, DbError> {
        self.text(i)?
            .ok_or_else(|| DbError::Decode(format!("column {i} is NULL")))
    }
    /// Integer at column `i` (`None` for NULL).
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.0.get(i) {
            Some(Val::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    /// Integer at column `i`.
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        match self.0.get(i) {
            Some(Val::Int(n)) => Ok(*n),
            other => Err(DbError::Decode(format!(
                "column {i} is {other:?}, not an integer"
            ))),
        }
    }
}

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    /// The database server cannot be reached (connecting failed).
    #[error("postgres unreachable: {0}")]
    Unreachable(postgres::Error),
    #[error("cannot decode a row: {0}")]
    Decode(String),
    #[error("database schema version {found} is newer than this server knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("database connection lock poisoned")]
    Poisoned,
    /// Every pooled connection stayed busy for this long.
    #[error("no database connection became free within {0:?}")]
    PoolTimeout(std::time::Duration),
    /// The WAL checkpoint thread could not be started.
    #[error("cannot start the WAL checkpoint thread: {0}")]
    Thread(std::io::Error),
    /// A statement was built wrong by the caller (a bug, not bad input).
    #[error("statement built wrong: {0}")]
    Mismatch(String),
}

impl DbError {
    /// The database connection is gone or could not be made, or none became free in
    /// time (a transient failure: the client should retry; the next transaction connects
    /// again).
    pub fn is_connection_lost(&self) -> bool {
        match self {
            DbError::Unreachable(_) | DbError::PoolTimeout(_) => true,
            DbError::Postgres(e) => {
                e.is_closed()
                    || e.code().is_some_and(|c| {
                        let c = c.code();
                        // 08: connection exception; 57P01–57P03: shutdown, crash, cannot connect now.
                        c.starts_with("08") || c.starts_with("57P0")
                    })
            }
            _ => false,
        }
    }

    /// PostgreSQL rolled the transaction back as a deadlock victim or for a
    /// serialization failure: running it again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DbError::Postgres(e) if is_retryable_code(e))
    }
}

/// SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Statements inside one transaction.
pub trait Tx {
    /// Runs a statement; returns rows affected.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError>;
    /// Runs a query; returns every row.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError>;
    /// The first row, if any.
    fn query_opt(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    /// Runs a query and hands each row to `f` as it is read, holding no more than one
    /// (the ledgers of 100,000 rows); stops at the first error of `f`. No other
    /// statement may run on this transaction until it returns.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for row in self.query(sql, params)? {
            f(row)?;
        }
        Ok(())
    }
}

/// A database the server can run on.
pub trait Backend: Send + Sync {
    /// Which dialect (only migrations differ).
    fn dialect(&self) -> Dialect;
    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    /// `f` may run more than once (PostgreSQL runs a transaction it aborted as a deadlock
    /// victim again), so it must keep its effects inside the transaction.
    fn transact(&self, f: TxFn<'_>) -> Result<(), StoreError>;
    /// What was sent to the database so far, where the backend counts it (PostgreSQL).
    fn stats(&self) -> Option<DbStats> {
        None
    }
}

/// The body of a transaction.
pub type TxFn<'a> = &'a mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>;

/// Migrations per dialect, in order: `(version, sql)`.
pub(crate) fn migrations(dialect: Dialect) -> &'static [(i64, &'static str)] {
    match dialect {
        Dialect::Sqlite => &[
            (
                1,
                include_str!("../../../migrations/server/sqlite/0001_init.sql"),
            ),
            (
                2,
                include_str!("../../../migrations/server/sqlite/0002_record_holder.sql"),
            ),
            (
                3,
                include_str!("../../../migrations/server/sqlite/0003_device_trust.sql"),
            ),
            (
                4,
                include_str!("../../../migrations/server/sqlite/0004_chain_anchor.sql"),
            ),
            (
                5,
                include_str!("../../../migrations/server/sqlite/0005_reconcile.sql"),
            ),
            (
                6,
                include_str!("../../../migrations/server/sqlite/0006_projections.sql"),
            ),
            (
                7,
                include_str!("../../../migrations/server/sqlite/0007_campaigns.sql"),
            ),
            (
                8,
                include_str!("../../../migrations/server/sqlite/0008_campaign_work.sql"),
            ),
            (
                9,
                include_str!("../../../migrations/server/sqlite/0009_enterprise_facts.sql"),
            ),
            (
                10,
                include_str!("../../../migrations/server/sqlite/0010_officer_hardening.sql"),
            ),
            (
                11,
                include_str!("../../../migrations/server/sqlite/0011_console_sessions.sql"),
            ),
            (
                12,
                include_str!("../../../migrations/server/sqlite/0012_console_indexes.sql"),
            ),
            (
                13,
                include_str!("../../../migrations/server/sqlite/0013_record_hash.sql"),
            ),
            (
                14,
                include_str!("../../../migrations/server/sqlite/0014_tips.sql"),
            ),
            (
                15,
                include_str!("../../../migrations/server/sqlite/0015_leases.sql"),
            ),
            (
                16,
                include_str!("../../../migrations/server/sqlite/0016_fact_outcome.sql"),
            ),
            (
                17,
                include_str!("../../../migrations/server/sqlite/0017_phone_leases.sql"),
            ),
            (
                18,
                include_str!("../../../migrations/server/sqlite/0018_lease_site_index.sql"),
            ),
            (
                19,
                include_str!("../../../migrations/server/sqlite/0019_audit_log.sql"),
            ),
            (
                20,
                include_str!("../../../migrations/server/sqlite/0020_user_disabled.sql"),
            ),
            (
                21,
                include_str!("../../../migrations/server/sqlite/0021_upload_parts.sql"),
            ),
            (
                22,
                include_str!("../../../migrations/server/sqlite/0022_suspected_enterprise.sql"),
            ),
            (
                23,
                include_str!("../../../migrations/server/sqlite/0023_record_photo_evidence.sql"),
            ),
            (
                24,
                include_str!("../../../migrations/server/sqlite/0024_inspection_payload_hash.sql"),
            ),
            (
                25,
                include_str!("../../../migrations/server/sqlite/0025_drop_record_kind.sql"),
            ),
        ],
        Dialect::Postgres => &[
            (
                1,
                include_str!("../../../migrations/server/postgres/0001_init.sql"),
            ),
            (
                2,
                include_str!("../../../migrations/server/postgres/0002_record_holder.sql"),
            ),
            (
                3,
                include_str!("../../../migrations/server/postgres/0003_device_trust.sql"),
            ),
            (
                4,
                include_str!("../../../migrations/server/postgres/0004_chain_anchor.sql"),
            ),
            (
                5,
                include_str!("../../../migrations/server/postgres/0005_reconcile.sql"),
            ),
            (
                6,
                include_str!("../../../migrations/server/postgres/0006_projections.sql"),
            ),
            (
                7,
                include_str!("../../../migrations/server/postgres/0007_campaigns.sql"),
            ),
            (
                8,
                include_str!("../../../migrations/server/postgres/0008_campaign_work.sql"),
            ),
            (
                9,
                include_str!("../../../migrations/server/postgres/0009_enterprise_facts.sql"),
            ),
            (
                10,
                include_str!("../../../migrations/server/postgres/0010_officer_hardening.sql"),
            ),
            (
                11,
                include_str!("../../../migrations/server/postgres/0011_console_sessions.sql"),
            ),
            (
                12,
                include_str!("../../../migrations/server/postgres/0012_console_indexes.sql"),
            ),
            (
                13,
                include_str!("../../../migrations/server/postgres/0013_record_hash.sql"),
            ),
            (
                14,
                include_str!("../../../migrations/server/postgres/0014_tips.sql"),
            ),
            (
                15,
                include_str!("../../../migrations/server/postgres/0015_leases.sql"),
            ),
            (
                16,
                include_str!("../../../migrations/server/postgres/0016_fact_outcome.sql"),
            ),
            (
                17,
                include_str!("../../../migrations/server/postgres/0017_phone_leases.sql"),
            ),
            (
                18,
                include_str!("../../../migrations/server/postgres/0018_lease_site_index.sql"),
            ),
            (
                19,
                include_str!("../../../migrations/server/postgres/0019_audit_log.sql"),
            ),
            (
                20,
                include_str!("../../../migrations/server/postgres/0020_user_disabled.sql"),
            ),
            (
                21,
                include_str!("../../../migrations/server/postgres/0021_upload_parts.sql"),
            ),
            (
                22,
                include_str!("../../../migrations/server/postgres/0022_suspected_enterprise.sql"),
            ),
            (
                23,
                include_str!("../../../migrations/server/postgres/0023_record_photo_evidence.sql"),
            ),
            (
                24,
                include_str!(
                    "../../../migrations/server/postgres/0024_inspection_payload_hash.sql"
                ),
            ),
            (
                25,
                include_str!("../../../migrations/server/postgres/0025_drop_record_kind.sql"),
            ),
        ],
    }
}

/// Highest migration version this build knows.
pub fn known_version() -> i64 {
    migrations(Dialect::Sqlite).last().map_or(0, |m| m.0)
}

/// The rows of `{select} IN (…)` for every value of `values`, asked
/// [`INSERT_ROWS_AT_ONCE`] values per statement: one lookup for a batch's worth of keys
/// instead of one per key (on PostgreSQL each statement is a round trip). `select`
/// ends with the column compared and may use `fixed` as `$1`, `$2`, …; the list's
/// parameters follow them. The rows of the chunks are concatenated.
pub(crate) fn query_in(
    t: &mut dyn Tx,
    select: &str,
    fixed: &[Val],
    values: &[String],
) -> Result<Vec<Row>, DbError> {
    let mut out = Vec::new();
    for chunk in values.chunks(INSERT_ROWS_AT_ONCE) {
        let list = (fixed.len() + 1..=fixed.len() + chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut params = fixed.to_vec();
        params.extend(chunk.iter().map(|v| Val::from(v.as_str())));
        out.extend(t.query(&format!("{select} IN ({list})"), &params)?);
    }
    Ok(out)
}

/// Rows inserted together: `insert` (`INSERT INTO t (a, b, …)`), then `VALUES` with
/// one parenthesised group per row, then `tail` (an `ON CONFLICT` clause or nothing);
/// [`INSERT_ROWS_AT_ONCE`] rows per statement. One statement for a record's photos or a
/// push's sequence positions instead of one per row: on PostgreSQL each is a round
/// trip. Every row has the same number of values.
pub(crate) fn insert_rows(
    t: &mut dyn Tx,
    insert: &str,
    rows: Vec<Vec<Val>>,
    tail: &str,
) -> Result<(), DbError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(INSERT_ROWS_AT_ONCE).collect();
        let width = chunk.first().map_or(0, Vec::len);
        let mut sql = format!("{insert} VALUES ");
        for (i, row) in chunk.iter().enumerate() {
            if row.len() != width {
                return Err(DbError::Mismatch(format!(
                    "insert_rows: a row of {} values among rows of {width}",
                    row.len()
                )));
            }
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for k in 0..width {
                if k > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", i * width + k + 1));
            }
            sql.push(')');
        }
        if !tail.is_empty() {
            sql.push(' ');
            sql.push_str(tail);
        }
        let params: Vec<Val> = chunk.into_iter().flatten().collect();
        t.exec(&sql, &params)?;
    }
    Ok(())
}

/// Rows per statement in [`insert_rows`] (a push's 500 positions take 5 statements;
/// 600 parameters stay far under SQLite's and PostgreSQL's limits).
const INSERT_ROWS_AT_ONCE: usize = 100;

pub(crate) fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

// ---------------------------------------------------------------- SQLite

/// Embedded SQLite (WAL, `synchronous=FULL`, busy timeout so admin commands and the
/// server share the file safely). The WAL is checkpointed by a thread of its own after
/// each commit, so a request does not wait for pages to be copied into the database.
pub struct SqliteBackend {
    conn: Mutex<rusqlite::Connection>,
    checkpointer: Option<Checkpointer>,
}

/// WAL pages after which a commit checkpoints by itself, in case the checkpoint thread
/// falls behind (SQLite's default is 1,000; the thread normally keeps the WAL shorter).
const BACKSTOP_CHECKPOINT_PAGES: i64 = 8192;

/// How long the checkpoint thread lets commits gather after the first one wakes it.
/// At ingest rates the WAL then holds a few thousand pages at most, under the backstop.
const CHECKPOINT_GATHER: std::time::Duration = std::time::Duration::from_millis(50);

/// Page cache of each connection, KiB (SQLite's default is 2 MiB: a push of 500 records
/// spilled dirty pages to the WAL before its commit and read back pages it had evicted).
const CACHE_KIB: i64 = 65_536;

/// The thread that checkpoints the WAL (`PRAGMA wal_checkpoint(PASSIVE)`) on its own
/// connection after commits: passive, so it never holds up a writer or a reader.
struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, DbError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // One wake-up pending at most: commits while a checkpoint runs share the next.
        let (wake, asleep) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while asleep.recv().is_ok() {
                    // Commits in the next moment share this checkpoint: a page that
                    // several of them wrote (an index leaf, the device row) is copied
                    // into the database once, not after each.
                    std::thread::sleep(CHECKPOINT_GATHER);
                    while asleep.try_recv().is_ok() {}
                    if let Err(e) =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "WAL checkpoint failed; the next commit retries");
                    }
                }
            })
            .map_err(DbError::Thread)?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint (at once if none runs, else right after the one running).
    fn wake(&self) {
        if let Some(w) = &self.wake {
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; its connection closes with it.
        self.wake.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl SqliteBackend {
    /// Opens (creating) the database and applies migrations.
    pub fn open(path: &Path) -> Result<SqliteBackend, DbError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The push path alone runs a few dozen distinct statements: with rusqlite's
        // default cache of 16 they were prepared again on every record.
        conn.set_prepared_statement_cache_capacity(256);
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        let mut backend = SqliteBackend {
            conn: Mutex::new(conn),
            checkpointer: None,
        };
        backend.migrate()?;
        // Checkpoints move to their own thread once the schema is in place; commits
        // still checkpoint by themselves past the backstop.
        backend.checkpointer = Some(Checkpointer::start(path)?);
        backend
            .conn
            .get_mut()
            .map_err(|_| DbError::Poisoned)?
            .pragma_update(None, "wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES)?;
        Ok(backend)
    }

    fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.conn.lock().map_err(|_| DbError::Poisoned)?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current > known_version() {
            return Err(DbError::TooNew {
                found: current,
                known: known_version(),
            });
        }
        for (v, sql) in migrations(Dialect::Sqlite) {
            if *v > current {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", v)?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

struct SqliteTx<'a>(&'a rusqlite::Transaction<'a>);

/// Bound by reference: a payload is not copied again to be bound.
impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Val::Null => ValueRef::Null,
            Val::Int(i) => ValueRef::Integer(*i),
            Val::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(&sqlite_sql(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.0.prepare_cached(&sqlite_sql(sql))?;
        let n = stmt.column_count();
        let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| from_sqlite(r, n))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(&sqlite_sql(sql))
            .map_err(DbError::from)?;
        let n = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(DbError::from)?;
        while let Some(r) = rows.next().map_err(DbError::from)? {
            f(from_sqlite(r, n).map_err(DbError::from)?)?;
        }
        Ok(())
    }
}

fn from_sqlite(r: &rusqlite::Row<'_>, n: usize) -> Result<Row, rusqlite::Error> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match r.get_ref(i)? {
            rusqlite::types::ValueRef::Null => Val::Null,
            rusqlite::types::ValueRef::Integer(i) => Val::Int(i),
            rusqlite::types::ValueRef::Real(f) => Val::Text(f.to_string()),
            rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                Val::Text(String::from_utf8_lossy(t).into_owned())
            }
        });
    }
    Ok(Row(out))
}

impl Backend for SqliteBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn transact(&self, f: TxFn<'_>) -> Result<(), StoreError> {
        // A request that panicked mid-transaction dropped (rolled back) its transaction,
        // so the connection is usable: go on instead of refusing every later request.
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| {
            self.conn.clear_poison();
            poisoned.into_inner()
        });
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(DbError::from)?;
        let result = f(&mut SqliteTx(&tx));
        match result {
            Ok(()) => {
                tx.commit().map_err(|e| StoreError::Db(e.into()))?;
                if let Some(c) = &self.checkpointer {
                    c.wake();
                }
                Ok(())
            }
            Err(e) => {
                // Dropping the transaction rolls it back.
                drop(tx);
                Err(e)
            }
        }
    }
}

// ---------------------------------------------------------------- PostgreSQL

/// Connections a [`PgBackend`] keeps open at most unless told otherwise
/// (`serve --db-pool-size`).
pub const DEFAULT_POOL_SIZE: usize = 10;

/// How long a transaction waits for a free connection when all are busy before it is
/// answered `503 unavailable` (the device retries).
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Times a transaction that PostgreSQL aborted as a deadlock victim or a serialization
/// failure (40P01, 40001) is run again before the error is returned.
const MAX_TX_ATTEMPTS: u32 = 5;

/// PostgreSQL through the synchronous `postgres` client, on a pool of connections used
/// from blocking threads (`AppState::run` runs each store call with `spawn_blocking`).
///
/// Up to `pool_size` transactions run at once, each on a connection of its own;
/// connections are opened when needed and kept. Each connection prepares a statement
/// once and caches it (a statement sent as text would be parsed and planned on every
/// call, an extra round trip each). A connection that PostgreSQL dropped (restart,
/// failover, an administrator's `pg_terminate_backend`) is noticed at BEGIN and replaced,
/// with every idle one (they went with it): a server outlives its database's restarts
/// instead of answering 503 until restarted. A transaction chosen as a deadlock victim
/// (or failing serialization) is rolled back and run again.
pub struct PgBackend {
    url: String,
    size: usize,
    pool: Mutex<PoolState>,
    /// Signalled when a connection is returned or closed.
    freed: std::sync::Condvar,
    stats: PgStats,
}

/// What the backend sent PostgreSQL since it started (for profiling the cost per record).
#[derive(Debug, Default)]
struct PgStats {
    transactions: AtomicU64,
    statements: AtomicU64,
    prepared: AtomicU64,
}

/// Counts of what a backend sent its database since it started: each a round trip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Transactions begun (each also a BEGIN and a COMMIT or ROLLBACK).
    pub transactions: u64,
    /// Statements run inside them.
    pub statements: u64,
    /// Statements prepared (the first use of each on a connection).
    pub prepared: u64,
}

/// The pool's connections that are not in use, and how many are open in all.
struct PoolState {
    idle: Vec<PgConn>,
    open: usize,
}

/// A connection and the statements prepared on it.
struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

impl PgConn {
    /// Connects with bounds on every wait: a database that does not answer, or a
    /// connection left half-open by a failover, fails within about a minute instead of
    /// holding a request for the kernel's TCP timeout. Settings given in the URL win.
    fn connect(url: &str) -> Result<PgConn, DbError> {
        let mut config: postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(std::time::Duration::from_secs(60));
        }
        config
            .keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(30));
        let mut client = config
            .connect(postgres::NoTls)
            .map_err(DbError::Unreachable)?;
        // Statements stay prepared per connection, but each execution is planned for
        // the tables as they are then. A generic plan is kept from the moment it was
        // made: one made while `record` was small joined a photo's evidence record by
        // reading the whole table, and kept doing so as the table grew (docs/server.md).
        client.batch_execute("SET plan_cache_mode = force_custom_plan")?;
        Ok(PgConn {
            client,
            statements: HashMap::new(),
        })
    }
}

/// Closes a client on a plain thread: the client closes its connection by blocking on
/// its own runtime, which panics on an async thread.
fn close_on_plain_thread(conns: Vec<PgConn>) {
    if !conns.is_empty() {
        let _ = std::thread::spawn(move || drop(conns)).join();
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        let state = self
            .pool
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        close_on_plain_thread(std::mem::take(&mut state.idle));
    }
}

/// A connection taken from the pool; returned to it when dropped, or closed when it is
/// broken or a panic unwinds through the transaction (its state is then unknown).
struct Lease<'a> {
    backend: &'a PgBackend,
    conn: Option<PgConn>,
}

impl Lease<'_> {
    fn conn(&mut self) -> Result<&mut PgConn, DbError> {
        self.conn.as_mut().ok_or(DbError::Poisoned)
    }

    /// Closes this connection and every idle one, and opens a new one in its place.
    fn replace(&mut self) -> Result<(), DbError> {
        let mut dead: Vec<PgConn> = self.conn.take().into_iter().collect();
        {
            let mut state = self.backend.lock();
            state.open -= state.idle.len();
            dead.append(&mut state.idle);
            // This lease's slot stays counted: it is being refilled.
        }
        self.backend.freed.notify_all();
        close_on_plain_thread(dead);
        match PgConn::connect(&self.backend.url) {
            Ok(c) => {
                self.conn = Some(c);
                Ok(())
            }
            Err(e) => Err(e), // the slot is released when the lease drops
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            self.backend.lock().open -= 1;
            self.backend.freed.notify_one();
            return;
        };
        if std::thread::panicking() || conn.client.is_closed() {
            self.backend.lock().open -= 1;
            self.backend.freed.notify_one();
            close_on_plain_thread(vec![conn]);
        } else {
            self.backend.lock().idle.push(conn);
            self.backend.freed.notify_one();
        }
    }
}

impl PgBackend {
    /// Connects (`postgres://…`) with a pool of [`DEFAULT_POOL_SIZE`] and applies
    /// migrations.
    pub fn connect(url: &str) -> Result<PgBackend, DbError> {
        PgBackend::connect_pool(url, DEFAULT_POOL_SIZE)
    }

    /// Connects with a pool of up to `size` connections (at least one) and applies
    /// migrations.
    pub fn connect_pool(url: &str, size: usize) -> Result<PgBackend, DbError> {
        let backend = PgBackend {
            url: url.to_string(),
            size: size.max(1),
            pool: Mutex::new(PoolState {
                idle: vec![PgConn::connect(url)?],
                open: 1,
            }),
            freed: std::sync::Condvar::new(),
            stats: PgStats::default(),
        };
        backend.migrate()?;
        Ok(backend)
    }

    /// Connections the pool keeps open at most.
    pub fn pool_size(&self) -> usize {
        self.size
    }

    /// The pool's state; a panic while it was held cannot leave it half-changed (every
    /// change is one assignment), so a poisoned lock is taken over.
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.pool.lock().unwrap_or_else(|poisoned| {
            self.pool.clear_poison();
            poisoned.into_inner()
        })
    }

    /// An idle connection, a new one if fewer than `size` are open, or the first one
    /// returned within [`POOL_WAIT`].
    fn checkout(&self) -> Result<Lease<'_>, DbError> {
        let deadline = std::time::Instant::now() + POOL_WAIT;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    // Known to be gone (its socket closed while idle): not worth a BEGIN.
                    state.open -= 1;
                    drop(state);
                    close_on_plain_thread(vec![conn]);
                    state = self.lock();
                    continue;
                }
                return Ok(Lease {
                    backend: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                let mut lease = Lease {
                    backend: self,
                    conn: None,
                };
                lease.conn = Some(PgConn::connect(&self.url)?);
                return Ok(lease);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(DbError::PoolTimeout(POOL_WAIT));
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    fn migrate(&self) -> Result<(), DbError> {
        let mut lease = self.checkout()?;
        let conn = lease.conn()?;
        let mut tx = conn.client.transaction()?;
        // Serialises concurrent migrators (server and an admin command).
        tx.execute("SELECT pg_advisory_xact_lock(7262001)", &[])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
        let current: i64 = tx
            .query_opt("SELECT max(version) FROM schema_version", &[])?
            .and_then(|r| r.get::<_, Option<i64>>(0))
            .unwrap_or(0);
        if current > known_version() {
            return Err(DbError::TooNew {
                found: current,
                known: known_version(),
            });
        }
        for (v, sql) in migrations(Dialect::Postgres) {
            if *v > current {
                tx.batch_execute(sql)?;
                tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[v])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

struct PgTx<'a, 'b> {
    tx: postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, postgres::Statement>,
    stats: &'a PgStats,
}

impl PgTx<'_, '_> {
    /// The statement for `sql`, prepared on first use on this connection.
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.tx.prepare(sql)?;
        self.stats.prepared.fetch_add(1, Ordering::Relaxed);
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

#[derive(Debug)]
struct PgVal<'a>(&'a Val);

impl postgres::types::ToSql for PgVal<'_> {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::Type;
        match self.0 {
            Val::Null => Ok(postgres::types::IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                _ => s.to_sql(ty, out),
            },
        }
    }

    fn accepts(_ty: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn from_pg(row: &postgres::Row) -> Result<Row, DbError> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Val::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|n| Val::Int(n.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|n| Val::Int(n.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|b| Val::Int(b.into())),
            _ => row.try_get::<_, Option<String>>(i)?.map(Val::Text),
        };
        out.push(v.unwrap_or(Val::Null));
    }
    Ok(Row(out))
}

impl Tx for PgTx<'_, '_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let st = self.statement(sql)?;
        self.stats.statements.fetch_add(1, Ordering::Relaxed);
        let p: Vec<PgVal> = params.iter().map(PgVal).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = p
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        Ok(self.tx.execute(&st, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        let st = self.statement(sql)?;
        self.stats.statements.fetch_add(1, Ordering::Relaxed);
        let p: Vec<PgVal> = params.iter().map(PgVal).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = p
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        self.tx.query(&st, &refs)?.iter().map(from_pg).collect()
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let st = self.statement(sql)?;
        self.stats.statements.fetch_add(1, Ordering::Relaxed);
        let p: Vec<PgVal> = params.iter().map(PgVal).collect();
        // Rows are decoded as they arrive from the socket, not gathered first.
        let mut rows = self.tx.query_raw(&st, p.iter()).map_err(DbError::from)?;
        while let Some(r) = rows.next().map_err(DbError::from)? {
            f(from_pg(&r)?)?;
        }
        Ok(())
    }
}

impl Backend for PgBackend {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn stats(&self) -> Option<DbStats> {
        Some(DbStats {
            transactions: self.stats.transactions.load(Ordering::Relaxed),
            statements: self.stats.statements.load(Ordering::Relaxed),
            prepared: self.stats.prepared.load(Ordering::Relaxed),
        })
    }

    fn transact(&self, f: TxFn<'_>) -> Result<(), StoreError> {
        let mut lease = self.checkout()?;
        let mut attempt = 1;
        loop {
            let outcome = match run_transaction(lease.conn()?, &self.stats, f) {
                Err(TxFailure::Begin(e)) => {
                    // A connection PostgreSQL dropped is only noticed when used. BEGIN
                    // failed, so nothing of `f` has run: connect again and run it once more.
                    tracing::warn!(error = %e, "database connection lost; reconnecting");
                    lease.replace()?;
                    run_transaction(lease.conn()?, &self.stats, f)
                        .map_err(TxFailure::into_store_error)
                }
                other => other.map_err(TxFailure::into_store_error),
            };
            match outcome {
                Err(StoreError::Db(e)) if e.is_retryable() && attempt < MAX_TX_ATTEMPTS => {
                    // Rolled back whole: run the body again, after a short pause that
                    // grows, so the transactions that collided do not collide again.
                    tracing::info!(error = %e, attempt, "transaction aborted by the database; running it again");
                    std::thread::sleep(std::time::Duration::from_millis(
                        5 * u64::from(attempt) + rand::random::<u64>() % 10,
                    ));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// How a transaction on one connection failed.
enum TxFailure {
    /// BEGIN failed: the body never ran.
    Begin(postgres::Error),
    /// The body or COMMIT failed (rolled back).
    Body(StoreError),
}

impl TxFailure {
    fn into_store_error(self) -> StoreError {
        match self {
            TxFailure::Begin(e) => StoreError::Db(e.into()),
            TxFailure::Body(e) => e,
        }
    }
}

/// Runs `f` in one transaction on `conn`.
fn run_transaction(conn: &mut PgConn, stats: &PgStats, f: TxFn<'_>) -> Result<(), TxFailure> {
    let PgConn { client, statements } = conn;
    let tx = client.transaction().map_err(TxFailure::Begin)?;
    stats.transactions.fetch_add(1, Ordering::Relaxed);
    let mut pg = PgTx {
        tx,
        statements,
        stats,
    };
    let outcome = match f(&mut pg) {
        Ok(()) => pg.tx.commit().map_err(|e| StoreError::Db(e.into())),
        Err(e) => Err(e), // dropped = rolled back
    };
    if let Err(StoreError::Db(DbError::Postgres(e))) = &outcome {
        // A statement that failed on the database may be one whose cached plan no longer
        // fits (a schema changed under it): prepare afresh next time. A deadlock or a
        // serialization failure says nothing about plans.
        if !is_retryable_code(e) {
            conn.statements.clear();
        }
    }
    outcome.map_err(TxFailure::Body)
}

/// 40001 (serialization failure) or 40P01 (deadlock detected): the transaction was
/// rolled back whole and may be run again.
fn is_retryable_code(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
            || *c == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
    })
}
