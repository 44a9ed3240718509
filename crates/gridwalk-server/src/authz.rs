//! Who may record which hazard event: the role table of `docs/server.md` ("Device
//! trust"), checked for every pushed hazard event besides the jurisdiction of the
//! hazard's enterprise and the actor named in the event.

use gridwalk_checklist::{EventKindName, Severity};
use gridwalk_protocol::Role;

/// True if a user of `role` may record an event of kind `event` on a hazard of
/// `severity`.
///
/// | event | grid worker | expert | officer | admin |
/// |---|---|---|---|---|
/// | created (发现) | yes | yes | yes | no |
/// | assigned (指定整改责任人) | no | yes | yes | no |
/// | rectification_started | yes | yes | yes | no |
/// | reinspected (复查) | general hazards only | yes | yes | no |
/// | closed (销号) | no | yes | yes | no |
/// | reopened | no | yes | yes | no |
/// | listed_supervision (挂牌督办) | no | no | yes | no |
/// | deadline_extended | no | no | yes | no |
/// | plan_set (五定) | yes | yes | yes | no |
///
/// Administrators manage users and devices; the campaign's decisions are made by the
/// people accountable for them, so an admin records no hazard events.
pub fn may_record(role: Role, event: EventKindName, severity: Severity) -> bool {
    use EventKindName as E;
    match role {
        Role::Admin => false,
        Role::Officer => true,
        Role::Expert => !matches!(event, E::ListedSupervision | E::DeadlineExtended),
        Role::GridWorker => match event {
            E::Created | E::RectificationStarted | E::PlanSet => true,
            E::Reinspected => severity == Severity::General,
            E::Assigned | E::Closed | E::Reopened | E::ListedSupervision | E::DeadlineExtended => {
                false
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKindName as E;

    #[test]
    fn a_grid_worker_reports_and_rechecks_general_hazards_but_closes_nothing() {
        let g = Role::GridWorker;
        assert!(may_record(g, E::Created, Severity::Major));
        assert!(may_record(g, E::RectificationStarted, Severity::Major));
        assert!(may_record(g, E::Reinspected, Severity::General));
        assert!(!may_record(g, E::Reinspected, Severity::Major));
        for e in [E::Assigned, E::Closed, E::Reopened, E::ListedSupervision] {
            assert!(!may_record(g, e, Severity::General), "{e:?}");
        }
    }

    #[test]
    fn only_officers_list_for_supervision_or_extend_and_admins_record_nothing() {
        for e in [E::ListedSupervision, E::DeadlineExtended] {
            assert!(may_record(Role::Officer, e, Severity::Major));
            assert!(!may_record(Role::Expert, e, Severity::Major));
        }
        assert!(may_record(Role::Expert, E::Closed, Severity::Major));
        assert!(!may_record(Role::Admin, E::Created, Severity::General));
    }
}
