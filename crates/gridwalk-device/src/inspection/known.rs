//! What the register already knows for a question the visit asks again (an item's
//! `known`): the 安全专员, the risk report, the training. The phone shows it beside the
//! question with who confirmed it and when, and offers it as the answer; the visit
//! still answers, so a confirmation is always made on site.

use super::status::{Confirmation, EnterpriseStatus};
use gridwalk_checklist::KnownFact;
use gridwalk_core::enterprise::{RiskReportStatus, TrainingStatus};
use gridwalk_core::Enterprise;
use serde::Serialize;

/// The placeholder a confirmation writes when the 安全专员's name was not given.
const NAME_NOT_GIVEN: &str = "（未登记姓名）";

/// A known answer for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownAnswer {
    /// The answer as the item takes it (`yes`, `filed`, a name).
    pub value: String,
    /// What it says, in Chinese (`现场帮助填报`, `王安全`).
    pub label_zh: String,
    /// Who confirmed it on a visit, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<String>,
    /// When (RFC 3339), if confirmed on a visit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
}

/// The known answer for `fact`, if the register holds one.
pub fn known_answer(
    fact: KnownFact,
    e: &Enterprise,
    status: &EnterpriseStatus,
) -> Option<KnownAnswer> {
    let (value, label, confirmation): (String, String, Option<&Confirmation>) = match fact {
        KnownFact::SafetyOfficerPresent => {
            let o = e.safety_officer.as_ref()?;
            let name = Some(o.name.as_str()).filter(|n| !n.is_empty() && *n != NAME_NOT_GIVEN);
            let label = match name {
                Some(n) => format!("已明确：{n}"),
                None => "已明确".to_string(),
            };
            (
                "yes".into(),
                label,
                status.safety_officer_confirmed.as_ref(),
            )
        }
        KnownFact::SafetyOfficerName => {
            let o = e.safety_officer.as_ref()?;
            let name = o.name.trim();
            if name.is_empty() || name == NAME_NOT_GIVEN {
                return None;
            }
            (
                name.to_string(),
                name.to_string(),
                status.safety_officer_confirmed.as_ref(),
            )
        }
        KnownFact::SafetyOfficerPhone => {
            let phone = e.safety_officer.as_ref()?.phone.as_deref()?.trim();
            if phone.is_empty() {
                return None;
            }
            (
                phone.to_string(),
                phone.to_string(),
                status.safety_officer_confirmed.as_ref(),
            )
        }
        KnownFact::RiskReport => {
            let value = match e.risk_report {
                RiskReportStatus::Filed => "filed",
                RiskReportStatus::HelpedOnSite => "helped_on_site",
                RiskReportStatus::NotFiled => "not_filed",
                RiskReportStatus::Unknown => return None,
            };
            (
                value.into(),
                e.risk_report.name_zh().into(),
                status.risk_report_confirmed.as_ref(),
            )
        }
        KnownFact::Training => {
            let value = match e.warning_education {
                TrainingStatus::Attended | TrainingStatus::Verified => "yes",
                TrainingStatus::NotDone => "no",
                TrainingStatus::Unknown => return None,
            };
            (
                value.into(),
                e.warning_education.name_zh().into(),
                status.training_confirmed.as_ref(),
            )
        }
    };
    Some(KnownAnswer {
        value,
        label_zh: label,
        confirmed_by: confirmation.map(|c| c.by.clone()),
        confirmed_at: confirmation.map(|c| c.at.to_rfc3339()),
    })
}
