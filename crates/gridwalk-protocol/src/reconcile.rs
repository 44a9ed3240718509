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
