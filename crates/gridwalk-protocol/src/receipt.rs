//! Signed push receipts: the server's word, kept on the device as proof, that it holds
//! these records with these hashes.

use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A record the server holds, as listed in a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptRecord {
    pub id: Uuid,
    /// The position of the device's sequence holding the record: the one it was sent
    /// at, except for a `duplicate` held at another position (sent again by a phone
    /// restored from a copy older than a fork), which the phone adopts.
    pub seq: u64,
    pub payload_sha256: String,
    /// `accepted` (stored by this push) or `duplicate` (stored before).
    pub status: String,
    /// The record's chain-link hash the server holds, when the record came with one:
    /// the server's signature over it anchors the device's chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_sha256: Option<String>,
}

/// What the server signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptBody {
    pub protocol: u32,
    pub device_id: Uuid,
    pub server_time: DateTime<Utc>,
    pub next_seq: u64,
    pub records: Vec<ReceiptRecord>,
}

/// A receipt: the body's exact JSON text and an Ed25519 signature over its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// JSON text of a [`ReceiptBody`].
    pub body: String,
    /// Base64 (standard) of the 64-byte signature of `body`'s UTF-8 bytes.
    pub signature: String,
    /// Which server key signed (see [`key_id`]).
    pub key_id: String,
}

/// Why a receipt does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt signature is not base64 of 64 bytes")]
    BadSignatureEncoding,
    #[error("public key is not base64 of 32 valid bytes")]
    BadKey,
    #[error("receipt signature does not verify")]
    Invalid,
    #[error("receipt body is not a receipt: {0}")]
    Body(#[from] serde_json::Error),
}

/// First 16 hex digits of the SHA-256 of a public key.
pub fn key_id(public: &VerifyingKey) -> String {
    crate::sha256_hex(public.as_bytes())[..16].to_string()
}

/// Base64 (standard) of a public key, as in [`crate::ServerKey`].
pub fn encode_public_key(public: &VerifyingKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(public.as_bytes())
}

/// Parses a base64 public key.
pub fn decode_public_key(b64: &str) -> Result<VerifyingKey, ReceiptError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| ReceiptError::BadKey)?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| ReceiptError::BadKey)?;
    VerifyingKey::from_bytes(&arr).map_err(|_| ReceiptError::BadKey)
}

impl Receipt {
    /// Signs a body.
    pub fn sign(body: &ReceiptBody, key: &SigningKey) -> Result<Receipt, serde_json::Error> {
        let text = serde_json::to_string(body)?;
        let sig = key.sign(text.as_bytes());
        Ok(Receipt {
            signature: base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()),
            key_id: key_id(&key.verifying_key()),
            body: text,
        })
    }

    /// Verifies the signature with the server's public key and returns the body.
    pub fn verify(&self, public: &VerifyingKey) -> Result<ReceiptBody, ReceiptError> {
        let sig = base64::engine::general_purpose::STANDARD
            .decode(&self.signature)
            .map_err(|_| ReceiptError::BadSignatureEncoding)?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| ReceiptError::BadSignatureEncoding)?;
        public
            .verify(self.body.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| ReceiptError::Invalid)?;
        Ok(serde_json::from_str(&self.body)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> ReceiptBody {
        ReceiptBody {
            protocol: 1,
            device_id: Uuid::nil(),
            server_time: Utc::now(),
            next_seq: 2,
            records: vec![ReceiptRecord {
                id: Uuid::nil(),
                seq: 1,
                payload_sha256: crate::sha256_hex(b"x"),
                status: "accepted".into(),
                link_sha256: Some(crate::sha256_hex(b"link")),
            }],
        }
    }

    #[test]
    fn a_signed_receipt_verifies_with_the_servers_public_key() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let r = Receipt::sign(&body(), &key).expect("signs");
        let public = decode_public_key(&encode_public_key(&key.verifying_key())).expect("key");
        assert_eq!(r.verify(&public).expect("verifies").next_seq, 2);
    }

    #[test]
    fn an_altered_receipt_or_another_key_does_not_verify() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let mut r = Receipt::sign(&body(), &key).expect("signs");
        let other = SigningKey::generate(&mut rand::rngs::OsRng);
        assert!(matches!(
            r.verify(&other.verifying_key()),
            Err(ReceiptError::Invalid)
        ));
        r.body = r.body.replace("\"next_seq\":2", "\"next_seq\":3");
        assert!(matches!(
            r.verify(&key.verifying_key()),
            Err(ReceiptError::Invalid)
        ));
    }
}
