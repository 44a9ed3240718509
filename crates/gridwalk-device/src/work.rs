//! An officer's work that reaches the phone in the pull (protocol 3; docs/campaign.md
//! "On the phone"): assignments (任务) of enterprises to inspectors, and reviews of
//! finalized inspections, kept at their latest state (device migration 0011).
//!
//! [`Store::assignments_for`] lists a user's assignments, open ones first by due date,
//! each with `overdue` judged on China's date; [`Store::my_assignments`] does so for the
//! enrolled user. [`Store::inspection_review`] is the review of one inspection.

use crate::error::StoreError;
use crate::inspection::ts;
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_checklist::hazard::china_date;
use gridwalk_core::work::{Assignment, Review, ReviewState};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

/// An assignment as the phone lists it: the server's fields, whether it is overdue, and
/// the enterprise's name when the enterprise is on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentView {
    /// The assignment, every field as the server published it.
    #[serde(flatten)]
    pub assignment: Assignment,
    /// Still open after its due day (China date).
    pub overdue: bool,
    /// The enterprise's name, `None` when the enterprise is not on this device.
    pub enterprise_name: Option<String>,
}

/// The latest review of an inspection, as an inspection's detail shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectionReview {
    /// `approved` (已通过), `has_issues` (有问题) or `rejected` (已驳回).
    pub state: ReviewState,
    /// The officer's comment.
    pub comment: Option<String>,
    /// User name of the reviewing officer.
    pub reviewer: String,
    /// When it was reviewed.
    pub at: DateTime<Utc>,
}

impl From<Review> for InspectionReview {
    fn from(r: Review) -> Self {
        InspectionReview {
            state: r.state,
            comment: r.comment,
            reviewer: r.reviewer,
            at: r.at,
        }
    }
}

fn corrupt(table: &'static str, e: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        column: "body",
        detail: e.to_string(),
    }
}

/// Stores a pulled assignment unless the device holds a more recent state of it
/// (`updated_at`); returns whether it was written.
pub(crate) fn upsert_assignment(
    conn: &Connection,
    a: &Assignment,
    body: &str,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO assignment (id, assignee, enterprise_id, template_id, status, due, updated_at, body, pulled_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT (id) DO UPDATE SET assignee = excluded.assignee, \
             enterprise_id = excluded.enterprise_id, template_id = excluded.template_id, \
             status = excluded.status, due = excluded.due, updated_at = excluded.updated_at, \
             body = excluded.body, pulled_at = excluded.pulled_at \
         WHERE excluded.updated_at >= assignment.updated_at",
        params![
            a.id.to_string(),
            a.assignee,
            a.enterprise_id.to_string(),
            a.template_id,
            a.status.as_str(),
            a.due.to_string(),
            ts(&a.updated_at),
            body,
            ts(&crate::inspection::now_utc()),
        ],
    )?;
    Ok(n > 0)
}

/// Stores a pulled review unless the device holds a more recent one of the same
/// inspection (`at`); returns whether it was written.
pub(crate) fn upsert_review(conn: &Connection, r: &Review, body: &str) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO review (inspection_id, state, at, body, pulled_at) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (inspection_id) DO UPDATE SET state = excluded.state, at = excluded.at, \
             body = excluded.body, pulled_at = excluded.pulled_at \
         WHERE excluded.at >= review.at",
        params![
            r.inspection_id.to_string(),
            r.state.as_str(),
            ts(&r.at),
            body,
            ts(&crate::inspection::now_utc()),
        ],
    )?;
    Ok(n > 0)
}

/// The review of an inspection, if one was pulled (in the caller's connection).
pub(crate) fn review_of(
    conn: &Connection,
    inspection: &Uuid,
) -> Result<Option<InspectionReview>, StoreError> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM review WHERE inspection_id = ?1",
            [inspection.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    body.map(|b| {
        serde_json::from_str::<Review>(&b)
            .map(InspectionReview::from)
            .map_err(|e| corrupt("review", e))
    })
    .transpose()
}

impl Store {
    /// The assignments of `assignee` (a user name): open ones first by due date, then the
    /// others (only with `all`: fulfilled and cancelled) latest first; `overdue` is judged
    /// against `today` (China date).
    pub fn assignments_for(
        &self,
        assignee: &str,
        all: bool,
        today: NaiveDate,
    ) -> Result<Vec<AssignmentView>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.body, e.name FROM assignment a LEFT JOIN enterprise e ON e.id = a.enterprise_id \
             WHERE a.assignee = ?1 AND (?2 OR a.status = 'open') \
             ORDER BY a.status <> 'open', \
                 CASE WHEN a.status = 'open' THEN a.due END ASC, \
                 a.updated_at DESC, a.id",
        )?;
        let rows = stmt
            .query_map(params![assignee.trim(), all], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(body, enterprise_name)| {
                let assignment: Assignment =
                    serde_json::from_str(&body).map_err(|e| corrupt("assignment", e))?;
                Ok(AssignmentView {
                    overdue: assignment.is_overdue(today),
                    assignment,
                    enterprise_name,
                })
            })
            .collect()
    }

    /// [`Store::assignments_for`] the enrolled user, today (China date);
    /// `sync.not_enrolled` when the device has no enrollment.
    pub fn my_assignments(&self, all: bool) -> Result<Vec<AssignmentView>, crate::sync::SyncError> {
        let user = self
            .enrolled_user_name()?
            .ok_or(crate::sync::SyncError::NotEnrolled)?;
        Ok(self.assignments_for(&user, all, china_date(Utc::now()))?)
    }

    /// The latest review pulled for an inspection (by its id), `None` when it has not
    /// been reviewed (or the review has not reached this phone). An id that is not a
    /// UUID is `store.not_found`.
    pub fn inspection_review(
        &self,
        inspection_id: &str,
    ) -> Result<Option<InspectionReview>, StoreError> {
        let id = Uuid::parse_str(inspection_id.trim()).map_err(|_| StoreError::NotFound {
            what: "inspection",
            key: inspection_id.to_string(),
        })?;
        review_of(&self.conn, &id)
    }
}
