//! Hazards (隐患): an identity row plus an append-only history of events; the state is
//! always folded from the events with `gridwalk_checklist::fold_keeping`, as the server
//! folds them: in `(at, id)` order, an event that is not legal where it falls (two phones
//! changed the hazard offline at once) is skipped and kept, with the reason. So a phone
//! and the server holding the same events show the same state. Every event recorded here
//! is stored as its canonical JSON and linked into the device's evidence chain
//! (`hazard_event`); events pulled from other devices are stored without a link.

use super::{begin, check_text, from_json, now_utc, parse_uuid, InspectionError};
use crate::error::StoreError;
use crate::evidence::PhotoInput;
use crate::store::Store;
use chrono::{Duration, Local, NaiveDate, Utc};
use gridwalk_checklist::canonical::{sha256_hex, to_canonical_json};
use gridwalk_checklist::hazard::china_date;
use gridwalk_checklist::{
    apply, fold, fold_keeping, HazardEvent, HazardEventKind, HazardState, HazardStatus,
    RectificationPlan, TransitionError,
};
use gridwalk_protocol::limits::{
    MAX_LABEL_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS, MAX_REASON_CHARS,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use uuid::Uuid;

/// A hazard for listings.
#[derive(Debug, Clone, Serialize)]
pub struct HazardSummary {
    /// Hazard id.
    pub id: Uuid,
    /// The checklist item that failed.
    pub item_id: Option<String>,
    /// `major` or `general`.
    pub severity: gridwalk_checklist::Severity,
    /// Legal basis as printed (`10号令 第十一条(三)`).
    pub legal_basis: Option<String>,
    /// `found`, `assigned`, `rectifying`, `reinspected` or `closed`.
    pub state: HazardStatus,
    /// Current rectification deadline (China date).
    pub deadline: NaiveDate,
    /// Still open after the deadline (today, China date).
    pub overdue: bool,
    /// Enterprise id.
    pub enterprise_id: Uuid,
    /// Enterprise name.
    pub enterprise_name: String,
    /// The inspection that found it.
    pub inspection_id: Option<Uuid>,
    /// Description (the item's text).
    pub description: String,
    /// Who is rectifying it.
    pub assignee: Option<String>,
    /// Under listed supervision (挂牌督办).
    pub listed: bool,
}

/// A stored event and whether the fold applied it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredHazardEvent {
    /// The event.
    #[serde(flatten)]
    pub event: HazardEvent,
    /// Why the fold skipped it (it is not legal where it falls in the merged `(at, id)`
    /// order, e.g. the second of two closes recorded offline on two phones); `null` when
    /// it was applied. The text is `TransitionError`'s, as the server records it.
    pub skipped_reason: Option<String>,
}

/// A hazard with its folded state and full history.
#[derive(Debug, Clone, Serialize)]
pub struct HazardDetail {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: HazardSummary,
    /// The folded state.
    pub detail: HazardState,
    /// Every event, in fold order, applied or skipped.
    pub events: Vec<StoredHazardEvent>,
}

/// Appends one event (canonical JSON) and its chain link, in the caller's transaction.
pub(crate) fn insert_event(conn: &Connection, e: &HazardEvent) -> Result<(), InspectionError> {
    let sha = insert_event_row(conn, e)?;
    crate::evidence::append_chain(conn, "hazard_event", &e.id.to_string(), &sha)?;
    Ok(())
}

/// Stores one event as canonical JSON (no chain link); returns its SHA-256.
fn insert_event_row(conn: &Connection, e: &HazardEvent) -> Result<String, InspectionError> {
    let bytes = to_canonical_json(e)?;
    let sha = sha256_hex(&bytes);
    let text = String::from_utf8(bytes).map_err(|err| StoreError::Corrupt {
        table: "hazard_event",
        column: "event",
        detail: err.to_string(),
    })?;
    let kind = super::enum_name(&e.kind.name());
    conn.execute(
        "INSERT INTO hazard_event (id, hazard_id, at, actor, kind, event, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.id.to_string(),
            e.hazard_id.to_string(),
            super::ts(&e.at),
            e.actor,
            kind,
            text,
            super::ts(&now_utc())
        ],
    )?;
    Ok(sha)
}

/// Applies one hazard event recorded on another device, in the caller's transaction,
/// if what it builds on is here: `Ok(Err(reason))` when it must wait. The hazard row
/// comes from its `created` event, which waits for its enterprise; any other event waits
/// for the hazard's creation. Once that is here the event is stored even when it is not
/// legal where it falls in the merged order: the fold skips it and says why
/// ([`fold_keeping`]), as the server does, so both reach the same state. It is stored
/// without a chain link (it is the other device's evidence, and must not be pushed
/// again from here).
pub(crate) fn apply_pulled_event(
    conn: &Connection,
    e: &HazardEvent,
) -> Result<Result<(), String>, InspectionError> {
    let hazard = e.hazard_id.to_string();
    let known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM hazard WHERE id = ?1)",
        [&hazard],
        |r| r.get(0),
    )?;
    let already: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM hazard_event WHERE id = ?1)",
        [e.id.to_string()],
        |r| r.get(0),
    )?;
    if already {
        return Ok(Ok(())); // already here
    }
    match (&e.kind, known) {
        (
            HazardEventKind::Created {
                severity,
                enterprise_id,
                item_id,
                inspection_id,
                ..
            },
            false,
        ) => {
            let enterprise: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM enterprise WHERE id = ?1)",
                [enterprise_id.to_string()],
                |r| r.get(0),
            )?;
            if !enterprise {
                return Ok(Err(format!(
                    "enterprise {enterprise_id} is not on this device yet"
                )));
            }
            if let Err(err) = fold(std::iter::once(e)) {
                return Ok(Err(format!("cannot start the hazard's history: {err}")));
            }
            // The finding inspection is on this device only if it was made here.
            let inspection: Option<String> = match inspection_id {
                Some(i) => conn
                    .query_row(
                        "SELECT id FROM inspection WHERE id = ?1",
                        [i.to_string()],
                        |r| r.get(0),
                    )
                    .optional()?,
                None => None,
            };
            conn.execute(
                "INSERT INTO hazard (id, enterprise_id, inspection_id, item_id, severity, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    hazard,
                    enterprise_id.to_string(),
                    inspection,
                    item_id,
                    super::enum_name(severity),
                    super::ts(&e.at)
                ],
            )?;
        }
        // A hazard is created once; the server refuses a second creation, so one here
        // is not the server's and must not replace the hazard's identity.
        (HazardEventKind::Created { .. }, true) => {
            return Ok(Err(format!("hazard {hazard} already exists")));
        }
        (_, false) => {
            return Ok(Err("the hazard's creation is not on this device yet".into()));
        }
        (_, true) => {}
    }
    insert_event_row(conn, e)?;
    Ok(Ok(()))
}

fn load_events(conn: &Connection, hazard: &Uuid) -> Result<Vec<HazardEvent>, InspectionError> {
    let mut stmt =
        conn.prepare("SELECT event FROM hazard_event WHERE hazard_id = ?1 ORDER BY at, id")?;
    let rows = stmt.query_map([hazard.to_string()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(from_json("hazard_event", "event", &row?)?);
    }
    Ok(out)
}

/// A hazard's history folded the way the server folds it: the state, and the events
/// skipped with why.
struct Folded {
    events: Vec<HazardEvent>,
    state: HazardState,
    skipped: BTreeMap<Uuid, TransitionError>,
}

fn load_folded(conn: &Connection, hazard: &Uuid) -> Result<Folded, InspectionError> {
    let events = load_events(conn, hazard)?;
    if events.is_empty() {
        return Err(InspectionError::HazardNotFound(hazard.to_string()));
    }
    let (state, skipped) = fold_keeping(&events)?;
    Ok(Folded {
        events,
        state,
        skipped: skipped.into_iter().collect(),
    })
}

pub(crate) fn load_state(conn: &Connection, hazard: &Uuid) -> Result<HazardState, InspectionError> {
    Ok(load_folded(conn, hazard)?.state)
}

/// Open hazards (not closed) found by the inspections a revision supersedes, by item:
/// a revision's finding for the same item continues that hazard instead of opening a
/// second one.
pub(crate) fn open_hazards_of_chain(
    conn: &Connection,
    mut supersedes: Option<Uuid>,
) -> Result<BTreeMap<String, Uuid>, InspectionError> {
    let mut out = BTreeMap::new();
    let mut guard = 0;
    while let Some(id) = supersedes {
        guard += 1;
        if guard > 10_000 {
            break;
        }
        let mut stmt =
            conn.prepare("SELECT item_id, hazard_id FROM finding WHERE inspection_id = ?1")?;
        let rows = stmt
            .query_map([id.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (item, h) in rows {
            let h = parse_uuid("finding", "hazard_id", &h)?;
            if !out.contains_key(&item) && load_state(conn, &h)?.status != HazardStatus::Closed {
                out.insert(item, h);
            }
        }
        let prev: Option<Option<String>> = conn
            .query_row(
                "SELECT supersedes FROM inspection WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        supersedes = prev
            .flatten()
            .map(|s| parse_uuid("inspection", "supersedes", &s))
            .transpose()?;
    }
    Ok(out)
}

fn parse_hazard_id(key: &str) -> Result<Uuid, InspectionError> {
    Uuid::parse_str(key.trim()).map_err(|_| InspectionError::HazardNotFound(key.to_string()))
}

fn summary(
    conn: &Connection,
    state: &HazardState,
    today: NaiveDate,
) -> Result<HazardSummary, InspectionError> {
    let name: Option<String> = conn
        .query_row(
            "SELECT name FROM enterprise WHERE id = ?1",
            [state.enterprise_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(HazardSummary {
        id: state.hazard_id,
        item_id: state.item_id.clone(),
        severity: state.severity,
        legal_basis: state.legal_basis.as_ref().map(ToString::to_string),
        state: state.status,
        deadline: state.deadline,
        overdue: state.is_overdue(today),
        enterprise_id: state.enterprise_id,
        enterprise_name: name.unwrap_or_default(),
        inspection_id: state.inspection_id,
        description: state.description_zh.clone(),
        assignee: state.assignee.clone(),
        listed: state.listed.is_some(),
    })
}

/// What the device refuses in an event before the state machine sees it: texts over
/// `gridwalk_protocol::limits`, and a passed re-inspection without an after-photo (a
/// failed one may have none).
fn check_event(kind: &HazardEventKind) -> Result<(), InspectionError> {
    match kind {
        HazardEventKind::Assigned { to } => check_text("assignee", to, MAX_NAME_CHARS),
        HazardEventKind::Reinspected {
            passed,
            after_photo_sha256s,
            note,
            ..
        } => {
            if *passed && after_photo_sha256s.is_empty() {
                return Err(InspectionError::AfterPhotoRequired);
            }
            note.as_deref()
                .map_or(Ok(()), |n| check_text("note", n, MAX_NOTE_CHARS))
        }
        HazardEventKind::Reopened { reason } | HazardEventKind::DeadlineExtended { reason, .. } => {
            check_text("reason", reason, MAX_REASON_CHARS)
        }
        HazardEventKind::ListedSupervision(l) => {
            check_text("notice_no", &l.notice_no, MAX_LABEL_CHARS)?;
            check_text("supervising_body", &l.supervising_body, MAX_LABEL_CHARS)
        }
        HazardEventKind::PlanSet(p) => {
            check_text("measures", &p.measures, MAX_NOTE_CHARS)?;
            check_text("responsible", &p.responsible, MAX_NAME_CHARS)?;
            check_text("interim_measures", &p.interim_measures, MAX_NOTE_CHARS)
        }
        HazardEventKind::Created { .. }
        | HazardEventKind::RectificationStarted
        | HazardEventKind::Closed => Ok(()),
    }
}

/// When a new event recorded here is stamped: now, or 1 ms after the latest event of
/// the history (applied or skipped) when the clock is behind it.
fn next_event_time(events: &[HazardEvent], state: &HazardState) -> chrono::DateTime<Utc> {
    let latest = events
        .iter()
        .map(|e| e.at)
        .max()
        .unwrap_or(state.last_event_at)
        .max(state.last_event_at);
    let now = now_utc();
    if now <= latest {
        latest + Duration::milliseconds(1)
    } else {
        now
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, InspectionError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| InspectionError::BadDate(s.to_string()))
}

impl Store {
    /// Every hazard (optionally only one enterprise's), newest first, with its folded
    /// state; `overdue` is judged against today's China date.
    pub fn hazards(&self, enterprise: Option<&str>) -> Result<Vec<HazardSummary>, InspectionError> {
        let filter = match enterprise {
            Some(key) => Some(self.register_entry(key)?.enterprise.id.to_string()),
            None => None,
        };
        let mut stmt = self.conn.prepare(
            "SELECT id FROM hazard WHERE ?1 IS NULL OR enterprise_id = ?1 ORDER BY created_at DESC, id",
        )?;
        let ids = stmt
            .query_map([filter], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let today = china_date(Utc::now());
        let mut out = Vec::new();
        for id in ids {
            let id = parse_uuid("hazard", "id", &id)?;
            let state = load_state(&self.conn, &id)?;
            out.push(summary(&self.conn, &state, today)?);
        }
        Ok(out)
    }

    /// One hazard with its state and history: every event in fold order, each with why
    /// the fold skipped it (`None` when applied).
    pub fn hazard(&self, id: &str) -> Result<HazardDetail, InspectionError> {
        let id = parse_hazard_id(id)?;
        let Folded {
            events,
            state,
            skipped,
        } = load_folded(&self.conn, &id)?;
        let ordered = gridwalk_checklist::merge(&events)?;
        Ok(HazardDetail {
            summary: summary(&self.conn, &state, china_date(Utc::now()))?,
            detail: state,
            events: ordered
                .into_iter()
                .map(|event| StoredHazardEvent {
                    skipped_reason: skipped.get(&event.id).map(ToString::to_string),
                    event,
                })
                .collect(),
        })
    }

    /// Validates and appends one lifecycle event (one transaction): it must apply to the
    /// folded state. An illegal transition is refused with
    /// [`gridwalk_checklist::TransitionError`] and nothing is stored. The event is
    /// stamped now, or just after the hazard's latest event (applied or skipped) if the
    /// clock is behind it, so it falls last in the merged order and the state it was
    /// checked against is the one it follows.
    pub fn hazard_transition(
        &self,
        id: &str,
        actor: &str,
        kind: HazardEventKind,
    ) -> Result<HazardState, InspectionError> {
        let id = parse_hazard_id(id)?;
        let actor = actor.trim();
        if actor.is_empty() {
            return Err(InspectionError::EmptyInspector);
        }
        check_text("actor", actor, MAX_NAME_CHARS)?;
        check_event(&kind)?;
        let tx = begin(&self.conn)?;
        let folded = load_folded(&tx, &id)?;
        let state = folded.state;
        let at = next_event_time(&folded.events, &state);
        let event = HazardEvent::new(id, at, actor, kind);
        let next = apply(&state, &event)?;
        insert_event(&tx, &event)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(next)
    }

    /// Sets or revises the hazard's 五定 rectification plan (a `plan_set` event, chained
    /// and queued like every hazard event). The texts are trimmed; measures (整改措施),
    /// the responsible person (责任人) and the interim measures (应急预案) may not be
    /// blank (`hazard.plan_incomplete`); funds (整改资金) may be unknown. Refused while the
    /// hazard is re-inspected or closed (`hazard.illegal_transition`) and when its
    /// deadline is later than the hazard's current one (`hazard.plan_deadline_later`:
    /// only an officer extends a deadline).
    pub fn set_hazard_plan(
        &self,
        id: &str,
        actor: &str,
        plan: &RectificationPlan,
    ) -> Result<HazardState, InspectionError> {
        let plan = RectificationPlan {
            measures: plan.measures.trim().to_string(),
            responsible: plan.responsible.trim().to_string(),
            funds_yuan: plan.funds_yuan,
            deadline: plan.deadline,
            interim_measures: plan.interim_measures.trim().to_string(),
        };
        for (field, text) in [
            ("measures", &plan.measures),
            ("responsible", &plan.responsible),
            ("interim_measures", &plan.interim_measures),
        ] {
            if text.is_empty() {
                return Err(InspectionError::PlanIncomplete(field));
            }
        }
        self.hazard_transition(id, actor, HazardEventKind::PlanSet(plan))
    }

    /// Records a reinspection (复查). `photos` (after rectification) go through the
    /// evidence pipeline; the hazard's original photos are the "before" photos. The
    /// transition is checked before any photo is stored. A passed re-inspection needs
    /// at least one photo (`hazard.after_photo_required`); a failed one may have none.
    pub fn reinspect_hazard(
        &self,
        id: &str,
        actor: &str,
        passed: bool,
        photos: &[PathBuf],
        note: Option<&str>,
    ) -> Result<HazardState, InspectionError> {
        let hid = parse_hazard_id(id)?;
        check_text("actor", actor.trim(), MAX_NAME_CHARS)?;
        // The photos are placeholders here: only whether there are any matters.
        check_event(&HazardEventKind::Reinspected {
            passed,
            before_photo_sha256s: Vec::new(),
            after_photo_sha256s: vec![String::new(); photos.len()],
            note: note.map(str::to_string),
        })?;
        let folded = load_folded(&self.conn, &hid)?;
        let state = folded.state;
        let probe = HazardEvent::new(
            hid,
            next_event_time(&folded.events, &state),
            actor,
            HazardEventKind::Reinspected {
                passed,
                before_photo_sha256s: Vec::new(),
                after_photo_sha256s: Vec::new(),
                note: None,
            },
        );
        apply(&state, &probe)?;
        let mut after = Vec::new();
        for p in photos {
            let rec = self.add_photo(&PhotoInput {
                path: p.clone(),
                enterprise_id: Some(state.enterprise_id),
                inspector: actor.to_string(),
                device_time: Local::now().fixed_offset(),
                stamp: None,
            })?;
            after.push(rec.payload.derived_sha256);
        }
        self.hazard_transition(
            id,
            actor,
            HazardEventKind::Reinspected {
                passed,
                before_photo_sha256s: state.photo_sha256s.clone(),
                after_photo_sha256s: after,
                note: note.map(str::to_string),
            },
        )
    }
}
