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
    confirmations, AnswerValue, Answers, ConfirmedFact, EnterpriseFacts, Evaluation, FactUpdate,
    ProcessFacts, Severity, Template, TemplateKind,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

/// The fit-to-lease status of an enterprise as a tenant, by the shared rule
/// ([`gridwalk_checklist::pre_lease::pre_lease_status`]) over this phone's own
/// finalized pre-lease checks of it and the hazards their failed items raised.
pub(crate) fn pre_lease_of(
    conn: &Connection,
    enterprise: &Uuid,
) -> Result<gridwalk_checklist::pre_lease::PreLeaseStatus, crate::error::StoreError> {
    use gridwalk_checklist::pre_lease::{pre_lease_status, PreLeaseCheck, RaisedHazard};
    let id = enterprise.to_string();
    let parse = |column: &'static str, s: &str| {
        Uuid::parse_str(s).map_err(|e| crate::error::StoreError::Corrupt {
            table: "inspection",
            column,
            detail: e.to_string(),
        })
    };
    // Three text columns of the rows for this enterprise (the third may be NULL).
    let rows = |sql: &str| -> Result<Vec<(String, String, Option<String>)>, rusqlite::Error> {
        conn.prepare(sql)?
            .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    };
    let mut checks = Vec::new();
    {
        let rows = rows(
            "SELECT id, finalized_at, supersedes FROM inspection \
             WHERE enterprise_id = ?1 AND kind = 'pre_lease' AND payload IS NOT NULL",
        )?;
        let mut items = conn.prepare("SELECT item_id FROM finding WHERE inspection_id = ?1")?;
        for (inspection, at, supersedes) in rows {
            let failed_items = items
                .query_map([&inspection], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            checks.push(PreLeaseCheck {
                inspection_id: parse("id", &inspection)?,
                finalized_at: parse_ts("inspection", "finalized_at", &at)?,
                supersedes: supersedes
                    .as_deref()
                    .map(|s| parse("supersedes", s))
                    .transpose()?,
                failed_items,
            });
        }
    }
    if checks.is_empty() {
        return Ok(pre_lease_status(&[], &[]));
    }
    let mut hazards = Vec::new();
    let raised = rows(
        "SELECT id, inspection_id, item_id FROM hazard \
         WHERE enterprise_id = ?1 AND inspection_id IS NOT NULL AND item_id IS NOT NULL",
    )?;
    for (hazard, inspection, item_id) in raised {
        let Some(item_id) = item_id else { continue };
        let state =
            super::hazards::load_state(conn, &parse("hazard", &hazard)?).map_err(|e| match e {
                InspectionError::Store(s) => s,
                other => crate::error::StoreError::Corrupt {
                    table: "hazard_event",
                    column: "event",
                    detail: other.to_string(),
                },
            })?;
        hazards.push(RaisedHazard {
            inspection_id: parse("inspection_id", &inspection)?,
            item_id,
            status: state.status,
        });
    }
    Ok(pre_lease_status(&checks, &hazards))
}

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

fn text(answers: &Answers, item: &str) -> Option<String> {
    match answers.get(item).map(|a| &a.value) {
        Some(AnswerValue::Text(t)) => Some(t.clone()),
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
    // What the inspection confirms, read as the server reads it
    // (`gridwalk_checklist::confirm`), applied to the register row now.
    let confirmed = confirmations(template, answers);
    confirmed.apply_to(&mut e);
    for fact in confirmed.facts() {
        // A survey's dust sighting has no confirmation column of its own.
        if fact != ConfirmedFact::SurveyDust {
            confirm(conn, &row.enterprise_id, fact.as_str(), by, &at_s, &insp)?;
        }
    }
    if let Some(update) = &confirmed.dust {
        conn.execute(
            "UPDATE enterprise_status SET dust_facts = ?2 WHERE enterprise_id = ?1",
            params![
                row.enterprise_id.to_string(),
                serde_json::to_string(update)?
            ],
        )?;
    }
    match template.kind {
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
        TemplateKind::DustVerification
        | TemplateKind::Survey
        | TemplateKind::SpotCheck
        | TemplateKind::MajorHazard
        | TemplateKind::Reinspection => {}
    }
    if e != before {
        crate::register::write_enterprise(conn, &e)?;
    }
    Ok(())
}

/// A confirmation as the server publishes it with a register row (`confirmations`,
/// docs/campaign.md "Enterprise facts"): who confirmed the fact, when, from which
/// inspection, and for a dust verification its facts.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct PulledConfirmation {
    pub by: String,
    pub at: String,
    pub inspection_id: String,
    #[serde(default)]
    pub facts: Option<FactUpdate>,
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Merges what visits confirmed into a pulled register row, fact by fact (dust types,
/// Al/Mg and workers per shift; safety officer; risk report; warning education): the
/// latest confirmation wins. The server's row carries the confirmations it folded from
/// every phone's inspections; one made on this device and not yet folded there (or
/// newer) is kept over it, and a newer one from the server replaces this device's,
/// recorded in `enterprise_status` with who made it. Without a confirmation either way
/// the pulled row stands.
pub(crate) fn merge_confirmations(
    conn: &Connection,
    pulled: &mut gridwalk_core::Enterprise,
    server: &std::collections::BTreeMap<String, PulledConfirmation>,
) -> Result<(), crate::error::StoreError> {
    let local_at = conn
        .query_row(
            "SELECT dust_confirmed_at, safety_officer_at, risk_report_at, training_at \
             FROM enterprise_status WHERE enterprise_id = ?1",
            [pulled.id.to_string()],
            |r| {
                Ok([
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ])
            },
        )
        .optional()?
        .unwrap_or_default();
    let local = crate::register::get_enterprise(conn, &pulled.id)?;
    let facts = [
        ConfirmedFact::Dust,
        ConfirmedFact::SafetyOfficer,
        ConfirmedFact::RiskReport,
        ConfirmedFact::Training,
    ];
    for (fact, mine) in facts.into_iter().zip(local_at) {
        let theirs = server.get(fact.as_str());
        let keep_mine = match (&mine, theirs) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(m), Some(t)) => match (instant(m), instant(&t.at)) {
                (Some(m), Some(t)) => m > t,
                _ => true,
            },
        };
        if keep_mine {
            let Some(local) = &local else { continue };
            match fact {
                ConfirmedFact::Dust => {
                    pulled.dust_involved = local.dust_involved;
                    pulled.dust_types = local.dust_types.clone();
                    pulled.al_mg = local.al_mg;
                    pulled.workers_per_shift = local.workers_per_shift;
                }
                ConfirmedFact::SafetyOfficer => {
                    pulled.safety_officer = local.safety_officer.clone()
                }
                ConfirmedFact::RiskReport => pulled.risk_report = local.risk_report,
                ConfirmedFact::Training => pulled.warning_education = local.warning_education,
                ConfirmedFact::SurveyDust => {}
            }
        } else if let Some(t) = theirs {
            // The server's is newer (or the only one): record who confirmed it.
            let Some(at) = instant(&t.at) else { continue };
            conn.execute(
                "INSERT OR IGNORE INTO enterprise_status (enterprise_id) VALUES (?1)",
                [pulled.id.to_string()],
            )?;
            let sql = format!(
                "UPDATE enterprise_status SET {f}_by = ?2, {f}_at = ?3, {f}_inspection = ?4 \
                 WHERE enterprise_id = ?1",
                f = fact.as_str()
            );
            conn.execute(
                &sql,
                params![pulled.id.to_string(), t.by, ts(&at), t.inspection_id],
            )?;
            if let (ConfirmedFact::Dust, Some(update)) = (fact, &t.facts) {
                let text = serde_json::to_string(update).map_err(|e| {
                    crate::error::StoreError::Corrupt {
                        table: "enterprise_status",
                        column: "dust_facts",
                        detail: e.to_string(),
                    }
                })?;
                conn.execute(
                    "UPDATE enterprise_status SET dust_facts = ?2 WHERE enterprise_id = ?1",
                    params![pulled.id.to_string(), text],
                )?;
            }
        }
    }
    Ok(())
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
        let detail = self.register_entry(&enterprise_id.to_string())?;
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
        let id = self.register_entry(key)?.enterprise.id;
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
