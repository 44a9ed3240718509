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
}

#[cfg(test)]
mod tests {
    use super::*;

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
