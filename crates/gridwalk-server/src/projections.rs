//! Projections (docs/campaign.md "Projections"): accepted records folded into tables an
//! officer can query — `inspection`, `finding`, `hazard_event` and each hazard's state on
//! `hazard` — in the transaction that accepts the record. They hold nothing the records
//! do not: [`rebuild`] empties them and folds every stored record again, giving the same
//! rows, so a projection bug is fixed without losing data.

use crate::db::{Row, Tx, Val};
use crate::error::StoreError;
use crate::store::upsert_change;
use crate::work::{AssignmentChange, AssignmentEvent};
use gridwalk_checklist::{fold_keeping, FinalizedInspection, HazardEvent};
use gridwalk_core::{Assignment, AssignmentStatus, Review};
use gridwalk_protocol::ChangeKind;
use serde::Serialize;

/// An accepted record as the projections read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted<'a> {
    pub id: &'a str,
    pub device_id: &'a str,
    pub kind: &'a str,
    pub payload: &'a str,
    pub division: &'a str,
    pub received_at: &'a str,
    pub payload_sha256: &'a str,
    /// PostgreSQL (the change log is locked before a change is published).
    pub pg: bool,
    /// Publish what changes to the phones now; a rebuild publishes the final states
    /// once at its end instead, so no phone downloads an unchanged row again.
    pub publish: bool,
    /// A push gathers its inspections' confirmed facts here and writes each once at its
    /// end; `None` writes them as each record is folded.
    pub facts: Option<&'a std::cell::RefCell<crate::facts::PendingFacts>>,
}

/// Folds one accepted record into the projections. A payload the projections cannot
/// read (an older or newer shape) is logged and left out: the record itself is stored.
/// Returns the USCC of an enterprise whose confirmed facts changed: the caller publishes
/// its row again once per batch ([`crate::facts::republish`]).
pub(crate) fn project(t: &mut dyn Tx, r: &Accepted) -> Result<Option<String>, StoreError> {
    project_parsed(t, r, None)
}

/// [`project`] of a record whose inspection payload the caller parsed already (from
/// `r.payload`, so the projection is the one a rebuild derives from the stored text).
pub(crate) fn project_parsed(
    t: &mut dyn Tx,
    r: &Accepted,
    inspection: Option<&FinalizedInspection>,
) -> Result<Option<String>, StoreError> {
    match r.kind {
        "inspection" => project_inspection(t, r, inspection),
        "hazard_event" => project_hazard_event(t, r).map(|()| None),
        "review" => project_review(t, r).map(|()| None),
        "assignment" => project_assignment(t, r).map(|()| None),
        "lease" => crate::phone_leases::project(t, r).map(|()| None),
        "suspected_confirmation" => crate::suspected::project(t, r).map(|()| None),
        _ => Ok(None),
    }
}

fn text(v: impl Serialize) -> Option<String> {
    match serde_json::to_value(v).ok()? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn project_inspection(
    t: &mut dyn Tx,
    r: &Accepted,
    parsed: Option<&FinalizedInspection>,
) -> Result<Option<String>, StoreError> {
    let read;
    let p: &FinalizedInspection = match parsed {
        Some(p) => p,
        None => match serde_json::from_str(r.payload) {
            Ok(p) => {
                read = p;
                &read
            }
            Err(e) => {
                tracing::warn!(record = r.id, error = %e, "inspection payload not projected");
                return Ok(None);
            }
        },
    };
    let photos = p.photo_sha256s();
    // Where the photos were taken: the photo records hold each one's on-site check.
    let (mut nearest, mut off_site): (Option<i64>, Option<bool>) = (None, None);
    // One query for a handful of photos (an inspection names a few).
    for row in crate::db::query_in(t, ON_SITE_LOOKUP, &[r.device_id.into()], &photos)? {
        let Some(payload) = row.text(0)? else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&payload) else {
            continue;
        };
        let Some(check) = v.get("onsite").filter(|c| !c.is_null()) else {
            continue;
        };
        if let Some(d) = check.get("distance_m").and_then(|d| d.as_f64()) {
            if d.is_finite() {
                let d = d.round() as i64;
                nearest = Some(nearest.map_or(d, |n| n.min(d)));
            }
        }
        if let Some(off) = check.get("off_site").and_then(|o| o.as_bool()) {
            off_site = Some(off_site.unwrap_or(false) || off);
        }
    }
    t.exec(
        "INSERT INTO inspection (record_id, inspection_id, enterprise_id, enterprise_uscc, division_code,
             template_id, template_version, inspector, role, device_id, started_at, finalized_at,
             received_at, payload_sha256, passed, failed, pass_rate_bp, findings, photo_count,
             onsite_distance_m, off_site, supersedes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19, $20, $21, $22)
         ON CONFLICT (record_id) DO NOTHING",
        &[
            r.id.into(),
            p.inspection_id.to_string().into(),
            p.enterprise_id.to_string().into(),
            p.enterprise_uscc.clone().into(),
            r.division.into(),
            p.template_id.clone().into(),
            i64::from(p.template_version).into(),
            p.inspector.clone().into(),
            text(p.role).into(),
            r.device_id.into(),
            p.started_at.to_rfc3339().into(),
            p.finalized_at.to_rfc3339().into(),
            r.received_at.into(),
            r.payload_sha256.into(),
            i64::from(p.score.passed).into(),
            i64::from(p.score.failed).into(),
            p.score.pass_rate_bp.map(i64::from).into(),
            (p.findings.len() as i64).into(),
            (photos.len() as i64).into(),
            nearest.into(),
            off_site.map(i64::from).into(),
            p.supersedes.map(|s| s.to_string()).into(),
        ],
    )?;
    let findings = p
        .findings
        .iter()
        .map(|f| {
            vec![
                r.id.into(),
                f.item_id.clone().into(),
                f.section_id.clone().into(),
                text(f.severity).into(),
                f.text_zh.clone().into(),
                f.legal_basis
                    .as_ref()
                    .and_then(|l| serde_json::to_string(l).ok())
                    .into(),
                f.note.clone().into(),
                (f.photo_sha256s.len() as i64).into(),
            ]
        })
        .collect();
    crate::db::insert_rows(
        t,
        "INSERT INTO finding (record_id, item_id, section_id, severity, text_zh, legal_basis, note, photo_count)",
        findings,
        "ON CONFLICT (record_id, item_id) DO NOTHING",
    )?;
    fulfil_assignments(t, r, p)?;
    Ok(crate::facts::project_confirmations(t, r, p)?.then(|| p.enterprise_uscc.clone()))
}

/// The user whose device pushed a record (the account, not the name typed on the
/// phone as inspector).
pub(crate) fn account_of(t: &mut dyn Tx, device_id: &str) -> Result<Option<String>, StoreError> {
    Ok(t.query_opt(
        "SELECT u.name FROM device d JOIN app_user u ON u.id = d.user_id WHERE d.id = $1",
        &[device_id.into()],
    )?
    .map(|r| r.str(0))
    .transpose()?)
}

/// The evidence records of photos, by hash (`IN (…)` follows), made by a device of the
/// same person as device `$1` (the inspection's: another person's photo record does not
/// speak for this visit, whoever names its hash): from the hash index of evidence links
/// to the record. `CROSS JOIN` keeps SQLite to that order: without statistics it took
/// the low-selectivity `record_kind` index and read every evidence record of the
/// database for each pushed inspection (`crate::query_plans` tests it).
pub(crate) const ON_SITE_LOOKUP: &str = "SELECT r.payload FROM record_photo rp CROSS JOIN record r
     WHERE r.id = rp.record_id AND rp.evidence = 1 AND r.kind = 'evidence'
       AND r.state = 'accepted'
       AND EXISTS (SELECT 1 FROM device d WHERE d.id = r.device_id
                   AND d.user_id = (SELECT user_id FROM device WHERE id = $1))
       AND rp.sha256";

/// True if the latest review of an inspection rejected it.
fn rejected(t: &mut dyn Tx, inspection_id: &str) -> Result<bool, StoreError> {
    Ok(t.query_opt(
        "SELECT 1 FROM review WHERE inspection_id = $1 AND state = 'rejected'",
        &[inspection_id.into()],
    )?
    .is_some())
}

/// An inspection pushed by the assignee's own account, with the assigned template,
/// finalized after the assignment was made and not rejected on review, fulfils it.
fn fulfil_assignments(
    t: &mut dyn Tx,
    r: &Accepted,
    p: &FinalizedInspection,
) -> Result<(), StoreError> {
    // Most inspections fulfil nothing: one indexed lookup decides.
    let rows = t.query(
        "SELECT body FROM assignment WHERE enterprise_uscc = $1 AND template_id = $2 AND status = 'open'",
        &[p.enterprise_uscc.clone().into(), p.template_id.clone().into()],
    )?;
    if rows.is_empty() || rejected(t, &p.inspection_id.to_string())? {
        return Ok(());
    }
    let Some(account) = account_of(t, r.device_id)? else {
        return Ok(());
    };
    for row in &rows {
        let Ok(mut a) = serde_json::from_str::<Assignment>(&row.str(0)?) else {
            continue;
        };
        if a.assignee != account || p.finalized_at < a.created_at {
            continue;
        }
        a.status = AssignmentStatus::Fulfilled;
        a.fulfilled_by = Some(p.inspection_id);
        a.updated_at = chrono::DateTime::parse_from_rfc3339(r.received_at)
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or(p.finalized_at);
        store_assignment(t, r.pg, r.publish, &a)?;
    }
    Ok(())
}

fn store_assignment(
    t: &mut dyn Tx,
    pg: bool,
    publish: bool,
    a: &Assignment,
) -> Result<(), StoreError> {
    let body = serde_json::to_value(a).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    t.exec(
        "INSERT INTO assignment (id, enterprise_uscc, division_code, assignee, template_id, due, status,
             created_at, sample_id, fulfilled_by, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET assignee = excluded.assignee, due = excluded.due,
             status = excluded.status, fulfilled_by = excluded.fulfilled_by, body = excluded.body",
        &[
            a.id.to_string().into(),
            a.enterprise_uscc.clone().into(),
            a.division_code.clone().into(),
            a.assignee.clone().into(),
            a.template_id.clone().into(),
            a.due.to_string().into(),
            a.status.as_str().into(),
            a.created_at.to_rfc3339().into(),
            a.sample_id.map(|s| s.to_string()).into(),
            a.fulfilled_by.map(|s| s.to_string()).into(),
            body.to_string().into(),
        ],
    )?;
    if publish {
        publish_assignment(t, pg, a, &body)?;
    }
    crate::tips::follow_assignment(t, a)
}

/// Publishes an assignment's state to its assignee's phones and to the phones of
/// everyone who held it before (so a reassigned task leaves their 待办), keyed
/// `{id}@{user}`; no other phone of the village sees it.
pub(crate) fn publish_assignment(
    t: &mut dyn Tx,
    pg: bool,
    a: &Assignment,
    body: &serde_json::Value,
) -> Result<(), StoreError> {
    let prefix = format!("{}@", a.id);
    let mut recipients: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for row in t.query(
        "SELECT recipient FROM change_log WHERE kind = 'assignment' AND substr(key, 1, $2) = $1",
        &[
            prefix.clone().into(),
            (prefix.chars().count() as i64).into(),
        ],
    )? {
        if let Some(r) = row.text(0)? {
            recipients.insert(r);
        }
    }
    recipients.insert(a.assignee.clone());
    for user in &recipients {
        crate::store::upsert_change_for(
            t,
            pg,
            ChangeKind::Assignment,
            &format!("{prefix}{user}"),
            Some(&a.division_code),
            body,
            Some(user),
        )?;
    }
    Ok(())
}

fn project_assignment(t: &mut dyn Tx, r: &Accepted) -> Result<(), StoreError> {
    let e: AssignmentEvent = match serde_json::from_str(r.payload) {
        Ok(e) => e,
        Err(err) => {
            tracing::warn!(record = r.id, error = %err, "assignment event not projected");
            return Ok(());
        }
    };
    let held = t
        .query_opt(
            "SELECT body FROM assignment WHERE id = $1",
            &[e.assignment_id.to_string().into()],
        )?
        .map(|row| row.str(0))
        .transpose()?
        .and_then(|b| serde_json::from_str::<Assignment>(&b).ok());
    let next = match (e.change, held) {
        (
            AssignmentChange::Created {
                enterprise_id,
                enterprise_uscc,
                division_code,
                assignee,
                template_id,
                due,
                note,
                sample_id,
            },
            None,
        ) => Assignment {
            id: e.assignment_id,
            enterprise_id,
            enterprise_uscc,
            division_code,
            assignee,
            template_id,
            due,
            note,
            status: AssignmentStatus::Open,
            assigned_by: e.actor,
            created_at: e.at,
            updated_at: e.at,
            fulfilled_by: None,
            sample_id,
        },
        (
            AssignmentChange::Reassigned {
                assignee,
                due,
                note,
            },
            Some(mut a),
        ) if a.status == AssignmentStatus::Open => {
            a.assignee = assignee;
            a.due = due.unwrap_or(a.due);
            a.note = note.or(a.note);
            a.assigned_by = e.actor;
            a.updated_at = e.at;
            a
        }
        (AssignmentChange::Cancelled { .. }, Some(mut a)) if a.status == AssignmentStatus::Open => {
            a.status = AssignmentStatus::Cancelled;
            a.assigned_by = e.actor;
            a.updated_at = e.at;
            a
        }
        _ => {
            tracing::warn!(
                record = r.id,
                "assignment event does not apply; kept, not projected"
            );
            return Ok(());
        }
    };
    store_assignment(t, r.pg, r.publish, &next)
}

fn project_review(t: &mut dyn Tx, r: &Accepted) -> Result<(), StoreError> {
    let review: Review = match serde_json::from_str(r.payload) {
        Ok(v) => v,
        Err(err) => {
            tracing::warn!(record = r.id, error = %err, "review not projected");
            return Ok(());
        }
    };
    let key = review.inspection_id.to_string();
    let mut was_rejected = false;
    if let Some(held) = t.query_opt(
        "SELECT at, record_id, state FROM review WHERE inspection_id = $1",
        &[key.clone().into()],
    )? {
        let at = chrono::DateTime::parse_from_rfc3339(&held.str(0)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if (at.with_timezone(&chrono::Utc), held.str(1)?)
            >= (review.at, review.record_id.to_string())
        {
            return Ok(()); // a later review stands
        }
        was_rejected = held.str(2)? == "rejected";
    }
    t.exec(
        "DELETE FROM review WHERE inspection_id = $1",
        &[key.clone().into()],
    )?;
    t.exec(
        "INSERT INTO review (inspection_id, record_id, state, comment, reviewer, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            key.clone().into(),
            review.record_id.to_string().into(),
            review.state.as_str().into(),
            review.comment.clone().into(),
            review.reviewer.clone().into(),
            review.at.to_rfc3339().into(),
        ],
    )?;
    if r.publish {
        let body = serde_json::to_value(&review).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        upsert_change(t, r.pg, ChangeKind::Review, &key, Some(r.division), &body)?;
    }
    let now_rejected = review.state == gridwalk_core::ReviewState::Rejected;
    if now_rejected != was_rejected {
        review_changes_standing(t, r, &key, now_rejected, review.at)?;
    }
    Ok(())
}

/// A rejected inspection is not a record of the visit: the assignment it fulfilled is
/// open again and the facts it confirmed are withdrawn; a later review that accepts
/// it again restores both.
fn review_changes_standing(
    t: &mut dyn Tx,
    r: &Accepted,
    inspection_id: &str,
    now_rejected: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let Some(row) = t.query_opt(
        "SELECT i.enterprise_uscc, rec.payload, rec.device_id, rec.received_at, rec.id
         FROM inspection i JOIN record rec ON rec.id = i.record_id WHERE i.inspection_id = $1",
        &[inspection_id.into()],
    )?
    else {
        return Ok(());
    };
    let uscc = row.str(0)?;
    if now_rejected {
        for a in t.query(
            "SELECT body FROM assignment WHERE fulfilled_by = $1 AND status = 'fulfilled'",
            &[inspection_id.into()],
        )? {
            let Ok(mut a) = serde_json::from_str::<Assignment>(&a.str(0)?) else {
                continue;
            };
            a.status = AssignmentStatus::Open;
            a.fulfilled_by = None;
            a.updated_at = at;
            store_assignment(t, r.pg, r.publish, &a)?;
        }
    } else if let Ok(p) =
        serde_json::from_str::<FinalizedInspection>(&row.text(1)?.unwrap_or_default())
    {
        let (device, received, id) = (row.str(2)?, row.str(3)?, row.str(4)?);
        let again = Accepted {
            id: &id,
            device_id: &device,
            kind: "inspection",
            payload: "",
            division: r.division,
            received_at: &received,
            payload_sha256: "",
            pg: r.pg,
            publish: r.publish,
            facts: None,
        };
        fulfil_assignments(t, &again, &p)?;
    }
    crate::facts::refold_enterprise(t, r.pg, r.publish, &uscc)
}

fn project_hazard_event(t: &mut dyn Tx, r: &Accepted) -> Result<(), StoreError> {
    let e: HazardEvent = match serde_json::from_str(r.payload) {
        Ok(e) => e,
        Err(err) => {
            tracing::warn!(record = r.id, error = %err, "hazard event not projected");
            return Ok(());
        }
    };
    t.exec(
        "INSERT INTO hazard_event (record_id, hazard_id, kind, at, actor, applied)
         VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (record_id) DO NOTHING",
        &[
            r.id.into(),
            e.hazard_id.to_string().into(),
            text(e.kind.name()).into(),
            e.at.to_rfc3339().into(),
            e.actor.clone().into(),
        ],
    )?;
    refold(t, &e.hazard_id.to_string())
}

/// Folds a hazard's events again (in the merged order, keeping and marking the ones not
/// legal where they fall) and stores its state.
fn refold(t: &mut dyn Tx, hazard_id: &str) -> Result<(), StoreError> {
    let rows = t.query(
        "SELECT r.id, r.payload FROM hazard_event he JOIN record r ON r.id = he.record_id
         WHERE he.hazard_id = $1",
        &[hazard_id.into()],
    )?;
    let mut events = Vec::with_capacity(rows.len());
    let mut record_of = std::collections::HashMap::new();
    for row in &rows {
        let (Some(payload), id) = (row.text(1)?, row.str(0)?) else {
            continue;
        };
        if let Ok(e) = serde_json::from_str::<HazardEvent>(&payload) {
            record_of.insert(e.id, id);
            events.push(e);
        }
    }
    let Ok((state, skipped)) = fold_keeping(&events) else {
        // Not created yet here (its creation may arrive later from another device).
        return Ok(());
    };
    t.exec(
        "UPDATE hazard_event SET applied = 1, skip_reason = NULL WHERE hazard_id = $1",
        &[hazard_id.into()],
    )?;
    for (event, why) in &skipped {
        if let Some(record) = record_of.get(event) {
            t.exec(
                "UPDATE hazard_event SET applied = 0, skip_reason = $2 WHERE record_id = $1",
                &[record.clone().into(), why.to_string().into()],
            )?;
        }
    }
    t.exec(
        "UPDATE hazard SET status = $2, deadline = $3, assignee = $4, listed = $5, found_at = $6,
             closed_at = $7, event_count = $8, skipped_events = $9, state = $10
         WHERE id = $1",
        &[
            hazard_id.into(),
            text(state.status).into(),
            state.deadline.to_string().into(),
            state.assignee.clone().into(),
            i64::from(state.listed.is_some()).into(),
            state.found_at.to_rfc3339().into(),
            state.closed_at.map(|c| c.to_rfc3339()).into(),
            i64::from(state.event_count).into(),
            (skipped.len() as i64).into(),
            serde_json::to_string(&state).ok().into(),
        ],
    )?;
    Ok(())
}

/// What a rebuild folded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    pub records: u64,
    pub inspections: u64,
    pub findings: u64,
    pub hazard_events: u64,
    pub hazards: u64,
    pub reviews: u64,
    pub assignments: u64,
    pub enterprise_facts: u64,
}

/// Empties the projections and folds every accepted record again, in the order the
/// server received them.
pub(crate) fn rebuild(t: &mut dyn Tx, pg: bool) -> Result<RebuildReport, StoreError> {
    // Enterprises whose published row carries confirmations now: published again after
    // the rebuild, with what the rebuild derives (nothing, if a fact came from a bug).
    let mut confirmed: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for row in t.query("SELECT DISTINCT enterprise_uscc FROM enterprise_fact", &[])? {
        confirmed.insert(row.str(0)?);
    }
    confirmed.extend(crate::phone_leases::parties(t)?);
    for sql in [
        "DELETE FROM enterprise_fact",
        "DELETE FROM phone_lease",
        "DELETE FROM finding",
        "DELETE FROM inspection",
        "DELETE FROM review",
        "DELETE FROM assignment",
        "DELETE FROM hazard_event",
        "UPDATE hazard SET status = NULL, deadline = NULL, assignee = NULL, listed = NULL,
             found_at = NULL, closed_at = NULL, event_count = NULL, skipped_events = NULL,
             state = NULL",
        crate::tips::RESET_OUTCOMES,
        crate::suspected::RESET,
    ] {
        t.exec(sql, &[])?;
    }
    let rows = t.query(
        "SELECT id, device_id, kind, payload, division_code, received_at, payload_sha256
         FROM record WHERE state = 'accepted'
           AND kind IN ('inspection', 'hazard_event', 'review', 'assignment', 'lease',
                        'suspected_confirmation')
         ORDER BY received_at, device_id, seq",
        &[],
    )?;
    let mut report = RebuildReport::default();
    for row in &rows {
        let (id, device, kind) = (row.str(0)?, row.str(1)?, row.str(2)?);
        let payload = row.text(3)?.unwrap_or_default();
        let division = row.text(4)?.unwrap_or_default();
        let (received_at, sha) = (row.str(5)?, row.str(6)?);
        project(
            t,
            &Accepted {
                id: &id,
                device_id: &device,
                kind: &kind,
                payload: &payload,
                division: &division,
                received_at: &received_at,
                payload_sha256: &sha,
                pg,
                publish: false,
                facts: None,
            },
        )?;
        report.records += 1;
    }
    // Publish the final states once (a change-log row whose body is unchanged keeps
    // its position, so the phones download nothing again).
    for row in t.query("SELECT DISTINCT enterprise_uscc FROM enterprise_fact", &[])? {
        confirmed.insert(row.str(0)?);
    }
    confirmed.extend(crate::phone_leases::parties(t)?);
    for uscc in &confirmed {
        crate::facts::republish(t, pg, uscc)?;
    }
    crate::suspected::publish_all(t, pg)?;
    for row in t.query("SELECT body FROM assignment ORDER BY id", &[])? {
        let body: serde_json::Value =
            serde_json::from_str(&row.str(0)?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if let Ok(a) = serde_json::from_value::<Assignment>(body.clone()) {
            publish_assignment(t, pg, &a, &body)?;
        }
    }
    for row in t.query(
        "SELECT rv.inspection_id, rec.payload, rec.division_code FROM review rv
         JOIN record rec ON rec.id = rv.record_id ORDER BY rv.inspection_id",
        &[],
    )? {
        let Some(Ok(review)) = row.text(1)?.map(|p| serde_json::from_str::<Review>(&p)) else {
            continue;
        };
        let body = serde_json::to_value(&review).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        upsert_change(
            t,
            pg,
            ChangeKind::Review,
            &row.str(0)?,
            row.text(2)?.as_deref(),
            &body,
        )?;
    }
    let count = |t: &mut dyn Tx, sql: &str| -> Result<u64, StoreError> {
        Ok(t.query_opt(sql, &[])?.map_or(Ok(0), |r| r.int(0))?.max(0) as u64)
    };
    report.inspections = count(t, "SELECT count(*) FROM inspection")?;
    report.findings = count(t, "SELECT count(*) FROM finding")?;
    report.hazard_events = count(t, "SELECT count(*) FROM hazard_event")?;
    report.hazards = count(t, "SELECT count(*) FROM hazard WHERE status IS NOT NULL")?;
    report.reviews = count(t, "SELECT count(*) FROM review")?;
    report.assignments = count(t, "SELECT count(*) FROM assignment")?;
    report.enterprise_facts = count(t, "SELECT count(*) FROM enterprise_fact")?;
    Ok(report)
}

/// Every projected row as text, table by table in key order: two dumps are equal when
/// the projections are (used by `projections rebuild` to say whether anything changed).
pub(crate) fn dump(t: &mut dyn Tx) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for (table, sql) in [
        ("inspection", "SELECT * FROM inspection ORDER BY record_id"),
        (
            "finding",
            "SELECT * FROM finding ORDER BY record_id, item_id",
        ),
        (
            "hazard_event",
            "SELECT * FROM hazard_event ORDER BY record_id",
        ),
        ("review", "SELECT * FROM review ORDER BY inspection_id"),
        ("assignment", "SELECT * FROM assignment ORDER BY id"),
        (
            "enterprise_fact",
            "SELECT * FROM enterprise_fact ORDER BY enterprise_uscc, fact",
        ),
        ("phone_lease", "SELECT * FROM phone_lease ORDER BY lease_id"),
        ("lease", "SELECT * FROM lease ORDER BY id"),
        (
            "enterprise",
            "SELECT uscc, dust_involved, al_mg, workers_per_shift FROM enterprise ORDER BY uscc",
        ),
        (
            "hazard",
            "SELECT id, status, deadline, assignee, listed, found_at, closed_at, event_count,
                    skipped_events, state FROM hazard ORDER BY id",
        ),
        (
            "tip",
            "SELECT id, outcome, verified_by, verified_at, finding FROM tip ORDER BY id",
        ),
        (
            "suspected_enterprise",
            "SELECT id, state, record_id, confirmed_by, confirmed_at, uscc, note
             FROM suspected_enterprise ORDER BY id",
        ),
    ] {
        for row in t.query(sql, &[])? {
            out.push(format!("{table}: {}", row_text(&row)));
        }
    }
    Ok(out)
}

fn row_text(row: &Row) -> String {
    row.0
        .iter()
        .map(|v| match v {
            Val::Null => "∅".to_string(),
            Val::Int(n) => n.to_string(),
            Val::Text(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use gridwalk_checklist::{Answer, AnswerValue, FinalizedInspection, YesNoNa};

    /// The projection reads an inspection's photos from the typed payload; they must be
    /// the photos the chain check reads from the frozen JSON.
    #[test]
    fn the_typed_photo_list_is_the_chain_checks() {
        let h = |n: u8| format!("{n:02x}").repeat(32);
        let mut answers = std::collections::BTreeMap::new();
        answers.insert(
            "A".to_string(),
            Answer::new(AnswerValue::YesNoNa(YesNoNa::No)).with_photo(h(3)),
        );
        answers.insert(
            "B".to_string(),
            Answer::new(AnswerValue::Photos(vec![h(1), h(3)])),
        );
        let p: FinalizedInspection = serde_json::from_value(serde_json::json!({
            "inspection_id": "01900000-0000-7000-8000-000000000001",
            "template_id": "t", "template_version": 1,
            "enterprise_id": "01900000-0000-7000-8000-000000000002",
            "enterprise_uscc": "91320413MA1XY0001Y", "inspector": "x", "role": "expert",
            "started_at": "2026-01-01T00:00:00Z", "finalized_at": "2026-01-01T01:00:00Z",
            "answers": answers,
            "score": {"passed": 0, "failed": 1, "not_applicable": 0, "unanswered": 0, "pass_rate_bp": 0},
            "findings": [{"item_id": "A", "section_id": "s", "severity": "major",
                "text_zh": "x", "legal_basis": null, "note": null, "photo_sha256s": [h(2)]}],
            "supersedes": null
        }))
        .expect("payload");
        let json = serde_json::to_string(&p).expect("json");
        assert_eq!(
            p.photo_sha256s(),
            gridwalk_protocol::chain::photos_named("inspection", &json).expect("named")
        );
        assert_eq!(p.photo_sha256s(), [h(1), h(2), h(3)]);
    }
}
