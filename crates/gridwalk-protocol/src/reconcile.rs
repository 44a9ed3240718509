//! Reconciliation (protocol 2, docs/sync-protocol.md "Reconciliation"): the device and
//! the server compare what the server holds of the device's sequence, cheaply when
//! nothing changed, so a restore of either database is repaired without a person.
//!
//! The device sends digests of ranges of its sequence positions it believes the server
//! holds; the server answers each range `same`, or with smaller ranges' digests, or —
//! for a range of at most [`LEAF_POSITIONS`] positions — with the entries it holds. A
//! digest is the SHA-256 (lowercase hex) of one line per held position of the range, in
//! ascending order: `"{seq} {record id} {payload_sha256} {held|rejected}\n"`; positions
//! not held add nothing, so an empty range digests to the SHA-256 of no bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Most ranges in one reconcile request.
pub const MAX_RANGES: usize = 64;
/// A differing range of at most this many positions is answered with its entries.
pub const LEAF_POSITIONS: u64 = 256;
/// A larger differing range is answered with this many parts' digests.
pub const FAN_OUT: u64 = 16;
/// Most missing photo hashes listed in one answer (`missing_photos_more` says if more).
pub const MAX_MISSING_LISTED: usize = 1000;

/// What became of a sequence position on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HeldStatus {
    /// The server holds the record with this hash (accepted now or before).
    Held,
    /// The position is taken by a refused record (or a record held with another hash).
    Rejected,
}

impl HeldStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HeldStatus::Held => "held",
            HeldStatus::Rejected => "rejected",
        }
    }
}

/// One position of a device's sequence as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeldEntry {
    pub seq: u64,
    pub id: Uuid,
    pub payload_sha256: String,
    pub status: HeldStatus,
}

/// The digest of the entries of one range (see the module documentation). `entries`
/// must be in ascending `seq` order and inside the range.
pub fn range_digest<'a>(entries: impl IntoIterator<Item = &'a HeldEntry>) -> String {
    let mut h = Sha256::new();
    for e in entries {
        h.update(
            format!(
                "{} {} {} {}\n",
                e.seq,
                e.id,
                e.payload_sha256,
                e.status.as_str()
            )
            .as_bytes(),
        );
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An inclusive range of sequence positions and the digest of what the sender believes
/// (device) or holds (server) there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeqRange {
    pub from: u64,
    pub to: u64,
    pub digest: String,
}

impl SeqRange {
    /// Positions in the range.
    pub fn len(&self) -> u64 {
        self.to.saturating_sub(self.from) + 1
    }

    /// Never empty (`from <= to` is checked by the server).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// `POST /v1/sync/reconcile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconcileRequest {
    /// At most [`MAX_RANGES`], each `from <= to`, `from >= 1`.
    #[serde(default)]
    pub ranges: Vec<SeqRange>,
}

/// The server's verdict on one range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum RangeVerdict {
    /// The digests agree.
    Same,
    /// They differ; ask again for these parts (their digests are the server's).
    Split { parts: Vec<SeqRange> },
    /// They differ; this is everything the server holds in the range.
    Entries { entries: Vec<HeldEntry> },
}

/// One range of the request and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RangeAnswer {
    pub from: u64,
    pub to: u64,
    #[serde(flatten)]
    pub verdict: RangeVerdict,
}

/// The limits the server enforces, published so the phone keeps to them where the user
/// types (`GET /v1/sync/limits`, and in every reconcile answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerLimits {
    /// Largest payload of one record, in bytes.
    pub max_payload_bytes: u64,
    /// Most records in one push.
    pub max_batch_records: u64,
    /// Largest JSON request body (decompressed), in bytes.
    pub max_body_bytes: u64,
    /// Largest photo, in bytes (`Tus-Max-Size`).
    pub max_photo_bytes: u64,
    /// Largest tus chunk, in bytes.
    pub max_chunk_bytes: u64,
}

impl Default for ServerLimits {
    /// This build's limits ([`crate::MAX_PAYLOAD_BYTES`] and the rest).
    fn default() -> Self {
        ServerLimits {
            max_payload_bytes: crate::MAX_PAYLOAD_BYTES as u64,
            max_batch_records: crate::MAX_BATCH_RECORDS as u64,
            max_body_bytes: crate::MAX_JSON_BODY as u64,
            max_photo_bytes: crate::MAX_PHOTO_BYTES,
            max_chunk_bytes: crate::MAX_CHUNK_BYTES as u64,
        }
    }
}

/// Answer to a reconcile request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconcileResponse {
    /// The server database's identity; it changes when the database is replaced (a new
    /// database, or `gridwalk-server admin new-epoch` after a restore).
    pub epoch: String,
    /// The next sequence position the server expects from this device.
    pub next_seq: u64,
    /// One answer per requested range, in request order.
    pub ranges: Vec<RangeAnswer>,
    /// Photos the server still lacks for records this device holds (sorted; at most
    /// [`MAX_MISSING_LISTED`]).
    pub missing_photos: Vec<String>,
    /// True when more photos are missing than listed.
    #[serde(default)]
    pub missing_photos_more: bool,
    pub limits: ServerLimits,
}

/// What a reconciliation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Differences {
    /// Positions this phone believes delivered that the server does not hold as
    /// believed: sent again.
    pub resend: BTreeSet<u64>,
    /// Some of them the server does not hold at all (its database went back in time).
    pub server_lost: bool,
}

/// Compares the phone's delivered entries with the server's answers: the client's half
/// of reconciliation (the phone's sync engine; the server's reconcile bench).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, status: HeldStatus) -> HeldEntry {
        HeldEntry {
            seq,
            id: Uuid::from_u128(seq as u128),
            payload_sha256: format!("{seq:064x}"),
            status,
        }
    }

    #[test]
    fn digests_differ_when_a_position_its_record_or_its_status_differs() {
        let a = vec![entry(1, HeldStatus::Held), entry(2, HeldStatus::Held)];
        let base = range_digest(&a);
        assert_eq!(base, range_digest(&a.clone()));
        let mut b = a.clone();
        b[1].status = HeldStatus::Rejected;
        assert_ne!(base, range_digest(&b));
        let mut c = a.clone();
        c[1].payload_sha256 = "f".repeat(64);
        assert_ne!(base, range_digest(&c));
        assert_ne!(base, range_digest(&a[..1]));
        assert_eq!(
            range_digest(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn verdicts_are_tagged_beside_the_range() {
        let a = RangeAnswer {
            from: 1,
            to: 9,
            verdict: RangeVerdict::Same,
        };
        let v = serde_json::to_value(&a).expect("serializes");
        assert_eq!(
            v,
            serde_json::json!({"from": 1, "to": 9, "verdict": "same"})
        );
        let back: RangeAnswer = serde_json::from_value(v).expect("parses");
        assert_eq!(back, a);
    }
}

#[cfg(test)]
mod reconciler_tests {
    use super::*;

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
