//! The error contract across the IPC: `{ "code": "...", "message": "..." }`.
//!
//! `code` is stable and machine-readable (the UI maps it to Chinese text, see
//! `docs/ipc.md`); `message` is precise English for logs.
//!
//! No file-system path crosses the IPC: the web view is untrusted and a path names the
//! app's data directory (and on desktop the user's home). Every message is logged whole
//! (`log::warn!`, target `gridwalk::ipc`) and then sent with each absolute path replaced
//! by `<path>` ([`scrub_paths`]).

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

/// `message` with every absolute path (`/data/user/0/…/photos/ab.jpg`, `C:\Users\…`)
/// replaced by `<path>`. A path starts with `/` (or a drive letter and `:\`) at the
/// start of the text or after a space, quote, bracket or `=`, and runs to the next
/// space, quote, bracket or `: `. URLs (`https://host/…`) are left alone: their `/`
/// follows `:` or a host name.
pub fn scrub_paths(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    let boundary = |c: char| c.is_whitespace() || "\"'`([{<=".contains(c);
    let end_of_path = |c: &[char], j: usize| {
        let ch = c[j];
        ch.is_whitespace()
            || "\"'`)]}>,;".contains(ch)
            || (ch == ':' && c.get(j + 1).is_none_or(|n| n.is_whitespace()))
    };
    while i < chars.len() {
        let at_start = i == 0 || boundary(chars[i - 1]);
        let unix = chars[i] == '/';
        let windows = chars[i].is_ascii_alphabetic()
            && chars.get(i + 1) == Some(&':')
            && chars.get(i + 2) == Some(&'\\');
        if at_start && (unix || windows) {
            // A quoted path runs to its closing quote (it may hold spaces).
            let quote = i
                .checked_sub(1)
                .map(|p| chars[p])
                .filter(|q| "\"'`".contains(*q));
            let mut j = i + 1;
            while j < chars.len()
                && match quote {
                    Some(q) => chars[j] != q,
                    None => !end_of_path(&chars, j),
                }
            {
                j += 1;
            }
            out.push_str("<path>");
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

impl IpcError {
    /// An error with an explicit code. The message is logged whole, then sent with its
    /// paths replaced ([`scrub_paths`]).
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let scrubbed = scrub_paths(&message);
        if scrubbed != message {
            log::warn!(target: "gridwalk::ipc", "{code}: {message}");
        } else {
            log::debug!(target: "gridwalk::ipc", "{code}: {message}");
        }
        IpcError {
            code: code.to_string(),
            message: scrubbed,
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

impl From<gridwalk_device::leases::LeaseError> for IpcError {
    fn from(e: gridwalk_device::leases::LeaseError) -> Self {
        IpcError::new(e.code(), e.to_string())
    }
}

impl From<gridwalk_device::suspected::SuspectedAnswerError> for IpcError {
    fn from(e: gridwalk_device::suspected::SuspectedAnswerError) -> Self {
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
    fn paths_never_cross_the_ipc_but_urls_and_text_do() {
        for (raw, sent) in [
            (
                "cannot read /data/user/0/cn.gridwalk/photos/ab.thumb.jpg: No such file or directory (os error 2)",
                "cannot read <path>: No such file or directory (os error 2)",
            ),
            (
                "sync lock file /home/li/.local/share/gridwalk/gridwalk.db.sync-lock: Is a directory (os error 21)",
                "sync lock file <path>: Is a directory (os error 21)",
            ),
            (
                "cannot open database \"/tmp/x y/d.db\": unable to open",
                "cannot open database \"<path>\": unable to open",
            ),
            (r"cannot read C:\Users\li\a.jpg: denied", "cannot read <path>: denied"),
            (
                "cannot reach the server: error sending request for url (https://gw.example.cn/v1/push)",
                "cannot reach the server: error sending request for url (https://gw.example.cn/v1/push)",
            ),
            ("10号令 第十一条(三) 1/2", "10号令 第十一条(三) 1/2"),
        ] {
            assert_eq!(IpcError::new("x.y", raw).message, sent);
        }
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
