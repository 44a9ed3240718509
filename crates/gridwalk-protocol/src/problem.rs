//! Typed problems (RFC 7807 JSON): a stable `code` per failure, documented in
//! `docs/sync-protocol.md`, so the app can explain every error in Chinese.

use serde::{Deserialize, Serialize};

/// Every problem code the server answers with (whole-request and per-record).
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
    Unavailable,
    Internal,
    // Per-record codes.
    PayloadHashMismatch,
    PayloadInvalid,
    SeqReused,
    UnknownEnterprise,
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
        ProblemCode::Unavailable,
        ProblemCode::Internal,
        ProblemCode::PayloadHashMismatch,
        ProblemCode::PayloadInvalid,
        ProblemCode::SeqReused,
        ProblemCode::UnknownEnterprise,
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
            ProblemCode::Unavailable => "unavailable",
            ProblemCode::Internal => "internal",
            ProblemCode::PayloadHashMismatch => "payload_hash_mismatch",
            ProblemCode::PayloadInvalid => "payload_invalid",
            ProblemCode::SeqReused => "seq_reused",
            ProblemCode::UnknownEnterprise => "unknown_enterprise",
        }
    }

    /// The HTTP status a whole-request problem is answered with.
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
            ProblemCode::Unauthenticated | ProblemCode::DeviceRevoked => 401,
            ProblemCode::ForbiddenJurisdiction => 403,
            ProblemCode::NotFound => 404,
            ProblemCode::EnrollmentCodeUsed
            | ProblemCode::UploadOffsetMismatch
            | ProblemCode::PhotoNotReferenced
            | ProblemCode::SeqReused => 409,
            ProblemCode::TusVersionUnsupported => 412,
            ProblemCode::BodyTooLarge | ProblemCode::BatchTooLarge => 413,
            ProblemCode::UnsupportedMediaType => 415,
            ProblemCode::PhotoHashMismatch => 422,
            ProblemCode::ChecksumMismatch => 460,
            ProblemCode::Internal => 500,
            ProblemCode::Unavailable => 503,
        }
    }

    /// A short English title.
    pub fn title(self) -> &'static str {
        match self {
            ProblemCode::MalformedBody => "The request body is not what this endpoint expects",
            ProblemCode::BodyTooLarge => "The request body is too large",
            ProblemCode::BatchTooLarge => "Too many records in one push",
            ProblemCode::UnsupportedMediaType => "Unsupported Content-Type",
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
            ProblemCode::Unavailable => "Service unavailable, retry later",
            ProblemCode::Internal => "Internal server error",
            ProblemCode::PayloadHashMismatch => "Payload does not have the declared SHA-256",
            ProblemCode::PayloadInvalid => "Invalid record payload",
            ProblemCode::SeqReused => "Sequence number already used by another record",
            ProblemCode::UnknownEnterprise => "Enterprise not in the register",
        }
    }

    /// True if retrying the same request later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ProblemCode::Unavailable
                | ProblemCode::Internal
                | ProblemCode::ChecksumMismatch
                | ProblemCode::UploadOffsetMismatch
        )
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
}
