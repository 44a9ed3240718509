//! The enterprise register: enterprises, the sites they occupy and 厂中厂 leases.
//!
//! A site (a plant or building) belongs to a landlord enterprise; tenants occupy it
//! through lease records that say which floors and how much area they rent, for how
//! long, whether production equipment was leased with the space (the 2024 Changzhou
//! "1·20" accident was a tenant renting floors 3-4 *and* the grinders) and whether a
//! safety-management agreement was signed.

use crate::division::DivisionCode;
use crate::dust::{flags_from_dust_types, DustFlag, DustType};
use crate::uscc::Uscc;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// A WGS-84 position in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// Why a coordinate pair was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LatLonError {
    /// NaN or infinite.
    #[error("coordinate is not a finite number")]
    NotFinite,
    /// Latitude outside −90..=90.
    #[error("latitude {0} is outside -90..90")]
    Latitude(f64),
    /// Longitude outside −180..=180.
    #[error("longitude {0} is outside -180..180")]
    Longitude(f64),
}

impl LatLon {
    /// Validates ranges and finiteness.
    pub fn new(lat: f64, lon: f64) -> Result<Self, LatLonError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(LatLonError::NotFinite);
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(LatLonError::Latitude(lat));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(LatLonError::Longitude(lon));
        }
        Ok(LatLon { lat, lon })
    }
}

/// 安全专员: the person an enterprise names for dust safety.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SafetyOfficer {
    pub name: String,
    pub phone: Option<String>,
    /// Seen and confirmed on site by a grid worker or expert.
    pub confirmed_on_site: bool,
}

/// Status of the enterprise's annual report in Jiangsu's risk-report system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskReportStatus {
    #[default]
    Unknown,
    NotFiled,
    /// Filed with help from a grid worker during the visit.
    HelpedOnSite,
    Filed,
}

impl RiskReportStatus {
    /// Chinese label.
    pub fn name_zh(self) -> &'static str {
        match self {
            RiskReportStatus::Unknown => "未知",
            RiskReportStatus::NotFiled => "未填报",
            RiskReportStatus::HelpedOnSite => "现场帮助填报",
            RiskReportStatus::Filed => "已填报",
        }
    }
}

/// Status of the principals' warning-education training (警示教育).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingStatus {
    #[default]
    Unknown,
    NotDone,
    /// Attended, but learning and testing not yet verified by the town.
    Attended,
    /// Learning and testing verified.
    Verified,
}

impl TrainingStatus {
    /// Chinese label.
    pub fn name_zh(self) -> &'static str {
        match self {
            TrainingStatus::Unknown => "未知",
            TrainingStatus::NotDone => "未培训",
            TrainingStatus::Attended => "已参训",
            TrainingStatus::Verified => "已考核",
        }
    }
}

/// One enterprise of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enterprise {
    /// Derived from the USCC, see [`crate::ids::enterprise_id`].
    pub id: Uuid,
    pub uscc: Uscc,
    pub name: String,
    pub address: Option<String>,
    /// The village (or grid) the enterprise belongs to.
    pub village_code: DivisionCode,
    pub location: Option<LatLon>,
    pub industry: Option<String>,
    pub dust_involved: bool,
    pub dust_types: Vec<DustType>,
    pub workers_per_shift: Option<u32>,
    /// 涉铝镁: set explicitly or implied by the dust types.
    pub al_mg: bool,
    /// On the key-supervision list (重点监管).
    pub key_supervision: bool,
    pub safety_officer: Option<SafetyOfficer>,
    pub risk_report: RiskReportStatus,
    pub warning_education: TrainingStatus,
}

impl Enterprise {
    /// Flags implied by the register alone (dust types, Al/Mg, a lease as tenant).
    /// Process flags (dry collector, sanding…) come from the expert's verification.
    pub fn register_flags(&self, is_tenant: bool) -> BTreeSet<DustFlag> {
        let mut flags = flags_from_dust_types(&self.dust_types);
        if self.dust_involved {
            flags.insert(DustFlag::AllDust);
        }
        if self.al_mg {
            flags.insert(DustFlag::AlMg);
        }
        if is_tenant {
            flags.insert(DustFlag::Leased);
        }
        flags
    }

    /// Whether the principals must attend warning education: Al/Mg dust, or other dust
    /// with 10 or more workers per shift (duty 4 of the campaign notice).
    pub fn needs_warning_education(&self) -> bool {
        self.dust_involved && (self.al_mg || self.workers_per_shift.is_some_and(|w| w >= 10))
    }
}

/// A plant or building; its owner lets floors or areas to tenants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub landlord_id: Uuid,
    /// Number of storeys (feeds MH-D-01a).
    pub storeys: Option<u32>,
    /// Structure type, e.g. 框架 / 砖混 / 钢结构.
    pub structure: Option<String>,
}

/// A tenant's lease of space (and possibly equipment) on a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub id: Uuid,
    pub site_id: Uuid,
    pub tenant_id: Uuid,
    /// Floors rented, as written (e.g. `3-4`).
    pub floors: Option<String>,
    pub area_m2: Option<f64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// Production equipment leased together with the space.
    pub equipment_leased: bool,
    pub equipment_description: Option<String>,
    /// 安全生产管理协议 signed between landlord and tenant.
    pub safety_agreement_signed: Option<bool>,
    /// 用途 / 生产工艺: what the tenant does in the space, as written on site.
    #[serde(default)]
    pub use_zh: Option<String>,
    /// Recorded on a phone (a `lease` record, docs/leases.md) rather than imported.
    #[serde(default)]
    pub recorded_on_site: bool,
}

/// The tenant a phone names in a [`LeaseRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseTenant {
    /// Derived from the USCC ([`crate::ids::enterprise_id`]).
    pub id: Uuid,
    pub uscc: Uscc,
    pub name: String,
    pub village_code: DivisionCode,
    pub industry: Option<String>,
    /// Not in the register when recorded: registered on site by this record.
    pub new: bool,
}

/// What a phone sends when it records a 厂中厂 lease (record kind `lease`,
/// docs/sync-protocol.md): the landlord, the site (new or existing), the tenant (new or
/// existing) and the lease. The record's payload is this as canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// The record's id (UUID v7), also its id in the device's evidence chain.
    pub record_id: Uuid,
    /// Who recorded it (the enrolled user, or the inspector name of an unenrolled phone).
    pub recorded_by: String,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub landlord_uscc: Uscc,
    pub site: Site,
    /// The site was created by this record.
    pub new_site: bool,
    pub tenant: LeaseTenant,
    pub lease: Lease,
}

/// Longest free text of a phone-recorded lease (names, addresses, floors, use), in
/// characters.
pub const LEASE_TEXT_MAX_CHARS: usize = 200;

/// Why a [`LeaseRecord`] does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseRecordError {
    /// An id does not follow from what it names (site of another landlord, a tenant id
    /// that is not its USCC's, a lease of another site or tenant).
    #[error("inconsistent ids: {0}")]
    Ids(&'static str),
    /// The landlord rents to itself.
    #[error("the tenant is the landlord")]
    SelfLease,
    /// A text is empty where required, or too long.
    #[error("{0} is empty, longer than {LEASE_TEXT_MAX_CHARS} characters or out of range")]
    Text(&'static str),
    /// Area not a positive finite number.
    #[error("area must be a positive number of square metres")]
    Area,
    /// The lease ends before it starts.
    #[error("the lease ends before it starts")]
    Dates,
}

fn text_ok(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().count() <= LEASE_TEXT_MAX_CHARS
}

impl LeaseRecord {
    /// Checks what the phone and the server both require of a lease record.
    pub fn validate(&self) -> Result<(), LeaseRecordError> {
        let landlord = crate::ids::enterprise_id(&self.landlord_uscc);
        if self.site.landlord_id != landlord {
            return Err(LeaseRecordError::Ids("the site is not the landlord's"));
        }
        if self.tenant.id != crate::ids::enterprise_id(&self.tenant.uscc) {
            return Err(LeaseRecordError::Ids("the tenant id is not its USCC's"));
        }
        if self.lease.site_id != self.site.id || self.lease.tenant_id != self.tenant.id {
            return Err(LeaseRecordError::Ids(
                "the lease names another site or tenant",
            ));
        }
        if self.tenant.uscc == self.landlord_uscc {
            return Err(LeaseRecordError::SelfLease);
        }
        let optional = |s: &Option<String>| s.as_deref().is_none_or(text_ok);
        for (name, ok) in [
            ("site name", text_ok(&self.site.name)),
            ("site address", optional(&self.site.address)),
            ("site structure", optional(&self.site.structure)),
            (
                "site storeys (1 to 200)",
                self.site.storeys.is_none_or(|n| (1..=200).contains(&n)),
            ),
            ("tenant name", text_ok(&self.tenant.name)),
            ("industry", optional(&self.tenant.industry)),
            ("floors", optional(&self.lease.floors)),
            ("use", optional(&self.lease.use_zh)),
            ("equipment", optional(&self.lease.equipment_description)),
            ("recorded_by", text_ok(&self.recorded_by)),
        ] {
            if !ok {
                return Err(LeaseRecordError::Text(name));
            }
        }
        if self
            .lease
            .area_m2
            .is_some_and(|a| !a.is_finite() || a <= 0.0)
        {
            return Err(LeaseRecordError::Area);
        }
        if let (Some(from), Some(to)) = (self.lease.start_date, self.lease.end_date) {
            if to < from {
                return Err(LeaseRecordError::Dates);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> LeaseRecord {
        let landlord = Uscc::with_check_char("91320482MA1XQ8K70").expect("valid");
        let tenant = Uscc::with_check_char("91320482MA2YR3N41").expect("valid");
        let site = Site {
            id: Uuid::from_u128(7),
            name: "一号厂房".into(),
            address: None,
            landlord_id: crate::ids::enterprise_id(&landlord),
            storeys: None,
            structure: None,
        };
        let tenant_id = crate::ids::enterprise_id(&tenant);
        LeaseRecord {
            record_id: Uuid::from_u128(1),
            recorded_by: "张三".into(),
            recorded_at: chrono::DateTime::from_timestamp(1_780_000_000, 0).expect("time"),
            landlord_uscc: landlord,
            tenant: LeaseTenant {
                id: tenant_id,
                uscc: tenant,
                name: "新租户".into(),
                village_code: DivisionCode::parse("320482001001").expect("code"),
                industry: None,
                new: true,
            },
            lease: Lease {
                id: Uuid::from_u128(9),
                site_id: site.id,
                tenant_id,
                floors: Some("3-4".into()),
                area_m2: Some(800.0),
                start_date: NaiveDate::from_ymd_opt(2026, 1, 1),
                end_date: NaiveDate::from_ymd_opt(2027, 12, 31),
                equipment_leased: true,
                equipment_description: None,
                safety_agreement_signed: Some(false),
                use_zh: Some("打磨".into()),
                recorded_on_site: true,
            },
            site,
            new_site: true,
        }
    }

    #[test]
    fn a_lease_record_holds_together_or_says_why_not() {
        assert_eq!(record().validate(), Ok(()));
        let mut r = record();
        r.lease.end_date = NaiveDate::from_ymd_opt(2025, 1, 1);
        assert_eq!(r.validate(), Err(LeaseRecordError::Dates));
        let mut r = record();
        r.lease.area_m2 = Some(-1.0);
        assert_eq!(r.validate(), Err(LeaseRecordError::Area));
        let mut r = record();
        r.site.landlord_id = Uuid::from_u128(3);
        assert!(matches!(r.validate(), Err(LeaseRecordError::Ids(_))));
        let mut r = record();
        r.tenant.name = "厂".repeat(LEASE_TEXT_MAX_CHARS + 1);
        assert_eq!(r.validate(), Err(LeaseRecordError::Text("tenant name")));
        let mut r = record();
        r.tenant.uscc = r.landlord_uscc.clone();
        r.tenant.id = crate::ids::enterprise_id(&r.tenant.uscc);
        r.lease.tenant_id = r.tenant.id;
        assert_eq!(r.validate(), Err(LeaseRecordError::SelfLease));
    }

    #[test]
    fn a_lease_body_of_an_older_server_parses_without_the_new_fields() {
        let mut v = serde_json::to_value(record().lease).expect("json");
        let o = v.as_object_mut().expect("object");
        o.remove("use_zh");
        o.remove("recorded_on_site");
        let l: Lease = serde_json::from_value(v).expect("parses");
        assert_eq!((l.use_zh, l.recorded_on_site), (None, false));
    }

    #[test]
    fn coordinates_out_of_range_or_nan_are_refused() {
        assert!(LatLon::new(31.74, 119.56).is_ok());
        assert_eq!(LatLon::new(f64::NAN, 1.0), Err(LatLonError::NotFinite));
        assert_eq!(LatLon::new(91.0, 1.0), Err(LatLonError::Latitude(91.0)));
        assert_eq!(
            LatLon::new(1.0, -181.0),
            Err(LatLonError::Longitude(-181.0))
        );
    }
}
