//! Enterprise facts confirmed on a visit (docs/campaign.md "Enterprise facts"): what a
//! finalized inspection confirms about its enterprise (`gridwalk_checklist::confirm`,
//! the same reading the phone makes at finalize) is projected into `enterprise_fact`,
//! the latest confirmation of each fact winning; the register row the phones pull is
//! the imported row with those applied, naming who confirmed each fact, when and from
//! which inspection. The imported row itself (`enterprise.body`) is never changed, so a
//! rebuild derives the same rows and a re-import keeps the confirmations.

use crate::db::Tx;
use crate::error::StoreError;
use crate::projections::Accepted;
use crate::store::upsert_change;
use gridwalk_checklist::{
    confirmations, Confirmations, ConfirmedFact, FinalizedInspection, Template,
};
use gridwalk_core::Enterprise;
use gridwalk_protocol::ChangeKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Parsed templates by `id@version` (a version never changes once published).
fn template_cache() -> &'static Mutex<HashMap<String, Arc<Template>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Template>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The published template an inspection was made with, if the server holds it.
pub(crate) fn template(
    t: &mut dyn Tx,
    id: &str,
    version: u32,
) -> Result<Option<Arc<Template>>, StoreError> {
    let key = format!("{id}@{version}");
    if let Some(hit) = template_cache()
        .lock()
        .ok()
        .and_then(|c| c.get(&key).cloned())
    {
        return Ok(Some(hit));
    }
    let parsed = match t.query_opt(
        "SELECT body FROM change_log WHERE kind = 'template' AND key = $1",
        &[key.clone().into()],
    )? {
        Some(row) => serde_json::from_str::<Template>(&row.str(0)?).ok(),
        None => gridwalk_checklist::builtin_template_version(id, version),
    };
    let Some(tpl) = parsed else {
        return Ok(None);
    };
    let tpl = Arc::new(tpl);
    if let Ok(mut c) = template_cache().lock() {
        c.insert(key, tpl.clone());
    }
    Ok(Some(tpl))
}

/// Folds what an accepted inspection confirms into `enterprise_fact`; true if a fact
/// changed (the caller publishes the enterprise's row again, once per batch).
pub(crate) fn project_confirmations(
    t: &mut dyn Tx,
    r: &Accepted,
    p: &FinalizedInspection,
) -> Result<bool, StoreError> {
    let Some(tpl) = template(t, &p.template_id, p.template_version)? else {
        tracing::info!(record = r.id, template = %p.template_id, version = p.template_version,
            "template not held: the inspection's confirmations are not projected");
        return Ok(false);
    };
    let c = confirmations(&tpl, &p.answers);
    if c.is_empty() {
        return Ok(false);
    }
    let rejected = t
        .query_opt(
            "SELECT 1 FROM review WHERE inspection_id = $1 AND state = 'rejected'",
            &[p.inspection_id.to_string().into()],
        )?
        .is_some();
    if rejected {
        return Ok(false); // not a record of the visit
    }
    // When the visit confirmed it: the phone's finalize time, but never after the
    // server received it, so a phone whose clock (or owner) claims a future time cannot
    // make its confirmation outlast every later visit.
    let received = chrono::DateTime::parse_from_rfc3339(r.received_at)
        .map(|d| d.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt(format!("received_at: {e}")))?;
    let at = p
        .finalized_at
        .min(received)
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut changed = false;
    for fact in c.facts() {
        let value =
            serde_json::to_string(&c.only(fact)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = FactRow {
            record_id: r.id.to_string(),
            inspection_id: p.inspection_id.to_string(),
            confirmed_by: p.inspector.clone(),
            confirmed_at: at.clone(),
            value,
            outcome: c.outcome(fact).map(str::to_string),
        };
        match r.facts {
            Some(pending) => pending
                .borrow_mut()
                .offer(&p.enterprise_uscc, fact.as_str(), row),
            None => changed |= upsert_fact(t, &p.enterprise_uscc, fact.as_str(), &row)?,
        }
    }
    Ok(changed)
}

/// One confirmation of a fact, as `enterprise_fact` holds it.
#[derive(Debug, Clone)]
pub(crate) struct FactRow {
    record_id: String,
    inspection_id: String,
    confirmed_by: String,
    confirmed_at: String,
    value: String,
    outcome: Option<String>,
}

impl FactRow {
    /// The order in which confirmations replace each other: finalize time (capped at
    /// receipt), then record id.
    fn rank(&self) -> (&str, &str) {
        (&self.confirmed_at, &self.record_id)
    }
}

/// The latest confirmation of each fact among a push's inspections, written once per
/// fact when the push ends ([`PendingFacts::flush`]) instead of once per inspection:
/// the same rows (the latest wins either way), without rewriting one enterprise's
/// rows for every inspection of it in the batch (on PostgreSQL each rewrite of a row
/// in one transaction leaves a version the next has to step over).
#[derive(Debug, Default)]
pub(crate) struct PendingFacts {
    latest: std::collections::BTreeMap<(String, String), FactRow>,
}

impl PendingFacts {
    fn offer(&mut self, uscc: &str, fact: &str, row: FactRow) {
        match self.latest.get_mut(&(uscc.to_string(), fact.to_string())) {
            Some(held) if held.rank() >= row.rank() => {}
            Some(held) => *held = row,
            None => {
                self.latest
                    .insert((uscc.to_string(), fact.to_string()), row);
            }
        }
    }

    /// Writes the confirmations held; the enterprises whose facts changed.
    pub(crate) fn flush(
        self,
        t: &mut dyn Tx,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut changed = std::collections::BTreeSet::new();
        for ((uscc, fact), row) in self.latest {
            if upsert_fact(t, &uscc, &fact, &row)? {
                changed.insert(uscc);
            }
        }
        Ok(changed)
    }
}

/// Inserts a confirmation, replaces an older one, or leaves a newer one, in one
/// statement; true if the row changed.
fn upsert_fact(t: &mut dyn Tx, uscc: &str, fact: &str, row: &FactRow) -> Result<bool, StoreError> {
    Ok(t.exec(
        "INSERT INTO enterprise_fact (enterprise_uscc, fact, record_id, inspection_id, confirmed_by, confirmed_at, value, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (enterprise_uscc, fact) DO UPDATE SET record_id = excluded.record_id,
             inspection_id = excluded.inspection_id, confirmed_by = excluded.confirmed_by,
             confirmed_at = excluded.confirmed_at, value = excluded.value,
             outcome = excluded.outcome
         WHERE enterprise_fact.confirmed_at < excluded.confirmed_at
            OR (enterprise_fact.confirmed_at = excluded.confirmed_at
                AND enterprise_fact.record_id < excluded.record_id)",
        &[
            uscc.into(),
            fact.into(),
            row.record_id.clone().into(),
            row.inspection_id.clone().into(),
            row.confirmed_by.clone().into(),
            row.confirmed_at.clone().into(),
            row.value.clone().into(),
            row.outcome.clone().into(),
        ],
    )? > 0)
}

/// The accepted inspections filed under an enterprise (`$1`, the USCC their payload
/// names, as their confirmations are filed), in the order the server received them:
/// through the projection's index by enterprise. Reading `record` by `kind` read every
/// inspection held (`crate::query_plans` tests the plan). The projection holds the
/// inspections folded so far, so a rebuild sees at each review what the server saw then.
pub(crate) const INSPECTIONS_OF_ENTERPRISE: &str =
    "SELECT r.id, r.device_id, r.payload, r.division_code, r.received_at
     FROM inspection i CROSS JOIN record r
     WHERE i.enterprise_uscc = $1 AND r.id = i.record_id AND r.state = 'accepted'
     ORDER BY r.received_at, r.device_id, r.seq";

/// Derives an enterprise's confirmations again from its accepted inspections, in the
/// order the server received them, leaving out rejected ones (a review changed an
/// inspection's standing); republishes its row when `publish`.
pub(crate) fn refold_enterprise(
    t: &mut dyn Tx,
    pg: bool,
    publish: bool,
    uscc: &str,
) -> Result<(), StoreError> {
    t.exec(
        "DELETE FROM enterprise_fact WHERE enterprise_uscc = $1",
        &[uscc.into()],
    )?;
    let rows = t.query(INSPECTIONS_OF_ENTERPRISE, &[uscc.into()])?;
    for row in &rows {
        let Ok(p) = serde_json::from_str::<FinalizedInspection>(&row.text(2)?.unwrap_or_default())
        else {
            continue;
        };
        let (id, device, division, received) = (
            row.str(0)?,
            row.str(1)?,
            row.text(3)?.unwrap_or_default(),
            row.str(4)?,
        );
        project_confirmations(
            t,
            &Accepted {
                id: &id,
                device_id: &device,
                kind: "inspection",
                payload: "",
                division: &division,
                received_at: &received,
                payload_sha256: "",
                pg,
                publish: false,
                facts: None,
            },
            &p,
        )?;
    }
    if publish {
        republish(t, pg, uscc)?;
    }
    Ok(())
}

/// The row the phones pull: the imported `register_body` with the enterprise's
/// confirmed facts applied ([`confirmed_body`]) and the leases phones recorded of it
/// merged in ([`crate::phone_leases::merge`]).
pub(crate) fn effective_body(
    t: &mut dyn Tx,
    uscc: &str,
    register_body: &serde_json::Value,
) -> Result<serde_json::Value, StoreError> {
    let mut out = confirmed_body(t, uscc, register_body)?;
    crate::phone_leases::merge(t, uscc, &mut out)?;
    Ok(out)
}

/// The imported `register_body` with the enterprise's confirmed facts applied (in [`ConfirmedFact::ALL`] order) and a `confirmations`
/// object naming, per fact, who confirmed it, when and from which inspection (with the
/// dust verification's facts under `facts`). Unchanged when nothing was confirmed.
fn confirmed_body(
    t: &mut dyn Tx,
    uscc: &str,
    register_body: &serde_json::Value,
) -> Result<serde_json::Value, StoreError> {
    let rows = t.query(
        "SELECT fact, value, confirmed_by, confirmed_at, inspection_id FROM enterprise_fact
         WHERE enterprise_uscc = $1",
        &[uscc.into()],
    )?;
    if rows.is_empty() {
        return Ok(register_body.clone());
    }
    let Ok(mut e) = serde_json::from_value::<Enterprise>(register_body.clone()) else {
        tracing::warn!(
            uscc,
            "register row does not parse; published without its confirmations"
        );
        return Ok(register_body.clone());
    };
    let mut held: Vec<(ConfirmedFact, Confirmations, serde_json::Value)> = Vec::new();
    for row in &rows {
        let Some(fact) = ConfirmedFact::parse(&row.str(0)?) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<Confirmations>(&row.str(1)?) else {
            continue;
        };
        let mut who = serde_json::json!({
            "by": row.str(2)?,
            "at": row.str(3)?,
            "inspection_id": row.str(4)?,
        });
        if let (Some(update), Some(o)) = (&value.dust, who.as_object_mut()) {
            o.insert(
                "facts".into(),
                serde_json::to_value(update).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        held.push((fact, value, who));
    }
    held.sort_by_key(|(f, _, _)| *f);
    let mut named = serde_json::Map::new();
    for (fact, value, who) in held {
        value.apply_to(&mut e);
        named.insert(fact.as_str().to_string(), who);
    }
    let mut out = register_body.clone();
    let applied = serde_json::to_value(&e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let (Some(o), Some(a)) = (out.as_object_mut(), applied.as_object()) {
        for (k, v) in a {
            o.insert(k.clone(), v.clone());
        }
        o.insert("confirmations".into(), serde_json::Value::Object(named));
    }
    Ok(out)
}

/// Publishes an enterprise's row again (register row with its confirmations) and keeps
/// the register columns coverage selects by in step.
pub(crate) fn republish(t: &mut dyn Tx, pg: bool, uscc: &str) -> Result<(), StoreError> {
    let Some(row) = t.query_opt(
        "SELECT id, village_code, body FROM enterprise WHERE uscc = $1",
        &[uscc.into()],
    )?
    else {
        return Ok(());
    };
    let (id, village) = (row.str(0)?, row.str(1)?);
    let register: serde_json::Value =
        serde_json::from_str(&row.str(2)?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let body = effective_body(t, uscc, &register)?;
    let [_, dust, al_mg, workers, tenant] = crate::coverage::register_facts(&body);
    t.exec(
        "UPDATE enterprise SET dust_involved = $2, al_mg = $3, workers_per_shift = $4, tenant = $5 WHERE uscc = $1",
        &[uscc.into(), dust, al_mg, workers, tenant],
    )?;
    // The ledger's index of its leases as landlord, phone leases included.
    if let Ok(landlord) = uuid::Uuid::parse_str(&id) {
        crate::lease_ledger::index_landlord(t, &landlord, &body)?;
    }
    upsert_change(t, pg, ChangeKind::Enterprise, &id, Some(&village), &body)?;
    Ok(())
}
