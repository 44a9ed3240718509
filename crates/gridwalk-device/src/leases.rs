//! Recording a 厂中厂 lease on the phone, offline (docs/leases.md "Leases recorded on a
//! phone"): the site (existing or new), the tenant (existing or new, then registered on
//! site), the lease and the `lease` record the outbox sends, in one transaction.

use crate::error::StoreError;
use crate::register::{get_enterprise, write_enterprise, write_lease, write_site};
use crate::store::Store;
use chrono::{NaiveDate, Utc};
use gridwalk_core::enterprise::{
    Enterprise, Lease, LeaseRecord, LeaseRecordError, LeaseTenant, RiskReportStatus, Site,
    TrainingStatus,
};
use gridwalk_core::{DivisionCode, Uscc};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A new site of the landlord.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSite {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
}

/// A tenant the register lacks, registered on site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    pub name: String,
    pub uscc: String,
    /// Default: the landlord's village.
    #[serde(default)]
    pub village_code: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
}

/// What the app's `record_lease` and `gridwalk lease add` pass (docs/ipc.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseInput {
    /// The landlord's enterprise id or USCC.
    pub landlord: String,
    /// An existing site of the landlord; exactly one of `site_id` and `new_site`.
    #[serde(default)]
    pub site_id: Option<String>,
    #[serde(default)]
    pub new_site: Option<NewSite>,
    /// An existing enterprise (id or USCC); exactly one of `tenant` and `new_tenant`.
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub new_tenant: Option<NewTenant>,
    #[serde(default)]
    pub floors: Option<String>,
    #[serde(default)]
    pub area_m2: Option<f64>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    /// 用途 / 生产工艺.
    #[serde(default)]
    pub use_zh: Option<String>,
    #[serde(default)]
    pub equipment_leased: bool,
    #[serde(default)]
    pub equipment_description: Option<String>,
    #[serde(default)]
    pub safety_agreement_signed: Option<bool>,
}

/// What `record_lease` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedLease {
    pub lease_id: String,
    pub site_id: String,
    pub tenant_id: String,
}

/// Why a lease was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// A USCC that does not parse or whose check character is wrong.
    #[error("USCC {uscc:?}: {detail}")]
    BadUscc { uscc: String, detail: String },
    /// The landlord or tenant named is not in this phone's register.
    #[error("enterprise not in the register: {0}")]
    UnknownEnterprise(String),
    /// The site named is not one of the landlord's.
    #[error("site {0} is not a site of the landlord")]
    UnknownSite(String),
    /// A village code that is not in this phone's division list.
    #[error("village {0} is not known to this phone")]
    UnknownVillage(String),
    /// A date that is not `YYYY-MM-DD`, or an end before the start.
    #[error("dates: {0}")]
    BadDates(String),
    /// The landlord (or a new tenant's village) lies outside the user's jurisdiction.
    #[error("{0} is outside the jurisdiction {1}")]
    OutsideJurisdiction(String, String),
    /// Anything else about the input (both or neither of site/new site, a text too long…).
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LeaseError {
    /// Stable code for the IPC and the CLI's JSON.
    pub fn code(&self) -> &'static str {
        match self {
            LeaseError::BadUscc { .. } => "lease.bad_uscc",
            LeaseError::UnknownEnterprise(_) => "lease.unknown_enterprise",
            LeaseError::UnknownSite(_) => "lease.unknown_site",
            LeaseError::UnknownVillage(_) => "lease.unknown_village",
            LeaseError::BadDates(_) => "lease.bad_dates",
            LeaseError::OutsideJurisdiction(..) => "lease.outside_jurisdiction",
            LeaseError::BadInput(_) => "lease.bad_input",
            LeaseError::Store(e) => e.code(),
        }
    }
}

impl From<rusqlite::Error> for LeaseError {
    fn from(e: rusqlite::Error) -> Self {
        LeaseError::Store(e.into())
    }
}

fn parse_uscc(s: &str) -> Result<Uscc, LeaseError> {
    Uscc::parse(s).map_err(|e| LeaseError::BadUscc {
        uscc: s.to_string(),
        detail: e.to_string(),
    })
}

fn parse_day(what: &str, s: &Option<String>) -> Result<Option<NaiveDate>, LeaseError> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| LeaseError::BadDates(format!("{what} {s:?} is not YYYY-MM-DD")))
        })
        .transpose()
}

/// Trims a free text; empty is `None`.
pub(crate) fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A tenant the register holds, as a lease record names it.
fn registered_tenant(e: Enterprise) -> LeaseTenant {
    LeaseTenant {
        id: e.id,
        uscc: e.uscc,
        name: e.name,
        village_code: e.village_code,
        industry: e.industry,
        new: false,
    }
}

/// Writes the register row of an enterprise registered on site (a lease's new tenant,
/// a confirmed 疑似 unit) — what the phone knows of it: USCC, name, village, industry,
/// address — marked `registered_on_site`, in the caller's transaction.
pub(crate) fn register_on_site(
    tx: &rusqlite::Connection,
    uscc: Uscc,
    name: String,
    village_code: DivisionCode,
    industry: Option<String>,
    address: Option<String>,
) -> Result<(), StoreError> {
    let e = Enterprise {
        id: gridwalk_core::ids::enterprise_id(&uscc),
        uscc,
        name,
        address,
        village_code,
        location: None,
        industry,
        dust_involved: false,
        dust_types: Vec::new(),
        workers_per_shift: None,
        al_mg: false,
        key_supervision: false,
        safety_officer: None,
        risk_report: RiskReportStatus::Unknown,
        warning_education: TrainingStatus::Unknown,
    };
    write_enterprise(tx, &e)?;
    tx.execute(
        "UPDATE enterprise SET registered_on_site = 1 WHERE id = ?1",
        [e.id.to_string()],
    )?;
    Ok(())
}

impl Store {
    /// Resolves an enterprise id or USCC to the stored row.
    fn lease_party(&self, key: &str) -> Result<Enterprise, LeaseError> {
        let id = match Uuid::parse_str(key.trim()) {
            Ok(id) => id,
            Err(_) => gridwalk_core::ids::enterprise_id(&parse_uscc(key)?),
        };
        get_enterprise(&self.conn, &id)?
            .ok_or_else(|| LeaseError::UnknownEnterprise(key.trim().to_string()))
    }

    /// Records a lease offline: validates the input, then writes the site (if new), the
    /// tenant (if new: a register row marked as registered on site), the lease and its
    /// `lease` record (evidence-chain link and outbox entry) in one transaction.
    /// `jurisdiction` is the enrolled user's (the landlord must lie inside it);
    /// `recorded_by` names who records it.
    pub fn record_lease(
        &self,
        jurisdiction: Option<&str>,
        recorded_by: &str,
        input: &LeaseInput,
    ) -> Result<RecordedLease, LeaseError> {
        // Every lookup below reads inside the write transaction: a pull on another
        // connection cannot land between them and the writes (a tenant found missing
        // here and written as a skeleton over the row the pull just brought).
        let tx = crate::inspection::begin(&self.conn)?;
        let scope = crate::jurisdiction::Scope::of(jurisdiction);
        let outside = |code: &str| {
            LeaseError::OutsideJurisdiction(
                code.to_string(),
                jurisdiction.unwrap_or_default().to_string(),
            )
        };
        let landlord = self.lease_party(&input.landlord)?;
        if !scope.covers(landlord.village_code.as_str()) {
            return Err(outside(landlord.uscc.as_str()));
        }
        let (site, new_site) = match (&input.site_id, &input.new_site) {
            (Some(id), None) => {
                let site = Uuid::parse_str(id.trim())
                    .ok()
                    .and_then(|id| {
                        self.sites_of_landlord(&landlord.id)
                            .ok()?
                            .into_iter()
                            .find(|s| s.id == id)
                    })
                    .ok_or_else(|| LeaseError::UnknownSite(id.clone()))?;
                (site, false)
            }
            (None, Some(n)) => (
                Site {
                    id: Uuid::now_v7(),
                    name: n.name.trim().to_string(),
                    address: clean(&n.address),
                    landlord_id: landlord.id,
                    storeys: None,
                    structure: None,
                },
                true,
            ),
            _ => {
                return Err(LeaseError::BadInput(
                    "name exactly one of site_id and new_site".into(),
                ))
            }
        };
        let tenant = match (&input.tenant, &input.new_tenant) {
            (Some(key), None) => registered_tenant(self.lease_party(key)?),
            (None, Some(n)) => {
                let uscc = parse_uscc(&n.uscc)?;
                let id = gridwalk_core::ids::enterprise_id(&uscc);
                match get_enterprise(&self.conn, &id)? {
                    // Already in the register: the lease names that row as it is.
                    Some(e) => registered_tenant(e),
                    None => {
                        let village = match clean(&n.village_code) {
                            Some(v) => DivisionCode::parse(&v)
                                .map_err(|_| LeaseError::UnknownVillage(v.clone()))?,
                            None => landlord.village_code.clone(),
                        };
                        if self.division(village.as_str())?.is_none() {
                            return Err(LeaseError::UnknownVillage(village.as_str().into()));
                        }
                        if !scope.covers(village.as_str()) {
                            return Err(outside(village.as_str()));
                        }
                        LeaseTenant {
                            id,
                            uscc,
                            name: n.name.trim().to_string(),
                            village_code: village,
                            industry: clean(&n.industry),
                            new: true,
                        }
                    }
                }
            }
            _ => {
                return Err(LeaseError::BadInput(
                    "name exactly one of tenant and new_tenant".into(),
                ))
            }
        };
        let start_date = parse_day("start_date", &input.start_date)?;
        let end_date = parse_day("end_date", &input.end_date)?;
        // A second record of the same site and tenant updates that lease.
        let lease_id: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM lease WHERE site_id = ?1 AND tenant_id = ?2",
                [site.id.to_string(), tenant.id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let lease_id = match lease_id {
            Some(s) => Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt {
                table: "lease",
                column: "id",
                detail: e.to_string(),
            })?,
            None => Uuid::now_v7(),
        };
        let record = LeaseRecord {
            record_id: Uuid::now_v7(),
            recorded_by: recorded_by.trim().to_string(),
            recorded_at: Utc::now(),
            landlord_uscc: landlord.uscc.clone(),
            lease: Lease {
                id: lease_id,
                site_id: site.id,
                tenant_id: tenant.id,
                floors: clean(&input.floors),
                area_m2: input.area_m2,
                start_date,
                end_date,
                equipment_leased: input.equipment_leased,
                equipment_description: clean(&input.equipment_description),
                safety_agreement_signed: input.safety_agreement_signed,
                use_zh: clean(&input.use_zh),
                recorded_on_site: true,
            },
            site,
            new_site,
            tenant,
        };
        record.validate().map_err(|e| match e {
            LeaseRecordError::Dates => {
                LeaseError::BadDates("the lease ends before it starts".into())
            }
            other => LeaseError::BadInput(other.to_string()),
        })?;
        self.write_lease_record(&tx, &record)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(RecordedLease {
            lease_id: record.lease.id.to_string(),
            site_id: record.site.id.to_string(),
            tenant_id: record.tenant.id.to_string(),
        })
    }

    /// Writes what a validated lease record says, and the record, in the caller's
    /// transaction.
    fn write_lease_record(
        &self,
        tx: &rusqlite::Transaction<'_>,
        record: &LeaseRecord,
    ) -> Result<(), LeaseError> {
        let payload =
            gridwalk_checklist::to_canonical_json(record).map_err(|e| StoreError::Corrupt {
                table: "lease_record",
                column: "payload",
                detail: e.to_string(),
            })?;
        let payload = String::from_utf8(payload).map_err(|e| StoreError::Corrupt {
            table: "lease_record",
            column: "payload",
            detail: e.to_string(),
        })?;
        let sha = gridwalk_protocol::sha256_hex(payload.as_bytes());
        if record.new_site {
            write_site(tx, &record.site)?;
        }
        if record.tenant.new {
            let t = &record.tenant;
            register_on_site(
                tx,
                t.uscc.clone(),
                t.name.clone(),
                t.village_code.clone(),
                t.industry.clone(),
                None,
            )?;
        }
        write_lease(tx, &record.lease)?;
        let id = record.record_id.to_string();
        tx.execute(
            "INSERT INTO lease_record (id, lease_id, landlord_id, tenant_id, payload, \
                 payload_sha256, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                id,
                record.lease.id.to_string(),
                record.site.landlord_id.to_string(),
                record.tenant.id.to_string(),
                payload,
                sha,
                record.recorded_at.to_rfc3339(),
            ],
        )?;
        crate::evidence::append_chain(tx, "lease", &id, &sha)?;
        Ok(())
    }
}
