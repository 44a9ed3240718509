//! Whether a tenant is fit to lease (适租): the pre-lease check's verdict, shared by the
//! phone and the server (docs/leases.md).
//!
//! A 厂中厂 tenant is 适租 when its latest pre-lease check (租前体检, template kind
//! `pre_lease`) failed no item, or when every hazard raised by the failed items of that
//! check is closed (销号: re-inspected on site and then closed by an officer; a passed
//! re-inspection alone, 已复查, waits for that decision). It is 不适租 while any failed
//! item of the latest check has a hazard not closed, or none at all, and 未体检 before
//! any check. A newer check
//! decides alone: a failing check after a passing one makes the tenant 不适租 again, and
//! a passing re-check after a failed one makes it 适租 whatever the old hazards' state.
//!
//! A check that re-does an earlier one (`supersedes`) keeps the hazards still open from
//! it (the phone re-uses them for the same item rather than raising a second hazard), so
//! the hazards of an item are looked for along the chain of checks the latest one
//! supersedes.

use crate::hazard::HazardStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// One finalized pre-lease check of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreLeaseCheck {
    pub inspection_id: Uuid,
    pub finalized_at: DateTime<Utc>,
    /// The inspection this one re-does, if any.
    pub supersedes: Option<Uuid>,
    /// Ids of the items it failed (its findings).
    pub failed_items: Vec<String>,
}

/// A hazard raised by an item of an inspection, with its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedHazard {
    pub inspection_id: Uuid,
    pub item_id: String,
    pub status: HazardStatus,
}

/// The pre-lease status of a tenant (and so of its lease).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PreLeaseStatus {
    /// 未体检: no pre-lease check yet.
    NotChecked,
    /// 适租: the latest check failed nothing, or every failed item's hazard is closed.
    Fit { inspection_id: Uuid },
    /// 不适租: these failed items of the latest check are not rectified yet.
    NotFit {
        inspection_id: Uuid,
        open_items: Vec<String>,
    },
}

impl PreLeaseStatus {
    /// `not_checked`, `fit` or `not_fit`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PreLeaseStatus::NotChecked => "not_checked",
            PreLeaseStatus::Fit { .. } => "fit",
            PreLeaseStatus::NotFit { .. } => "not_fit",
        }
    }

    /// 未体检, 适租 or 不适租.
    pub fn name_zh(&self) -> &'static str {
        match self {
            PreLeaseStatus::NotChecked => "未体检",
            PreLeaseStatus::Fit { .. } => "适租",
            PreLeaseStatus::NotFit { .. } => "不适租",
        }
    }

    /// The check the status rests on (`None` before any).
    pub fn inspection_id(&self) -> Option<Uuid> {
        match self {
            PreLeaseStatus::NotChecked => None,
            PreLeaseStatus::Fit { inspection_id }
            | PreLeaseStatus::NotFit { inspection_id, .. } => Some(*inspection_id),
        }
    }
}

/// Whether a hazard status counts as rectified for the lease: closed (销号) only.
pub fn is_rectified(status: HazardStatus) -> bool {
    status == HazardStatus::Closed
}

/// The latest check: of the checks no other one re-does, the last by finalize time,
/// then inspection id (UUID v7), so every reader picks the same one. A re-do replaces
/// the check it supersedes even when a phone's clock put it earlier.
pub fn latest_check(checks: &[PreLeaseCheck]) -> Option<&PreLeaseCheck> {
    let superseded: BTreeSet<Uuid> = checks.iter().filter_map(|c| c.supersedes).collect();
    checks
        .iter()
        .filter(|c| !superseded.contains(&c.inspection_id))
        .max_by_key(|c| (c.finalized_at, c.inspection_id))
        .or_else(|| {
            checks
                .iter()
                .max_by_key(|c| (c.finalized_at, c.inspection_id))
        })
}

/// The pre-lease status of a tenant from its pre-lease checks and the hazards raised by
/// inspection items (other hazards may be passed too; they are ignored).
pub fn pre_lease_status(checks: &[PreLeaseCheck], hazards: &[RaisedHazard]) -> PreLeaseStatus {
    let Some(latest) = latest_check(checks) else {
        return PreLeaseStatus::NotChecked;
    };
    // The chain of checks the latest one re-does, itself first (guarded against loops).
    let by_id: HashMap<Uuid, &PreLeaseCheck> =
        checks.iter().map(|c| (c.inspection_id, c)).collect();
    let mut chain = BTreeSet::from([latest.inspection_id]);
    let mut next = latest.supersedes;
    while let Some(id) = next {
        if !chain.insert(id) {
            break;
        }
        next = by_id.get(&id).and_then(|c| c.supersedes);
    }
    let mut open_items: Vec<String> = latest
        .failed_items
        .iter()
        .filter(|item| {
            let raised: Vec<&RaisedHazard> = hazards
                .iter()
                .filter(|h| &h.item_id == *item && chain.contains(&h.inspection_id))
                .collect();
            // An item without a hazard is not rectified: nothing records a fix.
            raised.is_empty() || raised.iter().any(|h| !is_rectified(h.status))
        })
        .cloned()
        .collect();
    open_items.sort();
    open_items.dedup();
    if open_items.is_empty() {
        PreLeaseStatus::Fit {
            inspection_id: latest.inspection_id,
        }
    } else {
        PreLeaseStatus::NotFit {
            inspection_id: latest.inspection_id,
            open_items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, day, 2, 0, 0)
            .single()
            .expect("valid time")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn check(n: u128, day: u32, failed: &[&str]) -> PreLeaseCheck {
        PreLeaseCheck {
            inspection_id: id(n),
            finalized_at: at(day),
            supersedes: None,
            failed_items: failed.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn hazard(n: u128, item: &str, status: HazardStatus) -> RaisedHazard {
        RaisedHazard {
            inspection_id: id(n),
            item_id: item.into(),
            status,
        }
    }

    fn not_fit(n: u128, items: &[&str]) -> PreLeaseStatus {
        PreLeaseStatus::NotFit {
            inspection_id: id(n),
            open_items: items.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_re_do_decides_even_when_its_clock_put_it_before_the_check_it_re_does() {
        let failed = check(1, 10, &["FZ-P-05"]);
        let mut redo = check(2, 9, &[]);
        redo.supersedes = Some(id(1));
        let s = pre_lease_status(
            &[failed.clone(), redo],
            &[hazard(1, "FZ-P-05", HazardStatus::Found)],
        );
        assert_eq!(
            s,
            PreLeaseStatus::Fit {
                inspection_id: id(2)
            }
        );
        assert_eq!(
            latest_check(&[failed]).map(|c| c.inspection_id),
            Some(id(1))
        );
    }

    #[test]
    fn no_check_is_not_checked() {
        let s = pre_lease_status(&[], &[hazard(1, "FZ-P-01", HazardStatus::Found)]);
        assert_eq!(s, PreLeaseStatus::NotChecked);
        assert_eq!((s.as_str(), s.name_zh()), ("not_checked", "未体检"));
        assert_eq!(s.inspection_id(), None);
    }

    #[test]
    fn a_check_that_failed_nothing_is_fit() {
        let s = pre_lease_status(&[check(1, 3, &[])], &[]);
        assert_eq!(
            s,
            PreLeaseStatus::Fit {
                inspection_id: id(1)
            }
        );
        assert_eq!(s.name_zh(), "适租");
    }

    #[test]
    fn failed_items_with_open_hazards_are_not_fit_and_named() {
        let checks = [check(1, 3, &["FZ-P-05", "FZ-P-01"])];
        let hazards = [
            hazard(1, "FZ-P-01", HazardStatus::Rectifying),
            hazard(1, "FZ-P-05", HazardStatus::Closed),
        ];
        let s = pre_lease_status(&checks, &hazards);
        assert_eq!(s, not_fit(1, &["FZ-P-01"]));
        assert_eq!(s.name_zh(), "不适租");
    }

    #[test]
    fn every_failed_item_closed_makes_it_fit() {
        let checks = [check(1, 3, &["FZ-P-01", "FZ-P-05"])];
        let open = [
            hazard(1, "FZ-P-01", HazardStatus::Assigned),
            hazard(1, "FZ-P-05", HazardStatus::Found),
        ];
        assert_eq!(
            pre_lease_status(&checks, &open),
            not_fit(1, &["FZ-P-01", "FZ-P-05"])
        );
        // Re-inspected on site but not closed by an officer yet: still not fit.
        let reinspected = [
            hazard(1, "FZ-P-01", HazardStatus::Reinspected),
            hazard(1, "FZ-P-05", HazardStatus::Closed),
        ];
        assert_eq!(
            pre_lease_status(&checks, &reinspected),
            not_fit(1, &["FZ-P-01"])
        );
        let rectified = [
            hazard(1, "FZ-P-01", HazardStatus::Closed),
            hazard(1, "FZ-P-05", HazardStatus::Closed),
        ];
        assert_eq!(
            pre_lease_status(&checks, &rectified),
            PreLeaseStatus::Fit {
                inspection_id: id(1)
            }
        );
    }

    #[test]
    fn a_failed_item_without_a_hazard_is_not_rectified() {
        // A hazard of another inspection for the same item does not count.
        let s = pre_lease_status(
            &[check(2, 4, &["FZ-P-02"])],
            &[hazard(9, "FZ-P-02", HazardStatus::Closed)],
        );
        assert_eq!(s, not_fit(2, &["FZ-P-02"]));
    }

    #[test]
    fn a_passing_recheck_after_a_failed_one_is_fit() {
        let checks = [check(1, 3, &["FZ-P-01"]), check(2, 10, &[])];
        let hazards = [hazard(1, "FZ-P-01", HazardStatus::Rectifying)];
        assert_eq!(
            pre_lease_status(&checks, &hazards),
            PreLeaseStatus::Fit {
                inspection_id: id(2)
            }
        );
    }

    #[test]
    fn a_newer_failing_check_after_a_passing_one_is_not_fit() {
        // Given in any order: the latest by time decides.
        let checks = [check(3, 20, &["FZ-P-08"]), check(1, 3, &[])];
        let hazards = [hazard(3, "FZ-P-08", HazardStatus::Found)];
        assert_eq!(
            pre_lease_status(&checks, &hazards),
            not_fit(3, &["FZ-P-08"])
        );
    }

    #[test]
    fn a_superseding_check_reuses_the_open_hazard_of_the_one_it_redoes() {
        let mut redo = check(2, 5, &["FZ-P-01"]);
        redo.supersedes = Some(id(1));
        let checks = [check(1, 3, &["FZ-P-01"]), redo];
        let open = [hazard(1, "FZ-P-01", HazardStatus::Rectifying)];
        assert_eq!(pre_lease_status(&checks, &open), not_fit(2, &["FZ-P-01"]));
        let closed = [hazard(1, "FZ-P-01", HazardStatus::Closed)];
        assert_eq!(
            pre_lease_status(&checks, &closed),
            PreLeaseStatus::Fit {
                inspection_id: id(2)
            }
        );
    }

    #[test]
    fn a_reopened_hazard_makes_it_not_fit_again_and_ties_break_by_id() {
        let checks = [check(1, 3, &[]), check(2, 3, &["FZ-P-03"])];
        let hazards = [
            hazard(2, "FZ-P-03", HazardStatus::Closed),
            hazard(2, "FZ-P-03", HazardStatus::Found),
        ];
        assert_eq!(
            pre_lease_status(&checks, &hazards),
            not_fit(2, &["FZ-P-03"])
        );
    }

    #[test]
    fn the_status_serialises_with_a_tag() {
        let v = serde_json::to_value(not_fit(1, &["FZ-P-01"])).expect("json");
        assert_eq!(v["status"], "not_fit");
        assert_eq!(v["open_items"][0], "FZ-P-01");
    }
}
