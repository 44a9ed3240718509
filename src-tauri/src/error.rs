//! The error contract across the IPC: `{ "code": "...", "message": "..." }`.
//!
//! `code` is stable and machine-readable (the UI maps it to Chinese text, see
//! `docs/ipc.md`); `message` is precise English for logs.

use gridwalk_device::evidence::EvidenceError;
use gridwalk_device::StoreError;
use serde::Serialize;

/// An error as the web view receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl IpcError {
    /// An error with an explicit code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        IpcError {
            code: code.to_string(),
            message: message.into(),
        }
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
}
