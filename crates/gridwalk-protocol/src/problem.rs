//! Typed problems (RFC 7807 JSON): a stable `code` per failure, documented in
//! `docs/sync-protocol.md`, so the app can explain every error in Chinese.

use serde::{Deserialize, Serialize};

/// Every problem code the server answers with (whole-request and per-record).
///
/// A code this build does not know (sent by a newer server) deserializes as
/// [`ProblemCode::Unrecognized`], so an answer that carries one still parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    MalformedBody,
    BodyTooLarge,
    BatchTooLarge,
    UnsupportedMediaType,
    ProtocolVersionUnsupported,
    Unauthenticated,
    DeviceRevoked,
    ForbiddenJurisdiction,
    EnrollmentCodeInvalid,
    EnrollmentCodeUsed,
    NotFound,
    UploadOffsetMismatch,
    ChecksumMismatch,
    ChecksumAlgorithmUnsupported,
    PhotoHashMismatch,
    PhotoNotReferenced,
    UploadLengthInvalid,
    TusVersionUnsupported,
    MethodNotAllowed,
    RequestTimeout,
    ForbiddenRole,
    UnknownHazard,
    RecordIdTaken,
    ChainBroken,
    TooManyUploads,
    Unavailable,
    Internal,
    // Per-record codes.
    PayloadHashMismatch,
    PayloadInvalid,
    SeqReused,
    UnknownEnterprise,
    /// The phone withheld the record's payload: it is over the server's payload limit
    /// (the link and hash still take the record's place in the device's sequence).
    PayloadTooLarge,
    /// An officer's hazard action is not legal in the hazard's current state.
    HazardTransition,
    /// A well-formed request that names something wrong (an unknown user or template, a
    /// due date in the past, a role that cannot take the work).
    InvalidRequest,
    /// Too many failed sign-ins for this user name: it is locked for a while
    /// (`Retry-After` says how long).
    AccountLocked,
    /// A console write without the session's CSRF token (`X-CSRF-Token`).
    CsrfFailed,
    /// Too many requests from this address, for this user name or with this token in a
    /// short time (`Retry-After` says when to try again).
    RateLimited,
    /// The user was disabled by an administrator: no sign-in, and neither their
    /// sessions nor their devices' tokens work until they are enabled again.
    AccountDisabled,
    /// Any code this build does not know (`unrecognized` on the wire). Servers never
    /// send it; a client meeting a newer code gets this and acts on the HTTP status.
    #[serde(other)]
    Unrecognized,
}

impl ProblemCode {
    /// Every code, for documentation tests.
    pub const ALL: &'static [ProblemCode] = &[
        ProblemCode::MalformedBody,
        ProblemCode::BodyTooLarge,
        ProblemCode::BatchTooLarge,
        ProblemCode::UnsupportedMediaType,
        ProblemCode::ProtocolVersionUnsupported,
        ProblemCode::Unauthenticated,
        ProblemCode::DeviceRevoked,
        ProblemCode::ForbiddenJurisdiction,
        ProblemCode::EnrollmentCodeInvalid,
        ProblemCode::EnrollmentCodeUsed,
        ProblemCode::NotFound,
        ProblemCode::UploadOffsetMismatch,
        ProblemCode::ChecksumMismatch,
        ProblemCode::ChecksumAlgorithmUnsupported,
        ProblemCode::PhotoHashMismatch,
        ProblemCode::PhotoNotReferenced,
        ProblemCode::UploadLengthInvalid,
        ProblemCode::TusVersionUnsupported,
        ProblemCode::MethodNotAllowed,
        ProblemCode::RequestTimeout,
        ProblemCode::ForbiddenRole,
        ProblemCode::UnknownHazard,
        ProblemCode::RecordIdTaken,
        ProblemCode::ChainBroken,
        ProblemCode::TooManyUploads,
        ProblemCode::Unavailable,
        ProblemCode::Internal,
        ProblemCode::PayloadHashMismatch,
        ProblemCode::PayloadInvalid,
        ProblemCode::SeqReused,
        ProblemCode::UnknownEnterprise,
        ProblemCode::PayloadTooLarge,
        ProblemCode::HazardTransition,
        ProblemCode::InvalidRequest,
        ProblemCode::AccountLocked,
        ProblemCode::CsrfFailed,
        ProblemCode::RateLimited,
        ProblemCode::AccountDisabled,
        ProblemCode::Unrecognized,
    ];

    /// The code as it appears on the wire (`record_conflict`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::MalformedBody => "malformed_body",
            ProblemCode::BodyTooLarge => "body_too_large",
            ProblemCode::BatchTooLarge => "batch_too_large",
            ProblemCode::UnsupportedMediaType => "unsupported_media_type",
            ProblemCode::ProtocolVersionUnsupported => "protocol_version_unsupported",
            ProblemCode::Unauthenticated => "unauthenticated",
            ProblemCode::DeviceRevoked => "device_revoked",
            ProblemCode::ForbiddenJurisdiction => "forbidden_jurisdiction",
            ProblemCode::EnrollmentCodeInvalid => "enrollment_code_invalid",
            ProblemCode::EnrollmentCodeUsed => "enrollment_code_used",
            ProblemCode::NotFound => "not_found",
            ProblemCode::UploadOffsetMismatch => "upload_offset_mismatch",
            ProblemCode::ChecksumMismatch => "checksum_mismatch",
            ProblemCode::ChecksumAlgorithmUnsupported => "checksum_algorithm_unsupported",
            ProblemCode::PhotoHashMismatch => "photo_hash_mismatch",
            ProblemCode::PhotoNotReferenced => "photo_not_referenced",
            ProblemCode::UploadLengthInvalid => "upload_length_invalid",
            ProblemCode::TusVersionUnsupported => "tus_version_unsupported",
            ProblemCode::MethodNotAllowed => "method_not_allowed",
            ProblemCode::RequestTimeout => "request_timeout",
            ProblemCode::ForbiddenRole => "forbidden_role",
            ProblemCode::UnknownHazard => "unknown_hazard",
            ProblemCode::RecordIdTaken => "record_id_taken",
            ProblemCode::ChainBroken => "chain_broken",
            ProblemCode::TooManyUploads => "too_many_uploads",
            ProblemCode::Unavailable => "unavailable",
            ProblemCode::Internal => "internal",
            ProblemCode::PayloadHashMismatch => "payload_hash_mismatch",
            ProblemCode::PayloadInvalid => "payload_invalid",
            ProblemCode::SeqReused => "seq_reused",
            ProblemCode::UnknownEnterprise => "unknown_enterprise",
            ProblemCode::PayloadTooLarge => "payload_too_large",
            ProblemCode::HazardTransition => "hazard_transition",
            ProblemCode::InvalidRequest => "invalid_request",
            ProblemCode::AccountLocked => "account_locked",
            ProblemCode::CsrfFailed => "csrf_failed",
            ProblemCode::RateLimited => "rate_limited",
            ProblemCode::AccountDisabled => "account_disabled",
            ProblemCode::Unrecognized => "unrecognized",
        }
    }

    /// The HTTP status a whole-request problem is answered with (500 for
    /// [`ProblemCode::Unrecognized`], which no server sends).
    pub fn http_status(self) -> u16 {
        match self {
            ProblemCode::MalformedBody
            | ProblemCode::ProtocolVersionUnsupported
            | ProblemCode::EnrollmentCodeInvalid
            | ProblemCode::ChecksumAlgorithmUnsupported
            | ProblemCode::UploadLengthInvalid
            | ProblemCode::PayloadHashMismatch
            | ProblemCode::PayloadInvalid
            | ProblemCode::UnknownEnterprise => 400,
            ProblemCode::PayloadTooLarge => 413,
            ProblemCode::Unauthenticated
            | ProblemCode::DeviceRevoked
            | ProblemCode::AccountDisabled => 401,
            ProblemCode::ForbiddenJurisdiction
            | ProblemCode::ForbiddenRole
            | ProblemCode::CsrfFailed => 403,
            ProblemCode::NotFound => 404,
            ProblemCode::MethodNotAllowed => 405,
            ProblemCode::RequestTimeout => 408,
            ProblemCode::EnrollmentCodeUsed
            | ProblemCode::UploadOffsetMismatch
            | ProblemCode::PhotoNotReferenced
            | ProblemCode::SeqReused
            | ProblemCode::UnknownHazard
            | ProblemCode::RecordIdTaken
            | ProblemCode::ChainBroken
            | ProblemCode::HazardTransition => 409,
            ProblemCode::TusVersionUnsupported => 412,
            ProblemCode::BodyTooLarge | ProblemCode::BatchTooLarge => 413,
            ProblemCode::UnsupportedMediaType => 415,
            ProblemCode::PhotoHashMismatch | ProblemCode::InvalidRequest => 422,
            ProblemCode::TooManyUploads | ProblemCode::AccountLocked | ProblemCode::RateLimited => {
                429
            }
            ProblemCode::ChecksumMismatch => 460,
            ProblemCode::Internal | ProblemCode::Unrecognized => 500,
            ProblemCode::Unavailable => 503,
        }
    }

    /// A short English title.
    pub fn title(self) -> &'static str {
        match self {
            ProblemCode::MalformedBody => "The request body is not what this endpoint expects",
            ProblemCode::BodyTooLarge => "The request body is too large",
            ProblemCode::BatchTooLarge => "Too many records in one push",
            ProblemCode::UnsupportedMediaType => "Unsupported Content-Type or Content-Encoding",
            ProblemCode::ProtocolVersionUnsupported => "Unsupported protocol version",
            ProblemCode::Unauthenticated => "Not authenticated",
            ProblemCode::DeviceRevoked => "This device has been revoked",
            ProblemCode::ForbiddenJurisdiction => "Outside the caller's jurisdiction",
            ProblemCode::EnrollmentCodeInvalid => "Unknown or expired enrollment code",
            ProblemCode::EnrollmentCodeUsed => "Enrollment code already used by another device",
            ProblemCode::NotFound => "Not found",
            ProblemCode::UploadOffsetMismatch => "Upload-Offset does not match the server",
            ProblemCode::ChecksumMismatch => "Chunk checksum mismatch",
            ProblemCode::ChecksumAlgorithmUnsupported => "Unsupported checksum algorithm",
            ProblemCode::PhotoHashMismatch => "The uploaded photo does not have the declared hash",
            ProblemCode::PhotoNotReferenced => "No record of this device references this photo",
            ProblemCode::UploadLengthInvalid => "Invalid or too large Upload-Length",
            ProblemCode::TusVersionUnsupported => "Unsupported tus version",
            ProblemCode::MethodNotAllowed => "This endpoint does not take this method",
            ProblemCode::RequestTimeout => "The request took too long",
            ProblemCode::ForbiddenRole => "The caller's role may not record this hazard event",
            ProblemCode::UnknownHazard => "No hazard with this id is held by the server",
            ProblemCode::RecordIdTaken => "This record id belongs to another device",
            ProblemCode::ChainBroken => {
                "The record's chain link does not continue the device's chain"
            }
            ProblemCode::TooManyUploads => "Too many open uploads for this device",
            ProblemCode::Unavailable => "Service unavailable, retry later",
            ProblemCode::Internal => "Internal server error",
            ProblemCode::PayloadHashMismatch => "Payload does not have the declared SHA-256",
            ProblemCode::PayloadInvalid => "Invalid record payload",
            ProblemCode::SeqReused => "Sequence number already used by another record",
            ProblemCode::UnknownEnterprise => "Enterprise not in the register",
            ProblemCode::PayloadTooLarge => "The record's payload is over the server's limit",
            ProblemCode::HazardTransition => {
                "The hazard action is not allowed in the hazard's current state"
            }
            ProblemCode::InvalidRequest => "The request names something that cannot be used",
            ProblemCode::AccountLocked => "Too many failed sign-ins: locked for a while",
            ProblemCode::CsrfFailed => "Missing or wrong CSRF token",
            ProblemCode::RateLimited => "Too many requests: try again after Retry-After",
            ProblemCode::AccountDisabled => "This user has been disabled",
            ProblemCode::Unrecognized => "A problem this version does not know",
        }
    }

    /// True if retrying the same request later may succeed. Exhaustive on purpose: a
    /// new code must decide. For [`ProblemCode::Unrecognized`] the HTTP status decides.
    pub fn is_retryable(self) -> bool {
        match self {
            ProblemCode::Unavailable
            | ProblemCode::Internal
            | ProblemCode::ChecksumMismatch
            | ProblemCode::UploadOffsetMismatch
            | ProblemCode::RequestTimeout
            | ProblemCode::TooManyUploads
            | ProblemCode::RateLimited => true,
            ProblemCode::MalformedBody
            | ProblemCode::BodyTooLarge
            | ProblemCode::BatchTooLarge
            | ProblemCode::UnsupportedMediaType
            | ProblemCode::ProtocolVersionUnsupported
            | ProblemCode::Unauthenticated
            | ProblemCode::DeviceRevoked
            | ProblemCode::ForbiddenJurisdiction
            | ProblemCode::EnrollmentCodeInvalid
            | ProblemCode::EnrollmentCodeUsed
            | ProblemCode::NotFound
            | ProblemCode::ChecksumAlgorithmUnsupported
            | ProblemCode::PhotoHashMismatch
            | ProblemCode::PhotoNotReferenced
            | ProblemCode::UploadLengthInvalid
            | ProblemCode::TusVersionUnsupported
            | ProblemCode::MethodNotAllowed
            | ProblemCode::ForbiddenRole
            | ProblemCode::UnknownHazard
            | ProblemCode::RecordIdTaken
            | ProblemCode::ChainBroken
            | ProblemCode::PayloadHashMismatch
            | ProblemCode::PayloadInvalid
            | ProblemCode::SeqReused
            | ProblemCode::UnknownEnterprise
            | ProblemCode::PayloadTooLarge
            | ProblemCode::HazardTransition
            | ProblemCode::InvalidRequest
            | ProblemCode::AccountLocked
            | ProblemCode::CsrfFailed
            | ProblemCode::AccountDisabled
            | ProblemCode::Unrecognized => false,
        }
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 7807 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// `urn:gridwalk:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub code: ProblemCode,
    pub title: String,
    pub detail: String,
    pub status: u16,
}

impl Problem {
    /// A problem with the code's title and status.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: format!("urn:gridwalk:problem:{}", code.as_str()),
            code,
            title: code.title().to_string(),
            detail: detail.into(),
            status: code.http_status(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_serializes_with_type_code_title_detail_and_status() {
        let p = Problem::new(ProblemCode::SeqReused, "seq 3 is taken");
        let v = serde_json::to_value(&p).expect("serializes");
        assert_eq!(
            v,
            serde_json::json!({"type": "urn:gridwalk:problem:seq_reused", "code": "seq_reused",
                "title": "Sequence number already used by another record",
                "detail": "seq 3 is taken", "status": 409})
        );
    }

    #[test]
    fn every_code_serializes_as_its_wire_name_and_is_documented() {
        let doc = include_str!("../../../docs/sync-protocol.md");
        for c in ProblemCode::ALL {
            let s = serde_json::to_value(c).expect("serializes");
            assert_eq!(s, serde_json::Value::String(c.as_str().into()));
            assert!(
                doc.contains(&format!("`{}`", c.as_str())),
                "{c} undocumented"
            );
        }
    }

    #[test]
    fn all_lists_every_code_once_with_its_status() {
        let mut seen = std::collections::HashSet::new();
        for c in ProblemCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice in ALL");
            let back: ProblemCode =
                serde_json::from_value(serde_json::Value::String(c.as_str().into()))
                    .expect("parses");
            assert_eq!(back, *c);
            assert!((400..600).contains(&c.http_status()), "{c}");
        }
        assert_eq!(ProblemCode::RequestTimeout.http_status(), 408);
        assert_eq!(ProblemCode::MethodNotAllowed.http_status(), 405);
        assert_eq!(ProblemCode::TooManyUploads.http_status(), 429);
    }

    #[test]
    fn a_problem_with_a_code_from_a_newer_server_still_parses() {
        let p: Problem = serde_json::from_value(serde_json::json!({
            "type": "urn:gridwalk:problem:quota_exceeded", "code": "quota_exceeded",
            "title": "Quota exceeded", "detail": "too much", "status": 429}))
        .expect("parses");
        assert_eq!(p.code, ProblemCode::Unrecognized);
        assert_eq!(p.status, 429);
    }
}
