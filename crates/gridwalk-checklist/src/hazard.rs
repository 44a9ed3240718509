//! Hazards (隐患) and their lifecycle, as an append-only event history.
//!
//! ```text
//! Created ──► found ──Assigned──► assigned ──RectificationStarted──► rectifying
//!                                                                   │   ▲
//!                                              Reinspected{passed}  │   │ Reinspected{failed}
//!                                                                   ▼   │ or Reopened
//!                                       closed ◄──Closed── reinspected ─┘
//!                                          └──────────Reopened──────────► rectifying
//! ```
//!
//! * `Assigned` also reassigns (in `assigned` or `rectifying`, status unchanged).
//! * `ListedSupervision` (挂牌督办) is for major hazards only, once, before closing; its
//!   deadline becomes the hazard's deadline.
//! * `DeadlineExtended` moves the deadline later, before closing.
//! * `PlanSet` records the 五定 rectification plan (measures, responsible person, funds,
//!   deadline, interim safety measures) while the hazard is open; a later plan replaces
//!   an earlier one. Its deadline may bring the hazard's deadline forward, never push it
//!   back (that is `DeadlineExtended`, an officer's decision), and never before the day
//!   the hazard was found (so no one makes a hazard overdue by a plan).
//! * A hazard is overdue when it is still found/assigned/rectifying after its deadline.
//!
//! Devices append events offline. [`fold`] deduplicates by event id and sorts by
//! `(at, id)` before applying, so two devices' histories merged in any arrival order
//! give the same state. [`apply`] validates one event before it is appended.

use crate::template::LegalBasis;
use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// 一般隐患 or 重大隐患.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 一般隐患.
    General,
    /// 重大事故隐患.
    Major,
}

impl Severity {
    /// Chinese label.
    pub fn name_zh(self) -> &'static str {
        match self {
            Severity::General => "一般隐患",
            Severity::Major => "重大隐患",
        }
    }
}

/// Default rectification periods by severity, in days from the day the hazard was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePolicy {
    pub general_days: u32,
    pub major_days: u32,
}

impl Default for DeadlinePolicy {
    /// 30 days for general hazards, 90 for major ones.
    fn default() -> Self {
        DeadlinePolicy {
            general_days: 30,
            major_days: 90,
        }
    }
}

/// China Standard Time (UTC+8), used to turn instants into calendar dates.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is within ±24 h")
}

/// The calendar date in China of an instant.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china_offset()).date_naive()
}

impl DeadlinePolicy {
    /// Days allowed for a severity.
    pub fn days(&self, severity: Severity) -> u32 {
        match severity {
            Severity::General => self.general_days,
            Severity::Major => self.major_days,
        }
    }

    /// The default deadline of a hazard found at `found_at` (China date + days).
    pub fn deadline_for(&self, severity: Severity, found_at: DateTime<Utc>) -> NaiveDate {
        let d = china_date(found_at);
        d.checked_add_days(Days::new(u64::from(self.days(severity))))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// Where a hazard is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HazardStatus {
    Found,
    Assigned,
    Rectifying,
    Reinspected,
    Closed,
}

impl HazardStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [HazardStatus; 5] = [
        HazardStatus::Found,
        HazardStatus::Assigned,
        HazardStatus::Rectifying,
        HazardStatus::Reinspected,
        HazardStatus::Closed,
    ];
}

/// 挂牌督办: a major hazard put under listed supervision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedSupervision {
    pub notice_no: String,
    pub supervising_body: String,
    pub deadline: NaiveDate,
}

/// 五定: the rectification plan of a hazard (整改措施, 责任人, 整改资金, 整改时限, 应急预案).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RectificationPlan {
    /// 整改措施.
    pub measures: String,
    /// 责任人: the person at the enterprise answerable for the rectification.
    pub responsible: String,
    /// 整改资金, in yuan (whole yuan; `None` when not yet budgeted).
    #[serde(default)]
    pub funds_yuan: Option<u64>,
    /// 整改时限: the day the rectification must be done by.
    pub deadline: NaiveDate,
    /// 应急预案: interim safety measures until the hazard is closed.
    pub interim_measures: String,
}

/// What happened to a hazard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HazardEventKind {
    Created {
        severity: Severity,
        enterprise_id: Uuid,
        description_zh: String,
        #[serde(default)]
        item_id: Option<String>,
        #[serde(default)]
        inspection_id: Option<Uuid>,
        #[serde(default)]
        legal_basis: Option<LegalBasis>,
        deadline: NaiveDate,
        #[serde(default)]
        photo_sha256s: Vec<String>,
    },
    Assigned {
        to: String,
    },
    RectificationStarted,
    Reinspected {
        passed: bool,
        #[serde(default)]
        before_photo_sha256s: Vec<String>,
        #[serde(default)]
        after_photo_sha256s: Vec<String>,
        #[serde(default)]
        note: Option<String>,
    },
    Closed,
    Reopened {
        reason: String,
    },
    ListedSupervision(ListedSupervision),
    DeadlineExtended {
        new_deadline: NaiveDate,
        reason: String,
    },
    /// 五定 set or revised (protocol 3).
    PlanSet(RectificationPlan),
}

/// The name of an event kind, for errors and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKindName {
    Created,
    Assigned,
    RectificationStarted,
    Reinspected,
    Closed,
    Reopened,
    ListedSupervision,
    DeadlineExtended,
    PlanSet,
}

impl HazardEventKind {
    /// The kind's name.
    pub fn name(&self) -> EventKindName {
        match self {
            HazardEventKind::Created { .. } => EventKindName::Created,
            HazardEventKind::Assigned { .. } => EventKindName::Assigned,
            HazardEventKind::RectificationStarted => EventKindName::RectificationStarted,
            HazardEventKind::Reinspected { .. } => EventKindName::Reinspected,
            HazardEventKind::Closed => EventKindName::Closed,
            HazardEventKind::Reopened { .. } => EventKindName::Reopened,
            HazardEventKind::ListedSupervision(_) => EventKindName::ListedSupervision,
            HazardEventKind::DeadlineExtended { .. } => EventKindName::DeadlineExtended,
            HazardEventKind::PlanSet(_) => EventKindName::PlanSet,
        }
    }
}

/// One entry of a hazard's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HazardEvent {
    /// UUID v7, made on the device that recorded the event.
    pub id: Uuid,
    pub hazard_id: Uuid,
    pub at: DateTime<Utc>,
    /// User id of whoever recorded it.
    pub actor: String,
    #[serde(flatten)]
    pub kind: HazardEventKind,
}

impl HazardEvent {
    /// A new event with a fresh UUID v7.
    pub fn new(
        hazard_id: Uuid,
        at: DateTime<Utc>,
        actor: impl Into<String>,
        kind: HazardEventKind,
    ) -> Self {
        HazardEvent {
            id: Uuid::now_v7(),
            hazard_id,
            at,
            actor: actor.into(),
            kind,
        }
    }

    fn order_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.at, self.id)
    }
}

/// One reinspection (复查) on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReinspectionRecord {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub passed: bool,
    pub before_photo_sha256s: Vec<String>,
    pub after_photo_sha256s: Vec<String>,
    pub note: Option<String>,
}

/// The current state of a hazard, folded from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HazardState {
    pub hazard_id: Uuid,
    pub severity: Severity,
    pub status: HazardStatus,
    pub enterprise_id: Uuid,
    pub description_zh: String,
    pub item_id: Option<String>,
    pub inspection_id: Option<Uuid>,
    pub legal_basis: Option<LegalBasis>,
    pub photo_sha256s: Vec<String>,
    pub found_at: DateTime<Utc>,
    pub found_by: String,
    /// Current rectification deadline.
    pub deadline: NaiveDate,
    pub assignee: Option<String>,
    pub listed: Option<ListedSupervision>,
    /// The current 五定 plan, if one was set.
    #[serde(default)]
    pub plan: Option<RectificationPlan>,
    pub reinspections: Vec<ReinspectionRecord>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Number of events applied.
    pub event_count: u32,
    /// `(at, id)` of the last event applied.
    pub last_event_at: DateTime<Utc>,
    pub last_event_id: Uuid,
}

impl HazardState {
    /// Overdue: still found/assigned/rectifying after the deadline day (China dates).
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        matches!(
            self.status,
            HazardStatus::Found | HazardStatus::Assigned | HazardStatus::Rectifying
        ) && today > self.deadline
    }

    /// [`HazardState::is_overdue`] for an instant.
    pub fn is_overdue_at(&self, now: DateTime<Utc>) -> bool {
        self.is_overdue(china_date(now))
    }

    /// Failed reinspections so far.
    pub fn failed_reinspections(&self) -> usize {
        self.reinspections.iter().filter(|r| !r.passed).count()
    }
}

/// Why an event cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("no events")]
    NoEvents,
    #[error("the first event must be `created`, not `{0:?}`")]
    NotCreated(EventKindName),
    #[error("the hazard already exists")]
    AlreadyCreated,
    #[error("event {event} belongs to hazard {found}, not {expected}")]
    WrongHazard {
        event: Uuid,
        expected: Uuid,
        found: Uuid,
    },
    #[error("`{event:?}` is not allowed when the hazard is {from:?}")]
    Illegal {
        from: HazardStatus,
        event: EventKindName,
    },
    #[error("only major hazards can be put under listed supervision (挂牌督办)")]
    ListingNotMajor,
    #[error("the hazard is already under listed supervision")]
    AlreadyListed,
    #[error("new deadline {requested} is not after the current one {current}")]
    DeadlineNotLater {
        current: NaiveDate,
        requested: NaiveDate,
    },
    #[error("the plan's deadline {requested} is after the hazard's deadline {current}; an officer extends deadlines")]
    PlanDeadlineLater {
        current: NaiveDate,
        requested: NaiveDate,
    },
    #[error("the plan's deadline {requested} is before the day the hazard was found, {found}")]
    PlanDeadlineBeforeFound {
        found: NaiveDate,
        requested: NaiveDate,
    },
    #[error("event {0} sorts before the last applied event; give it a later time")]
    OutOfOrder(Uuid),
    #[error("two different events share the id {0}")]
    ConflictingEvent(Uuid),
}

/// Creates the state from a `created` event.
fn create(e: &HazardEvent) -> Result<HazardState, TransitionError> {
    match &e.kind {
        HazardEventKind::Created {
            severity,
            enterprise_id,
            description_zh,
            item_id,
            inspection_id,
            legal_basis,
            deadline,
            photo_sha256s,
        } => Ok(HazardState {
            hazard_id: e.hazard_id,
            severity: *severity,
            status: HazardStatus::Found,
            enterprise_id: *enterprise_id,
            description_zh: description_zh.clone(),
            item_id: item_id.clone(),
            inspection_id: *inspection_id,
            legal_basis: legal_basis.clone(),
            photo_sha256s: photo_sha256s.clone(),
            found_at: e.at,
            found_by: e.actor.clone(),
            deadline: *deadline,
            assignee: None,
            listed: None,
            plan: None,
            reinspections: Vec::new(),
            closed_at: None,
            event_count: 1,
            last_event_at: e.at,
            last_event_id: e.id,
        }),
        other => Err(TransitionError::NotCreated(other.name())),
    }
}

/// Validates `event` against `state` and returns the next state.
pub fn apply(state: &HazardState, event: &HazardEvent) -> Result<HazardState, TransitionError> {
    use HazardStatus as S;
    if event.hazard_id != state.hazard_id {
        return Err(TransitionError::WrongHazard {
            event: event.id,
            expected: state.hazard_id,
            found: event.hazard_id,
        });
    }
    if event.order_key() <= (state.last_event_at, state.last_event_id) {
        return Err(TransitionError::OutOfOrder(event.id));
    }
    let illegal = || TransitionError::Illegal {
        from: state.status,
        event: event.kind.name(),
    };
    let mut next = state.clone();
    match (&event.kind, state.status) {
        (HazardEventKind::Created { .. }, _) => return Err(TransitionError::AlreadyCreated),
        (HazardEventKind::Assigned { to }, S::Found | S::Assigned | S::Rectifying) => {
            next.assignee = Some(to.clone());
            if state.status == S::Found {
                next.status = S::Assigned;
            }
        }
        (HazardEventKind::RectificationStarted, S::Assigned) => next.status = S::Rectifying,
        (
            HazardEventKind::Reinspected {
                passed,
                before_photo_sha256s,
                after_photo_sha256s,
                note,
            },
            S::Rectifying,
        ) => {
            next.reinspections.push(ReinspectionRecord {
                at: event.at,
                actor: event.actor.clone(),
                passed: *passed,
                before_photo_sha256s: before_photo_sha256s.clone(),
                after_photo_sha256s: after_photo_sha256s.clone(),
                note: note.clone(),
            });
            next.status = if *passed {
                S::Reinspected
            } else {
                S::Rectifying
            };
        }
        (HazardEventKind::Closed, S::Reinspected) => {
            next.status = S::Closed;
            next.closed_at = Some(event.at);
        }
        (HazardEventKind::Reopened { .. }, S::Reinspected | S::Closed) => {
            next.status = S::Rectifying;
            next.closed_at = None;
        }
        (HazardEventKind::ListedSupervision(l), s) if s != S::Closed => {
            if state.severity != Severity::Major {
                return Err(TransitionError::ListingNotMajor);
            }
            if state.listed.is_some() {
                return Err(TransitionError::AlreadyListed);
            }
            next.listed = Some(l.clone());
            next.deadline = l.deadline;
        }
        (HazardEventKind::DeadlineExtended { new_deadline, .. }, s) if s != S::Closed => {
            if *new_deadline <= state.deadline {
                return Err(TransitionError::DeadlineNotLater {
                    current: state.deadline,
                    requested: *new_deadline,
                });
            }
            next.deadline = *new_deadline;
        }
        (HazardEventKind::PlanSet(plan), S::Found | S::Assigned | S::Rectifying) => {
            if plan.deadline > state.deadline {
                return Err(TransitionError::PlanDeadlineLater {
                    current: state.deadline,
                    requested: plan.deadline,
                });
            }
            let found = china_date(state.found_at);
            if plan.deadline < found {
                return Err(TransitionError::PlanDeadlineBeforeFound {
                    found,
                    requested: plan.deadline,
                });
            }
            next.deadline = plan.deadline;
            next.plan = Some(plan.clone());
        }
        _ => return Err(illegal()),
    }
    next.event_count += 1;
    next.last_event_at = event.at;
    next.last_event_id = event.id;
    Ok(next)
}

/// Deduplicates by id and sorts by `(at, id)`: the order every device folds in.
pub fn merge<'a>(
    histories: impl IntoIterator<Item = &'a HazardEvent>,
) -> Result<Vec<HazardEvent>, TransitionError> {
    let mut by_id: BTreeMap<Uuid, &HazardEvent> = BTreeMap::new();
    for e in histories {
        match by_id.get(&e.id) {
            Some(existing) if *existing != e => {
                return Err(TransitionError::ConflictingEvent(e.id))
            }
            Some(_) => {}
            None => {
                by_id.insert(e.id, e);
            }
        }
    }
    let mut v: Vec<HazardEvent> = by_id.into_values().cloned().collect();
    v.sort_by_key(HazardEvent::order_key);
    Ok(v)
}

/// Folds a hazard's events (in any order, duplicates allowed) into its state.
pub fn fold<'a>(
    events: impl IntoIterator<Item = &'a HazardEvent>,
) -> Result<HazardState, TransitionError> {
    let sorted = merge(events)?;
    let mut iter = sorted.iter();
    let first = iter.next().ok_or(TransitionError::NoEvents)?;
    let mut state = create(first)?;
    for e in iter {
        state = apply(&state, e)?;
    }
    Ok(state)
}

/// Folds a hazard's events in the merged order (`(at, id)`, duplicates removed) without
/// losing any: an event that is not legal where it falls in that order — two phones
/// changed the hazard offline at once, say both closed it — is skipped and returned with
/// the reason, and the history keeps it. Every device and the server holding the same
/// events reach the same state. `Err` only without a `created` event (or for two
/// different events under one id).
pub fn fold_keeping<'a>(
    events: impl IntoIterator<Item = &'a HazardEvent>,
) -> Result<(HazardState, Vec<(Uuid, TransitionError)>), TransitionError> {
    let sorted = merge(events)?;
    let mut skipped = Vec::new();
    let mut state: Option<HazardState> = None;
    for e in &sorted {
        let next = match &state {
            None => create(e),
            Some(s) => apply(s, e),
        };
        match next {
            Ok(n) => state = Some(n),
            Err(err) => skipped.push((e.id, err)),
        }
    }
    state.map(|s| (s, skipped)).ok_or(TransitionError::NoEvents)
}

/// Starts a hazard from a finding-like description with the policy's default deadline.
#[allow(clippy::too_many_arguments)]
pub fn created_event(
    hazard_id: Uuid,
    at: DateTime<Utc>,
    actor: impl Into<String>,
    severity: Severity,
    enterprise_id: Uuid,
    description_zh: impl Into<String>,
    policy: &DeadlinePolicy,
) -> HazardEvent {
    HazardEvent::new(
        hazard_id,
        at,
        actor,
        HazardEventKind::Created {
            severity,
            enterprise_id,
            description_zh: description_zh.into(),
            item_id: None,
            inspection_id: None,
            legal_basis: None,
            deadline: policy.deadline_for(severity, at),
            photo_sha256s: Vec::new(),
        },
    )
}

/// A `created` event for a finding of a finalized inspection.
pub fn created_from_finding(
    hazard_id: Uuid,
    at: DateTime<Utc>,
    actor: impl Into<String>,
    enterprise_id: Uuid,
    inspection_id: Uuid,
    finding: &crate::evaluate::Finding,
    policy: &DeadlinePolicy,
) -> HazardEvent {
    HazardEvent::new(
        hazard_id,
        at,
        actor,
        HazardEventKind::Created {
            severity: finding.severity,
            enterprise_id,
            description_zh: finding.text_zh.clone(),
            item_id: Some(finding.item_id.clone()),
            inspection_id: Some(inspection_id),
            legal_basis: finding.legal_basis.clone(),
            deadline: policy.deadline_for(finding.severity, at),
            photo_sha256s: finding.photo_sha256s.clone(),
        },
    )
}
