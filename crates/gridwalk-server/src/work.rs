//! An officer's work on the server (docs/campaign.md "Officer actions", "Assignments",
//! "Review", "Supervision sampling"): hazard actions, reviews of inspections,
//! assignments (任务) and supervision samples (督导抽查).
//!
//! Hazard actions, reviews and assignment events are stored as records of the acting
//! user's *console* (a device row of kind `console` that no token opens), projected like
//! a phone's records and published in the pull. So `projections rebuild` rebuilds them
//! from records alone, and the phones see them as they see each other's work.

use crate::audit::{self, NewEntry};
use crate::db::{Row, Tx};
use crate::error::StoreError;
use crate::projections::{project, Accepted};
use crate::store::{now, problem, ts, upsert_change, uuid_of, Caller, Store};
use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_checklist::{fold_keeping, HazardEvent, HazardEventKind, HazardState, Severity};
use gridwalk_core::sampling::{self, Candidate, Draw};
use gridwalk_core::{
    Assignment, AssignmentStatus, DivisionCode, DivisionLevel, Review, ReviewState,
};
use gridwalk_protocol::{sha256_hex, ChangeKind, ProblemCode, Role, MAX_NOTE_CHARS};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The user a `gridwalk-server` command acts as when given no `--as`: the operator, who
/// runs the server and so sees every division. It records no hazard events (an admin
/// does not decide rectification, [`crate::authz::may_record`]).
pub const OPERATOR: &str = "server-operator";

/// Most assignments one request makes: a town's dust-involved enterprises fit; a
/// district's whole register in one transaction (and as many changes for the phones)
/// is refused, to be split by town.
pub const MAX_ASSIGNMENTS_PER_REQUEST: usize = 2_000;

/// Who takes an action, and what they may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_name: String,
    pub role: Role,
    /// The jurisdiction; `None` for the operator (everything).
    pub scope: Option<DivisionCode>,
    /// Where the action comes from, as the audit log records it: the remote IP of an
    /// HTTP request, `cli` for a command.
    pub source: String,
}

impl Actor {
    /// The operator of the server (CLI without `--as`).
    pub fn operator() -> Actor {
        Actor {
            user_name: OPERATOR.into(),
            role: Role::Admin,
            scope: None,
            source: "cli".into(),
        }
    }

    /// True if the actor may see `division`.
    pub fn sees(&self, division: &DivisionCode) -> bool {
        self.scope.as_ref().is_none_or(|s| s.covers(division))
    }

    pub(crate) fn sees_code(&self, code: &str) -> Result<bool, StoreError> {
        let d = DivisionCode::parse(code).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(self.sees(&d))
    }

    pub(crate) fn may_manage(&self) -> bool {
        matches!(self.role, Role::Officer | Role::Admin)
    }
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Actor {
        Actor {
            user_name: c.user_name.clone(),
            role: c.role,
            scope: Some(c.jurisdiction.clone()),
            source: c.source.clone(),
        }
    }
}

fn not_found(what: impl std::fmt::Display) -> StoreError {
    problem(
        ProblemCode::NotFound,
        format!("no {what} in your jurisdiction"),
    )
}

fn invalid(detail: impl Into<String>) -> StoreError {
    problem(ProblemCode::InvalidRequest, detail)
}

fn china_today() -> NaiveDate {
    gridwalk_checklist::hazard::china_date(Utc::now())
}

fn check_text(field: &str, text: &str, max: usize) -> Result<(), StoreError> {
    let n = text.chars().count();
    if n > max {
        return Err(invalid(format!(
            "{field} has {n} characters; at most {max} are kept"
        )));
    }
    Ok(())
}

/// A hazard's events in the merged order, each with why it did not apply (if it did
/// not).
pub type HazardHistory = Vec<(HazardEvent, Option<String>)>;

/// An enterprise a request targets: id, USCC, village code.
type TargetRow = (Uuid, String, String);

/// What changes an assignment: its events, stored as `assignment` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentEvent {
    pub assignment_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(flatten)]
    pub change: AssignmentChange,
}

/// The change an [`AssignmentEvent`] makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AssignmentChange {
    Created {
        enterprise_id: Uuid,
        enterprise_uscc: String,
        division_code: String,
        assignee: String,
        template_id: String,
        due: NaiveDate,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        sample_id: Option<Uuid>,
    },
    Reassigned {
        assignee: String,
        #[serde(default)]
        due: Option<NaiveDate>,
        #[serde(default)]
        note: Option<String>,
    },
    Cancelled {
        reason: String,
    },
}

/// Which enterprises an assignment request covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// These USCCs.
    Enterprises(Vec<String>),
    /// Every enterprise of a division, optionally only the dust-involved ones.
    Filter {
        division: String,
        #[serde(default)]
        dust_involved: Option<bool>,
    },
    /// The enterprises of a supervision sample.
    Sample(Uuid),
}

/// `POST /v1/assignments` and `gridwalk-server assign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    /// User name of the grid worker or expert.
    pub assignee: String,
    pub template_id: String,
    /// `YYYY-MM-DD`, today or later.
    #[schema(value_type = String)]
    pub due: NaiveDate,
    #[serde(default)]
    pub note: Option<String>,
    pub targets: Targets,
}

/// What an assignment request made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssignOutcome {
    /// New assignments.
    #[schema(value_type = Vec<Object>)]
    pub created: Vec<Assignment>,
    /// Enterprises left out because the assignee already has this work open.
    pub already_open: Vec<String>,
}

/// An assignment as the officer's list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AssignmentItem {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub assignment: Assignment,
    pub enterprise_name: Option<String>,
    /// Open after its due day.
    pub overdue: bool,
}

/// A stored supervision sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredSample {
    pub id: Uuid,
    /// The town sampled.
    pub division_code: String,
    pub created_by: String,
    pub created_at: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub draw: Draw,
}

/// A review as an officer submits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewRequest {
    #[schema(value_type = String)]
    pub state: ReviewState,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A finalized inspection as the officer's list shows it, with its review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InspectionItem {
    pub record_id: String,
    pub inspection_id: String,
    pub enterprise_uscc: String,
    pub enterprise_name: Option<String>,
    pub division_code: String,
    pub template_id: String,
    pub template_version: i64,
    pub inspector: String,
    pub role: String,
    pub finalized_at: String,
    pub received_at: String,
    pub passed: i64,
    pub failed: i64,
    pub findings: i64,
    pub photo_count: i64,
    /// Any photo taken outside the enterprise's radius (`None`: no stamp to judge).
    pub off_site: Option<bool>,
    /// `approved`, `has_issues`, `rejected`, or `None` when not reviewed yet.
    pub review_state: Option<String>,
    pub review_comment: Option<String>,
    pub reviewer: Option<String>,
    pub reviewed_at: Option<String>,
}

/// A review filter as the inspection list and its ledger take it: `approved`,
/// `has_issues`, `rejected` or `unreviewed` (`None` when empty).
pub(crate) fn review_filter(review: Option<&str>) -> Result<Option<String>, StoreError> {
    let filter = review.unwrap_or("").trim();
    if filter.is_empty() {
        return Ok(None);
    }
    if filter != "unreviewed" && ReviewState::parse(filter).is_none() {
        return Err(invalid(format!(
            "review '{filter}': expected approved, has_issues, rejected or unreviewed"
        )));
    }
    Ok(Some(filter.to_string()))
}

/// The columns `record_id, inspection_id, enterprise_uscc, name, division_code,
/// template_id, template_version, inspector, role, finalized_at, received_at, passed,
/// failed, findings, photo_count, off_site, review state, comment, reviewer, at` (the
/// inspection projection joined with its review and enterprise) as an item.
pub(crate) fn inspection_item_of(r: &crate::db::Row) -> Result<InspectionItem, StoreError> {
    Ok(InspectionItem {
        record_id: r.str(0)?,
        inspection_id: r.str(1)?,
        enterprise_uscc: r.str(2)?,
        enterprise_name: r.text(3)?,
        division_code: r.str(4)?,
        template_id: r.str(5)?,
        template_version: r.int(6)?,
        inspector: r.str(7)?,
        role: r.str(8)?,
        finalized_at: r.str(9)?,
        received_at: r.str(10)?,
        passed: r.int(11)?,
        failed: r.int(12)?,
        findings: r.int(13)?,
        photo_count: r.int(14)?,
        off_site: r.opt_int(15)?.map(|v| v != 0),
        review_state: r.text(16)?,
        review_comment: r.text(17)?,
        reviewer: r.text(18)?,
        reviewed_at: r.text(19)?,
    })
}

/// The console device of a user (made on first use) and the next position of its
/// sequence.
fn console_position(t: &mut dyn Tx, actor: &Actor) -> Result<(String, i64), StoreError> {
    let user = match t.query_opt(
        "SELECT id FROM app_user WHERE name = $1",
        &[actor.user_name.clone().into()],
    )? {
        Some(r) => r.str(0)?,
        None if actor.scope.is_none() => {
            let id = Uuid::now_v7().to_string();
            // The operator never signs in (no password, no device token).
            t.exec(
                "INSERT INTO app_user (id, name, role, jurisdiction, created_at) VALUES ($1, $2, 'admin', '', $3)",
                &[id.clone().into(), actor.user_name.clone().into(), ts(now()).into()],
            )?;
            id
        }
        None => return Err(invalid(format!("no user named '{}'", actor.user_name))),
    };
    let console = |t: &mut dyn Tx| -> Result<Option<String>, StoreError> {
        Ok(t.query_opt(
            "SELECT id FROM device WHERE user_id = $1 AND kind = 'console'",
            &[user.clone().into()],
        )?
        .map(|r| r.str(0))
        .transpose()?)
    };
    let device = match console(t)? {
        Some(id) => id,
        None => {
            let id = Uuid::now_v7().to_string();
            // One console per user (a unique index): a concurrent first action made it.
            t.exec(
                "INSERT INTO device (id, user_id, name, device_key_hash, token_hash, enrolled_at, kind)
                 VALUES ($1, $2, '服务器操作台', '', $3, $4, 'console') ON CONFLICT DO NOTHING",
                &[
                    id.clone().into(),
                    user.clone().into(),
                    format!("console:{id}").into(),
                    ts(now()).into(),
                ],
            )?;
            console(t)?.ok_or_else(|| StoreError::Corrupt("console device vanished".into()))?
        }
    };
    // The row lock first (as a push takes it), then the position: two actions of one
    // user at once take consecutive positions.
    t.exec(
        "UPDATE device SET next_seq = next_seq + 1 WHERE id = $1",
        &[device.clone().into()],
    )?;
    let next = t
        .query_opt(
            "SELECT next_seq FROM device WHERE id = $1",
            &[device.clone().into()],
        )?
        .ok_or_else(|| StoreError::Corrupt("console device vanished".into()))?
        .int(0)?;
    Ok((device, next - 1))
}

/// Stores one record of the actor's console, projects it and publishes what it changes.
#[allow(clippy::too_many_arguments)]
fn console_record(
    t: &mut dyn Tx,
    pg: bool,
    actor: &Actor,
    id: &str,
    kind: &str,
    payload: &str,
    uscc: Option<&str>,
    division: &str,
) -> Result<(), StoreError> {
    let (device, seq) = console_position(t, actor)?;
    let received = ts(now());
    let sha = sha256_hex(payload.as_bytes());
    t.exec(
        "INSERT INTO record (id, device_id, seq, kind, payload_sha256, payload, enterprise_uscc, division_code, state, device_time, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'accepted', $9, $9)",
        &[
            id.into(),
            device.clone().into(),
            seq.into(),
            kind.into(),
            sha.clone().into(),
            payload.into(),
            uscc.map(str::to_string).into(),
            division.into(),
            received.clone().into(),
        ],
    )?;
    if kind == "hazard_event" {
        let body: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        upsert_change(t, pg, ChangeKind::HazardEvent, id, Some(division), &body)?;
    }
    let changed = project(
        t,
        &Accepted {
            id,
            device_id: &device,
            kind,
            payload,
            division,
            received_at: &received,
            payload_sha256: &sha,
            pg,
            publish: true,
            facts: None,
        },
    )?;
    if let Some(uscc) = changed {
        crate::facts::republish(t, pg, &uscc)?;
    }
    Ok(())
}

fn to_json(v: &impl Serialize) -> Result<String, StoreError> {
    let bytes = gridwalk_checklist::canonical::to_canonical_json(v)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn check_blank(field: &str, text: &str, max: usize) -> Result<(), StoreError> {
    if text.trim().is_empty() {
        return Err(invalid(format!("{field} is empty")));
    }
    check_text(field, text, max)
}

/// What the server refuses in an officer's hazard event before the state machine sees
/// it, as the phone does: empty or overlong texts. A hazard is created, and
/// re-inspected with its before/after photos, on site from a phone (whose photos travel
/// with the device's evidence chain), never from the console.
fn check_console_event(kind: &HazardEventKind) -> Result<(), StoreError> {
    use gridwalk_protocol::{MAX_LABEL_CHARS, MAX_NAME_CHARS, MAX_REASON_CHARS};
    match kind {
        HazardEventKind::Created { .. } => {
            Err(invalid("hazards are created by an inspection on site"))
        }
        HazardEventKind::Reinspected { .. } => Err(invalid(
            "a re-inspection is recorded on site, with its photos, from a phone",
        )),
        HazardEventKind::Assigned { to } => check_blank("to", to, MAX_NAME_CHARS),
        HazardEventKind::Reopened { reason } | HazardEventKind::DeadlineExtended { reason, .. } => {
            check_blank("reason", reason, MAX_REASON_CHARS)
        }
        HazardEventKind::ListedSupervision(l) => {
            check_blank("notice_no", &l.notice_no, MAX_LABEL_CHARS)?;
            check_blank("supervising_body", &l.supervising_body, MAX_LABEL_CHARS)
        }
        HazardEventKind::PlanSet(p) => {
            check_blank("measures", &p.measures, MAX_NOTE_CHARS)?;
            check_blank("responsible", &p.responsible, MAX_NAME_CHARS)?;
            check_blank("interim_measures", &p.interim_measures, MAX_NOTE_CHARS)
        }
        HazardEventKind::RectificationStarted | HazardEventKind::Closed => Ok(()),
    }
}

/// A hazard's events as the server holds them.
pub(crate) fn hazard_events(t: &mut dyn Tx, hazard: &str) -> Result<Vec<HazardEvent>, StoreError> {
    let rows = t.query(
        "SELECT r.payload FROM hazard_event he JOIN record r ON r.id = he.record_id
         WHERE he.hazard_id = $1",
        &[hazard.into()],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(p) = row.text(0)? {
            if let Ok(e) = serde_json::from_str::<HazardEvent>(&p) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

fn assignment_of(row: &Row, col: usize) -> Result<Assignment, StoreError> {
    serde_json::from_str(&row.str(col)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    fn pg(&self) -> bool {
        self.dialect() == crate::db::Dialect::Postgres
    }

    /// The actor a `--as NAME` names (a user of the server).
    pub fn actor(&self, name: &str) -> Result<Actor, StoreError> {
        let row = self
            .tx(|t| {
                t.query_opt(
                    "SELECT role, jurisdiction FROM app_user WHERE name = $1",
                    &[name.into()],
                )
                .map_err(StoreError::from)
            })?
            .ok_or_else(|| StoreError::Invalid(format!("no user named '{name}'")))?;
        Ok(Actor {
            user_name: name.to_string(),
            role: Role::parse(&row.str(0)?)
                .ok_or_else(|| StoreError::Corrupt("bad role".into()))?,
            scope: Some(
                DivisionCode::parse(&row.str(1)?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ),
            source: "cli".into(),
        })
    }

    // ------------------------------------------------------------ hazard actions

    /// An officer's (or expert's) hazard action: assign, extend, 挂牌督办, re-inspect,
    /// close, reopen, 五定. Checked against the role table and the hazard's folded state,
    /// stored as a record of the actor's console, and published to the phones.
    pub fn hazard_action(
        &self,
        actor: &Actor,
        hazard: Uuid,
        kind: HazardEventKind,
    ) -> Result<HazardState, StoreError> {
        let pg = self.pg();
        let dialect = self.dialect();
        self.tx(|t| {
            let id = hazard.to_string();
            let row = t
                .query_opt(
                    "SELECT enterprise_uscc, division_code, severity FROM hazard WHERE id = $1",
                    &[id.clone().into()],
                )?
                .ok_or_else(|| not_found(format_args!("hazard {hazard}")))?;
            let (uscc, division) = (row.str(0)?, row.str(1)?);
            if !actor.sees_code(&division)? {
                return Err(not_found(format_args!("hazard {hazard}")));
            }
            check_console_event(&kind)?;
            let severity = match row.str(2)?.as_str() {
                "major" => Severity::Major,
                _ => Severity::General,
            };
            if !crate::authz::may_record(actor.role, kind.name(), severity) {
                return Err(problem(
                    ProblemCode::ForbiddenRole,
                    format!(
                        "a {} may not record '{:?}' on a {} hazard",
                        actor.role.as_str(),
                        kind.name(),
                        crate::store::severity_str(severity)
                    ),
                ));
            }
            let events = hazard_events(t, &id)?;
            let (state, _) = fold_keeping(&events)
                .map_err(|e| StoreError::Corrupt(format!("hazard {hazard} does not fold: {e}")))?;
            // After every event held, applied or not (a phone's clock may run ahead, and
            // a skipped event must not become legal behind this one).
            let latest = events
                .iter()
                .map(|e| e.at)
                .max()
                .unwrap_or(state.last_event_at);
            let at = now().max(latest + chrono::Duration::milliseconds(1));
            let event = HazardEvent::new(hazard, at, actor.user_name.clone(), kind.clone());
            gridwalk_checklist::apply(&state, &event)
                .map_err(|e| problem(ProblemCode::HazardTransition, e.to_string()))?;
            let record = Uuid::now_v7().to_string();
            console_record(
                t,
                pg,
                actor,
                &record,
                "hazard_event",
                &to_json(&event)?,
                Some(&uscc),
                &division,
            )?;
            // The state as projected: every event held, folded in the merged order.
            let before = state;
            let (state, _) = fold_keeping(&hazard_events(t, &id)?)
                .map_err(|e| StoreError::Corrupt(format!("hazard {hazard} does not fold: {e}")))?;
            audit::append(
                t,
                dialect,
                &NewEntry::by(actor, "hazard.event")
                    .target("hazard", hazard)
                    .detail(serde_json::json!({
                        "event": event.kind,
                        "event_id": event.id,
                        "record_id": record,
                        "enterprise_uscc": uscc,
                        "before": hazard_summary(&before),
                        "after": hazard_summary(&state),
                    })),
            )?;
            Ok(state)
        })
    }

    /// A hazard's folded state and every event (with whether it applied), if the actor
    /// sees it.
    pub fn hazard_detail(
        &self,
        actor: &Actor,
        hazard: Uuid,
    ) -> Result<(HazardState, HazardHistory), StoreError> {
        self.tx(|t| {
            let id = hazard.to_string();
            let division = t
                .query_opt(
                    "SELECT division_code FROM hazard WHERE id = $1",
                    &[id.clone().into()],
                )?
                .map(|r| r.str(0))
                .transpose()?
                .ok_or_else(|| not_found(format_args!("hazard {hazard}")))?;
            if !actor.sees_code(&division)? {
                return Err(not_found(format_args!("hazard {hazard}")));
            }
            let events = hazard_events(t, &id)?;
            let (state, skipped) = fold_keeping(&events)
                .map_err(|e| StoreError::Corrupt(format!("hazard {hazard} does not fold: {e}")))?;
            let merged = gridwalk_checklist::merge(&events)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let list = merged
                .into_iter()
                .map(|e| {
                    let why = skipped
                        .iter()
                        .find(|(id, _)| *id == e.id)
                        .map(|(_, why)| why.to_string());
                    (e, why)
                })
                .collect();
            Ok((state, list))
        })
    }

    // ------------------------------------------------------------ review

    /// Reviews a finalized inspection (approved / has issues / rejected, with a comment;
    /// a comment is required unless approved). The latest review stands and reaches
    /// the inspector's phone.
    pub fn review_inspection(
        &self,
        actor: &Actor,
        inspection: Uuid,
        req: &ReviewRequest,
    ) -> Result<Review, StoreError> {
        if !actor.may_manage() {
            return Err(problem(
                ProblemCode::ForbiddenRole,
                format!("a {} does not review inspections", actor.role.as_str()),
            ));
        }
        let comment = req
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if let Some(c) = &comment {
            check_text("comment", c, MAX_NOTE_CHARS)?;
        }
        if req.state != ReviewState::Approved && comment.is_none() {
            return Err(invalid(format!(
                "a review of '{}' needs a comment saying what is wrong",
                req.state.as_str()
            )));
        }
        let pg = self.pg();
        let dialect = self.dialect();
        self.tx(|t| {
            let row = t
                .query_opt(
                    "SELECT division_code, enterprise_uscc FROM inspection WHERE inspection_id = $1",
                    &[inspection.to_string().into()],
                )?
                .ok_or_else(|| not_found(format_args!("inspection {inspection}")))?;
            let (division, uscc) = (row.str(0)?, row.str(1)?);
            if !actor.sees_code(&division)? {
                return Err(not_found(format_args!("inspection {inspection}")));
            }
            let before = t
                .query_opt(
                    "SELECT state, comment, reviewer, at FROM review WHERE inspection_id = $1",
                    &[inspection.to_string().into()],
                )?
                .map(|r| -> Result<serde_json::Value, StoreError> {
                    Ok(serde_json::json!({
                        "state": r.str(0)?,
                        "comment": r.text(1)?,
                        "reviewer": r.str(2)?,
                        "at": r.str(3)?,
                    }))
                })
                .transpose()?;
            let record = Uuid::now_v7();
            let review = Review {
                inspection_id: inspection,
                record_id: record,
                state: req.state,
                comment: comment.clone(),
                reviewer: actor.user_name.clone(),
                at: now(),
            };
            console_record(
                t,
                pg,
                actor,
                &record.to_string(),
                "review",
                &to_json(&review)?,
                Some(&uscc),
                &division,
            )?;
            audit::append(
                t,
                dialect,
                &NewEntry::by(actor, "review.set")
                    .target("inspection", inspection)
                    .detail(serde_json::json!({
                        "enterprise_uscc": uscc,
                        "before": before,
                        "after": {
                            "state": review.state,
                            "comment": review.comment,
                            "reviewer": review.reviewer,
                            "at": ts(review.at),
                        },
                    })),
            )?;
            Ok(review.clone())
        })
    }

    /// The finalized inspections of a division, newest first, optionally only those
    /// in one review state (`unreviewed` for none yet).
    pub fn inspection_list(
        &self,
        actor: &Actor,
        division: &DivisionCode,
        review: Option<&str>,
    ) -> Result<Vec<InspectionItem>, StoreError> {
        if !actor.sees(division) {
            return Err(not_found(format_args!("division {division}")));
        }
        let filter = review_filter(review)?.unwrap_or_default();
        let rows = self.tx(|t| {
            t.query(
                "SELECT i.record_id, i.inspection_id, i.enterprise_uscc, e.name, i.division_code,
                        i.template_id, i.template_version, i.inspector, i.role, i.finalized_at,
                        i.received_at, i.passed, i.failed, i.findings, i.photo_count, i.off_site,
                        r.state, r.comment, r.reviewer, r.at
                 FROM inspection i
                 LEFT JOIN review r ON r.inspection_id = i.inspection_id
                 LEFT JOIN enterprise e ON e.uscc = i.enterprise_uscc
                 WHERE i.division_code LIKE $1
                   AND ($2 = '' OR ($2 = 'unreviewed' AND r.state IS NULL) OR r.state = $2)
                 ORDER BY i.finalized_at DESC, i.record_id",
                &[
                    format!("{}%", division.significant_prefix()).into(),
                    filter.clone().into(),
                ],
            )
            .map_err(StoreError::from)
        })?;
        rows.iter().map(inspection_item_of).collect()
    }

    // ------------------------------------------------------------ assignments

    /// Assigns enterprises (a list, a filter or a sample) to a grid worker or expert
    /// with a template, a due date and a note. Work the assignee already has open for an
    /// enterprise and template is not assigned twice.
    pub fn assign(&self, actor: &Actor, req: &AssignRequest) -> Result<AssignOutcome, StoreError> {
        let pg = self.pg();
        let dialect = self.dialect();
        self.tx(|t| {
            let out = assign_in(t, pg, actor, req)?;
            audit::append(
                t,
                dialect,
                &NewEntry::by(actor, "assignment.create")
                    .target("user", &req.assignee)
                    .detail(serde_json::json!({
                        "request": req,
                        "created": out.created.iter().map(|a| a.id).collect::<Vec<_>>(),
                        "already_open": out.already_open,
                    })),
            )?;
            Ok(out)
        })
    }

    /// Gives an open assignment to another grid worker or expert (and optionally a new
    /// due date or note).
    pub fn reassign(
        &self,
        actor: &Actor,
        id: Uuid,
        assignee: &str,
        due: Option<NaiveDate>,
        note: Option<String>,
    ) -> Result<Assignment, StoreError> {
        if due.is_some_and(|d| d < china_today()) {
            return Err(invalid("the new due date has passed"));
        }
        if let Some(n) = &note {
            check_text("note", n, MAX_NOTE_CHARS)?;
        }
        self.assignment_event(actor, id, "assignment.reassign", |t, a| {
            let scope = assignee_scope(t, actor, assignee)?;
            let village = DivisionCode::parse(&a.division_code)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if !scope.covers(&village) {
                return Err(invalid(format!(
                    "{} lies outside {assignee}'s jurisdiction {scope}",
                    a.enterprise_uscc
                )));
            }
            Ok(AssignmentChange::Reassigned {
                assignee: assignee.to_string(),
                due,
                note: note.clone(),
            })
        })
    }

    /// Cancels an open assignment.
    pub fn cancel_assignment(
        &self,
        actor: &Actor,
        id: Uuid,
        reason: &str,
    ) -> Result<Assignment, StoreError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid("say why the assignment is cancelled"));
        }
        check_text("reason", reason, MAX_NOTE_CHARS)?;
        self.assignment_event(actor, id, "assignment.cancel", |_, _| {
            Ok(AssignmentChange::Cancelled {
                reason: reason.to_string(),
            })
        })
    }

    fn assignment_event(
        &self,
        actor: &Actor,
        id: Uuid,
        action: &str,
        mut change: impl FnMut(&mut dyn Tx, &Assignment) -> Result<AssignmentChange, StoreError>,
    ) -> Result<Assignment, StoreError> {
        if !actor.may_manage() {
            return Err(problem(
                ProblemCode::ForbiddenRole,
                format!("a {} does not assign work", actor.role.as_str()),
            ));
        }
        let pg = self.pg();
        let dialect = self.dialect();
        self.tx(|t| {
            // Read before the checks of `assignment_event_in`, which refuse what the
            // actor may not change (nothing is logged then).
            let before = load_assignment(t, id).ok();
            let after = assignment_event_in(t, pg, actor, id, &mut change)?;
            audit::append(
                t,
                dialect,
                &NewEntry::by(actor, action)
                    .target("assignment", id)
                    .detail(serde_json::json!({ "before": before, "after": after })),
            )?;
            Ok(after)
        })
    }

    /// The assignments of a division (optionally one status or one assignee), due
    /// first.
    pub fn assignments(
        &self,
        actor: &Actor,
        division: &DivisionCode,
        status: Option<AssignmentStatus>,
        assignee: Option<&str>,
    ) -> Result<Vec<AssignmentItem>, StoreError> {
        if !actor.sees(division) {
            return Err(not_found(format_args!("division {division}")));
        }
        let rows = self.tx(|t| {
            t.query(
                "SELECT a.body, e.name FROM assignment a LEFT JOIN enterprise e ON e.uscc = a.enterprise_uscc
                 WHERE a.division_code LIKE $1 AND ($2 = '' OR a.status = $2) AND ($3 = '' OR a.assignee = $3)
                 ORDER BY a.due, a.id",
                &[
                    format!("{}%", division.significant_prefix()).into(),
                    status.map(|s| s.as_str()).unwrap_or("").into(),
                    assignee.unwrap_or("").into(),
                ],
            )
            .map_err(StoreError::from)
        })?;
        let today = china_today();
        rows.iter()
            .map(|r| {
                let assignment = assignment_of(r, 0)?;
                Ok(AssignmentItem {
                    overdue: assignment.is_overdue(today),
                    assignment,
                    enterprise_name: r.text(1)?,
                })
            })
            .collect()
    }

    // ------------------------------------------------------------ sampling

    /// Draws (or finds again) the supervision sample of a town for a seed: the same
    /// seed and the same register give the same sample, stored once with its seed and
    /// register version.
    pub fn draw_sample(
        &self,
        actor: &Actor,
        town: &DivisionCode,
        seed: u64,
    ) -> Result<StoredSample, StoreError> {
        if town.level() != DivisionLevel::Town {
            return Err(invalid(format!(
                "samples are drawn per town; {town} is a {}",
                town.level().as_str()
            )));
        }
        if !actor.sees(town) {
            return Err(not_found(format_args!("division {town}")));
        }
        if !actor.may_manage() {
            return Err(problem(
                ProblemCode::ForbiddenRole,
                format!("a {} does not draw samples", actor.role.as_str()),
            ));
        }
        let dialect = self.dialect();
        self.tx(|t| {
            let sample = draw_sample_in(t, actor, town, seed)?;
            audit::append(
                t,
                dialect,
                &NewEntry::by(actor, "sample.draw")
                    .target("division", town.as_str())
                    .detail(serde_json::json!({
                        "seed": seed.to_string(),
                        "sample_id": sample.id,
                        "register_version": sample.draw.register_version,
                        "drawn_by": sample.created_by,
                    })),
            )?;
            Ok(sample)
        })
    }

    /// A stored sample, if the actor sees its town (officers and admins: a supervision
    /// group's targets are not shown to the inspectors it supervises).
    pub fn sample(&self, actor: &Actor, id: Uuid) -> Result<StoredSample, StoreError> {
        may_see_samples(actor)?;
        let body = self
            .tx(|t| {
                t.query_opt(
                    "SELECT body FROM supervision_sample WHERE id = $1",
                    &[id.to_string().into()],
                )
                .map_err(StoreError::from)
            })?
            .ok_or_else(|| not_found(format_args!("sample {id}")))?
            .str(0)?;
        let s: StoredSample =
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if !actor.sees_code(&s.division_code)? {
            return Err(not_found(format_args!("sample {id}")));
        }
        Ok(s)
    }

    /// The samples drawn in a division, newest first.
    pub fn samples(
        &self,
        actor: &Actor,
        division: &DivisionCode,
    ) -> Result<Vec<StoredSample>, StoreError> {
        may_see_samples(actor)?;
        if !actor.sees(division) {
            return Err(not_found(format_args!("division {division}")));
        }
        let rows = self.tx(|t| {
            t.query(
                "SELECT body FROM supervision_sample WHERE division_code LIKE $1 ORDER BY created_at DESC, id",
                &[format!("{}%", division.significant_prefix()).into()],
            )
            .map_err(StoreError::from)
        })?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(&r.str(0)?).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }
}

/// [`Store::draw_sample`] inside the caller's transaction.
fn draw_sample_in(
    t: &mut dyn Tx,
    actor: &Actor,
    town: &DivisionCode,
    seed: u64,
) -> Result<StoredSample, StoreError> {
    let rows = t.query(
        "SELECT uscc, name, village_code, dust_involved, tenant FROM enterprise WHERE village_code LIKE $1",
        &[format!("{}%", town.significant_prefix()).into()],
    )?;
    let mut candidates = Vec::with_capacity(rows.len());
    for r in &rows {
        candidates.push(Candidate {
            uscc: r.str(0)?,
            name: r.text(1)?.unwrap_or_default(),
            village_code: r.str(2)?,
            dust_involved: r.opt_int(3)?.unwrap_or(0) != 0,
            tenant: r.opt_int(4)?.unwrap_or(0) != 0,
        });
    }
    let draw = sampling::draw(seed, &candidates);
    if let Some(r) = t.query_opt(
        "SELECT body FROM supervision_sample WHERE division_code = $1 AND seed = $2 AND register_version = $3",
        &[
            town.as_str().into(),
            seed.to_string().into(),
            draw.register_version.clone().into(),
        ],
    )? {
        return serde_json::from_str(&r.str(0)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()));
    }
    let sample = StoredSample {
        id: Uuid::now_v7(),
        division_code: town.as_str().to_string(),
        created_by: actor.user_name.clone(),
        created_at: ts(now()),
        draw,
    };
    let body = serde_json::to_string(&sample).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // Drawn at once by two officers: the first stored stands (a unique index).
    t.exec(
        "INSERT INTO supervision_sample (id, division_code, seed, register_version, created_by, created_at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        &[
            sample.id.to_string().into(),
            sample.division_code.clone().into(),
            seed.to_string().into(),
            sample.draw.register_version.clone().into(),
            sample.created_by.clone().into(),
            sample.created_at.clone().into(),
            body.into(),
        ],
    )?;
    let stored = t
        .query_opt(
            "SELECT body FROM supervision_sample WHERE division_code = $1 AND seed = $2 AND register_version = $3",
            &[
                town.as_str().into(),
                seed.to_string().into(),
                sample.draw.register_version.clone().into(),
            ],
        )?
        .ok_or_else(|| StoreError::Corrupt("sample vanished".into()))?;
    serde_json::from_str(&stored.str(0)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// What the audit log keeps of a hazard's state before and after an action.
fn hazard_summary(s: &HazardState) -> serde_json::Value {
    serde_json::json!({
        "status": s.status,
        "deadline": s.deadline,
        "assignee": s.assignee,
        "listed": s.listed,
        "plan": s.plan,
        "closed_at": s.closed_at,
        "event_count": s.event_count,
    })
}

fn too_many(n: usize) -> StoreError {
    invalid(format!(
        "{n} enterprises; at most {MAX_ASSIGNMENTS_PER_REQUEST} are assigned in one request (assign town by town)"
    ))
}

fn may_see_samples(actor: &Actor) -> Result<(), StoreError> {
    if actor.may_manage() {
        Ok(())
    } else {
        Err(problem(
            ProblemCode::ForbiddenRole,
            format!("a {} does not see supervision samples", actor.role.as_str()),
        ))
    }
}

/// The jurisdiction of a user who can take assignments: a grid worker or expert whose
/// jurisdiction lies inside the actor's. Anyone else (unknown, another town's, an
/// officer) gets one answer, so nothing is learnt about users outside the jurisdiction.
fn assignee_scope(t: &mut dyn Tx, actor: &Actor, name: &str) -> Result<DivisionCode, StoreError> {
    let nobody = || {
        invalid(format!(
            "no grid worker or expert named '{name}' in your jurisdiction (work is assigned to grid workers and experts)"
        ))
    };
    let row = t
        .query_opt(
            "SELECT role, jurisdiction FROM app_user WHERE name = $1",
            &[name.into()],
        )?
        .ok_or_else(nobody)?;
    if !matches!(
        Role::parse(&row.str(0)?),
        Some(Role::GridWorker | Role::Expert)
    ) {
        return Err(nobody());
    }
    let scope =
        DivisionCode::parse(&row.str(1)?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if !actor.sees(&scope) {
        return Err(nobody());
    }
    Ok(scope)
}

/// The enterprises (id, USCC, village) a request targets, all within the actor's
/// jurisdiction, and the sample they come from.
fn target_rows(
    t: &mut dyn Tx,
    actor: &Actor,
    targets: &Targets,
) -> Result<(Vec<TargetRow>, Option<Uuid>), StoreError> {
    let mut out = Vec::new();
    let mut one = |t: &mut dyn Tx, u: &str| -> Result<(), StoreError> {
        let uscc =
            gridwalk_core::Uscc::parse(u).map_err(|e| invalid(format!("USCC '{u}': {e}")))?;
        let row = t
            .query_opt(
                "SELECT id, uscc, village_code FROM enterprise WHERE uscc = $1",
                &[uscc.as_str().into()],
            )?
            .ok_or_else(|| not_found(format_args!("enterprise {uscc}")))?;
        let village = row.str(2)?;
        if !actor.sees_code(&village)? {
            return Err(not_found(format_args!("enterprise {uscc}")));
        }
        out.push((uuid_of(&row, 0)?, row.str(1)?, village));
        Ok(())
    };
    let mut sample_id = None;
    match targets {
        Targets::Enterprises(list) => {
            if list.len() > MAX_ASSIGNMENTS_PER_REQUEST {
                return Err(too_many(list.len()));
            }
            for u in list {
                one(t, u)?;
            }
        }
        Targets::Sample(id) => {
            let body = t
                .query_opt(
                    "SELECT body, division_code FROM supervision_sample WHERE id = $1",
                    &[id.to_string().into()],
                )?
                .ok_or_else(|| not_found(format_args!("sample {id}")))?;
            if !actor.sees_code(&body.str(1)?)? {
                return Err(not_found(format_args!("sample {id}")));
            }
            let s: StoredSample = serde_json::from_str(&body.str(0)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for d in &s.draw.enterprises {
                one(t, &d.enterprise.uscc)?;
            }
            sample_id = Some(*id);
        }
        Targets::Filter {
            division,
            dust_involved,
        } => {
            let d = DivisionCode::parse(division).map_err(|e| invalid(e.to_string()))?;
            if !actor.sees(&d) {
                return Err(not_found(format_args!("division {d}")));
            }
            let rows = t.query(
                "SELECT id, uscc, village_code FROM enterprise
                 WHERE village_code LIKE $1 AND ($2 < 0 OR coalesce(dust_involved, 0) = $2)
                 ORDER BY uscc",
                &[
                    format!("{}%", d.significant_prefix()).into(),
                    dust_involved.map_or(-1i64, i64::from).into(),
                ],
            )?;
            for r in &rows {
                out.push((uuid_of(r, 0)?, r.str(1)?, r.str(2)?));
            }
        }
    }
    Ok((out, sample_id))
}

fn load_assignment(t: &mut dyn Tx, id: Uuid) -> Result<Assignment, StoreError> {
    let row = t
        .query_opt(
            "SELECT body FROM assignment WHERE id = $1",
            &[id.to_string().into()],
        )?
        .ok_or_else(|| StoreError::Corrupt(format!("assignment {id} was not projected")))?;
    assignment_of(&row, 0)
}

/// [`Store::assign`] inside the caller's transaction (a tip's verification is assigned
/// in the transaction that records the tip).
pub(crate) fn assign_in(
    t: &mut dyn Tx,
    pg: bool,
    actor: &Actor,
    req: &AssignRequest,
) -> Result<AssignOutcome, StoreError> {
    if !actor.may_manage() {
        return Err(problem(
            ProblemCode::ForbiddenRole,
            format!("a {} does not assign work", actor.role.as_str()),
        ));
    }
    if req.due < china_today() {
        return Err(invalid(format!("the due date {} has passed", req.due)));
    }
    if let Some(n) = &req.note {
        check_text("note", n, MAX_NOTE_CHARS)?;
    }
    {
        // The targets first: outside the jurisdiction is a 404 before anything else
        // is said about the request.
        let (rows, sample_id) = target_rows(t, actor, &req.targets)?;
        let assignee = assignee_scope(t, actor, &req.assignee)?;
        // A shipped template (offered to every phone when the server starts) or one
        // published since.
        let prefix = format!("{}@", req.template_id);
        if gridwalk_checklist::builtin_template(&req.template_id).is_none()
            && t.query_opt(
                "SELECT 1 FROM change_log WHERE kind = 'template' AND substr(key, 1, $2) = $1",
                &[
                    prefix.clone().into(),
                    (prefix.chars().count() as i64).into(),
                ],
            )?
            .is_none()
        {
            return Err(invalid(format!("no template '{}'", req.template_id)));
        }
        if rows.is_empty() {
            return Err(invalid("the request names no enterprise"));
        }
        if rows.len() > MAX_ASSIGNMENTS_PER_REQUEST {
            return Err(too_many(rows.len()));
        }
        let mut out = AssignOutcome {
            created: Vec::new(),
            already_open: Vec::new(),
        };
        for (enterprise_id, uscc, village) in rows {
            let village_code =
                DivisionCode::parse(&village).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if !assignee.covers(&village_code) {
                return Err(invalid(format!(
                    "{uscc} lies in {village}, outside {}'s jurisdiction {assignee}",
                    req.assignee
                )));
            }
            if t.query_opt(
                "SELECT 1 FROM assignment WHERE enterprise_uscc = $1 AND assignee = $2
                       AND template_id = $3 AND status = 'open'",
                &[
                    uscc.clone().into(),
                    req.assignee.clone().into(),
                    req.template_id.clone().into(),
                ],
            )?
            .is_some()
            {
                out.already_open.push(uscc);
                continue;
            }
            let id = Uuid::now_v7();
            let event = AssignmentEvent {
                assignment_id: id,
                at: now(),
                actor: actor.user_name.clone(),
                change: AssignmentChange::Created {
                    enterprise_id,
                    enterprise_uscc: uscc.clone(),
                    division_code: village.clone(),
                    assignee: req.assignee.clone(),
                    template_id: req.template_id.clone(),
                    due: req.due,
                    note: req.note.clone(),
                    sample_id,
                },
            };
            record_assignment_event(t, pg, actor, &event, &uscc, &village)?;
            out.created.push(load_assignment(t, id)?);
        }
        Ok(out)
    }
}

/// An officer's event on an open assignment, inside the caller's transaction: checked
/// (the assignment in the actor's jurisdiction and open), recorded like every console
/// action, projected; the assignment as it is afterwards.
pub(crate) fn assignment_event_in(
    t: &mut dyn Tx,
    pg: bool,
    actor: &Actor,
    id: Uuid,
    change: &mut dyn FnMut(&mut dyn Tx, &Assignment) -> Result<AssignmentChange, StoreError>,
) -> Result<Assignment, StoreError> {
    let a = match t.query_opt(
        "SELECT body FROM assignment WHERE id = $1",
        &[id.to_string().into()],
    )? {
        Some(r) => assignment_of(&r, 0)?,
        None => return Err(not_found(format_args!("assignment {id}"))),
    };
    if !actor.sees_code(&a.division_code)? {
        return Err(not_found(format_args!("assignment {id}")));
    }
    if a.status != AssignmentStatus::Open {
        return Err(problem(
            ProblemCode::HazardTransition,
            format!("assignment {id} is {} already", a.status.as_str()),
        ));
    }
    let event = AssignmentEvent {
        assignment_id: id,
        at: now().max(a.updated_at + chrono::Duration::milliseconds(1)),
        actor: actor.user_name.clone(),
        change: change(t, &a)?,
    };
    record_assignment_event(t, pg, actor, &event, &a.enterprise_uscc, &a.division_code)?;
    load_assignment(t, id)
}

/// Records an assignment event as the officer's console record (projected, pulled).
fn record_assignment_event(
    t: &mut dyn Tx,
    pg: bool,
    actor: &Actor,
    event: &AssignmentEvent,
    uscc: &str,
    division: &str,
) -> Result<(), StoreError> {
    console_record(
        t,
        pg,
        actor,
        &Uuid::now_v7().to_string(),
        "assignment",
        &to_json(event)?,
        Some(uscc),
        division,
    )?;
    Ok(())
}
