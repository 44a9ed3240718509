//! Per-device hash chain over evidence records (photos, GPS stamps, finalized inspections).
//!
//! Canonical encoding hashed by [`link_hash`] (SHA-256, lowercase hex):
//!
//! ```text
//! "gridwalk-chain-v1" 0x00
//! u64_be(len(device_id))      device_id (UTF-8)
//! u64_be(seq)
//! u64_be(len(kind))           kind (UTF-8)
//! u64_be(len(payload_sha256)) payload_sha256 (ASCII hex)
//! u64_be(len(prev_hash))      prev_hash (ASCII hex)
//! ```
//!
//! Every variable-length field is length-prefixed, so no two different tuples share an
//! encoding. The first link of a device has `seq = 0` and `prev_hash` = 64 × `'0'`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first (genesis) link: 64 ASCII zeros.
pub const GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN: &[u8] = b"gridwalk-chain-v1\0";

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
    /// `hash` of the previous link, or [`GENESIS_PREV_HASH`].
    pub prev_hash: String,
    /// [`link_hash`] of the fields above.
    pub hash: String,
}

/// SHA-256 (lowercase hex) of the canonical encoding described in the module docs.
pub fn link_hash(
    device_id: &str,
    seq: u64,
    kind: &str,
    payload_sha256: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    let field = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(&mut h, device_id);
    h.update(seq.to_be_bytes());
    field(&mut h, kind);
    field(&mut h, payload_sha256);
    field(&mut h, prev_hash);
    crate::to_hex(&h.finalize())
}

impl ChainLink {
    /// Builds the link that follows `prev` (or the genesis link when `prev` is `None`).
    pub fn next(
        prev: Option<&ChainLink>,
        device_id: &str,
        kind: &str,
        payload_sha256: &str,
    ) -> ChainLink {
        let (seq, prev_hash) = match prev {
            Some(p) => (p.seq.saturating_add(1), p.hash.clone()),
            None => (0, GENESIS_PREV_HASH.to_string()),
        };
        let hash = link_hash(device_id, seq, kind, payload_sha256, &prev_hash);
        ChainLink {
            device_id: device_id.to_string(),
            seq,
            kind: kind.to_string(),
            payload_sha256: payload_sha256.to_string(),
            prev_hash,
            hash,
        }
    }

    /// Recomputes this link's hash from its fields.
    pub fn computed_hash(&self) -> String {
        link_hash(
            &self.device_id,
            self.seq,
            &self.kind,
            &self.payload_sha256,
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
