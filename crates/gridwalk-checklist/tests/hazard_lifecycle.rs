//! The hazard (隐患) lifecycle: legal and illegal transitions, deadlines, merging.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use gridwalk_checklist::hazard::{
    created_event, EventKindName, HazardEventKind as K, ListedSupervision, RectificationPlan,
};
use gridwalk_checklist::{
    apply, fold, merge, DeadlinePolicy, HazardEvent, HazardState, HazardStatus, Severity,
    TransitionError,
};
use uuid::Uuid;

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 1, 0, 0)
        .single()
        .expect("valid")
        + Duration::minutes(minutes)
}

fn hazard() -> Uuid {
    Uuid::from_u128(0x1234)
}

fn ev(n: u128, minutes: i64, kind: K) -> HazardEvent {
    HazardEvent {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n),
        hazard_id: hazard(),
        at: t(minutes),
        actor: format!("user-{n}"),
        kind,
    }
}

fn created(severity: Severity) -> HazardEvent {
    let mut e = created_event(
        hazard(),
        t(0),
        "expert-1",
        severity,
        Uuid::from_u128(7),
        "干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施",
        &DeadlinePolicy::default(),
    );
    e.id = Uuid::from_u128(1);
    e
}

fn listing() -> K {
    K::ListedSupervision(ListedSupervision {
        notice_no: "金安督〔2024〕3号".into(),
        supervising_body: "金坛区安委办".into(),
        deadline: NaiveDate::from_ymd_opt(2024, 9, 30).expect("valid"),
    })
}

fn passed() -> K {
    K::Reinspected {
        passed: true,
        before_photo_sha256s: vec![],
        after_photo_sha256s: vec!["ab".repeat(32)],
        note: None,
    }
}

fn failed() -> K {
    K::Reinspected {
        passed: false,
        before_photo_sha256s: vec![],
        after_photo_sha256s: vec![],
        note: Some("泄爆片未安装".into()),
    }
}

/// A major hazard driven to each status.
fn state_in(status: HazardStatus) -> HazardState {
    let path = [
        K::Assigned {
            to: "enterprise-1".into(),
        },
        K::RectificationStarted,
        passed(),
        K::Closed,
    ];
    let steps = HazardStatus::ALL
        .iter()
        .position(|s| *s == status)
        .expect("status");
    let mut events = vec![created(Severity::Major)];
    for (i, k) in path.into_iter().take(steps).enumerate() {
        events.push(ev(10 + i as u128, 10 * (i as i64 + 1), k));
    }
    let s = fold(&events).expect("valid path");
    assert_eq!(s.status, status);
    s
}

fn one_of_each_kind() -> Vec<K> {
    vec![
        K::Created {
            severity: Severity::General,
            enterprise_id: Uuid::from_u128(7),
            description_zh: "x".into(),
            item_id: None,
            inspection_id: None,
            legal_basis: None,
            deadline: NaiveDate::from_ymd_opt(2024, 4, 1).expect("valid"),
            photo_sha256s: vec![],
        },
        K::Assigned {
            to: "someone".into(),
        },
        K::RectificationStarted,
        passed(),
        K::Closed,
        K::Reopened {
            reason: "隐患复现".into(),
        },
        listing(),
        K::DeadlineExtended {
            new_deadline: NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid"),
            reason: "设备采购周期".into(),
        },
        K::PlanSet(plan(NaiveDate::from_ymd_opt(2024, 3, 20).expect("valid"))),
    ]
}

fn plan(deadline: NaiveDate) -> RectificationPlan {
    RectificationPlan {
        measures: "加装泄爆片并更换防爆电机".into(),
        responsible: "王建国（设备科长）".into(),
        funds_yuan: Some(48_000),
        deadline,
        interim_measures: "停用3号除尘器，人工清扫积尘".into(),
    }
}

fn allowed(from: HazardStatus, kind: EventKindName) -> bool {
    use EventKindName as E;
    use HazardStatus as S;
    match kind {
        E::Created => false,
        E::Assigned => matches!(from, S::Found | S::Assigned | S::Rectifying),
        E::RectificationStarted => from == S::Assigned,
        E::Reinspected => from == S::Rectifying,
        E::Closed => from == S::Reinspected,
        E::Reopened => matches!(from, S::Reinspected | S::Closed),
        E::ListedSupervision | E::DeadlineExtended => from != S::Closed,
        E::PlanSet => matches!(from, S::Found | S::Assigned | S::Rectifying),
    }
}

#[test]
fn every_transition_outside_the_lifecycle_is_refused_with_a_typed_error() {
    for status in HazardStatus::ALL {
        let state = state_in(status);
        for kind in one_of_each_kind() {
            let name = kind.name();
            let result = apply(&state, &ev(99, 1000, kind));
            if allowed(status, name) {
                assert!(result.is_ok(), "{name:?} from {status:?}: {result:?}");
            } else {
                let err = result.expect_err("refused");
                let expected = if name == EventKindName::Created {
                    TransitionError::AlreadyCreated
                } else {
                    TransitionError::Illegal {
                        from: status,
                        event: name,
                    }
                };
                assert_eq!(err, expected, "{name:?} from {status:?}");
            }
        }
    }
}

#[test]
fn a_hazard_goes_from_found_to_closed() {
    let s = state_in(HazardStatus::Closed);
    assert_eq!(s.closed_at, Some(t(40)));
    assert_eq!(s.assignee.as_deref(), Some("enterprise-1"));
    assert_eq!(s.event_count, 5);
}

#[test]
fn a_failed_reinspection_keeps_the_hazard_in_rectification() {
    let events = vec![
        created(Severity::General),
        ev(2, 1, K::Assigned { to: "e".into() }),
        ev(3, 2, K::RectificationStarted),
        ev(4, 3, failed()),
    ];
    let s = fold(&events).expect("valid");
    assert_eq!(s.status, HazardStatus::Rectifying);
    assert_eq!(s.failed_reinspections(), 1);
    let s = apply(&s, &ev(5, 4, passed())).expect("second reinspection");
    assert_eq!(s.status, HazardStatus::Reinspected);
}

#[test]
fn a_closed_hazard_can_be_reopened_into_rectification() {
    let s = state_in(HazardStatus::Closed);
    let s = apply(
        &s,
        &ev(
            50,
            100,
            K::Reopened {
                reason: "复查发现复现".into(),
            },
        ),
    )
    .expect("reopen");
    assert_eq!(s.status, HazardStatus::Rectifying);
    assert_eq!(s.closed_at, None);
}

#[test]
fn only_major_hazards_can_be_listed_and_only_once() {
    let general = fold(&[created(Severity::General)]).expect("created");
    assert_eq!(
        apply(&general, &ev(2, 1, listing())),
        Err(TransitionError::ListingNotMajor)
    );
    let major = fold(&[created(Severity::Major)]).expect("created");
    let listed = apply(&major, &ev(2, 1, listing())).expect("listed");
    assert_eq!(
        listed.deadline,
        NaiveDate::from_ymd_opt(2024, 9, 30).expect("valid")
    );
    assert_eq!(
        apply(&listed, &ev(3, 2, listing())),
        Err(TransitionError::AlreadyListed)
    );
}

#[test]
fn default_deadlines_follow_the_policy_in_china_dates() {
    let general = fold(&[created(Severity::General)]).expect("created");
    let major = fold(&[created(Severity::Major)]).expect("created");
    // t(0) is 2024-03-01 09:00 in China.
    assert_eq!(
        general.deadline,
        NaiveDate::from_ymd_opt(2024, 3, 31).expect("valid")
    );
    assert_eq!(
        major.deadline,
        NaiveDate::from_ymd_opt(2024, 5, 30).expect("valid")
    );
    let policy = DeadlinePolicy {
        general_days: 7,
        major_days: 60,
    };
    assert_eq!(
        policy.deadline_for(
            Severity::General,
            Utc.with_ymd_and_hms(2024, 3, 1, 17, 0, 0)
                .single()
                .expect("valid")
        ),
        NaiveDate::from_ymd_opt(2024, 3, 9).expect("valid"),
        "17:00 UTC is already 2 March in China"
    );
}

#[test]
fn a_hazard_is_overdue_after_its_deadline_until_it_is_rectified() {
    let s = fold(&[created(Severity::General)]).expect("created");
    assert!(!s.is_overdue(NaiveDate::from_ymd_opt(2024, 3, 31).expect("valid")));
    assert!(s.is_overdue(NaiveDate::from_ymd_opt(2024, 4, 1).expect("valid")));
    let extended = apply(
        &s,
        &ev(
            2,
            1,
            K::DeadlineExtended {
                new_deadline: NaiveDate::from_ymd_opt(2024, 4, 15).expect("valid"),
                reason: "r".into(),
            },
        ),
    )
    .expect("extended");
    assert!(!extended.is_overdue(NaiveDate::from_ymd_opt(2024, 4, 1).expect("valid")));
    let closed = state_in(HazardStatus::Closed);
    assert!(!closed.is_overdue(NaiveDate::from_ymd_opt(2030, 1, 1).expect("valid")));
}

#[test]
fn a_deadline_can_only_be_extended_later() {
    let s = fold(&[created(Severity::General)]).expect("created");
    let earlier = NaiveDate::from_ymd_opt(2024, 3, 15).expect("valid");
    assert_eq!(
        apply(
            &s,
            &ev(
                2,
                1,
                K::DeadlineExtended {
                    new_deadline: earlier,
                    reason: "r".into()
                }
            )
        ),
        Err(TransitionError::DeadlineNotLater {
            current: s.deadline,
            requested: earlier
        })
    );
}

#[test]
fn a_plan_sets_the_five_fixes_and_may_bring_the_deadline_forward_but_not_back() {
    let s = fold(&[created(Severity::General)]).expect("created");
    let sooner = NaiveDate::from_ymd_opt(2024, 3, 20).expect("valid");
    let next = apply(&s, &ev(2, 1, K::PlanSet(plan(sooner)))).expect("plan");
    assert_eq!(next.deadline, sooner);
    assert_eq!(next.plan.as_ref().map(|p| p.funds_yuan), Some(Some(48_000)));
    assert_eq!(next.status, HazardStatus::Found);
    // A revised plan replaces the first.
    let mut revised = plan(sooner);
    revised.measures = "整体更换除尘系统".into();
    let next = apply(&next, &ev(3, 2, K::PlanSet(revised.clone()))).expect("revised");
    assert_eq!(next.plan, Some(revised));
    let later = s.deadline.succ_opt().expect("valid");
    assert_eq!(
        apply(&s, &ev(4, 3, K::PlanSet(plan(later)))),
        Err(TransitionError::PlanDeadlineLater {
            current: s.deadline,
            requested: later
        })
    );
    // Nor before the day it was found: a plan cannot make a hazard overdue.
    let found = gridwalk_checklist::hazard::china_date(s.found_at);
    let before = found.pred_opt().expect("valid");
    assert_eq!(
        apply(&s, &ev(5, 4, K::PlanSet(plan(before)))),
        Err(TransitionError::PlanDeadlineBeforeFound {
            found,
            requested: before
        })
    );
    assert!(apply(&s, &ev(6, 4, K::PlanSet(plan(found)))).is_ok());
}

#[test]
fn histories_must_start_with_created_and_concern_one_hazard() {
    assert_eq!(fold(&[]), Err(TransitionError::NoEvents));
    assert_eq!(
        fold(&[ev(2, 1, K::RectificationStarted)]),
        Err(TransitionError::NotCreated(
            EventKindName::RectificationStarted
        ))
    );
    let mut other = ev(2, 1, K::Assigned { to: "x".into() });
    other.hazard_id = Uuid::from_u128(0x9999);
    assert!(matches!(
        fold(&[created(Severity::General), other]),
        Err(TransitionError::WrongHazard { .. })
    ));
}

#[test]
fn an_event_older_than_the_last_applied_one_is_refused_by_apply() {
    let s = fold(&[
        created(Severity::General),
        ev(2, 10, K::Assigned { to: "a".into() }),
    ])
    .expect("valid");
    let late = ev(3, 5, K::RectificationStarted);
    assert_eq!(apply(&s, &late), Err(TransitionError::OutOfOrder(late.id)));
}

#[test]
fn two_devices_interleaved_histories_fold_to_the_same_state_in_any_arrival_order() {
    // The expert's phone.
    let a = [
        created(Severity::Major),
        ev(
            2,
            1,
            K::Assigned {
                to: "enterprise-1".into(),
            },
        ),
        ev(3, 5, K::RectificationStarted),
        ev(6, 30, failed()),
        ev(7, 40, passed()),
    ];
    // The district officer's tablet, offline at the same time.
    let b = [
        created(Severity::Major), // already synced once: a duplicate
        ev(4, 3, listing()),
        ev(
            5,
            20,
            K::DeadlineExtended {
                new_deadline: NaiveDate::from_ymd_opt(2024, 12, 31).expect("valid"),
                reason: "整改工程量大".into(),
            },
        ),
        ev(8, 50, K::Closed),
    ];
    let mut all: Vec<HazardEvent> = a.iter().chain(b.iter()).cloned().collect();
    let expected = fold(&all).expect("merged history is legal");
    assert_eq!(expected.status, HazardStatus::Closed);
    assert_eq!(expected.failed_reinspections(), 1);
    assert!(expected.listed.is_some());
    assert_eq!(
        expected.deadline,
        NaiveDate::from_ymd_opt(2024, 12, 31).expect("valid")
    );
    assert_eq!(expected.event_count, 8);

    let n = all.len();
    for rotation in 0..n {
        all.rotate_left(1);
        assert_eq!(fold(&all).as_ref(), Ok(&expected), "rotation {rotation}");
        let reversed: Vec<_> = all.iter().rev().cloned().collect();
        assert_eq!(
            fold(&reversed).as_ref(),
            Ok(&expected),
            "reversed rotation {rotation}"
        );
    }
    let b_then_a: Vec<_> = b.iter().chain(a.iter()).cloned().collect();
    assert_eq!(fold(&b_then_a), Ok(expected));
    assert_eq!(merge(&b_then_a).expect("merge").len(), 8);
}

#[test]
fn two_different_events_with_one_id_are_a_conflict() {
    let e = ev(2, 1, K::Assigned { to: "a".into() });
    let mut forged = e.clone();
    forged.kind = K::Assigned { to: "b".into() };
    assert_eq!(
        fold(&[created(Severity::General), e.clone(), forged]),
        Err(TransitionError::ConflictingEvent(e.id))
    );
}

#[test]
fn events_serialize_with_snake_case_kinds_and_severities() {
    let e = ev(2, 1, K::Assigned { to: "a".into() });
    let json = serde_json::to_value(&e).expect("serialize");
    assert_eq!(json["kind"], "assigned");
    assert_eq!(json["to"], "a");
    let back: HazardEvent = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, e);
    assert_eq!(
        serde_json::to_value(Severity::Major).expect("serialize"),
        "major"
    );
    assert_eq!(
        serde_json::to_value(Severity::General).expect("serialize"),
        "general"
    );
    let listed = ev(3, 2, listing());
    let back: HazardEvent =
        serde_json::from_value(serde_json::to_value(&listed).expect("ser")).expect("de");
    assert_eq!(back, listed);
}

/// Two phones closed the same hazard offline, and a third reopened it: folded in the
/// merged order, the second close is not legal where it falls, so it is skipped and
/// named, never lost; any order of arrival gives the same state and the same skips.
#[test]
fn concurrent_events_converge_and_the_illegal_one_is_kept_and_marked() {
    use gridwalk_checklist::fold_keeping;
    let events = vec![
        created(Severity::General),
        ev(
            2,
            10,
            K::Assigned {
                to: "企业张三".into(),
            },
        ),
        ev(3, 20, K::RectificationStarted),
        ev(4, 30, passed()),
        ev(5, 40, K::Closed),
        ev(6, 41, K::Closed),
        ev(
            7,
            50,
            K::Reopened {
                reason: "复查发现反弹".into(),
            },
        ),
    ];
    let (state, skipped) = fold_keeping(&events).expect("fold");
    assert_eq!(state.status, HazardStatus::Rectifying);
    assert_eq!(state.event_count, 6);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, events[5].id);
    let mut reversed = events.clone();
    reversed.reverse();
    reversed.push(events[2].clone());
    assert_eq!(fold_keeping(&reversed).expect("fold"), (state, skipped));
    assert!(fold_keeping(&events[1..]).is_err(), "no created event");
}
