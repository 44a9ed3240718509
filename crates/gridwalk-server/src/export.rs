//! The ledgers (台账) a town or district office hands up the chain, read from the
//! projections (docs/exports.md): hazards with their 五定 plan, finalized inspections
//! with their review, and the register with the facts visits confirmed. Written by
//! `gridwalk_ledger` row by row from one database cursor, so a ledger of 100,000
//! hazards never builds in memory; shared by `gridwalk-server export` and
//! `GET /v1/exports/*.xlsx`.
//!
//! A ledger covers a division and its children (the code-prefix rule of coverage and
//! the officer's lists) and is read in one transaction: it is the state of one moment.

use crate::db::{Row, Tx};
use crate::error::StoreError;
use crate::store::Store;
use crate::work::Actor;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use gridwalk_checklist::hazard::{china_date, china_offset};
use gridwalk_checklist::{Confirmations, HazardState, HazardStatus};
use gridwalk_core::{Campaign, DivisionCode, Enterprise, ReviewState};
use gridwalk_ledger::{
    CoverageRow, EnterpriseRow, HazardRow, InspectionRow, LeaseRow, LedgerError, LedgerMeta,
    LedgerRow, LedgerWriter, TipRow,
};
use gridwalk_protocol::ProblemCode;
use std::collections::HashMap;
use std::io::{Seek, Write};
use std::path::Path;

/// Which ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// 隐患排查治理台账.
    Hazards,
    /// 检查记录台账.
    Inspections,
    /// 粉尘涉爆企业底数台账.
    Enterprises,
    /// 举报核查台账 (docs/tips.md; never the reporter).
    Tips,
    /// 厂中厂台账 (docs/leases.md).
    Leases,
    /// 专项行动进度表: the campaign's duties done / not done / overdue per child division
    /// (docs/campaign.md "Coverage").
    Coverage,
}

impl LedgerKind {
    /// `hazards`, `inspections`, `enterprises`, `tips`, `leases` or `coverage` (the CLI
    /// word and the URL's).
    pub fn parse(s: &str) -> Option<LedgerKind> {
        match s {
            "hazards" => Some(LedgerKind::Hazards),
            "inspections" => Some(LedgerKind::Inspections),
            "enterprises" => Some(LedgerKind::Enterprises),
            "tips" => Some(LedgerKind::Tips),
            "leases" => Some(LedgerKind::Leases),
            "coverage" => Some(LedgerKind::Coverage),
            _ => None,
        }
    }

    /// The English word.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Hazards => "hazards",
            LedgerKind::Inspections => "inspections",
            LedgerKind::Enterprises => "enterprises",
            LedgerKind::Tips => "tips",
            LedgerKind::Leases => "leases",
            LedgerKind::Coverage => "coverage",
        }
    }

    /// The ledger's Chinese name.
    pub fn title_zh(self) -> &'static str {
        match self {
            LedgerKind::Hazards => HazardRow::TITLE,
            LedgerKind::Inspections => InspectionRow::TITLE,
            LedgerKind::Enterprises => EnterpriseRow::TITLE,
            LedgerKind::Tips => TipRow::TITLE,
            LedgerKind::Leases => LeaseRow::TITLE,
            LedgerKind::Coverage => CoverageRow::TITLE,
        }
    }
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub kind: LedgerKind,
    /// The division (and its children).
    pub division: DivisionCode,
    /// A campaign id: named in the title row, and the hazards found / inspections
    /// finalized within its first and last day only. `None`: everything.
    pub campaign: Option<String>,
    /// Hazards: only those open past their deadline (the list's `overdue`).
    pub overdue_only: bool,
    /// Inspections: `approved`, `has_issues`, `rejected` or `unreviewed`.
    pub review: Option<String>,
    /// Enterprises: only dust-involved ones.
    pub dust_involved_only: bool,
}

impl ExportRequest {
    /// Everything of one ledger for a division.
    pub fn new(kind: LedgerKind, division: DivisionCode) -> ExportRequest {
        ExportRequest {
            kind,
            division,
            campaign: None,
            overdue_only: false,
            review: None,
            dust_involved_only: false,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportSummary {
    pub rows: u64,
    /// A file name in Chinese: `隐患排查治理台账-金城镇-20261207.xlsx`.
    pub file_name: String,
    /// The same in ASCII for old clients: `hazards-320413100000-20261207.xlsx`.
    pub ascii_file_name: String,
}

fn problem(code: ProblemCode, detail: impl Into<String>) -> StoreError {
    StoreError::problem(code, detail)
}

fn ledger_err(e: LedgerError) -> StoreError {
    match e {
        LedgerError::TooManyRows { .. } => problem(ProblemCode::InvalidRequest, e.to_string()),
        other => StoreError::Io {
            context: "writing the ledger".into(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s?.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn china_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&china_offset()).naive_local()
}

/// Town and village names of a division's tree.
pub(crate) struct Names(HashMap<String, String>);

impl Names {
    /// Every division's name (a 厂中厂 ledger names the other party's town too).
    pub(crate) fn load_all(t: &mut dyn Tx) -> Result<Names, StoreError> {
        let mut map = HashMap::new();
        t.query_each("SELECT code, name FROM division", &[], &mut |r: Row| {
            map.insert(r.str(0)?, r.str(1)?);
            Ok(())
        })?;
        Ok(Names(map))
    }

    fn load(t: &mut dyn Tx, division: &DivisionCode) -> Result<Names, StoreError> {
        let mut map = HashMap::new();
        // The division's own town (a village's or grid's export names it too).
        let town = town_code(division.as_str());
        t.query_each(
            "SELECT code, name FROM division WHERE code LIKE $1 OR code = $2 OR code = $3",
            &[
                format!("{}%", division.significant_prefix()).into(),
                town.into(),
                division.as_str().into(),
            ],
            &mut |r: Row| {
                map.insert(r.str(0)?, r.str(1)?);
                Ok(())
            },
        )?;
        Ok(Names(map))
    }

    pub(crate) fn name(&self, code: &str) -> String {
        self.0
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// (town, village) names of a village or grid code.
    pub(crate) fn town_village(&self, code: &str) -> (String, String) {
        let village = code.get(..12).unwrap_or(code);
        (self.name(&town_code(code)), self.name(village))
    }
}

/// The town (`TTTTTTTTT000`) of a village or grid code.
fn town_code(code: &str) -> String {
    format!("{}000", code.get(..9).unwrap_or(code))
}

fn status_zh(s: HazardStatus) -> &'static str {
    match s {
        HazardStatus::Found => "待整改",
        HazardStatus::Assigned => "已交办",
        HazardStatus::Rectifying => "整改中",
        HazardStatus::Reinspected => "已复查",
        HazardStatus::Closed => "已销号",
    }
}

pub(crate) fn role_zh(role: &str) -> &str {
    match role {
        "grid_worker" => "网格员",
        "expert" => "专家",
        "officer" => "监管人员",
        "admin" => "管理员",
        other => other,
    }
}

pub(crate) fn review_zh(state: Option<&str>) -> &'static str {
    match state.and_then(ReviewState::parse) {
        Some(ReviewState::Approved) => "已通过",
        Some(ReviewState::HasIssues) => "有问题",
        Some(ReviewState::Rejected) => "已驳回",
        None => "未审核",
    }
}

/// 逾期天数 of a hazard on `today`: days past the deadline while it is open; for one
/// closed after its deadline, how late it was closed; else 0.
pub fn overdue_days(state: &HazardState, today: NaiveDate) -> i64 {
    let until = match (state.status, state.closed_at) {
        (HazardStatus::Closed, Some(at)) => china_date(at),
        (HazardStatus::Closed, None) => return 0,
        _ => today,
    };
    (until - state.deadline).num_days().max(0)
}

/// One hazard's ledger row.
pub fn hazard_row(
    state: &HazardState,
    names: (String, String),
    enterprise_name: String,
    uscc: String,
    today: NaiveDate,
) -> HazardRow {
    let plan = state.plan.as_ref();
    let last_reinspection = state.reinspections.last();
    HazardRow {
        town: names.0,
        village: names.1,
        enterprise_name,
        uscc,
        description: state.description_zh.clone(),
        severity: state.severity.name_zh().into(),
        legal_basis: state
            .legal_basis
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        found_on: Some(china_date(state.found_at)),
        found_by: state.found_by.clone(),
        measures: plan.map(|p| p.measures.clone()),
        responsible: plan.map(|p| p.responsible.clone()),
        funds_yuan: plan.and_then(|p| p.funds_yuan),
        deadline: Some(state.deadline),
        interim_measures: plan.map(|p| p.interim_measures.clone()),
        status: status_zh(state.status).into(),
        reinspected_on: last_reinspection.map(|r| china_date(r.at)),
        reinspected_by: last_reinspection.map(|r| r.actor.clone()),
        closed_on: state.closed_at.map(china_date),
        listed: state.listed.is_some(),
        overdue_days: overdue_days(state, today),
    }
}

/// The campaign's days, as China dates.
fn period(c: &Campaign) -> (NaiveDate, NaiveDate) {
    (c.starts_on, c.ends_on)
}

fn within(p: Option<(NaiveDate, NaiveDate)>, at: Option<DateTime<Utc>>) -> bool {
    match (p, at) {
        (None, _) => true,
        (Some((from, to)), Some(at)) => (from..=to).contains(&china_date(at)),
        (Some(_), None) => false,
    }
}

/// Who confirmed one fact of an enterprise, and on which day (China time).
struct Confirmed {
    by: Option<String>,
    on: Option<NaiveDate>,
}

impl Confirmed {
    fn from_row(r: &Row, at: usize) -> Result<(Option<Confirmations>, Confirmed), StoreError> {
        let value = r
            .text(at)?
            .and_then(|v| serde_json::from_str::<Confirmations>(&v).ok());
        let by = r.text(at + 1)?;
        let on = parse_time(r.text(at + 2)?).map(china_date);
        Ok((value, Confirmed { by, on }))
    }
}

/// The confirmed facts read per enterprise, in the order they are applied.
const FACTS: [gridwalk_checklist::ConfirmedFact; 5] = gridwalk_checklist::ConfirmedFact::ALL;

/// A ledger with its rows written, waiting to be compressed.
enum Filled {
    Hazards(LedgerWriter<HazardRow>),
    Inspections(LedgerWriter<InspectionRow>),
    Enterprises(LedgerWriter<EnterpriseRow>),
    Tips(LedgerWriter<TipRow>),
    Leases(LedgerWriter<LeaseRow>),
    Coverage(LedgerWriter<CoverageRow>),
}

impl Store {
    /// Writes the ledger `req` asks for to `out` for `actor`: officers and admins only
    /// (`403 forbidden_role`), within their jurisdiction (else `404`, as if the division
    /// did not exist). Constant-memory sheets keep their rows in temp files in
    /// `tempdir` (default: the system's). Returns the row count and file names.
    pub fn export_ledger<W: Write + Seek + Send>(
        &self,
        actor: &Actor,
        req: &ExportRequest,
        tempdir: Option<&Path>,
        out: W,
    ) -> Result<ExportSummary, StoreError> {
        if !actor.may_manage() {
            return Err(problem(
                ProblemCode::ForbiddenRole,
                "ledgers are exported by officers and administrators",
            ));
        }
        if !actor.sees(&req.division) {
            return Err(problem(
                ProblemCode::NotFound,
                format!("no division {} in your jurisdiction", req.division),
            ));
        }
        let review = crate::work::review_filter(req.review.as_deref())?;
        let campaign = match req
            .campaign
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            None => None,
            Some(id) => Some(
                self.campaign(id)?
                    .filter(|c| c.covers(&req.division) || req.division.covers(&c.area_code))
                    .ok_or_else(|| {
                        problem(
                            ProblemCode::NotFound,
                            format!("no campaign {id} for {}", req.division),
                        )
                    })?,
            ),
        };
        let now = Utc::now();
        let today = china_date(now);
        // The progress sheet is of one campaign: the one named, else the one the
        // coverage view shows (active today, else the latest covering the division).
        let campaign = match (req.kind, campaign) {
            (LedgerKind::Coverage, None) => Some(
                self.default_campaign(&req.division, today)?
                    .ok_or_else(|| {
                        problem(
                            ProblemCode::NotFound,
                            format!("no campaign covers {}", req.division),
                        )
                    })?,
            ),
            (_, c) => c,
        };
        // The rows are read in one transaction; the sheet is compressed after it, so the
        // database is not held while the zip is written.
        let dialect = self.dialect();
        let (filled, division_name) = self.tx(|t| {
            let names = Names::load(t, &req.division)?;
            let division_name = names.name(req.division.as_str());
            let meta = LedgerMeta {
                division_name: division_name.clone(),
                division_code: req.division.as_str().to_string(),
                campaign: campaign
                    .as_ref()
                    .map(|c| format!("{}（{}至{}）", c.name_zh, c.starts_on, c.ends_on)),
                exported_at: china_time(now),
            };
            let p = campaign.as_ref().map(period);
            let filled = match req.kind {
                LedgerKind::Hazards => {
                    let mut w =
                        LedgerWriter::<HazardRow>::new(&meta, tempdir).map_err(ledger_err)?;
                    hazards(t, req, &names, p, today, &mut w)?;
                    Filled::Hazards(w)
                }
                LedgerKind::Inspections => {
                    let mut w =
                        LedgerWriter::<InspectionRow>::new(&meta, tempdir).map_err(ledger_err)?;
                    inspections(t, req, review.as_deref(), &names, p, &mut w)?;
                    Filled::Inspections(w)
                }
                LedgerKind::Enterprises => {
                    let mut w =
                        LedgerWriter::<EnterpriseRow>::new(&meta, tempdir).map_err(ledger_err)?;
                    enterprises(t, req, &names, &mut w)?;
                    Filled::Enterprises(w)
                }
                LedgerKind::Tips => {
                    let mut w = LedgerWriter::<TipRow>::new(&meta, tempdir).map_err(ledger_err)?;
                    tips(t, req, &names, p, today, &mut w)?;
                    Filled::Tips(w)
                }
                LedgerKind::Leases => {
                    let mut w =
                        LedgerWriter::<LeaseRow>::new(&meta, tempdir).map_err(ledger_err)?;
                    let ledger = crate::lease_ledger::read_ledger(
                        t,
                        actor,
                        &req.division,
                        &Default::default(),
                        today,
                    )?;
                    for row in crate::lease_ledger::ledger_rows(&ledger) {
                        w.push(&row).map_err(ledger_err)?;
                    }
                    Filled::Leases(w)
                }
                LedgerKind::Coverage => {
                    let mut w =
                        LedgerWriter::<CoverageRow>::new(&meta, tempdir).map_err(ledger_err)?;
                    let c = campaign
                        .as_ref()
                        .ok_or_else(|| StoreError::Corrupt("coverage without a campaign".into()))?;
                    for row in coverage_rows(t, c, &req.division, &division_name, today)? {
                        w.push(&row).map_err(ledger_err)?;
                    }
                    Filled::Coverage(w)
                }
            };
            // Logged once the rows are read (the append lock is not held while they are),
            // in the transaction that read them: no ledger leaves unlogged.
            crate::audit::append(
                t,
                dialect,
                &crate::audit::NewEntry::by(actor, &format!("export.{}", req.kind.as_str()))
                    .target("division", req.division.as_str())
                    .detail(serde_json::json!({
                        "format": "xlsx",
                        "filter": {
                            "division": req.division.as_str(),
                            "campaign": req.campaign,
                            "overdue_only": req.overdue_only,
                            "review": req.review,
                            "dust_involved_only": req.dust_involved_only,
                        },
                    })),
            )?;
            Ok((filled, division_name))
        })?;
        let rows = match filled {
            Filled::Hazards(w) => w.finish_to_writer(out),
            Filled::Inspections(w) => w.finish_to_writer(out),
            Filled::Enterprises(w) => w.finish_to_writer(out),
            Filled::Tips(w) => w.finish_to_writer(out),
            Filled::Leases(w) => w.finish_to_writer(out),
            Filled::Coverage(w) => w.finish_to_writer(out),
        }
        .map_err(ledger_err)?;
        let day = today.format("%Y%m%d");
        Ok(ExportSummary {
            rows,
            file_name: format!("{}-{division_name}-{day}.xlsx", req.kind.title_zh()),
            ascii_file_name: format!("{}-{}-{day}.xlsx", req.kind.as_str(), req.division),
        })
    }
}

fn hazards(
    t: &mut dyn Tx,
    req: &ExportRequest,
    names: &Names,
    p: Option<(NaiveDate, NaiveDate)>,
    today: NaiveDate,
    w: &mut LedgerWriter<HazardRow>,
) -> Result<(), StoreError> {
    t.query_each(
        "SELECT h.id, h.enterprise_uscc, e.name, h.division_code, h.state
         FROM hazard h LEFT JOIN enterprise e ON e.uscc = h.enterprise_uscc
         WHERE h.status IS NOT NULL AND h.division_code LIKE $1
         ORDER BY h.division_code, h.enterprise_uscc, h.found_at, h.id",
        &[format!("{}%", req.division.significant_prefix()).into()],
        &mut |r: Row| {
            let Some(state) = r
                .text(4)?
                .and_then(|s| serde_json::from_str::<HazardState>(&s).ok())
            else {
                tracing::warn!(
                    hazard = r.text(0)?.unwrap_or_default(),
                    "hazard state does not parse; left out of the ledger"
                );
                return Ok(());
            };
            if !within(p, Some(state.found_at)) {
                return Ok(());
            }
            if req.overdue_only && !(state.is_overdue(today)) {
                return Ok(());
            }
            let uscc = r.str(1)?;
            let row = hazard_row(
                &state,
                names.town_village(&r.str(3)?),
                r.text(2)?.unwrap_or_else(|| uscc.clone()),
                uscc,
                today,
            );
            w.push(&row).map_err(ledger_err)
        },
    )
}

/// Template titles by `(id, version)`: the published ones, else the shipped ones.
pub(crate) fn template_titles(
    t: &mut dyn Tx,
) -> Result<HashMap<(String, i64), String>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Titled {
        id: String,
        version: i64,
        title_zh: String,
    }
    let mut out: HashMap<(String, i64), String> = gridwalk_checklist::builtin_templates()
        .into_iter()
        .map(|b| ((b.id.clone(), i64::from(b.version)), b.title_zh.clone()))
        .collect();
    t.query_each(
        "SELECT body FROM change_log WHERE kind = 'template'",
        &[],
        &mut |r: Row| {
            if let Some(tpl) = r
                .text(0)?
                .and_then(|b| serde_json::from_str::<Titled>(&b).ok())
            {
                out.insert((tpl.id, tpl.version), tpl.title_zh);
            }
            Ok(())
        },
    )?;
    Ok(out)
}

fn inspections(
    t: &mut dyn Tx,
    req: &ExportRequest,
    review: Option<&str>,
    names: &Names,
    p: Option<(NaiveDate, NaiveDate)>,
    w: &mut LedgerWriter<InspectionRow>,
) -> Result<(), StoreError> {
    let titles = template_titles(t)?;
    t.query_each(
        "SELECT i.enterprise_uscc, e.name, i.division_code, i.template_id, i.template_version,
                i.inspector, i.role, i.started_at, i.finalized_at, i.received_at,
                i.payload_sha256, i.passed, i.failed, i.pass_rate_bp, i.findings,
                i.photo_count, i.onsite_distance_m, i.off_site, r.state, r.reviewer, r.comment
         FROM inspection i
         LEFT JOIN review r ON r.inspection_id = i.inspection_id
         LEFT JOIN enterprise e ON e.uscc = i.enterprise_uscc
         WHERE i.division_code LIKE $1
           AND ($2 = '' OR ($2 = 'unreviewed' AND r.state IS NULL) OR r.state = $2)
         ORDER BY i.finalized_at, i.record_id",
        &[
            format!("{}%", req.division.significant_prefix()).into(),
            review.unwrap_or("").into(),
        ],
        &mut |r: Row| {
            let finalized = parse_time(r.text(8)?);
            if !within(p, finalized) {
                return Ok(());
            }
            let uscc = r.str(0)?;
            let (town, village) = names.town_village(&r.str(2)?);
            let (template_id, version) = (r.str(3)?, r.int(4)?);
            let title = titles
                .get(&(template_id.clone(), version))
                .cloned()
                .unwrap_or_else(|| template_id.clone());
            let review_state = r.text(18)?;
            let row = InspectionRow {
                town,
                village,
                enterprise_name: r.text(1)?.unwrap_or_else(|| uscc.clone()),
                uscc,
                template: format!("{title}（v{version}）"),
                inspector: r.str(5)?,
                role: role_zh(&r.str(6)?).to_string(),
                started_at: parse_time(r.text(7)?).map(china_time),
                finalized_at: finalized.map(china_time),
                received_at: parse_time(r.text(9)?).map(china_time),
                record_hash: r.str(10)?,
                passed: r.int(11)?,
                failed: r.int(12)?,
                pass_rate: r.opt_int(13)?.map(|bp| bp as f64 / 10_000.0),
                findings: r.int(14)?,
                photos: r.int(15)?,
                distance_m: r.opt_int(16)?,
                on_site: match r.opt_int(17)? {
                    Some(0) => "在现场",
                    Some(_) => "不在现场",
                    None => "无定位",
                }
                .into(),
                review: review_zh(review_state.as_deref()).into(),
                reviewer: r.text(19)?,
                review_comment: r.text(20)?,
            };
            w.push(&row).map_err(ledger_err)
        },
    )
}

fn enterprises(
    t: &mut dyn Tx,
    req: &ExportRequest,
    names: &Names,
    w: &mut LedgerWriter<EnterpriseRow>,
) -> Result<(), StoreError> {
    let joins: String = FACTS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                " LEFT JOIN enterprise_fact f{i} ON f{i}.enterprise_uscc = e.uscc AND f{i}.fact = '{}'",
                f.as_str()
            )
        })
        .collect();
    let cols: String = (0..FACTS.len())
        .map(|i| format!(", f{i}.value, f{i}.confirmed_by, f{i}.confirmed_at"))
        .collect();
    let sql = format!(
        "SELECT e.uscc, e.village_code, e.body{cols},
                (SELECT MAX(i.finalized_at) FROM inspection i WHERE i.enterprise_uscc = e.uscc)
         FROM enterprise e{joins}
         WHERE e.village_code LIKE $1 AND ($2 = 0 OR e.dust_involved = 1)
         ORDER BY e.village_code, e.uscc"
    );
    t.query_each(
        &sql,
        &[
            format!("{}%", req.division.significant_prefix()).into(),
            i64::from(req.dust_involved_only).into(),
        ],
        &mut |r: Row| {
            let uscc = r.str(0)?;
            let Ok(mut e) = serde_json::from_str::<Enterprise>(&r.str(2)?) else {
                tracing::warn!(uscc, "register row does not parse; left out of the ledger");
                return Ok(());
            };
            // Confirmations applied in the order the phones' rows get them.
            let mut who = Vec::with_capacity(FACTS.len());
            for i in 0..FACTS.len() {
                let (value, confirmed) = Confirmed::from_row(&r, 3 + 3 * i)?;
                if let Some(v) = value {
                    v.apply_to(&mut e);
                }
                who.push(confirmed);
            }
            let last = parse_time(r.text(3 + 3 * FACTS.len())?).map(china_date);
            let [survey, dust, officer, report, training] =
                <[Confirmed; 5]>::try_from(who).map_err(|_| StoreError::Corrupt("facts".into()))?;
            let dust = if dust.by.is_some() { dust } else { survey };
            let (town, village) = names.town_village(e.village_code.as_str());
            let officer_seen = e.safety_officer.clone().unwrap_or_default();
            let row = EnterpriseRow {
                town,
                village,
                enterprise_name: e.name.clone(),
                uscc,
                address: e.address.clone(),
                industry: e.industry.clone(),
                dust_involved: e.dust_involved,
                dust_types: e
                    .dust_types
                    .iter()
                    .map(|d| d.name_zh())
                    .collect::<Vec<_>>()
                    .join("、"),
                al_mg: e.al_mg,
                workers_per_shift: e.workers_per_shift.map(i64::from),
                key_supervision: e.key_supervision,
                dust_confirmed_by: dust.by,
                dust_confirmed_on: dust.on,
                safety_officer: e
                    .safety_officer
                    .as_ref()
                    .map(|o| o.name.clone())
                    .filter(|n| !n.is_empty()),
                safety_officer_phone: officer_seen.phone,
                safety_officer_on_site: officer_seen.confirmed_on_site,
                safety_officer_confirmed_by: officer.by,
                safety_officer_confirmed_on: officer.on,
                training: e.warning_education.name_zh().into(),
                training_confirmed_by: training.by,
                training_confirmed_on: training.on,
                risk_report: e.risk_report.name_zh().into(),
                risk_report_confirmed_by: report.by,
                risk_report_confirmed_on: report.on,
                last_inspected_on: last,
            };
            w.push(&row).map_err(ledger_err)
        },
    )
}

/// The tips received in the division (the campaign's days only, when one is named;
/// only the overdue ones with `overdue_only`), oldest first. The rows come from the
/// same columns as the officer's list ([`crate::tips::TIP_COLUMNS`]): there is no
/// reporter among them.
fn tips(
    t: &mut dyn Tx,
    req: &ExportRequest,
    names: &Names,
    p: Option<(NaiveDate, NaiveDate)>,
    today: NaiveDate,
    w: &mut LedgerWriter<TipRow>,
) -> Result<(), StoreError> {
    t.query_each(
        &format!(
            "SELECT {} {} WHERE t.division_code LIKE $1 ORDER BY t.received_on, t.id",
            crate::tips::TIP_COLUMNS,
            crate::tips::TIP_FROM
        ),
        &[format!("{}%", req.division.significant_prefix()).into()],
        &mut |r: Row| {
            let tip = crate::tips::tip_of(&r, today)?;
            if p.is_some_and(|(from, to)| !(from..=to).contains(&tip.received_on)) {
                return Ok(());
            }
            if req.overdue_only && !tip.overdue {
                return Ok(());
            }
            let (town, village) = names.town_village(&tip.division_code);
            let row = TipRow {
                town,
                village,
                source: tip.source.name_zh().into(),
                received_on: Some(tip.received_on),
                content: tip.content,
                enterprise_name: tip.enterprise_name,
                uscc: tip.enterprise_uscc,
                address: tip.address,
                recorded_by: tip.recorded_by,
                assignee: tip.assignee,
                deadline: Some(tip.deadline),
                // An unassigned tip before the sweep says so (疑似单位待核实).
                status: match (&tip.suspected, tip.status) {
                    (Some(s), crate::tips::TipStatus::Unassigned) if s.state == "open" => {
                        "疑似单位待核实".into()
                    }
                    _ => tip.status.name_zh().into(),
                },
                outcome: tip.outcome.map(|o| o.name_zh().to_string()),
                verified_on: parse_time(tip.verified_at).map(china_date),
                finding: tip.finding,
                overdue: tip.overdue,
                reward: tip.reward_decision.map(|d| d.name_zh().to_string()),
                reward_yuan: tip.reward_yuan,
                reward_note: tip.reward_note,
            };
            w.push(&row).map_err(ledger_err)
        },
    )
}

/// `Content-Disposition: attachment` with an ASCII `filename` for old clients and the
/// Chinese name as RFC 5987 `filename*` (UTF-8, percent-encoded).
pub fn content_disposition(ascii: &str, name: &str) -> String {
    let ascii: String = ascii
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
        if keep {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The content type of an xlsx file.
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The progress sheet's lines: per duty, the whole division (合计), then each child.
fn coverage_rows(
    t: &mut dyn Tx,
    campaign: &Campaign,
    division: &DivisionCode,
    division_name: &str,
    today: NaiveDate,
) -> Result<Vec<CoverageRow>, StoreError> {
    let date = |d: &Option<String>| d.as_deref().and_then(|d| d.parse::<NaiveDate>().ok());
    let mut rows = Vec::new();
    for duty in crate::coverage::duties_in(t, campaign, division, today)? {
        let line =
            |area: String, code: String, deadline, c: &crate::coverage::Counts| CoverageRow {
                duty_no: i64::from(duty.no),
                duty_title: duty.title_zh.clone(),
                deadline,
                area,
                area_code: code,
                applicable: c.applicable as i64,
                done: c.done as i64,
                not_done: c.not_done as i64,
                overdue: c.overdue as i64,
            };
        rows.push(line(
            format!("{division_name}（合计）"),
            division.as_str().to_string(),
            date(&duty.deadline),
            &duty.counts,
        ));
        for child in &duty.children {
            rows.push(line(
                child.name.clone().unwrap_or_else(|| child.code.clone()),
                child.code.clone(),
                date(&child.deadline),
                &child.counts,
            ));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_is_sent_in_ascii_and_as_rfc_5987_utf8() {
        assert_eq!(
            content_disposition("hazards-320413100000-20261207.xlsx", "隐患-金城镇.xlsx"),
            "attachment; filename=\"hazards-320413100000-20261207.xlsx\"; \
             filename*=UTF-8''%E9%9A%90%E6%82%A3-%E9%87%91%E5%9F%8E%E9%95%87.xlsx"
        );
        assert_eq!(
            content_disposition("a \"b\".xlsx", "a b"),
            "attachment; filename=\"a__b_.xlsx\"; filename*=UTF-8''a%20b"
        );
    }

    #[test]
    fn a_town_code_is_the_villages_first_nine_digits() {
        assert_eq!(town_code("320413100201"), "320413100000");
        assert_eq!(town_code("320413100201001"), "320413100000");
    }
}
