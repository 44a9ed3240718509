//! 疑似 (suspected) enterprises (docs/tips.md "Tips that name no registered enterprise"):
//! a tip names an address but no registered enterprise; the server publishes a
//! [`SuspectedEntry`] to the phones of the address's village (protocol 5), and the grid
//! worker who goes there answers with a [`SuspectedConfirmation`] record: the unit found
//! (its real USCC, registered on site) or 查无此单位 (not found).
//!
//! Neither type carries anything of the reporter: the entry holds the reported name,
//! the address and the tip's content as the verification note would.

use crate::{DivisionCode, Uscc};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a suspected entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspectedState {
    /// Waiting for the sweep.
    Open,
    /// A grid worker found the unit and registered it.
    Confirmed,
    /// A grid worker found no such unit at the address (查无此单位).
    NotFound,
}

impl SuspectedState {
    /// The stored and wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            SuspectedState::Open => "open",
            SuspectedState::Confirmed => "confirmed",
            SuspectedState::NotFound => "not_found",
        }
    }

    /// The word read back.
    pub fn parse(s: &str) -> Option<SuspectedState> {
        [
            SuspectedState::Open,
            SuspectedState::Confirmed,
            SuspectedState::NotFound,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// 待核实 / 已确认 / 查无此单位.
    pub fn name_zh(self) -> &'static str {
        match self {
            SuspectedState::Open => "待核实",
            SuspectedState::Confirmed => "已确认",
            SuspectedState::NotFound => "查无此单位",
        }
    }
}

/// A suspected enterprise as the phones of its village pull it (change kind
/// `suspected`, protocol 5), at its latest state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectedEntry {
    pub id: Uuid,
    /// The name the tip gave, if any.
    pub name: Option<String>,
    pub address: String,
    pub village_code: DivisionCode,
    /// What to look for: the tip's source and content, never the reporter.
    pub note: String,
    /// The tip's verification deadline.
    pub deadline: NaiveDate,
    pub state: SuspectedState,
    /// The USCC the sweep found (confirmed only).
    #[serde(default)]
    pub uscc: Option<Uscc>,
}

/// Longest free text of a confirmation (name, industry, note), in characters.
pub const SUSPECTED_TEXT_MAX_CHARS: usize = 200;

/// What a grid worker answers for a suspected entry (record kind
/// `suspected_confirmation`, protocol 5); the record's payload is this as canonical
/// JSON. Confirmed: the unit found, by its real USCC, registered on site. Not found: a
/// note says what is at the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectedConfirmation {
    /// The record's id (UUID v7), also its id in the device's evidence chain.
    pub record_id: Uuid,
    pub suspected_id: Uuid,
    /// The entry's village (the envelope's `division_code`).
    pub village_code: DivisionCode,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    /// `confirmed` or `not_found` (never `open`).
    pub state: SuspectedState,
    /// Confirmed: the unit's id ([`crate::ids::enterprise_id`] of its USCC).
    #[serde(default)]
    pub enterprise_id: Option<Uuid>,
    #[serde(default)]
    pub uscc: Option<Uscc>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    /// What was found (required when not found).
    #[serde(default)]
    pub note: Option<String>,
}

/// Why a [`SuspectedConfirmation`] does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuspectedError {
    /// `open` is not an answer.
    #[error("a confirmation says confirmed or not_found")]
    State,
    /// Confirmed without a USCC or name, or with an id that is not the USCC's; not
    /// found with a unit.
    #[error("{0}")]
    Unit(&'static str),
    /// A text is empty where required, or too long.
    #[error("{0} is empty or longer than {SUSPECTED_TEXT_MAX_CHARS} characters")]
    Text(&'static str),
}

fn text_ok(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().count() <= SUSPECTED_TEXT_MAX_CHARS
}

impl SuspectedConfirmation {
    /// Checks what the phone and the server both require of a confirmation.
    pub fn validate(&self) -> Result<(), SuspectedError> {
        let optional = |s: &Option<String>| s.as_deref().is_none_or(text_ok);
        match self.state {
            SuspectedState::Open => return Err(SuspectedError::State),
            SuspectedState::Confirmed => {
                let (Some(uscc), Some(name)) = (&self.uscc, &self.name) else {
                    return Err(SuspectedError::Unit(
                        "a confirmation names the unit's USCC and name",
                    ));
                };
                if self.enterprise_id != Some(crate::ids::enterprise_id(uscc)) {
                    return Err(SuspectedError::Unit("the enterprise id is not its USCC's"));
                }
                if !text_ok(name) {
                    return Err(SuspectedError::Text("name"));
                }
                if !optional(&self.note) {
                    return Err(SuspectedError::Text("note"));
                }
            }
            SuspectedState::NotFound => {
                if self.uscc.is_some() || self.enterprise_id.is_some() || self.name.is_some() {
                    return Err(SuspectedError::Unit("a unit not found names no unit"));
                }
                if !self.note.as_deref().is_some_and(text_ok) {
                    return Err(SuspectedError::Text("note"));
                }
            }
        }
        if !optional(&self.industry) {
            return Err(SuspectedError::Text("industry"));
        }
        if !text_ok(&self.recorded_by) {
            return Err(SuspectedError::Text("recorded_by"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirmed() -> SuspectedConfirmation {
        let uscc = Uscc::parse("91320413MA1XY0001Y").expect("uscc");
        SuspectedConfirmation {
            record_id: Uuid::now_v7(),
            suspected_id: Uuid::now_v7(),
            village_code: DivisionCode::parse("320413100201").expect("village"),
            recorded_by: "王网格".into(),
            recorded_at: Utc::now(),
            state: SuspectedState::Confirmed,
            enterprise_id: Some(crate::ids::enterprise_id(&uscc)),
            uscc: Some(uscc),
            name: Some("金坛某木业".into()),
            industry: None,
            note: None,
        }
    }

    #[test]
    fn a_confirmation_names_its_unit_by_the_usccs_id() {
        assert_eq!(confirmed().validate(), Ok(()));
        let mut c = confirmed();
        c.enterprise_id = Some(Uuid::nil());
        assert!(matches!(c.validate(), Err(SuspectedError::Unit(_))));
        let mut c = confirmed();
        c.name = Some("  ".into());
        assert_eq!(c.validate(), Err(SuspectedError::Text("name")));
        let mut c = confirmed();
        c.state = SuspectedState::Open;
        assert_eq!(c.validate(), Err(SuspectedError::State));
    }

    #[test]
    fn not_found_needs_a_note_and_no_unit() {
        let mut c = confirmed();
        c.state = SuspectedState::NotFound;
        assert!(matches!(c.validate(), Err(SuspectedError::Unit(_))));
        c.uscc = None;
        c.enterprise_id = None;
        c.name = None;
        assert_eq!(c.validate(), Err(SuspectedError::Text("note")));
        c.note = Some("该地址为空置厂房".into());
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn states_read_back() {
        for s in [
            SuspectedState::Open,
            SuspectedState::Confirmed,
            SuspectedState::NotFound,
        ] {
            assert_eq!(SuspectedState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
    }
}
