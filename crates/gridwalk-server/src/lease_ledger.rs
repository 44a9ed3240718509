//! The 厂中厂 ledger (厂中厂台账, docs/leases.md): per site of a division, the landlord
//! and each tenant with its lease, the tenant's latest visit, its latest pre-lease check
//! (租前体检) with the shared fit-to-lease rule ([`gridwalk_checklist::pre_lease`]), and
//! the open and overdue hazards of both parties.
//!
//! Leases come from the register: each landlord's published entry lists its sites with
//! their leases, and every import keeps the `lease` table (server migration 0015) in step
//! with it ([`index_landlord`]). The ledger reads a division's leases by index, then the
//! checks, findings, hazards and latest visits of all their parties in one query each —
//! five queries whatever the number of leases.
//!
//! A lease is in a division's ledger when its landlord's or its tenant's village is in
//! the division. When the two are in different towns, an officer of one town sees the
//! lease (both names and USCCs are in the landlord's register entry the town already
//! holds), but the inspections, pre-lease status and hazards of the party outside the
//! officer's jurisdiction are withheld (`null`, `in_jurisdiction: false`).

use crate::db::{Row, Tx};
use crate::error::StoreError;
use crate::store::{problem, Store};
use crate::work::Actor;
use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_checklist::hazard::china_date;
use gridwalk_checklist::pre_lease::{
    pre_lease_status, PreLeaseCheck, PreLeaseStatus, RaisedHazard,
};
use gridwalk_checklist::{Confirmations, HazardState, HazardStatus};
use gridwalk_core::{DivisionCode, Enterprise, Lease, Site};
use gridwalk_protocol::ProblemCode;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The template id of the pre-lease check.
pub const PRE_LEASE_TEMPLATE: &str = "pre-lease-check";

/// Which leases the ledger lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseFilter {
    /// `not_checked`, `fit` or `not_fit` (the tenant's pre-lease status).
    pub status: Option<String>,
    /// Only leases whose tenant or landlord has a hazard not closed.
    pub open_hazards: bool,
}

/// One party of a lease (landlord or tenant).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeaseParty {
    pub enterprise_id: String,
    pub name: String,
    pub uscc: String,
    pub village_code: String,
    /// Inside the caller's jurisdiction; when not, its figures are `null`.
    pub in_jurisdiction: bool,
    /// Hazards not closed.
    pub open_hazards: Option<i64>,
    /// Hazards still found / assigned / rectifying after their deadline (China date).
    pub overdue_hazards: Option<i64>,
}

/// The latest finalized inspection of a tenant (its first check of process and risks).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LastInspection {
    pub inspection_id: String,
    pub template_id: String,
    pub template_title: String,
    /// RFC 3339.
    pub finalized_at: String,
}

/// The tenant's latest pre-lease check and what the rule makes of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PreLeaseView {
    /// `not_checked`, `fit` or `not_fit`.
    pub status: String,
    /// 未体检, 适租 or 不适租.
    pub status_zh: String,
    /// The check the status rests on.
    pub inspection_id: Option<String>,
    /// When it was finalized (RFC 3339).
    pub checked_at: Option<String>,
    /// The inspector named in it.
    pub inspector: Option<String>,
    /// Items it failed.
    pub failed_items: i64,
    /// Failed items not rectified yet (ids), which make the tenant 不适租.
    pub open_items: Vec<String>,
}

/// One lease of a site.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LedgerLease {
    pub lease_id: String,
    pub tenant: LeaseParty,
    pub tenant_industry: Option<String>,
    /// The tenant's dust types (confirmed by an expert when verified), in Chinese.
    pub tenant_dust_types: Vec<String>,
    /// `None` when withheld or never visited.
    pub last_inspection: Option<LastInspection>,
    pub floors: Option<String>,
    pub area_m2: Option<f64>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub equipment_leased: bool,
    pub equipment_description: Option<String>,
    pub safety_agreement_signed: Option<bool>,
    /// 用途 / 生产工艺, as recorded on a phone (docs/leases.md).
    pub use_zh: Option<String>,
    /// Recorded on a phone rather than imported with the register.
    pub recorded_on_site: bool,
    /// `None` when the tenant is outside the caller's jurisdiction.
    pub pre_lease: Option<PreLeaseView>,
}

/// A site with its landlord and the leases listed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LedgerSite {
    pub site_id: String,
    pub name: String,
    pub address: Option<String>,
    /// The landlord's village (where the site is registered).
    pub village_code: String,
    pub town_name: String,
    pub village_name: String,
    pub landlord: LeaseParty,
    pub leases: Vec<LedgerLease>,
}

/// Counts of the leases listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LeaseCounts {
    pub sites: usize,
    pub leases: usize,
    pub not_checked: usize,
    pub fit: usize,
    pub not_fit: usize,
    /// Tenants outside the caller's jurisdiction (status withheld).
    pub withheld: usize,
}

/// `GET /v1/leases`: the 厂中厂 ledger of a division.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeaseLedger {
    pub division: String,
    pub division_name: String,
    pub counts: LeaseCounts,
    pub sites: Vec<LedgerSite>,
}

/// Replaces the leases of one landlord with those of its register entry (`body`, the
/// device's `EnterpriseDetail`: `sites_as_landlord[].leases[]`). Called for every
/// enterprise an import publishes.
pub(crate) fn index_landlord(
    t: &mut dyn Tx,
    landlord_id: &Uuid,
    body: &serde_json::Value,
) -> Result<(), StoreError> {
    let landlord = landlord_id.to_string();
    t.exec(
        "DELETE FROM lease WHERE landlord_id = $1",
        &[landlord.clone().into()],
    )?;
    let sites = body
        .get("sites_as_landlord")
        .and_then(|s| s.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    for s in sites {
        let Ok(site) = serde_json::from_value::<Site>(s.clone()) else {
            tracing::warn!(landlord, "a site of the register does not parse; no leases");
            continue;
        };
        let site_text =
            serde_json::to_string(&site).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        for l in s
            .get("leases")
            .and_then(|l| l.as_array())
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Ok(lease) = serde_json::from_value::<Lease>(l.clone()) else {
                tracing::warn!(landlord, "a lease of the register does not parse");
                continue;
            };
            let text =
                serde_json::to_string(&lease).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            t.exec(
                "INSERT INTO lease (id, site_id, landlord_id, tenant_id, site, body)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id,
                     landlord_id = excluded.landlord_id, tenant_id = excluded.tenant_id,
                     site = excluded.site, body = excluded.body",
                &[
                    lease.id.to_string().into(),
                    site.id.to_string().into(),
                    landlord.clone().into(),
                    lease.tenant_id.to_string().into(),
                    site_text.clone().into(),
                    text.into(),
                ],
            )?;
        }
    }
    Ok(())
}

/// Fills the `lease` table from registers imported before it existed; once per
/// database (`server_meta` key `leases_indexed`).
pub(crate) fn index_leases(t: &mut dyn Tx) -> Result<(), StoreError> {
    if t.query_opt(
        "SELECT 1 FROM server_meta WHERE key = 'leases_indexed'",
        &[],
    )?
    .is_some()
    {
        return Ok(());
    }
    let rows = t.query("SELECT id, body FROM enterprise", &[])?;
    for r in &rows {
        let Ok(id) = Uuid::parse_str(&r.str(0)?) else {
            continue;
        };
        let body: serde_json::Value = serde_json::from_str(&r.str(1)?).unwrap_or_default();
        index_landlord(t, &id, &body)?;
    }
    t.exec(
        "INSERT INTO server_meta (key, value) VALUES ('leases_indexed', '1')
         ON CONFLICT (key) DO NOTHING",
        &[],
    )?;
    Ok(())
}

/// The parties of the leases in scope: `$1` is the division's prefix pattern.
const SCOPE: &str = "SELECT tn.uscc FROM lease l JOIN enterprise ll ON ll.id = l.landlord_id
        JOIN enterprise tn ON tn.id = l.tenant_id
        WHERE ll.village_code LIKE $1 OR tn.village_code LIKE $1
    UNION SELECT ll.uscc FROM lease l JOIN enterprise ll ON ll.id = l.landlord_id
        JOIN enterprise tn ON tn.id = l.tenant_id
        WHERE ll.village_code LIKE $1 OR tn.village_code LIKE $1";

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A party's figures, per USCC.
#[derive(Default)]
struct Figures {
    checks: Vec<(PreLeaseCheck, String)>,
    raised: Vec<RaisedHazard>,
    open: i64,
    overdue: i64,
    last: Option<LastInspection>,
}

/// What one query row of a lease holds.
struct Joined {
    site: Site,
    lease: Lease,
    landlord: (String, String, String),
    tenant: (String, String, String),
    tenant_body: Option<Enterprise>,
}

fn party(
    id: &Uuid,
    (uscc, name, village): &(String, String, String),
    actor: &Actor,
    figures: &HashMap<String, Figures>,
) -> Result<LeaseParty, StoreError> {
    let seen = actor.sees_code(village)?;
    let f = figures.get(uscc);
    Ok(LeaseParty {
        enterprise_id: id.to_string(),
        name: name.clone(),
        uscc: uscc.clone(),
        village_code: village.clone(),
        in_jurisdiction: seen,
        open_hazards: seen.then(|| f.map_or(0, |f| f.open)),
        overdue_hazards: seen.then(|| f.map_or(0, |f| f.overdue)),
    })
}

fn pre_lease_view(f: Option<&Figures>) -> PreLeaseView {
    let empty = Figures::default();
    let f = f.unwrap_or(&empty);
    let checks: Vec<PreLeaseCheck> = f.checks.iter().map(|(c, _)| c.clone()).collect();
    let status = pre_lease_status(&checks, &f.raised);
    let latest = status
        .inspection_id()
        .and_then(|id| f.checks.iter().find(|(c, _)| c.inspection_id == id));
    PreLeaseView {
        status: status.as_str().into(),
        status_zh: status.name_zh().into(),
        inspection_id: status.inspection_id().map(|i| i.to_string()),
        checked_at: latest.map(|(c, _)| c.finalized_at.to_rfc3339()),
        inspector: latest.map(|(_, by)| by.clone()),
        failed_items: latest.map_or(0, |(c, _)| c.failed_items.len() as i64),
        open_items: match status {
            PreLeaseStatus::NotFit { open_items, .. } => open_items,
            _ => Vec::new(),
        },
    }
}

impl Store {
    /// The 厂中厂 ledger of `division` for `actor`: officers and admins only (`403` for
    /// a grid worker or expert, as for the exports), inside their jurisdiction (else
    /// `404`, as if the division did not exist). Sites are
    /// ordered by the landlord's village, site name and id; leases by tenant USCC.
    pub fn lease_ledger(
        &self,
        actor: &Actor,
        division: &DivisionCode,
        filter: &LeaseFilter,
    ) -> Result<LeaseLedger, StoreError> {
        if !actor.may_manage() {
            return Err(problem(
                ProblemCode::ForbiddenRole,
                format!("a {} does not read the 厂中厂 ledger", actor.role.as_str()),
            ));
        }
        if !actor.sees(division) {
            return Err(problem(
                ProblemCode::NotFound,
                format!("no division {division} in your jurisdiction"),
            ));
        }
        if let Some(s) = filter.status.as_deref() {
            if !["not_checked", "fit", "not_fit"].contains(&s) {
                return Err(problem(
                    ProblemCode::InvalidRequest,
                    format!("status {s}: not_checked, fit or not_fit"),
                ));
            }
        }
        let today = china_date(Utc::now());
        self.tx(|t| read_ledger(t, actor, division, filter, today))
    }
}

pub(crate) fn read_ledger(
    t: &mut dyn Tx,
    actor: &Actor,
    division: &DivisionCode,
    filter: &LeaseFilter,
    today: NaiveDate,
) -> Result<LeaseLedger, StoreError> {
    let prefix = format!("{}%", division.significant_prefix());
    let names = crate::export::Names::load_all(t)?;
    let titles = crate::export::template_titles(t)?;
    let mut figures: HashMap<String, Figures> = HashMap::new();

    // 1. Pre-lease checks of the parties (a rejected one is no record of the visit).
    let sql = format!(
        "SELECT i.enterprise_uscc, i.inspection_id, i.finalized_at, i.supersedes, i.inspector,
                i.record_id
         FROM inspection i LEFT JOIN review rv ON rv.inspection_id = i.inspection_id
         WHERE i.template_id = $2 AND COALESCE(rv.state, '') <> 'rejected'
           AND i.enterprise_uscc IN ({SCOPE})"
    );
    let mut check_of_record: HashMap<String, (String, usize)> = HashMap::new();
    t.query_each(
        &sql,
        &[prefix.clone().into(), PRE_LEASE_TEMPLATE.into()],
        &mut |r: Row| {
            let (Ok(id), Some(at)) = (Uuid::parse_str(&r.str(1)?), parse_time(&r.str(2)?)) else {
                return Ok(());
            };
            let supersedes = r.text(3)?.and_then(|s| Uuid::parse_str(&s).ok());
            let f = figures.entry(r.str(0)?).or_default();
            check_of_record.insert(r.str(5)?, (r.str(0)?, f.checks.len()));
            f.checks.push((
                PreLeaseCheck {
                    inspection_id: id,
                    finalized_at: at,
                    supersedes,
                    failed_items: Vec::new(),
                },
                r.str(4)?,
            ));
            Ok(())
        },
    )?;
    // 2. Their failed items.
    let sql = format!(
        "SELECT f.record_id, f.item_id FROM finding f JOIN inspection i ON i.record_id = f.record_id
         WHERE i.template_id = $2 AND i.enterprise_uscc IN ({SCOPE})"
    );
    t.query_each(
        &sql,
        &[prefix.clone().into(), PRE_LEASE_TEMPLATE.into()],
        &mut |r: Row| {
            if let Some((uscc, at)) = check_of_record.get(&r.str(0)?) {
                if let Some((c, _)) = figures.get_mut(uscc).and_then(|f| f.checks.get_mut(*at)) {
                    c.failed_items.push(r.str(1)?);
                }
            }
            Ok(())
        },
    )?;
    // 3. The parties' hazards: counts, and which item of which inspection raised each.
    let sql = format!(
        "SELECT h.enterprise_uscc, h.state FROM hazard h
         WHERE h.status IS NOT NULL AND h.enterprise_uscc IN ({SCOPE})"
    );
    t.query_each(&sql, &[prefix.clone().into()], &mut |r: Row| {
        let Some(state) = r
            .text(1)?
            .and_then(|s| serde_json::from_str::<HazardState>(&s).ok())
        else {
            return Ok(());
        };
        let f = figures.entry(r.str(0)?).or_default();
        if state.status != HazardStatus::Closed {
            f.open += 1;
        }
        if state.is_overdue(today) {
            f.overdue += 1;
        }
        if let (Some(inspection_id), Some(item_id)) = (state.inspection_id, state.item_id) {
            f.raised.push(RaisedHazard {
                inspection_id,
                item_id,
                status: state.status,
            });
        }
        Ok(())
    })?;
    // 4. The latest visit of each party (any template).
    let sql = format!(
        "SELECT i.enterprise_uscc, i.inspection_id, i.template_id, i.template_version, i.finalized_at
         FROM inspection i WHERE i.enterprise_uscc IN ({SCOPE})"
    );
    t.query_each(&sql, &[prefix.clone().into()], &mut |r: Row| {
        let at = r.str(4)?;
        let f = figures.entry(r.str(0)?).or_default();
        let newer = f.last.as_ref().is_none_or(|l| {
            (parse_time(&at), r.str(1).unwrap_or_default())
                > (parse_time(&l.finalized_at), l.inspection_id.clone())
        });
        if newer {
            let template_id = r.str(2)?;
            let title = titles
                .get(&(template_id.clone(), r.int(3)?))
                .cloned()
                .unwrap_or_else(|| template_id.clone());
            f.last = Some(LastInspection {
                inspection_id: r.str(1)?,
                template_id,
                template_title: title,
                finalized_at: at,
            });
        }
        Ok(())
    })?;
    // 5. The leases, with both parties and the tenant's confirmed dust facts.
    let mut rows: Vec<Joined> = Vec::new();
    t.query_each(
        "SELECT l.site, l.body, ll.uscc, ll.name, ll.village_code, tn.uscc, tn.name,
                tn.village_code, tn.body, f.value
         FROM lease l JOIN enterprise ll ON ll.id = l.landlord_id
         JOIN enterprise tn ON tn.id = l.tenant_id
         LEFT JOIN enterprise_fact f ON f.enterprise_uscc = tn.uscc AND f.fact = 'dust_confirmed'
         WHERE ll.village_code LIKE $1 OR tn.village_code LIKE $1",
        &[prefix.into()],
        &mut |r: Row| {
            let (Ok(site), Ok(lease)) = (
                serde_json::from_str::<Site>(&r.str(0)?),
                serde_json::from_str::<Lease>(&r.str(1)?),
            ) else {
                tracing::warn!("a lease row does not parse; left out of the ledger");
                return Ok(());
            };
            let mut tenant_body = serde_json::from_str::<Enterprise>(&r.str(8)?).ok();
            if let (Some(e), Some(c)) = (
                tenant_body.as_mut(),
                r.text(9)?
                    .and_then(|v| serde_json::from_str::<Confirmations>(&v).ok()),
            ) {
                c.apply_to(e);
            }
            let name = |s: Option<String>| s.unwrap_or_default();
            rows.push(Joined {
                site,
                lease,
                landlord: (r.str(2)?, name(r.text(3)?), r.str(4)?),
                tenant: (r.str(5)?, name(r.text(6)?), r.str(7)?),
                tenant_body,
            });
            Ok(())
        },
    )?;
    rows.sort_by(|a, b| {
        (
            &a.landlord.2,
            &a.site.name,
            a.site.id,
            &a.tenant.0,
            a.lease.id,
        )
            .cmp(&(
                &b.landlord.2,
                &b.site.name,
                b.site.id,
                &b.tenant.0,
                b.lease.id,
            ))
    });

    let mut counts = LeaseCounts::default();
    let mut sites: Vec<LedgerSite> = Vec::new();
    for row in rows {
        let tenant = party(&row.lease.tenant_id, &row.tenant, actor, &figures)?;
        let landlord = party(&row.site.landlord_id, &row.landlord, actor, &figures)?;
        let f = figures.get(&row.tenant.0);
        let pre_lease = tenant.in_jurisdiction.then(|| pre_lease_view(f));
        if let Some(want) = filter.status.as_deref() {
            if pre_lease.as_ref().is_none_or(|p| p.status != want) {
                continue;
            }
        }
        if filter.open_hazards
            && tenant.open_hazards.unwrap_or(0) + landlord.open_hazards.unwrap_or(0) == 0
        {
            continue;
        }
        match pre_lease.as_ref().map(|p| p.status.as_str()) {
            None => counts.withheld += 1,
            Some("fit") => counts.fit += 1,
            Some("not_fit") => counts.not_fit += 1,
            Some(_) => counts.not_checked += 1,
        }
        counts.leases += 1;
        // The dust types carry the expert's confirmation: inspection results of another
        // town, withheld like the rest of a party outside the jurisdiction.
        let (industry, dust) = match row.tenant_body.as_ref() {
            Some(e) if tenant.in_jurisdiction => (
                e.industry.clone(),
                e.dust_types.iter().map(|d| d.name_zh()).collect(),
            ),
            _ => (None, Vec::new()),
        };
        let lease = LedgerLease {
            lease_id: row.lease.id.to_string(),
            last_inspection: if tenant.in_jurisdiction {
                f.and_then(|f| f.last.clone())
            } else {
                None
            },
            tenant,
            tenant_industry: industry,
            tenant_dust_types: dust,
            floors: row.lease.floors,
            area_m2: row.lease.area_m2,
            start_date: row.lease.start_date,
            end_date: row.lease.end_date,
            equipment_leased: row.lease.equipment_leased,
            equipment_description: row.lease.equipment_description,
            safety_agreement_signed: row.lease.safety_agreement_signed,
            use_zh: row.lease.use_zh,
            recorded_on_site: row.lease.recorded_on_site,
            pre_lease,
        };
        match sites.last_mut() {
            Some(s) if s.site_id == row.site.id.to_string() => s.leases.push(lease),
            _ => {
                let (town_name, village_name) = names.town_village(&row.landlord.2);
                sites.push(LedgerSite {
                    site_id: row.site.id.to_string(),
                    name: row.site.name,
                    address: row.site.address,
                    village_code: row.landlord.2.clone(),
                    town_name,
                    village_name,
                    landlord,
                    leases: vec![lease],
                });
            }
        }
    }
    counts.sites = sites.len();
    Ok(LeaseLedger {
        division: division.to_string(),
        division_name: names.name(division.as_str()),
        counts,
        sites,
    })
}

/// 适租状态 as the sheet says it: 未体检, 适租, 不适租（N项未整改：item、item）, or
/// 辖区外 when the tenant is outside the caller's jurisdiction.
pub fn status_text(p: Option<&PreLeaseView>) -> String {
    match p {
        None => "辖区外".into(),
        Some(p) if p.open_items.is_empty() => p.status_zh.clone(),
        Some(p) => format!(
            "{}（{}项未整改：{}）",
            p.status_zh,
            p.open_items.len(),
            p.open_items.join("、")
        ),
    }
}

/// The rows of the 厂中厂台账, one per lease, in the ledger's order.
pub fn ledger_rows(ledger: &LeaseLedger) -> Vec<gridwalk_ledger::LeaseRow> {
    let day = |s: &Option<String>| s.as_deref().and_then(parse_time).map(china_date);
    let mut out = Vec::new();
    for site in &ledger.sites {
        for l in &site.leases {
            let mut use_process = l.tenant_industry.clone().unwrap_or_default();
            if !l.tenant_dust_types.is_empty() {
                use_process.push_str(&format!("（{}）", l.tenant_dust_types.join("、")));
            }
            let equipment = match (l.equipment_leased, l.equipment_description.as_deref()) {
                (false, _) => "否".to_string(),
                (true, Some(d)) if !d.trim().is_empty() => format!("是（{}）", d.trim()),
                (true, _) => "是".to_string(),
            };
            let p = l.pre_lease.as_ref();
            out.push(gridwalk_ledger::LeaseRow {
                town: site.town_name.clone(),
                village: site.village_name.clone(),
                site_name: site.name.clone(),
                site_address: site.address.clone(),
                landlord_name: site.landlord.name.clone(),
                landlord_uscc: site.landlord.uscc.clone(),
                tenant_name: l.tenant.name.clone(),
                tenant_uscc: l.tenant.uscc.clone(),
                floors: l.floors.clone(),
                area_m2: l.area_m2,
                start_date: l.start_date,
                end_date: l.end_date,
                use_process,
                equipment,
                safety_agreement: l
                    .safety_agreement_signed
                    .map(|s| if s { "已签订" } else { "未签订" }.to_string()),
                checked_on: p.and_then(|p| day(&p.checked_at)),
                checked_by: p.and_then(|p| p.inspector.clone()),
                failed_items: p
                    .filter(|p| p.inspection_id.is_some())
                    .map(|p| p.failed_items),
                status: status_text(p),
                // The tenant's own: a landlord's would count once per tenant of its site.
                open_hazards: l.tenant.open_hazards,
                overdue_hazards: l.tenant.overdue_hazards,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(status: &str, zh: &str, open: &[&str]) -> PreLeaseView {
        PreLeaseView {
            status: status.into(),
            status_zh: zh.into(),
            inspection_id: None,
            checked_at: None,
            inspector: None,
            failed_items: open.len() as i64,
            open_items: open.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_sheet_names_the_unrectified_items_and_withheld_tenants() {
        assert_eq!(status_text(None), "辖区外");
        assert_eq!(status_text(Some(&view("fit", "适租", &[]))), "适租");
        assert_eq!(
            status_text(Some(&view("not_fit", "不适租", &["FZ-P-01", "FZ-P-07"]))),
            "不适租（2项未整改：FZ-P-01、FZ-P-07）"
        );
    }

    #[test]
    fn a_tenant_without_figures_is_not_checked() {
        let v = pre_lease_view(None);
        assert_eq!(
            (v.status.as_str(), v.status_zh.as_str()),
            ("not_checked", "未体检")
        );
        assert_eq!((v.inspection_id, v.failed_items), (None, 0));
    }
}
