//! An officer's work pulled from the server (protocol 3): assignments (任务) and reviews
//! of inspections, applied from a pull page built by hand as the server sends it.

mod common;

use chrono::{Days, NaiveDate};
use common::{jintan_store, page, uscc, write, HEADER, VILLAGE};
use gridwalk_core::work::{AssignmentStatus, ReviewState};
use gridwalk_device::inspection::StartInspection;
use gridwalk_device::migrations::latest_version;
use gridwalk_device::sync::SyncError;
use gridwalk_device::Store;
use gridwalk_protocol::ChangeKind;
use serde_json::{json, Value};
use uuid::Uuid;

const ME: &str = "grid-one";

fn today() -> NaiveDate {
    gridwalk_checklist::hazard::china_date(chrono::Utc::now())
}

fn day(offset: i64) -> String {
    let t = today();
    let d = if offset >= 0 {
        t.checked_add_days(Days::new(offset as u64))
    } else {
        t.checked_sub_days(Days::new(offset.unsigned_abs()))
    };
    d.expect("date").to_string()
}

/// An assignment as the server publishes it (`gridwalk_core::Assignment` JSON).
fn assignment(
    id: Uuid,
    serial: &str,
    assignee: &str,
    due: &str,
    status: &str,
    updated_at: &str,
) -> Value {
    let u = uscc(serial);
    let enterprise =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&u).expect("uscc"));
    json!({
        "id": id, "enterprise_id": enterprise, "enterprise_uscc": u,
        "division_code": VILLAGE, "assignee": assignee, "template_id": "grid-survey",
        "due": due, "note": "百日行动：复核积尘清扫", "status": status,
        "assigned_by": "officer-li", "created_at": "2026-03-01T01:00:00Z",
        "updated_at": updated_at, "fulfilled_by": null, "sample_id": null
    })
}

fn review(inspection: Uuid, state: &str, comment: Option<&str>, at: &str) -> Value {
    json!({"inspection_id": inspection, "record_id": inspection, "state": state,
           "comment": comment, "reviewer": "officer-li", "at": at})
}

/// Enrolls the store's device for `name` (no server: the answer as the server gives it).
fn enroll(store: &Store, name: &str, role: gridwalk_protocol::Role) {
    store
        .save_enrollment(
            "https://gw.example.cn",
            &gridwalk_protocol::EnrollResponse {
                device_id: Uuid::now_v7(),
                token: "t".into(),
                user: gridwalk_protocol::EnrolledUser {
                    name: name.into(),
                    role,
                    jurisdiction: VILLAGE.into(),
                },
                server_key: gridwalk_protocol::ServerKey {
                    algorithm: "ed25519".into(),
                    public_key: String::new(),
                    key_id: String::new(),
                },
            },
        )
        .expect("enroll");
}

fn store_with_enterprise() -> (tempfile::TempDir, Store) {
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
    (dir, store)
}

#[test]
fn pulled_assignments_list_open_ones_first_by_due_date_and_keep_their_latest_state() {
    let (_dir, store) = store_with_enterprise();
    let (overdue, later, done, theirs) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let t0 = "2026-03-01T02:00:00Z";
    let applied = store
        .apply_pull_page(&page(
            vec![
                (
                    ChangeKind::Assignment,
                    "a",
                    assignment(later, "0000002", ME, &day(10), "open", t0),
                ),
                (
                    ChangeKind::Assignment,
                    "b",
                    assignment(overdue, "0000001", ME, &day(-3), "open", t0),
                ),
                (
                    ChangeKind::Assignment,
                    "c",
                    assignment(done, "0000001", ME, &day(-10), "fulfilled", t0),
                ),
                (
                    ChangeKind::Assignment,
                    "d",
                    assignment(theirs, "0000001", "grid-two", &day(1), "open", t0),
                ),
                // A shape from another build: passed over, the pull goes on.
                (ChangeKind::Assignment, "e", json!({"id": "x", "v": 9})),
                (ChangeKind::Review, "f", json!({"inspection_id": 1})),
            ],
            "1",
        ))
        .expect("page");
    assert_eq!(
        (applied.assignments, applied.reviews, applied.skipped),
        (4, 0, 2)
    );
    assert_eq!(store.pull_cursor().expect("cursor"), "1");

    let open = store.assignments_for(ME, false, today()).expect("open");
    let ids: Vec<Uuid> = open.iter().map(|v| v.assignment.id).collect();
    assert_eq!(ids, vec![overdue, later], "open ones, by due date");
    assert!(open[0].overdue);
    assert!(!open[1].overdue);
    assert_eq!(open[0].enterprise_name.as_deref(), Some("金坛铝业有限公司"));
    assert_eq!(
        open[1].enterprise_name, None,
        "its enterprise is not on this phone"
    );
    let v = serde_json::to_value(&open[0]).expect("json");
    for key in [
        "id",
        "enterprise_id",
        "enterprise_uscc",
        "division_code",
        "assignee",
        "template_id",
        "due",
        "note",
        "status",
        "assigned_by",
        "created_at",
        "updated_at",
        "fulfilled_by",
        "sample_id",
        "overdue",
        "enterprise_name",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    let all = store.assignments_for(ME, true, today()).expect("all");
    assert_eq!(
        all.iter().map(|v| v.assignment.id).collect::<Vec<_>>(),
        vec![overdue, later, done]
    );
    assert!(!all[2].overdue, "a fulfilled assignment is never overdue");

    // A later state replaces the row; an older one (a replayed page) does not.
    let t1 = "2026-03-05T02:00:00Z";
    let applied = store
        .apply_pull_page(&page(
            vec![
                (
                    ChangeKind::Assignment,
                    "a",
                    assignment(later, "0000002", ME, &day(10), "cancelled", t1),
                ),
                (
                    ChangeKind::Assignment,
                    "b",
                    assignment(
                        overdue,
                        "0000001",
                        ME,
                        &day(-3),
                        "fulfilled",
                        "2026-02-01T00:00:00Z",
                    ),
                ),
            ],
            "2",
        ))
        .expect("page 2");
    assert_eq!(applied.assignments, 2);
    let open = store.assignments_for(ME, false, today()).expect("open");
    assert_eq!(
        open.iter().map(|v| v.assignment.id).collect::<Vec<_>>(),
        vec![overdue]
    );
    assert_eq!(open[0].assignment.status, AssignmentStatus::Open);
    let all = store.assignments_for(ME, true, today()).expect("all");
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter()
            .find(|v| v.assignment.id == later)
            .map(|v| v.assignment.status),
        Some(AssignmentStatus::Cancelled)
    );
}

#[test]
fn my_assignments_are_the_enrolled_users() {
    let (_dir, store) = store_with_enterprise();
    assert!(matches!(
        store.my_assignments(false),
        Err(SyncError::NotEnrolled)
    ));
    let mine = Uuid::now_v7();
    store
        .apply_pull_page(&page(
            vec![
                (
                    ChangeKind::Assignment,
                    "a",
                    assignment(mine, "0000001", ME, &day(2), "open", "2026-03-01T02:00:00Z"),
                ),
                (
                    ChangeKind::Assignment,
                    "b",
                    assignment(
                        Uuid::now_v7(),
                        "0000001",
                        "grid-two",
                        &day(2),
                        "open",
                        "2026-03-01T02:00:00Z",
                    ),
                ),
            ],
            "1",
        ))
        .expect("page");
    enroll(&store, ME, gridwalk_protocol::Role::GridWorker);
    let list = store.my_assignments(false).expect("mine");
    assert_eq!(
        list.iter().map(|v| v.assignment.id).collect::<Vec<_>>(),
        vec![mine]
    );
}

#[test]
fn the_latest_review_of_an_inspection_shows_in_its_detail() {
    let (_dir, store) = store_with_enterprise();
    let id = store
        .start_inspection(&StartInspection {
            enterprise: uscc("0000001"),
            template_id: "grid-survey".into(),
            template_version: None,
            inspector: ME.into(),
            role: None,
        })
        .expect("start");
    assert!(store
        .inspection(&id.to_string())
        .expect("d")
        .review
        .is_none());
    assert_eq!(
        serde_json::to_value(store.inspection(&id.to_string()).expect("d")).expect("json")
            ["review"],
        Value::Null
    );
    let applied = store
        .apply_pull_page(&page(
            vec![(
                ChangeKind::Review,
                "r",
                review(
                    id,
                    "has_issues",
                    Some("照片未显示除尘器铭牌"),
                    "2026-03-03T02:00:00Z",
                ),
            )],
            "1",
        ))
        .expect("page");
    assert_eq!(applied.reviews, 1);
    let r = store
        .inspection_review(&id.to_string())
        .expect("review")
        .expect("reviewed");
    assert_eq!(r.state, ReviewState::HasIssues);
    let history = store
        .inspection_list(None, &uscc("0000001"))
        .expect("history");
    assert_eq!(history[0].review_state, Some(ReviewState::HasIssues));
    assert_eq!(
        serde_json::to_value(store.inspection(&id.to_string()).expect("d")).expect("json")
            ["review"],
        json!({"state": "has_issues", "comment": "照片未显示除尘器铭牌",
               "reviewer": "officer-li", "at": "2026-03-03T02:00:00Z"})
    );
    // The officer approves it later; a replayed older review changes nothing.
    store
        .apply_pull_page(&page(
            vec![
                (
                    ChangeKind::Review,
                    "r",
                    review(id, "approved", None, "2026-03-04T02:00:00Z"),
                ),
                (
                    ChangeKind::Review,
                    "r",
                    review(id, "rejected", Some("旧"), "2026-03-02T02:00:00Z"),
                ),
            ],
            "2",
        ))
        .expect("page 2");
    let r = store
        .inspection(&id.to_string())
        .expect("d")
        .review
        .expect("reviewed");
    assert_eq!((r.state, r.comment), (ReviewState::Approved, None));
    // A review of another phone's inspection is kept too (by inspection id).
    let elsewhere = Uuid::now_v7();
    store
        .apply_pull_page(&page(
            vec![(
                ChangeKind::Review,
                "r",
                review(
                    elsewhere,
                    "rejected",
                    Some("无现场照片"),
                    "2026-03-04T02:00:00Z",
                ),
            )],
            "3",
        ))
        .expect("page 3");
    assert_eq!(
        store
            .inspection_review(&elsewhere.to_string())
            .expect("r")
            .map(|r| r.state),
        Some(ReviewState::Rejected)
    );
    assert!(store.inspection_review("not-a-uuid").is_err());
}

#[test]
fn upgrading_to_assignments_pulls_again_from_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v10.db");
    {
        let old = Store::open_at_version(&path, 10).expect("v10");
        old.connection()
            .execute(
                "INSERT INTO device_meta (key, value) VALUES ('sync.pull_cursor', '42')",
                [],
            )
            .expect("cursor");
    }
    let store = Store::open(&path).expect("upgrade");
    assert_eq!(store.schema_version().expect("v"), latest_version());
    assert_eq!(
        store.pull_cursor().expect("cursor"),
        "",
        "assignments and reviews sent only to protocol-3 phones are pulled"
    );
}

/// A tip's verification (a grid worker's template) assigned to an expert: the expert may
/// run it on that enterprise, and only there; a draft started under the assignment is
/// finalized even after the officer cancelled it.
#[test]
fn an_assignment_lets_its_assignee_run_its_template_whatever_the_templates_role() {
    let (dir, store) = store_with_enterprise();
    let csv = write(
        dir.path(),
        "more.csv",
        &format!(
            "{HEADER}\n金坛木业有限公司,{},{VILLAGE},,,,,木粉,8,\n",
            uscc("0000002")
        ),
    );
    store.import_enterprises(&csv).expect("import");
    const EXPERT: &str = "expert-wang";
    enroll(&store, EXPERT, gridwalk_protocol::Role::Expert);
    let tip_verification = |id: Uuid, serial: &str, assignee: &str, status: &str, at: &str| {
        let mut a = assignment(id, serial, assignee, &day(5), status, at);
        a["template_id"] = json!("tip-verification");
        a
    };
    let start = |serial: &str| {
        store.start_inspection(&StartInspection {
            enterprise: uscc(serial),
            template_id: "tip-verification".into(),
            template_version: None,
            inspector: "王专家".into(),
            role: Some("expert".into()),
        })
    };
    let refused = |r: Result<Uuid, gridwalk_device::inspection::InspectionError>| {
        matches!(
            r,
            Err(gridwalk_device::inspection::InspectionError::RoleNotAllowed { .. })
        )
    };
    assert!(refused(start("0000001")), "no assignment: refused");
    let (mine, theirs) = (Uuid::now_v7(), Uuid::now_v7());
    store
        .apply_pull_page(&page(
            vec![
                (
                    ChangeKind::Assignment,
                    "a",
                    tip_verification(mine, "0000001", EXPERT, "open", "2026-03-01T02:00:00Z"),
                ),
                (
                    ChangeKind::Assignment,
                    "b",
                    tip_verification(
                        theirs,
                        "0000002",
                        "grid-two",
                        "open",
                        "2026-03-01T02:00:00Z",
                    ),
                ),
            ],
            "1",
        ))
        .expect("page");
    assert!(
        refused(start("0000002")),
        "another user's assignment gives this user nothing"
    );
    let id = start("0000001").expect("the assignee starts the assigned template");
    let id = id.to_string();
    for (item, v) in [
        ("TV-01", "unsubstantiated"),
        ("TV-02", "现场未见粉尘作业，举报内容不属实"),
        ("TV-04", "no"),
        ("TV-05", "no"),
    ] {
        store.answer(&id, item, v, None).expect(item);
    }
    store
        .apply_pull_page(&page(
            vec![(
                ChangeKind::Assignment,
                "c",
                tip_verification(mine, "0000001", EXPERT, "cancelled", "2026-03-02T02:00:00Z"),
            )],
            "2",
        ))
        .expect("page");
    assert!(
        refused(start("0000001")),
        "a cancelled assignment starts nothing new"
    );
    store
        .finalize_inspection(&id, &gridwalk_checklist::hazard::DeadlinePolicy::default())
        .expect("the draft started under the assignment is finalized");
}
