//! Canonical JSON and the finalized-inspection payload.
//!
//! A finalized inspection is hashed so the server (and any later reader) can tell that
//! it has not changed since the inspector signed it off. The hash is over canonical
//! JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
//! `serde_json` does, integers as plain digits, and floats that hold a whole number of
//! magnitude below 2^53 written as integers (`10`, never `10.0`); other floats use the
//! shortest representation that round-trips. The same value therefore always gives the
//! same bytes, whatever order its fields or map keys were built in.

use crate::answer::Answer;
use crate::evaluate::{Finding, Score};
use crate::template::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Canonical bytes of a JSON value (see the module docs).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(value, &mut out);
    out
}

/// Serializes any value, then writes its canonical bytes.
pub fn to_canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    Ok(canonical_json(&serde_json::to_value(value)?))
}

/// Lower-case hex SHA-256 of the canonical JSON of a value.
pub fn payload_sha256<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(&to_canonical_json(value)?))
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

fn write_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.extend_from_slice(n.to_string().as_bytes());
            } else if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < MAX_EXACT {
                    // Whole floats as integers; -0 becomes 0.
                    out.extend_from_slice(format!("{}", f as i64).as_bytes());
                } else {
                    out.extend_from_slice(n.to_string().as_bytes());
                }
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(x, out);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                if let Some(x) = m.get(k) {
                    write_value(x, out);
                }
            }
            out.push(b'}');
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // serde_json's escaping of a string is deterministic and cannot fail.
    let quoted = Value::String(s.to_owned()).to_string();
    out.extend_from_slice(quoted.as_bytes());
}

/// The record a device uploads when an inspection is finalized; its hash is
/// [`payload_sha256`] of this struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalizedInspection {
    pub inspection_id: Uuid,
    pub template_id: String,
    pub template_version: u32,
    pub enterprise_id: Uuid,
    pub enterprise_uscc: String,
    /// The inspector's user id.
    pub inspector: String,
    pub role: Role,
    pub started_at: DateTime<Utc>,
    pub finalized_at: DateTime<Utc>,
    pub answers: BTreeMap<String, Answer>,
    pub score: Score,
    pub findings: Vec<Finding>,
    /// The earlier finalized inspection this one corrects, if any.
    pub supersedes: Option<Uuid>,
}

impl FinalizedInspection {
    /// Canonical bytes of the payload.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        to_canonical_json(self)
    }

    /// Lower-case hex SHA-256 of the canonical bytes.
    pub fn sha256(&self) -> Result<String, serde_json::Error> {
        payload_sha256(self)
    }

    /// Every photo the inspection names (answers' photos and photo answers, findings'
    /// photos), sorted and unique: what `gridwalk_protocol::chain::photos_named` reads
    /// from the frozen payload, without parsing it again.
    pub fn photo_sha256s(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in self.answers.values() {
            out.extend(a.photo_sha256s.iter().cloned());
            if let crate::answer::AnswerValue::Photos(p) = &a.value {
                out.extend(p.iter().cloned());
            }
        }
        for f in &self.findings {
            out.extend(f.photo_sha256s.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }
}
