//! What finalized inspections confirm about an enterprise (issue 4 §6), and the facts
//! that decide which checklist items apply to it.
//!
//! * dust-type verification (`dust_verification`): the dust types, Al/Mg, workers per
//!   shift are written to the register row; the process facts (dry collector, fan
//!   position, storeys…) are kept as the verification's `FactUpdate`; who confirmed, when.
//! * grid survey (`survey`) and spot check (`spot_check`): safety officer confirmed on
//!   site, risk-report status, warning-education status, dust involvement.
//! * pre-lease check (`pre_lease`): passed (no failed item) or failed, with counts and
//!   the conclusion text.

use super::lifecycle::Row;
use super::{from_json, parse_ts, ts, InspectionError};
use crate::store::Store;
use chrono::{DateTime, Utc};
use gridwalk_checklist::{
    facts_from_verification, AnswerValue, Answers, EnterpriseFacts, Evaluation, FactUpdate,
    ProcessFacts, Severity, Template, TemplateKind, YesNoNa,
};
use gridwalk_core::dust::DustFlag;
use gridwalk_core::enterprise::{RiskReportStatus, SafetyOfficer, TrainingStatus};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

/// Who confirmed something, when, by which inspection.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    /// Inspector.
    pub by: String,
    /// When the inspection was finalized.
    pub at: DateTime<Utc>,
    /// The inspection.
    pub inspection_id: Uuid,
}

/// The outcome of the latest pre-lease check.
#[derive(Debug, Clone, Serialize)]
pub struct PreLeaseResult {
    /// `passed` or `failed`.
    pub result: String,
    /// Failed major items.
    pub major: u32,
    /// Failed general items.
    pub general: u32,
    /// The officer's conclusion.
    pub conclusion: Option<String>,
    /// Who, when, which inspection.
    pub confirmed: Confirmation,
}

/// What inspections have confirmed about one enterprise.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseStatus {
    /// Enterprise id.
    pub enterprise_id: Uuid,
    /// Dust type confirmed by an expert verification.
    pub dust_confirmed: Option<Confirmation>,
    /// The facts that verification set.
    pub dust_facts: Option<FactUpdate>,
    /// Safety officer seen on site.
    pub safety_officer_confirmed: Option<Confirmation>,
    /// Risk-report status recorded by an inspection.
    pub risk_report_confirmed: Option<Confirmation>,
    /// Training status recorded by an inspection.
    pub training_confirmed: Option<Confirmation>,
    /// Latest pre-lease check.
    pub pre_lease: Option<PreLeaseResult>,
}

fn yes_no(answers: &Answers, item: &str) -> Option<YesNoNa> {
    match answers.get(item).map(|a| &a.value) {
        Some(AnswerValue::YesNoNa(v)) => Some(*v),
        _ => None,
    }
}

fn text(answers: &Answers, item: &str) -> Option<String> {
    match answers.get(item).map(|a| &a.value) {
        Some(AnswerValue::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

fn first_choice(answers: &Answers, item: &str) -> Option<String> {
    match answers.get(item).map(|a| &a.value) {
        Some(AnswerValue::Choice(v)) => v.first().cloned(),
        _ => None,
    }
}

fn confirm(
    conn: &Connection,
    enterprise: &Uuid,
    what: &str,
    by: &str,
    at: &str,
    inspection: &str,
) -> Result<(), InspectionError> {
    conn.execute(
        "INSERT OR IGNORE INTO enterprise_status (enterprise_id) VALUES (?1)",
        [enterprise.to_string()],
    )?;
    // `what` is one of a fixed set of column prefixes below, never user input.
    let sql = format!(
        "UPDATE enterprise_status SET {what}_by = ?2, {what}_at = ?3, {what}_inspection = ?4 \
         WHERE enterprise_id = ?1"
    );
    conn.execute(&sql, params![enterprise.to_string(), by, at, inspection])?;
    Ok(())
}

/// Updates the register row and `enterprise_status` from a finalized inspection, inside
/// the finalize transaction.
pub(crate) fn apply_finalized(
    conn: &Connection,
    row: &Row,
    template: &Template,
    answers: &Answers,
    evaluation: &Evaluation,
    at: DateTime<Utc>,
) -> Result<(), InspectionError> {
    let Some(mut e) = crate::register::get_enterprise(conn, &row.enterprise_id)? else {
        return Ok(());
    };
    let at_s = ts(&at);
    let insp = row.id.to_string();
    let by = row.inspector.as_str();
    let before = e.clone();
    match template.kind {
        TemplateKind::DustVerification => {
            let update = facts_from_verification(template, answers);
            if let Some(types) = &update.dust_types {
                e.dust_types = types.clone();
                e.dust_involved = !types.is_empty();
                let mut f = EnterpriseFacts::default();
                f.add_dust_types(types);
                e.al_mg = f.flags.contains(&DustFlag::AlMg);
            }
            if let Some(w) = update.workers_per_shift {
                e.workers_per_shift = Some(w);
            }
            confirm(conn, &row.enterprise_id, "dust_confirmed", by, &at_s, &insp)?;
            conn.execute(
                "UPDATE enterprise_status SET dust_facts = ?2 WHERE enterprise_id = ?1",
                params![
                    row.enterprise_id.to_string(),
                    serde_json::to_string(&update)?
                ],
            )?;
        }
        TemplateKind::Survey => {
            if yes_no(answers, "SV-01") == Some(YesNoNa::Yes) {
                e.dust_involved = true;
            }
            if e.workers_per_shift.is_none() {
                if let Some(AnswerValue::Number(n)) = answers.get("SV-03").map(|a| &a.value) {
                    if n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n <= f64::from(u32::MAX) {
                        e.workers_per_shift = Some(*n as u32);
                    }
                }
            }
            officer(conn, &mut e, answers, "SV-05", "SV-06", "SV-07", row, &at_s)?;
            if let Some(v) = first_choice(answers, "SV-08") {
                let status = match v.as_str() {
                    "filed" => Some(RiskReportStatus::Filed),
                    "helped_on_site" => Some(RiskReportStatus::HelpedOnSite),
                    "not_filed" => Some(RiskReportStatus::NotFiled),
                    _ => None,
                };
                if let Some(s) = status {
                    e.risk_report = s;
                    confirm(conn, &row.enterprise_id, "risk_report", by, &at_s, &insp)?;
                }
            }
            training(conn, &mut e, answers, "SV-09", row, &at_s)?;
        }
        TemplateKind::SpotCheck => {
            officer(conn, &mut e, answers, "SC-04", "", "", row, &at_s)?;
            match yes_no(answers, "SC-05") {
                Some(YesNoNa::Yes) => {
                    if e.risk_report != RiskReportStatus::HelpedOnSite {
                        e.risk_report = RiskReportStatus::Filed;
                    }
                    confirm(conn, &row.enterprise_id, "risk_report", by, &at_s, &insp)?;
                }
                Some(YesNoNa::No) => {
                    e.risk_report = RiskReportStatus::NotFiled;
                    confirm(conn, &row.enterprise_id, "risk_report", by, &at_s, &insp)?;
                }
                _ => {}
            }
            training(conn, &mut e, answers, "SC-06", row, &at_s)?;
        }
        TemplateKind::PreLease => {
            let major = evaluation
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Major)
                .count() as u32;
            let general = evaluation.findings.len() as u32 - major;
            let result = if evaluation.findings.is_empty() {
                "passed"
            } else {
                "failed"
            };
            conn.execute(
                "INSERT OR IGNORE INTO enterprise_status (enterprise_id) VALUES (?1)",
                [row.enterprise_id.to_string()],
            )?;
            conn.execute(
                "UPDATE enterprise_status SET pre_lease_result = ?2, pre_lease_major = ?3, \
                     pre_lease_general = ?4, pre_lease_conclusion = ?5, pre_lease_by = ?6, \
                     pre_lease_at = ?7, pre_lease_inspection = ?8 WHERE enterprise_id = ?1",
                params![
                    row.enterprise_id.to_string(),
                    result,
                    major,
                    general,
                    text(answers, "PL-CONCL"),
                    by,
                    at_s,
                    insp
                ],
            )?;
        }
        TemplateKind::MajorHazard | TemplateKind::Reinspection => {}
    }
    if e != before {
        crate::register::write_enterprise(conn, &e)?;
    }
    Ok(())
}

/// Keeps what inspections on this device confirmed on site when a pulled register row
/// is about to overwrite it: dust types, Al/Mg and workers per shift after a dust
/// verification; the safety officer, risk-report and warning-education statuses after
/// a survey or spot check. An on-site check is newer knowledge than the register, and
/// the server does not fold confirmations back into the register it publishes; without
/// this, any re-published row (a register re-import, a re-pull after enrolling again)
/// would silently undo them and change which checklist items apply.
pub(crate) fn keep_local_confirmations(
    conn: &Connection,
    pulled: &mut gridwalk_core::Enterprise,
) -> Result<(), crate::error::StoreError> {
    let confirmed = conn
        .query_row(
            "SELECT dust_confirmed_at IS NOT NULL, safety_officer_at IS NOT NULL, \
                    risk_report_at IS NOT NULL, training_at IS NOT NULL \
             FROM enterprise_status WHERE enterprise_id = ?1",
            [pulled.id.to_string()],
            |r| {
                Ok((
                    r.get::<_, bool>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((dust, officer, risk, training)) = confirmed else {
        return Ok(());
    };
    let Some(local) = crate::register::get_enterprise(conn, &pulled.id)? else {
        return Ok(());
    };
    if dust {
        pulled.dust_involved = local.dust_involved;
        pulled.dust_types = local.dust_types;
        pulled.al_mg = local.al_mg;
        pulled.workers_per_shift = local.workers_per_shift;
    }
    if officer {
        pulled.safety_officer = local.safety_officer;
    }
    if risk {
        pulled.risk_report = local.risk_report;
    }
    if training {
        pulled.warning_education = local.warning_education;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn officer(
    conn: &Connection,
    e: &mut gridwalk_core::Enterprise,
    answers: &Answers,
    present: &str,
    name: &str,
    phone: &str,
    row: &Row,
    at: &str,
) -> Result<(), InspectionError> {
    let insp = row.id.to_string();
    match yes_no(answers, present) {
        Some(YesNoNa::Yes) => {
            let mut o = e.safety_officer.clone().unwrap_or_default();
            if let Some(n) = text(answers, name) {
                o.name = n;
            }
            if let Some(p) = text(answers, phone) {
                o.phone = Some(p);
            }
            if o.name.trim().is_empty() {
                o.name = "（未登记姓名）".to_string();
            }
            o.confirmed_on_site = true;
            e.safety_officer = Some(o);
            confirm(
                conn,
                &row.enterprise_id,
                "safety_officer",
                &row.inspector,
                at,
                &insp,
            )?;
        }
        Some(YesNoNa::No) => {
            if let Some(o) = &mut e.safety_officer {
                o.confirmed_on_site = false;
            } else {
                e.safety_officer = None::<SafetyOfficer>;
            }
            confirm(
                conn,
                &row.enterprise_id,
                "safety_officer",
                &row.inspector,
                at,
                &insp,
            )?;
        }
        _ => {}
    }
    Ok(())
}

fn training(
    conn: &Connection,
    e: &mut gridwalk_core::Enterprise,
    answers: &Answers,
    item: &str,
    row: &Row,
    at: &str,
) -> Result<(), InspectionError> {
    let insp = row.id.to_string();
    match yes_no(answers, item) {
        Some(YesNoNa::Yes) => {
            if e.warning_education != TrainingStatus::Verified {
                e.warning_education = TrainingStatus::Attended;
            }
        }
        Some(YesNoNa::No) => e.warning_education = TrainingStatus::NotDone,
        _ => return Ok(()),
    }
    confirm(
        conn,
        &row.enterprise_id,
        "training",
        &row.inspector,
        at,
        &insp,
    )
}

fn confirmation(
    by: Option<String>,
    at: Option<String>,
    insp: Option<String>,
) -> Result<Option<Confirmation>, InspectionError> {
    match (by, at, insp) {
        (Some(by), Some(at), Some(i)) => Ok(Some(Confirmation {
            by,
            at: parse_ts("enterprise_status", "at", &at)?,
            inspection_id: super::parse_uuid("enterprise_status", "inspection", &i)?,
        })),
        _ => Ok(None),
    }
}

impl Store {
    /// The facts checklist applicability is computed from: the register (dust types,
    /// Al/Mg, dust involvement, workers per shift, being a tenant, equipment leased with
    /// the space) plus the process facts of the latest finalized dust-type verification.
    pub fn enterprise_facts(
        &self,
        enterprise_id: &Uuid,
    ) -> Result<EnterpriseFacts, InspectionError> {
        let detail = self.enterprise(&enterprise_id.to_string())?;
        let is_tenant = !detail.leases_as_tenant.is_empty();
        let update: Option<String> = self
            .conn
            .query_row(
                "SELECT dust_facts FROM enterprise_status WHERE enterprise_id = ?1",
                [enterprise_id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let mut process = match update {
            Some(u) => {
                from_json::<FactUpdate>("enterprise_status", "dust_facts", &u)?.process_facts()
            }
            None => ProcessFacts::default(),
        };
        if detail
            .leases_as_tenant
            .iter()
            .any(|l| l.lease.equipment_leased)
        {
            process.equipment_leased = true;
        }
        Ok(EnterpriseFacts::from_enterprise(
            &detail.enterprise,
            is_tenant,
            &process,
        ))
    }

    /// What finalized inspections have confirmed about an enterprise (id or USCC).
    pub fn enterprise_status(&self, key: &str) -> Result<EnterpriseStatus, InspectionError> {
        let id = self.enterprise(key)?.enterprise.id;
        type Raw = (
            [Option<String>; 4],
            [Option<String>; 9],
            (Option<String>, Option<u32>, Option<u32>, Option<String>),
        );
        let raw: Option<Raw> = self
            .conn
            .query_row(
                "SELECT dust_confirmed_by, dust_confirmed_at, dust_confirmed_inspection, dust_facts, \
                     safety_officer_by, safety_officer_at, safety_officer_inspection, \
                     risk_report_by, risk_report_at, risk_report_inspection, \
                     training_by, training_at, training_inspection, \
                     pre_lease_result, pre_lease_major, pre_lease_general, pre_lease_conclusion \
                 FROM enterprise_status WHERE enterprise_id = ?1",
                [id.to_string()],
                |r| {
                    Ok((
                        [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?],
                        [
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                            r.get(10)?,
                            r.get(11)?,
                            r.get(12)?,
                        ],
                        (r.get(13)?, r.get(14)?, r.get(15)?, r.get(16)?),
                    ))
                },
            )
            .optional()?;
        let Some(([db, da, di, df], s, (plr, plm, plg, plc))) = raw else {
            return Ok(EnterpriseStatus {
                enterprise_id: id,
                dust_confirmed: None,
                dust_facts: None,
                safety_officer_confirmed: None,
                risk_report_confirmed: None,
                training_confirmed: None,
                pre_lease: None,
            });
        };
        let [sb, sa, si, rb, ra, ri, tb, ta, ti] = s;
        let pre_lease = match plr {
            Some(result) => {
                let (pb, pa, pi): (Option<String>, Option<String>, Option<String>) =
                    self.conn.query_row(
                        "SELECT pre_lease_by, pre_lease_at, pre_lease_inspection FROM enterprise_status \
                         WHERE enterprise_id = ?1",
                        [id.to_string()],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )?;
                confirmation(pb, pa, pi)?.map(|confirmed| PreLeaseResult {
                    result,
                    major: plm.unwrap_or(0),
                    general: plg.unwrap_or(0),
                    conclusion: plc,
                    confirmed,
                })
            }
            None => None,
        };
        Ok(EnterpriseStatus {
            enterprise_id: id,
            dust_confirmed: confirmation(db, da, di)?,
            dust_facts: df
                .map(|f| from_json("enterprise_status", "dust_facts", &f))
                .transpose()?,
            safety_officer_confirmed: confirmation(sb, sa, si)?,
            risk_report_confirmed: confirmation(rb, ra, ri)?,
            training_confirmed: confirmation(tb, ta, ti)?,
            pre_lease,
        })
    }
}
