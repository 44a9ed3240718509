//! 疑似 (suspected) enterprises (docs/tips.md "Tips that name no registered enterprise",
//! server migration 0022): a tip naming an address but no registered enterprise gets a
//! `suspected_enterprise` row, published to the phones of its village as a change of
//! kind `suspected` (protocol 5) — never a register row, which needs a real USCC. A grid
//! worker answers with a `suspected_confirmation` record:
//!
//! - `confirmed`: the unit enters the register as registered on site (as a lease's new
//!   tenant does) and the tip is linked to it exactly as `POST /v1/tips/{id}/enterprise`
//!   does, its verification assigned to that grid worker (deadline kept);
//! - `not_found` (查无此单位): the tip's outcome is 不属实, its finding the note.
//!
//! The entry's state is projected from the first accepted answer, so `projections
//! rebuild` derives it again; the tip link (an officer's assignment record) happens once,
//! when the answer is received. Nothing here reads the reporter.

use crate::db::{Row, Tx};
use crate::error::StoreError;
use crate::projections::Accepted;
use crate::store::upsert_change;
use crate::work::Actor;
use chrono::NaiveDate;
use gridwalk_core::{
    DivisionCode, DivisionLevel, SuspectedConfirmation, SuspectedEntry, SuspectedState, Uscc,
};
use gridwalk_protocol::{ChangeKind, ProblemCode, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tip's suspected entry as officers see it on the tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SuspectedView {
    pub id: Uuid,
    /// `open | confirmed | not_found`.
    pub state: String,
    pub reported_name: Option<String>,
    pub address: String,
    pub village_code: String,
    /// The grid worker who answered, and when (the record's time).
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<String>,
    /// The USCC the sweep found (confirmed).
    pub uscc: Option<String>,
    pub note: Option<String>,
    /// The answer's record id.
    pub record_id: Option<Uuid>,
}

/// `POST /v1/tips/{id}/suspected`: put an unassigned tip before the sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuspectedRequest {
    /// The village the address lies in (default: the tip's division, if a village).
    #[serde(default)]
    pub village: Option<String>,
    /// The unit's name as reported, if any.
    #[serde(default)]
    pub reported_name: Option<String>,
}

/// The entry at columns `at..at + 10` of a row (`suspected_enterprise s`: id, state,
/// reported_name, address, village_code, confirmed_by, confirmed_at, uscc, note,
/// record_id, as `crate::tips::TIP_COLUMNS` ends); `None` without one.
pub(crate) fn view_of(r: &Row, at: usize) -> Result<Option<SuspectedView>, StoreError> {
    let Some(id) = r.text(at)? else {
        return Ok(None);
    };
    let uuid = |s: String| Uuid::parse_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(Some(SuspectedView {
        id: uuid(id)?,
        state: r.str(at + 1)?,
        reported_name: r.text(at + 2)?,
        address: r.str(at + 3)?,
        village_code: r.str(at + 4)?,
        confirmed_by: r.text(at + 5)?,
        confirmed_at: r.text(at + 6)?,
        uscc: r.text(at + 7)?,
        note: r.text(at + 8)?,
        record_id: r.text(at + 9)?.map(uuid).transpose()?,
    }))
}

/// The village a suspected entry of a tip in `division` lies in: `requested`, or the
/// tip's division when that is a village; inside the tip's division and the actor's
/// jurisdiction.
pub(crate) fn village_for(
    actor: &Actor,
    division: &str,
    requested: Option<&str>,
) -> Result<DivisionCode, StoreError> {
    let invalid = |d: String| crate::store::problem(ProblemCode::InvalidRequest, d);
    let tip_division =
        DivisionCode::parse(division).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let village = match requested.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => DivisionCode::parse(v).map_err(|e| invalid(e.to_string()))?,
        None => tip_division.clone(),
    };
    if village.level() != DivisionLevel::Village {
        return Err(invalid(format!(
            "the sweep is done village by village: name the village the address lies in ({village} is a {})",
            village.level().as_str()
        )));
    }
    if !tip_division.covers(&village) || !actor.sees(&village) {
        return Err(invalid(format!(
            "village {village} is not inside the tip's division {tip_division}"
        )));
    }
    Ok(village)
}

/// Creates the suspected entry of tip `tip_id` and publishes it to the phones of its
/// village. The caller has checked the tip (unassigned, no entry yet) and the village.
pub(crate) fn create_in(
    t: &mut dyn Tx,
    pg: bool,
    actor: &Actor,
    tip_id: Uuid,
    village: &DivisionCode,
    reported_name: Option<&str>,
    address: &str,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    t.exec(
        "INSERT INTO suspected_enterprise (id, tip_id, reported_name, address, village_code, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            id.to_string().into(),
            tip_id.to_string().into(),
            reported_name.map(str::to_string).into(),
            address.into(),
            village.as_str().into(),
            actor.user_name.clone().into(),
            crate::store::ts(crate::store::now()).into(),
        ],
    )?;
    publish(t, pg, &id.to_string())?;
    Ok(id)
}

/// Publishes an entry at its current state to the phones of its village: the reported
/// name, the address, the tip's source and content as the verification note carries
/// them, the deadline — never the reporter. An entry whose tip an officer linked by hand
/// meanwhile goes out as confirmed (the phones stop offering it).
pub(crate) fn publish(t: &mut dyn Tx, pg: bool, id: &str) -> Result<(), StoreError> {
    let Some(r) = t.query_opt(
        "SELECT s.reported_name, s.address, s.village_code,
                CASE WHEN s.state = 'open' AND t.assignment_id IS NOT NULL THEN 'confirmed'
                     ELSE s.state END,
                coalesce(s.uscc, t.enterprise_uscc), t.source, t.content, t.deadline
         FROM suspected_enterprise s JOIN tip t ON t.id = s.tip_id WHERE s.id = $1",
        &[id.into()],
    )?
    else {
        return Ok(());
    };
    let corrupt = |e: String| StoreError::Corrupt(e);
    let source =
        crate::tips::TipSource::parse(&r.str(5)?).ok_or_else(|| corrupt("tip source".into()))?;
    let entry = SuspectedEntry {
        id: Uuid::parse_str(id).map_err(|e| corrupt(e.to_string()))?,
        name: r.text(0)?,
        address: r.str(1)?,
        village_code: DivisionCode::parse(&r.str(2)?).map_err(|e| corrupt(e.to_string()))?,
        note: crate::tips::assignment_note(source, &r.str(6)?, None),
        deadline: NaiveDate::parse_from_str(&r.str(7)?, "%Y-%m-%d")
            .map_err(|e| corrupt(e.to_string()))?,
        state: SuspectedState::parse(&r.str(3)?).ok_or_else(|| corrupt("state".into()))?,
        uscc: r.text(4)?.and_then(|u| Uscc::parse(&u).ok()),
    };
    let body = serde_json::to_value(&entry).map_err(|e| corrupt(e.to_string()))?;
    upsert_change(
        t,
        pg,
        ChangeKind::Suspected,
        id,
        Some(entry.village_code.as_str()),
        &body,
    )?;
    Ok(())
}

/// The checks a `suspected_confirmation` record passes beyond the envelope's: it parses
/// and holds together, names an entry the server holds, in the envelope's division (the
/// entry's village, which the jurisdiction check then covers), and a unit the register
/// already holds lies inside the caller's jurisdiction.
pub(crate) fn check(
    t: &mut dyn Tx,
    payload: &str,
    division: Option<&str>,
    covers: &dyn Fn(&DivisionCode) -> bool,
) -> Result<Result<(), (ProblemCode, String)>, StoreError> {
    let bad = |code, detail: String| Ok(Err((code, detail)));
    let c = match serde_json::from_str::<SuspectedConfirmation>(payload) {
        Ok(c) => c,
        Err(e) => {
            return bad(
                ProblemCode::PayloadInvalid,
                format!("not a suspected confirmation: {e}"),
            )
        }
    };
    if let Err(e) = c.validate() {
        return bad(ProblemCode::PayloadInvalid, e.to_string());
    }
    let Some(row) = t.query_opt(
        "SELECT village_code FROM suspected_enterprise WHERE id = $1",
        &[c.suspected_id.to_string().into()],
    )?
    else {
        return bad(
            ProblemCode::PayloadInvalid,
            format!("no suspected enterprise {}", c.suspected_id),
        );
    };
    let village = row.str(0)?;
    if division != Some(village.as_str()) || c.village_code.as_str() != village {
        return bad(
            ProblemCode::PayloadInvalid,
            "a suspected confirmation's division_code must be its entry's village".into(),
        );
    }
    if let Some(uscc) = &c.uscc {
        let held = t
            .query_opt(
                "SELECT village_code FROM enterprise WHERE uscc = $1",
                &[uscc.as_str().into()],
            )?
            .map(|r| r.str(0))
            .transpose()?;
        if held.is_some_and(|v| !DivisionCode::parse(&v).is_ok_and(|v| covers(&v))) {
            return bad(
                ProblemCode::ForbiddenJurisdiction,
                format!("{uscc} is registered outside the caller's jurisdiction"),
            );
        }
    }
    Ok(Ok(()))
}

/// Projects an accepted answer: the first one of an open entry decides it (a later
/// one, say from a second phone of the village, is kept as a record and changes
/// nothing). Confirmed, the unit's register row is written (registered on site) and,
/// when `r.publish` (the answer arriving, not a rebuild), the tip is linked and its
/// verification assigned to the grid worker; not found, the tip's outcome is 不属实.
pub(crate) fn project(t: &mut dyn Tx, r: &Accepted) -> Result<(), StoreError> {
    let Ok(c) = serde_json::from_str::<SuspectedConfirmation>(r.payload) else {
        tracing::warn!(
            record = r.id,
            "a suspected confirmation does not parse; not projected"
        );
        return Ok(());
    };
    let id = c.suspected_id.to_string();
    let Some(row) = t.query_opt(
        "SELECT s.tip_id, s.address, s.state FROM suspected_enterprise s WHERE s.id = $1",
        &[id.clone().into()],
    )?
    else {
        return Ok(());
    };
    if row.str(2)? != SuspectedState::Open.as_str() {
        return Ok(());
    }
    let (tip_id, address) = (row.str(0)?, row.str(1)?);
    // Who answered: the user of the device that sent it (not what the payload says).
    let by =
        crate::projections::account_of(t, r.device_id)?.unwrap_or_else(|| c.recorded_by.clone());
    let at = crate::store::ts(c.recorded_at);
    t.exec(
        "UPDATE suspected_enterprise SET state = $2, record_id = $3, confirmed_by = $4,
             confirmed_at = $5, uscc = $6, note = $7 WHERE id = $1",
        &[
            id.clone().into(),
            c.state.as_str().into(),
            r.id.into(),
            by.clone().into(),
            at.clone().into(),
            c.uscc.as_ref().map(|u| u.as_str().to_string()).into(),
            c.note.clone().into(),
        ],
    )?;
    match (&c.state, &c.uscc, &c.name, &c.enterprise_id) {
        (SuspectedState::Confirmed, Some(uscc), Some(name), Some(eid)) => {
            crate::phone_leases::register_on_site(
                t,
                &crate::phone_leases::OnSite {
                    id: &eid.to_string(),
                    uscc: uscc.as_str(),
                    name,
                    village_code: c.village_code.as_str(),
                    industry: c.industry.as_deref(),
                    address: Some(&address),
                    tenant: false,
                },
            )?;
            if r.publish {
                crate::facts::republish(t, r.pg, uscc.as_str())?;
                link_tip(t, r.pg, &tip_id, uscc.as_str(), &by)?;
            }
        }
        (SuspectedState::NotFound, ..) => {
            let finding = match c.note.as_deref() {
                Some(n) => format!("{}：{n}", SuspectedState::NotFound.name_zh()),
                None => SuspectedState::NotFound.name_zh().to_string(),
            };
            t.exec(
                "UPDATE tip SET outcome = $2, verified_by = $3, verified_at = $4, finding = $5
                 WHERE id = $1 AND assignment_id IS NULL",
                &[
                    tip_id.into(),
                    crate::tips::TipOutcome::Unsubstantiated.as_str().into(),
                    r.id.into(),
                    at.into(),
                    finding.into(),
                ],
            )?;
        }
        _ => {}
    }
    if r.publish {
        publish(t, r.pg, &id)?;
    }
    Ok(())
}

/// Links the tip to the unit the sweep confirmed and assigns its verification to the
/// grid worker who confirmed it, through the same code as `POST /v1/tips/{id}/enterprise`,
/// on behalf of the officer who recorded the tip. A tip linked meanwhile by an officer,
/// or a link the assignment rules refuse (the recorder gone, the grid worker no longer
/// holding the village), is left for an officer to link by hand, logged.
fn link_tip(
    t: &mut dyn Tx,
    pg: bool,
    tip_id: &str,
    uscc: &str,
    grid_worker: &str,
) -> Result<(), StoreError> {
    let Some(tip) = t.query_opt(
        "SELECT recorded_by, assignment_id FROM tip WHERE id = $1",
        &[tip_id.into()],
    )?
    else {
        return Ok(());
    };
    if tip.text(1)?.is_some() {
        return Ok(());
    }
    let recorder = tip.str(0)?;
    let actor = match t.query_opt(
        "SELECT role, jurisdiction FROM app_user WHERE name = $1",
        &[recorder.clone().into()],
    )? {
        Some(u) => Actor {
            user_name: recorder,
            role: Role::parse(&u.str(0)?).unwrap_or(Role::Officer),
            scope: DivisionCode::parse(&u.str(1)?).ok(),
            source: "sync".into(),
        },
        None => return Ok(()),
    };
    let id = Uuid::parse_str(tip_id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    match crate::tips::link_in(t, pg, &actor, id, uscc, grid_worker, None, true) {
        Ok(_) => Ok(()),
        Err(StoreError::Problem { code, detail }) => {
            tracing::warn!(tip = tip_id, code = code.as_str(), detail = %detail,
                "a confirmed suspected enterprise's tip was not linked; an officer links it");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Publishes the entry of tip `tip_id`, if it has one (its tip changed).
pub(crate) fn publish_of_tip(t: &mut dyn Tx, pg: bool, tip_id: &str) -> Result<(), StoreError> {
    if let Some(r) = t.query_opt(
        "SELECT id FROM suspected_enterprise WHERE tip_id = $1",
        &[tip_id.into()],
    )? {
        publish(t, pg, &r.str(0)?)?;
    }
    Ok(())
}

/// The projected columns a rebuild empties (and derives again from the answers).
pub(crate) const RESET: &str = "UPDATE suspected_enterprise SET state = 'open', record_id = NULL,
    confirmed_by = NULL, confirmed_at = NULL, uscc = NULL, note = NULL";

/// Publishes every entry at its state (a rebuild's end; an unchanged body keeps its
/// position in the change log).
pub(crate) fn publish_all(t: &mut dyn Tx, pg: bool) -> Result<(), StoreError> {
    for row in t.query("SELECT id FROM suspected_enterprise ORDER BY id", &[])? {
        publish(t, pg, &row.str(0)?)?;
    }
    Ok(())
}
