//! Photos that arrive as bytes (the app's raw IPC bodies) rather than files: size
//! check, a crash-safe temp file in the photo directory (swept like any other
//! `.gw-tmp-*` leftover), then the ordinary evidence pipeline. Also the watermarked
//! thumbnail of a stored photo, base64 for the web view.

use crate::error::StoreError;
use crate::evidence::{EvidenceError, PhotoInput, PhotoRecord};
use crate::inspection::InspectionError;
use crate::store::Store;
use chrono::{DateTime, FixedOffset};
use gridwalk_evidence::fsio::TEMP_PREFIX;
use gridwalk_evidence::stamp::{GpsStamp, StampFlag};
use rusqlite::OptionalExtension;
use serde::Serialize;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Largest body the app accepts for a photo or a signature: 30 MiB.
pub const MAX_UPLOAD_BYTES: usize = 30 * 1024 * 1024;

/// When and where a photo was taken (from the phone).
#[derive(Debug, Clone)]
pub struct Capture {
    /// Phone clock at capture.
    pub device_time: DateTime<FixedOffset>,
    /// Position; `None`: the photo's own EXIF position is used.
    pub stamp: Option<GpsStamp>,
}

/// A stored photo as the app shows it: `AttachedPhoto` plus the watermarked thumbnail.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoResult {
    /// Photo record id.
    pub photo_id: Uuid,
    /// SHA-256 of the derived (watermarked) photo.
    pub sha256: String,
    /// Item it is attached to (`None` for a photo not tied to an item).
    pub item_id: Option<String>,
    /// `true` when its position lies outside the enterprise's on-site radius.
    pub off_site: Option<bool>,
    /// The watermarked thumbnail JPEG, base64 (no `data:` prefix).
    pub thumbnail_jpeg_base64: String,
    /// What the position check flagged.
    pub stamp_flags: Vec<StampFlag>,
}

/// A thumbnail for the web view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thumbnail {
    /// The watermarked thumbnail JPEG, base64 (no `data:` prefix).
    pub thumbnail_jpeg_base64: String,
}

/// Refuses bodies over [`MAX_UPLOAD_BYTES`] (`evidence.too_large`).
pub fn check_upload_size(len: usize) -> Result<(), EvidenceError> {
    if len > MAX_UPLOAD_BYTES {
        return Err(EvidenceError::TooLarge {
            path: PathBuf::from("<upload>"),
            size: len as u64,
            max: MAX_UPLOAD_BYTES as u64,
        });
    }
    Ok(())
}

/// Standard base64 with padding (thumbnails for the web view).
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn read_thumbnail(path: &Path) -> Result<String, EvidenceError> {
    let bytes = std::fs::read(path).map_err(|source| EvidenceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(base64(&bytes))
}

fn result(record: &PhotoRecord, item_id: Option<String>) -> Result<PhotoResult, EvidenceError> {
    Ok(PhotoResult {
        photo_id: record.payload.id,
        sha256: record.payload.derived_sha256.clone(),
        item_id,
        off_site: record.off_site,
        thumbnail_jpeg_base64: read_thumbnail(&record.thumbnail_path)?,
        stamp_flags: record.payload.stamp_flags.clone(),
    })
}

impl Store {
    /// Writes `bytes` to a temp file in the photo directory, runs `f` on it, removes it.
    fn with_upload<T, E: From<EvidenceError>>(
        &self,
        bytes: &[u8],
        f: impl FnOnce(&Path) -> Result<T, E>,
    ) -> Result<T, E> {
        check_upload_size(bytes.len())?;
        let dir = self.photo_dir();
        let io = |path: &Path, source| EvidenceError::Read {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let path = dir.join(format!("{TEMP_PREFIX}upload-{}", Uuid::now_v7()));
        std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
        let out = f(&path);
        let _ = std::fs::remove_file(&path);
        out
    }

    /// A photo not tied to an item (re-inspection before/after photos), from bytes.
    pub fn add_photo_bytes(
        &self,
        bytes: &[u8],
        enterprise_id: Option<Uuid>,
        inspector: &str,
        capture: &Capture,
    ) -> Result<PhotoResult, EvidenceError> {
        let record = self.with_upload(bytes, |path| {
            self.add_photo(&PhotoInput {
                path: path.to_path_buf(),
                enterprise_id,
                inspector: inspector.to_string(),
                device_time: capture.device_time,
                stamp: capture.stamp.clone(),
            })
        })?;
        result(&record, None)
    }

    /// A photo attached to an item of a draft inspection, from bytes.
    pub fn attach_photo_bytes(
        &self,
        inspection_id: &str,
        item_id: &str,
        bytes: &[u8],
        capture: &Capture,
    ) -> Result<PhotoResult, InspectionError> {
        let (attached, record) = self.with_upload(bytes, |path| {
            self.attach_photo_stamped(
                inspection_id,
                item_id,
                path,
                capture.device_time,
                capture.stamp.clone(),
            )
        })?;
        Ok(result(&record, Some(attached.item_id))?)
    }

    /// The watermarked thumbnail of a stored photo, by the SHA-256 of its derived photo
    /// (what answers cite) or of its original.
    pub fn photo_thumbnail(&self, sha256: &str) -> Result<Thumbnail, EvidenceError> {
        let sha = sha256.trim().to_ascii_lowercase();
        let thumb: Option<String> = self
            .conn
            .query_row(
                "SELECT thumbnail_sha256 FROM photo WHERE derived_sha256 = ?1 OR original_sha256 = ?1 \
                 ORDER BY chain_seq LIMIT 1",
                [&sha],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::from)?;
        let thumb = thumb.ok_or_else(|| StoreError::NotFound {
            what: "photo",
            key: sha256.to_string(),
        })?;
        let path = self.photo_dir().join(format!("{thumb}.thumb.jpg"));
        Ok(Thumbnail {
            thumbnail_jpeg_base64: read_thumbnail(&path)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_over_30_mib_are_too_large() {
        assert!(check_upload_size(MAX_UPLOAD_BYTES).is_ok());
        let e = check_upload_size(MAX_UPLOAD_BYTES + 1).expect_err("too large");
        assert_eq!(e.code(), "evidence.too_large");
    }
}
