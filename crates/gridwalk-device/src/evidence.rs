//! Evidence on the device: the device's identity, its append-only hash chain, and photo
//! records.
//!
//! A photo is processed (orientation, resize, burned-in watermark, thumbnail, hashes),
//! its three files are written crash-safely under their own SHA-256 names in the photo
//! directory beside the database, and only then is the `photo` row committed together
//! with its chain link in one transaction. A kill at any instant therefore leaves either
//! no row (and at most orphan files, which [`Store::sweep_photo_dir`] removes) or a row
//! whose files are all on disk.

use crate::error::StoreError;
use crate::store::Store;
use chrono::{DateTime, FixedOffset, Utc};
use gridwalk_checklist::canonical::to_canonical_json;
use gridwalk_evidence::chain::{verify_chain, ChainLink, ChainProblem};
use gridwalk_evidence::onsite::{onsite_check, OnSiteCheck};
use gridwalk_evidence::photo::{process_photo, PhotoConfig, PhotoError};
use gridwalk_evidence::stamp::{
    assess, stamp_from_exif, GpsPolicy, GpsStamp, StampError, StampFlag,
};
use gridwalk_evidence::watermark::WatermarkInfo;
use gridwalk_evidence::{fsio, sha256_hex};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Default radius (m) around an enterprise's registered location inside which a photo is
/// "on site"; registered points are often the gate or the address, not the workshop.
pub const DEFAULT_ONSITE_RADIUS_M: f64 = 300.0;

/// What can go wrong adding or checking evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("photo refused: {0}")]
    Photo(#[from] PhotoError),
    #[error("position refused: {0}")]
    Stamp(#[from] StampError),
    #[error("writing photo files: {0}")]
    Files(#[from] fsio::FsError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is {size} bytes, more than the {max} accepted")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("cannot serialise the evidence payload: {0}")]
    Payload(#[from] serde_json::Error),
}

impl From<rusqlite::Error> for EvidenceError {
    fn from(e: rusqlite::Error) -> Self {
        EvidenceError::Store(StoreError::Sqlite(e))
    }
}

impl EvidenceError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceError::Store(e) => e.code(),
            EvidenceError::Photo(_) => "evidence.bad_photo",
            EvidenceError::Stamp(_) => "evidence.bad_position",
            EvidenceError::Files(_) => "evidence.files",
            EvidenceError::Read { .. } => "evidence.read_failed",
            EvidenceError::TooLarge { .. } => "evidence.too_large",
            EvidenceError::Payload(_) => "evidence.payload",
        }
    }
}

/// A photo to add as evidence.
#[derive(Debug, Clone)]
pub struct PhotoInput {
    pub path: PathBuf,
    /// The enterprise photographed (for the watermark and the on-site check).
    pub enterprise_id: Option<Uuid>,
    pub inspector: String,
    /// Phone clock when the photo was taken.
    pub device_time: DateTime<FixedOffset>,
    /// Where it was taken; when `None`, the photo's own EXIF GPS is used, marked as such.
    pub stamp: Option<GpsStamp>,
}

/// The frozen payload of a photo record; its canonical JSON is hashed into the chain.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoPayload {
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub id: Uuid,
    pub device_id: String,
    pub enterprise_id: Option<Uuid>,
    pub inspector: String,
    pub device_time: DateTime<FixedOffset>,
    pub original_sha256: String,
    pub derived_sha256: String,
    pub thumbnail_sha256: String,
    pub width: u32,
    pub height: u32,
    pub stamp: Option<GpsStamp>,
    pub stamp_flags: Vec<StampFlag>,
    pub onsite: Option<OnSiteCheck>,
    pub onsite_radius_m: f64,
}

/// A stored photo record.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoRecord {
    #[serde(flatten)]
    pub payload: PhotoPayload,
    pub payload_sha256: String,
    pub chain_seq: u64,
    pub derived_path: PathBuf,
    pub thumbnail_path: PathBuf,
    pub original_path: PathBuf,
    /// `true` when the stamp lies outside the radius around the registered location.
    pub off_site: Option<bool>,
}

/// Result of checking the device's evidence.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceReport {
    pub ok: bool,
    pub links: usize,
    pub photos: usize,
    pub chain_problems: Vec<ChainProblem>,
    /// Records or files that do not match what the chain says.
    pub record_problems: Vec<String>,
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

/// Appends a link for a record to the device's chain, inside the caller's transaction.
pub(crate) fn append_chain(
    conn: &Connection,
    kind: &str,
    record_id: &str,
    payload_sha256: &str,
) -> Result<ChainLink, StoreError> {
    let device_id = device_id(conn)?;
    let last = load_links(conn, Some(1))?.pop();
    // The device time goes under the hash (version 2), to the millisecond, and the row
    // keeps exactly that instant. A database held below schema 8 (only tests open one
    // on purpose) has no column for it and gets a version 1 link.
    let at = Utc::now();
    let at = DateTime::<Utc>::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at);
    if crate::migrations::current_version(conn)? < 8 {
        let link = ChainLink::next(last.as_ref(), &device_id, kind, payload_sha256);
        conn.execute(
            "INSERT INTO evidence_chain (seq, device_id, kind, record_id, payload_sha256, prev_hash, hash, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![link.seq as i64, link.device_id, link.kind, record_id, link.payload_sha256, link.prev_hash, link.hash, now()],
        )?;
        return Ok(link);
    }
    let link = ChainLink::next_at(last.as_ref(), &device_id, kind, payload_sha256, at);
    conn.execute(
        "INSERT INTO evidence_chain (seq, device_id, kind, record_id, payload_sha256, prev_hash, hash, created_at, at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            link.seq as i64,
            link.device_id,
            link.kind,
            record_id,
            link.payload_sha256,
            link.prev_hash,
            link.hash,
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            link.at_ms
        ],
    )?;
    Ok(link)
}

/// Links in order; with `last = Some(n)`, only the last `n` (still in ascending order).
fn load_links(conn: &Connection, last: Option<usize>) -> Result<Vec<ChainLink>, StoreError> {
    // Below schema 8 (only in tests) every link is version 1.
    let at_ms = if crate::migrations::current_version(conn)? < 8 {
        "NULL"
    } else {
        "at_ms"
    };
    let sql = match last {
        Some(n) => format!(
            "SELECT * FROM (SELECT device_id, seq, kind, payload_sha256, prev_hash, hash, {at_ms} FROM evidence_chain \
             ORDER BY seq DESC LIMIT {n}) ORDER BY seq"
        ),
        None => format!(
            "SELECT device_id, seq, kind, payload_sha256, prev_hash, hash, {at_ms} FROM evidence_chain ORDER BY seq"
        ),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        Ok(ChainLink {
            device_id: r.get(0)?,
            seq: r.get::<_, i64>(1)? as u64,
            kind: r.get(2)?,
            payload_sha256: r.get(3)?,
            prev_hash: r.get(4)?,
            hash: r.get(5)?,
            at_ms: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A record's frozen payload bytes and its enterprise's USCC.
pub(crate) type PayloadAndUscc = (Vec<u8>, Option<String>);

/// The frozen payload of the record behind a chain link (TEXT, or BLOB for
/// inspections) and its enterprise's USCC; `None` when the record's row is missing.
pub(crate) fn record_payload(
    conn: &Connection,
    chain_kind: &str,
    record_id: &str,
) -> Result<Option<PayloadAndUscc>, StoreError> {
    let sql = match chain_kind {
        "photo" => {
            "SELECT p.payload, e.uscc FROM photo p \
             LEFT JOIN enterprise e ON e.id = p.enterprise_id WHERE p.id = ?1"
        }
        "inspection" => {
            "SELECT i.payload, e.uscc FROM inspection i \
             LEFT JOIN enterprise e ON e.id = i.enterprise_id \
             WHERE i.id = ?1 AND i.payload IS NOT NULL"
        }
        "hazard_event" => {
            "SELECT ev.event, e.uscc FROM hazard_event ev JOIN hazard h ON h.id = ev.hazard_id \
             LEFT JOIN enterprise e ON e.id = h.enterprise_id WHERE ev.id = ?1"
        }
        "lease" => {
            "SELECT r.payload, e.uscc FROM lease_record r \
             LEFT JOIN enterprise e ON e.id = r.landlord_id WHERE r.id = ?1"
        }
        // Sent by its village (`division_code`), not an enterprise: the unit may be
        // one the register lacks.
        "suspected_confirmation" => {
            "SELECT r.payload, NULL FROM suspected_record r WHERE r.id = ?1"
        }
        "signature" => {
            "SELECT s.payload, e.uscc FROM signature s \
             JOIN inspection i ON i.id = s.inspection_id \
             LEFT JOIN enterprise e ON e.id = i.enterprise_id WHERE s.id = ?1"
        }
        _ => return Ok(None),
    };
    Ok(conn
        .query_row(sql, [record_id], |r| {
            Ok((r.get_ref(0)?.as_bytes()?.to_vec(), r.get(1)?))
        })
        .optional()?)
}

/// This device's id, created on first open.
pub(crate) fn device_id(conn: &Connection) -> Result<String, StoreError> {
    crate::store::meta(conn, "device_id")?.ok_or(StoreError::NotFound {
        what: "device id",
        key: "device_meta.device_id".into(),
    })
}

/// Creates the device id if the database has none yet.
pub(crate) fn ensure_device_id(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO device_meta (key, value) VALUES ('device_id', ?1)",
        [Uuid::now_v7().to_string()],
    )?;
    Ok(())
}

impl Store {
    /// This device's id (UUID v7, created when the database was first opened).
    pub fn device_id(&self) -> Result<String, StoreError> {
        device_id(&self.conn)
    }

    /// Folder holding photo files: `photos/` beside the database file.
    pub fn photo_dir(&self) -> PathBuf {
        self.path()
            .parent()
            .map_or_else(|| PathBuf::from("photos"), |p| p.join("photos"))
    }

    /// Processes a photo, stores its files and records it as evidence (with a chain link).
    pub fn add_photo(&self, input: &PhotoInput) -> Result<PhotoRecord, EvidenceError> {
        let cfg = PhotoConfig::default();
        let read_err = |source| EvidenceError::Read {
            path: input.path.clone(),
            source,
        };
        let size = std::fs::metadata(&input.path).map_err(read_err)?.len();
        if size > cfg.max_input_bytes {
            return Err(EvidenceError::TooLarge {
                path: input.path.clone(),
                size,
                max: cfg.max_input_bytes,
            });
        }
        let original = std::fs::read(&input.path).map_err(read_err)?;
        let enterprise = match &input.enterprise_id {
            Some(id) => Some(crate::register::get_enterprise(&self.conn, id)?.ok_or_else(
                || StoreError::NotFound {
                    what: "enterprise",
                    key: id.to_string(),
                },
            )?),
            None => None,
        };
        if let Some(s) = &input.stamp {
            assess(s, &GpsPolicy::default())?;
        }
        let watermark = WatermarkInfo {
            device_time: input.device_time,
            gnss_time: input.stamp.as_ref().and_then(|s| s.fix_time),
            position: input
                .stamp
                .as_ref()
                .map(|s| (s.lat, s.lon, s.accuracy_m.unwrap_or(f64::NAN))),
            enterprise: enterprise
                .as_ref()
                .map(|e| e.name.clone())
                .unwrap_or_default(),
            inspector: input.inspector.clone(),
        };
        let processed = process_photo(&original, &cfg, Some(&watermark))?;
        let stamp = input
            .stamp
            .clone()
            .or_else(|| stamp_from_exif(&processed.exif, input.device_time));
        let stamp_flags = match &stamp {
            Some(s) => assess(s, &GpsPolicy::default())?,
            None => Vec::new(),
        };
        let onsite = match (&stamp, enterprise.as_ref().and_then(|e| e.location)) {
            (Some(s), Some(loc)) => Some(onsite_check(
                s.lat,
                s.lon,
                (loc.lat, loc.lon),
                DEFAULT_ONSITE_RADIUS_M,
            )),
            _ => None,
        };
        let dir = self.photo_dir();
        std::fs::create_dir_all(&dir).map_err(|source| EvidenceError::Read {
            path: dir.clone(),
            source,
        })?;
        let stored = fsio::store_photo(&dir, &original, &processed)?;
        let payload = PhotoPayload {
            record_type: "photo",
            id: Uuid::now_v7(),
            device_id: self.device_id()?,
            enterprise_id: input.enterprise_id,
            inspector: input.inspector.clone(),
            device_time: input.device_time,
            original_sha256: processed.original_sha256.clone(),
            derived_sha256: processed.derived_sha256.clone(),
            thumbnail_sha256: processed.thumbnail_sha256.clone(),
            width: processed.width,
            height: processed.height,
            stamp,
            stamp_flags,
            onsite,
            onsite_radius_m: DEFAULT_ONSITE_RADIUS_M,
        };
        let bytes = to_canonical_json(&payload)?;
        let payload_sha256 = sha256_hex(&bytes);
        let payload_text = String::from_utf8(bytes).map_err(|e| StoreError::Corrupt {
            table: "photo",
            column: "payload",
            detail: e.to_string(),
        })?;
        let ext = stored
            .original_path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("bin")
            .to_string();
        let tx = self.conn.unchecked_transaction()?;
        let link = append_chain(&tx, "photo", &payload.id.to_string(), &payload_sha256)?;
        tx.execute(
            "INSERT INTO photo (id, enterprise_id, inspector, original_sha256, original_ext, derived_sha256, \
                 thumbnail_sha256, width, height, derived_bytes, payload, payload_sha256, chain_seq, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                payload.id.to_string(),
                payload.enterprise_id.map(|u| u.to_string()),
                payload.inspector,
                payload.original_sha256,
                ext,
                payload.derived_sha256,
                payload.thumbnail_sha256,
                payload.width,
                payload.height,
                processed.derived_jpeg.len() as i64,
                payload_text,
                payload_sha256,
                link.seq as i64,
                now(),
            ],
        )?;
        tx.commit()?;
        let off_site = payload.onsite.map(|o| o.off_site);
        Ok(PhotoRecord {
            payload,
            payload_sha256,
            chain_seq: link.seq,
            derived_path: stored.derived_path,
            thumbnail_path: stored.thumbnail_path,
            original_path: stored.original_path,
            off_site,
        })
    }

    /// Checks the chain, every photo record against its link, and every photo file
    /// against its hash.
    pub fn verify_evidence(&self) -> Result<EvidenceReport, StoreError> {
        let links = load_links(&self.conn, None)?;
        let chain = verify_chain(&links);
        let mut record_problems = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT p.id, p.payload, p.payload_sha256, c.payload_sha256, c.kind, c.record_id, \
                 p.original_sha256, p.original_ext, p.derived_sha256, p.thumbnail_sha256 \
             FROM photo p LEFT JOIN evidence_chain c ON c.seq = p.chain_seq ORDER BY p.chain_seq",
        )?;
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            String,
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
                    r.get(8)?,
                    r.get(9)?,
                ))
            })?
            .collect::<Result<Vec<Row>, _>>()?;
        let dir = self.photo_dir();
        for (id, payload, stored_hash, link_hash, kind, record_id, orig, ext, derived, thumb) in
            &rows
        {
            let actual = sha256_hex(payload.as_bytes());
            if &actual != stored_hash {
                record_problems.push(format!(
                    "photo {id}: payload was altered (hash {actual}, recorded {stored_hash})"
                ));
            }
            if link_hash.as_deref() != Some(stored_hash.as_str())
                || kind.as_deref() != Some("photo")
                || record_id.as_deref() != Some(id.as_str())
            {
                record_problems.push(format!("photo {id}: does not match its chain link"));
            }
            // The files are those the frozen payload names; columns that name others
            // (a swapped photo with its hash columns edited) are tampering.
            let frozen = serde_json::from_str::<serde_json::Value>(payload).ok();
            let named = |key: &str, column: &String| -> String {
                frozen
                    .as_ref()
                    .and_then(|v| v.get(key)?.as_str().map(str::to_string))
                    .unwrap_or_else(|| column.clone())
            };
            let (orig_p, derived_p, thumb_p) = (
                named("original_sha256", orig),
                named("derived_sha256", derived),
                named("thumbnail_sha256", thumb),
            );
            if (&orig_p, &derived_p, &thumb_p) != (orig, derived, thumb) {
                record_problems.push(format!(
                    "photo {id}: its columns name other files than its frozen payload"
                ));
            }
            for (name, expected) in [
                (format!("{orig_p}.orig.{ext}"), &orig_p),
                (format!("{derived_p}.jpg"), &derived_p),
                (format!("{thumb_p}.thumb.jpg"), &thumb_p),
            ] {
                match std::fs::read(dir.join(&name)) {
                    Ok(bytes) if &sha256_hex(&bytes) == expected => {}
                    Ok(_) => record_problems.push(format!("photo {id}: file {name} was altered")),
                    Err(e) => {
                        record_problems.push(format!("photo {id}: file {name} is missing ({e})"))
                    }
                }
            }
        }
        // Every other chained record against its link: the payload it holds now must
        // hash to what was chained.
        for link in links.iter().filter(|l| l.kind != "photo") {
            let record_id: Option<String> = self
                .conn
                .query_row(
                    "SELECT record_id FROM evidence_chain WHERE seq = ?1",
                    [link.seq as i64],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(record_id) = record_id else { continue };
            match record_payload(&self.conn, &link.kind, &record_id)? {
                None => record_problems.push(format!(
                    "{} {record_id} (link {}): the record is missing",
                    link.kind, link.seq
                )),
                Some((payload, _)) if sha256_hex(&payload) != link.payload_sha256 => {
                    record_problems.push(format!(
                        "{} {record_id} (link {}): payload was altered",
                        link.kind, link.seq
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(EvidenceReport {
            ok: chain.ok && record_problems.is_empty(),
            links: chain.checked,
            photos: rows.len(),
            chain_problems: chain.problems,
            record_problems,
        })
    }

    /// Removes temp files and photo files no record refers to (left by a kill between
    /// writing the files and committing the row). Returns how many files were removed.
    pub fn sweep_photo_dir(&self) -> Result<usize, StoreError> {
        let dir = self.photo_dir();
        let io = |e: std::io::Error| StoreError::Corrupt {
            table: "photo",
            column: "files",
            detail: e.to_string(),
        };
        let mut removed = fsio::sweep_temp(&dir).unwrap_or(0);
        let mut keep = HashSet::new();
        let mut stmt = self.conn.prepare(
            "SELECT original_sha256, original_ext, derived_sha256, thumbnail_sha256 FROM photo",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (o, ext, d, t) = row?;
            keep.insert(format!("{o}.orig.{ext}"));
            keep.insert(format!("{d}.jpg"));
            keep.insert(format!("{t}.thumb.jpg"));
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
            Err(e) => return Err(io(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) && is_photo_file(&entry.path()) {
                std::fs::remove_file(entry.path()).map_err(io)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn is_photo_file(p: &Path) -> bool {
    p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png"))
}
