//! Campaigns as data (docs/campaign.md "Campaigns"): a campaign's duties, the deadline of
//! each per level (city, district, town, village), the enterprises each applies to and
//! what counts as done. The 2024 Changzhou campaign ships as a file; next year's is a
//! copy with its dates shifted ([`Campaign::shifted_to_year`]).

use crate::{DivisionCode, DivisionLevel};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The level of government a deadline is set for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineLevel {
    /// 市.
    City,
    /// 区/县.
    District,
    /// 乡镇/街道.
    Town,
    /// 村/社区 (and the grids inside a village).
    Village,
}

impl DeadlineLevel {
    /// The level whose deadline applies to work counted for `division`: a city-shaped
    /// code (`DDDD00000000`) is the city; otherwise its own level, a grid's being its
    /// village's.
    pub fn of(division: &DivisionCode) -> DeadlineLevel {
        if division.significant_prefix().len() <= 4 {
            return DeadlineLevel::City;
        }
        match division.level() {
            DivisionLevel::District => DeadlineLevel::District,
            DivisionLevel::Town => DeadlineLevel::Town,
            DivisionLevel::Village | DivisionLevel::Grid => DeadlineLevel::Village,
        }
    }
}

/// Which enterprises of the register a duty applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Applicability {
    /// Every enterprise in the register (排查, "no blind spot").
    AllEnterprises,
    /// Dust-involved enterprises (粉尘涉爆).
    DustInvolved,
    /// Al/Mg dust enterprises, and other dust enterprises with at least this many workers
    /// per shift (警示教育培训).
    AlMgOrWorkers { min_workers_per_shift: u32 },
    /// Tenants of a lease (厂中厂).
    Tenants,
}

/// What counts as done for an enterprise: every part that is set must hold.
///
/// Phones of the previous release read only `templates` (and refuse a duty without
/// one), so every duty keeps at least one template; `fact` and `rectified` narrow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// An inspection of one of these templates, finalized on or after the campaign's
    /// start.
    pub templates: Vec<String>,
    /// The latest confirmation of a fact on a visit (`gridwalk_checklist::ConfirmedFact`),
    /// made on or after the campaign's start, has one of these outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact: Option<FactOutcome>,
    /// No hazard of the enterprise is still open (整改到位).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rectified: bool,
}

/// A confirmed fact and the outcomes of it that count as done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactOutcome {
    /// The fact's wire name (`risk_report`, `training`, `safety_officer`…).
    pub name: String,
    /// Its outcomes that count (`filed`, `helped_on_site`, `done`, `present`…).
    pub outcomes: Vec<String>,
}

/// One duty of the campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duty {
    /// Stable id (`census`, `training`, …).
    pub id: String,
    /// Its number in the notice.
    pub no: u32,
    pub title_zh: String,
    /// What the people on the ground must do.
    pub summary_zh: String,
    /// The deadline per level; a level without one has none.
    pub deadlines: BTreeMap<DeadlineLevel, NaiveDate>,
    pub applies_to: Applicability,
    pub done_when: Completion,
}

/// A campaign (专项整治行动).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// Stable id (`changzhou-2024-dust-100day`).
    pub id: String,
    pub name_zh: String,
    pub year: i32,
    /// Who issued it and the document number (常安办〔2024〕6号).
    pub issued_by: String,
    #[serde(default)]
    pub document_no: Option<String>,
    /// The division it covers (a city, a district…).
    pub area_code: DivisionCode,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub duties: Vec<Duty>,
}

/// Why a campaign file is not a campaign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error("campaign file: {0}")]
    Json(String),
    #[error("campaign {0}: the id must be 1–64 characters of a-z, 0-9 and '-'")]
    BadId(String),
    #[error("campaign {id}: it ends ({ends}) before it starts ({starts})")]
    EndsBeforeStart {
        id: String,
        starts: NaiveDate,
        ends: NaiveDate,
    },
    #[error("campaign {0}: no duties")]
    NoDuties(String),
    #[error("campaign {campaign}, duty {duty}: {problem}")]
    BadDuty {
        campaign: String,
        duty: String,
        problem: String,
    },
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A fact or outcome name: 1–32 characters of a-z, 0-9 and '_'.
fn valid_fact_word(w: &str) -> bool {
    (1..=32).contains(&w.len())
        && w.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Campaign {
    /// Parses and checks a campaign file (JSON).
    pub fn from_json(text: &str) -> Result<Campaign, CampaignError> {
        let c: Campaign =
            serde_json::from_str(text).map_err(|e| CampaignError::Json(e.to_string()))?;
        c.check()?;
        Ok(c)
    }

    /// Checks ids, dates and duties.
    pub fn check(&self) -> Result<(), CampaignError> {
        if !valid_id(&self.id) {
            return Err(CampaignError::BadId(self.id.clone()));
        }
        if self.ends_on < self.starts_on {
            return Err(CampaignError::EndsBeforeStart {
                id: self.id.clone(),
                starts: self.starts_on,
                ends: self.ends_on,
            });
        }
        if self.duties.is_empty() {
            return Err(CampaignError::NoDuties(self.id.clone()));
        }
        let mut seen = BTreeSet::new();
        for d in &self.duties {
            let bad = |problem: String| CampaignError::BadDuty {
                campaign: self.id.clone(),
                duty: d.id.clone(),
                problem,
            };
            if !valid_id(&d.id) {
                return Err(bad(
                    "the id must be 1–64 characters of a-z, 0-9 and '-'".into()
                ));
            }
            if !seen.insert(d.id.as_str()) {
                return Err(bad("two duties share this id".into()));
            }
            if d.deadlines.is_empty() {
                return Err(bad("no deadline for any level".into()));
            }
            if let Some((level, date)) = d.deadlines.iter().find(|(_, date)| **date > self.ends_on)
            {
                return Err(bad(format!(
                    "the {level:?} deadline {date} is after the campaign ends ({})",
                    self.ends_on
                )));
            }
            if d.done_when.templates.is_empty() {
                return Err(bad("done_when names no template".into()));
            }
            if let Some(f) = &d.done_when.fact {
                if !valid_fact_word(&f.name) || f.outcomes.is_empty() {
                    return Err(bad(format!(
                        "done_when.fact `{}` needs a name and at least one outcome",
                        f.name
                    )));
                }
                if let Some(o) = f.outcomes.iter().find(|o| !valid_fact_word(o)) {
                    return Err(bad(format!("done_when.fact outcome `{o}` is not a name")));
                }
            }
        }
        Ok(())
    }

    /// True while `day` lies within the campaign.
    pub fn is_active_on(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }

    /// True when the campaign covers work counted for `division`.
    pub fn covers(&self, division: &DivisionCode) -> bool {
        self.area_code.covers(division)
    }

    /// This campaign for another year: the same duties with every date moved by whole
    /// years (29 February becomes 28 February), under `new_id`.
    pub fn shifted_to_year(&self, year: i32, new_id: &str) -> Result<Campaign, CampaignError> {
        let years = year - self.year;
        let shift = |d: NaiveDate| {
            let y = d.year() + years;
            NaiveDate::from_ymd_opt(y, d.month(), d.day())
                .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28))
                .unwrap_or(d)
        };
        let mut c = self.clone();
        c.id = new_id.to_string();
        c.year = year;
        c.name_zh = self
            .name_zh
            .replace(&self.year.to_string(), &year.to_string());
        c.starts_on = shift(self.starts_on);
        c.ends_on = shift(self.ends_on);
        for d in &mut c.duties {
            for date in d.deadlines.values_mut() {
                *date = shift(*date);
            }
        }
        c.check()?;
        Ok(c)
    }
}

impl Duty {
    /// The deadline for work counted at `division`'s level, if the duty sets one there.
    pub fn deadline_for(&self, division: &DivisionCode) -> Option<NaiveDate> {
        self.deadlines.get(&DeadlineLevel::of(division)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Campaign {
        Campaign::from_json(include_str!(
            "../../gridwalk-server/campaigns/changzhou-2024-dust-100day.json"
        ))
        .expect("the shipped campaign parses")
    }

    #[test]
    fn the_shipped_campaign_has_the_notices_eight_duties_and_its_deadlines() {
        let c = shipped();
        // Duty 2 (厂中厂) has two milestones: know them all by May, rectified by December.
        let numbers: BTreeSet<u32> = c.duties.iter().map(|d| d.no).collect();
        assert_eq!(numbers, (1..=8).collect());
        assert_eq!(c.duties.len(), 9);
        let rectified = c
            .duties
            .iter()
            .find(|d| d.id == "factory-in-factory-rectified")
            .expect("厂中厂 rectified by December");
        assert!(rectified.done_when.rectified);
        assert_eq!(
            rectified.deadlines.get(&DeadlineLevel::Town),
            NaiveDate::from_ymd_opt(2024, 12, 31).as_ref()
        );
        for (duty, fact) in [
            ("risk-report", "risk_report"),
            ("training", "training"),
            ("safety-officer", "safety_officer"),
        ] {
            let d = c.duties.iter().find(|d| d.id == duty).expect("duty");
            assert_eq!(
                d.done_when.fact.as_ref().map(|f| f.name.as_str()),
                Some(fact)
            );
        }
        assert_eq!(c.year, 2024);
        let feb9 = NaiveDate::from_ymd_opt(2024, 2, 9).expect("date");
        let census = &c.duties[0];
        assert_eq!(census.deadlines.get(&DeadlineLevel::Village), Some(&feb9));
        let town = DivisionCode::parse("320482100000").expect("town");
        assert_eq!(DeadlineLevel::of(&town), DeadlineLevel::Town);
        let city = DivisionCode::parse("320400000000").expect("city");
        assert_eq!(DeadlineLevel::of(&city), DeadlineLevel::City);
        assert!(c.covers(&town));
        assert!(c.is_active_on(feb9));
    }

    #[test]
    fn next_year_is_a_copy_with_every_date_shifted() {
        let c = shipped();
        let next = c
            .shifted_to_year(2025, "changzhou-2025-dust-100day")
            .expect("shift");
        assert_eq!(next.year, 2025);
        assert!(next.name_zh.contains("2025") || !c.name_zh.contains("2024"));
        assert_eq!(next.starts_on.year(), 2025);
        for (a, b) in c.duties.iter().zip(&next.duties) {
            for (level, date) in &a.deadlines {
                let moved = b.deadlines[level];
                assert_eq!(
                    (moved.year(), moved.month(), moved.day()),
                    (2025, date.month(), date.day())
                );
            }
        }
    }

    #[test]
    fn a_malformed_campaign_is_refused_with_the_reason() {
        let mut c = shipped();
        c.duties[1].id = c.duties[0].id.clone();
        assert!(matches!(c.check(), Err(CampaignError::BadDuty { .. })));
        let mut c = shipped();
        c.ends_on = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
        assert!(matches!(
            c.check(),
            Err(CampaignError::EndsBeforeStart { .. })
        ));
        assert!(matches!(
            Campaign::from_json("{}"),
            Err(CampaignError::Json(_))
        ));
        let mut c = shipped();
        c.duties[2].done_when.fact = Some(FactOutcome {
            name: "risk_report".into(),
            outcomes: vec![],
        });
        assert!(matches!(c.check(), Err(CampaignError::BadDuty { .. })));
        c.duties[2].done_when.fact = Some(FactOutcome {
            name: "risk_report".into(),
            outcomes: vec!["Filed; DROP".into()],
        });
        assert!(matches!(c.check(), Err(CampaignError::BadDuty { .. })));
    }

    #[test]
    fn a_campaign_of_the_previous_release_reads_and_writes_unchanged() {
        // Phones of the previous release send and read `done_when` with templates only.
        let old = r#"{"templates":["grid-survey"]}"#;
        let c: Completion = serde_json::from_str(old).expect("old completion");
        assert_eq!((c.fact, c.rectified), (None, false));
        let c: Completion = serde_json::from_str(old).expect("old completion");
        assert_eq!(serde_json::to_string(&c).expect("json"), old);
    }
}
