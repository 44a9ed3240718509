//! The GridWalk sync protocol: every type that crosses the wire between a device and
//! the central server, defined once so both ends agree. See `docs/sync-protocol.md`.
//!
//! Pure data and checks (hash formats, receipt signatures); no I/O.

pub mod chain;
pub mod limits;
pub mod problem;
pub mod pull;
pub mod push;
pub mod receipt;
pub mod reconcile;
pub mod tus;

pub use limits::{
    MAX_ANSWER_CHARS, MAX_LABEL_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_REASON_CHARS,
    MAX_SIGNATURES_PER_INSPECTION, MAX_SIGNATURE_BYTES, MAX_SIGNATURE_HEIGHT, MAX_SIGNATURE_WIDTH,
    MAX_STAMP_TEXT_CHARS,
};
pub use problem::{Problem, ProblemCode};
pub use pull::{Change, ChangeKind, PullPage};
pub use push::{
    ClockFlag, EnrollRequest, EnrollResponse, EnrolledUser, MissingPhoto, MissingPhotos, Outcome,
    PushRequest, PushResponse, RecordEnvelope, RecordKind, RecordResult, RecordState, RecordStatus,
    Role, ServerKey,
};
pub use receipt::{Receipt, ReceiptBody, ReceiptError, ReceiptRecord};
pub use reconcile::{
    HeldEntry, HeldStatus, RangeAnswer, RangeVerdict, ReconcileRequest, ReconcileResponse,
    SeqRange, ServerLimits,
};

/// The protocol version this crate speaks (and a device sends).
///
/// Version 2 adds reconciliation, forks, withheld payloads, published limits and pull
/// cursors bound to the server's epoch; every version 1 request is still a version 2
/// request, so a server serves both ([`SUPPORTED_PROTOCOLS`]).
///
/// Version 3 adds assignments and reviews to the pull and the 五定 hazard event
/// (`plan_set`); a server sends none of them to older devices (their parsers would not
/// know them), which otherwise work as before.
///
/// Version 4 adds the record kind `lease` (a 厂中厂 lease recorded on the phone). An
/// older server would refuse a whole push naming a kind it does not know, so a phone of
/// this version is refused as a whole by it (`protocol_version_unsupported`) rather
/// than stuck on one record; a phone of version 3 or older never sends the kind, and
/// the register rows it pulls only gain fields it ignores.
///
/// Version 5 adds 疑似 (suspected) enterprises (docs/tips.md): the change kind
/// `suspected` (sent only to devices of version 5) and the record kind
/// `suspected_confirmation`, which an older server would refuse with the whole push, so
/// it refuses a phone of this version as a whole instead, as with version 4.
pub const PROTOCOL_VERSION: u32 = 5;
/// Every version a server of this build serves: phones in the field update late.
pub const SUPPORTED_PROTOCOLS: &[u32] = &[1, 2, 3, 4, 5];
/// Header carrying [`PROTOCOL_VERSION`] on every response (and optionally requests).
pub const PROTOCOL_HEADER: &str = "GridWalk-Protocol";

/// Largest JSON request body accepted, after decompression.
pub const MAX_JSON_BODY: usize = 4 * 1024 * 1024;
/// Most records in one push.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Largest payload of one record.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Largest tus PATCH chunk.
pub const MAX_CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Largest photo (`Tus-Max-Size`).
pub const MAX_PHOTO_BYTES: u64 = 64 * 1024 * 1024;

/// True if `s` is a lower-case hex SHA-256 (64 characters).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lower_case_64_digit_hex_is_a_hash() {
        let h = sha256_hex(b"abc");
        assert!(is_sha256_hex(&h));
        assert!(!is_sha256_hex(&h.to_uppercase()));
        assert!(!is_sha256_hex(&h[..63]));
    }
}
