//! The CLI contract of the officers' work on the phone (protocol 3) against the real
//! binary and a real database: `assignments [--all]`, the review in `inspect show`,
//! `hazards plan` (五定) and the skipped events of `hazards show`. What the server
//! would send is applied as a pull page built by hand.

use gridwalk_device::inspection::Uuid;
use gridwalk_protocol::ChangeKind;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

fn gridwalk(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridwalk"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("GRIDWALK_USER")
        .output()
        .expect("run gridwalk")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let o = gridwalk(db, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json_of(db: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(db, &a)).expect("json")
}

/// `{"code","message"}` of a refused command (exit 1).
fn refused(db: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let o = gridwalk(db, &a);
    assert_eq!(o.status.code(), Some(1), "{args:?} should fail");
    serde_json::from_slice(&o.stderr).expect("error json")
}

fn uscc(serial: &str) -> String {
    gridwalk_core::Uscc::with_check_char(&format!("91320413MA{serial}"))
        .expect("valid")
        .to_string()
}

const VILLAGE: &str = "320413001001";
const ME: &str = "grid-one";

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("device.db");
    ok(&db, &["init"]);
    let divisions = testdata().join("divisions/jintan.csv");
    ok(
        &db,
        &["divisions", "import", divisions.to_str().expect("utf8")],
    );
    let csv = dir.path().join("e.csv");
    std::fs::write(
        &csv,
        format!(
            "name,uscc,village_code,dust_types,workers_per_shift\n\
             金坛铝业抛光有限公司,{},{VILLAGE},铝粉,20\n",
            uscc("0000001")
        ),
    )
    .expect("csv");
    ok(&db, &["enterprises", "import", csv.to_str().expect("utf8")]);
    (dir, db)
}

fn enroll(db: &Path) {
    let store = gridwalk_device::Store::open(db).expect("open");
    store
        .save_enrollment(
            "https://gw.example.cn",
            &gridwalk_protocol::EnrollResponse {
                device_id: Uuid::now_v7(),
                token: "t".into(),
                user: gridwalk_protocol::EnrolledUser {
                    name: ME.into(),
                    role: gridwalk_protocol::Role::GridWorker,
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

/// Applies `(kind, body)` changes as one pulled page.
fn pull(db: &Path, changes: Vec<(ChangeKind, Value)>, next: &str) {
    let store = gridwalk_device::Store::open(db).expect("open");
    let page = gridwalk_protocol::PullPage {
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, (kind, body))| gridwalk_protocol::Change {
                cursor: (i + 1).to_string(),
                kind,
                key: format!("k{i}"),
                body,
            })
            .collect(),
        next_cursor: next.into(),
        has_more: false,
    };
    store.apply_pull_page(&page).expect("page");
}

fn day(offset: i64) -> String {
    let today = gridwalk_device::inspection::checklist::hazard::china_date(chrono::Utc::now());
    (today + chrono::Duration::days(offset)).to_string()
}

fn assignment(id: Uuid, serial: &str, assignee: &str, due: &str, status: &str) -> Value {
    let u = uscc(serial);
    let enterprise =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&u).expect("uscc"));
    json!({
        "id": id, "enterprise_id": enterprise, "enterprise_uscc": u,
        "division_code": VILLAGE, "assignee": assignee, "template_id": "grid-survey",
        "due": due, "note": "复核积尘清扫", "status": status, "assigned_by": "officer-li",
        "created_at": "2026-03-01T01:00:00Z", "updated_at": "2026-03-01T01:00:00Z",
        "fulfilled_by": null, "sample_id": null
    })
}

#[test]
fn assignments_list_the_enrolled_users_open_ones_with_overdue_and_enterprise_name() {
    let (_dir, db) = setup();
    // Not enrolled: nobody's assignments to list.
    assert_eq!(refused(&db, &["assignments"])["code"], "sync.not_enrolled");
    enroll(&db);
    assert!(ok(&db, &["assignments"]).contains("no open assignments"));
    let (overdue, later, done) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    pull(
        &db,
        vec![
            (
                ChangeKind::Assignment,
                assignment(later, "0000002", ME, &day(5), "open"),
            ),
            (
                ChangeKind::Assignment,
                assignment(overdue, "0000001", ME, &day(-2), "open"),
            ),
            (
                ChangeKind::Assignment,
                assignment(done, "0000001", ME, &day(-9), "fulfilled"),
            ),
            (
                ChangeKind::Assignment,
                assignment(Uuid::now_v7(), "0000001", "grid-two", &day(1), "open"),
            ),
        ],
        "1",
    );
    let list = json_of(&db, &["assignments"]);
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], json!(overdue));
    assert_eq!(list[0]["overdue"], true);
    assert_eq!(list[0]["enterprise_name"], "金坛铝业抛光有限公司");
    assert_eq!(list[0]["due"], day(-2));
    assert_eq!(list[0]["status"], "open");
    assert_eq!(list[0]["template_id"], "grid-survey");
    assert_eq!(list[0]["note"], "复核积尘清扫");
    assert_eq!(list[0]["assignee"], ME);
    assert_eq!(list[1]["id"], json!(later));
    assert_eq!(list[1]["overdue"], false);
    assert_eq!(list[1]["enterprise_name"], Value::Null);
    let all = json_of(&db, &["assignments", "--all"]);
    let all: Vec<&Value> = all.as_array().expect("array").iter().collect();
    assert_eq!(
        all.iter().map(|a| a["id"].clone()).collect::<Vec<_>>(),
        vec![json!(overdue), json!(later), json!(done)]
    );
    let text = ok(&db, &["assignments"]);
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains("逾期") && l.contains("金坛铝业抛光有限公司")),
        "{text}"
    );
}

#[test]
fn inspect_show_carries_the_review_and_hazards_plan_sets_the_five_fixes() {
    let (_dir, db) = setup();
    let id = ok(
        &db,
        &[
            "inspect",
            "start",
            "--enterprise",
            &uscc("0000001"),
            "--template",
            "grid-survey",
            "--inspector",
            ME,
        ],
    );
    let id = id.trim().to_string();
    assert_eq!(
        json_of(&db, &["inspect", "show", &id])["review"],
        Value::Null
    );
    let inspection: Uuid = id.parse().expect("uuid");
    pull(
        &db,
        vec![(
            ChangeKind::Review,
            json!({"inspection_id": inspection, "record_id": inspection, "state": "rejected",
                   "comment": "无现场照片", "reviewer": "officer-li",
                   "at": "2026-03-03T02:00:00Z"}),
        )],
        "1",
    );
    assert_eq!(
        json_of(&db, &["inspect", "show", &id])["review"],
        json!({"state": "rejected", "comment": "无现场照片", "reviewer": "officer-li",
               "at": "2026-03-03T02:00:00Z"})
    );
    assert!(ok(&db, &["inspect", "show", &id]).contains("review: 已驳回 by officer-li"));

    // A hazard from another phone, then 五定 recorded here.
    let hazard = Uuid::now_v7();
    let enterprise = gridwalk_core::ids::enterprise_id(
        &gridwalk_core::Uscc::parse(&uscc("0000001")).expect("uscc"),
    );
    let event = |at: &str, kind: Value| {
        let mut e = json!({"id": Uuid::now_v7(), "hazard_id": hazard, "at": at, "actor": "李专家"});
        for (k, v) in kind.as_object().expect("kind") {
            e[k] = v.clone();
        }
        e
    };
    pull(
        &db,
        vec![
            (
                ChangeKind::HazardEvent,
                event(
                    "2026-03-02T02:00:00Z",
                    json!({"kind": "created", "severity": "major", "enterprise_id": enterprise,
                           "description_zh": "除尘器未设置泄爆装置", "deadline": "2026-06-30"}),
                ),
            ),
            // Not legal where it falls (nobody re-inspected it): kept, skipped.
            (
                ChangeKind::HazardEvent,
                event("2026-03-02T03:00:00Z", json!({"kind": "closed"})),
            ),
        ],
        "2",
    );
    let h = hazard.to_string();
    let s = json_of(
        &db,
        &[
            "hazards",
            "plan",
            &h,
            "--measures",
            "加装泄爆片，更换防爆电机",
            "--responsible",
            "王建国",
            "--funds-yuan",
            "48000",
            "--deadline",
            "2026-05-31",
            "--interim",
            "停用3号除尘器",
            "--actor",
            ME,
        ],
    );
    assert_eq!(s["status"], "found");
    assert_eq!(s["deadline"], "2026-05-31");
    assert_eq!(
        s["plan"],
        json!({"measures": "加装泄爆片，更换防爆电机", "responsible": "王建国",
               "funds_yuan": 48000, "deadline": "2026-05-31", "interim_measures": "停用3号除尘器"})
    );
    let later = [
        "hazards",
        "plan",
        &h,
        "--measures",
        "x",
        "--responsible",
        "y",
        "--deadline",
        "2026-06-01",
        "--interim",
        "z",
    ];
    assert_eq!(refused(&db, &later)["code"], "hazard.plan_deadline_later");
    let mut bad_date = later;
    bad_date[8] = "2026-6-1x";
    assert_eq!(refused(&db, &bad_date)["code"], "hazard.bad_date");
    let mut blank = later;
    blank[4] = " ";
    blank[8] = "2026-05-01";
    assert_eq!(refused(&db, &blank)["code"], "hazard.plan_incomplete");

    let shown = json_of(&db, &["hazards", "show", &h]);
    let events = shown["events"].as_array().expect("events");
    let kinds: Vec<(&str, bool)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["skipped_reason"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![("created", true), ("closed", false), ("plan_set", true)]
    );
    assert!(events.iter().all(|e| e.get("skipped_reason").is_some()));
    assert_eq!(events[2]["actor"], ME);
    assert_eq!(events[2]["funds_yuan"], 48000);
    assert_eq!(shown["detail"]["plan"]["responsible"], "王建国");
    let text = ok(&db, &["hazards", "show", &h]);
    assert!(text.contains("skipped:"), "{text}");
    assert!(text.contains("五定"), "{text}");
}
