//! Hazards that converge on the phone (docs/campaign.md "Hazards that converge"): two
//! phones change one hazard offline, each pulls the other's event, and both show the
//! state the server folds — the same skipped event, whatever order the events arrived
//! in. And the 五定 plan recorded on the phone.

mod common;

use common::{count, jintan_store, page, uscc, write, HEADER, VILLAGE};
use gridwalk_checklist::{HazardEvent, HazardEventKind, HazardStatus, RectificationPlan};
use gridwalk_device::inspection::InspectionError;
use gridwalk_device::Store;
use gridwalk_protocol::ChangeKind;
use serde_json::json;
use uuid::Uuid;

/// A device holding one enterprise and one hazard of it, re-inspected and passed on a
/// third phone: ready to be closed or reopened. Every device gets the same history.
struct Shared {
    hazard: Uuid,
    history: Vec<serde_json::Value>,
}

fn shared() -> Shared {
    let hazard = Uuid::now_v7();
    let enterprise = gridwalk_core::ids::enterprise_id(
        &gridwalk_core::Uscc::parse(&uscc("0000001")).expect("uscc"),
    );
    let ev = |at: &str, kind: serde_json::Value| {
        let mut e = json!({"id": Uuid::now_v7(), "hazard_id": hazard, "at": at, "actor": "李专家"});
        for (k, v) in kind.as_object().expect("kind") {
            e[k] = v.clone();
        }
        e
    };
    let history = vec![
        ev(
            "2026-03-02T02:00:00Z",
            json!({"kind": "created", "severity": "general", "enterprise_id": enterprise,
                   "description_zh": "作业现场积尘", "item_id": "SC-02",
                   "deadline": "2026-04-01"}),
        ),
        ev(
            "2026-03-02T03:00:00Z",
            json!({"kind": "assigned", "to": "张厂长"}),
        ),
        ev(
            "2026-03-03T03:00:00Z",
            json!({"kind": "rectification_started"}),
        ),
        ev(
            "2026-03-20T03:00:00Z",
            json!({"kind": "reinspected", "passed": true, "after_photo_sha256s": ["ab"]}),
        ),
    ];
    Shared { hazard, history }
}

fn device(s: &Shared) -> (tempfile::TempDir, Store) {
    let (dir, store) = jintan_store();
    let csv = write(
        dir.path(),
        "e.csv",
        &format!(
            "{HEADER}\n金坛铝业有限公司,{},{VILLAGE},,,,,铝粉,20,\n",
            uscc("0000001")
        ),
    );
    store.import_enterprises(&csv).expect("import");
    let changes = s
        .history
        .iter()
        .map(|e| (ChangeKind::HazardEvent, "h", e.clone()))
        .collect();
    let applied = store.apply_pull_page(&page(changes, "1")).expect("history");
    assert_eq!(
        (applied.hazard_events, applied.hazard_events_waiting),
        (4, 0)
    );
    (dir, store)
}

/// The event this device recorded last, as the server would publish it.
fn last_local_event(store: &Store, hazard: Uuid) -> serde_json::Value {
    let d = store.hazard(&hazard.to_string()).expect("detail");
    let e: &HazardEvent = &d.events.last().expect("an event").event;
    serde_json::to_value(e).expect("json")
}

/// What must agree between phones: the folded state and which events were skipped.
fn outcome(store: &Store, hazard: Uuid) -> (serde_json::Value, Vec<(Uuid, String)>) {
    let d = store.hazard(&hazard.to_string()).expect("detail");
    let skipped = d
        .events
        .iter()
        .filter_map(|e| e.skipped_reason.clone().map(|r| (e.event.id, r)))
        .collect();
    (serde_json::to_value(&d.detail).expect("state"), skipped)
}

fn pull(store: &Store, events: &[&serde_json::Value], cursor: &str) {
    let changes = events
        .iter()
        .map(|e| (ChangeKind::HazardEvent, "x", (*e).clone()))
        .collect();
    let a = store.apply_pull_page(&page(changes, cursor)).expect("pull");
    assert_eq!(
        a.hazard_events_waiting, 0,
        "nothing waits: the hazard is here"
    );
}

#[test]
fn two_phones_closing_offline_keep_both_closes_and_skip_the_later_on_both() {
    let s = shared();
    let (_a_dir, a) = device(&s);
    let (_b_dir, b) = device(&s);
    let close = HazardEventKind::Closed;
    a.hazard_transition(&s.hazard.to_string(), "王网格", close.clone())
        .expect("A closes offline");
    let from_a = last_local_event(&a, s.hazard);
    b.hazard_transition(&s.hazard.to_string(), "李专家", close)
        .expect("B closes offline");
    let from_b = last_local_event(&b, s.hazard);

    // Each pulls the other's close; a third phone pulls both in the other order.
    pull(&a, &[&from_b], "2");
    pull(&b, &[&from_a], "2");
    let (_c_dir, c) = device(&s);
    pull(&c, &[&from_b], "2");
    pull(&c, &[&from_a], "3");

    let expected = outcome(&a, s.hazard);
    assert_eq!(outcome(&b, s.hazard), expected);
    assert_eq!(outcome(&c, s.hazard), expected);
    let later: Uuid = serde_json::from_value(from_b["id"].clone()).expect("id");
    assert_eq!(expected.1.len(), 1, "one close is skipped");
    assert_eq!(expected.1[0].0, later, "the later of the two closes");
    assert!(
        expected.1[0].1.contains("not allowed"),
        "{}",
        expected.1[0].1
    );
    let state = a.hazard(&s.hazard.to_string()).expect("detail");
    assert_eq!(state.summary.state, HazardStatus::Closed);
    assert_eq!(state.events.len(), 6, "both closes are kept in the history");
    assert_eq!(state.detail.event_count, 5);
    assert_eq!(
        state.detail.closed_at,
        Some(
            serde_json::from_value::<chrono::DateTime<chrono::Utc>>(from_a["at"].clone())
                .expect("at")
        ),
        "closed by the first close"
    );
}

#[test]
fn a_reopen_and_a_close_recorded_offline_converge_whatever_arrives_first() {
    let s = shared();
    let (_a_dir, a) = device(&s);
    let (_b_dir, b) = device(&s);
    a.hazard_transition(
        &s.hazard.to_string(),
        "李专家",
        HazardEventKind::Reopened {
            reason: "泄爆片未按图纸安装".into(),
        },
    )
    .expect("A reopens");
    let reopen = last_local_event(&a, s.hazard);
    b.hazard_transition(&s.hazard.to_string(), "王网格", HazardEventKind::Closed)
        .expect("B closes");
    let close = last_local_event(&b, s.hazard);
    assert_eq!(
        b.hazard(&s.hazard.to_string()).expect("b").summary.state,
        HazardStatus::Closed,
        "B saw it closed while offline"
    );

    pull(&a, &[&close], "2");
    pull(&b, &[&reopen], "2");
    let (_c_dir, c) = device(&s);
    pull(&c, &[&close, &reopen], "2");

    let expected = outcome(&a, s.hazard);
    assert_eq!(outcome(&b, s.hazard), expected);
    assert_eq!(outcome(&c, s.hazard), expected);
    let close_id: Uuid = serde_json::from_value(close["id"].clone()).expect("id");
    assert_eq!(
        expected.1.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![close_id],
        "the reopen came first: the close no longer follows"
    );
    let state = b.hazard(&s.hazard.to_string()).expect("b");
    assert_eq!(state.summary.state, HazardStatus::Rectifying);
    assert_eq!(state.detail.closed_at, None);

    // The next event recorded on B follows the folded state (rectifying), stamped after
    // the whole history, skipped close included.
    let next = b
        .hazard_transition(
            &s.hazard.to_string(),
            "王网格",
            HazardEventKind::Reinspected {
                passed: false,
                before_photo_sha256s: Vec::new(),
                after_photo_sha256s: Vec::new(),
                note: Some("仍有积尘".into()),
            },
        )
        .expect("a failed re-inspection of a rectifying hazard");
    assert_eq!(next.status, HazardStatus::Rectifying);
    let d = b.hazard(&s.hazard.to_string()).expect("b");
    let last = d.events.last().expect("last");
    assert!(last.skipped_reason.is_none());
    assert!(matches!(
        last.event.kind,
        HazardEventKind::Reinspected { .. }
    ));
    // A close is refused on the folded state, and nothing is stored.
    let before = count(&b, "SELECT count(*) FROM hazard_event");
    assert!(matches!(
        b.hazard_transition(&s.hazard.to_string(), "王网格", HazardEventKind::Closed),
        Err(InspectionError::Transition(_))
    ));
    assert_eq!(count(&b, "SELECT count(*) FROM hazard_event"), before);
}

#[test]
fn an_event_whose_hazard_is_not_here_still_waits() {
    let s = shared();
    let (_dir, store) = jintan_store();
    // No enterprise, so the creation waits, and so does the event after it.
    let a = store
        .apply_pull_page(&page(
            vec![
                (ChangeKind::HazardEvent, "h", s.history[1].clone()),
                (ChangeKind::HazardEvent, "h", s.history[0].clone()),
            ],
            "1",
        ))
        .expect("pull");
    assert_eq!((a.hazard_events, a.hazard_events_waiting), (0, 2));
    assert!(store.hazards(None).expect("hazards").is_empty());
}

fn plan(deadline: &str) -> RectificationPlan {
    RectificationPlan {
        measures: "  清理积尘，建立每班清扫制度 ".into(),
        responsible: "王建国（设备科长）".into(),
        funds_yuan: Some(12_000),
        deadline: chrono::NaiveDate::parse_from_str(deadline, "%Y-%m-%d").expect("date"),
        interim_measures: "停用3号打磨工位".into(),
    }
}

#[test]
fn the_five_fixes_are_set_and_revised_on_the_phone_and_queued_like_every_hazard_event() {
    let s = shared();
    let (_dir, store) = jintan_store();
    let csv = write(
        _dir.path(),
        "e.csv",
        &format!(
            "{HEADER}\n金坛铝业有限公司,{},{VILLAGE},,,,,铝粉,20,\n",
            uscc("0000001")
        ),
    );
    store.import_enterprises(&csv).expect("import");
    // Created and assigned only: the plan is legal.
    let changes = s.history[..2]
        .iter()
        .map(|e| (ChangeKind::HazardEvent, "h", e.clone()))
        .collect();
    store.apply_pull_page(&page(changes, "1")).expect("pull");
    let id = s.hazard.to_string();
    let queued = count(&store, "SELECT count(*) FROM sync_record");

    let next = store
        .set_hazard_plan(&id, "王网格", &plan("2026-03-25"))
        .expect("plan");
    assert_eq!(next.status, HazardStatus::Assigned);
    assert_eq!(next.deadline.to_string(), "2026-03-25", "brought forward");
    let p = next.plan.expect("the plan");
    assert_eq!(p.measures, "清理积尘，建立每班清扫制度", "trimmed");
    assert_eq!(p.funds_yuan, Some(12_000));
    assert_eq!(
        count(&store, "SELECT count(*) FROM sync_record"),
        queued + 1,
        "pushed like every hazard event"
    );
    let d = store.hazard(&id).expect("detail");
    let last = d.events.last().expect("event");
    assert!(matches!(last.event.kind, HazardEventKind::PlanSet(_)));
    assert_eq!(
        serde_json::to_value(last).expect("json")["kind"],
        json!("plan_set")
    );

    // A revision may not push the deadline back past the hazard's current one.
    let err = store
        .set_hazard_plan(&id, "王网格", &plan("2026-03-26"))
        .expect_err("later than the current deadline");
    assert_eq!(err.code(), "hazard.plan_deadline_later");
    assert!(err.to_string().contains("officer"), "{err}");
    let mut blank = plan("2026-03-20");
    blank.responsible = "  ".into();
    let err = store
        .set_hazard_plan(&id, "王网格", &blank)
        .expect_err("no responsible person");
    assert_eq!(err.code(), "hazard.plan_incomplete");
    assert_eq!(
        count(&store, "SELECT count(*) FROM sync_record"),
        queued + 1,
        "refusals store nothing"
    );
    let mut revised = plan("2026-03-20");
    revised.funds_yuan = None;
    let next = store
        .set_hazard_plan(&id, "王网格", &revised)
        .expect("revised");
    assert_eq!(next.plan.and_then(|p| p.funds_yuan), None);

    // Once re-inspected and passed (on another phone, later), a plan no longer applies.
    let later = ["2026-12-30T01:00:00Z", "2026-12-30T02:00:00Z"];
    for (e, at) in s.history[2..].iter().zip(later) {
        let mut e = e.clone();
        e["at"] = json!(at);
        store
            .apply_pull_page(&page(vec![(ChangeKind::HazardEvent, "h", e)], "2"))
            .expect("pull");
    }
    let d = store.hazard(&id).expect("detail");
    assert_eq!(d.summary.state, HazardStatus::Reinspected);
    assert!(d.events.iter().all(|e| e.skipped_reason.is_none()));
    let err = store
        .set_hazard_plan(&id, "王网格", &plan("2026-03-20"))
        .expect_err("re-inspected");
    assert_eq!(err.code(), "hazard.illegal_transition");
}
