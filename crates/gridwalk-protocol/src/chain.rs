//! The device's evidence chain as the server sees it (docs/evidence.md): the link-hash
//! encodings, the proof a pushed record carries, and the photos a frozen payload names.
//!
//! Canonical encoding hashed by [`link_hash`] (SHA-256, lowercase hex); every
//! variable-length field is length-prefixed, so no two different tuples share an
//! encoding:
//!
//! ```text
//! version 1: "gridwalk-chain-v1" 0x00
//!            u64_be(len(device_id)) device_id   u64_be(seq)
//!            u64_be(len(kind)) kind   u64_be(len(payload_sha256)) payload_sha256
//!            u64_be(len(prev_hash)) prev_hash
//! version 2: "gridwalk-chain-v2" 0x00, the same fields, and i64_be(device time in
//!            Unix milliseconds) between payload_sha256 and prev_hash
//! ```
//!
//! Version 2 puts the device time under the hash, so the time a record carries cannot be
//! edited without breaking its link. Links made before version 2 keep version 1.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first (genesis) link: 64 ASCII zeros.
pub const GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Link-hash version without the device time.
pub const LINK_V1: u8 = 1;
/// Link-hash version with the device time (every link made now).
pub const LINK_V2: u8 = 2;

/// SHA-256 (lowercase hex) of a link's canonical encoding; `at_ms` is `None` for
/// version 1 and the device time in Unix milliseconds for version 2.
pub fn link_hash(
    device_id: &str,
    seq: u64,
    kind: &str,
    payload_sha256: &str,
    at_ms: Option<i64>,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(match at_ms {
        None => &b"gridwalk-chain-v1\0"[..],
        Some(_) => &b"gridwalk-chain-v2\0"[..],
    });
    let field = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(&mut h, device_id);
    h.update(seq.to_be_bytes());
    field(&mut h, kind);
    field(&mut h, payload_sha256);
    if let Some(ms) = at_ms {
        h.update(ms.to_be_bytes());
    }
    field(&mut h, prev_hash);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The chain link a pushed record carries: with its chain position (`seq`, or the
/// envelope's `seq` − 1 when absent), `payload_sha256` and `device_time` it recomputes to
/// `hash`, and `prev_hash` must be the hash of the link the server holds at the position
/// before (or, for the first record of a fork, of any link it holds of this device).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainProof {
    /// [`LINK_V1`] or [`LINK_V2`].
    pub version: u8,
    /// The device identity the phone's chain was made under (not the server's id).
    pub device: String,
    /// The chain's record kind: `photo`, `signature`, `inspection`, `hazard_event`.
    pub kind: String,
    /// Hash of the previous link, or [`GENESIS_PREV_HASH`] for the first.
    pub prev_hash: String,
    /// This link's hash.
    pub hash: String,
    /// The link's position in the phone's chain, when it is not the envelope's `seq` − 1:
    /// a phone restored from an older copy forks and renumbers its records on the wire
    /// (protocol 2, docs/sync-protocol.md "Forks"), but its links keep their positions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl ChainProof {
    /// The link's position in the phone's chain for a record sent at protocol `seq`.
    pub fn chain_seq(&self, seq: u64) -> Option<u64> {
        self.seq.or_else(|| seq.checked_sub(1))
    }

    /// The hash this link's fields give, for the record at protocol `seq` (chain
    /// position [`ChainProof::chain_seq`]); `None` when a version 2 link has no device
    /// time or the version is unknown.
    pub fn computed_hash(
        &self,
        seq: u64,
        payload_sha256: &str,
        device_time: Option<DateTime<Utc>>,
    ) -> Option<String> {
        let at_ms = match self.version {
            LINK_V1 => None,
            LINK_V2 => Some(device_time?.timestamp_millis()),
            _ => return None,
        };
        Some(link_hash(
            &self.device,
            self.chain_seq(seq)?,
            &self.kind,
            payload_sha256,
            at_ms,
            &self.prev_hash,
        ))
    }
}

/// The photo files (SHA-256 hex, sorted, unique) a frozen payload of chain kind `kind`
/// names, which the server must hold for the record to be complete: a photo record's
/// processed photo, a signature's PNG, every photo of an inspection's answers and
/// findings. Hazard events name none (their photos are photo records of their own, and a
/// re-inspection cites photos another phone took). `Err` when the payload is not the
/// JSON its kind needs.
pub fn photos_named(kind: &str, payload: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| format!("payload is not JSON: {e}"))?;
    photos_named_in(kind, &v)
}

/// [`photos_named`] of a payload already parsed.
pub fn photos_named_in(kind: &str, v: &serde_json::Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let text = |v: &serde_json::Value, key: &str| -> Result<String, String> {
        v.get(key)
            .and_then(|s| s.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("a {kind} payload needs '{key}'"))
    };
    let list = |v: &serde_json::Value, out: &mut Vec<String>| -> Result<(), String> {
        if let Some(items) = v.as_array() {
            for s in items {
                out.push(
                    s.as_str()
                        .ok_or_else(|| format!("photo hash {s} is not a string"))?
                        .to_string(),
                );
            }
        }
        Ok(())
    };
    match kind {
        "photo" => out.push(text(v, "derived_sha256")?),
        "signature" => out.push(text(v, "png_sha256")?),
        "inspection" => {
            if let Some(answers) = v.get("answers").and_then(|a| a.as_object()) {
                for a in answers.values() {
                    list(&a["photo_sha256s"], &mut out)?;
                    if a["value"]["type"] == "photos" {
                        list(&a["value"]["value"], &mut out)?;
                    }
                }
            }
            if let Some(findings) = v.get("findings").and_then(|f| f.as_array()) {
                for f in findings {
                    list(&f["photo_sha256s"], &mut out)?;
                }
            }
        }
        // A lease (protocol 4) and a suspected enterprise's answer (protocol 5)
        // reference no photo.
        "hazard_event" | "lease" | "suspected_confirmation" => {}
        other => return Err(format!("unknown chain kind '{other}'")),
    }
    if let Some(bad) = out.iter().find(|p| !crate::is_sha256_hex(p)) {
        return Err(format!(
            "photo hash '{bad}' is not 64 lower-case hex digits"
        ));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_2_puts_the_device_time_under_the_hash() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T01:02:03.456Z")
            .expect("time")
            .with_timezone(&Utc);
        let proof = |version| ChainProof {
            version,
            device: "d".into(),
            kind: "photo".into(),
            prev_hash: GENESIS_PREV_HASH.into(),
            hash: String::new(),
            seq: None,
        };
        let v2 = proof(LINK_V2).computed_hash(1, "ab", Some(t));
        // A forked record names its chain position; the envelope's seq no longer counts.
        let forked = ChainProof {
            seq: Some(0),
            ..proof(LINK_V2)
        };
        assert_eq!(forked.computed_hash(42, "ab", Some(t)), v2);
        let later =
            proof(LINK_V2).computed_hash(1, "ab", Some(t + chrono::Duration::milliseconds(1)));
        assert!(v2.is_some());
        assert_ne!(v2, later);
        assert_eq!(proof(LINK_V2).computed_hash(1, "ab", None), None);
        let v1 = proof(LINK_V1).computed_hash(1, "ab", Some(t));
        assert_eq!(v1, proof(LINK_V1).computed_hash(1, "ab", None));
        assert_ne!(v1, v2);
        assert_eq!(
            v1.as_deref(),
            Some(link_hash("d", 0, "photo", "ab", None, GENESIS_PREV_HASH).as_str())
        );
    }

    #[test]
    fn the_photos_a_payload_names_come_from_its_frozen_fields() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let inspection = format!(
            r#"{{"answers":{{"q1":{{"value":{{"type":"photos","value":["{b}"]}},"photo_sha256s":[]}},
               "q2":{{"value":{{"type":"yes_no_na","value":"no"}},"photo_sha256s":["{a}"]}}}},
               "findings":[{{"photo_sha256s":["{a}"]}}]}}"#
        );
        assert_eq!(
            photos_named("inspection", &inspection),
            Ok(vec![a.clone(), b.clone()])
        );
        assert_eq!(
            photos_named("photo", &format!(r#"{{"derived_sha256":"{a}"}}"#)),
            Ok(vec![a.clone()])
        );
        assert!(photos_named("photo", "{}").is_err());
        assert!(photos_named("signature", r#"{"png_sha256":"XYZ"}"#).is_err());
        assert_eq!(photos_named("hazard_event", "{}"), Ok(vec![]));
        assert!(photos_named("inspection", "not json").is_err());
    }
}
