//! Reconciliation on the phone (protocol 2, docs/sync-protocol.md "Reconciliation"): what
//! this phone believes the server holds of its sequence, as range digests, and what to
//! send again where the server's answer differs.
//!
//! [`Reconciler`] (gridwalk-protocol's, so the server's bench drives the same
//! algorithm) is pure: it builds requests from the phone's entries and reads the
//! server's answers; the engine does the HTTP and [`Store::resend_positions`] the
//! writes.

use crate::error::StoreError;
use crate::store::Store;
use gridwalk_protocol::{HeldEntry, HeldStatus};
use rusqlite::params;
use std::collections::BTreeSet;
use uuid::Uuid;

pub use gridwalk_protocol::reconcile::{Differences, Reconciler};

impl Store {
    /// What this phone believes the server holds of its sequence: every record the
    /// server acknowledged (accepted, complete) or refused, at its position.
    pub fn delivered_entries(&self) -> Result<Vec<HeldEntry>, StoreError> {
        self.sequence_entries(false)
    }

    /// Every record of this phone at its position, held, as the server should hold it
    /// once everything this phone finalized is delivered.
    pub fn expected_entries(&self) -> Result<Vec<HeldEntry>, StoreError> {
        self.sequence_entries(true)
    }

    fn sequence_entries(&self, all: bool) -> Result<Vec<HeldEntry>, StoreError> {
        let sql = format!(
            "SELECT s.wire_seq, c.record_id, c.payload_sha256, s.state FROM sync_record s \
             JOIN evidence_chain c ON c.seq = s.chain_seq {} ORDER BY s.wire_seq",
            if all {
                "WHERE s.wire_seq > 0"
            } else {
                "WHERE s.wire_seq > 0 AND s.state IN ('accepted', 'complete', 'rejected')"
            }
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, sha, state) = row?;
            let id = Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt {
                table: "evidence_chain",
                column: "record_id",
                detail: format!("{id:?}: {e}"),
            })?;
            out.push(HeldEntry {
                seq: seq.max(0) as u64,
                id,
                payload_sha256: sha,
                status: if state == "rejected" && !all {
                    HeldStatus::Rejected
                } else {
                    HeldStatus::Held
                },
            });
        }
        Ok(out)
    }

    /// Each record's outbox state and reason code, by position.
    pub(crate) fn outbox_states(
        &self,
    ) -> Result<std::collections::HashMap<u64, (String, Option<String>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT wire_seq, state, error_code FROM sync_record")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?.max(0) as u64,
                (r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The photo files this phone holds for the server, by SHA-256.
    pub(crate) fn outbox_photo_hashes(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT sha256 FROM sync_photo")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Queues again the records at these positions: the server does not hold them as this
    /// phone believed. Returns how many were queued.
    pub(crate) fn resend_positions(&self, positions: &BTreeSet<u64>) -> Result<usize, StoreError> {
        let tx = crate::inspection::begin(&self.conn)?;
        let now = super::now();
        let mut n = 0;
        for p in positions {
            n += tx.execute(
                "UPDATE sync_record SET state = 'queued', error_code = 'sync.reconciled', \
                 error_message = 'the server did not hold this record as this phone believed; sent again', \
                 updated_at = ?2 WHERE wire_seq = ?1 AND state IN ('accepted', 'complete', 'rejected')",
                params![*p as i64, now],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }
}
