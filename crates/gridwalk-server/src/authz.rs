//! Who may record which hazard event, and who may run which checklist template: the
//! role tables of `docs/server.md` ("Device trust"), checked for every pushed hazard
//! event and inspection besides the jurisdiction of its enterprise.

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

/// The checklist role a user of `role` runs templates as; `None` for an administrator,
/// who runs none (see [`may_record`]).
pub fn checklist_role(role: Role) -> Option<gridwalk_checklist::Role> {
    match role {
        Role::GridWorker => Some(gridwalk_checklist::Role::GridWorker),
        Role::Expert => Some(gridwalk_checklist::Role::Expert),
        Role::Officer => Some(gridwalk_checklist::Role::Officer),
        Role::Admin => None,
    }
}

/// True if a user of `role` may run a template meant for `template_role` on their own
/// account: the rule the phone's template picker applies (`Role::may_run`). Anyone
/// else runs it only on an officer's assignment of that template on that enterprise.
///
/// | template for | grid worker | expert | officer | admin |
/// |---|---|---|---|---|
/// | grid worker (排查, 举报核查) | yes | no | yes | no |
/// | expert (粉尘确认, 重大隐患体检) | no | yes | yes | no |
/// | officer (租前体检, 复查) | no | yes (the town's expert team) | yes | no |
/// | supervisor (督查抽查) | no | yes (with the supervision groups) | yes | no |
pub fn may_run_template(role: Role, template_role: gridwalk_checklist::Role) -> bool {
    checklist_role(role).is_some_and(|r| r.may_run(template_role))
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

    #[test]
    fn templates_run_by_role_as_on_the_phone_and_never_by_an_admin() {
        use gridwalk_checklist::Role as T;
        assert!(may_run_template(Role::GridWorker, T::GridWorker));
        for t in [T::Expert, T::Officer, T::Supervisor] {
            assert!(!may_run_template(Role::GridWorker, t), "{t:?}");
        }
        assert!(may_run_template(Role::Expert, T::Expert));
        assert!(may_run_template(Role::Expert, T::Supervisor));
        assert!(may_run_template(Role::Expert, T::Officer));
        assert!(!may_run_template(Role::Expert, T::GridWorker));
        assert!(!may_run_template(Role::GridWorker, T::Officer));
        for t in [T::GridWorker, T::Expert, T::Officer, T::Supervisor] {
            assert!(may_run_template(Role::Officer, t), "{t:?}");
            assert!(!may_run_template(Role::Admin, t), "{t:?}");
        }
    }
}
