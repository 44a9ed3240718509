//! The server's data, written once over the [`Backend`] seam: users and devices,
//! enrollment, pushed records, photo uploads, the register and the pull change log.

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

/// How far ahead of the server's clock a pushed hazard event may be dated (phone clocks
/// drift; a day covers time zones and a wrong date set by hand is refused).
pub const MAX_EVENT_AHEAD_HOURS: i64 = 24;

/// How long an enrollment code stays valid.
pub const ENROLLMENT_CODE_TTL_DAYS: i64 = 7;

/// One hazard as `hazards list` and `GET /v1/hazards` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HazardListItem {
    pub id: Uuid,
    pub enterprise_uscc: String,
    pub enterprise_name: Option<String>,
    pub division_code: String,
    /// `general` or `major` (重大).
    pub severity: String,
    /// `found`, `assigned`, `rectifying`, `reinspected` or `closed`.
    pub status: String,
    /// The current rectification deadline (a China date).
    pub deadline: String,
    /// Still open after the deadline day.
    pub overdue: bool,
    pub assignee: Option<String>,
    /// Under listed supervision (挂牌督办).
    pub listed: bool,
    pub found_at: Option<String>,
    pub closed_at: Option<String>,
    /// Events folded into the state.
    pub event_count: u64,
    /// Events kept but not legal where they fall in the merged order.
    pub skipped_events: u64,
    /// 五定: the rectification plan, if one was set.
    #[schema(value_type = Option<Object>)]
    pub plan: Option<gridwalk_checklist::RectificationPlan>,
}

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

/// One stored inspection, as `export inspections --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectionExport {
    pub record_id: Uuid,
    pub device_id: Uuid,
    pub enterprise_uscc: Option<String>,
    pub payload_sha256: String,
    pub photo_hashes: Vec<String>,
    pub state: RecordState,
    /// Set when the device clock looked wrong for this record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockFlag>,
}

/// An enterprise's register entry as offered to devices.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEnterprise {
    pub id: Uuid,
    pub uscc: String,
    pub village: DivisionCode,
    /// The entry with its sites and leases (the device's `EnterpriseDetail`).
    pub body: serde_json::Value,
}

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

/// An enrolled device, for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub user: String,
    pub name: Option<String>,
    pub revoked: bool,
    pub next_seq: u64,
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

/// Enrollment codes: 12 characters from an alphabet without look-alikes, grouped by 4.
fn new_enrollment_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let chars: Vec<char> = b
        .iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
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

    // ------------------------------------------------------------ users, devices

    /// Creates a user; the jurisdiction's level must fit the role.
    pub fn create_user(
        &self,
        name: &str,
        role: Role,
        jurisdiction: &DivisionCode,
    ) -> Result<Uuid, StoreError> {
        self.create_user_logged(name, role, jurisdiction, None)
    }

    /// [`Store::create_user`], appending `audit` (the admin command's entry) in the same
    /// transaction.
    pub fn create_user_logged(
        &self,
        name: &str,
        role: Role,
        jurisdiction: &DivisionCode,
        audit: Option<&NewEntry>,
    ) -> Result<Uuid, StoreError> {
        let dialect = self.dialect();
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("a user needs a name".into()));
        }
        if name == crate::work::OPERATOR {
            return Err(StoreError::Invalid(format!(
                "'{name}' is reserved for the server's operator"
            )));
        }
        let level = jurisdiction.level();
        let fits = match role {
            Role::GridWorker => matches!(level, DivisionLevel::Village | DivisionLevel::Grid),
            Role::Expert => level == DivisionLevel::Town,
            Role::Officer => matches!(level, DivisionLevel::District | DivisionLevel::Town),
            Role::Admin => true,
        };
        if !fits {
            return Err(StoreError::Invalid(format!(
                "a {} needs a {} jurisdiction, and {jurisdiction} is a {}",
                role.as_str(),
                match role {
                    Role::GridWorker => "village or grid",
                    Role::Expert => "town",
                    Role::Officer => "town or district",
                    Role::Admin => "any",
                },
                level.as_str()
            )));
        }
        let id = Uuid::now_v7();
        self.tx(|t| {
            if t
                .query_opt("SELECT 1 FROM app_user WHERE name = $1", &[name.into()])?
                .is_some()
            {
                return Err(StoreError::Invalid(format!("user '{name}' already exists")));
            }
            t.exec(
                "INSERT INTO app_user (id, name, role, jurisdiction, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[
                    id.to_string().into(),
                    name.into(),
                    role.as_str().into(),
                    jurisdiction.as_str().into(),
                    ts(now()).into(),
                ],
            )?;
            if let Some(e) = audit {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(id)
        })
    }

    /// Issues a one-time enrollment code for a user; returns the code.
    pub fn issue_enrollment_code(&self, user_name: &str) -> Result<String, StoreError> {
        self.issue_enrollment_code_logged(user_name, None)
    }

    /// [`Store::issue_enrollment_code`], appending `audit` in the same transaction.
    pub fn issue_enrollment_code_logged(
        &self,
        user_name: &str,
        audit: Option<&NewEntry>,
    ) -> Result<String, StoreError> {
        let dialect = self.dialect();
        let code = new_enrollment_code();
        let hash = sha256_hex(normalize_code(&code).as_bytes());
        let created = now();
        self.tx(|t| {
            let user = t
                .query_opt("SELECT id FROM app_user WHERE name = $1", &[user_name.into()])?
                .ok_or_else(|| StoreError::Invalid(format!("no user named '{user_name}'")))?;
            t.exec(
                "INSERT INTO enrollment_code (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    hash.clone().into(),
                    user.str(0)?.into(),
                    ts(created).into(),
                    ts(created + Duration::days(ENROLLMENT_CODE_TTL_DAYS)).into(),
                ],
            )?;
            if let Some(e) = audit {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(())
        })?;
        Ok(code)
    }

    /// Exchanges an enrollment code for a device token (see the protocol doc for the
    /// retry rule).
    pub fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, StoreError> {
        let key = req.device_key.trim();
        if key.len() < 16 || key.len() > 256 {
            return Err(problem(
                ProblemCode::MalformedBody,
                "device_key must be 16 to 256 characters",
            ));
        }
        let code_hash = sha256_hex(normalize_code(&req.code).as_bytes());
        let key_hash = sha256_hex(key.as_bytes());
        let token = random_token(32);
        let token_hash = sha256_hex(token.as_bytes());
        let at = now();
        let (device_id, user) = self.tx(|t| {
            // Locks the code's row (PostgreSQL) so two enrollments cannot both win.
            t.exec(
                "UPDATE enrollment_code SET code_hash = code_hash WHERE code_hash = $1",
                &[code_hash.clone().into()],
            )?;
            let row = t
                .query_opt(
                    "SELECT c.expires_at, c.device_key_hash, c.device_id, u.id, u.name, u.role, u.jurisdiction,
                            u.disabled_at
                     FROM enrollment_code c JOIN app_user u ON u.id = c.user_id WHERE c.code_hash = $1",
                    &[code_hash.clone().into()],
                )?
                .ok_or_else(|| problem(ProblemCode::EnrollmentCodeInvalid, "unknown enrollment code"))?;
            // A disabled user enrolls nothing, not even with a code issued before.
            if row.text(7)?.is_some() {
                return Err(problem(
                    ProblemCode::AccountDisabled,
                    "this user is disabled; an administrator must enable them first",
                ));
            }
            let expires = DateTime::parse_from_rfc3339(&row.str(0)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let user = EnrolledUser {
                name: row.str(4)?,
                role: Role::parse(&row.str(5)?)
                    .ok_or_else(|| StoreError::Corrupt("bad role".into()))?,
                jurisdiction: row.str(6)?,
            };
            match row.text(1)? {
                None => {
                    if expires < at {
                        return Err(problem(ProblemCode::EnrollmentCodeInvalid, "enrollment code expired"));
                    }
                    let device_id = Uuid::now_v7();
                    t.exec(
                        "INSERT INTO device (id, user_id, name, device_key_hash, token_hash, enrolled_at, next_seq)
                         VALUES ($1, $2, $3, $4, $5, $6, 1)",
                        &[
                            device_id.to_string().into(),
                            row.str(3)?.into(),
                            req.device_name.clone().into(),
                            key_hash.clone().into(),
                            token_hash.clone().into(),
                            ts(at).into(),
                        ],
                    )?;
                    t.exec(
                        "UPDATE enrollment_code SET device_key_hash = $1, device_id = $2 WHERE code_hash = $3",
                        &[key_hash.clone().into(), device_id.to_string().into(), code_hash.clone().into()],
                    )?;
                    Ok((device_id, user))
                }
                Some(used_by) if used_by == key_hash => {
                    // The first answer was lost: same device, fresh token — while the
                    // code is still valid, like the first exchange.
                    if expires < at {
                        return Err(problem(ProblemCode::EnrollmentCodeInvalid, "enrollment code expired"));
                    }
                    let device_id = uuid_of(&row, 2)?;
                    let revoked = t
                        .query_opt("SELECT revoked_at FROM device WHERE id = $1", &[device_id.to_string().into()])?
                        .map(|r| r.text(0))
                        .transpose()?
                        .flatten();
                    if revoked.is_some() {
                        return Err(problem(ProblemCode::DeviceRevoked, "this device was revoked"));
                    }
                    t.exec(
                        "UPDATE device SET token_hash = $1 WHERE id = $2",
                        &[token_hash.clone().into(), device_id.to_string().into()],
                    )?;
                    Ok((device_id, user))
                }
                Some(_) => Err(problem(
                    ProblemCode::EnrollmentCodeUsed,
                    "this code was already used by another device",
                )),
            }
        })?;
        Ok(EnrollResponse {
            device_id,
            token,
            user,
            server_key: self.server_key(),
        })
    }

    /// Finds the device and user of a bearer token.
    pub fn authenticate(&self, token: &str) -> Result<Caller, StoreError> {
        let hash = sha256_hex(token.as_bytes());
        let row = self.tx(|t| {
            t.query_opt(
                "SELECT d.id, d.revoked_at, u.name, u.role, u.jurisdiction, u.disabled_at
                 FROM device d JOIN app_user u ON u.id = d.user_id WHERE d.token_hash = $1",
                &[hash.clone().into()],
            )
            .map_err(StoreError::from)
        })?;
        let Some(row) = row else {
            return self.authenticate_session(&hash);
        };
        if row.text(1)?.is_some() {
            return Err(problem(
                ProblemCode::DeviceRevoked,
                "this device was revoked",
            ));
        }
        if row.text(5)?.is_some() {
            return Err(problem(
                ProblemCode::AccountDisabled,
                "this device's user has been disabled by an administrator",
            ));
        }
        Ok(Caller {
            device_id: uuid_of(&row, 0)?,
            user_name: row.str(2)?,
            role: Role::parse(&row.str(3)?)
                .ok_or_else(|| StoreError::Corrupt("bad role".into()))?,
            jurisdiction: DivisionCode::parse(&row.str(4)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            session: false,
            source: String::new(),
        })
    }

    /// Revokes a device; its token stops working at once. False if no such device.
    pub fn revoke_device(&self, id: Uuid) -> Result<bool, StoreError> {
        self.revoke_device_logged(id, None)
    }

    /// [`Store::revoke_device`], appending `audit` in the same transaction when the
    /// device exists.
    pub fn revoke_device_logged(
        &self,
        id: Uuid,
        audit: Option<&NewEntry>,
    ) -> Result<bool, StoreError> {
        let dialect = self.dialect();
        self.tx(|t| {
            let known = t.exec(
                "UPDATE device SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[ts(now()).into(), id.to_string().into()],
            )? == 1
                || t.query_opt(
                    "SELECT 1 FROM device WHERE id = $1",
                    &[id.to_string().into()],
                )?
                .is_some();
            if let (true, Some(e)) = (known, audit) {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(known)
        })
    }

    /// Every enrolled device.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT d.id, u.name, d.name, d.revoked_at, d.next_seq FROM device d JOIN app_user u ON u.id = d.user_id ORDER BY d.enrolled_at, d.id",
                &[],
            )
            .map_err(StoreError::from)
        })?;
        rows.iter()
            .map(|r| {
                Ok(DeviceInfo {
                    id: uuid_of(r, 0)?,
                    user: r.str(1)?,
                    name: r.text(2)?,
                    revoked: r.text(3)?.is_some(),
                    next_seq: r.int(4)? as u64,
                })
            })
            .collect()
    }

    // ------------------------------------------------------------ push

    /// Stores a batch of records: one result per record, in request order, and a
    /// signed receipt of everything in the batch the server holds.
    pub fn push(
        &self,
        caller: &Caller,
        records: &[RecordEnvelope],
    ) -> Result<PushResponse, StoreError> {
        let received = ts(now());
        let pg = self.dialect() == Dialect::Postgres;
        // The payloads, parsed at most once for the checks and the projection: by a
        // second thread ahead of the transaction when the batch is long enough.
        let typed: Vec<TypedPayload> = records.iter().map(TypedPayload::new).collect();
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by_key(|i| records[*i].seq);
        let (results, links, next_seq, held_at) = std::thread::scope(|scope| {
            if records.len() >= WARM_AHEAD_MIN_RECORDS {
                let (typed, order) = (&typed, &order);
                scope.spawn(move || order.iter().for_each(|i| typed[*i].warm()));
            }
            self.push_tx(caller, &typed, &order, &received, pg)
        })?;
        let mut held = Vec::new();
        for ((res, env), link) in results.iter().zip(records).zip(links) {
            let status = match res.outcome {
                Outcome::Accepted => "accepted",
                Outcome::Duplicate => "duplicate",
                _ => continue,
            };
            held.push(ReceiptRecord {
                id: env.id,
                seq: held_at.get(&env.id).copied().unwrap_or(env.seq),
                payload_sha256: env.payload_sha256.clone(),
                status: status.into(),
                link_sha256: link,
            });
        }
        let body = ReceiptBody {
            protocol: PROTOCOL_VERSION,
            device_id: caller.device_id,
            server_time: now(),
            next_seq,
            records: held,
        };
        let receipt = Receipt::sign(&body, &self.signing)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise receipt: {e}")))?;
        Ok(PushResponse {
            results,
            next_seq,
            receipt,
        })
    }

    /// The push's transaction: every record in sequence order, then the device's row.
    #[allow(clippy::type_complexity)]
    fn push_tx(
        &self,
        caller: &Caller,
        typed: &[TypedPayload],
        order: &[usize],
        received: &str,
        pg: bool,
    ) -> Result<
        (
            Vec<RecordResult>,
            Vec<Option<String>>,
            u64,
            HashMap<Uuid, u64>,
        ),
        StoreError,
    > {
        let device = caller.device_id.to_string();
        self.tx(|t| {
            // Takes the device's row lock: pushes of one device are serialised.
            t.exec(
                "UPDATE device SET next_seq = next_seq WHERE id = $1",
                &[device.clone().into()],
            )?;
            let row = t
                .query_opt(
                    "SELECT next_seq, chain_head, branch FROM device WHERE id = $1",
                    &[device.clone().into()],
                )?
                .ok_or_else(|| problem(ProblemCode::Unauthenticated, "device not found"))?;
            let mut sequence = Sequence {
                next: row.int(0)? as u64,
                head: row.text(1)?,
                branch: row.int(2)?,
                taken: Vec::new(),
                reused: std::collections::HashSet::new(),
                republish: std::collections::BTreeSet::new(),
                held_at: HashMap::new(),
            };
            let mut results: Vec<Option<RecordResult>> = vec![None; typed.len()];
            let mut links: Vec<Option<String>> = vec![None; typed.len()];
            for &i in order {
                let r = typed[i].r;
                let (outcome, link) =
                    self.push_one(t, caller, &typed[i], &mut sequence, received, pg)?;
                results[i] = Some(RecordResult {
                    id: r.id,
                    seq: r.seq,
                    outcome,
                });
                links[i] = link;
            }
            // Enterprises whose confirmed facts the batch changed: published once each.
            for uscc in std::mem::take(&mut sequence.republish) {
                crate::facts::republish(t, pg, &uscc)?;
            }
            t.exec(
                "UPDATE device SET next_seq = $1, chain_head = $2, branch = $3 WHERE id = $4",
                &[
                    (sequence.next as i64).into(),
                    sequence.head.clone().into(),
                    sequence.branch.into(),
                    device.clone().into(),
                ],
            )?;
            for e in std::mem::take(&mut sequence.taken) {
                t.exec(
                    "INSERT INTO device_seq (device_id, seq, record_id, payload_sha256, status, link_sha256)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id, seq) DO NOTHING",
                    &[
                        device.clone().into(),
                        (e.seq as i64).into(),
                        e.record_id.into(),
                        e.payload_sha256.into(),
                        e.status.as_str().into(),
                        e.link.into(),
                    ],
                )?;
            }
            Ok((
                results.into_iter().flatten().collect::<Vec<_>>(),
                links,
                sequence.next,
                sequence.held_at,
            ))
        })
    }

    fn push_one(
        &self,
        t: &mut dyn Tx,
        caller: &Caller,
        typed: &TypedPayload,
        sequence: &mut Sequence,
        received: &str,
        pg: bool,
    ) -> Result<(Outcome, Option<String>), StoreError> {
        let r = typed.r;
        let id = r.id.to_string();
        // A link that does not hash to what it claims is never taken as a chain head.
        let verified_link = r.link.as_ref().and_then(|l| {
            (l.computed_hash(r.seq, &r.payload_sha256, r.device_time)
                .as_deref()
                == Some(l.hash.as_str()))
            .then(|| l.hash.clone())
        });
        if let Some(row) = t.query_opt(
            "SELECT r.payload_sha256, r.state, r.reject_code, r.reject_detail,
                    d.id <> $2 AND d.user_id = (SELECT user_id FROM device WHERE id = $2),
                    d.id = $2 OR EXISTS (SELECT 1 FROM record_holder h
                                         WHERE h.record_id = r.id AND h.device_id = $2),
                    r.link_sha256
             FROM record r JOIN device d ON d.id = r.device_id WHERE r.id = $1",
            &[id.clone().into(), caller.device_id.to_string().into()],
        )? {
            let existing = row.str(0)?;
            let same_user_other_device = row.int(4)? != 0;
            let held_by_caller = row.int(5)? != 0;
            let stored_link = row.text(6)?;
            if !held_by_caller && !same_user_other_device {
                // Another person's record: say nothing about it (no hash, no state, no
                // receipt entry). The id still takes its place in this device's sequence,
                // like any refused record, so what follows is not a gap.
                match verified_link {
                    Some(l)
                        if chain_problem(r, &Some(l.clone()), &sequence.head, typed).is_none() =>
                    {
                        sequence.take(r, HeldStatus::Rejected, Some(l))
                    }
                    _ => sequence.skip(r, HeldStatus::Rejected),
                }
                return Ok((
                    Outcome::Rejected {
                        code: ProblemCode::RecordIdTaken,
                        detail: "this record id is not available to this device; a new record needs a new id".into(),
                    },
                    None,
                ));
            }
            // The id is held already (pushed before by this device, or by this device
            // under an earlier enrollment): it still takes its place in this device's
            // sequence, so what follows is not a gap. The link the server holds stays
            // the truth: a phone whose chain was re-hashed since cannot replace it.
            let relinked = matches!((&r.link, &stored_link), (Some(l), Some(s)) if &l.hash != s);
            // A position this device's sequence had already settled: the record may be
            // held at another one (the phone went back to a copy from before a fork).
            let settled = r.seq < sequence.next;
            let refused_as_broken =
                row.text(2)?.as_deref() == Some(ProblemCode::ChainBroken.as_str());
            let status = if row.str(1)? == "rejected" || existing != r.payload_sha256 || relinked {
                HeldStatus::Rejected
            } else {
                HeldStatus::Held
            };
            match stored_link.clone().or(verified_link) {
                // A link once refused as broken never becomes the head, under any
                // identity; nor does "no link" replace an anchored head.
                _ if refused_as_broken => sequence.skip(r, status),
                None if sequence.head.is_some() => sequence.skip(r, status),
                link => sequence.take(r, status, link),
            }
            if row.str(1)? == "rejected" {
                let code: ProblemCode =
                    serde_json::from_value(serde_json::Value::String(row.str(2)?))
                        .unwrap_or(ProblemCode::PayloadInvalid);
                return Ok((
                    Outcome::Rejected {
                        code,
                        detail: row.text(3)?.unwrap_or_default(),
                    },
                    None,
                ));
            }
            if existing != r.payload_sha256 {
                return Ok((
                    Outcome::Conflict {
                        existing_sha256: existing,
                    },
                    None,
                ));
            }
            if relinked {
                return Ok((
                    Outcome::Rejected {
                        code: ProblemCode::ChainBroken,
                        detail: format!(
                            "record {id} is held with another chain link; the phone's chain was rewritten after it was synced"
                        ),
                    },
                    None,
                ));
            }
            if same_user_other_device {
                // The same person's device under a new enrollment: it holds this
                // record too, and may deliver the photos the old identity did not.
                t.exec(
                    "INSERT INTO record_holder (record_id, device_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[id.clone().into(), caller.device_id.to_string().into()],
                )?;
            }
            if settled && held_by_caller {
                if let Some(at) = held_position(t, &caller.device_id, &id, r.seq)? {
                    sequence.held_at.insert(r.id, at);
                }
            }
            return Ok((Outcome::Duplicate, stored_link));
        }
        let follows_reused = r
            .link
            .as_ref()
            .is_some_and(|l| sequence.reused.contains(&l.prev_hash));
        if r.seq < sequence.next || follows_reused {
            // Nothing stored: the phone renumbers (forks) and sends it again.
            if let Some(l) = &verified_link {
                sequence.reused.insert(l.clone());
            }
            let detail = if follows_reused {
                format!(
                    "record {} follows a record of this push whose position is taken; fork from the next expected {}",
                    r.id, sequence.next
                )
            } else {
                format!(
                    "sequence number {} is already used; the next expected is {}",
                    r.seq, sequence.next
                )
            };
            return Ok((
                Outcome::Rejected {
                    code: ProblemCode::SeqReused,
                    detail,
                },
                None,
            ));
        }
        if r.seq > sequence.next {
            return Ok((
                Outcome::Gap {
                    expected_seq: sequence.next,
                },
                None,
            ));
        }
        // The first record of a fork (a phone restored from an older copy) continues a
        // link of this device's sequence other than the head: checked against that link.
        let fork_point = match (&r.link, &verified_link) {
            (Some(l), Some(_)) if r.fork && Some(&l.prev_hash) != sequence.head.as_ref() => {
                fork_point_of(t, &caller.device_id, l, r.seq)?
            }
            _ => None,
        };
        let head = match (&fork_point, &r.link) {
            (Some(_), Some(l)) => Some(l.prev_hash.clone()),
            _ => sequence.head.clone(),
        };
        let checked = match chain_problem(r, &verified_link, &head, typed) {
            Some(problem) => Err(problem),
            None if r.withheld => Err((
                ProblemCode::PayloadTooLarge,
                "the phone holds this record but withheld its payload: it is over the \
                 server's payload limit"
                    .to_string(),
            )),
            None => self.check_record(t, caller, r, typed)?,
        };
        let fork_point =
            fork_point.filter(|_| !matches!(&checked, Err((ProblemCode::ChainBroken, _))));
        if let Some(p) = fork_point {
            sequence.branch += 1;
            tracing::warn!(device = %caller.device_id, record = %id, seq = r.seq, fork_point = p,
                branch = sequence.branch, "the device forked its chain (restored from an older copy)");
        }
        let branch_cols = [sequence.branch.into(), fork_point.map(|p| p as i64).into()];
        let seq = r.seq as i64;
        // Only a link that hashes to what it claims is kept with the record.
        let link = r.link.as_ref().filter(|_| verified_link.is_some());
        let link_cols = [
            link.map(|l| l.hash.clone()).into(),
            link.map(|l| l.prev_hash.clone()).into(),
            link.map(|l| i64::from(l.version)).into(),
        ];
        match checked {
            Ok(Checked {
                uscc,
                division,
                new_hazard,
            }) => {
                let [l1, l2, l3] = link_cols;
                let [b1, b2] = branch_cols;
                let clock = r.device_time.and_then(|d| {
                    let received = DateTime::parse_from_rfc3339(received).ok()?;
                    ClockFlag::assess(d, received.with_timezone(&Utc), gnss_time(&r.payload))
                });
                t.exec(
                    "INSERT INTO record (id, device_id, seq, kind, payload_sha256, payload, enterprise_uscc, division_code, state, device_time, received_at, link_sha256, prev_link_sha256, link_version, clock_flag, clock_skew_s, branch, fork_point)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'accepted', $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                    &[
                        id.clone().into(),
                        caller.device_id.to_string().into(),
                        seq.into(),
                        r.kind.as_str().into(),
                        r.payload_sha256.clone().into(),
                        r.payload.clone().into(),
                        uscc.into(),
                        division.as_str().into(),
                        r.device_time.map(ts).into(),
                        received.into(),
                        l1,
                        l2,
                        l3,
                        clock.as_ref().map(|c| c.kind.clone()).into(),
                        clock.as_ref().map(|c| c.skew_s).into(),
                        b1,
                        b2,
                    ],
                )?;
                if let Some(c) = &clock {
                    tracing::info!(record = %id, kind = %c.kind, skew_s = c.skew_s, "device clock flagged");
                }
                let mut photos = r.photos.clone();
                photos.sort();
                photos.dedup();
                for p in photos {
                    t.exec(
                        "INSERT INTO record_photo (record_id, sha256) VALUES ($1, $2)",
                        &[id.clone().into(), p.into()],
                    )?;
                }
                if let Some(h) = new_hazard {
                    t.exec(
                        "INSERT INTO hazard (id, enterprise_id, enterprise_uscc, division_code, severity, created_record_id)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                        &[
                            h.id.to_string().into(),
                            h.enterprise_id.to_string().into(),
                            h.uscc.into(),
                            division.as_str().into(),
                            severity_str(h.severity).into(),
                            id.clone().into(),
                        ],
                    )?;
                }
                if r.kind == RecordKind::HazardEvent {
                    let body: serde_json::Value = serde_json::from_str(&r.payload)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    upsert_change(
                        t,
                        pg,
                        ChangeKind::HazardEvent,
                        &id,
                        Some(division.as_str()),
                        &body,
                    )?;
                }
                if let Some(uscc) = crate::projections::project_parsed(
                    t,
                    &crate::projections::Accepted {
                        id: &id,
                        device_id: &caller.device_id.to_string(),
                        kind: r.kind.as_str(),
                        payload: &r.payload,
                        division: division.as_str(),
                        received_at: received,
                        payload_sha256: &r.payload_sha256,
                        pg,
                        publish: true,
                    },
                    typed.inspection(),
                )? {
                    sequence.republish.insert(uscc);
                }
                sequence.take(r, HeldStatus::Held, verified_link.clone());
                Ok((Outcome::Accepted, verified_link))
            }
            Err((code, detail)) => {
                let [l1, l2, l3] = link_cols;
                let [b1, b2] = branch_cols;
                t.exec(
                    "INSERT INTO record (id, device_id, seq, kind, payload_sha256, state, reject_code, reject_detail, received_at, link_sha256, prev_link_sha256, link_version, branch, fork_point)
                     VALUES ($1, $2, $3, $4, $5, 'rejected', $6, $7, $8, $9, $10, $11, $12, $13)",
                    &[
                        id.into(),
                        caller.device_id.to_string().into(),
                        seq.into(),
                        r.kind.as_str().into(),
                        r.payload_sha256.clone().into(),
                        code.as_str().into(),
                        detail.clone().into(),
                        received.into(),
                        l1,
                        l2,
                        l3,
                        b1,
                        b2,
                    ],
                )?;
                // A broken link does not become the head: what follows it is checked
                // against the last link that held.
                if code == ProblemCode::ChainBroken {
                    sequence.skip(r, HeldStatus::Rejected);
                } else {
                    sequence.take(r, HeldStatus::Rejected, verified_link);
                }
                Ok((Outcome::Rejected { code, detail }, None))
            }
        }
    }

    /// Per-record checks: hash, payload, photos, jurisdiction. Returns the normalised
    /// USCC and the division the record belongs to.
    fn check_record(
        &self,
        t: &mut dyn Tx,
        caller: &Caller,
        r: &RecordEnvelope,
        typed: &TypedPayload,
    ) -> Result<Result<Checked, (ProblemCode, String)>, StoreError> {
        let bad = |code, detail: String| Ok(Err((code, detail)));
        if !is_sha256_hex(&r.payload_sha256) {
            return bad(
                ProblemCode::PayloadInvalid,
                "payload_sha256 is not 64 lower-case hex digits".into(),
            );
        }
        if r.payload.len() as u64 > self.limits.max_payload_bytes {
            return bad(
                ProblemCode::PayloadTooLarge,
                format!(
                    "payload is over {} bytes (the server's published max_payload_bytes)",
                    self.limits.max_payload_bytes
                ),
            );
        }
        let actual = typed.sha256();
        if actual != r.payload_sha256 {
            return bad(
                ProblemCode::PayloadHashMismatch,
                format!("the payload's SHA-256 is {actual}"),
            );
        }
        // An inspection that parses is JSON; anything else is read through once.
        if typed.inspection().is_none()
            && serde_json::from_str::<serde::de::IgnoredAny>(&r.payload).is_err()
        {
            return bad(ProblemCode::PayloadInvalid, "payload is not JSON".into());
        }
        if let Some(p) = r.photos.iter().find(|p| !is_sha256_hex(p)) {
            return bad(
                ProblemCode::PayloadInvalid,
                format!("photo hash '{p}' is not 64 lower-case hex digits"),
            );
        }
        let mut uscc_out = None;
        let division = if let Some(u) = &r.enterprise_uscc {
            let uscc = match Uscc::parse(u) {
                Ok(u) => u,
                Err(e) => return bad(ProblemCode::PayloadInvalid, format!("USCC '{u}': {e}")),
            };
            uscc_out = Some(uscc.as_str().to_string());
            let village = t
                .query_opt(
                    "SELECT village_code FROM enterprise WHERE uscc = $1",
                    &[uscc.as_str().into()],
                )?
                .map(|row| row.str(0))
                .transpose()?;
            match (village, &r.division_code) {
                (Some(v), _) => {
                    DivisionCode::parse(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                (None, Some(d)) => match DivisionCode::parse(d) {
                    Ok(d) => d,
                    Err(e) => return bad(ProblemCode::PayloadInvalid, e.to_string()),
                },
                (None, None) => {
                    return bad(
                        ProblemCode::UnknownEnterprise,
                        format!("{uscc} is not in the register and no division_code was given"),
                    )
                }
            }
        } else if let Some(d) = &r.division_code {
            match DivisionCode::parse(d) {
                Ok(d) => d,
                Err(e) => return bad(ProblemCode::PayloadInvalid, e.to_string()),
            }
        } else {
            caller.jurisdiction.clone()
        };
        let mut division = division;
        let mut new_hazard = None;
        if r.kind == RecordKind::HazardEvent {
            match check_hazard_event(t, caller, &r.payload, uscc_out.as_deref())? {
                Err((code, detail)) => return bad(code, detail),
                Ok(HazardPlace::New(h)) => new_hazard = Some(h),
                Ok(HazardPlace::Known { uscc, division: d }) => {
                    uscc_out = Some(uscc);
                    division = d;
                }
            }
        }
        if r.kind == RecordKind::Lease {
            let covers = |d: &DivisionCode| caller.jurisdiction.covers(d);
            if let Err((code, detail)) =
                crate::phone_leases::check(t, &r.payload, uscc_out.as_deref(), &covers)?
            {
                return bad(code, detail);
            }
        }
        if r.kind == RecordKind::SuspectedConfirmation {
            let covers = |d: &DivisionCode| caller.jurisdiction.covers(d);
            if let Err((code, detail)) =
                crate::suspected::check(t, &r.payload, r.division_code.as_deref(), &covers)?
            {
                return bad(code, detail);
            }
        }
        if !caller.jurisdiction.covers(&division) {
            return bad(
                ProblemCode::ForbiddenJurisdiction,
                format!(
                    "{division} is outside {}'s jurisdiction {}",
                    caller.user_name, caller.jurisdiction
                ),
            );
        }
        Ok(Ok(Checked {
            uscc: uscc_out,
            division,
            new_hazard,
        }))
    }

    // ------------------------------------------------------------ record state

    /// A record of the caller's device, with its state and missing photos.
    pub fn record_status(&self, caller: &Caller, id: Uuid) -> Result<RecordStatus, StoreError> {
        self.tx(|t| {
            let row = t
                .query_opt(
                    "SELECT seq, kind, payload_sha256, state, clock_flag, clock_skew_s, branch, fork_point FROM record r WHERE id = $1
                       AND (device_id = $2 OR EXISTS (SELECT 1 FROM record_holder h
                            WHERE h.record_id = r.id AND h.device_id = $2))",
                    &[id.to_string().into(), caller.device_id.to_string().into()],
                )?
                .ok_or_else(|| {
                    problem(
                        ProblemCode::NotFound,
                        format!("no record {id} from this device"),
                    )
                })?;
            let photos = photo_hashes(t, &id.to_string())?;
            let missing = missing_for(t, &id.to_string())?;
            let state = if row.str(3)? == "rejected" {
                RecordState::Rejected
            } else if missing.is_empty() {
                RecordState::Complete
            } else {
                RecordState::Accepted
            };
            Ok(RecordStatus {
                id,
                seq: row.int(0)? as u64,
                kind: RecordKind::parse(&row.str(1)?)
                    .ok_or_else(|| StoreError::Corrupt("bad record kind".into()))?,
                payload_sha256: row.str(2)?,
                state,
                photos,
                missing_photos: missing,
                clock: clock_of(&row, 4)?,
                branch: row.int(6)?.max(0) as u64,
                fork_point: row.opt_int(7)?.map(|p| p.max(0) as u64),
            })
        })
    }

    /// Photos referenced by the accepted records the caller pushed or holds (pushed again
    /// after enrolling anew) that no device holding the record has delivered yet: bytes
    /// another device uploaded do not count (`blob_source`).
    pub fn missing_photos(&self, caller: &Caller) -> Result<MissingPhotos, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT rp.sha256, rp.record_id FROM record_photo rp JOIN record r ON r.id = rp.record_id
                 WHERE r.state = 'accepted'
                   AND r.id IN (SELECT id FROM record WHERE device_id = $1
                                UNION SELECT record_id FROM record_holder WHERE device_id = $1)
                   AND NOT EXISTS (SELECT 1 FROM blob_source bs
                       JOIN device src ON src.id = bs.device_id
                       WHERE bs.sha256 = rp.sha256
                         AND src.user_id = (SELECT user_id FROM device WHERE id = r.device_id))
                 ORDER BY rp.sha256, rp.record_id",
                &[caller.device_id.to_string().into()],
            )
            .map_err(StoreError::from)
        })?;
        let mut by_hash: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for r in &rows {
            by_hash.entry(r.str(0)?).or_default().push(uuid_of(r, 1)?);
        }
        Ok(MissingPhotos {
            photos: by_hash
                .into_iter()
                .map(|(sha256, records)| MissingPhoto { sha256, records })
                .collect(),
        })
    }

    /// Compares what the server holds of the caller's sequence with the device's digests
    /// (docs/sync-protocol.md "Reconciliation"): each range is answered `same`, split
    /// into [`FAN_OUT`] parts with the server's digests, or — at most [`LEAF_POSITIONS`]
    /// positions — with the entries held. Also the epoch, the next position, the photos
    /// still missing and the limits.
    pub fn reconcile(
        &self,
        caller: &Caller,
        req: &ReconcileRequest,
    ) -> Result<ReconcileResponse, StoreError> {
        if req.ranges.len() > MAX_RANGES {
            return Err(problem(
                ProblemCode::MalformedBody,
                format!("{} ranges; at most {MAX_RANGES}", req.ranges.len()),
            ));
        }
        // In order and apart: a request reads each position of the device at most once.
        if let Some(w) = req.ranges.windows(2).find(|w| w[1].from <= w[0].to) {
            return Err(problem(
                ProblemCode::MalformedBody,
                format!(
                    "range {}..={} does not come after {}..={}: ranges are ascending and do not overlap",
                    w[1].from, w[1].to, w[0].from, w[0].to
                ),
            ));
        }
        for r in &req.ranges {
            if r.from == 0 || r.from > r.to || r.to > i64::MAX as u64 || !is_sha256_hex(&r.digest) {
                return Err(problem(
                    ProblemCode::MalformedBody,
                    format!(
                        "range {}..={} with digest '{}': ranges start at 1, end at or after their start, and carry a SHA-256",
                        r.from, r.to, r.digest
                    ),
                ));
            }
        }
        let device = caller.device_id.to_string();
        let (epoch, next_seq, ranges) = self.tx(|t| {
            let epoch = epoch_of(t)?;
            let next_seq = t
                .query_opt(
                    "SELECT next_seq FROM device WHERE id = $1",
                    &[device.clone().into()],
                )?
                .ok_or_else(|| problem(ProblemCode::Unauthenticated, "device not found"))?
                .int(0)? as u64;
            let mut answers = Vec::with_capacity(req.ranges.len());
            for r in &req.ranges {
                let rows = t.query(
                    "SELECT seq, record_id, payload_sha256, status FROM device_seq
                     WHERE device_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
                    &[
                        device.clone().into(),
                        (r.from as i64).into(),
                        (r.to as i64).into(),
                    ],
                )?;
                let mut entries = Vec::with_capacity(rows.len());
                for row in &rows {
                    entries.push(HeldEntry {
                        seq: row.int(0)? as u64,
                        id: uuid_of(row, 1)?,
                        payload_sha256: row.str(2)?,
                        status: match row.str(3)?.as_str() {
                            "held" => HeldStatus::Held,
                            _ => HeldStatus::Rejected,
                        },
                    });
                }
                let verdict = if range_digest(&entries) == r.digest {
                    RangeVerdict::Same
                } else if r.len() <= LEAF_POSITIONS {
                    RangeVerdict::Entries { entries }
                } else {
                    // One pass over the (ordered) entries.
                    let step = r.len().div_ceil(FAN_OUT);
                    let mut parts = Vec::new();
                    let mut rest = entries.as_slice();
                    let mut from = r.from;
                    while from <= r.to {
                        let to = from.saturating_add(step - 1).min(r.to);
                        let n = rest.partition_point(|e| e.seq <= to);
                        let (inside, after) = rest.split_at(n);
                        parts.push(SeqRange {
                            from,
                            to,
                            digest: range_digest(inside),
                        });
                        rest = after;
                        from = to + 1;
                    }
                    RangeVerdict::Split { parts }
                };
                answers.push(RangeAnswer {
                    from: r.from,
                    to: r.to,
                    verdict,
                });
            }
            Ok((epoch, next_seq, answers))
        })?;
        let missing = self.missing_photos(caller)?;
        let missing_photos_more = missing.photos.len() > MAX_MISSING_LISTED;
        Ok(ReconcileResponse {
            epoch,
            next_seq,
            ranges,
            missing_photos: missing
                .photos
                .into_iter()
                .take(MAX_MISSING_LISTED)
                .map(|m| m.sha256)
                .collect(),
            missing_photos_more,
            limits: self.limits,
        })
    }

    /// Empties the projections and folds every accepted record again (`projections
    /// rebuild`); also says whether the rows differ from before.
    pub fn rebuild_projections(
        &self,
    ) -> Result<(crate::projections::RebuildReport, bool), StoreError> {
        let pg = self.dialect() == Dialect::Postgres;
        self.tx(|t| {
            let before = crate::projections::dump(t)?;
            let report = crate::projections::rebuild(t, pg)?;
            let changed = crate::projections::dump(t)? != before;
            Ok((report, changed))
        })
    }

    /// Every projected row as text, in key order (equal dumps, equal projections).
    pub fn projection_dump(&self) -> Result<Vec<String>, StoreError> {
        self.tx(crate::projections::dump)
    }

    /// The hazards of a division (a prefix of its code covers its children), optionally
    /// only those past their deadline on `today` (China date) and not yet rectified.
    pub fn hazard_list(
        &self,
        division: &DivisionCode,
        overdue_on: Option<chrono::NaiveDate>,
    ) -> Result<Vec<HazardListItem>, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT h.id, h.enterprise_uscc, e.name, h.division_code, h.severity, h.status,
                        h.deadline, h.assignee, h.listed, h.found_at, h.closed_at, h.event_count,
                        h.skipped_events, h.state
                 FROM hazard h LEFT JOIN enterprise e ON e.uscc = h.enterprise_uscc
                 WHERE h.status IS NOT NULL AND h.division_code LIKE $1
                 ORDER BY h.deadline, h.id",
                &[format!("{}%", division.significant_prefix()).into()],
            )
            .map_err(StoreError::from)
        })?;
        let today = overdue_on
            .unwrap_or_else(|| gridwalk_checklist::hazard::china_date(Utc::now()))
            .to_string();
        let mut out = Vec::new();
        for r in &rows {
            let status = r.str(5)?;
            let deadline = r.str(6)?;
            let open = matches!(status.as_str(), "found" | "assigned" | "rectifying");
            // ISO dates order as text.
            let overdue = open && deadline < today;
            if overdue_on.is_some() && !overdue {
                continue;
            }
            out.push(HazardListItem {
                id: uuid_of(r, 0)?,
                enterprise_uscc: r.str(1)?,
                enterprise_name: r.text(2)?,
                division_code: r.str(3)?,
                severity: r.str(4)?,
                status,
                deadline,
                overdue,
                assignee: r.text(7)?,
                listed: r.opt_int(8)?.unwrap_or(0) != 0,
                found_at: r.text(9)?,
                closed_at: r.text(10)?,
                event_count: r.opt_int(11)?.unwrap_or(0).max(0) as u64,
                skipped_events: r.opt_int(12)?.unwrap_or(0).max(0) as u64,
                plan: r
                    .text(13)?
                    .and_then(|s| serde_json::from_str::<gridwalk_checklist::HazardState>(&s).ok())
                    .and_then(|s| s.plan),
            });
        }
        Ok(out)
    }

    /// Every accepted inspection with its photos and state (`export inspections`).
    pub fn export_inspections(&self) -> Result<Vec<InspectionExport>, StoreError> {
        self.tx(|t| {
            let rows = t.query(
                "SELECT id, device_id, enterprise_uscc, payload_sha256, clock_flag, clock_skew_s FROM record
                 WHERE kind = 'inspection' AND state = 'accepted' ORDER BY received_at, id",
                &[],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let id = r.str(0)?;
                let missing = missing_for(t, &id)?;
                out.push(InspectionExport {
                    record_id: uuid_of(r, 0)?,
                    device_id: uuid_of(r, 1)?,
                    enterprise_uscc: r.text(2)?,
                    payload_sha256: r.str(3)?,
                    photo_hashes: photo_hashes(t, &id)?,
                    state: if missing.is_empty() {
                        RecordState::Complete
                    } else {
                        RecordState::Accepted
                    },
                    clock: clock_of(r, 4)?,
                });
            }
            Ok(out)
        })
    }

    // ------------------------------------------------------------ uploads

    /// True if an accepted record this device pushed or holds references the photo.
    pub fn photo_referenced(&self, caller: &Caller, sha256: &str) -> Result<bool, StoreError> {
        self.tx(|t| {
            Ok(t.query_opt(
                "SELECT 1 FROM record_photo rp JOIN record r ON r.id = rp.record_id
                 WHERE rp.sha256 = $1 AND r.state = 'accepted'
                   AND (r.device_id = $2 OR EXISTS (SELECT 1 FROM record_holder h
                        WHERE h.record_id = r.id AND h.device_id = $2))",
                &[sha256.into(), caller.device_id.to_string().into()],
            )?
            .is_some())
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

    // ------------------------------------------------------------ register, pull

    /// Publishes divisions and enterprise register entries in one transaction; each
    /// changed one is offered to devices. Returns how many changed.
    pub fn publish_register(
        &self,
        divisions: &[gridwalk_core::division::Division],
        enterprises: &[PublishedEnterprise],
    ) -> Result<usize, StoreError> {
        let pg = self.dialect() == Dialect::Postgres;
        self.tx(|t| publish_register_in(t, pg, divisions, enterprises))
    }

    /// Offers the shipped checklist templates to every device (once per version).
    pub fn publish_templates(&self) -> Result<usize, StoreError> {
        let templates = gridwalk_checklist::builtin::try_builtin_templates()
            .map_err(|e| StoreError::Corrupt(format!("shipped templates: {e}")))?;
        let pg = self.dialect() == Dialect::Postgres;
        let mut changed = 0;
        for tpl in templates {
            let body =
                serde_json::to_value(&tpl).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let key = format!("{}@{}", tpl.id, tpl.version);
            if self.tx(|t| upsert_change(t, pg, ChangeKind::Template, &key, None, &body))? {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// One page of changes the caller may see, after `cursor` (`{epoch}.{position}`, or a
    /// bare position from protocol 1). A cursor of another epoch, or past the end of the
    /// change log (a database restored from a backup), restarts from the beginning.
    pub fn pull(&self, caller: &Caller, cursor: &str, limit: u32) -> Result<PullPage, StoreError> {
        self.pull_for(caller, cursor, limit, PROTOCOL_VERSION)
    }

    /// [`Store::pull`] for a client speaking `protocol`: a protocol 1 app does not know
    /// campaign changes, so it is not sent them.
    pub fn pull_for(
        &self,
        caller: &Caller,
        cursor: &str,
        limit: u32,
        protocol: u32,
    ) -> Result<PullPage, StoreError> {
        let j = &caller.jurisdiction;
        let mut anc = ancestors(j);
        anc.resize(4, String::new());
        let limit = limit.clamp(1, 1000) as i64;
        let cursor = cursor.trim();
        let (cursor_epoch, position) = match cursor.split_once('.') {
            Some((e, p)) => (Some(e), p),
            None => (None, cursor),
        };
        let position = match position {
            "" => 0,
            p => p.parse::<i64>().ok().filter(|p| *p >= 0).ok_or_else(|| {
                problem(ProblemCode::MalformedBody, format!("bad cursor '{cursor}'"))
            })?,
        };
        let (epoch, rows, cursor) = self.tx(|t| {
            let epoch = epoch_of(t)?;
            let end = match t.query_opt("SELECT max(seq) FROM change_log", &[])? {
                Some(r) => r.opt_int(0)?.unwrap_or(0),
                None => 0,
            };
            let stale = cursor_epoch.is_some_and(|e| e != epoch) || position > end;
            if stale {
                tracing::info!(device = %caller.device_id, cursor, end, %epoch,
                    "pull cursor from another epoch or past the change log: restarting");
            }
            let cursor = if stale { 0 } else { position };
            let rows = t.query(
                "SELECT seq, kind, key, body FROM change_log
                 WHERE seq > $1 AND (division_code IS NULL OR division_code LIKE $2
                       OR division_code IN ($3, $4, $5, $6))
                   AND min_protocol <= $8 AND (recipient IS NULL OR recipient = $9)
                 ORDER BY seq LIMIT $7",
                &[
                    cursor.into(),
                    format!("{}%", j.significant_prefix()).into(),
                    anc[0].clone().into(),
                    anc[1].clone().into(),
                    anc[2].clone().into(),
                    anc[3].clone().into(),
                    (limit + 1).into(),
                    i64::from(protocol).into(),
                    caller.user_name.clone().into(),
                ],
            )?;
            Ok((epoch, rows, cursor))
        })?;
        let has_more = rows.len() as i64 > limit;
        let mut changes = Vec::new();
        let mut next = cursor;
        for r in rows.iter().take(limit as usize) {
            next = r.int(0)?;
            changes.push(Change {
                cursor: format!("{epoch}.{next}"),
                kind: ChangeKind::parse(&r.str(1)?)
                    .ok_or_else(|| StoreError::Corrupt("bad change kind".into()))?,
                key: r.str(2)?,
                body: serde_json::from_str(&r.str(3)?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            });
        }
        Ok(PullPage {
            changes,
            next_cursor: format!("{epoch}.{next}"),
            has_more,
        })
    }
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

/// [`Store::publish_register`] inside the caller's transaction (a register import
/// merges and publishes in one).
pub(crate) fn publish_register_in(
    t: &mut dyn Tx,
    pg: bool,
    divisions: &[gridwalk_core::division::Division],
    enterprises: &[PublishedEnterprise],
) -> Result<usize, StoreError> {
    let mut changed = 0;
    for d in divisions {
        let body = serde_json::to_value(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        t.exec(
                "INSERT INTO division (code, name, level, parent_code) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code",
                &[
                    d.code.as_str().into(),
                    d.name.clone().into(),
                    d.level.as_str().into(),
                    d.parent_code.as_ref().map(|p| p.as_str().to_string()).into(),
                ],
            )?;
        changed += usize::from(upsert_change(
            t,
            pg,
            ChangeKind::Division,
            d.code.as_str(),
            Some(d.code.as_str()),
            &body,
        )?);
    }
    for e in enterprises {
        let text =
            serde_json::to_string(&e.body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // What visits confirmed stays confirmed when the register is imported
        // again (docs/campaign.md "Enterprise facts").
        let published = crate::facts::effective_body(t, &e.uscc, &e.body)?;
        let [name, dust, al_mg, workers, tenant] = crate::coverage::register_facts(&published);
        t.exec(
                "INSERT INTO enterprise (id, uscc, village_code, body, name, dust_involved, al_mg, workers_per_shift, tenant)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET village_code = excluded.village_code, body = excluded.body,
                     name = excluded.name, dust_involved = excluded.dust_involved, al_mg = excluded.al_mg,
                     workers_per_shift = excluded.workers_per_shift, tenant = excluded.tenant",
                &[
                    e.id.to_string().into(),
                    e.uscc.clone().into(),
                    e.village.as_str().into(),
                    text.into(),
                    name,
                    dust,
                    al_mg,
                    workers,
                    tenant,
                ],
            )?;
        // Phone-recorded leases are in the published row, and so in the ledger.
        crate::lease_ledger::index_landlord(t, &e.id, &published)?;
        changed += usize::from(upsert_change(
            t,
            pg,
            ChangeKind::Enterprise,
            &e.id.to_string(),
            Some(e.village.as_str()),
            &published,
        )?);
    }
    Ok(changed)
}

/// Puts the latest version of an entity at the end of the change log (unless its body
/// is unchanged). Returns true if it changed.
pub(crate) fn upsert_change(
    t: &mut dyn Tx,
    pg: bool,
    kind: ChangeKind,
    key: &str,
    division: Option<&str>,
    body: &serde_json::Value,
) -> Result<bool, StoreError> {
    upsert_change_for(t, pg, kind, key, division, body, None)
}

/// [`upsert_change`] for one user's phones only (`recipient`), or everyone's (`None`).
pub(crate) fn upsert_change_for(
    t: &mut dyn Tx,
    pg: bool,
    kind: ChangeKind,
    key: &str,
    division: Option<&str>,
    body: &serde_json::Value,
    recipient: Option<&str>,
) -> Result<bool, StoreError> {
    let text = serde_json::to_string(body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if pg {
        // Writers take turns, so change seqs commit in order and no cursor skips one.
        t.exec("LOCK TABLE change_log IN SHARE ROW EXCLUSIVE MODE", &[])?;
    }
    let old = t.query_opt(
        "SELECT body, division_code FROM change_log WHERE kind = $1 AND key = $2",
        &[kind.as_str().into(), key.into()],
    )?;
    if let Some(old) = old {
        if old.str(0)? == text && old.text(1)?.as_deref() == division {
            return Ok(false);
        }
        t.exec(
            "DELETE FROM change_log WHERE kind = $1 AND key = $2",
            &[kind.as_str().into(), key.into()],
        )?;
    }
    t.exec(
        "INSERT INTO change_log (kind, key, division_code, body, min_protocol, recipient) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            kind.as_str().into(),
            key.into(),
            division.map(str::to_string).into(),
            Val::Text(text),
            i64::from(min_protocol_of(kind, body)).into(),
            recipient.map(str::to_string).into(),
        ],
    )?;
    Ok(true)
}

/// The oldest protocol whose devices can read this change: its kind's, or 3 for a
/// hazard event of a kind protocol 3 added (`plan_set`).
fn min_protocol_of(kind: ChangeKind, body: &serde_json::Value) -> u32 {
    let event_kind = body.get("kind").and_then(|k| k.as_str());
    match (kind, event_kind) {
        (ChangeKind::HazardEvent, Some("plan_set")) => 3,
        _ => kind.min_protocol(),
    }
}

/// The GNSS fix time a payload's GPS stamp carries, if any.
fn gnss_time(payload: &str) -> Option<DateTime<Utc>> {
    // A key `stamp` is written `"stamp"` unless \u-escaped: without either, there is
    // none, and the payload is not read at all (an inspection carries no stamp).
    if !payload.contains("\"stamp\"") && !payload.contains("\\u") {
        return None;
    }
    // Only `stamp.fix_time` is read; the rest of the payload is skipped, not built.
    #[derive(serde::Deserialize)]
    struct Stamped {
        stamp: Option<Stamp>,
    }
    #[derive(serde::Deserialize)]
    struct Stamp {
        fix_time: Option<String>,
    }
    let t = match serde_json::from_str::<Stamped>(payload) {
        Ok(v) => v.stamp?.fix_time?,
        // A payload the typed read refuses (a duplicated key, say) is read as the
        // evidence panel reads it, the last key winning: the clock check is not skipped.
        Err(_) => serde_json::from_str::<serde_json::Value>(payload)
            .ok()?
            .get("stamp")?
            .get("fix_time")?
            .as_str()?
            .to_string(),
    };
    Some(DateTime::parse_from_rfc3339(&t).ok()?.with_timezone(&Utc))
}

/// A record's clock flag from its stored columns.
fn clock_of(row: &Row, kind: usize) -> Result<Option<ClockFlag>, StoreError> {
    Ok(row.text(kind)?.map(|k| ClockFlag {
        kind: k,
        skew_s: row.int(kind + 1).unwrap_or(0),
    }))
}

/// A device's place in its sequence while a push is stored: the next sequence number
/// and the hash of the link at the position before it (`None` when that record came
/// without a link, from an app older than the anchored chain).
struct Sequence {
    next: u64,
    head: Option<String>,
    /// The device's current branch (0 until its first fork).
    branch: i64,
    /// Positions taken in this push, written to `device_seq` with the device's row.
    taken: Vec<SeqEntry>,
    /// Records this push sent again at a position other than the one this device's
    /// sequence holds them at: the receipt names the held position, and the phone
    /// adopts it (docs/sync-protocol.md "Forks").
    held_at: HashMap<Uuid, u64>,
    /// Links of this push's records refused `seq_reused` (nothing stored): a record
    /// following one of them is the same phone's next record, and must fork too.
    reused: std::collections::HashSet<String>,
    /// Enterprises whose confirmed facts this push changed (published once at its end).
    republish: std::collections::BTreeSet<String>,
}

/// One position of a device's sequence and what took it.
struct SeqEntry {
    seq: u64,
    record_id: String,
    payload_sha256: String,
    status: HeldStatus,
    link: Option<String>,
}

impl Sequence {
    /// The record `r` took its place (if it is the next one), with this link. A record
    /// at an earlier position (one taken before positions were kept) fills it if empty.
    fn take(&mut self, r: &RecordEnvelope, status: HeldStatus, link: Option<String>) {
        if r.seq == self.next {
            self.next += 1;
            self.head = link.clone();
        }
        self.note(r, status, link);
    }

    /// The record `r` took its place (if it is the next one) without a link that may
    /// become the head: what follows is checked against the head before it.
    fn skip(&mut self, r: &RecordEnvelope, status: HeldStatus) {
        if r.seq == self.next {
            self.next += 1;
        }
        self.note(r, status, None);
    }

    fn note(&mut self, r: &RecordEnvelope, status: HeldStatus, link: Option<String>) {
        if r.seq < self.next {
            self.taken.push(SeqEntry {
                seq: r.seq,
                record_id: r.id.to_string(),
                payload_sha256: r.payload_sha256.clone(),
                status,
                link,
            });
        }
    }
}

/// Where this device's sequence holds record `id` when not at `seq`, the position the
/// phone sent it at: the lowest other position holding it, or `None` when `seq` holds it
/// or none does.
fn held_position(
    t: &mut dyn Tx,
    device: &Uuid,
    id: &str,
    seq: u64,
) -> Result<Option<u64>, StoreError> {
    let rows = t.query(
        "SELECT seq FROM device_seq WHERE device_id = $1 AND record_id = $2 ORDER BY seq",
        &[device.to_string().into(), id.into()],
    )?;
    let mut positions = Vec::with_capacity(rows.len());
    for row in &rows {
        positions.push(row.int(0)? as u64);
    }
    Ok(match positions.first() {
        Some(_) if positions.contains(&seq) => None,
        first => first.copied(),
    })
}

/// The position of this device's sequence whose link a forking record continues: 0 for
/// a fork from the start of the chain, else the position holding `link.prev_hash`.
fn fork_point_of(
    t: &mut dyn Tx,
    device: &Uuid,
    link: &gridwalk_protocol::chain::ChainProof,
    seq: u64,
) -> Result<Option<u64>, StoreError> {
    if link.chain_seq(seq) == Some(0)
        && link.prev_hash == gridwalk_protocol::chain::GENESIS_PREV_HASH
    {
        return Ok(Some(0));
    }
    if let Some(row) = t.query_opt(
        "SELECT seq FROM device_seq WHERE device_id = $1 AND link_sha256 = $2 ORDER BY seq LIMIT 1",
        &[device.to_string().into(), link.prev_hash.clone().into()],
    )? {
        return Ok(Some(row.int(0)?.max(0) as u64));
    }
    // The link this identity's sequence started from: a phone handed to another user
    // continues the earlier user's chain, whose links are not this identity's.
    Ok(t.query_opt(
        "SELECT 1 FROM record WHERE device_id = $1 AND seq = 1 AND prev_link_sha256 = $2",
        &[device.to_string().into(), link.prev_hash.clone().into()],
    )?
    .map(|_| 0))
}

/// Why a new record's chain link does not continue the device's chain, if it does not
/// (docs/evidence.md): the link must hash to what it claims, its previous hash must be
/// the genesis hash for the first record and the head the server holds for any other
/// (unchecked only right after a record that came without a link) — else `chain_broken`;
/// and the photos and enterprise the envelope claims must be those of the frozen payload
/// — else `payload_invalid`.
fn chain_problem(
    r: &RecordEnvelope,
    verified: &Option<String>,
    head: &Option<String>,
    typed: &TypedPayload,
) -> Option<(ProblemCode, String)> {
    use gridwalk_protocol::chain::{photos_named_in, GENESIS_PREV_HASH};
    let broken = |detail: String| Some((ProblemCode::ChainBroken, detail));
    let mismatch = |detail: String| Some((ProblemCode::PayloadInvalid, detail));
    let Some(link) = r.link.as_ref() else {
        // Only an app older than the anchored chain sends no link; once a device's
        // chain is anchored, leaving the link out would switch the check off.
        return match head {
            Some(_) => broken(format!(
                "record {} (seq {}) comes without a chain link, but this device's chain is anchored",
                r.id, r.seq
            )),
            None => None,
        };
    };
    if verified.is_none() {
        return broken(format!(
            "the link of record {} (seq {}) does not hash to {}: its payload hash, \
             sequence number or device time was changed after it was chained",
            r.id, r.seq, link.hash
        ));
    }
    // The genesis hash starts a device's sequence, or a fork marked as one from the
    // start of a chain; anywhere else it would restart the chain unmarked.
    let expected = if link.chain_seq(r.seq) == Some(0) && (r.seq == 1 || r.fork) {
        Some(GENESIS_PREV_HASH.to_string())
    } else {
        head.clone()
    };
    if let Some(expected) = expected {
        if link.prev_hash != expected {
            let fork = if r.fork {
                " (it claims to fork, but the server holds no such link of this device)"
            } else {
                ""
            };
            return broken(format!(
                "the link of record {} (seq {}) follows {}, but the last link the server \
                 holds of this device is {expected}{fork}",
                r.id, r.seq, link.prev_hash
            ));
        }
    }
    let wire = match link.kind.as_str() {
        "inspection" => Some(RecordKind::Inspection),
        "hazard_event" => Some(RecordKind::HazardEvent),
        "photo" | "signature" => Some(RecordKind::Evidence),
        "lease" => Some(RecordKind::Lease),
        "suspected_confirmation" => Some(RecordKind::SuspectedConfirmation),
        _ => None,
    };
    if wire != Some(r.kind) {
        return mismatch(format!(
            "a {} link cannot carry a {} record",
            link.kind,
            r.kind.as_str()
        ));
    }
    if r.withheld {
        // No payload to compare with: the link and hash are all the server gets.
        return None;
    }
    let claimed = || {
        let mut claimed = r.photos.clone();
        claimed.sort();
        claimed.dedup();
        claimed
    };
    let uscc_differs = |payload_uscc: &str, envelope: &str| {
        if payload_uscc.eq_ignore_ascii_case(envelope.trim()) {
            return None;
        }
        mismatch(format!(
            "the envelope names enterprise {envelope}, the frozen payload {payload_uscc}"
        ))
    };
    // An inspection that parsed names the photos the JSON does (the typed list is the
    // chain check's, see projections' tests); a hash that is not hex, or JSON the
    // reading below refuses (in a field the typed payload skips), is reported below.
    if let Some(p) = typed.inspection() {
        let named = p.photo_sha256s();
        if named.iter().all(|h| is_sha256_hex(h)) && typed.is_strict_json() {
            let claimed = claimed();
            if claimed != named {
                return mismatch(format!(
                    "the envelope lists photos {claimed:?}, the frozen payload names {named:?}"
                ));
            }
            return r
                .enterprise_uscc
                .as_deref()
                .and_then(|e| uscc_differs(&p.enterprise_uscc, e));
        }
    }
    // Parsed once for both the photos and the enterprise it names.
    let payload = match serde_json::from_str::<serde_json::Value>(&r.payload) {
        Ok(v) => v,
        Err(e) => return mismatch(format!("the frozen payload is not JSON: {e}")),
    };
    let named = match photos_named_in(&link.kind, &payload) {
        Ok(p) => p,
        Err(e) => return mismatch(format!("the frozen payload: {e}")),
    };
    let claimed = claimed();
    if claimed != named {
        return mismatch(format!(
            "the envelope lists photos {claimed:?}, the frozen payload names {named:?}"
        ));
    }
    let payload_uscc = payload
        .get("enterprise_uscc")
        .and_then(|u| u.as_str())
        .map(str::to_string);
    match (payload_uscc, &r.enterprise_uscc) {
        (Some(p), Some(e)) => uscc_differs(&p, e),
        _ => None,
    }
}

/// Accepts exactly the JSON text `serde_json::Value` accepts (numbers in range, no lone
/// surrogate in a string, skipped fields included), without building anything.
struct AnyJson;

impl<'de> serde::Deserialize<'de> for AnyJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AnyJson, D::Error> {
        d.deserialize_any(AnyJson)
    }
}

impl<'de> serde::de::Visitor<'de> for AnyJson {
    type Value = AnyJson;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_i64<E>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_u64<E>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_f64<E>(self, _: f64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_str<E>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_unit<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_none<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<AnyJson, D::Error> {
        serde::Deserialize::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        while map.next_key::<AnyJson>()?.is_some() {
            map.next_value::<AnyJson>()?;
        }
        Ok(AnyJson)
    }
}

/// A pushed record's payload, parsed and hashed at most once (on first use) and shared
/// by the checks and the projection. The work is pure, so a second thread may do it
/// ahead of the push transaction ([`TypedPayload::warm`]).
struct TypedPayload<'a> {
    r: &'a RecordEnvelope,
    inspection: std::sync::OnceLock<Option<gridwalk_checklist::FinalizedInspection>>,
    sha256: std::sync::OnceLock<String>,
    any_json: std::sync::OnceLock<bool>,
}

impl<'a> TypedPayload<'a> {
    fn new(r: &'a RecordEnvelope) -> TypedPayload<'a> {
        TypedPayload {
            r,
            inspection: std::sync::OnceLock::new(),
            sha256: std::sync::OnceLock::new(),
            any_json: std::sync::OnceLock::new(),
        }
    }

    /// The payload of an inspection record as a finalized inspection; `None` for other
    /// kinds, a withheld payload, or one that does not parse as one.
    fn inspection(&self) -> Option<&gridwalk_checklist::FinalizedInspection> {
        if self.r.kind != RecordKind::Inspection || self.r.withheld {
            return None;
        }
        self.inspection
            .get_or_init(|| serde_json::from_str(&self.r.payload).ok())
            .as_ref()
    }

    /// The payload's SHA-256 (hex).
    fn sha256(&self) -> &str {
        self.sha256
            .get_or_init(|| sha256_hex(self.r.payload.as_bytes()))
    }

    /// Whether the payload is JSON the strict reading ([`AnyJson`]) takes.
    fn is_strict_json(&self) -> bool {
        *self
            .any_json
            .get_or_init(|| serde_json::from_str::<AnyJson>(&self.r.payload).is_ok())
    }

    /// Does now what the push transaction would do on first use.
    fn warm(&self) {
        if self.r.withheld {
            return;
        }
        self.sha256();
        if self.inspection().is_some() {
            self.is_strict_json();
        }
    }
}

/// Batches at least this long have their payloads parsed and hashed by a second thread
/// running ahead of the push transaction, so the single database writer spends its time
/// on the database.
const WARM_AHEAD_MIN_RECORDS: usize = 8;

/// What [`Store::check_record`] found acceptable.
struct Checked {
    /// The normalised USCC of the record's enterprise.
    uscc: Option<String>,
    /// The division the record belongs to (and is published under).
    division: DivisionCode,
    /// A hazard this record creates.
    new_hazard: Option<NewHazard>,
}

/// A hazard created by an accepted `created` event.
struct NewHazard {
    id: Uuid,
    enterprise_id: Uuid,
    uscc: String,
    severity: gridwalk_checklist::Severity,
}

/// Where a hazard event belongs.
enum HazardPlace {
    /// It creates a hazard of the envelope's enterprise.
    New(NewHazard),
    /// It follows a hazard the server holds: its enterprise and division.
    Known {
        uscc: String,
        division: DivisionCode,
    },
}

pub(crate) fn severity_str(s: gridwalk_checklist::Severity) -> &'static str {
    match s {
        gridwalk_checklist::Severity::General => "general",
        gridwalk_checklist::Severity::Major => "major",
    }
}

/// Checks a pushed hazard event (docs/server.md, "Device trust"): it must parse as a
/// [`gridwalk_checklist::HazardEvent`] (devices apply pulled events) naming the
/// authenticated user as its actor, and the caller's role must allow its kind
/// ([`crate::authz::may_record`]). A `created` event must name the enterprise whose USCC
/// the envelope carries and a hazard id not yet used; any later event must follow a
/// hazard the server holds, and belongs to that hazard's division whatever the envelope
/// claims (the caller's jurisdiction is checked against it afterwards).
fn check_hazard_event(
    t: &mut dyn Tx,
    caller: &Caller,
    payload: &str,
    uscc: Option<&str>,
) -> Result<Result<HazardPlace, (ProblemCode, String)>, StoreError> {
    use gridwalk_checklist::HazardEventKind;
    let bad = |code, detail: String| Ok(Err((code, detail)));
    let event = match serde_json::from_str::<gridwalk_checklist::HazardEvent>(payload) {
        Ok(e) => e,
        Err(e) => {
            return bad(
                ProblemCode::PayloadInvalid,
                format!("payload is not a hazard event: {e}"),
            )
        }
    };
    // Events fold in time order: one dated far ahead of the server's clock would sort
    // after every real event to come and decide the hazard's state for good.
    if event.at > now() + Duration::hours(MAX_EVENT_AHEAD_HOURS) {
        return bad(
            ProblemCode::PayloadInvalid,
            format!(
                "the event is dated {}, more than {MAX_EVENT_AHEAD_HOURS} h after the server's clock; set the phone's clock",
                event.at
            ),
        );
    }
    if event.actor != caller.user_name {
        return bad(
            ProblemCode::PayloadInvalid,
            format!(
                "the event names '{}' as its actor, but it is pushed by '{}'",
                event.actor, caller.user_name
            ),
        );
    }
    let held = t.query_opt(
        "SELECT enterprise_uscc, division_code, severity FROM hazard WHERE id = $1",
        &[event.hazard_id.to_string().into()],
    )?;
    let (place, severity) = match (&event.kind, held) {
        (HazardEventKind::Created { .. }, Some(_)) => {
            return bad(
                ProblemCode::PayloadInvalid,
                format!("hazard {} already exists", event.hazard_id),
            )
        }
        (
            HazardEventKind::Created {
                enterprise_id,
                severity,
                ..
            },
            None,
        ) => {
            let expected = uscc.and_then(|u| Uscc::parse(u).ok());
            match expected {
                Some(u) if gridwalk_core::ids::enterprise_id(&u) == *enterprise_id => (
                    HazardPlace::New(NewHazard {
                        id: event.hazard_id,
                        enterprise_id: *enterprise_id,
                        uscc: u.as_str().to_string(),
                        severity: *severity,
                    }),
                    *severity,
                ),
                _ => {
                    return bad(
                        ProblemCode::PayloadInvalid,
                        format!(
                            "a created hazard event must carry the USCC of its enterprise {enterprise_id}"
                        ),
                    )
                }
            }
        }
        (_, None) => {
            return bad(
                ProblemCode::UnknownHazard,
                format!(
                    "no hazard {} is held; its creation must be pushed first",
                    event.hazard_id
                ),
            )
        }
        (_, Some(row)) => {
            let held_uscc = row.str(0)?;
            if uscc.is_some_and(|u| {
                Uscc::parse(u)
                    .map(|u| u.as_str() != held_uscc)
                    .unwrap_or(true)
            }) {
                return bad(
                    ProblemCode::PayloadInvalid,
                    format!("hazard {} belongs to another enterprise", event.hazard_id),
                );
            }
            let severity = match row.str(2)?.as_str() {
                "major" => gridwalk_checklist::Severity::Major,
                _ => gridwalk_checklist::Severity::General,
            };
            let division = DivisionCode::parse(&row.str(1)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            (
                HazardPlace::Known {
                    uscc: held_uscc,
                    division,
                },
                severity,
            )
        }
    };
    if !crate::authz::may_record(caller.role, event.kind.name(), severity) {
        return bad(
            ProblemCode::ForbiddenRole,
            format!(
                "a {} may not record '{:?}' on a {} hazard",
                caller.role.as_str(),
                event.kind.name(),
                severity_str(severity)
            ),
        );
    }
    Ok(Ok(place))
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

    #[test]
    fn enrollment_codes_are_grouped_and_normalise_back() {
        let c = new_enrollment_code();
        assert_eq!(c.len(), 14);
        assert_eq!(normalize_code(&c.to_lowercase()), c.replace('-', ""));
    }

    /// The chain check's fast path must refuse what its `Value` reading refuses.
    #[test]
    fn any_json_accepts_what_a_json_value_accepts() {
        for text in [
            r#"{"a":[1,-2,3.5,1e308,"x",null,true,{"b":{}}],"c":"\ud83d\ude00"}"#,
            r#"{"a":1e999}"#,
            r#"{"a":-1e999}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"\udc00":1}"#,
            r#"{"a":"\u00zz"}"#,
            r#"{"a":1,}"#,
            r#"{"a":1}x"#,
            r#"{"a":"tab	in"}"#,
            "[]",
            "12345678901234567890123",
            "",
        ] {
            assert_eq!(
                serde_json::from_str::<AnyJson>(text).is_ok(),
                serde_json::from_str::<serde_json::Value>(text).is_ok(),
                "{text}"
            );
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<AnyJson>(&deep).is_err());
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_err());
    }

    #[test]
    fn a_stamp_is_read_however_its_key_is_written() {
        let t = Some(
            DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .expect("time")
                .with_timezone(&Utc),
        );
        let plain = r#"{"stamp":{"fix_time":"2026-01-02T03:04:05Z"}}"#;
        let escaped = r#"{"\u0073tamp":{"fix_time":"2026-01-02T03:04:05Z"}}"#;
        assert_eq!(gnss_time(plain), t);
        assert_eq!(gnss_time(escaped), t);
        assert_eq!(gnss_time(r#"{"stamps":1,"a":"stamp"}"#), None);
        assert_eq!(gnss_time("{}"), None);
    }
}
