//! The campaign the phone shows (docs/campaign.md): pulled from the server, never from
//! constants. [`Store::campaign_view`] picks the one active today that covers the
//! enrolled user's jurisdiction (else the one that started last) and gives each duty the
//! deadline of the user's level.

use crate::error::StoreError;
use crate::store::Store;
use chrono::NaiveDate;
use gridwalk_core::{Campaign, DivisionCode};
use serde::Serialize;

/// One duty as the Home screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DutyView {
    pub id: String,
    pub no: u32,
    pub title_zh: String,
    pub summary_zh: String,
    /// The deadline at the user's level (YYYY-MM-DD), if the duty sets one there.
    pub deadline: Option<String>,
}

/// The campaign the Home screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignView {
    pub id: String,
    pub name_zh: String,
    pub document_no: Option<String>,
    pub issued_by: String,
    pub starts_on: String,
    pub ends_on: String,
    /// True while today lies within it.
    pub active: bool,
    pub duties: Vec<DutyView>,
}

impl Store {
    /// The pulled campaigns, newest first (ones that no longer parse are left out).
    pub fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT body FROM campaign ORDER BY starts_on DESC, id")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            if let Ok(c) = serde_json::from_str::<Campaign>(&body?) {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The campaign to show for `jurisdiction` on `today`: the active one covering it,
    /// else the latest covering it; `None` when the phone holds none for it.
    pub fn campaign_view(
        &self,
        jurisdiction: &DivisionCode,
        today: NaiveDate,
    ) -> Result<Option<CampaignView>, StoreError> {
        let covering: Vec<Campaign> = self
            .campaigns()?
            .into_iter()
            .filter(|c| c.covers(jurisdiction))
            .collect();
        let pick = covering
            .iter()
            .find(|c| c.is_active_on(today))
            .or_else(|| covering.first());
        Ok(pick.map(|c| CampaignView {
            id: c.id.clone(),
            name_zh: c.name_zh.clone(),
            document_no: c.document_no.clone(),
            issued_by: c.issued_by.clone(),
            starts_on: c.starts_on.to_string(),
            ends_on: c.ends_on.to_string(),
            active: c.is_active_on(today),
            duties: c
                .duties
                .iter()
                .map(|d| DutyView {
                    id: d.id.clone(),
                    no: d.no,
                    title_zh: d.title_zh.clone(),
                    summary_zh: d.summary_zh.clone(),
                    deadline: d.deadline_for(jurisdiction).map(|d| d.to_string()),
                })
                .collect(),
        }))
    }
}
