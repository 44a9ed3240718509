//! Per-device hash chain over evidence records (photos, GPS stamps, finalized inspections).
//!
//! The link-hash encodings live in [`gridwalk_protocol::chain`], shared with the server
//! that anchors the chain: version 1 covers device, sequence, kind, payload hash and the
//! previous hash; version 2 (every link made now) also the device time, in Unix
//! milliseconds. The first link of a device has `seq = 0` and `prev_hash` = 64 × `'0'`.

use chrono::{DateTime, Utc};
pub use gridwalk_protocol::chain::GENESIS_PREV_HASH;
use serde::{Deserialize, Serialize};

/// SHA-256 (lowercase hex) of a version 1 link (no device time).
pub fn link_hash(
    device_id: &str,
    seq: u64,
    kind: &str,
    payload_sha256: &str,
    prev_hash: &str,
) -> String {
    gridwalk_protocol::chain::link_hash(device_id, seq, kind, payload_sha256, None, prev_hash)
}

/// One link of a device's evidence chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// Device that produced the record.
    pub device_id: String,
    /// 0-based position in the device's chain.
    pub seq: u64,
    /// Record kind, e.g. `"photo"`, `"gps_stamp"`, `"inspection"`.
    pub kind: String,
    /// SHA-256 (hex) of the record's payload.
    pub payload_sha256: String,
    /// Device time under the hash (Unix milliseconds): `Some` for a version 2 link,
    /// `None` for a version 1 link made before the time was chained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
    /// `hash` of the previous link, or [`GENESIS_PREV_HASH`].
    pub prev_hash: String,
    /// Hash of the fields above.
    pub hash: String,
}

impl ChainLink {
    /// Builds the version 1 link that follows `prev` (or the genesis link when `prev` is
    /// `None`); kept for chains made before version 2.
    pub fn next(
        prev: Option<&ChainLink>,
        device_id: &str,
        kind: &str,
        payload_sha256: &str,
    ) -> ChainLink {
        Self::build(prev, device_id, kind, payload_sha256, None)
    }

    /// Builds the version 2 link that follows `prev`, with the device time `at` (kept to
    /// the millisecond) under the hash.
    pub fn next_at(
        prev: Option<&ChainLink>,
        device_id: &str,
        kind: &str,
        payload_sha256: &str,
        at: DateTime<Utc>,
    ) -> ChainLink {
        Self::build(
            prev,
            device_id,
            kind,
            payload_sha256,
            Some(at.timestamp_millis()),
        )
    }

    fn build(
        prev: Option<&ChainLink>,
        device_id: &str,
        kind: &str,
        payload_sha256: &str,
        at_ms: Option<i64>,
    ) -> ChainLink {
        let (seq, prev_hash) = match prev {
            Some(p) => (p.seq.saturating_add(1), p.hash.clone()),
            None => (0, GENESIS_PREV_HASH.to_string()),
        };
        let mut link = ChainLink {
            device_id: device_id.to_string(),
            seq,
            kind: kind.to_string(),
            payload_sha256: payload_sha256.to_string(),
            at_ms,
            prev_hash,
            hash: String::new(),
        };
        link.hash = link.computed_hash();
        link
    }

    /// The link-hash version: 1 without the device time, 2 with it.
    pub fn version(&self) -> u8 {
        match self.at_ms {
            None => gridwalk_protocol::chain::LINK_V1,
            Some(_) => gridwalk_protocol::chain::LINK_V2,
        }
    }

    /// Recomputes this link's hash from its fields.
    pub fn computed_hash(&self) -> String {
        gridwalk_protocol::chain::link_hash(
            &self.device_id,
            self.seq,
            &self.kind,
            &self.payload_sha256,
            self.at_ms,
            &self.prev_hash,
        )
    }
}

/// One thing wrong with a chain; `index` is the position in the slice given to [`verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChainProblem {
    /// `seq` is not the expected next number: records were deleted, duplicated or reordered.
    SeqGap {
        /// Position in the slice.
        index: usize,
        /// Seq that should have been there.
        expected: u64,
        /// Seq found.
        found: u64,
    },
    /// The stored hash does not match the link's fields: the record was altered.
    AlteredRecord {
        /// Position in the slice.
        index: usize,
        /// The link's seq.
        seq: u64,
    },
    /// `prev_hash` does not match the previous link's hash (or genesis zeros for seq 0).
    BrokenLink {
        /// Position in the slice.
        index: usize,
        /// The link's seq.
        seq: u64,
    },
    /// The link belongs to another device than the first link.
    WrongDevice {
        /// Position in the slice.
        index: usize,
        /// Device of the first link.
        expected: String,
        /// Device of this link.
        found: String,
    },
}

/// Outcome of [`verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// `true` when no problem was found.
    pub ok: bool,
    /// Number of links examined.
    pub checked: usize,
    /// Every problem found, in slice order.
    pub problems: Vec<ChainProblem>,
}

/// Verifies a device's whole chain, given in order from genesis (seq 0).
pub fn verify_chain(links: &[ChainLink]) -> ChainReport {
    let mut problems = Vec::new();
    let device = links.first().map(|l| l.device_id.as_str()).unwrap_or("");
    for (index, link) in links.iter().enumerate() {
        if link.device_id != device {
            problems.push(ChainProblem::WrongDevice {
                index,
                expected: device.to_string(),
                found: link.device_id.clone(),
            });
        }
        let (expected_seq, expected_prev) = match index.checked_sub(1).and_then(|i| links.get(i)) {
            Some(p) => (p.seq.saturating_add(1), p.hash.as_str()),
            None => (0, GENESIS_PREV_HASH),
        };
        if link.seq != expected_seq {
            problems.push(ChainProblem::SeqGap {
                index,
                expected: expected_seq,
                found: link.seq,
            });
        }
        if link.computed_hash() != link.hash {
            problems.push(ChainProblem::AlteredRecord {
                index,
                seq: link.seq,
            });
        }
        if link.prev_hash != expected_prev {
            problems.push(ChainProblem::BrokenLink {
                index,
                seq: link.seq,
            });
        }
    }
    ChainReport {
        ok: problems.is_empty(),
        checked: links.len(),
        problems,
    }
}
