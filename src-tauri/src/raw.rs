//! Raw-body commands (photos, signature): the bytes come as the request body, the
//! small arguments as ASCII headers (docs/ipc.md). Everything here is untrusted input
//! from the web view: sizes are checked and malformed headers refused with
//! `app.bad_argument`.

use crate::error::IpcError;
use chrono::{DateTime, FixedOffset};
use gridwalk_device::photo_upload::{check_upload_size, Capture};
use gridwalk_evidence::stamp::GpsStamp;
use tauri::ipc::{InvokeBody, Request};
use uuid::Uuid;

/// The raw body, refused when it is JSON or larger than 30 MiB (`evidence.too_large`).
pub fn body<'a>(request: &'a Request<'_>) -> Result<&'a [u8], IpcError> {
    match request.body() {
        InvokeBody::Raw(bytes) => {
            check_upload_size(bytes.len())?;
            Ok(bytes)
        }
        InvokeBody::Json(_) => Err(IpcError::bad_argument(
            "expected the bytes as the raw request body, not JSON",
        )),
    }
}

/// A header's value, if present (must be ASCII).
pub fn header<'a>(request: &'a Request<'_>, name: &str) -> Result<Option<&'a str>, IpcError> {
    request
        .headers()
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| IpcError::bad_argument(format!("header {name} is not ASCII")))
        })
        .transpose()
}

/// A header that must be present and non-empty.
pub fn required<'a>(request: &'a Request<'_>, name: &str) -> Result<&'a str, IpcError> {
    header(request, name)?
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| IpcError::bad_argument(format!("header {name} is missing")))
}

/// A UUID header.
pub fn uuid(value: &str, name: &str) -> Result<Uuid, IpcError> {
    Uuid::parse_str(value.trim())
        .map_err(|_| IpcError::bad_argument(format!("header {name} is not a UUID: {value}")))
}

/// `gridwalk-device-time` (RFC 3339 with offset) and `gridwalk-stamp` (`GpsStamp`
/// JSON, `null` or absent: none).
pub fn capture(request: &Request<'_>) -> Result<Capture, IpcError> {
    let t = required(request, "gridwalk-device-time")?;
    let device_time = DateTime::<FixedOffset>::parse_from_rfc3339(t).map_err(|e| {
        IpcError::bad_argument(format!("gridwalk-device-time `{t}` is not RFC 3339: {e}"))
    })?;
    let stamp = match header(request, "gridwalk-stamp")?.map(str::trim) {
        None | Some("") | Some("null") => None,
        Some(json) => Some(serde_json::from_str::<GpsStamp>(json).map_err(|e| {
            IpcError::new(
                "evidence.bad_position",
                format!("gridwalk-stamp refused: {e}"),
            )
        })?),
    };
    Ok(Capture { device_time, stamp })
}

/// Decodes percent-encoded UTF-8 (`encodeURIComponent`).
pub fn percent_decode(s: &str, name: &str) -> Result<String, IpcError> {
    let bad = || IpcError::bad_argument(format!("header {name} is not percent-encoded UTF-8"));
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_gives_back_chinese_names() {
        assert_eq!(
            percent_decode("%E5%BC%A0%E4%B8%89", "x").expect("ok"),
            "张三"
        );
        assert_eq!(percent_decode("Li%20Si", "x").expect("ok"), "Li Si");
        assert_eq!(
            percent_decode("%E5%BC", "x").expect_err("bad").code,
            "app.bad_argument"
        );
        assert_eq!(
            percent_decode("%G1", "x").expect_err("bad").code,
            "app.bad_argument"
        );
        assert_eq!(
            percent_decode("%4", "x").expect_err("bad").code,
            "app.bad_argument"
        );
    }
}
