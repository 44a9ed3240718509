//! What an officer sees of one inspection and of the evidence behind it
//! (docs/console.md "Evidence panel"): the signed payload with the template's item
//! labels, the record's place in its device's hash chain, and for every photo the
//! photo record the phone made (times, GNSS stamp, on-site check) and whether the
//! server holds bytes that hash to the name. Only officers and admins, only inside
//! their jurisdiction (outside: 404, as if nothing were there).

use crate::db::{Row, Tx};
use crate::error::StoreError;
use crate::store::{problem, Store};
use crate::work::{inspection_item_of, Actor, InspectionItem};
use gridwalk_protocol::ProblemCode;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// `GET /v1/inspections/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionDetail {
    pub item: InspectionItem,
    /// The finalized inspection exactly as the phone signed it (answers, score,
    /// findings).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Labels of the template's items (id → section, title, legal basis), when the
    /// server ships that template version.
    pub items: Vec<ItemLabel>,
    pub record: ChainPosition,
    pub photos: Vec<PhotoEvidence>,
}

/// One checklist item's label.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemLabel {
    pub id: String,
    pub section_zh: String,
    pub text_zh: String,
    pub legal_basis: Option<String>,
}

/// A record's place in its device's hash chain as the server received it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChainPosition {
    pub record_id: String,
    pub device_id: String,
    /// Position in the device's sequence.
    pub seq: i64,
    pub payload_sha256: String,
    pub link_sha256: Option<String>,
    pub prev_link_sha256: Option<String>,
    /// `linked`: the previous link is the link of the record the server holds at
    /// `seq - 1` (or `seq` is 1); `gap`: the server holds no record there; `broken`: it
    /// holds one with another link; `unanchored`: the record came without a link (an
    /// app older than anchoring).
    pub chain: String,
    /// The first record of a fork (a phone restored from an older copy): the position
    /// its link continues.
    pub fork_point: Option<i64>,
    pub received_at: String,
    pub device_time: Option<String>,
    /// `ahead`, `gnss` or `implausible` when the device clock looked wrong.
    pub clock_flag: Option<String>,
    pub clock_skew_s: Option<i64>,
}

/// The evidence of one photo named by the inspection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoEvidence {
    /// The hash the inspection names.
    pub sha256: String,
    /// The server holds the bytes.
    pub held: bool,
    pub size: Option<i64>,
    /// The held bytes, read again for this answer, hash to `sha256` (`None`: not held,
    /// or not read).
    pub verified: Option<bool>,
    /// The photo record the phone made for it (its own place in the chain), if synced.
    pub record: Option<ChainPosition>,
    /// Phone clock when the photo was taken.
    pub device_time: Option<String>,
    /// GNSS fix time of the stamp.
    pub gnss_time: Option<String>,
    /// The stamp: lat/lon (WGS-84), accuracy, provider, source, mock flag.
    #[schema(value_type = Option<Object>)]
    pub stamp: Option<Value>,
    /// What the phone flagged about the stamp: `PoorAccuracy`, `MissingAccuracy`,
    /// `MissingFixTime`, `StaleFix`, `ClockSkew`, `MockLocation`, `ExifFallback`,
    /// `Manual` (docs/evidence.md).
    pub stamp_flags: Vec<String>,
    /// Distance from the enterprise's registered site, metres.
    pub distance_m: Option<f64>,
    pub off_site: Option<bool>,
    pub radius_m: Option<f64>,
    /// The unprocessed original, the watermarked photo and its thumbnail, as the photo
    /// record names them.
    pub original_sha256: Option<String>,
    pub derived_sha256: Option<String>,
    pub thumbnail_sha256: Option<String>,
}

fn not_found(id: Uuid) -> StoreError {
    problem(
        ProblemCode::NotFound,
        format!("no inspection {id} in your jurisdiction"),
    )
}

const CHAIN_COLUMNS: &str = "r.id, r.device_id, r.seq, r.payload_sha256, r.link_sha256, \
    r.prev_link_sha256, r.received_at, r.device_time, r.clock_flag, r.clock_skew_s, r.fork_point";

fn chain_position(t: &mut dyn Tx, r: &Row, at: usize) -> Result<ChainPosition, StoreError> {
    let device_id = r.str(at + 1)?;
    let seq = r.int(at + 2)?;
    let link = r.text(at + 4)?;
    let prev = r.text(at + 5)?;
    let fork_point = r.opt_int(at + 10)?;
    // The position this record's link continues: the one before it, or, for the first
    // record of a fork (a phone restored from an older copy), its fork point.
    let continues = fork_point.unwrap_or(seq - 1);
    let chain = match (&link, &prev) {
        (None, _) => "unanchored",
        _ if continues <= 0 => "linked",
        (Some(_), prev) => {
            // The link held for that position, whichever record (or enrollment) holds it.
            let before = t.query_opt(
                "SELECT link_sha256 FROM device_seq WHERE device_id = $1 AND seq = $2",
                &[device_id.clone().into(), continues.into()],
            )?;
            match before {
                None => "gap",
                Some(b) if b.text(0)? == *prev => "linked",
                Some(_) => "broken",
            }
        }
    };
    Ok(ChainPosition {
        record_id: r.str(at)?,
        device_id,
        seq,
        payload_sha256: r.str(at + 3)?,
        link_sha256: link,
        prev_link_sha256: prev,
        chain: chain.to_string(),
        fork_point,
        received_at: r.str(at + 6)?,
        device_time: r.text(at + 7)?,
        clock_flag: r.text(at + 8)?,
        clock_skew_s: r.opt_int(at + 9)?,
    })
}

fn item_labels(template_id: &str, version: i64) -> Vec<ItemLabel> {
    let Some(tpl) = u32::try_from(version)
        .ok()
        .and_then(|v| gridwalk_checklist::builtin_template_version(template_id, v))
    else {
        return Vec::new();
    };
    tpl.sections
        .iter()
        .flat_map(|s| {
            s.items.iter().map(move |i| ItemLabel {
                id: i.id.clone(),
                section_zh: s.title_zh.clone(),
                text_zh: i.text_zh.clone(),
                legal_basis: i.legal_basis.as_ref().map(|b| b.to_string()),
            })
        })
        .collect()
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut at = v;
    for p in path {
        at = at.get(p)?;
    }
    at.as_str().map(str::to_string)
}

impl Store {
    /// The inspection, its chain position and its photos' evidence, for an officer or
    /// admin whose jurisdiction holds it.
    pub fn inspection_detail(
        &self,
        actor: &Actor,
        inspection_id: Uuid,
    ) -> Result<InspectionDetail, StoreError> {
        if !actor.may_manage() {
            return Err(not_found(inspection_id));
        }
        self.tx(|t| {
            let row = t
                .query_opt(
                    &format!(
                        "SELECT i.record_id, i.inspection_id, i.enterprise_uscc, e.name, i.division_code,
                            i.template_id, i.template_version, i.inspector, i.role, i.finalized_at,
                            i.received_at, i.passed, i.failed, i.findings, i.photo_count, i.off_site,
                            v.state, v.comment, v.reviewer, v.at, r.payload, {CHAIN_COLUMNS}
                         FROM inspection i
                         JOIN record r ON r.id = i.record_id
                         LEFT JOIN review v ON v.inspection_id = i.inspection_id
                         LEFT JOIN enterprise e ON e.uscc = i.enterprise_uscc
                         WHERE i.inspection_id = $1
                         ORDER BY i.received_at, i.record_id"
                    ),
                    &[inspection_id.to_string().into()],
                )?
                .ok_or_else(|| not_found(inspection_id))?;
            let item = inspection_item_of(&row)?;
            if !actor.sees_code(&item.division_code)? {
                return Err(not_found(inspection_id));
            }
            let payload: Value = row
                .text(20)?
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or(Value::Null);
            let record = chain_position(t, &row, 21)?;
            let named: Vec<String> = serde_json::from_value::<
                gridwalk_checklist::FinalizedInspection,
            >(payload.clone())
            .map(|p| p.photo_sha256s())
            .unwrap_or_default();
            let mut photos = Vec::with_capacity(named.len());
            for sha in named {
                photos.push(photo_evidence(t, &sha, &record.device_id)?);
            }
            Ok(InspectionDetail {
                items: item_labels(&item.template_id, item.template_version),
                item,
                payload,
                record,
                photos,
            })
        })
    }

    /// Whether `sha256` is a photo of the inspection (named by it, or the original,
    /// watermarked copy or thumbnail of one it names) that the caller may see.
    pub fn inspection_photo_allowed(
        &self,
        actor: &Actor,
        inspection_id: Uuid,
        sha256: &str,
    ) -> Result<bool, StoreError> {
        let detail = self.inspection_detail(actor, inspection_id)?;
        Ok(detail.photos.iter().any(|p| {
            p.sha256 == sha256
                || p.original_sha256.as_deref() == Some(sha256)
                || p.derived_sha256.as_deref() == Some(sha256)
                || p.thumbnail_sha256.as_deref() == Some(sha256)
        }))
    }
}

/// The first evidence record of photo `$1` made by device `$2`, with its chain columns:
/// from the hash index of evidence links to the record (`CROSS JOIN` keeps SQLite to
/// that order; `crate::query_plans` tests it).
pub(crate) fn photo_evidence_sql() -> String {
    format!(
        "SELECT r.payload, {CHAIN_COLUMNS} FROM record_photo rp CROSS JOIN record r
         WHERE r.id = rp.record_id AND rp.sha256 = $1 AND rp.evidence = 1
           AND r.kind = 'evidence' AND r.state = 'accepted' AND r.device_id = $2
         ORDER BY r.seq LIMIT 1"
    )
}

/// The photo record for `sha` made by `device` (the phone that made the inspection; a
/// photo record of another device does not speak for it) and whether the blob is held.
fn photo_evidence(t: &mut dyn Tx, sha: &str, device: &str) -> Result<PhotoEvidence, StoreError> {
    let blob = t.query_opt("SELECT size FROM blob WHERE sha256 = $1", &[sha.into()])?;
    let row = t.query_opt(&photo_evidence_sql(), &[sha.into(), device.into()])?;
    let (payload, record) = match row {
        Some(r) => {
            let payload: Value = r
                .text(0)?
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or(Value::Null);
            (payload, Some(chain_position(t, &r, 1)?))
        }
        None => (Value::Null, None),
    };
    let onsite = payload.get("onsite").filter(|v| !v.is_null());
    let stamp = payload.get("stamp").filter(|v| !v.is_null()).cloned();
    Ok(PhotoEvidence {
        sha256: sha.to_string(),
        held: blob.is_some(),
        verified: None,
        size: match &blob {
            Some(b) => Some(b.int(0)?),
            None => None,
        },
        record,
        device_time: str_at(&payload, &["device_time"]),
        gnss_time: str_at(&payload, &["stamp", "fix_time"]),
        stamp,
        stamp_flags: payload
            .get("stamp_flags")
            .and_then(|f| f.as_array())
            .map(|f| {
                f.iter()
                    .map(|x| match (x.as_str(), x.as_object()) {
                        (Some(s), _) => s.to_string(),
                        // `{"StaleFix": {"age_s": …}}`: the flag's name.
                        (None, Some(o)) => o.keys().next().cloned().unwrap_or_default(),
                        _ => x.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        distance_m: onsite
            .and_then(|o| o.get("distance_m"))
            .and_then(|d| d.as_f64()),
        off_site: onsite
            .and_then(|o| o.get("off_site"))
            .and_then(|d| d.as_bool()),
        radius_m: payload.get("onsite_radius_m").and_then(|r| r.as_f64()),
        original_sha256: str_at(&payload, &["original_sha256"]),
        derived_sha256: str_at(&payload, &["derived_sha256"]),
        thumbnail_sha256: str_at(&payload, &["thumbnail_sha256"]),
    })
}

/// A photo blob read back for evidence.
#[derive(Debug)]
pub enum HeldPhoto {
    /// The server holds no bytes under this name.
    Missing,
    /// The stored bytes no longer hash to their name (swapped or damaged; logged).
    Mismatch,
    /// The bytes, which hash to their name.
    Verified(bytes::Bytes),
}

/// Reads `photos/<sha256>` from the blob store and hashes the bytes again (on a
/// blocking thread: a photo is megabytes). The one place the console, the evidence
/// panel and the printed record read a photo as evidence.
pub async fn read_verified_photo(
    blobs: &dyn object_store::ObjectStore,
    sha256: &str,
) -> Result<HeldPhoto, object_store::Error> {
    let key = object_store::path::Path::from(format!("photos/{sha256}"));
    let bytes = match blobs.get(&key).await {
        Ok(got) => got.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(HeldPhoto::Missing),
        Err(e) => return Err(e),
    };
    let (bytes, actual) = tokio::task::spawn_blocking(move || {
        let actual = gridwalk_protocol::sha256_hex(&bytes);
        (bytes, actual)
    })
    .await
    .map_err(|e| object_store::Error::Generic {
        store: "photos",
        source: Box::new(e),
    })?;
    if actual != sha256 {
        tracing::error!(expected = %sha256, %actual, "a held photo does not hash to its name");
        return Ok(HeldPhoto::Mismatch);
    }
    Ok(HeldPhoto::Verified(bytes))
}

/// Reads every held photo of `detail` from the blob store and records whether its bytes
/// still hash to its name (a swapped or damaged file shows as `verified: false`).
pub async fn verify_photos(
    blobs: &dyn object_store::ObjectStore,
    detail: &mut InspectionDetail,
) -> Result<(), object_store::Error> {
    for photo in detail.photos.iter_mut().filter(|p| p.held) {
        let held = read_verified_photo(blobs, &photo.sha256).await?;
        photo.verified = Some(matches!(held, HeldPhoto::Verified(_)));
    }
    Ok(())
}
