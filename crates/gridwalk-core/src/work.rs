//! An officer's work on the server that reaches the phones (docs/campaign.md
//! "Assignments" and "Review"): assignments (任务) of enterprises to inspectors, and
//! reviews of finalized inspections. Both are published in the pull (protocol 3) at their
//! latest state, keyed by their id.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where an assignment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentStatus {
    /// 待办: nobody has done it yet.
    Open,
    /// An inspection by the assignee with the assigned template fulfilled it.
    Fulfilled,
    /// Withdrawn by an officer.
    Cancelled,
}

impl AssignmentStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentStatus::Open => "open",
            AssignmentStatus::Fulfilled => "fulfilled",
            AssignmentStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<AssignmentStatus> {
        match s {
            "open" => Some(AssignmentStatus::Open),
            "fulfilled" => Some(AssignmentStatus::Fulfilled),
            "cancelled" => Some(AssignmentStatus::Cancelled),
            _ => None,
        }
    }
}

/// 任务: an enterprise to inspect with a template by a due date, as the phones receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub enterprise_uscc: String,
    /// Village (or grid) code of the enterprise: the division it is published under.
    pub division_code: String,
    /// User name of the inspector it is assigned to.
    pub assignee: String,
    pub template_id: String,
    pub due: NaiveDate,
    #[serde(default)]
    pub note: Option<String>,
    pub status: AssignmentStatus,
    /// User name of the officer who made it (or last reassigned or cancelled it).
    pub assigned_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The inspection that fulfilled it.
    #[serde(default)]
    pub fulfilled_by: Option<Uuid>,
    /// The supervision sample it came from, if any.
    #[serde(default)]
    pub sample_id: Option<Uuid>,
}

impl Assignment {
    /// Open and past its due date on China's `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == AssignmentStatus::Open && today > self.due
    }
}

/// An officer's verdict on a finalized inspection (ODK Central's review states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// 已通过.
    Approved,
    /// 有问题: the inspector should look again (a corrected inspection supersedes it).
    HasIssues,
    /// 已驳回: not accepted as a record of the visit.
    Rejected,
}

impl ReviewState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Approved => "approved",
            ReviewState::HasIssues => "has_issues",
            ReviewState::Rejected => "rejected",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ReviewState> {
        match s {
            "approved" => Some(ReviewState::Approved),
            "has_issues" => Some(ReviewState::HasIssues),
            "rejected" => Some(ReviewState::Rejected),
            _ => None,
        }
    }

    /// Chinese label.
    pub fn name_zh(self) -> &'static str {
        match self {
            ReviewState::Approved => "已通过",
            ReviewState::HasIssues => "有问题",
            ReviewState::Rejected => "已驳回",
        }
    }
}

/// The latest review of one inspection, as the phones receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The inspection reviewed (`FinalizedInspection::inspection_id`).
    pub inspection_id: Uuid,
    /// The record that carried it to the server.
    pub record_id: Uuid,
    pub state: ReviewState,
    #[serde(default)]
    pub comment: Option<String>,
    /// User name of the reviewing officer.
    pub reviewer: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_their_wire_names() {
        for s in [
            AssignmentStatus::Open,
            AssignmentStatus::Fulfilled,
            AssignmentStatus::Cancelled,
        ] {
            assert_eq!(AssignmentStatus::parse(s.as_str()), Some(s));
        }
        for s in [
            ReviewState::Approved,
            ReviewState::HasIssues,
            ReviewState::Rejected,
        ] {
            assert_eq!(ReviewState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::String(s.as_str().into()))
            );
        }
        assert_eq!(ReviewState::parse("pending"), None);
    }

    #[test]
    fn an_assignment_is_overdue_only_while_open_and_after_its_due_day() {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let due = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default();
        let mut a = Assignment {
            id: Uuid::nil(),
            enterprise_id: Uuid::nil(),
            enterprise_uscc: String::new(),
            division_code: "320413100201".into(),
            assignee: "grid-one".into(),
            template_id: "t".into(),
            due,
            note: None,
            status: AssignmentStatus::Open,
            assigned_by: "officer".into(),
            created_at: at,
            updated_at: at,
            fulfilled_by: None,
            sample_id: None,
        };
        assert!(!a.is_overdue(due));
        assert!(a.is_overdue(due.succ_opt().unwrap_or(due)));
        a.status = AssignmentStatus::Fulfilled;
        assert!(!a.is_overdue(due.succ_opt().unwrap_or(due)));
    }
}
