//! GridWalk (网格巡查) evidence pipeline.
//!
//! Everything a field photo needs to hold up as evidence, offline, on a cheap phone:
//!
//! * [`photo`]: sniff, bound, decode, orient, resize, re-encode and hash a photo;
//! * [`watermark`]: burn time / place / enterprise / inspector / check code into the derived photo;
//! * [`stamp`]: GPS stamps and the policy that flags (never drops) doubtful ones;
//! * [`onsite`]: geodesic distance to the registered enterprise location;
//! * [`datum`]: WGS-84 / GCJ-02 / BD-09 conversions;
//! * [`chain`]: per-device hash chain over evidence records;
//! * [`fsio`]: crash-safe, content-addressed file storage.
//!
//! See `docs/evidence.md` in the repository for the design notes.

#![warn(missing_docs)]

pub mod chain;
pub mod datum;
pub mod fsio;
pub mod onsite;
pub mod photo;
pub mod stamp;
pub mod watermark;

mod orient;
mod tj;

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    to_hex(&Sha256::digest(bytes))
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}
