//! Tip-offs (举报核查, docs/tips.md): an officer records a tip (12350 hotline, an
//! internal whistle-blower, other); it becomes a verification assignment (template
//! `tip-verification`) for a grid worker or expert of the enterprise's village or town,
//! due on the tip's deadline; the inspection that fulfils the assignment gives the
//! outcome (属实 / 部分属实 / 不属实), projected like every other fulfilment so
//! `projections rebuild` derives it again; the officer then records the reward decision.
//!
//! The reporter's identity lives apart (`tip_reporter`) and is read only by
//! [`Store::tip_reporter`]: by an administrator of the tip's jurisdiction or the officer
//! who recorded it, each read logged. Nothing else here selects it: not the list, the
//! detail, the summary, the ledger, the assignment's note, nor any pull.

use crate::db::{Row, Tx};
use crate::error::StoreError;
use crate::store::{now, problem, ts, Store};
use crate::work::{assign_in, Actor, AssignRequest, AssignmentChange, Targets};
use chrono::NaiveDate;
use gridwalk_checklist::{AnswerValue, FinalizedInspection};
use gridwalk_core::{Assignment, AssignmentStatus, DivisionCode, DivisionLevel};
use gridwalk_protocol::{ProblemCode, Role, MAX_LABEL_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The template a tip's verification runs on the phone.
pub const TIP_TEMPLATE: &str = "tip-verification";
/// The item whose choice is the outcome.
pub const OUTCOME_ITEM: &str = "TV-01";
/// The item that says what was found.
pub const FINDING_ITEM: &str = "TV-02";
/// The most characters of a tip's content the assignment's note carries to the phone.
pub const NOTE_CONTENT_CHARS: usize = 400;

/// Where a tip came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum TipSource {
    /// The 12350 safety-production hotline.
    #[serde(rename = "hotline_12350")]
    Hotline12350,
    /// An internal whistle-blower (a worker of the enterprise).
    #[serde(rename = "internal")]
    Internal,
    /// Anything else (a letter, a visit, another office).
    #[serde(rename = "other")]
    Other,
}

impl TipSource {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            TipSource::Hotline12350 => "hotline_12350",
            TipSource::Internal => "internal",
            TipSource::Other => "other",
        }
    }

    /// The stored word read back.
    pub fn parse(s: &str) -> Option<TipSource> {
        [
            TipSource::Hotline12350,
            TipSource::Internal,
            TipSource::Other,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// The ledger's word.
    pub fn name_zh(self) -> &'static str {
        match self {
            TipSource::Hotline12350 => "12350热线",
            TipSource::Internal => "内部吹哨人",
            TipSource::Other => "其他",
        }
    }
}

/// What the verification found (the `TV-01` answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TipOutcome {
    /// 属实.
    Substantiated,
    /// 部分属实.
    PartlySubstantiated,
    /// 不属实.
    Unsubstantiated,
}

impl TipOutcome {
    /// The stored word (the choice value of `TV-01`).
    pub fn as_str(self) -> &'static str {
        match self {
            TipOutcome::Substantiated => "substantiated",
            TipOutcome::PartlySubstantiated => "partly_substantiated",
            TipOutcome::Unsubstantiated => "unsubstantiated",
        }
    }

    /// The stored word read back.
    pub fn parse(s: &str) -> Option<TipOutcome> {
        [
            TipOutcome::Substantiated,
            TipOutcome::PartlySubstantiated,
            TipOutcome::Unsubstantiated,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// 属实 / 部分属实 / 不属实.
    pub fn name_zh(self) -> &'static str {
        match self {
            TipOutcome::Substantiated => "属实",
            TipOutcome::PartlySubstantiated => "部分属实",
            TipOutcome::Unsubstantiated => "不属实",
        }
    }
}

/// Where a tip stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TipStatus {
    /// Names no registered enterprise: recorded, no verification assigned.
    Unassigned,
    /// The verification is assigned and not done.
    Verifying,
    /// The verification inspection gave its outcome.
    Verified,
    /// The verification assignment was cancelled.
    Cancelled,
}

impl TipStatus {
    /// The word of the API and the URL.
    pub fn as_str(self) -> &'static str {
        match self {
            TipStatus::Unassigned => "unassigned",
            TipStatus::Verifying => "verifying",
            TipStatus::Verified => "verified",
            TipStatus::Cancelled => "cancelled",
        }
    }

    /// The word read back.
    pub fn parse(s: &str) -> Option<TipStatus> {
        [
            TipStatus::Unassigned,
            TipStatus::Verifying,
            TipStatus::Verified,
            TipStatus::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// The ledger's word.
    pub fn name_zh(self) -> &'static str {
        match self {
            TipStatus::Unassigned => "待指派",
            TipStatus::Verifying => "核查中",
            TipStatus::Verified => "已核查",
            TipStatus::Cancelled => "已撤销",
        }
    }
}

/// The officer's reward decision (举报奖励).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RewardDecision {
    /// A reward is granted (an amount in yuan may be given).
    Granted,
    /// Refused (e.g. the tip was not substantiated).
    Refused,
    /// No reward applies (e.g. the reporter asked for none, or is anonymous).
    None,
}

impl RewardDecision {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            RewardDecision::Granted => "granted",
            RewardDecision::Refused => "refused",
            RewardDecision::None => "none",
        }
    }

    /// The stored word read back.
    pub fn parse(s: &str) -> Option<RewardDecision> {
        [
            RewardDecision::Granted,
            RewardDecision::Refused,
            RewardDecision::None,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// The ledger's word.
    pub fn name_zh(self) -> &'static str {
        match self {
            RewardDecision::Granted => "给予奖励",
            RewardDecision::Refused => "不予奖励",
            RewardDecision::None => "不适用",
        }
    }
}

/// `POST /v1/tips`: a tip as the officer records it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TipRequest {
    pub source: TipSource,
    /// What the reporter said (举报内容).
    pub content: String,
    /// The enterprise named, if it is registered (its USCC).
    #[serde(default)]
    pub enterprise_uscc: Option<String>,
    /// The address named (required when no registered enterprise is named).
    #[serde(default)]
    pub address: Option<String>,
    /// The village or town the tip belongs to when it names no registered enterprise
    /// (else the enterprise's village). A village puts the tip before the sweep: a 疑似
    /// (suspected) entry its grid workers' phones pull.
    #[serde(default)]
    pub division: Option<String>,
    /// The unit's name as reported, when it names no registered enterprise.
    #[serde(default)]
    pub reported_name: Option<String>,
    /// `YYYY-MM-DD`: the day the tip was received (not in the future).
    #[schema(value_type = String)]
    pub received_on: NaiveDate,
    /// `YYYY-MM-DD`: the verification's deadline (today or later).
    #[schema(value_type = String)]
    pub deadline: NaiveDate,
    /// The grid worker or expert who verifies it (with a named enterprise).
    #[serde(default)]
    pub assignee: Option<String>,
    /// The reporter's name (kept apart; see docs/tips.md).
    #[serde(default)]
    pub reporter_name: Option<String>,
    /// The reporter's phone or other contact (kept apart).
    #[serde(default)]
    pub reporter_contact: Option<String>,
}

impl std::fmt::Debug for TipRequest {
    /// The reporter is never written to a log, even by a stray `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TipRequest")
            .field("source", &self.source)
            .field("enterprise_uscc", &self.enterprise_uscc)
            .field("division", &self.division)
            .field("received_on", &self.received_on)
            .field("deadline", &self.deadline)
            .field("assignee", &self.assignee)
            .finish_non_exhaustive()
    }
}

/// A tip as officers of its jurisdiction see it (never the reporter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tip {
    pub id: Uuid,
    /// The village (or town) it belongs to.
    pub division_code: String,
    pub source: TipSource,
    pub content: String,
    pub enterprise_uscc: Option<String>,
    pub enterprise_name: Option<String>,
    pub address: Option<String>,
    #[schema(value_type = String)]
    pub received_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: String,
    #[schema(value_type = String)]
    pub deadline: NaiveDate,
    pub status: TipStatus,
    /// Not verified after its deadline (China date).
    pub overdue: bool,
    pub assignment_id: Option<Uuid>,
    pub assignee: Option<String>,
    pub outcome: Option<TipOutcome>,
    /// The inspection that verified it.
    pub verified_by: Option<Uuid>,
    /// When that inspection was finalized.
    pub verified_at: Option<String>,
    /// What it found (the `TV-02` answer).
    pub finding: Option<String>,
    pub reward_decision: Option<RewardDecision>,
    pub reward_yuan: Option<i64>,
    pub reward_note: Option<String>,
    pub reward_by: Option<String>,
    pub reward_at: Option<String>,
    /// The 疑似 (suspected) entry the sweep sees, for a tip naming no registered
    /// enterprise (docs/tips.md).
    pub suspected: Option<crate::suspected::SuspectedView>,
    /// The caller may read the reporter ([`Store::tip_reporter`]) and one was recorded.
    pub reporter_visible: bool,
}

/// `POST /v1/tips/{id}/enterprise`: the registered enterprise an address-only tip turned
/// out to be, and who verifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TipEnterpriseRequest {
    pub enterprise_uscc: String,
    pub assignee: String,
    /// A new deadline (`YYYY-MM-DD`, today or later); default the tip's, if it has not
    /// passed.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub deadline: Option<NaiveDate>,
}

/// `POST /v1/tips/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RewardRequest {
    pub decision: RewardDecision,
    /// Yuan, with `granted` only.
    #[serde(default)]
    pub amount_yuan: Option<u64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The reporter of a tip, for the one role that must see it.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reporter {
    pub tip_id: Uuid,
    pub name: Option<String>,
    pub contact: Option<String>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("tip_id", &self.tip_id)
            .finish_non_exhaustive()
    }
}

/// Tip counts of a division or one of its children.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TipCounts {
    /// Every tip recorded.
    pub received: u64,
    /// Verified (an outcome).
    pub verified: u64,
    /// Of the verified, 属实 or 部分属实.
    pub substantiated: u64,
    /// Neither verified nor cancelled.
    pub pending: u64,
    /// Pending after the deadline.
    pub overdue: u64,
}

/// One child division's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TipChild {
    pub code: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub counts: TipCounts,
}

/// `GET /v1/tips/summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TipSummary {
    pub division: String,
    #[serde(flatten)]
    pub counts: TipCounts,
    pub children: Vec<TipChild>,
}

fn invalid(detail: impl Into<String>) -> StoreError {
    problem(ProblemCode::InvalidRequest, detail)
}

fn not_found(what: impl std::fmt::Display) -> StoreError {
    problem(
        ProblemCode::NotFound,
        format!("no {what} in your jurisdiction"),
    )
}

fn may_manage(actor: &Actor, what: &str) -> Result<(), StoreError> {
    if matches!(actor.role, Role::Officer | Role::Admin) {
        Ok(())
    } else {
        Err(problem(
            ProblemCode::ForbiddenRole,
            format!("a {} does not {what}", actor.role.as_str()),
        ))
    }
}

fn china_today() -> NaiveDate {
    gridwalk_checklist::hazard::china_date(chrono::Utc::now())
}

/// Trimmed, `None` when empty; refused when longer than `max` characters.
fn opt_text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>, StoreError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n = v.chars().count();
    if n > max {
        return Err(invalid(format!(
            "{field} has {n} characters; at most {max} are kept"
        )));
    }
    Ok(Some(v.to_string()))
}

/// The columns [`tip_of`] reads, from `tip t` joined with its enterprise and assignment
/// ([`TIP_FROM`]). No reporter column: it lives in `tip_reporter`.
pub(crate) const TIP_COLUMNS: &str =
    "t.id, t.division_code, t.source, t.content, t.enterprise_uscc, e.name,
    t.address, t.received_on, t.recorded_by, t.recorded_at, t.deadline, t.assignment_id,
    a.assignee, a.status, t.outcome, t.verified_by, t.verified_at, t.finding,
    t.reward_decision, t.reward_yuan, t.reward_note, t.reward_by, t.reward_at,
    s.id, s.state, s.reported_name, s.address, s.village_code,
    s.confirmed_by, s.confirmed_at, s.uscc, s.note, s.record_id";
pub(crate) const TIP_FROM: &str = "FROM tip t LEFT JOIN enterprise e ON e.uscc = t.enterprise_uscc
    LEFT JOIN assignment a ON a.id = t.assignment_id
    LEFT JOIN suspected_enterprise s ON s.tip_id = t.id";

fn date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn opt_uuid(v: Option<String>) -> Result<Option<Uuid>, StoreError> {
    v.map(|s| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// A tip row (the columns of [`TIP_COLUMNS`]), judged on China's `today`.
/// What `tip.link` logs of a tip before and after.
fn tip_link_state(t: &Tip) -> serde_json::Value {
    serde_json::json!({
        "status": t.status,
        "enterprise_uscc": t.enterprise_uscc,
        "division_code": t.division_code,
        "assignment_id": t.assignment_id,
        "assignee": t.assignee,
        "deadline": t.deadline,
    })
}

/// What `tip.decision` logs of a tip before and after.
fn tip_reward_state(t: &Tip) -> serde_json::Value {
    serde_json::json!({
        "reward_decision": t.reward_decision,
        "reward_yuan": t.reward_yuan,
        "reward_note": t.reward_note,
        "reward_by": t.reward_by,
        "reward_at": t.reward_at,
    })
}

pub(crate) fn tip_of(r: &Row, today: NaiveDate) -> Result<Tip, StoreError> {
    let source =
        TipSource::parse(&r.str(2)?).ok_or_else(|| StoreError::Corrupt("tip source".into()))?;
    let assignment_id = opt_uuid(r.text(11)?)?;
    let assignment_status = r.text(13)?.and_then(|s| AssignmentStatus::parse(&s));
    let outcome = r.text(14)?.and_then(|s| TipOutcome::parse(&s));
    let status = match (outcome, assignment_id, assignment_status) {
        (Some(_), _, _) => TipStatus::Verified,
        (None, None, _) => TipStatus::Unassigned,
        (None, Some(_), Some(AssignmentStatus::Cancelled)) => TipStatus::Cancelled,
        (None, Some(_), _) => TipStatus::Verifying,
    };
    let deadline = date(&r.str(10)?)?;
    // A reward decision stands on the verification it was made after: one that a review
    // voided (no outcome now), or a later verification replaced (decided before it), or
    // a grant for a tip found 不属实 is no decision, and waits to be made again.
    let verified_at = r.text(16)?;
    let reward_at = r.text(22)?;
    let decision = r.text(18)?.and_then(|s| RewardDecision::parse(&s));
    let stale = match (&outcome, &reward_at, &verified_at) {
        (None, Some(_), _) => true,
        (Some(_), Some(decided), Some(verified)) => decided < verified,
        _ => false,
    } || (outcome == Some(TipOutcome::Unsubstantiated)
        && decision == Some(RewardDecision::Granted));
    Ok(Tip {
        id: Uuid::parse_str(&r.str(0)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        division_code: r.str(1)?,
        source,
        content: r.str(3)?,
        enterprise_uscc: r.text(4)?,
        enterprise_name: r.text(5)?,
        address: r.text(6)?,
        received_on: date(&r.str(7)?)?,
        recorded_by: r.str(8)?,
        recorded_at: r.str(9)?,
        deadline,
        // Not verified by the deadline, whatever became of its assignment.
        overdue: status != TipStatus::Verified && today > deadline,
        status,
        assignment_id,
        assignee: r.text(12)?,
        outcome,
        verified_by: opt_uuid(r.text(15)?)?,
        verified_at,
        finding: r.text(17)?,
        reward_decision: if stale { None } else { decision },
        reward_yuan: if stale { None } else { r.opt_int(19)? },
        reward_note: if stale { None } else { r.text(20)? },
        reward_by: if stale { None } else { r.text(21)? },
        reward_at: if stale { None } else { reward_at },
        suspected: crate::suspected::view_of(r, 23)?,
        reporter_visible: false,
    })
}

/// True if `actor` may read the reporter of a tip `recorded_by` recorded: an
/// administrator (of a jurisdiction holding the tip) or the officer who recorded it.
fn may_read_reporter(actor: &Actor, recorded_by: &str) -> bool {
    actor.role == Role::Admin || (actor.role == Role::Officer && actor.user_name == recorded_by)
}

fn has_reporter(t: &mut dyn Tx, id: &str) -> Result<bool, StoreError> {
    Ok(t.query_opt(
        "SELECT 1 FROM tip_reporter WHERE tip_id = $1
               AND (coalesce(name, '') <> '' OR coalesce(contact, '') <> '')",
        &[id.into()],
    )?
    .is_some())
}

/// One tip inside the actor's jurisdiction (else 404).
fn load_tip(t: &mut dyn Tx, actor: &Actor, id: Uuid) -> Result<Tip, StoreError> {
    let row = t
        .query_opt(
            &format!("SELECT {TIP_COLUMNS} {TIP_FROM} WHERE t.id = $1"),
            &[id.to_string().into()],
        )?
        .ok_or_else(|| not_found(format_args!("tip {id}")))?;
    let mut tip = tip_of(&row, china_today())?;
    if !actor.sees_code(&tip.division_code)? {
        return Err(not_found(format_args!("tip {id}")));
    }
    tip.reporter_visible =
        may_read_reporter(actor, &tip.recorded_by) && has_reporter(t, &id.to_string())?;
    Ok(tip)
}

/// The note the verification assignment carries to the phone: the source and the
/// content (cut to [`NOTE_CONTENT_CHARS`]); never the reporter.
pub fn assignment_note(source: TipSource, content: &str, address: Option<&str>) -> String {
    let mut cut: String = content.chars().take(NOTE_CONTENT_CHARS).collect();
    if content.chars().count() > NOTE_CONTENT_CHARS {
        cut.push('…');
    }
    match address {
        Some(a) => format!("举报核查（{}）：{cut}（地址：{a}）", source.name_zh()),
        None => format!("举报核查（{}）：{cut}", source.name_zh()),
    }
}

/// Follows an assignment's new state into the tip it verifies (if any): fulfilled by
/// an inspection, the tip takes that inspection's outcome (`TV-01`) and finding
/// (`TV-02`); open again or cancelled, it has none. Called wherever an assignment is
/// projected, so `projections rebuild` derives the same outcomes.
pub(crate) fn follow_assignment(t: &mut dyn Tx, a: &Assignment) -> Result<(), StoreError> {
    if a.template_id != TIP_TEMPLATE {
        return Ok(());
    }
    let id = a.id.to_string();
    if t.query_opt(
        "SELECT 1 FROM tip WHERE assignment_id = $1",
        &[id.clone().into()],
    )?
    .is_none()
    {
        return Ok(());
    }
    let verified = match (a.status, a.fulfilled_by) {
        (AssignmentStatus::Fulfilled, Some(inspection)) => t
            .query_opt(
                "SELECT r.payload FROM inspection i JOIN record r ON r.id = i.record_id
                 WHERE i.inspection_id = $1 ORDER BY i.received_at DESC",
                &[inspection.to_string().into()],
            )?
            .and_then(|row| row.text(0).ok().flatten())
            .and_then(|p| serde_json::from_str::<FinalizedInspection>(&p).ok())
            .and_then(|p| {
                let outcome = match p.answers.get(OUTCOME_ITEM).map(|a| &a.value) {
                    Some(AnswerValue::Choice(v)) => v.first().and_then(|c| TipOutcome::parse(c)),
                    _ => None,
                };
                let finding = match p.answers.get(FINDING_ITEM).map(|a| &a.value) {
                    Some(AnswerValue::Text(s)) => Some(s.clone()),
                    _ => None,
                };
                if outcome.is_none() {
                    tracing::warn!(assignment = %a.id, inspection = %inspection, "verification has no outcome answer");
                }
                outcome.map(|o| (o, inspection, ts(p.finalized_at), finding))
            }),
        _ => None,
    };
    match verified {
        Some((outcome, inspection, at, finding)) => t.exec(
            "UPDATE tip SET outcome = $2, verified_by = $3, verified_at = $4, finding = $5
             WHERE assignment_id = $1",
            &[
                id.into(),
                outcome.as_str().into(),
                inspection.to_string().into(),
                at.into(),
                finding.into(),
            ],
        )?,
        None => t.exec(
            "UPDATE tip SET outcome = NULL, verified_by = NULL, verified_at = NULL, finding = NULL
             WHERE assignment_id = $1",
            &[id.into()],
        )?,
    };
    Ok(())
}

/// The projected columns a rebuild empties (and derives again from the assignments).
pub(crate) const RESET_OUTCOMES: &str =
    "UPDATE tip SET outcome = NULL, verified_by = NULL, verified_at = NULL, finding = NULL";

/// Assigns the verification of a tip on the enterprise `uscc` to `assignee`, due on
/// `deadline`, through the assignment machinery (its checks apply: the enterprise in the
/// actor's jurisdiction, the assignee a grid worker or expert holding it). Returns the
/// enterprise's village and the assignment's id; when the assignee already verifies
/// another tip on the enterprise, that assignment (one visit answers both).
fn assign_verification(
    t: &mut dyn Tx,
    pg: bool,
    actor: &Actor,
    uscc: &str,
    assignee: Option<&str>,
    deadline: NaiveDate,
    note: &str,
) -> Result<(String, String), StoreError> {
    let assignee = assignee
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("name the grid worker or expert who verifies the tip"))?;
    let out = assign_in(
        t,
        pg,
        actor,
        &AssignRequest {
            assignee: assignee.to_string(),
            template_id: TIP_TEMPLATE.into(),
            due: deadline,
            note: Some(note.to_string()),
            targets: Targets::Enterprises(vec![uscc.to_string()]),
        },
    )?;
    if let Some(a) = out.created.first() {
        return Ok((a.division_code.clone(), a.id.to_string()));
    }
    let open = t
        .query_opt(
            "SELECT id, division_code FROM assignment WHERE enterprise_uscc = $1
               AND assignee = $2 AND template_id = $3 AND status = 'open'",
            &[uscc.into(), assignee.into(), TIP_TEMPLATE.into()],
        )?
        .ok_or_else(|| StoreError::Corrupt("open assignment vanished".into()))?;
    let (division, id) = (open.str(1)?, open.str(0)?);
    // One visit answers both tips: the phone gets this tip's content too, and the
    // earlier of the two deadlines.
    let assignment_id =
        Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(format!("assignment id: {e}")))?;
    crate::work::assignment_event_in(t, pg, actor, assignment_id, &mut |_, a| {
        Ok(AssignmentChange::Reassigned {
            assignee: a.assignee.clone(),
            due: Some(a.due.min(deadline)),
            note: Some(joined_note(a.note.as_deref(), note)),
        })
    })?;
    Ok((division, id))
}

/// The note of a verification that answers one more tip: the notes before it, then
/// this tip's, cut to the note limit (the earliest tips keep their full text).
fn joined_note(before: Option<&str>, this: &str) -> String {
    let joined = match before.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => format!("{b}\n——\n{this}"),
        None => this.to_string(),
    };
    if joined.chars().count() <= MAX_NOTE_CHARS {
        return joined;
    }
    let mut cut: String = joined
        .chars()
        .take(MAX_NOTE_CHARS.saturating_sub(1))
        .collect();
    cut.push('…');
    cut
}

/// Links an unassigned (or cancelled) tip to the registered enterprise `uscc` and
/// assigns its verification to `assignee` (`POST /v1/tips/{id}/enterprise`, and a 疑似
/// unit a grid worker confirmed). The deadline is `deadline`, else the tip's; a passed
/// one is refused (`by_sweep`: replaced by today, so the confirming grid worker gets
/// the verification due now). The tip moves to the enterprise's village.
#[allow(clippy::too_many_arguments)]
pub(crate) fn link_in(
    t: &mut dyn Tx,
    pg: bool,
    actor: &Actor,
    id: Uuid,
    uscc: &str,
    assignee: &str,
    deadline: Option<NaiveDate>,
    by_sweep: bool,
) -> Result<Tip, StoreError> {
    let dialect = if pg {
        crate::db::Dialect::Postgres
    } else {
        crate::db::Dialect::Sqlite
    };
    let tip = load_tip(t, actor, id)?;
    if !matches!(tip.status, TipStatus::Unassigned | TipStatus::Cancelled) {
        return Err(problem(
            ProblemCode::HazardTransition,
            format!("tip {id} is {} already", tip.status.as_str()),
        ));
    }
    let mut deadline = deadline.unwrap_or(tip.deadline);
    if by_sweep {
        deadline = deadline.max(china_today());
    }
    if deadline < china_today() {
        return Err(invalid(format!(
            "the deadline {deadline} has passed: give a new one"
        )));
    }
    let (division, assignment) = assign_verification(
        t,
        pg,
        actor,
        uscc,
        Some(assignee),
        deadline,
        &assignment_note(tip.source, &tip.content, tip.address.as_deref()),
    )?;
    let uscc = t
        .query_opt(
            "SELECT enterprise_uscc FROM assignment WHERE id = $1",
            &[assignment.clone().into()],
        )?
        .ok_or_else(|| StoreError::Corrupt("assignment vanished".into()))?
        .str(0)?;
    t.exec(
        "UPDATE tip SET enterprise_uscc = $2, division_code = $3, assignment_id = $4,
             deadline = $5 WHERE id = $1",
        &[
            id.to_string().into(),
            uscc.into(),
            division.into(),
            assignment.into(),
            deadline.to_string().into(),
        ],
    )?;
    crate::suspected::publish_of_tip(t, pg, &id.to_string())?;
    let after = load_tip(t, actor, id)?;
    crate::audit::append(
        t,
        dialect,
        &crate::audit::NewEntry::by(actor, "tip.link")
            .target("tip", id)
            .detail(serde_json::json!({
                "before": tip_link_state(&tip),
                "after": tip_link_state(&after),
                "by_sweep": by_sweep,
            })),
    )?;
    Ok(after)
}

impl Store {
    /// Records a tip. With a registered enterprise and an assignee, its verification is
    /// assigned (template `tip-verification`, due on the deadline) in the same
    /// transaction; the reporter is stored apart. Officers and administrators only.
    pub fn record_tip(&self, actor: &Actor, req: &TipRequest) -> Result<Tip, StoreError> {
        may_manage(actor, "record tips")?;
        let content = opt_text("content", Some(&req.content), MAX_NOTE_CHARS)?
            .ok_or_else(|| invalid("content is empty: say what was reported"))?;
        let address = opt_text("address", req.address.as_deref(), MAX_LABEL_CHARS)?;
        let name = opt_text(
            "reporter_name",
            req.reporter_name.as_deref(),
            MAX_NAME_CHARS,
        )?;
        let contact = opt_text(
            "reporter_contact",
            req.reporter_contact.as_deref(),
            MAX_LABEL_CHARS,
        )?;
        let reported_name = opt_text(
            "reported_name",
            req.reported_name.as_deref(),
            MAX_NAME_CHARS,
        )?;
        // As people type it: spaces and dashes dropped, upper case.
        let typed = req
            .enterprise_uscc
            .as_deref()
            .map(gridwalk_core::uscc::compact);
        let uscc = opt_text("enterprise_uscc", typed.as_deref(), 18)?;
        let today = china_today();
        if req.received_on > today {
            return Err(invalid(format!(
                "received_on {} is in the future",
                req.received_on
            )));
        }
        if req.deadline < today {
            return Err(invalid(format!("the deadline {} has passed", req.deadline)));
        }
        let pg = self.dialect() == crate::db::Dialect::Postgres;
        let dialect = self.dialect();
        let id = Uuid::now_v7();
        self.tx(|t| {
            let (division, assignment) = match &uscc {
                Some(u) => {
                    let (division, assignment) = assign_verification(
                        t,
                        pg,
                        actor,
                        u,
                        req.assignee.as_deref(),
                        req.deadline,
                        &assignment_note(req.source, &content, address.as_deref()),
                    )?;
                    (division, Some(assignment))
                }
                None => {
                    if address.is_none() {
                        return Err(invalid(
                            "name a registered enterprise (enterprise_uscc) or an address",
                        ));
                    }
                    if req.assignee.as_deref().is_some_and(|a| !a.trim().is_empty()) {
                        return Err(invalid(
                            "a verification is assigned on a registered enterprise; this tip names none (docs/tips.md)",
                        ));
                    }
                    let d = req
                        .division
                        .as_deref()
                        .ok_or_else(|| invalid("name the village or town the address lies in"))
                        .and_then(|d| {
                            DivisionCode::parse(d).map_err(|e| invalid(e.to_string()))
                        })?;
                    if !matches!(d.level(), DivisionLevel::Village | DivisionLevel::Town) {
                        return Err(invalid(format!(
                            "a tip belongs to a village or town; {d} is a {}",
                            d.level().as_str()
                        )));
                    }
                    if !actor.sees(&d) {
                        return Err(not_found(format_args!("division {d}")));
                    }
                    (d.as_str().to_string(), None)
                }
            };
            let (tip_division, assignment_of_tip) = (division.clone(), assignment.clone());
            t.exec(
                "INSERT INTO tip (id, division_code, source, content, enterprise_uscc, address,
                     received_on, recorded_by, recorded_at, deadline, assignment_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    id.to_string().into(),
                    division.into(),
                    req.source.as_str().into(),
                    content.clone().into(),
                    uscc.clone().into(),
                    address.clone().into(),
                    req.received_on.to_string().into(),
                    actor.user_name.clone().into(),
                    ts(now()).into(),
                    req.deadline.to_string().into(),
                    assignment.into(),
                ],
            )?;
            // An address in a village goes before the sweep at once.
            if let (None, Some(a)) = (&assignment_of_tip, &address) {
                if let Ok(village) = crate::suspected::village_for(actor, &tip_division, None) {
                    crate::suspected::create_in(
                        t,
                        pg,
                        actor,
                        id,
                        &village,
                        reported_name.as_deref(),
                        a,
                    )?;
                }
            }
            if name.is_some() || contact.is_some() {
                t.exec(
                    "INSERT INTO tip_reporter (tip_id, name, contact) VALUES ($1, $2, $3)",
                    &[
                        id.to_string().into(),
                        name.clone().into(),
                        contact.clone().into(),
                    ],
                )?;
            }
            let tip = load_tip(t, actor, id)?;
            // Never the reporter's identity: only whether one was given.
            crate::audit::append(
                t,
                dialect,
                &crate::audit::NewEntry::by(actor, "tip.create")
                    .target("tip", id)
                    .detail(serde_json::json!({
                        "division_code": tip.division_code,
                        "source": tip.source,
                        "enterprise_uscc": tip.enterprise_uscc,
                        "address": tip.address,
                        "received_on": tip.received_on,
                        "deadline": tip.deadline,
                        "assignment_id": tip.assignment_id,
                        "assignee": tip.assignee,
                        "reporter_given": name.is_some() || contact.is_some(),
                    })),
            )?;
            Ok(tip)
        })
    }

    /// Links a tip that named no registered enterprise to the one the sweep registered
    /// (by its real USCC) and assigns its verification, as [`Store::record_tip`] does.
    /// Also assigns again a tip whose verification was cancelled (the assignee left).
    /// Only an unassigned or cancelled tip (409 otherwise); the tip moves to the
    /// enterprise's village and takes the new deadline, if one is given.
    pub fn link_tip_enterprise(
        &self,
        actor: &Actor,
        id: Uuid,
        req: &TipEnterpriseRequest,
    ) -> Result<Tip, StoreError> {
        may_manage(actor, "assign tip verifications")?;
        let pg = self.dialect() == crate::db::Dialect::Postgres;
        self.tx(|t| {
            link_in(
                t,
                pg,
                actor,
                id,
                &gridwalk_core::uscc::compact(&req.enterprise_uscc),
                &req.assignee,
                req.deadline,
                false,
            )
        })
    }

    /// Puts an unassigned tip before the sweep: a 疑似 (suspected) entry in `village`
    /// (default the tip's, if a village) that the phones of the village pull and a grid
    /// worker confirms or finds absent (docs/tips.md). Only an unassigned tip without
    /// an entry (`409` otherwise).
    pub fn tip_suspected(
        &self,
        actor: &Actor,
        id: Uuid,
        req: &crate::suspected::SuspectedRequest,
    ) -> Result<Tip, StoreError> {
        may_manage(actor, "put tips before the sweep")?;
        let name = opt_text(
            "reported_name",
            req.reported_name.as_deref(),
            MAX_NAME_CHARS,
        )?;
        let pg = self.dialect() == crate::db::Dialect::Postgres;
        let dialect = self.dialect();
        self.tx(|t| {
            let tip = load_tip(t, actor, id)?;
            if tip.status != TipStatus::Unassigned || tip.suspected.is_some() {
                return Err(problem(
                    ProblemCode::HazardTransition,
                    format!(
                        "tip {id} is {}{}",
                        tip.status.as_str(),
                        if tip.suspected.is_some() {
                            " and before the sweep already"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            let village =
                crate::suspected::village_for(actor, &tip.division_code, req.village.as_deref())?;
            let address = tip
                .address
                .clone()
                .ok_or_else(|| invalid("the tip names no address to look at"))?;
            let entry =
                crate::suspected::create_in(t, pg, actor, id, &village, name.as_deref(), &address)?;
            t.exec(
                "UPDATE tip SET division_code = $2 WHERE id = $1",
                &[id.to_string().into(), village.as_str().into()],
            )?;
            crate::audit::append(
                t,
                dialect,
                &crate::audit::NewEntry::by(actor, "tip.suspected")
                    .target("tip", id)
                    .detail(serde_json::json!({
                        "suspected_id": entry,
                        "village": village.as_str(),
                    })),
            )?;
            load_tip(t, actor, id)
        })
    }

    /// The tips of a division (and its children), newest received first, optionally
    /// of one status.
    pub fn tips(
        &self,
        actor: &Actor,
        division: &DivisionCode,
        status: Option<TipStatus>,
    ) -> Result<Vec<Tip>, StoreError> {
        self.tip_rows(actor, division, status, true)
    }

    /// [`Store::tips`]; `flags` says whether to set `reporter_visible` (the summary
    /// needs no flag). Which tips have a reporter is one query of tip ids (never who).
    fn tip_rows(
        &self,
        actor: &Actor,
        division: &DivisionCode,
        status: Option<TipStatus>,
        flags: bool,
    ) -> Result<Vec<Tip>, StoreError> {
        may_manage(actor, "see tips")?;
        if !actor.sees(division) {
            return Err(not_found(format_args!("division {division}")));
        }
        let today = china_today();
        let prefix = format!("{}%", division.significant_prefix());
        self.tx(|t| {
            let rows = t.query(
                &format!(
                    "SELECT {TIP_COLUMNS} {TIP_FROM} WHERE t.division_code LIKE $1
                     ORDER BY t.received_on DESC, t.id DESC"
                ),
                &[prefix.clone().into()],
            )?;
            let mut named = std::collections::HashSet::new();
            if flags {
                for r in t.query(
                    "SELECT r.tip_id FROM tip_reporter r JOIN tip t ON t.id = r.tip_id
                     WHERE t.division_code LIKE $1
                       AND (coalesce(r.name, '') <> '' OR coalesce(r.contact, '') <> '')",
                    &[prefix.clone().into()],
                )? {
                    named.insert(r.str(0)?);
                }
            }
            let mut out = Vec::new();
            for r in &rows {
                let mut tip = tip_of(r, today)?;
                if status.is_some_and(|s| s != tip.status) {
                    continue;
                }
                tip.reporter_visible = may_read_reporter(actor, &tip.recorded_by)
                    && named.contains(&tip.id.to_string());
                out.push(tip);
            }
            Ok(out)
        })
    }

    /// One tip, if the actor sees it.
    pub fn tip(&self, actor: &Actor, id: Uuid) -> Result<Tip, StoreError> {
        may_manage(actor, "see tips")?;
        self.tx(|t| load_tip(t, actor, id))
    }

    /// Records (or replaces) the reward decision of a verified tip. A reward is granted
    /// only for a tip found 属实 or 部分属实.
    pub fn decide_tip_reward(
        &self,
        actor: &Actor,
        id: Uuid,
        req: &RewardRequest,
    ) -> Result<Tip, StoreError> {
        may_manage(actor, "decide rewards")?;
        let note = opt_text("note", req.note.as_deref(), MAX_NOTE_CHARS)?;
        if req.amount_yuan.is_some() && req.decision != RewardDecision::Granted {
            return Err(invalid("an amount goes with a granted reward only"));
        }
        let amount = req
            .amount_yuan
            .map(|a| i64::try_from(a).map_err(|_| invalid("amount_yuan is too large")))
            .transpose()?;
        let dialect = self.dialect();
        self.tx(|t| {
            let tip = load_tip(t, actor, id)?;
            let Some(outcome) = tip.outcome else {
                return Err(problem(
                    ProblemCode::HazardTransition,
                    format!("tip {id} is not verified yet; the reward is decided after the verification"),
                ));
            };
            if req.decision == RewardDecision::Granted
                && outcome == TipOutcome::Unsubstantiated
            {
                return Err(invalid(
                    "a tip found 不属实 (unsubstantiated) earns no reward",
                ));
            }
            t.exec(
                "UPDATE tip SET reward_decision = $2, reward_yuan = $3, reward_note = $4,
                     reward_by = $5, reward_at = $6 WHERE id = $1",
                &[
                    id.to_string().into(),
                    req.decision.as_str().into(),
                    amount.into(),
                    note.clone().into(),
                    actor.user_name.clone().into(),
                    ts(now()).into(),
                ],
            )?;
            let after = load_tip(t, actor, id)?;
            crate::audit::append(
                t,
                dialect,
                &crate::audit::NewEntry::by(actor, "tip.decision")
                    .target("tip", id)
                    .detail(serde_json::json!({
                        "outcome": outcome,
                        "before": tip_reward_state(&tip),
                        "after": tip_reward_state(&after),
                    })),
            )?;
            Ok(after)
        })
    }

    /// The reporter of a tip: for an administrator of its jurisdiction or the officer
    /// who recorded it (`403 forbidden_role` for anyone else who sees the tip; `404`
    /// outside the jurisdiction). Every read is logged in `tip_reporter_read`.
    pub fn tip_reporter(&self, actor: &Actor, id: Uuid) -> Result<Reporter, StoreError> {
        may_manage(actor, "see reporters")?;
        let dialect = self.dialect();
        self.tx(|t| {
            let tip = load_tip(t, actor, id)?;
            if !may_read_reporter(actor, &tip.recorded_by) {
                return Err(problem(
                    ProblemCode::ForbiddenRole,
                    "a reporter is shown to administrators and the officer who recorded the tip only",
                ));
            }
            let row = t.query_opt(
                "SELECT name, contact FROM tip_reporter WHERE tip_id = $1",
                &[id.to_string().into()],
            )?;
            t.exec(
                "INSERT INTO tip_reporter_read (tip_id, reader, at) VALUES ($1, $2, $3)",
                &[
                    id.to_string().into(),
                    actor.user_name.clone().into(),
                    ts(now()).into(),
                ],
            )?;
            // Who read it, never what was read.
            crate::audit::append(
                t,
                dialect,
                &crate::audit::NewEntry::by(actor, "tip.reporter.view")
                    .target("tip", id)
                    .detail(serde_json::json!({ "division_code": tip.division_code })),
            )?;
            Ok(Reporter {
                tip_id: id,
                name: row.as_ref().map(|r| r.text(0)).transpose()?.flatten(),
                contact: row.as_ref().map(|r| r.text(1)).transpose()?.flatten(),
            })
        })
    }

    /// Who read a tip's reporter, and when, oldest first (administrators only).
    pub fn tip_reporter_reads(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if actor.role != Role::Admin {
            return Err(problem(
                ProblemCode::ForbiddenRole,
                "the reporter reads are shown to administrators",
            ));
        }
        self.tx(|t| {
            load_tip(t, actor, id)?;
            let rows = t.query(
                "SELECT reader, at FROM tip_reporter_read WHERE tip_id = $1 ORDER BY at",
                &[id.to_string().into()],
            )?;
            rows.iter().map(|r| Ok((r.str(0)?, r.str(1)?))).collect()
        })
    }

    /// Received, verified, pending and overdue tips of a division, in total and per
    /// child division (a district's towns, a town's villages).
    pub fn tip_summary(
        &self,
        actor: &Actor,
        division: &DivisionCode,
    ) -> Result<TipSummary, StoreError> {
        let tips = self.tip_rows(actor, division, None, false)?;
        let clen = crate::coverage::child_len(division);
        let mut total = TipCounts::default();
        let mut children: std::collections::BTreeMap<String, TipCounts> = Default::default();
        for tip in &tips {
            let child = tip
                .division_code
                .get(..clen)
                .unwrap_or(&tip.division_code)
                .to_string();
            for c in [&mut total, children.entry(child).or_default()] {
                c.received += 1;
                match tip.status {
                    TipStatus::Verified => {
                        c.verified += 1;
                        if tip.outcome != Some(TipOutcome::Unsubstantiated) {
                            c.substantiated += 1;
                        }
                    }
                    // A cancelled verification leaves the tip unverified: still pending.
                    TipStatus::Unassigned | TipStatus::Verifying | TipStatus::Cancelled => {
                        c.pending += 1;
                        if tip.overdue {
                            c.overdue += 1;
                        }
                    }
                }
            }
        }
        let names = self.tx(|t| {
            let mut names = std::collections::HashMap::new();
            for code in children.keys() {
                let padded = format!("{code:0<12}");
                if let Some(r) = t.query_opt(
                    "SELECT name FROM division WHERE code = $1",
                    &[padded.clone().into()],
                )? {
                    names.insert(code.clone(), r.str(0)?);
                }
            }
            Ok(names)
        })?;
        Ok(TipSummary {
            division: division.as_str().to_string(),
            counts: total,
            children: children
                .into_iter()
                .map(|(code, counts)| TipChild {
                    name: names.get(&code).cloned(),
                    code: format!("{code:0<12}"),
                    counts,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_carries_the_content_cut_and_never_more() {
        let long = "粉".repeat(NOTE_CONTENT_CHARS + 10);
        let note = assignment_note(TipSource::Hotline12350, &long, None);
        assert!(note.starts_with("举报核查（12350热线）："));
        assert_eq!(
            note.chars().count(),
            "举报核查（12350热线）：".chars().count() + NOTE_CONTENT_CHARS + 1
        );
        assert!(note.chars().count() <= MAX_NOTE_CHARS);
        let short = assignment_note(TipSource::Internal, "夜间生产", Some("金城镇1号"));
        assert_eq!(short, "举报核查（内部吹哨人）：夜间生产（地址：金城镇1号）");
    }

    #[test]
    fn words_read_back() {
        for s in [
            TipSource::Hotline12350,
            TipSource::Internal,
            TipSource::Other,
        ] {
            assert_eq!(TipSource::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
        for o in [
            TipOutcome::Substantiated,
            TipOutcome::PartlySubstantiated,
            TipOutcome::Unsubstantiated,
        ] {
            assert_eq!(TipOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(TipStatus::parse("verified"), Some(TipStatus::Verified));
        assert_eq!(
            RewardDecision::parse("granted"),
            Some(RewardDecision::Granted)
        );
        assert_eq!(TipSource::parse("12350"), None);
    }

    #[test]
    fn the_outcome_choices_are_the_templates() {
        let t = gridwalk_checklist::builtin_template(TIP_TEMPLATE).expect("shipped");
        let item = t.items().find(|i| i.id == OUTCOME_ITEM).expect("TV-01");
        let gridwalk_checklist::AnswerType::Choice { choices, multiple } = &item.answer_type else {
            panic!("TV-01 is a choice");
        };
        assert!(!multiple);
        let values: Vec<_> = choices
            .iter()
            .map(|c| TipOutcome::parse(&c.value))
            .collect();
        assert!(values.iter().all(Option::is_some), "{values:?}");
        assert_eq!(values.len(), 3);
    }

    #[test]
    fn debug_never_prints_the_reporter() {
        let req = TipRequest {
            source: TipSource::Internal,
            content: "x".into(),
            enterprise_uscc: None,
            address: Some("a".into()),
            division: None,
            received_on: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
            deadline: NaiveDate::from_ymd_opt(2026, 1, 2).expect("date"),
            assignee: None,
            reporter_name: Some("李举报".into()),
            reporter_contact: Some("13900001111".into()),
            reported_name: None,
        };
        let text = format!("{req:?}");
        assert!(
            !text.contains("13900001111") && !text.contains("李举报"),
            "{text}"
        );
        let r = Reporter {
            tip_id: Uuid::nil(),
            name: Some("李举报".into()),
            contact: Some("13900001111".into()),
        };
        assert!(!format!("{r:?}").contains("1390000"));
    }
}
