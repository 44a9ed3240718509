//! Signatures (签字) on inspections: the PNG the signer drew on the phone, stored before
//! finalize as a chain-linked evidence record of kind `signature` that names the
//! inspection and the signer (migration 0005). The PNG lives in the row, committed in
//! one transaction with its chain link; the payload (canonical JSON) cites its SHA-256.
//!
//! The web view is untrusted: the PNG must decode, within
//! `gridwalk_protocol::limits` (≤ 512 KiB, ≤ 2000×1000 px), the signer's name is
//! bounded, and an inspection holds at most four signatures.

use crate::error::StoreError;
use crate::evidence::{append_chain, device_id, EvidenceError};
use crate::inspection::lifecycle::load_row;
use crate::inspection::{begin, check_text, InspectionError};
use crate::store::Store;
use chrono::{DateTime, FixedOffset, Utc};
use gridwalk_checklist::canonical::{sha256_hex, to_canonical_json};
use gridwalk_evidence::stamp::{assess, GpsPolicy, GpsStamp, StampFlag};
use gridwalk_protocol::limits::{
    MAX_NAME_CHARS, MAX_SIGNATURES_PER_INSPECTION, MAX_SIGNATURE_BYTES, MAX_SIGNATURE_HEIGHT,
    MAX_SIGNATURE_WIDTH,
};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// What can go wrong storing a signature.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The inspection is unknown or finalized, the stamp is refused, or the store failed.
    #[error(transparent)]
    Inspection(#[from] InspectionError),
    /// The bytes are not a PNG.
    #[error("the signature is not a PNG image")]
    NotPng,
    /// More bytes than accepted.
    #[error("the signature is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Body size.
        size: u64,
        /// Largest accepted.
        max: u64,
    },
    /// The signer's name is empty.
    #[error("the signer's name is empty")]
    EmptySigner,
    /// The PNG does not decode.
    #[error("the signature PNG does not decode: {0}")]
    BadPng(String),
    /// The PNG is wider or taller than accepted.
    #[error(
        "the signature is {width}×{height} px, more than the {max_width}×{max_height} accepted"
    )]
    TooManyPixels {
        /// Width of the PNG.
        width: u32,
        /// Height of the PNG.
        height: u32,
        /// Widest accepted.
        max_width: u32,
        /// Tallest accepted.
        max_height: u32,
    },
    /// The inspection already holds the most signatures allowed.
    #[error("the inspection already has {max} signatures, the most allowed")]
    TooMany {
        /// `MAX_SIGNATURES_PER_INSPECTION`.
        max: usize,
    },
}

impl From<StoreError> for SignatureError {
    fn from(e: StoreError) -> Self {
        SignatureError::Inspection(e.into())
    }
}

impl From<rusqlite::Error> for SignatureError {
    fn from(e: rusqlite::Error) -> Self {
        SignatureError::Inspection(e.into())
    }
}

impl SignatureError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Inspection(e) => e.code(),
            SignatureError::NotPng => "evidence.bad_photo",
            SignatureError::BadPng(_) => "signature.bad_image",
            SignatureError::TooLarge { .. } | SignatureError::TooManyPixels { .. } => {
                "signature.too_large"
            }
            SignatureError::TooMany { .. } => "signature.too_many",
            SignatureError::EmptySigner => "app.bad_argument",
        }
    }
}

/// A signature to store.
#[derive(Debug, Clone)]
pub struct SignatureInput<'a> {
    /// The PNG bytes.
    pub png: &'a [u8],
    /// Who signed (the enterprise's representative), as written.
    pub signer: &'a str,
    /// Phone clock when it was signed.
    pub device_time: DateTime<FixedOffset>,
    /// Where it was signed, if known.
    pub stamp: Option<GpsStamp>,
}

/// The frozen payload of a signature record; its canonical JSON is hashed into the chain.
#[derive(Debug, Clone, Serialize)]
pub struct SignaturePayload {
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub id: Uuid,
    pub device_id: String,
    pub inspection_id: Uuid,
    pub enterprise_id: Uuid,
    pub inspector: String,
    pub signer: String,
    pub device_time: DateTime<FixedOffset>,
    pub png_sha256: String,
    pub png_bytes: u64,
    pub stamp: Option<GpsStamp>,
    pub stamp_flags: Vec<StampFlag>,
}

/// A stored signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureRecord {
    #[serde(flatten)]
    pub payload: SignaturePayload,
    pub payload_sha256: String,
    pub chain_seq: u64,
}

/// What the app returns: the PNG's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureResult {
    pub sha256: String,
}

impl From<&SignatureRecord> for SignatureResult {
    fn from(r: &SignatureRecord) -> Self {
        SignatureResult {
            sha256: r.payload.png_sha256.clone(),
        }
    }
}

/// Checks a signature PNG: at most [`MAX_SIGNATURE_BYTES`], a PNG signature, a
/// header within [`MAX_SIGNATURE_WIDTH`]×[`MAX_SIGNATURE_HEIGHT`] (read before any
/// pixel buffer is allocated), and pixel data that decodes completely.
pub fn check_png(png: &[u8]) -> Result<(), SignatureError> {
    if png.len() > MAX_SIGNATURE_BYTES {
        return Err(SignatureError::TooLarge {
            size: png.len() as u64,
            max: MAX_SIGNATURE_BYTES as u64,
        });
    }
    if !png.starts_with(PNG_MAGIC) || png.len() < PNG_MAGIC.len() + 25 {
        return Err(SignatureError::NotPng);
    }
    let bad = |e: png::DecodingError| SignatureError::BadPng(e.to_string());
    // 2000×1000 px of 16-bit RGBA is 16 MB: the decoder may allocate no more than that
    // plus its working buffers.
    let limits = png::Limits {
        bytes: 24 * 1024 * 1024,
    };
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(png), limits);
    let (width, height) = decoder.read_header_info().map_err(bad)?.size();
    if width > MAX_SIGNATURE_WIDTH || height > MAX_SIGNATURE_HEIGHT {
        return Err(SignatureError::TooManyPixels {
            width,
            height,
            max_width: MAX_SIGNATURE_WIDTH,
            max_height: MAX_SIGNATURE_HEIGHT,
        });
    }
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| SignatureError::BadPng("image too large for this platform".into()))?;
    let mut buf = vec![0u8; size];
    reader.next_frame(&mut buf).map_err(bad)?;
    Ok(())
}

impl Store {
    /// Stores a signature on a draft inspection (refused once it is finalized).
    pub fn attach_signature(
        &self,
        inspection_id: &str,
        input: &SignatureInput<'_>,
    ) -> Result<SignatureRecord, SignatureError> {
        let signer = input.signer.trim();
        if signer.is_empty() {
            return Err(SignatureError::EmptySigner);
        }
        check_text("signer", signer, MAX_NAME_CHARS)?;
        check_png(input.png)?;
        let id = Uuid::parse_str(inspection_id.trim())
            .map_err(|_| InspectionError::InspectionNotFound(inspection_id.to_string()))?;
        let stamp_flags = match &input.stamp {
            Some(s) => assess(s, &GpsPolicy::default())
                .map_err(|e| InspectionError::Evidence(EvidenceError::Stamp(e)))?,
            None => Vec::new(),
        };
        let tx = begin(&self.conn)?;
        let row = load_row(&tx, &id)?;
        if row.payload.is_some() {
            return Err(InspectionError::AlreadyFinalized(id.to_string()).into());
        }
        let held: i64 = tx.query_row(
            "SELECT count(*) FROM signature WHERE inspection_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        if held as usize >= MAX_SIGNATURES_PER_INSPECTION {
            return Err(SignatureError::TooMany {
                max: MAX_SIGNATURES_PER_INSPECTION,
            });
        }
        let payload = SignaturePayload {
            record_type: "signature",
            id: Uuid::now_v7(),
            device_id: device_id(&tx)?,
            inspection_id: id,
            enterprise_id: row.enterprise_id,
            inspector: row.inspector.clone(),
            signer: signer.to_string(),
            device_time: input.device_time,
            png_sha256: sha256_hex(input.png),
            png_bytes: input.png.len() as u64,
            stamp: input.stamp.clone(),
            stamp_flags,
        };
        let bytes = to_canonical_json(&payload).map_err(InspectionError::Serialize)?;
        let payload_sha256 = sha256_hex(&bytes);
        let text = String::from_utf8(bytes).map_err(|e| StoreError::Corrupt {
            table: "signature",
            column: "payload",
            detail: e.to_string(),
        })?;
        let link = append_chain(&tx, "signature", &payload.id.to_string(), &payload_sha256)?;
        tx.execute(
            "INSERT INTO signature (id, inspection_id, signer, png_sha256, png, payload, \
                 payload_sha256, chain_seq, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                payload.id.to_string(),
                id.to_string(),
                payload.signer,
                payload.png_sha256,
                input.png,
                text,
                payload_sha256,
                link.seq as i64,
                Utc::now().to_rfc3339(),
            ],
        )?;
        tx.commit()?;
        Ok(SignatureRecord {
            payload,
            payload_sha256,
            chain_seq: link.seq,
        })
    }

    /// The signatures of an inspection, oldest first: `(signer, png_sha256, chain_seq)`.
    pub fn signatures(
        &self,
        inspection_id: &str,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT signer, png_sha256, chain_seq FROM signature WHERE inspection_id = ?1 ORDER BY chain_seq",
        )?;
        let rows = stmt.query_map([inspection_id.trim()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Checks every signature against its chain link and its PNG against the recorded
    /// hash; returns the problems found.
    pub fn verify_signatures(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.png, s.png_sha256, s.payload, s.payload_sha256, c.payload_sha256, c.kind, c.record_id \
             FROM signature s LEFT JOIN evidence_chain c ON c.seq = s.chain_seq ORDER BY s.chain_seq",
        )?;
        type Row = (
            String,
            Vec<u8>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<Result<Vec<Row>, _>>()?;
        let mut problems = Vec::new();
        for (id, png, png_sha, payload, sha, link_sha, kind, record) in rows {
            if sha256_hex(&png) != png_sha || !payload.contains(&png_sha) {
                problems.push(format!("signature {id}: PNG does not match its hash"));
            }
            if sha256_hex(payload.as_bytes()) != sha {
                problems.push(format!("signature {id}: payload was altered"));
            }
            if link_sha.as_deref() != Some(sha.as_str())
                || kind.as_deref() != Some("signature")
                || record.as_deref() != Some(id.as_str())
            {
                problems.push(format!("signature {id}: does not match its chain link"));
            }
        }
        Ok(problems)
    }
}
