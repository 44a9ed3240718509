//! Applying pulled reference data: one page of changes in one transaction, together
//! with the cursor, so a cut between pages resumes at the next page and a cut inside a
//! page leaves nothing half-applied.

use super::SyncError;
use crate::error::StoreError;
use crate::inspection::hazards::apply_pulled_event;
use crate::register::{write_division, write_enterprise, write_lease, write_site};
use crate::store::Store;
use gridwalk_checklist::HazardEvent;
use gridwalk_core::division::Division;
use gridwalk_core::enterprise::{Enterprise, Lease, Site};
use gridwalk_protocol::{ChangeKind, PullPage};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// What one page changed on the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullApplied {
    pub divisions: u64,
    pub enterprises: u64,
    pub templates: u64,
    /// Hazard events recorded on other devices, now on this one (including ones that
    /// waited for an earlier page).
    pub hazard_events: u64,
    /// Hazard events held back until what they build on arrives (a creation's
    /// enterprise, any other event's hazard creation); retried on every page.
    pub hazard_events_waiting: u64,
    /// Campaigns stored (docs/campaign.md).
    pub campaigns: u64,
    /// Assignments (任务) received (protocol 3), each kept at its latest state.
    pub assignments: u64,
    /// Reviews of inspections received (protocol 3), the latest per inspection.
    pub reviews: u64,
    /// 疑似 (suspected) enterprises received (protocol 5), each at its latest state.
    #[serde(default)]
    pub suspected: u64,
    /// Changes this version does not apply (template versions this device already
    /// used, hazard events, campaigns, assignments or reviews that do not parse); the
    /// cursor moves past them.
    pub skipped: u64,
}

impl PullApplied {
    pub(crate) fn add(&mut self, o: &PullApplied) {
        self.divisions += o.divisions;
        self.enterprises += o.enterprises;
        self.templates += o.templates;
        self.hazard_events += o.hazard_events;
        self.hazard_events_waiting = o.hazard_events_waiting;
        self.campaigns += o.campaigns;
        self.assignments += o.assignments;
        self.reviews += o.reviews;
        self.suspected += o.suspected;
        self.skipped += o.skipped;
    }
}

/// A register entry as the server publishes it (the device's `EnterpriseDetail`).
#[derive(Debug, Deserialize)]
struct PulledEnterprise {
    #[serde(flatten)]
    enterprise: Enterprise,
    #[serde(default)]
    sites_as_landlord: Vec<PulledSite>,
    #[serde(default)]
    leases_as_tenant: Vec<PulledLease>,
    /// Registered on a phone (protocol 4 servers publish it).
    #[serde(default)]
    registered_on_site: bool,
    /// What visits confirmed, per fact (docs/campaign.md "Enterprise facts").
    #[serde(default)]
    confirmations:
        std::collections::BTreeMap<String, crate::inspection::status::PulledConfirmation>,
}

#[derive(Debug, Deserialize)]
struct PulledSite {
    #[serde(flatten)]
    site: Site,
    #[serde(default)]
    leases: Vec<PulledLease>,
}

#[derive(Debug, Deserialize)]
struct PulledLease {
    #[serde(flatten)]
    lease: Lease,
}

fn bad_change(key: &str, e: impl ToString) -> SyncError {
    SyncError::Server {
        status: 200,
        code: "malformed_change".into(),
        detail: format!("change {key}: {}", e.to_string()),
        retry_after: None,
    }
}

fn exists(conn: &Connection, sql: &str, id: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(sql, [id], |r| r.get::<_, bool>(0))?)
}

/// Holds a pulled hazard event in `hazard_event_pending`, unless it is already on this
/// device (this device's own events come back in the pull too).
fn stage_hazard_event(conn: &Connection, e: &HazardEvent) -> Result<(), SyncError> {
    if exists(
        conn,
        "SELECT EXISTS (SELECT 1 FROM hazard_event WHERE id = ?1)",
        &e.id.to_string(),
    )? {
        return Ok(());
    }
    let text = gridwalk_checklist::canonical::to_canonical_json(e)
        .map_err(|err| bad_change(&e.id.to_string(), err))
        .and_then(|b| String::from_utf8(b).map_err(|err| bad_change(&e.id.to_string(), err)))?;
    conn.execute(
        "INSERT OR IGNORE INTO hazard_event_pending (id, hazard_id, at, event, reason, pulled_at) \
         VALUES (?1, ?2, ?3, ?4, 'not yet tried', ?5)",
        rusqlite::params![
            e.id.to_string(),
            e.hazard_id.to_string(),
            crate::inspection::ts(&e.at),
            text,
            crate::inspection::ts(&crate::inspection::now_utc())
        ],
    )?;
    Ok(())
}

/// Applies every waiting hazard event whose prerequisites are here, oldest first, in
/// passes until one applies nothing more; returns (applied, still waiting).
fn apply_waiting_hazard_events(conn: &Connection) -> Result<(u64, u64), SyncError> {
    let mut applied = 0;
    loop {
        let waiting: Vec<(String, String)> = conn
            .prepare("SELECT id, event FROM hazard_event_pending ORDER BY at, id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut progress = 0;
        for (id, text) in &waiting {
            let e: HazardEvent = serde_json::from_str(text).map_err(|err| StoreError::Corrupt {
                table: "hazard_event_pending",
                column: "event",
                detail: format!("{id}: {err}"),
            })?;
            match apply_pulled_event(conn, &e).map_err(inspection_error)? {
                Ok(()) => {
                    conn.execute("DELETE FROM hazard_event_pending WHERE id = ?1", [id])?;
                    progress += 1;
                }
                Err(reason) => {
                    conn.execute(
                        "UPDATE hazard_event_pending SET reason = ?2 WHERE id = ?1",
                        [id, &reason],
                    )?;
                }
            }
        }
        applied += progress;
        if progress == 0 || progress as usize == waiting.len() {
            return Ok((applied, (waiting.len() - progress as usize) as u64));
        }
    }
}

fn inspection_error(e: crate::inspection::InspectionError) -> SyncError {
    match e {
        crate::inspection::InspectionError::Store(s) => SyncError::Store(s),
        other => SyncError::Store(StoreError::Corrupt {
            table: "hazard_event",
            column: "event",
            detail: other.to_string(),
        }),
    }
}

impl Store {
    /// Applies one pulled page and stores its `next_cursor`, in one transaction.
    pub fn apply_pull_page(&self, page: &PullPage) -> Result<PullApplied, SyncError> {
        let tx = crate::inspection::begin(&self.conn)?;
        let mut applied = PullApplied::default();
        let mut sites = Vec::new();
        let mut leases = Vec::new();
        for c in &page.changes {
            match c.kind {
                ChangeKind::Division => {
                    let d: Division = serde_json::from_value(c.body.clone())
                        .map_err(|e| bad_change(&c.key, e))?;
                    write_division(&tx, &d)?;
                    applied.divisions += 1;
                }
                ChangeKind::Enterprise => {
                    let mut e: PulledEnterprise = serde_json::from_value(c.body.clone())
                        .map_err(|e| bad_change(&c.key, e))?;
                    crate::inspection::status::merge_confirmations(
                        &tx,
                        &mut e.enterprise,
                        &e.confirmations,
                    )?;
                    // The change log holds each entity at its latest version, so an
                    // enterprise may arrive before its (edited) village: hold the place;
                    // the village's own change fills it in.
                    let village = &e.enterprise.village_code;
                    tx.execute(
                        "INSERT OR IGNORE INTO division (code, name, level, parent_code) \
                         VALUES (?1, ?1, ?2, NULL)",
                        [village.as_str(), village.level().as_str()],
                    )?;
                    write_enterprise(&tx, &e.enterprise)?;
                    tx.execute(
                        "UPDATE enterprise SET registered_on_site = ?2 WHERE id = ?1",
                        rusqlite::params![e.enterprise.id.to_string(), e.registered_on_site],
                    )?;
                    applied.enterprises += 1;
                    for s in e.sites_as_landlord {
                        leases.extend(s.leases.into_iter().map(|l| l.lease));
                        sites.push(s.site);
                    }
                    leases.extend(e.leases_as_tenant.into_iter().map(|l| l.lease));
                }
                ChangeKind::Template => {
                    let t: gridwalk_checklist::Template = serde_json::from_value(c.body.clone())
                        .map_err(|e| bad_change(&c.key, e))?;
                    match crate::inspection::templates::write_template(&tx, &t, "import") {
                        Ok(_) => applied.templates += 1,
                        // A version this device already used keeps its frozen content.
                        Err(crate::inspection::InspectionError::TemplateInUse { .. }) => {
                            applied.skipped += 1
                        }
                        Err(crate::inspection::InspectionError::Store(e)) => return Err(e.into()),
                        Err(e) => return Err(bad_change(&c.key, e)),
                    }
                }
                // Another device's record, which the server checks only as JSON: one
                // that is not a hazard event is passed over, not allowed to stop every
                // device of the jurisdiction from pulling.
                ChangeKind::HazardEvent => {
                    match serde_json::from_value::<HazardEvent>(c.body.clone()) {
                        Ok(e) => stage_hazard_event(&tx, &e)?,
                        Err(_) => applied.skipped += 1,
                    }
                }
                // A campaign this build cannot read is passed over, not allowed to stop
                // the pull.
                ChangeKind::Campaign => {
                    match serde_json::from_value::<gridwalk_core::Campaign>(c.body.clone()) {
                        Ok(campaign) if campaign.check().is_ok() => {
                            tx.execute(
                                "INSERT INTO campaign (id, area_code, starts_on, ends_on, body, pulled_at) \
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET \
                                 area_code = excluded.area_code, starts_on = excluded.starts_on, \
                                 ends_on = excluded.ends_on, body = excluded.body, pulled_at = excluded.pulled_at",
                                rusqlite::params![
                                    campaign.id,
                                    campaign.area_code.as_str(),
                                    campaign.starts_on.to_string(),
                                    campaign.ends_on.to_string(),
                                    c.body.to_string(),
                                    super::now()
                                ],
                            )?;
                            applied.campaigns += 1;
                        }
                        _ => applied.skipped += 1,
                    }
                }
                // An officer's work (protocol 3), kept at its latest state; a body this
                // build cannot read is passed over, not allowed to stop the pull.
                ChangeKind::Assignment => {
                    match serde_json::from_value::<gridwalk_core::work::Assignment>(c.body.clone())
                    {
                        Ok(a) => {
                            crate::work::upsert_assignment(&tx, &a, &c.body.to_string())?;
                            applied.assignments += 1;
                        }
                        Err(_) => applied.skipped += 1,
                    }
                }
                // A 疑似 entry (protocol 5) at its latest state; one this build cannot
                // read is passed over, not allowed to stop the pull.
                ChangeKind::Suspected => {
                    match serde_json::from_value::<gridwalk_core::SuspectedEntry>(c.body.clone()) {
                        Ok(e) => {
                            crate::suspected::upsert_entry(&tx, &e, &c.body.to_string())?;
                            applied.suspected += 1;
                        }
                        Err(_) => applied.skipped += 1,
                    }
                }
                ChangeKind::Review => {
                    match serde_json::from_value::<gridwalk_core::work::Review>(c.body.clone()) {
                        Ok(r) => {
                            crate::work::upsert_review(&tx, &r, &c.body.to_string())?;
                            applied.reviews += 1;
                        }
                        Err(_) => applied.skipped += 1,
                    }
                }
            }
        }
        // Sites and leases after every enterprise of the page; a lease whose other
        // party is not here yet arrives again with that party's own change.
        for s in &sites {
            if exists(
                &tx,
                "SELECT EXISTS (SELECT 1 FROM enterprise WHERE id = ?1)",
                &s.landlord_id.to_string(),
            )? {
                write_site(&tx, s)?;
            }
        }
        for l in &leases {
            let site = exists(
                &tx,
                "SELECT EXISTS (SELECT 1 FROM site WHERE id = ?1)",
                &l.site_id.to_string(),
            )?;
            let tenant = exists(
                &tx,
                "SELECT EXISTS (SELECT 1 FROM enterprise WHERE id = ?1)",
                &l.tenant_id.to_string(),
            )?;
            if site && tenant {
                write_lease(&tx, l)?;
            }
        }
        // Hazard events last: their enterprises may be on this very page.
        let (done, waiting) = apply_waiting_hazard_events(&tx)?;
        applied.hazard_events = done;
        applied.hazard_events_waiting = waiting;
        Store::set_pull_cursor_in(&tx, &page.next_cursor)?;
        tx.commit().map_err(StoreError::from)?;
        if applied.enterprises > 0 {
            crate::short_index::invalidate();
        }
        Ok(applied)
    }
}
