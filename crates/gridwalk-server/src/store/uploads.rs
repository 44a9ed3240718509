//! Photo uploads (tus): upload rows and their parts, completion, stale uploads, and
//! whether a photo is referenced or held.

use super::*;

/// A tus upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: Uuid,
    pub device_id: Uuid,
    pub sha256: String,
    pub length: u64,
    pub offset: u64,
    /// The `Upload-Metadata` header as received.
    pub metadata: String,
    pub completed: bool,
}

/// An accepted evidence record of photo `$1` that device `$2` pushed or holds: from the
/// hash index of evidence links (`crate::query_plans` tests the plan).
pub(crate) const PHOTO_EVIDENCE_OF_DEVICE: &str =
    "SELECT 1 FROM record_photo rp CROSS JOIN record r
     WHERE r.id = rp.record_id AND rp.sha256 = $1 AND rp.evidence = 1 AND r.state = 'accepted'
       AND (r.device_id = $2 OR EXISTS (SELECT 1 FROM record_holder h
            WHERE h.record_id = r.id AND h.device_id = $2))";

/// Any accepted record that device `$2` pushed or holds naming photo `$1`: from the
/// device's records (`crate::query_plans` tests the plan).
pub(crate) const PHOTO_OF_DEVICE_RECORDS: &str = "SELECT 1 FROM record r CROSS JOIN record_photo rp
     WHERE rp.record_id = r.id AND r.device_id = $2 AND r.state = 'accepted' AND rp.sha256 = $1
     UNION ALL
     SELECT 1 FROM record_holder h CROSS JOIN record r CROSS JOIN record_photo rp
     WHERE r.id = h.record_id AND rp.record_id = r.id AND h.device_id = $2
       AND r.state = 'accepted' AND rp.sha256 = $1
     LIMIT 1";

impl Store {
    /// True if an accepted record this device pushed or holds references the photo.
    ///
    /// The photo's evidence record is found through the hash index, which holds evidence
    /// links alone (migration 0023); only when there is none are the device's other
    /// records read, by device.
    pub fn photo_referenced(&self, caller: &Caller, sha256: &str) -> Result<bool, StoreError> {
        let params = [sha256.into(), caller.device_id.to_string().into()];
        self.tx(|t| {
            if t.query_opt(PHOTO_EVIDENCE_OF_DEVICE, &params)?.is_some() {
                return Ok(true);
            }
            Ok(t.query_opt(PHOTO_OF_DEVICE_RECORDS, &params)?.is_some())
        })
    }

    /// Creates an upload; complete at once if this device (or the same person's device
    /// under an earlier enrollment) already delivered the photo.
    /// Refused as `too_many_uploads` when the device would have more than `max_open`
    /// unfinished uploads or more than `max_open_bytes` declared in them.
    pub fn create_upload(
        &self,
        caller: &Caller,
        sha256: &str,
        length: u64,
        metadata: &str,
        max_open: u64,
        max_open_bytes: u64,
    ) -> Result<Upload, StoreError> {
        let id = Uuid::now_v7();
        let device = caller.device_id.to_string();
        self.tx(|t| {
            // Delivered by this device, or by the same person's device under an earlier
            // enrollment (a re-enrolled phone does not upload its photos again).
            let held = t
                .query_opt(
                    "SELECT 1 FROM blob_source bs JOIN device src ON src.id = bs.device_id
                     WHERE bs.sha256 = $1
                       AND src.user_id = (SELECT user_id FROM device WHERE id = $2)",
                    &[sha256.into(), device.clone().into()],
                )?
                .is_some();
            if held {
                t.exec(
                    "INSERT INTO blob_source (sha256, device_id, verified_at) VALUES ($1, $2, $3)
                     ON CONFLICT (sha256, device_id) DO NOTHING",
                    &[sha256.into(), device.clone().into(), ts(now()).into()],
                )?;
            }
            if !held {
                let open = t
                    .query_opt(
                        "SELECT COUNT(*), CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM upload
                         WHERE device_id = $1 AND completed_at IS NULL",
                        &[device.clone().into()],
                    )?
                    .ok_or_else(|| StoreError::Corrupt("no count".into()))?;
                let (count, bytes) = (open.int(0)? as u64, open.int(1)? as u64);
                if count >= max_open || bytes.saturating_add(length) > max_open_bytes {
                    return Err(problem(
                        ProblemCode::TooManyUploads,
                        format!(
                            "this device has {count} unfinished uploads of {bytes} bytes; at most {max_open} \
                             uploads and {max_open_bytes} bytes may be open at once: finish or delete one first"
                        ),
                    ));
                }
            }
            let offset = if held { length } else { 0 };
            let at = ts(now());
            t.exec(
                "INSERT INTO upload (id, device_id, sha256, length, upload_offset, metadata, created_at, completed_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)",
                &[
                    id.to_string().into(),
                    device.clone().into(),
                    sha256.into(),
                    (length as i64).into(),
                    (offset as i64).into(),
                    metadata.into(),
                    at.clone().into(),
                    held.then(|| at.clone()).into(),
                ],
            )?;
            Ok(Upload {
                id,
                device_id: caller.device_id,
                sha256: sha256.to_string(),
                length,
                offset,
                metadata: metadata.to_string(),
                completed: held,
            })
        })
    }

    /// An upload of the caller's device.
    pub fn upload(&self, caller: &Caller, id: Uuid) -> Result<Upload, StoreError> {
        let row = self.tx(|t| {
            t.query_opt(
                "SELECT sha256, length, upload_offset, metadata, completed_at FROM upload WHERE id = $1 AND device_id = $2",
                &[id.to_string().into(), caller.device_id.to_string().into()],
            )
            .map_err(StoreError::from)
        })?;
        let row = row.ok_or_else(|| problem(ProblemCode::NotFound, format!("no upload {id}")))?;
        Ok(Upload {
            id,
            device_id: caller.device_id,
            sha256: row.str(0)?,
            length: row.int(1)? as u64,
            offset: row.int(2)? as u64,
            metadata: row.str(3)?,
            completed: row.text(4)?.is_some(),
        })
    }

    /// Moves an upload's offset from `from` to `to` and records the chunk's object
    /// (`object_key`, holding bytes `from..to`) as part of it, in one transaction;
    /// false if the upload was not at `from` (another request, perhaps on another
    /// replica, moved it first) or is complete, and then nothing is recorded.
    pub fn advance_upload(
        &self,
        id: Uuid,
        from: u64,
        to: u64,
        object_key: &str,
    ) -> Result<bool, StoreError> {
        self.tx(|t| {
            let moved = t.exec(
                "UPDATE upload SET upload_offset = $1, updated_at = $4
                 WHERE id = $2 AND upload_offset = $3 AND completed_at IS NULL",
                &[
                    (to as i64).into(),
                    id.to_string().into(),
                    (from as i64).into(),
                    ts(now()).into(),
                ],
            )? == 1;
            if moved {
                t.exec(
                    "INSERT INTO upload_part (upload_id, start, length, object_key) VALUES ($1, $2, $3, $4)",
                    &[
                        id.to_string().into(),
                        (from as i64).into(),
                        (to.saturating_sub(from) as i64).into(),
                        object_key.into(),
                    ],
                )?;
            }
            Ok(moved)
        })
    }

    /// The committed chunks of an upload in order: (start, length, object key).
    pub fn upload_parts(&self, id: Uuid) -> Result<Vec<(u64, u64, String)>, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT start, length, object_key FROM upload_part WHERE upload_id = $1 ORDER BY start",
                &[id.to_string().into()],
            )
            .map_err(StoreError::from)
        })?;
        rows.iter()
            .map(|r| Ok((r.int(0)? as u64, r.int(1)? as u64, r.str(2)?)))
            .collect()
    }

    /// Records a verified photo, delivered by the upload's device, and closes the upload.
    pub fn complete_upload(&self, id: Uuid, sha256: &str, size: u64) -> Result<(), StoreError> {
        let at = ts(now());
        self.tx(|t| {
            t.exec(
                "INSERT INTO blob (sha256, size, verified_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
                &[sha256.into(), (size as i64).into(), at.clone().into()],
            )?;
            t.exec(
                "INSERT INTO blob_source (sha256, device_id, verified_at)
                 SELECT $1, device_id, $2 FROM upload WHERE id = $3
                 ON CONFLICT (sha256, device_id) DO NOTHING",
                &[sha256.into(), at.clone().into(), id.to_string().into()],
            )?;
            t.exec(
                "UPDATE upload SET upload_offset = length, completed_at = $1, updated_at = $1 WHERE id = $2",
                &[at.clone().into(), id.to_string().into()],
            )?;
            t.exec(
                "DELETE FROM upload_part WHERE upload_id = $1",
                &[id.to_string().into()],
            )?;
            Ok(())
        })
    }

    /// Unfinished uploads with no activity since `before` (the expiry sweep's work).
    pub fn stale_uploads(&self, before: DateTime<Utc>) -> Result<Vec<Uuid>, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT id FROM upload WHERE completed_at IS NULL AND updated_at < $1 ORDER BY id",
                &[ts(before).into()],
            )
            .map_err(StoreError::from)
        })?;
        rows.iter().map(|r| uuid_of(r, 0)).collect()
    }

    /// Deletes upload `id` if it is still unfinished and idle since `before` (a PATCH
    /// may have moved it since the sweep listed it); true if deleted.
    pub fn delete_stale_upload(&self, id: Uuid, before: DateTime<Utc>) -> Result<bool, StoreError> {
        self.tx(|t| {
            Ok(t.exec(
                "DELETE FROM upload WHERE id = $1 AND completed_at IS NULL AND updated_at < $2",
                &[id.to_string().into(), ts(before).into()],
            )? == 1)
        })
    }

    /// Every unfinished upload (whose chunks the sweep must keep).
    pub fn open_uploads(&self) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        let rows = self.tx(|t| {
            t.query("SELECT id FROM upload WHERE completed_at IS NULL", &[])
                .map_err(StoreError::from)
        })?;
        rows.iter().map(|r| uuid_of(r, 0)).collect()
    }

    /// Removes an upload (termination, or a failed verification).
    pub fn delete_upload(&self, id: Uuid) -> Result<(), StoreError> {
        self.tx(|t| {
            t.exec("DELETE FROM upload WHERE id = $1", &[id.to_string().into()])?;
            Ok(())
        })
    }

    /// True if the photo is held and verified (from any device).
    pub fn blob_held(&self, sha256: &str) -> Result<bool, StoreError> {
        self.tx(|t| {
            Ok(
                t.query_opt("SELECT 1 FROM blob WHERE sha256 = $1", &[sha256.into()])?
                    .is_some(),
            )
        })
    }
}
