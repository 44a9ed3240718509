//! The error contract across the IPC: `{ "code": "...", "message": "..." }`.
//!
//! `code` is stable and machine-readable (the UI maps it to Chinese text, see
//! `docs/ipc.md`); `message` is precise English for logs.

use gridwalk_device::evidence::EvidenceError;
use gridwalk_device::inspection::checklist::Missing;
use gridwalk_device::inspection::InspectionError;
use gridwalk_device::signature::SignatureError;
use gridwalk_device::StoreError;
use serde::Serialize;

/// An error as the web view receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct IpcError {
    pub code: String,
    pub message: String,
    /// Only with `inspect.incomplete`: what finalize is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Missing>,
}

impl IpcError {
    /// An error with an explicit code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        IpcError {
            code: code.to_string(),
            message: message.into(),
            missing: None,
        }
    }

    /// `app.bad_argument`: an argument or header is missing or malformed.
    pub fn bad_argument(message: impl Into<String>) -> Self {
        IpcError::new("app.bad_argument", message)
    }
}

impl From<gridwalk_device::sync::SyncError> for IpcError {
    fn from(e: gridwalk_device::sync::SyncError) -> Self {
        IpcError::new(&e.code(), e.to_string())
    }
}

impl From<StoreError> for IpcError {
    fn from(e: StoreError) -> Self {
        IpcError::new(e.code(), e.to_string())
    }
}

impl From<EvidenceError> for IpcError {
    fn from(e: EvidenceError) -> Self {
        IpcError::new(e.code(), e.to_string())
    }
}

impl From<InspectionError> for IpcError {
    fn from(e: InspectionError) -> Self {
        let mut out = IpcError::new(e.code(), e.to_string());
        if let InspectionError::Incomplete(m) = e {
            out.missing = Some(m);
        }
        out
    }
}

impl From<SignatureError> for IpcError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Inspection(e) => e.into(),
            e => IpcError::new(e.code(), e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_crosses_the_ipc_as_code_and_message() {
        let e: IpcError = StoreError::NotFound {
            what: "enterprise",
            key: "X".into(),
        }
        .into();
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(
            json,
            serde_json::json!({ "code": "store.not_found", "message": "enterprise not found: X" })
        );
    }

    #[test]
    fn an_incomplete_finalize_carries_what_is_missing() {
        let e: IpcError = InspectionError::Incomplete(Missing {
            unanswered: vec!["MH-PHOTO".into()],
            photo_missing: vec!["MH-D-03".into()],
            invalid: Vec::new(),
        })
        .into();
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json["code"], "inspect.incomplete");
        assert_eq!(
            json["missing"],
            serde_json::json!({"unanswered": ["MH-PHOTO"], "photo_missing": ["MH-D-03"], "invalid": []})
        );
        assert!(json["message"]
            .as_str()
            .is_some_and(|m| m.contains("MH-D-03")));
    }

    #[test]
    fn other_errors_have_no_missing_field() {
        let e: IpcError = SignatureError::NotPng.into();
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({"code": "evidence.bad_photo", "message": "the signature is not a PNG image"})
        );
    }
}
