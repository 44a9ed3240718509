//! The server's data, written once over the [`Backend`] seam, one file per resource:
//! users and devices ([`accounts`]), pushed records ([`push`]), photo uploads
//! ([`uploads`]), the pull change log ([`pull`]) and the read models ([`views`]).

use crate::audit::NewEntry;
use crate::db::{Backend, Dialect, Row, Tx, Val};
use crate::error::StoreError;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use gridwalk_core::{DivisionCode, DivisionLevel, Uscc};
use gridwalk_protocol::reconcile::{
    range_digest, FAN_OUT, LEAF_POSITIONS, MAX_MISSING_LISTED, MAX_RANGES,
};
use gridwalk_protocol::{
    is_sha256_hex, sha256_hex, Change, ChangeKind, ClockFlag, EnrollRequest, EnrollResponse,
    EnrolledUser, MissingPhoto, MissingPhotos, Outcome, ProblemCode, PullPage, PushResponse,
    Receipt, ReceiptBody, ReceiptRecord, RecordEnvelope, RecordKind, RecordResult, RecordState,
    RecordStatus, Role, ServerKey, MAX_PAYLOAD_BYTES, PROTOCOL_VERSION,
};
use gridwalk_protocol::{
    HeldEntry, HeldStatus, RangeAnswer, RangeVerdict, ReconcileRequest, ReconcileResponse,
    SeqRange, ServerLimits,
};
use rand::RngCore;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

mod accounts;
mod pull;
mod push;
pub(crate) mod uploads;
mod views;

pub use accounts::{DeviceInfo, ENROLLMENT_CODE_TTL_DAYS};
pub use pull::PublishedEnterprise;
pub(crate) use pull::{publish_register_in, upsert_change, upsert_change_for};
pub use push::MAX_EVENT_AHEAD_HOURS;
pub use uploads::Upload;
pub use views::{HazardListItem, InspectionExport};

/// The authenticated device and its user.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The phone's device id (nil for a console session).
    pub device_id: Uuid,
    pub user_name: String,
    pub role: Role,
    pub jurisdiction: DivisionCode,
    /// Signed in with a password (the console), not a device token: may not sync.
    pub session: bool,
    /// The remote IP the request came from (set by the HTTP layer; empty elsewhere),
    /// for the audit log.
    pub source: String,
}

/// The codes of `j`'s enclosing divisions up to its district.
fn ancestors(j: &DivisionCode) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = j.clone();
    while cur.level() != DivisionLevel::District {
        cur = cur.implied_parent();
        out.push(cur.as_str().to_string());
    }
    out
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub(crate) fn uuid_of(row: &Row, i: usize) -> Result<Uuid, StoreError> {
    let s = row.str(i)?;
    Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt(format!("bad uuid '{s}'")))
}

pub(crate) fn problem(code: ProblemCode, detail: impl Into<String>) -> StoreError {
    StoreError::problem(code, detail)
}

/// The server's data store.
pub struct Store {
    db: Box<dyn Backend>,
    signing: SigningKey,
    limits: ServerLimits,
}

fn epoch_of(t: &mut dyn Tx) -> Result<String, StoreError> {
    t.query_opt("SELECT value FROM server_meta WHERE key = 'epoch'", &[])?
        .ok_or_else(|| StoreError::Corrupt("the database has no epoch".into()))?
        .str(0)
        .map_err(StoreError::from)
}

fn photo_hashes(t: &mut dyn Tx, record_id: &str) -> Result<Vec<String>, StoreError> {
    t.query(
        "SELECT sha256 FROM record_photo WHERE record_id = $1 ORDER BY sha256",
        &[record_id.into()],
    )?
    .iter()
    .map(|r| r.str(0).map_err(StoreError::from))
    .collect()
}

fn missing_for(t: &mut dyn Tx, record_id: &str) -> Result<Vec<String>, StoreError> {
    t.query(
        "SELECT rp.sha256 FROM record_photo rp JOIN record r ON r.id = rp.record_id
         WHERE rp.record_id = $1 AND NOT EXISTS (SELECT 1 FROM blob_source bs
             JOIN device src ON src.id = bs.device_id
             WHERE bs.sha256 = rp.sha256
               AND src.user_id = (SELECT user_id FROM device WHERE id = r.device_id))
         ORDER BY rp.sha256",
        &[record_id.into()],
    )?
    .iter()
    .map(|r| r.str(0).map_err(StoreError::from))
    .collect()
}

/// A record's clock flag from its stored columns.
fn clock_of(row: &Row, kind: usize) -> Result<Option<ClockFlag>, StoreError> {
    Ok(row.text(kind)?.map(|k| ClockFlag {
        kind: k,
        skew_s: row.int(kind + 1).unwrap_or(0),
    }))
}

pub(crate) fn severity_str(s: gridwalk_checklist::Severity) -> &'static str {
    match s {
        gridwalk_checklist::Severity::General => "general",
        gridwalk_checklist::Severity::Major => "major",
    }
}

impl Store {
    /// Wraps a migrated backend; creates the receipt-signing key on first use.
    pub fn new(db: Box<dyn Backend>) -> Result<Store, StoreError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let fresh = base64::engine::general_purpose::STANDARD.encode(seed);
        let mut stored = String::new();
        db.transact(&mut |t| {
            t.exec(
                "INSERT INTO server_meta (key, value) VALUES ('signing_key', $1) ON CONFLICT (key) DO NOTHING",
                &[fresh.clone().into()],
            )?;
            let row = t
                .query_opt("SELECT value FROM server_meta WHERE key = 'signing_key'", &[])?
                .ok_or_else(|| StoreError::Corrupt("signing key missing".into()))?;
            stored = row.str(0)?;
            Ok(())
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&stored)
            .map_err(|_| StoreError::Corrupt("signing key is not base64".into()))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::Corrupt("signing key is not 32 bytes".into()))?;
        let store = Store {
            db,
            signing: SigningKey::from_bytes(&seed),
            limits: ServerLimits::default(),
        };
        store.index_hazards()?;
        store.tx(crate::coverage::index_enterprises)?;
        store.tx(crate::lease_ledger::index_leases)?;
        store.tx(|t| {
            t.exec(
                "INSERT INTO server_meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING",
                &[random_token(8).into()],
            )?;
            Ok(())
        })?;
        Ok(store)
    }

    /// This store with a lower payload limit (`serve --max-payload-kib`); never above the
    /// protocol's [`MAX_PAYLOAD_BYTES`].
    pub fn with_max_payload_bytes(mut self, bytes: u64) -> Store {
        self.limits.max_payload_bytes = bytes.clamp(1, MAX_PAYLOAD_BYTES as u64);
        self
    }

    /// The limits this server enforces and publishes.
    pub fn limits(&self) -> ServerLimits {
        self.limits
    }

    /// Answers when the database answers a query (the health check).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.tx(|t| {
            t.query_opt("SELECT 1", &[])
                .map(|_| ())
                .map_err(StoreError::from)
        })
    }

    /// The database's identity (docs/sync-protocol.md "Epochs"): made with the database,
    /// replaced by [`Store::new_epoch`]. Pull cursors carry it.
    pub fn epoch(&self) -> Result<String, StoreError> {
        self.tx(|t| epoch_of(t))
    }

    /// Gives the database a new identity, so every device's pull cursor restarts from the
    /// beginning: for a database restored from a backup (`gridwalk-server admin
    /// new-epoch`). Returns the new epoch.
    pub fn new_epoch(&self) -> Result<String, StoreError> {
        self.new_epoch_logged(None)
    }

    /// [`Store::new_epoch`], appending `audit` (with the new epoch as its detail) in the
    /// same transaction.
    pub fn new_epoch_logged(&self, audit: Option<NewEntry>) -> Result<String, StoreError> {
        let epoch = random_token(8);
        let dialect = self.dialect();
        let audit = audit.map(|e| e.detail(serde_json::json!({ "epoch": epoch })));
        self.tx(|t| {
            t.exec(
                "UPDATE server_meta SET value = $1 WHERE key = 'epoch'",
                &[epoch.clone().into()],
            )?;
            if let Some(e) = &audit {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(())
        })?;
        Ok(epoch)
    }

    /// Fills the `hazard` table (migration 0003) from hazard creations accepted before
    /// it existed; once per database.
    fn index_hazards(&self) -> Result<(), StoreError> {
        self.tx(|t| {
            if t
                .query_opt("SELECT 1 FROM server_meta WHERE key = 'hazards_indexed'", &[])?
                .is_some()
            {
                return Ok(());
            }
            let rows = t.query(
                "SELECT id, payload, enterprise_uscc, division_code FROM record
                 WHERE kind = 'hazard_event' AND state = 'accepted' ORDER BY received_at, id",
                &[],
            )?;
            for r in &rows {
                let Some(payload) = r.text(1)? else { continue };
                let Ok(event) = serde_json::from_str::<gridwalk_checklist::HazardEvent>(&payload)
                else {
                    continue;
                };
                let gridwalk_checklist::HazardEventKind::Created {
                    enterprise_id,
                    severity,
                    ..
                } = event.kind
                else {
                    continue;
                };
                let (Some(uscc), Some(division)) = (r.text(2)?, r.text(3)?) else {
                    continue;
                };
                t.exec(
                    "INSERT INTO hazard (id, enterprise_id, enterprise_uscc, division_code, severity, created_record_id)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                    &[
                        event.hazard_id.to_string().into(),
                        enterprise_id.to_string().into(),
                        uscc.into(),
                        division.into(),
                        severity_str(severity).into(),
                        r.str(0)?.into(),
                    ],
                )?;
            }
            t.exec(
                "INSERT INTO server_meta (key, value) VALUES ('hazards_indexed', '1')
                 ON CONFLICT (key) DO NOTHING",
                &[],
            )?;
            Ok(())
        })
    }

    /// Which database this store runs on.
    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// What was sent to the database so far (PostgreSQL only), for profiling.
    pub fn db_stats(&self) -> Option<crate::db::DbStats> {
        self.db.stats()
    }

    /// Runs `f` in one transaction and returns its value.
    pub(crate) fn tx<R>(
        &self,
        mut f: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut out = None;
        self.db.transact(&mut |t| {
            out = Some(f(t)?);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Corrupt("transaction produced no value".into()))
    }

    /// The public half of the receipt-signing key.
    pub fn server_key(&self) -> ServerKey {
        let public = self.signing.verifying_key();
        ServerKey {
            algorithm: "ed25519".into(),
            public_key: gridwalk_protocol::receipt::encode_public_key(&public),
            key_id: gridwalk_protocol::receipt::key_id(&public),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("valid")
    }

    #[test]
    fn a_grid_worker_covers_the_grid_and_its_village_but_not_the_neighbours() {
        let grid = code("320413100201001");
        assert!(grid.covers(&code("320413100201001")));
        assert!(grid.covers(&code("320413100201")));
        assert!(!grid.covers(&code("320413100201002")));
        assert!(!grid.covers(&code("320413100202")));
        let town = code("320413100000");
        assert!(town.covers(&code("320413100201001")));
        assert!(!town.covers(&code("320413101201")));
    }

    #[test]
    fn scope_prefixes_and_ancestors_follow_the_code_shape() {
        assert_eq!(code("320413100000").significant_prefix(), "320413100");
        assert_eq!(code("320413000000").significant_prefix(), "320413");
        assert_eq!(
            ancestors(&code("320413100201001")),
            vec!["320413100201", "320413100000", "320413000000"]
        );
    }
}
