//! Enrollment, pushing records, and asking what the server holds.

use crate::problem::ProblemCode;
use crate::receipt::Receipt;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user's role; decides the level of their jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格员: a village or a grid.
    GridWorker,
    /// 专家: a town.
    Expert,
    /// 区级监管: a district.
    Officer,
    /// Administrator: any code.
    Admin,
}

impl Role {
    /// The wire name (`grid_worker`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::GridWorker => "grid_worker",
            Role::Expert => "expert",
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "grid_worker" => Some(Role::GridWorker),
            "expert" => Some(Role::Expert),
            "officer" => Some(Role::Officer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// `POST /v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    /// The one-time code an administrator issued.
    pub code: String,
    /// A random secret (≥ 16 characters) the device generated once and keeps; a retry
    /// with the same key after a lost answer succeeds for the same device.
    pub device_key: String,
    #[serde(default)]
    pub device_name: Option<String>,
}

/// The user a device was enrolled for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolledUser {
    pub name: String,
    pub role: Role,
    /// Division code of the user's jurisdiction.
    pub jurisdiction: String,
}

/// The server's receipt-signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerKey {
    /// Always `ed25519`.
    pub algorithm: String,
    /// Base64 (standard) of the 32-byte public key.
    pub public_key: String,
    /// First 16 hex digits of the SHA-256 of the public key.
    pub key_id: String,
}

/// Answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub device_id: Uuid,
    /// Bearer token; shown once, stored hashed on the server.
    pub token: String,
    pub user: EnrolledUser,
    pub server_key: ServerKey,
}

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Inspection,
    Finding,
    HazardEvent,
    EnterpriseFact,
    Evidence,
    /// Protocol 4: a 厂中厂 lease recorded on the phone (`gridwalk_core::LeaseRecord`).
    Lease,
    /// Protocol 5: a grid worker's answer to a 疑似 (suspected) enterprise
    /// (`gridwalk_core::SuspectedConfirmation`).
    SuspectedConfirmation,
}

impl RecordKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Inspection => "inspection",
            RecordKind::Finding => "finding",
            RecordKind::HazardEvent => "hazard_event",
            RecordKind::EnterpriseFact => "enterprise_fact",
            RecordKind::Evidence => "evidence",
            RecordKind::Lease => "lease",
            RecordKind::SuspectedConfirmation => "suspected_confirmation",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<RecordKind> {
        match s {
            "inspection" => Some(RecordKind::Inspection),
            "finding" => Some(RecordKind::Finding),
            "hazard_event" => Some(RecordKind::HazardEvent),
            "enterprise_fact" => Some(RecordKind::EnterpriseFact),
            "evidence" => Some(RecordKind::Evidence),
            "lease" => Some(RecordKind::Lease),
            "suspected_confirmation" => Some(RecordKind::SuspectedConfirmation),
            _ => None,
        }
    }
}

/// One finalized record as pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordEnvelope {
    /// Client-generated UUID v7.
    pub id: Uuid,
    pub kind: RecordKind,
    /// The device's sequence number (from 1, contiguous, never reused).
    pub seq: u64,
    /// Lower-case hex SHA-256 of the bytes of `payload`.
    pub payload_sha256: String,
    /// The frozen canonical JSON text, exactly as hashed.
    pub payload: String,
    /// The enterprise the record concerns, if any.
    #[serde(default)]
    pub enterprise_uscc: Option<String>,
    /// The division the record concerns when the enterprise is not in the register.
    #[serde(default)]
    pub division_code: Option<String>,
    /// SHA-256 of every photo the record references.
    #[serde(default)]
    pub photos: Vec<String>,
    /// The device clock when the record was finalized (for skew checks); under the link
    /// hash for a version 2 [`crate::chain::ChainProof`].
    #[serde(default)]
    pub device_time: Option<DateTime<Utc>>,
    /// The record's link in the device's evidence chain, which the server checks for
    /// continuity and signs in the receipt. Absent from apps older than the anchored
    /// chain (accepted, marked unanchored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<crate::chain::ChainProof>,
    /// Protocol 2: the first record of a fork. Its link continues a link the server
    /// holds of this device other than the last one (the phone's database went back in
    /// time); the server keeps both branches and marks this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fork: bool,
    /// Protocol 2: the phone holds this record but withholds its payload, which is over
    /// the server's published payload limit. `payload` is empty; the link and hash take
    /// the record's place in the sequence and it is stored refused (`payload_too_large`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

impl RecordEnvelope {
    /// An envelope whose hash is computed from the payload.
    pub fn new(id: Uuid, kind: RecordKind, seq: u64, payload: String) -> RecordEnvelope {
        RecordEnvelope {
            id,
            kind,
            seq,
            payload_sha256: crate::sha256_hex(payload.as_bytes()),
            payload,
            enterprise_uscc: None,
            division_code: None,
            photos: Vec::new(),
            device_time: None,
            link: None,
            fork: false,
            withheld: false,
        }
    }
}

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    pub records: Vec<RecordEnvelope>,
}

/// What became of one pushed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Stored now.
    Accepted,
    /// Already stored with the same hash; nothing changed.
    Duplicate,
    /// Already stored with a different hash.
    Conflict { existing_sha256: String },
    /// Sequence gap: send `expected_seq` first.
    Gap { expected_seq: u64 },
    /// Refused for good; its id and seq are kept as rejected.
    Rejected { code: ProblemCode, detail: String },
}

/// One result per pushed record, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordResult {
    pub id: Uuid,
    pub seq: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Answer to a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub results: Vec<RecordResult>,
    /// The sequence number the server expects next from this device.
    pub next_seq: u64,
    pub receipt: Receipt,
}

/// A record's state on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// Data stored; some photos still missing.
    Accepted,
    /// Data stored and every referenced photo verified.
    Complete,
    /// Refused (see the push result).
    Rejected,
}

impl RecordState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Accepted => "accepted",
            RecordState::Complete => "complete",
            RecordState::Rejected => "rejected",
        }
    }
}

/// `GET /v1/sync/records/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordStatus {
    pub id: Uuid,
    pub seq: u64,
    pub kind: RecordKind,
    pub payload_sha256: String,
    pub state: RecordState,
    pub photos: Vec<String>,
    pub missing_photos: Vec<String>,
    /// Whether the device clock looked wrong for this record, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockFlag>,
    /// The branch of the device's chain the record is on: 0, or the fork it belongs to
    /// (a phone restored from an older copy; docs/sync-protocol.md "Forks").
    #[serde(default)]
    pub branch: u64,
    /// On the first record of a fork: the position of the device's sequence whose link
    /// it continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_point: Option<u64>,
}

/// A record whose device time does not fit what the server knows (docs/evidence.md):
/// shown with the record's evidence so a reviewer weighs its times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockFlag {
    /// `ahead` (device time after the record reached the server), `gnss` (far from the
    /// GNSS fix time in the payload) or `implausible` (before 2024).
    pub kind: String,
    /// Device time minus the reference time, in seconds.
    pub skew_s: i64,
}

/// How far a device clock may run ahead of the server before a record is flagged.
pub const CLOCK_AHEAD_TOLERANCE_S: i64 = 5 * 60;
/// How far a device time may differ from the GNSS fix time of its own payload.
pub const CLOCK_GNSS_TOLERANCE_S: i64 = 10 * 60;

impl ClockFlag {
    /// The flag of a record finalized at `device_time` that reached the server at
    /// `received`; `gnss_time` is the fix time its payload carries, if any.
    pub fn assess(
        device_time: DateTime<Utc>,
        received: DateTime<Utc>,
        gnss_time: Option<DateTime<Utc>>,
    ) -> Option<ClockFlag> {
        let flag = |kind: &str, skew_s: i64| {
            Some(ClockFlag {
                kind: kind.into(),
                skew_s,
            })
        };
        let ahead = (device_time - received).num_seconds();
        if ahead > CLOCK_AHEAD_TOLERANCE_S {
            return flag("ahead", ahead);
        }
        if let Some(g) = gnss_time {
            let off = (device_time - g).num_seconds();
            if off.abs() > CLOCK_GNSS_TOLERANCE_S {
                return flag("gnss", off);
            }
        }
        let epoch = DateTime::<Utc>::from_timestamp(1_704_067_200, 0)?; // 2024-01-01
        if device_time < epoch {
            return flag("implausible", (device_time - received).num_seconds());
        }
        None
    }
}

/// A photo the server still lacks, and the records waiting for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingPhoto {
    pub sha256: String,
    pub records: Vec<Uuid>,
}

/// `GET /v1/sync/missing-photos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingPhotos {
    pub photos: Vec<MissingPhoto>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_tagged_by_status_beside_id_and_seq() {
        let r = RecordResult {
            id: Uuid::nil(),
            seq: 4,
            outcome: Outcome::Gap { expected_seq: 2 },
        };
        let v = serde_json::to_value(&r).expect("serializes");
        assert_eq!(
            v,
            serde_json::json!({"id": Uuid::nil(), "seq": 4, "status": "gap", "expected_seq": 2})
        );
        let back: RecordResult = serde_json::from_value(v).expect("parses");
        assert_eq!(back, r);
    }

    #[test]
    fn an_envelope_hashes_its_payload_bytes() {
        let e = RecordEnvelope::new(Uuid::nil(), RecordKind::Inspection, 1, "{\"a\":1}".into());
        assert_eq!(e.payload_sha256, crate::sha256_hex(b"{\"a\":1}"));
    }
}
