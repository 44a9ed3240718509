//! Campaigns and coverage (docs/campaign.md): campaigns stored as data, and for a division
//! and a campaign, per duty, how many applicable enterprises are done, not done yet, or
//! overdue — in total and per child division — with the list behind each number. One
//! query path for the CLI, the API and the console: one SQL statement per duty, grouped
//! by child division, over indexes (no per-enterprise round trips).

use crate::db::{Tx, Val};
use crate::error::StoreError;
use crate::store::Store;
use chrono::NaiveDate;
use gridwalk_core::{Applicability, Campaign, DivisionCode, Duty};
use gridwalk_protocol::ProblemCode;
use serde::Serialize;
use StoreError as E;

/// A stored campaign, as `campaigns list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CampaignSummary {
    pub id: String,
    pub name_zh: String,
    pub year: i32,
    pub area_code: String,
    pub starts_on: String,
    pub ends_on: String,
    pub duties: usize,
}

/// Coverage of one duty in one division (or one of its children).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Enterprises the duty applies to.
    pub applicable: u64,
    /// Done: an inspection of one of the duty's templates finalized since the campaign
    /// started.
    pub done: u64,
    /// Not done, and the deadline for this level has not passed (or there is none).
    pub not_done: u64,
    /// Not done, and the deadline for this level has passed.
    pub overdue: u64,
}

/// A child division's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChildCoverage {
    pub code: String,
    pub name: Option<String>,
    /// The deadline at the child's level.
    pub deadline: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// One duty's coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DutyCoverage {
    pub duty_id: String,
    pub no: u32,
    pub title_zh: String,
    /// The deadline at the division's level.
    pub deadline: Option<String>,
    #[serde(flatten)]
    pub counts: Counts,
    pub children: Vec<ChildCoverage>,
}

/// `coverage` for a division and a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Coverage {
    pub campaign_id: String,
    pub campaign_name_zh: String,
    pub division: String,
    /// The day overdue is judged on (China date).
    pub today: String,
    pub duties: Vec<DutyCoverage>,
}

/// Which enterprises of a number to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    Applicable,
    Done,
    NotDone,
    Overdue,
}

impl CoverageStatus {
    /// Parses `applicable|done|not_done|overdue`.
    pub fn parse(s: &str) -> Option<CoverageStatus> {
        match s {
            "applicable" => Some(CoverageStatus::Applicable),
            "done" => Some(CoverageStatus::Done),
            "not_done" => Some(CoverageStatus::NotDone),
            "overdue" => Some(CoverageStatus::Overdue),
            _ => None,
        }
    }
}

/// An enterprise behind a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CoverageEnterprise {
    pub uscc: String,
    pub name: Option<String>,
    pub village_code: String,
    pub done: bool,
}

/// `village_code` bounds of a division: every code starting with its significant prefix.
fn code_range(division: &DivisionCode) -> (String, String) {
    let prefix = division.significant_prefix().to_string();
    let mut upper = prefix.clone().into_bytes();
    // Digits only: the last one + 1 (':' follows '9') bounds the range.
    if let Some(last) = upper.last_mut() {
        *last += 1;
    }
    (prefix, String::from_utf8(upper).unwrap_or_default())
}

/// The length of a child's significant prefix under `division`.
pub(crate) fn child_len(division: &DivisionCode) -> usize {
    match division.significant_prefix().len() {
        0..=4 => 6,
        5..=6 => 9,
        7..=9 => 12,
        _ => 15,
    }
}

/// The SQL condition selecting the enterprises a duty applies to (on `e`).
fn applies(a: &Applicability) -> String {
    match a {
        Applicability::AllEnterprises => "1 = 1".into(),
        Applicability::DustInvolved => "e.dust_involved = 1".into(),
        Applicability::AlMgOrWorkers {
            min_workers_per_shift,
        } => format!(
            "(e.al_mg = 1 OR (e.dust_involved = 1 AND e.workers_per_shift >= {}))",
            min_workers_per_shift
        ),
        Applicability::Tenants => "e.tenant = 1".into(),
    }
}

/// The condition that an enterprise (`e`) has done the duty, every part of
/// `done_when` that is set (docs/campaign.md "Coverage"), with its values bound from
/// `$first` on; `$3` is the campaign's first day.
fn done_sql(duty: &Duty, first: usize) -> (String, Vec<Val>) {
    let mut params: Vec<Val> = Vec::new();
    let mut bind = |v: &str| {
        params.push(Val::from(v));
        format!("${}", first + params.len() - 1)
    };
    let list = duty
        .done_when
        .templates
        .iter()
        .map(|t| bind(t))
        .collect::<Vec<_>>()
        .join(", ");
    let mut parts = vec![format!(
        "EXISTS (SELECT 1 FROM inspection i WHERE i.template_id IN ({list}) \
         AND i.enterprise_uscc = e.uscc AND i.finalized_at >= $3)"
    )];
    if let Some(f) = &duty.done_when.fact {
        let name = bind(&f.name);
        let outcomes = f
            .outcomes
            .iter()
            .map(|o| bind(o))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!(
            "EXISTS (SELECT 1 FROM enterprise_fact f WHERE f.enterprise_uscc = e.uscc \
             AND f.fact = {name} AND f.outcome IN ({outcomes}) AND f.confirmed_at >= $3)"
        ));
    }
    if duty.done_when.rectified {
        parts.push(
            "NOT EXISTS (SELECT 1 FROM hazard h WHERE h.enterprise_uscc = e.uscc \
             AND COALESCE(h.status, 'found') <> 'closed')"
                .to_string(),
        );
    }
    (format!("({})", parts.join(" AND ")), params)
}

fn count_split(
    applicable: u64,
    done: u64,
    deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> Counts {
    let left = applicable.saturating_sub(done);
    let late = deadline.is_some_and(|d| today > d);
    Counts {
        applicable,
        done,
        not_done: if late { 0 } else { left },
        overdue: if late { left } else { 0 },
    }
}

/// Coverage of every duty of `campaign` in `division` on `today`, inside a transaction
/// (the API's [`Store::coverage`] and the progress sheet's export).
pub(crate) fn duties_in(
    t: &mut dyn Tx,
    campaign: &Campaign,
    division: &DivisionCode,
    today: NaiveDate,
) -> Result<Vec<DutyCoverage>, StoreError> {
    let (lo, hi) = code_range(division);
    let clen = child_len(division);
    let start = campaign.starts_on.to_string();
    let mut out = Vec::new();
    // Child names, looked up once for all duties.
    let mut names: std::collections::HashMap<String, Option<String>> =
        std::collections::HashMap::new();
    for duty in &campaign.duties {
        // The child length is ours, not input: a literal (PostgreSQL's substr takes
        // int4, which a bound i64 is not).
        let (done, done_params) = done_sql(duty, 4);
        let sql = format!(
            "SELECT substr(e.village_code, 1, {clen}) AS child, count(*),
                        sum(CASE WHEN {done} THEN 1 ELSE 0 END)
                 FROM enterprise e
                 WHERE e.village_code >= $1 AND e.village_code < $2 AND {applies}
                 GROUP BY substr(e.village_code, 1, {clen}) ORDER BY child",
            applies = applies(&duty.applies_to),
        );
        let mut params: Vec<Val> = vec![lo.clone().into(), hi.clone().into(), start.clone().into()];
        params.extend(done_params);
        let rows = t.query(&sql, &params)?;
        let mut children = Vec::new();
        let (mut applicable, mut done) = (0u64, 0u64);
        for r in &rows {
            let code = r.str(0)?;
            let (n, d) = (
                r.int(1)?.max(0) as u64,
                r.opt_int(2)?.unwrap_or(0).max(0) as u64,
            );
            applicable += n;
            done += d;
            let padded = format!("{code:0<12}");
            let child_deadline = DivisionCode::parse(&padded)
                .ok()
                .and_then(|c| duty.deadline_for(&c));
            let name = match names.get(&padded) {
                Some(n) => n.clone(),
                None => {
                    let n = t
                        .query_opt(
                            "SELECT name FROM division WHERE code = $1",
                            &[padded.clone().into()],
                        )?
                        .map(|r| r.str(0))
                        .transpose()?;
                    names.insert(padded.clone(), n.clone());
                    n
                }
            };
            children.push(ChildCoverage {
                code: padded,
                name,
                deadline: child_deadline.map(|d| d.to_string()),
                counts: count_split(n, d, child_deadline, today),
            });
        }
        let deadline = duty.deadline_for(division);
        out.push(DutyCoverage {
            duty_id: duty.id.clone(),
            no: duty.no,
            title_zh: duty.title_zh.clone(),
            deadline: deadline.map(|d| d.to_string()),
            counts: count_split(applicable, done, deadline, today),
            children,
        });
    }
    Ok(out)
}

impl Store {
    /// Stores (or replaces) a campaign.
    pub fn import_campaign(&self, c: &Campaign) -> Result<(), StoreError> {
        self.import_campaign_logged(c, None)
    }

    /// [`Store::import_campaign`], appending `audit` (the admin command's entry) in the
    /// same transaction.
    pub fn import_campaign_logged(
        &self,
        c: &Campaign,
        audit: Option<&crate::audit::NewEntry>,
    ) -> Result<(), StoreError> {
        let dialect = self.dialect();
        c.check()
            .map_err(|e| E::problem(ProblemCode::MalformedBody, e.to_string()))?;
        for d in &c.duties {
            if let Some(f) = &d.done_when.fact {
                gridwalk_checklist::ConfirmedFact::check_outcome(f).map_err(|e| {
                    E::problem(
                        ProblemCode::MalformedBody,
                        format!("campaign {}, duty {}: {e}", c.id, d.id),
                    )
                })?;
            }
        }
        let body = serde_json::to_string(c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = chrono::Utc::now().to_rfc3339();
        let pg = self.dialect() == crate::db::Dialect::Postgres;
        let published = serde_json::to_value(c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.tx(|t| {
            t.exec(
                "INSERT INTO campaign (id, year, area_code, starts_on, ends_on, body, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET year = excluded.year, area_code = excluded.area_code,
                     starts_on = excluded.starts_on, ends_on = excluded.ends_on, body = excluded.body,
                     updated_at = excluded.updated_at",
                &[
                    c.id.clone().into(),
                    i64::from(c.year).into(),
                    c.area_code.as_str().into(),
                    c.starts_on.to_string().into(),
                    c.ends_on.to_string().into(),
                    body.clone().into(),
                    now.clone().into(),
                ],
            )?;
            // Every device gets the campaigns (few, small); each shows those covering
            // its jurisdiction.
            crate::store::upsert_change(
                t,
                pg,
                gridwalk_protocol::ChangeKind::Campaign,
                &c.id,
                None,
                &published,
            )?;
            if let Some(e) = audit {
                crate::audit::append(t, dialect, e)?;
            }
            Ok(())
        })
    }

    /// A stored campaign.
    pub fn campaign(&self, id: &str) -> Result<Option<Campaign>, StoreError> {
        let row = self.tx(|t| {
            t.query_opt("SELECT body FROM campaign WHERE id = $1", &[id.into()])
                .map_err(StoreError::from)
        })?;
        row.map(|r| {
            let body = r.str(0)?;
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    /// Every stored campaign, newest first.
    pub fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let rows = self.tx(|t| {
            t.query("SELECT body FROM campaign ORDER BY starts_on DESC, id", &[])
                .map_err(StoreError::from)
        })?;
        rows.iter()
            .map(|r| {
                let body = r.str(0)?;
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// The campaign coverage is counted for when none is named: among those covering
    /// `division`, the one active `today`, else the one that started last.
    pub fn default_campaign(
        &self,
        division: &DivisionCode,
        today: NaiveDate,
    ) -> Result<Option<Campaign>, StoreError> {
        let mut covering: Vec<Campaign> = self
            .campaigns()?
            .into_iter()
            .filter(|c| c.covers(division))
            .collect();
        if let Some(i) = covering.iter().position(|c| c.is_active_on(today)) {
            return Ok(Some(covering.swap_remove(i)));
        }
        Ok(covering.into_iter().next())
    }

    /// Coverage of every duty of `campaign` in `division`, judged on `today`.
    pub fn coverage(
        &self,
        campaign: &Campaign,
        division: &DivisionCode,
        today: NaiveDate,
    ) -> Result<Coverage, StoreError> {
        let duties = self.tx(|t| duties_in(t, campaign, division, today))?;
        Ok(Coverage {
            campaign_id: campaign.id.clone(),
            campaign_name_zh: campaign.name_zh.clone(),
            division: division.as_str().to_string(),
            today: today.to_string(),
            duties,
        })
    }

    /// The enterprises behind one number of [`Store::coverage`] (at most `limit`).
    pub fn coverage_enterprises(
        &self,
        campaign: &Campaign,
        duty_id: &str,
        division: &DivisionCode,
        status: CoverageStatus,
        today: NaiveDate,
        limit: u32,
    ) -> Result<Vec<CoverageEnterprise>, StoreError> {
        let duty = campaign
            .duties
            .iter()
            .find(|d| d.id == duty_id)
            .ok_or_else(|| E::problem(ProblemCode::NotFound, format!("no duty {duty_id}")))?;
        let late = duty.deadline_for(division).is_some_and(|d| today > d);
        let want_done = match status {
            CoverageStatus::Applicable => None,
            CoverageStatus::Done => Some(true),
            CoverageStatus::NotDone if late => return Ok(Vec::new()),
            CoverageStatus::Overdue if !late => return Ok(Vec::new()),
            CoverageStatus::NotDone | CoverageStatus::Overdue => Some(false),
        };
        let (lo, hi) = code_range(division);
        let (done, done_params) = done_sql(duty, 5);
        let filter = match want_done {
            None => String::new(),
            Some(true) => format!("AND {done}"),
            Some(false) => format!("AND NOT {done}"),
        };
        let sql = format!(
            "SELECT e.uscc, e.name, e.village_code, CASE WHEN {done} THEN 1 ELSE 0 END
             FROM enterprise e
             WHERE e.village_code >= $1 AND e.village_code < $2 AND {applies} {filter}
             ORDER BY e.village_code, e.uscc LIMIT $4",
            applies = applies(&duty.applies_to),
        );
        let mut params: Vec<Val> = vec![
            lo.into(),
            hi.into(),
            campaign.starts_on.to_string().into(),
            i64::from(limit.clamp(1, 10_000)).into(),
        ];
        params.extend(done_params);
        let rows = self.tx(|t| t.query(&sql, &params).map_err(StoreError::from))?;
        rows.iter()
            .map(|r| {
                Ok(CoverageEnterprise {
                    uscc: r.str(0)?,
                    name: r.text(1)?,
                    village_code: r.str(2)?,
                    done: r.int(3)? != 0,
                })
            })
            .collect()
    }
}

/// The register facts coverage selects by, from an enterprise's body.
pub(crate) fn register_facts(body: &serde_json::Value) -> [Val; 5] {
    let flag = |k: &str| i64::from(body.get(k).and_then(|v| v.as_bool()).unwrap_or(false));
    let tenant = body
        .get("leases_as_tenant")
        .and_then(|l| l.as_array())
        .is_some_and(|l| !l.is_empty());
    [
        body.get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .into(),
        flag("dust_involved").into(),
        flag("al_mg").into(),
        body.get("workers_per_shift")
            .and_then(|w| w.as_i64())
            .into(),
        i64::from(tenant).into(),
    ]
}

/// Fills the register facts of enterprises imported before they were kept; once per
/// database (imports keep them since), not a scan of the register at every start.
pub(crate) fn index_enterprises(t: &mut dyn Tx) -> Result<(), StoreError> {
    if t.query_opt(
        "SELECT 1 FROM server_meta WHERE key = 'enterprises_indexed'",
        &[],
    )?
    .is_some()
    {
        return Ok(());
    }
    let rows = t.query(
        "SELECT id, body FROM enterprise WHERE dust_involved IS NULL",
        &[],
    )?;
    for r in &rows {
        let body: serde_json::Value = serde_json::from_str(&r.str(1)?).unwrap_or_default();
        let [name, dust, al_mg, workers, tenant] = register_facts(&body);
        t.exec(
            "UPDATE enterprise SET name = $2, dust_involved = $3, al_mg = $4, workers_per_shift = $5,
                 tenant = $6 WHERE id = $1",
            &[r.str(0)?.into(), name, dust, al_mg, workers, tenant],
        )?;
    }
    t.exec(
        "INSERT INTO server_meta (key, value) VALUES ('enterprises_indexed', '1')
         ON CONFLICT (key) DO NOTHING",
        &[],
    )?;
    Ok(())
}
