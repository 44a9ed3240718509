//! What the app's screens read (docs/ipc.md), over the store: the grid summary of a
//! jurisdiction, the enterprise list with its list facts (dust types, 厂中厂, visited,
//! open/overdue hazards) and filters, inspection summaries, hazards of a jurisdiction,
//! the updated [`ItemView`] after an answer, starting an inspection as the acting user,
//! and a reinspection citing photos stored beforehand.
//!
//! A jurisdiction is a division code (grid, village, town or district); it covers the
//! enterprises whose village lies inside it by the server's prefix rule (a grid also
//! covers its village), see [`crate::jurisdiction`]. A short code such as `320413104`
//! is read padded with zeros to 12 digits (`320413104000`). Lists keep to it; getting
//! an enterprise, inspection or hazard outside it is refused
//! (`store.outside_jurisdiction`).

use crate::error::StoreError;
use crate::inspection::{
    checklist::HazardEventKind, checklist::HazardStatus, parse_ts, parse_uuid, HazardDetail,
    HazardSummary, InspectionError, InspectionStatus, ItemView, StartInspection,
};
use crate::jurisdiction::{scope_sql, Scope};
use crate::search::{SearchHit, MAX_LIMIT};
use crate::store::Store;
use chrono::{DateTime, Utc};
use gridwalk_core::work::ReviewState;
use gridwalk_core::{DustCategory, DustType};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Counts over a jurisdiction for the home screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridSummary {
    /// Name of the jurisdiction's division, when loaded.
    pub jurisdiction_name: Option<String>,
    /// Enterprises in the jurisdiction.
    pub enterprises: u64,
    /// Enterprises with at least one finalized inspection.
    pub visited: u64,
    /// Enterprises without one.
    pub not_visited: u64,
    /// Hazards not closed.
    pub open_hazards: u64,
    /// Open hazards past their deadline.
    pub overdue_hazards: u64,
}

/// Filters of the enterprise list; absent, `null` or `false` means no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EnterpriseFilters {
    /// Any of the enterprise's dust types is in this category of the 2015 directory.
    #[serde(default)]
    pub dust_category: Option<DustCategory>,
    /// Only tenants in a lease or landlords of a site with leases.
    #[serde(default)]
    pub leased: Option<bool>,
    /// Only enterprises without a finalized inspection.
    #[serde(default)]
    pub not_visited: Option<bool>,
    /// Only enterprises with open hazards.
    #[serde(default)]
    pub open_hazards: Option<bool>,
}

/// A row of the enterprise list: a search hit plus its list facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnterpriseHit {
    /// The hit (`matched` is `all` for the empty query).
    #[serde(flatten)]
    pub hit: SearchHit,
    /// Dust types, Chinese names as registered.
    pub dust_types: Vec<String>,
    /// Tenant in a lease, or landlord of a site with leases.
    pub leased: bool,
    /// Has a finalized inspection.
    pub visited: bool,
    /// Hazards not closed.
    pub open_hazards: u32,
    /// Open hazards past their deadline.
    pub overdue_hazards: u32,
}

/// One inspection in an enterprise's history.
#[derive(Debug, Clone, Serialize)]
pub struct InspectionSummary {
    /// Inspection id.
    pub id: Uuid,
    /// Template id.
    pub template_id: String,
    /// Template title.
    pub template_title: String,
    /// Draft or finalized.
    pub status: InspectionStatus,
    /// Inspector.
    pub inspector: String,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finalized at.
    pub finalized_at: Option<DateTime<Utc>>,
    /// Major findings (finalized only).
    pub major_findings: u32,
    /// General findings (finalized only).
    pub general_findings: u32,
    /// State of the record in the sync outbox (`queued`, `sending`, `failed`,
    /// `accepted`, `complete`, `rejected`); `None` for drafts.
    pub sync_state: Option<String>,
    /// An officer's latest review (`approved`, `has_issues`, `rejected`), pulled from
    /// the server; `None` until reviewed.
    pub review_state: Option<ReviewState>,
}

/// The id of a started inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StartedInspection {
    /// Inspection id (UUID v7).
    pub inspection_id: Uuid,
}

/// Who acts on the device (from the enrollment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor<'a> {
    /// Name.
    pub name: &'a str,
    /// Role (`grid_worker`, `expert`, `officer`, `supervisor`).
    pub role: &'a str,
}

const LIST_SELECT: &str = "SELECT e.id, e.name, e.uscc, e.village_code, d.name, e.address, e.dust_types, \
    (EXISTS (SELECT 1 FROM lease l WHERE l.tenant_id = e.id) \
     OR EXISTS (SELECT 1 FROM lease l JOIN site s ON s.id = l.site_id WHERE s.landlord_id = e.id)), \
    EXISTS (SELECT 1 FROM inspection i WHERE i.enterprise_id = e.id AND i.payload IS NOT NULL) \
    FROM enterprise e LEFT JOIN division d ON d.code = e.village_code";

struct Listed {
    hit: SearchHit,
    dust_types: Vec<String>,
    leased: bool,
    visited: bool,
}

fn listed(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Listed, String)> {
    Ok((
        Listed {
            hit: SearchHit {
                id: r.get(0)?,
                name: r.get(1)?,
                uscc: r.get(2)?,
                village_code: r.get(3)?,
                village_name: r.get(4)?,
                address: r.get(5)?,
                matched: "all",
            },
            dust_types: Vec::new(),
            leased: r.get(7)?,
            visited: r.get(8)?,
        },
        r.get(6)?,
    ))
}

fn with_dust(row: (Listed, String)) -> Result<Listed, StoreError> {
    let (mut l, dust) = row;
    l.dust_types = serde_json::from_str(&dust).map_err(|e| StoreError::Corrupt {
        table: "enterprise",
        column: "dust_types",
        detail: e.to_string(),
    })?;
    Ok(l)
}

impl Store {
    /// The division a jurisdiction code names: `(code, name)` of the exact code, or of
    /// the code padded with zeros to 12 digits; `None` when neither is loaded.
    pub fn jurisdiction(&self, code: &str) -> Result<Option<(String, String)>, StoreError> {
        let code = code.trim();
        let mut candidates = vec![code.to_string()];
        if code.len() < 12 && code.bytes().all(|b| b.is_ascii_digit()) {
            candidates.push(format!("{code:0<12}"));
        }
        for c in candidates {
            let found: Option<(String, String)> = self
                .conn
                .query_row(
                    "SELECT code, name FROM division WHERE code = ?1",
                    [&c],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Enterprises of a jurisdiction (all of the register when `None`), by name.
    fn listed_in(&self, jurisdiction: Option<&str>) -> Result<Vec<Listed>, StoreError> {
        let scope = Scope::of(jurisdiction);
        let Some((prefix, village)) = scope.sql_params() else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "{LIST_SELECT} WHERE {} ORDER BY e.name, e.uscc",
            scope_sql("?1", "?2")
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![prefix, village], listed)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .filter(|(l, _)| scope.covers(&l.hit.village_code))
            .map(with_dust)
            .collect()
    }

    fn listed_one(&self, id: &str) -> Result<Option<Listed>, StoreError> {
        let sql = format!("{LIST_SELECT} WHERE e.id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        stmt.query_row([id], listed)
            .optional()?
            .map(with_dust)
            .transpose()
    }

    /// Open and overdue hazard counts by enterprise id.
    fn hazard_counts(&self) -> Result<HashMap<String, (u32, u32)>, InspectionError> {
        let mut out: HashMap<String, (u32, u32)> = HashMap::new();
        for h in self.hazards(None)? {
            if h.state == HazardStatus::Closed {
                continue;
            }
            let e = out.entry(h.enterprise_id.to_string()).or_default();
            e.0 += 1;
            if h.overdue {
                e.1 += 1;
            }
        }
        Ok(out)
    }

    /// Counts over a jurisdiction: enterprises, visited (a finalized inspection) or
    /// not, open and overdue hazards.
    pub fn grid_summary(&self, jurisdiction: &str) -> Result<GridSummary, InspectionError> {
        let name = self.jurisdiction(jurisdiction)?.map(|(_, n)| n);
        let listed = self.listed_in(Some(jurisdiction))?;
        let counts = self.hazard_counts()?;
        let mut s = GridSummary {
            jurisdiction_name: name,
            enterprises: listed.len() as u64,
            visited: 0,
            not_visited: 0,
            open_hazards: 0,
            overdue_hazards: 0,
        };
        for l in &listed {
            if l.visited {
                s.visited += 1;
            } else {
                s.not_visited += 1;
            }
            if let Some((open, overdue)) = counts.get(&l.hit.id) {
                s.open_hazards += u64::from(*open);
                s.overdue_hazards += u64::from(*overdue);
            }
        }
        Ok(s)
    }

    /// The enterprise list: a non-empty `query` runs [`Store::search_enterprises`]
    /// (same matching and ranking); an empty one lists the jurisdiction (the whole
    /// register when `None`) by name. Filters apply before `limit` (1–500).
    pub fn enterprise_list(
        &self,
        query: &str,
        filters: &EnterpriseFilters,
        limit: usize,
        jurisdiction: Option<&str>,
    ) -> Result<Vec<EnterpriseHit>, InspectionError> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let listed = if query.is_empty() {
            self.listed_in(jurisdiction)?
        } else {
            let mut out = Vec::new();
            for hit in self.search_enterprises_in(query, MAX_LIMIT, jurisdiction)? {
                if let Some(mut l) = self.listed_one(&hit.id)? {
                    l.hit = hit;
                    out.push(l);
                }
            }
            out
        };
        let counts = self.hazard_counts()?;
        let mut out = Vec::new();
        for l in listed {
            let (open, overdue) = counts.get(&l.hit.id).copied().unwrap_or_default();
            if filters.leased == Some(true) && !l.leased
                || filters.not_visited == Some(true) && l.visited
                || filters.open_hazards == Some(true) && open == 0
            {
                continue;
            }
            if let Some(cat) = filters.dust_category {
                let any = l
                    .dust_types
                    .iter()
                    .filter_map(|n| DustType::parse(n).ok())
                    .any(|d| d.category() == cat);
                if !any {
                    continue;
                }
            }
            out.push(EnterpriseHit {
                hit: l.hit,
                dust_types: l.dust_types,
                leased: l.leased,
                visited: l.visited,
                open_hazards: open,
                overdue_hazards: overdue,
            });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// An enterprise's inspections (id or USCC), newest first; refused
    /// (`store.outside_jurisdiction`) for an enterprise outside `jurisdiction` (`None`:
    /// the whole register).
    pub fn inspection_list(
        &self,
        jurisdiction: Option<&str>,
        enterprise: &str,
    ) -> Result<Vec<InspectionSummary>, InspectionError> {
        let id = self.enterprise_in(jurisdiction, enterprise)?.enterprise.id;
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, i.template_id, t.title_zh, i.inspector, i.started_at, i.finalized_at, \
                 (SELECT count(*) FROM finding f WHERE f.inspection_id = i.id AND f.severity = 'major'), \
                 (SELECT count(*) FROM finding f WHERE f.inspection_id = i.id AND f.severity = 'general'), \
                 (SELECT r.state FROM review r WHERE r.inspection_id = i.id) \
             FROM inspection i JOIN checklist_template t \
                 ON t.id = i.template_id AND t.version = i.template_version \
             WHERE i.enterprise_id = ?1 ORDER BY i.started_at DESC, i.id DESC",
        )?;
        type Raw = (
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            u32,
            u32,
            Option<String>,
        );
        let rows = stmt
            .query_map([id.to_string()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })?
            .collect::<Result<Vec<Raw>, _>>()?;
        let t = "inspection";
        rows.into_iter()
            .map(
                |(
                    id,
                    template_id,
                    title,
                    inspector,
                    started,
                    finalized,
                    major,
                    general,
                    review,
                )| {
                    Ok(InspectionSummary {
                        id: parse_uuid(t, "id", &id)?,
                        template_id,
                        template_title: title,
                        status: if finalized.is_some() {
                            InspectionStatus::Finalized
                        } else {
                            InspectionStatus::Draft
                        },
                        inspector,
                        started_at: parse_ts(t, "started_at", &started)?,
                        finalized_at: finalized
                            .map(|f| parse_ts(t, "finalized_at", &f))
                            .transpose()?,
                        major_findings: major,
                        general_findings: general,
                        sync_state: None,
                        review_state: review.as_deref().and_then(ReviewState::parse),
                    })
                },
            )
            .collect::<Result<Vec<_>, _>>()
            .and_then(|mut list| {
                for i in &mut list {
                    if i.finalized_at.is_some() {
                        i.sync_state = self
                            .record_sync_state(&i.id.to_string())?
                            .map(|s| s.as_str().to_string());
                    }
                }
                Ok(list)
            })
    }

    /// Starts an inspection as the acting user (name and role from the enrollment).
    pub fn start_inspection_as(
        &self,
        actor: &Actor<'_>,
        enterprise: &str,
        template_id: &str,
        template_version: Option<u32>,
    ) -> Result<StartedInspection, InspectionError> {
        let inspection_id = self.start_inspection(&StartInspection {
            enterprise: enterprise.to_string(),
            template_id: template_id.to_string(),
            template_version,
            inspector: actor.name.to_string(),
            role: Some(actor.role.to_string()),
        })?;
        Ok(StartedInspection { inspection_id })
    }

    /// Records one answer ([`Store::answer`]) and returns the item as the runner shows it.
    pub fn answer_item(
        &self,
        inspection_id: &str,
        item_id: &str,
        raw: &str,
        note: Option<&str>,
    ) -> Result<ItemView, InspectionError> {
        self.answer(inspection_id, item_id, raw, note)?;
        let items = self.inspection_items(inspection_id)?;
        items
            .into_iter()
            .find(|i| i.id == item_id.trim())
            .ok_or_else(|| InspectionError::NotApplicable(item_id.to_string()))
    }

    /// Hazards of one enterprise (id or USCC; refused with
    /// `store.outside_jurisdiction` when outside `jurisdiction`), or of a jurisdiction
    /// when `enterprise` is `None` (every hazard when `jurisdiction` is `None` too);
    /// newest first.
    pub fn hazards_in(
        &self,
        jurisdiction: Option<&str>,
        enterprise: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<HazardSummary>, InspectionError> {
        if let Some(e) = enterprise {
            self.enterprise_in(jurisdiction, e)?;
        }
        let mut hazards = self.hazards(enterprise)?;
        if let (None, Some(j)) = (enterprise, jurisdiction) {
            let ids: HashSet<String> = self
                .listed_in(Some(j))?
                .into_iter()
                .map(|l| l.hit.id)
                .collect();
            hazards.retain(|h| ids.contains(&h.enterprise_id.to_string()));
        }
        if open_only {
            hazards.retain(|h| h.state != HazardStatus::Closed);
        }
        Ok(hazards)
    }

    /// Records a reinspection (复查) citing photos already stored (with
    /// [`Store::add_photo`]) by their SHA-256; returns the hazard after the event.
    /// Unknown photos are refused (`store.not_found`) before anything is written.
    pub fn reinspect_hazard_with_photos(
        &self,
        hazard_id: &str,
        actor: &str,
        passed: bool,
        before: &[String],
        after: &[String],
        note: Option<&str>,
    ) -> Result<HazardDetail, InspectionError> {
        for sha in before.iter().chain(after) {
            let known: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM photo WHERE derived_sha256 = ?1)",
                params![sha],
                |r| r.get(0),
            )?;
            if !known {
                return Err(StoreError::NotFound {
                    what: "photo",
                    key: sha.clone(),
                }
                .into());
            }
        }
        self.hazard_transition(
            hazard_id,
            actor,
            HazardEventKind::Reinspected {
                passed,
                before_photo_sha256s: before.to_vec(),
                after_photo_sha256s: after.to_vec(),
                note: note
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            },
        )?;
        self.hazard(hazard_id)
    }
}
