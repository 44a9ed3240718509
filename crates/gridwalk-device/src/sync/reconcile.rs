//! Reconciliation on the phone (protocol 2, docs/sync-protocol.md "Reconciliation"): what
//! this phone believes the server holds of its sequence, as range digests, and what to
//! send again where the server's answer differs.
//!
//! [`Reconciler`] is pure: it builds requests from the phone's entries and reads the
//! server's answers; the engine does the HTTP and [`Store::resend_positions`] the
//! writes.

use crate::error::StoreError;
use crate::store::Store;
use gridwalk_protocol::reconcile::range_digest;
use gridwalk_protocol::{HeldEntry, HeldStatus, RangeAnswer, RangeVerdict, SeqRange};
use rusqlite::params;
use std::collections::BTreeSet;
use uuid::Uuid;

/// What a reconciliation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Differences {
    /// Positions this phone believes delivered that the server does not hold as
    /// believed: sent again.
    pub resend: BTreeSet<u64>,
    /// Some of them the server does not hold at all (its database went back in time).
    pub server_lost: bool,
}

/// Compares the phone's delivered entries with the server's answers.
#[derive(Debug)]
pub struct Reconciler {
    /// Sorted by `seq`.
    mine: Vec<HeldEntry>,
}

impl Reconciler {
    /// The phone's entries, in any order.
    pub fn new(mut mine: Vec<HeldEntry>) -> Reconciler {
        mine.sort_by_key(|e| e.seq);
        Reconciler { mine }
    }

    /// The entries this phone holds.
    pub fn entries(&self) -> &[HeldEntry] {
        &self.mine
    }

    fn within(&self, from: u64, to: u64) -> &[HeldEntry] {
        let a = self.mine.partition_point(|e| e.seq < from);
        let b = self.mine.partition_point(|e| e.seq <= to);
        &self.mine[a..b]
    }

    /// The phone's digest of a range.
    pub fn range(&self, from: u64, to: u64) -> SeqRange {
        SeqRange {
            from,
            to,
            digest: range_digest(self.within(from, to)),
        }
    }

    /// The ranges to ask about first: the runs of consecutive positions this phone
    /// holds, in order (sent [`MAX_RANGES`] a request).
    pub fn first_request(&self) -> Vec<SeqRange> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for e in &self.mine {
            match runs.last_mut() {
                Some((_, to)) if *to + 1 == e.seq => *to = e.seq,
                _ => runs.push((e.seq, e.seq)),
            }
        }
        runs.into_iter().map(|(f, t)| self.range(f, t)).collect()
    }

    /// Reads one answer: records what differs in `found` and returns the ranges to ask
    /// about next (parts whose digests differ from the phone's).
    pub fn absorb(&self, answers: &[RangeAnswer], found: &mut Differences) -> Vec<SeqRange> {
        let mut next = Vec::new();
        for a in answers {
            match &a.verdict {
                RangeVerdict::Same => {}
                RangeVerdict::Split { parts } => {
                    for p in parts {
                        let mine = self.range(p.from.max(a.from), p.to.min(a.to));
                        if mine.digest != p.digest {
                            next.push(mine);
                        }
                    }
                }
                RangeVerdict::Entries { entries } => {
                    for e in self.within(a.from, a.to) {
                        match entries.iter().find(|s| s.seq == e.seq) {
                            Some(s) if s == e => {}
                            Some(_) => {
                                found.resend.insert(e.seq);
                            }
                            None => {
                                found.resend.insert(e.seq);
                                found.server_lost = true;
                            }
                        }
                    }
                }
            }
        }
        next
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_protocol::reconcile::MAX_RANGES;

    fn e(seq: u64) -> HeldEntry {
        HeldEntry {
            seq,
            id: Uuid::from_u128(seq as u128),
            payload_sha256: format!("{seq:064x}"),
            status: HeldStatus::Held,
        }
    }

    #[test]
    fn the_first_request_is_the_runs_of_positions_held() {
        let r = Reconciler::new(vec![e(5), e(1), e(2), e(3), e(11), e(12)]);
        let req = r.first_request();
        let spans: Vec<(u64, u64)> = req.iter().map(|r| (r.from, r.to)).collect();
        assert_eq!(spans, [(1, 3), (5, 5), (11, 12)]);
        assert_eq!(req[0].digest, range_digest(&[e(1), e(2), e(3)]));
        // Alternating positions (two phones on one database): every run is asked
        // about, none merged over holes the phone does not hold.
        let many = Reconciler::new((0..200).map(|i| e(i * 2 + 1)).collect());
        let req = many.first_request();
        assert_eq!(req.len(), 200);
        assert!(req.len() > MAX_RANGES);
        assert!(req.iter().all(|r| r.from == r.to));
    }

    #[test]
    fn entries_that_differ_or_are_missing_are_sent_again() {
        let r = Reconciler::new(vec![e(1), e(2), e(3)]);
        let mut other = e(2);
        other.status = HeldStatus::Rejected;
        let answer = RangeAnswer {
            from: 1,
            to: 3,
            verdict: RangeVerdict::Entries {
                entries: vec![e(1), other],
            },
        };
        let mut found = Differences::default();
        assert!(r.absorb(&[answer], &mut found).is_empty());
        assert_eq!(found.resend.into_iter().collect::<Vec<_>>(), [2, 3]);
        assert!(found.server_lost);
    }

    #[test]
    fn only_parts_whose_digests_differ_are_asked_again() {
        let r = Reconciler::new((1..=40).map(e).collect());
        let parts = vec![r.range(1, 20), {
            let mut p = r.range(21, 40);
            p.digest = "0".repeat(64);
            p
        }];
        let answer = RangeAnswer {
            from: 1,
            to: 40,
            verdict: RangeVerdict::Split { parts },
        };
        let mut found = Differences::default();
        let next = r.absorb(&[answer], &mut found);
        assert_eq!(next, vec![r.range(21, 40)]);
        assert!(found.resend.is_empty());
    }
}
