//! Issue 11's end-to-end test, with the real binaries on SQLite and on PostgreSQL: the
//! register and the campaign imported; an officer assigns a visit; two phones inspect
//! and edit one hazard offline (one sets the 五定, both start the rectification); after
//! sync both phones and the server hold the same hazard state with the same event kept
//! and marked; the officer lists the hazard for supervision and reviews the inspection
//! over REST; coverage, the hazard list, the review list and the supervision sample
//! answer alike from the CLI and the API; projections rebuild to the same rows.

use gridwalk_system_tests::bins::workspace;
use gridwalk_system_tests::device::Device;
use gridwalk_system_tests::fixtures::{uscc, EXPERT, TOWN};
use gridwalk_system_tests::{inspections_with_major_hazard, sync_until_done, World};
use serde_json::{json, Value};

const SECOND_EXPERT: &str = "周专家";
const OFFICER: &str = "赵科长";
const PASSWORD: &str = "金坛-督查-2026-12";

fn parse(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn day(offset: i64) -> String {
    // China's date: the server judges due dates and deadlines in UTC+8.
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

struct Api {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl Api {
    fn login(base: String) -> Api {
        let http = reqwest::blocking::Client::new();
        let v: Value = http
            .post(format!("{base}/v1/login"))
            .json(&json!({"user_name": OFFICER, "password": PASSWORD}))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("login");
        Api {
            token: v["token"].as_str().expect("token").to_string(),
            base,
            http,
        }
    }

    fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .expect("get");
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().expect("json")
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .expect("post");
        let status = r.status();
        let v: Value = r.json().expect("json");
        assert_eq!(status, 200, "POST {path}: {v}");
        v
    }
}

fn sync(d: &Device) {
    sync_until_done(d, &["--backoff-ms", "50"], 4);
}

/// `hazards show ID --json` as (state, events).
fn hazard_on(d: &Device, id: &str) -> (Value, Vec<Value>) {
    let v = d.json(&["hazards", "show", id]);
    (
        v["detail"].clone(),
        v["events"].as_array().cloned().unwrap_or_default(),
    )
}

fn skipped(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| !e["skipped_reason"].is_null())
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or("").to_string(),
                e["kind"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn scenario(database_url: Option<String>) {
    let w = World::new_on(2, database_url);
    let s = &w.server;
    let file = workspace().join("crates/gridwalk-server/campaigns/changzhou-2024-dust-100day.json");
    s.admin(&["campaigns", "import", file.to_str().expect("utf-8 path")]);
    let year = chrono::Utc::now().format("%Y").to_string();
    s.admin(&[
        "campaigns",
        "copy",
        "--from",
        "changzhou-2024-dust-100day",
        "--year",
        &year,
    ]);
    let campaign = format!("changzhou-{year}-dust-100day");
    s.admin(&[
        "admin",
        "create-user",
        "--name",
        SECOND_EXPERT,
        "--role",
        "expert",
        "--jurisdiction",
        TOWN,
    ]);
    s.create_officer(OFFICER, "officer", TOWN, PASSWORD);

    // The officer assigns the visit before anyone goes.
    let made = parse(&s.admin(&[
        "assign",
        "--user",
        EXPERT,
        "--enterprise",
        &uscc(1),
        "--template",
        "expert-major-hazard",
        "--due",
        &day(7),
        "--note",
        "百日攻坚专家检查",
        "--json",
    ]));
    let assignment = made["created"][0]["id"]
        .as_str()
        .expect("assignment")
        .to_string();

    // Two phones: the assigned expert's and a second expert's.
    let a = &w.device;
    w.enroll(&s.url());
    let b = Device::new(&w.tmp.path().join("second"), 2);
    let code = s.admin(&["admin", "enrollment-code", "--user", SECOND_EXPERT]);
    b.enroll(&s.url(), code.lines().last().expect("code").trim());
    sync(a);
    let todo = a.json(&["assignments"]);
    assert_eq!(todo.as_array().map(Vec::len), Some(1), "{todo}");
    assert_eq!(todo[0]["id"], assignment.as_str());
    assert_eq!(todo[0]["template_id"], "expert-major-hazard");
    assert!(b
        .json(&["assignments"])
        .as_array()
        .is_some_and(Vec::is_empty));

    // Phone A visits offline and finds a major hazard; the sync fulfils the assignment.
    let (dust_inspection, expert_inspection) = inspections_with_major_hazard(a, 1);
    let hazard = a
        .hazards()
        .into_iter()
        .find(|h| h["inspection_id"] == expert_inspection.as_str())
        .and_then(|h| h["id"].as_str().map(str::to_string))
        .expect("hazard");
    sync(a);
    let done = parse(&s.admin(&[
        "assignments",
        "list",
        "--division",
        TOWN,
        "--status",
        "fulfilled",
        "--json",
    ]));
    assert_eq!(done[0]["id"], assignment.as_str(), "{done}");
    assert_eq!(done[0]["fulfilled_by"], expert_inspection.as_str());
    sync(&b);
    assert_eq!(hazard_on(&b, &hazard).0["status"], "assigned");
    // The dust type A's expert confirmed reaches B with the register row: who, when,
    // from which inspection, and the process facts that decide which items apply.
    let status = b.json(&["inspect", "status", &uscc(1)]);
    assert_eq!(
        status["dust_confirmed"]["inspection_id"],
        dust_inspection.as_str(),
        "{status}"
    );
    assert_eq!(
        status["dust_confirmed"],
        a.json(&["inspect", "status", &uscc(1)])["dust_confirmed"]
    );
    assert!(!status["dust_facts"].is_null(), "{status}");

    // Both phones edit the hazard offline: A sets the 五定 and starts the rectification,
    // B starts it too, later. In the merged order B's start is not legal.
    a.ok(&[
        "hazards",
        "plan",
        &hazard,
        "--measures",
        "除尘器加装泄爆片，更换防爆电机",
        "--responsible",
        "张三（设备科）",
        "--funds-yuan",
        "30000",
        "--deadline",
        &day(30),
        "--interim",
        "停用3号除尘器，每班清扫积尘",
        "--actor",
        EXPERT,
    ]);
    a.ok(&["hazards", "start", &hazard, "--actor", EXPERT]);
    b.ok(&["hazards", "start", &hazard, "--actor", SECOND_EXPERT]);
    sync(a);
    sync(&b);
    sync(a);
    let (state_a, events_a) = hazard_on(a, &hazard);
    let (state_b, events_b) = hazard_on(&b, &hazard);
    assert_eq!(state_a, state_b, "both phones fold the same state");
    assert_eq!(state_a["status"], "rectifying");
    assert_eq!(state_a["plan"]["funds_yuan"], 30000);
    assert_eq!(state_a["deadline"], day(30).as_str());
    let marked = vec![(
        SECOND_EXPERT.to_string(),
        "rectification_started".to_string(),
    )];
    assert_eq!(skipped(&events_a), marked);
    assert_eq!(skipped(&events_b), marked);

    // The server agrees, from the CLI and from the API.
    let listed = parse(&s.admin(&["hazards", "list", "--division", TOWN, "--json"]));
    let item = listed
        .as_array()
        .and_then(|l| l.iter().find(|h| h["id"] == hazard.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        (
            item["status"].as_str(),
            item["overdue"].as_bool(),
            item["skipped_events"].as_u64()
        ),
        (Some("rectifying"), Some(false), Some(1)),
        "{item}"
    );
    assert_eq!(item["plan"]["responsible"], "张三（设备科）");
    let overdue = parse(&s.admin(&["hazards", "list", "--division", TOWN, "--overdue", "--json"]));
    assert_eq!(overdue.as_array().map(Vec::len), Some(0), "{overdue}");
    let api = Api::login(s.url());
    let from_api = api.get(&format!("/v1/hazards?division={TOWN}"));
    assert_eq!(
        from_api, listed,
        "the CLI and the API list the same hazards"
    );
    let detail = api.get(&format!("/v1/hazards/{hazard}"));
    assert_eq!(
        detail["state"], state_a,
        "the server folds what the phones fold"
    );

    // The officer lists it for supervision (挂牌督办) and reviews the inspection.
    api.post(
        &format!("/v1/hazards/{hazard}/events"),
        json!({"kind": "listed_supervision", "notice_no": "金安督〔2026〕12号",
            "supervising_body": "金坛区安委办", "deadline": day(20)}),
    );
    api.post(
        &format!("/v1/inspections/{expert_inspection}/review"),
        json!({"state": "has_issues", "comment": "泄爆口照片不清晰，请复查时补拍"}),
    );
    // …and, from the CLI, extends the deadline and approves the dust verification.
    s.admin(&[
        "hazards",
        "act",
        "--hazard",
        &hazard,
        "--as",
        OFFICER,
        "extend",
        "--deadline",
        &day(40),
        "--reason",
        "防爆电机采购周期",
    ]);
    s.admin(&[
        "review",
        "--inspection",
        &dust_inspection,
        "--state",
        "approved",
        "--as",
        OFFICER,
    ]);
    sync(a);
    sync(&b);
    let (state_a, events) = hazard_on(a, &hazard);
    assert_eq!(state_a, hazard_on(&b, &hazard).0);
    assert_eq!(state_a["listed"]["notice_no"], "金安督〔2026〕12号");
    assert_eq!(state_a["deadline"], day(40).as_str());
    let officers: Vec<&str> = events
        .iter()
        .filter(|e| e["actor"] == OFFICER)
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(officers, ["listed_supervision", "deadline_extended"]);
    let shown = a.json(&["inspect", "show", &expert_inspection]);
    assert_eq!(
        shown["review"]["state"], "has_issues",
        "{}",
        shown["review"]
    );
    assert_eq!(shown["review"]["reviewer"], OFFICER);
    let dust = a.json(&["inspect", "show", &dust_inspection]);
    assert_eq!(dust["review"]["state"], "approved", "{}", dust["review"]);
    let reviewed = parse(&s.admin(&[
        "inspections",
        "list",
        "--division",
        TOWN,
        "--review",
        "has_issues",
        "--json",
    ]));
    assert_eq!(reviewed.as_array().map(Vec::len), Some(1), "{reviewed}");
    assert_eq!(
        api.get(&format!(
            "/v1/inspections?division={TOWN}&review=has_issues"
        )),
        reviewed
    );

    // Coverage: the expert check is done for enterprise 1 of 2, alike from both.
    let cov = parse(&s.admin(&[
        "coverage",
        "--division",
        TOWN,
        "--campaign",
        &campaign,
        "--json",
    ]));
    let cov_api = api.get(&format!("/v1/coverage?division={TOWN}&campaign={campaign}"));
    let expert_check = |c: &Value| {
        c["duties"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["duty_id"] == "expert-check"))
            .map(|d| (d["applicable"].clone(), d["done"].clone()))
    };
    assert_eq!(expert_check(&cov), Some((json!(2), json!(1))), "{cov}");
    assert_eq!(expert_check(&cov_api), expert_check(&cov));

    // The supervision sample: the same for the same seed, from the CLI and the API.
    let sample = parse(&s.admin(&["sample", "--division", TOWN, "--seed", "20261207", "--json"]));
    let again = api.post(
        "/v1/samples",
        json!({"division": TOWN, "seed": 20261207u64}),
    );
    assert_eq!(again, sample);
    let drawn: Vec<&str> = sample["enterprises"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["uscc"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(drawn.len(), 2, "both polishers are dust-involved: {sample}");
    assert!(!sample["shortfalls_zh"]
        .as_array()
        .is_some_and(Vec::is_empty));

    let rebuilt = parse(&s.admin(&["projections", "rebuild"]));
    assert_eq!(rebuilt["changed"], false, "{rebuilt}");
}

#[test]
fn assign_inspect_on_two_phones_converge_review_and_sample_on_sqlite() {
    scenario(None);
}

#[test]
fn assign_inspect_on_two_phones_converge_review_and_sample_on_postgres() {
    let Some(url) = gridwalk_system_tests::pg::throwaway_database() else {
        return;
    };
    scenario(Some(url));
}
