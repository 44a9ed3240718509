//! Read models over the projections: rebuild and dump, the hazard list and the
//! inspections export.

use super::*;

/// One hazard as `hazards list` and `GET /v1/hazards` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HazardListItem {
    pub id: Uuid,
    pub enterprise_uscc: String,
    pub enterprise_name: Option<String>,
    pub division_code: String,
    /// `general` or `major` (重大).
    pub severity: String,
    /// `found`, `assigned`, `rectifying`, `reinspected` or `closed`.
    pub status: String,
    /// The current rectification deadline (a China date).
    pub deadline: String,
    /// Still open after the deadline day.
    pub overdue: bool,
    pub assignee: Option<String>,
    /// Under listed supervision (挂牌督办).
    pub listed: bool,
    pub found_at: Option<String>,
    pub closed_at: Option<String>,
    /// Events folded into the state.
    pub event_count: u64,
    /// Events kept but not legal where they fall in the merged order.
    pub skipped_events: u64,
    /// 五定: the rectification plan, if one was set.
    #[schema(value_type = Option<Object>)]
    pub plan: Option<gridwalk_checklist::RectificationPlan>,
}

/// One stored inspection, as `export inspections --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectionExport {
    pub record_id: Uuid,
    pub device_id: Uuid,
    pub enterprise_uscc: Option<String>,
    pub payload_sha256: String,
    pub photo_hashes: Vec<String>,
    pub state: RecordState,
    /// Set when the device clock looked wrong for this record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockFlag>,
}

impl Store {
    /// Empties the projections and folds every accepted record again (`projections
    /// rebuild`); also says whether the rows differ from before.
    pub fn rebuild_projections(
        &self,
    ) -> Result<(crate::projections::RebuildReport, bool), StoreError> {
        let pg = self.dialect() == Dialect::Postgres;
        self.tx(|t| {
            let before = crate::projections::dump(t)?;
            let report = crate::projections::rebuild(t, pg)?;
            let changed = crate::projections::dump(t)? != before;
            Ok((report, changed))
        })
    }

    /// Every projected row as text, in key order (equal dumps, equal projections).
    pub fn projection_dump(&self) -> Result<Vec<String>, StoreError> {
        self.tx(crate::projections::dump)
    }

    /// The hazards of a division (a prefix of its code covers its children), optionally
    /// only those past their deadline on `today` (China date) and not yet rectified.
    pub fn hazard_list(
        &self,
        division: &DivisionCode,
        overdue_on: Option<chrono::NaiveDate>,
    ) -> Result<Vec<HazardListItem>, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT h.id, h.enterprise_uscc, e.name, h.division_code, h.severity, h.status,
                        h.deadline, h.assignee, h.listed, h.found_at, h.closed_at, h.event_count,
                        h.skipped_events, h.state
                 FROM hazard h LEFT JOIN enterprise e ON e.uscc = h.enterprise_uscc
                 WHERE h.status IS NOT NULL AND h.division_code LIKE $1
                 ORDER BY h.deadline, h.id",
                &[format!("{}%", division.significant_prefix()).into()],
            )
            .map_err(StoreError::from)
        })?;
        let today = overdue_on
            .unwrap_or_else(|| gridwalk_checklist::hazard::china_date(Utc::now()))
            .to_string();
        let mut out = Vec::new();
        for r in &rows {
            let status = r.str(5)?;
            let deadline = r.str(6)?;
            let open = matches!(status.as_str(), "found" | "assigned" | "rectifying");
            // ISO dates order as text.
            let overdue = open && deadline < today;
            if overdue_on.is_some() && !overdue {
                continue;
            }
            out.push(HazardListItem {
                id: uuid_of(r, 0)?,
                enterprise_uscc: r.str(1)?,
                enterprise_name: r.text(2)?,
                division_code: r.str(3)?,
                severity: r.str(4)?,
                status,
                deadline,
                overdue,
                assignee: r.text(7)?,
                listed: r.opt_int(8)?.unwrap_or(0) != 0,
                found_at: r.text(9)?,
                closed_at: r.text(10)?,
                event_count: r.opt_int(11)?.unwrap_or(0).max(0) as u64,
                skipped_events: r.opt_int(12)?.unwrap_or(0).max(0) as u64,
                plan: r
                    .text(13)?
                    .and_then(|s| serde_json::from_str::<gridwalk_checklist::HazardState>(&s).ok())
                    .and_then(|s| s.plan),
            });
        }
        Ok(out)
    }

    /// Every accepted inspection with its photos and state (`export inspections`).
    pub fn export_inspections(&self) -> Result<Vec<InspectionExport>, StoreError> {
        self.tx(|t| {
            let rows = t.query(
                "SELECT id, device_id, enterprise_uscc, payload_sha256, clock_flag, clock_skew_s FROM record
                 WHERE kind = 'inspection' AND state = 'accepted' ORDER BY received_at, id",
                &[],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let id = r.str(0)?;
                let missing = missing_for(t, &id)?;
                out.push(InspectionExport {
                    record_id: uuid_of(r, 0)?,
                    device_id: uuid_of(r, 1)?,
                    enterprise_uscc: r.text(2)?,
                    payload_sha256: r.str(3)?,
                    photo_hashes: photo_hashes(t, &id)?,
                    state: if missing.is_empty() {
                        RecordState::Complete
                    } else {
                        RecordState::Accepted
                    },
                    clock: clock_of(r, 4)?,
                });
            }
            Ok(out)
        })
    }
}
