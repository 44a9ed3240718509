//! 疑似 (suspected) enterprises on the phone (docs/tips.md): the entries pulled for the
//! user's village (change kind `suspected`, protocol 5) shown in 待办 as 疑似单位核实, and
//! the grid worker's answer — the unit found there, registered on site by its real USCC,
//! or 查无此单位 with a note — written with its `suspected_confirmation` record
//! (evidence-chain link and outbox entry) in one transaction, offline.

use crate::error::StoreError;
use crate::leases::clean;
use crate::store::Store;
use chrono::Utc;
use gridwalk_core::{
    DivisionCode, SuspectedConfirmation, SuspectedEntry, SuspectedError, SuspectedState, Uscc,
};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Stores a pulled entry at its latest state (a later change replaces it).
pub(crate) fn upsert_entry(
    conn: &Connection,
    e: &SuspectedEntry,
    body: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO suspected_enterprise (id, village_code, name, address, note, deadline, state, uscc, body, pulled_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (id) DO UPDATE SET village_code = excluded.village_code, name = excluded.name, \
             address = excluded.address, note = excluded.note, deadline = excluded.deadline, \
             state = excluded.state, uscc = excluded.uscc, body = excluded.body, \
             pulled_at = excluded.pulled_at",
        rusqlite::params![
            e.id.to_string(),
            e.village_code.as_str(),
            e.name,
            e.address,
            e.note,
            e.deadline.to_string(),
            e.state.as_str(),
            e.uscc.as_ref().map(|u| u.as_str().to_string()),
            body,
            crate::inspection::ts(&crate::inspection::now_utc()),
        ],
    )?;
    Ok(())
}

/// A 疑似 entry as 待办 lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectedItem {
    pub id: String,
    /// The name the tip gave, if any.
    pub name: Option<String>,
    pub address: String,
    pub village_code: String,
    /// What to look for (the tip's content, never the reporter).
    pub note: String,
    /// `YYYY-MM-DD`.
    pub deadline: String,
    /// The server's state: `open`, `confirmed`, `not_found`.
    pub state: String,
    /// This phone's answer, if it gave one (`confirmed` or `not_found`).
    pub answered: Option<String>,
}

/// What the app's `answer_suspected` and `gridwalk suspected confirm|not-found` pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectedInput {
    pub suspected_id: String,
    /// True: the unit was found (USCC and name required); false: 查无此单位 (note
    /// required).
    pub found: bool,
    #[serde(default)]
    pub uscc: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// What an answer recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnsweredSuspected {
    pub record_id: String,
    pub state: String,
    /// The unit registered (found).
    pub enterprise_id: Option<String>,
}

/// Why an answer was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum SuspectedAnswerError {
    /// A USCC that does not parse or whose check character is wrong.
    #[error("USCC {uscc:?}: {detail}")]
    BadUscc { uscc: String, detail: String },
    /// No such entry on this phone.
    #[error("no suspected enterprise {0} on this phone")]
    Unknown(String),
    /// The entry was answered already (here or, as the server says, elsewhere).
    #[error("suspected enterprise {0} is answered already")]
    Answered(String),
    /// The entry's village lies outside the user's jurisdiction.
    #[error("{0} is outside the jurisdiction {1}")]
    OutsideJurisdiction(String, String),
    /// A text missing, empty or too long.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SuspectedAnswerError {
    /// Stable code for the IPC and the CLI's JSON.
    pub fn code(&self) -> &'static str {
        match self {
            SuspectedAnswerError::BadUscc { .. } => "suspected.bad_uscc",
            SuspectedAnswerError::Unknown(_) => "suspected.unknown",
            SuspectedAnswerError::Answered(_) => "suspected.answered",
            SuspectedAnswerError::OutsideJurisdiction(..) => "suspected.outside_jurisdiction",
            SuspectedAnswerError::BadInput(_) => "suspected.bad_input",
            SuspectedAnswerError::Store(e) => e.code(),
        }
    }
}

impl From<rusqlite::Error> for SuspectedAnswerError {
    fn from(e: rusqlite::Error) -> Self {
        SuspectedAnswerError::Store(e.into())
    }
}

const ITEM_COLUMNS: &str = "s.id, s.name, s.address, s.village_code, s.note, s.deadline, s.state, \
     (SELECT r.state FROM suspected_record r WHERE r.suspected_id = s.id ORDER BY r.recorded_at LIMIT 1)";

fn item_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<SuspectedItem> {
    Ok(SuspectedItem {
        id: r.get(0)?,
        name: r.get(1)?,
        address: r.get(2)?,
        village_code: r.get(3)?,
        note: r.get(4)?,
        deadline: r.get(5)?,
        state: r.get(6)?,
        answered: r.get(7)?,
    })
}

impl Store {
    /// The 疑似 entries on this phone, earliest deadline first; with `open_only`, those
    /// still waiting for the sweep (open on the server, not answered here) — 待办's.
    pub fn suspected_entries(&self, open_only: bool) -> Result<Vec<SuspectedItem>, StoreError> {
        let filter = if open_only {
            "WHERE s.state = 'open' AND NOT EXISTS \
             (SELECT 1 FROM suspected_record r WHERE r.suspected_id = s.id)"
        } else {
            ""
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ITEM_COLUMNS} FROM suspected_enterprise s {filter} ORDER BY s.deadline, s.id"
        ))?;
        let rows = stmt.query_map([], item_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Answers a 疑似 entry offline: found, the unit (its USCC checked) is registered
    /// on site unless the register holds it; not found, a note says what is there.
    /// The answer's `suspected_confirmation` record (chain link and outbox entry) is
    /// written in the same transaction. `jurisdiction` is the enrolled user's (the
    /// entry's village must lie inside it); `recorded_by` names who answers.
    pub fn answer_suspected(
        &self,
        jurisdiction: Option<&str>,
        recorded_by: &str,
        input: &SuspectedInput,
    ) -> Result<AnsweredSuspected, SuspectedAnswerError> {
        let tx = crate::inspection::begin(&self.conn)?;
        let key = input.suspected_id.trim();
        let entry: Option<(String, String, String, String)> = tx
            .query_row(
                "SELECT id, village_code, address, state FROM suspected_enterprise WHERE id = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (id, village, address, state) =
            entry.ok_or_else(|| SuspectedAnswerError::Unknown(key.to_string()))?;
        let answered: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM suspected_record WHERE suspected_id = ?1)",
            [&id],
            |r| r.get(0),
        )?;
        if answered || state != SuspectedState::Open.as_str() {
            return Err(SuspectedAnswerError::Answered(id));
        }
        if !crate::jurisdiction::Scope::of(jurisdiction).covers(&village) {
            return Err(SuspectedAnswerError::OutsideJurisdiction(
                village,
                jurisdiction.unwrap_or_default().to_string(),
            ));
        }
        let corrupt = |column: &'static str, detail: String| StoreError::Corrupt {
            table: "suspected_enterprise",
            column,
            detail,
        };
        let village_code =
            DivisionCode::parse(&village).map_err(|e| corrupt("village_code", e.to_string()))?;
        let uscc = match (input.found, clean(&input.uscc)) {
            (true, Some(u)) => {
                Some(Uscc::parse(&u).map_err(|e| SuspectedAnswerError::BadUscc {
                    uscc: u.clone(),
                    detail: e.to_string(),
                })?)
            }
            (true, None) => {
                return Err(SuspectedAnswerError::BadInput(
                    "the unit found needs its USCC (统一社会信用代码)".into(),
                ))
            }
            (false, _) => None,
        };
        let record = SuspectedConfirmation {
            record_id: Uuid::now_v7(),
            suspected_id: Uuid::parse_str(&id).map_err(|e| corrupt("id", e.to_string()))?,
            village_code: village_code.clone(),
            recorded_by: recorded_by.trim().to_string(),
            recorded_at: Utc::now(),
            state: if input.found {
                SuspectedState::Confirmed
            } else {
                SuspectedState::NotFound
            },
            enterprise_id: uscc.as_ref().map(gridwalk_core::ids::enterprise_id),
            name: if input.found {
                clean(&input.name)
            } else {
                None
            },
            industry: if input.found {
                clean(&input.industry)
            } else {
                None
            },
            note: clean(&input.note),
            uscc,
        };
        record.validate().map_err(|e| match e {
            SuspectedError::Text(what) => SuspectedAnswerError::BadInput(format!(
                "{what} is missing, empty or over {} characters",
                gridwalk_core::suspected::SUSPECTED_TEXT_MAX_CHARS
            )),
            other => SuspectedAnswerError::BadInput(other.to_string()),
        })?;
        if let (Some(uscc), Some(eid), Some(name)) =
            (&record.uscc, record.enterprise_id, &record.name)
        {
            if crate::register::get_enterprise(&tx, &eid)?.is_none() {
                crate::leases::register_on_site(
                    &tx,
                    uscc.clone(),
                    name.clone(),
                    village_code,
                    record.industry.clone(),
                    Some(address),
                )?;
            }
        }
        let payload = gridwalk_checklist::to_canonical_json(&record)
            .map_err(|e| e.to_string())
            .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
            .map_err(|e| StoreError::Corrupt {
                table: "suspected_record",
                column: "payload",
                detail: e,
            })?;
        let sha = gridwalk_protocol::sha256_hex(payload.as_bytes());
        let record_id = record.record_id.to_string();
        tx.execute(
            "INSERT INTO suspected_record (id, suspected_id, state, enterprise_id, village_code, \
                 payload, payload_sha256, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                record_id,
                id,
                record.state.as_str(),
                record.enterprise_id.map(|e| e.to_string()),
                record.village_code.as_str(),
                payload,
                sha,
                record.recorded_at.to_rfc3339(),
            ],
        )?;
        crate::evidence::append_chain(&tx, "suspected_confirmation", &record_id, &sha)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(AnsweredSuspected {
            record_id,
            state: record.state.as_str().to_string(),
            enterprise_id: record.enterprise_id.map(|e| e.to_string()),
        })
    }
}
