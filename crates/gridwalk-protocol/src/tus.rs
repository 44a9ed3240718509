//! tus 1.0 header names and the `Upload-Metadata` encoding.

use base64::Engine;

/// The tus version spoken.
pub const TUS_VERSION: &str = "1.0.0";
/// Extensions supported.
pub const TUS_EXTENSIONS: &str = "creation,checksum,termination";
/// Metadata key holding the photo's hex SHA-256.
pub const SHA256_METADATA_KEY: &str = "sha256";

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs (value optional).
pub fn parse_metadata(header: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, ' ');
        let key = parts.next().unwrap_or_default().to_string();
        let value = match parts.next() {
            Some(v) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|_| format!("metadata value of '{key}' is not base64"))?;
                String::from_utf8(bytes)
                    .map_err(|_| format!("metadata value of '{key}' is not UTF-8"))?
            }
            None => String::new(),
        };
        out.push((key, value));
    }
    Ok(out)
}

/// Encodes metadata pairs for `Upload-Metadata`.
pub fn encode_metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `Upload-Checksum` value for a chunk: `sha256 <base64 digest>`.
pub fn chunk_checksum(chunk: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "sha256 {}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(chunk))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_and_keys_without_values_are_kept() {
        let enc = encode_metadata(&[("sha256", "ab"), ("filename", "照片.jpg")]);
        let mut dec = parse_metadata(&enc).expect("parses");
        assert_eq!(dec[1], ("filename".into(), "照片.jpg".into()));
        dec = parse_metadata("is_confidential,sha256 YWI=").expect("parses");
        assert_eq!(dec[0], ("is_confidential".into(), String::new()));
        assert!(parse_metadata("a !!!").is_err());
    }
}
