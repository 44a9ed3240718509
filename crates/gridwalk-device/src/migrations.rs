//! Numbered SQL migrations from `migrations/device/`, applied on open.
//!
//! The schema version lives in `PRAGMA user_version`. Each migration runs in its own
//! transaction together with the version bump, so a crash leaves the database at the
//! previous version, never half-migrated. Migrations are append-only: never edit one
//! that has shipped, add the next number.

use crate::error::StoreError;
use rusqlite::Connection;

/// One migration: its version (the file's number), name and SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// All device migrations, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "register",
        sql: include_str!("../../../migrations/device/0001_register.sql"),
    },
    Migration {
        version: 2,
        name: "search",
        sql: include_str!("../../../migrations/device/0002_search.sql"),
    },
    Migration {
        version: 3,
        name: "evidence",
        sql: include_str!("../../../migrations/device/0003_evidence.sql"),
    },
    Migration {
        version: 4,
        name: "inspections",
        sql: include_str!("../../../migrations/device/0004_inspections.sql"),
    },
    Migration {
        version: 5,
        name: "signatures",
        sql: include_str!("../../../migrations/device/0005_signatures.sql"),
    },
    Migration {
        version: 6,
        name: "sync",
        sql: include_str!("../../../migrations/device/0006_sync.sql"),
    },
    Migration {
        version: 7,
        name: "pulled_hazards",
        sql: include_str!("../../../migrations/device/0007_pulled_hazards.sql"),
    },
    Migration {
        version: 8,
        name: "chain_time",
        sql: include_str!("../../../migrations/device/0008_chain_time.sql"),
    },
    Migration {
        version: 9,
        name: "reconcile",
        sql: include_str!("../../../migrations/device/0009_reconcile.sql"),
    },
    Migration {
        version: 10,
        name: "campaigns",
        sql: include_str!("../../../migrations/device/0010_campaigns.sql"),
    },
    Migration {
        version: 11,
        name: "assignments_reviews",
        sql: include_str!("../../../migrations/device/0011_assignments_reviews.sql"),
    },
    Migration {
        version: 12,
        name: "remote_confirmations",
        sql: include_str!("../../../migrations/device/0012_remote_confirmations.sql"),
    },
    Migration {
        version: 13,
        name: "phone_leases",
        sql: include_str!("../../../migrations/device/0013_phone_leases.sql"),
    },
    Migration {
        version: 14,
        name: "suspected",
        sql: include_str!("../../../migrations/device/0014_suspected.sql"),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Current schema version of a database.
pub fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies every migration above the current version, up to `target`.
/// Refuses a database whose version is above what this build knows.
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<i64, StoreError> {
    let found = current_version(conn)?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > found && m.version <= target)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)
            .and_then(|_| tx.pragma_update(None, "user_version", m.version))
            .map_err(|source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            })?;
        tx.commit()?;
    }
    current_version(conn)
}
