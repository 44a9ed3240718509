//! Tip-offs end to end with the real binaries (docs/tips.md), on SQLite and on
//! PostgreSQL: an officer records a 12350 tip over REST; the grid worker's phone pulls
//! the verification assignment (and nothing of the reporter); the phone runs the
//! `tip-verification` checklist offline with a photo and syncs; the tip is 属实, the
//! summary counts it verified, the xlsx ledger has its row, and `projections rebuild`
//! changes nothing.

use calamine::{open_workbook, Data, Reader, Xlsx};
use gridwalk_system_tests::device::Device;
use gridwalk_system_tests::fixtures::{corpus_photo, uscc, TOWN, VILLAGE};
use gridwalk_system_tests::{sync_until_done, World};
use serde_json::{json, Value};

const GRID_WORKER: &str = "王网格";
const OFFICER: &str = "孙科长";
const PASSWORD: &str = "金坛-举报-2026-12";
const REPORTER_PHONE: &str = "13861234567";

fn parse(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn day(offset: i64) -> String {
    // China's date: the server judges deadlines in UTC+8.
    (chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// A server with the grid worker and a signed-in town officer: the world, the
/// officer's token and an HTTP client.
fn setup(database_url: Option<String>) -> (World, String, reqwest::blocking::Client) {
    let w = World::new_on(2, database_url);
    let s = &w.server;
    s.admin(&[
        "admin",
        "create-user",
        "--name",
        GRID_WORKER,
        "--role",
        "grid_worker",
        "--jurisdiction",
        VILLAGE,
    ]);
    s.create_officer(OFFICER, "officer", TOWN, PASSWORD);
    let http = reqwest::blocking::Client::new();
    let login: Value = http
        .post(format!("{}/v1/login", s.url()))
        .json(&json!({"user_name": OFFICER, "password": PASSWORD}))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("login");
    let token = login["token"].as_str().expect("token").to_string();
    (w, token, http)
}

/// The grid worker's phone, enrolled and synced.
fn grid_phone(w: &World) -> Device {
    w.phone_of(GRID_WORKER, 2)
}

/// Runs the `tip-verification` checklist on `uscc` offline (属实, a photo) and syncs;
/// returns the inspection id.
fn verify_on_phone(phone: &Device, uscc: &str) -> String {
    let inspection = phone.start(uscc, "tip-verification", GRID_WORKER, None);
    for (item, v) in [
        ("TV-01", "属实"),
        ("TV-02", "抛光车间22时仍在生产，集尘桶满溢，地面积尘约3毫米"),
        ("TV-04", "是"),
        ("TV-05", "否"),
    ] {
        phone.ok(&["inspect", "answer", &inspection, item, v]);
    }
    phone.ok(&[
        "inspect",
        "photo",
        &inspection,
        "TV-03",
        corpus_photo("gps__DSCN0010.jpg")
            .to_str()
            .expect("utf-8 path"),
    ]);
    phone.ok(&["inspect", "finalize", &inspection]);
    sync_until_done(phone, &["--backoff-ms", "50"], 4);
    inspection
}

/// A GET with the officer's token, as JSON.
fn get(w: &World, http: &reqwest::blocking::Client, token: &str, path: &str) -> Value {
    http.get(format!("{}{path}", w.server.url()))
        .bearer_auth(token)
        .send()
        .and_then(|r| r.json())
        .expect(path)
}

fn scenario(database_url: Option<String>) {
    let (w, token, http) = setup(database_url);
    let s = &w.server;
    // The officer records the tip from the hotline.
    let resp = http
        .post(format!("{}/v1/tips", s.url()))
        .bearer_auth(&token)
        .json(&json!({
            "source": "hotline_12350",
            "content": "来电反映抛光车间夜间生产，集尘桶积尘无人清理",
            "enterprise_uscc": uscc(1),
            "received_on": day(0),
            "deadline": day(3),
            "assignee": GRID_WORKER,
            "reporter_name": "匿名群众",
            "reporter_contact": REPORTER_PHONE,
        }))
        .send()
        .expect("record tip");
    let status = resp.status();
    let tip: Value = resp.json().expect("json");
    assert_eq!(status, 200, "{tip}");
    let id = tip["id"].as_str().expect("tip id").to_string();

    // The grid worker's phone pulls the verification; nothing of the reporter.
    let phone = grid_phone(&w);
    let todo = phone.json(&["assignments"]);
    assert_eq!(todo.as_array().map(Vec::len), Some(1), "{todo}");
    assert_eq!(todo[0]["template_id"], "tip-verification");
    assert_eq!(todo[0]["id"], tip["assignment_id"]);
    let device_db = phone.decrypted_bytes();
    // (The copy is readable: the enterprise the tip names is in it.)
    assert!(String::from_utf8_lossy(&device_db).contains(&uscc(1)));
    assert!(
        !String::from_utf8_lossy(&device_db).contains(REPORTER_PHONE),
        "the phone's database holds the reporter"
    );

    // Offline on site: 属实, what was found, a photo as evidence.
    let inspection = verify_on_phone(&phone, &uscc(1));

    // The server: verified, 属实, counted; the same from the CLI and the API.
    let listed = parse(&s.admin(&["tips", "list", "--division", TOWN, "--json"]));
    let row = listed
        .as_array()
        .and_then(|l| l.iter().find(|t| t["id"] == id.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        (&row["status"], &row["outcome"], &row["verified_by"]),
        (
            &json!("verified"),
            &json!("substantiated"),
            &json!(inspection)
        ),
        "{row}"
    );
    assert!(!listed.to_string().contains(REPORTER_PHONE));
    let from_api = get(&w, &http, &token, &format!("/v1/tips/{id}"));
    assert_eq!(from_api["outcome"], "substantiated", "{from_api}");
    assert_eq!(
        from_api["reporter_visible"], true,
        "the recorder may read it"
    );
    let summary = get(
        &w,
        &http,
        &token,
        &format!("/v1/tips/summary?division={TOWN}"),
    );
    assert_eq!(
        (
            &summary["received"],
            &summary["verified"],
            &summary["pending"]
        ),
        (&json!(1), &json!(1), &json!(0)),
        "{summary}"
    );
    assert_eq!(
        parse(&s.admin(&["tips", "summary", "--division", TOWN, "--json"])),
        summary,
        "the CLI and the API count alike"
    );

    // The ledger: the tip's row, no reporter anywhere.
    let out = w.tmp.path().join("tips.xlsx");
    s.admin(&[
        "export",
        "tips",
        "--division",
        TOWN,
        "--format",
        "xlsx",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let mut wb: Xlsx<_> = open_workbook(&out).expect("open xlsx");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("sheet");
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    assert!(cells[0][0].starts_with("举报核查台账"), "{:?}", cells[0]);
    let header = &cells[1];
    let col = |n: &str| header.iter().position(|c| c == n).expect(n);
    let data: Vec<&Vec<String>> = cells[2..].iter().filter(|r| r[0] == "1").collect();
    assert_eq!(data.len(), 1, "{cells:?}");
    assert_eq!(data[0][col("核查结论")], "属实");
    assert_eq!(data[0][col("核查人")], GRID_WORKER);
    assert_eq!(data[0][col("统一社会信用代码")], uscc(1));
    assert!(!format!("{cells:?}").contains(REPORTER_PHONE));

    let rebuilt = parse(&s.admin(&["projections", "rebuild"]));
    assert_eq!(rebuilt["changed"], false, "{rebuilt}");
}

/// 疑似 (suspected) enterprises: two address-only tips in the village reach the grid
/// worker's phone as 疑似 entries (never the reporter); offline, the device CLI confirms
/// one with the USCC found and finds nothing at the other; after the sync the first tip
/// is linked to the unit (registered on site) and assigned to the grid worker, whose
/// phone pulls the verification and runs it; the second is 不属实; both are counted and
/// in the ledger, and `projections rebuild` changes nothing.
fn suspected_scenario(database_url: Option<String>) {
    let (w, token, http) = setup(database_url);
    let s = &w.server;
    let found = uscc(777);
    let mut tips = Vec::new();
    for (name, address) in [
        ("无名铝件作坊", "西城街道河滨路8号"),
        ("某木器加工点", "西城街道河滨路12号后院"),
    ] {
        let resp = http
            .post(format!("{}/v1/tips", s.url()))
            .bearer_auth(&token)
            .json(&json!({
                "source": "hotline_12350",
                "content": format!("来电反映{address}有作坊夜间打磨，粉尘很大"),
                "address": address,
                "division": VILLAGE,
                "reported_name": name,
                "received_on": day(0),
                "deadline": day(3),
                "reporter_name": "匿名群众",
                "reporter_contact": REPORTER_PHONE,
            }))
            .send()
            .expect("record tip");
        let tip: Value = resp.json().expect("json");
        assert_eq!(tip["status"], "unassigned", "{tip}");
        assert_eq!(tip["suspected"]["state"], "open", "{tip}");
        tips.push(tip);
    }
    let phone = grid_phone(&w);
    let listed = phone.json(&["suspected", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert!(
        !String::from_utf8_lossy(&phone.decrypted_bytes()).contains(REPORTER_PHONE),
        "the phone's database holds the reporter"
    );
    let entry = |i: usize| {
        tips[i]["suspected"]["id"]
            .as_str()
            .expect("entry")
            .to_string()
    };

    // Offline: the licence on the wall of the first, nothing at the second.
    let bad = phone.run(&[
        "suspected",
        "confirm",
        &entry(0),
        "--uscc",
        "91320413MA1XY0077X",
        "--name",
        "x",
    ]);
    assert!(!bad.status.success(), "a wrong check character is refused");
    phone.ok(&[
        "suspected",
        "confirm",
        &entry(0),
        "--uscc",
        &found,
        "--name",
        "金坛区河滨恒达铝制品厂",
        "--industry",
        "金属制品",
    ]);
    phone.ok(&[
        "suspected",
        "not-found",
        &entry(1),
        "--note",
        "该地址为空置厂房，周边无人生产",
    ]);
    assert_eq!(phone.json(&["suspected", "list"]), json!([]));
    sync_until_done(&phone, &["--backoff-ms", "50"], 4);

    let first = get(
        &w,
        &http,
        &token,
        &format!("/v1/tips/{}", tips[0]["id"].as_str().expect("id")),
    );
    assert_eq!(
        (
            &first["status"],
            &first["enterprise_uscc"],
            &first["assignee"]
        ),
        (&json!("verifying"), &json!(found), &json!(GRID_WORKER)),
        "{first}"
    );
    assert_eq!(first["suspected"]["state"], "confirmed", "{first}");
    assert_eq!(first["deadline"], day(3), "the deadline is kept");
    let second = get(
        &w,
        &http,
        &token,
        &format!("/v1/tips/{}", tips[1]["id"].as_str().expect("id")),
    );
    assert_eq!(
        (
            &second["status"],
            &second["outcome"],
            &second["suspected"]["state"]
        ),
        (
            &json!("verified"),
            &json!("unsubstantiated"),
            &json!("not_found")
        ),
        "{second}"
    );

    // The phone pulls the verification of the unit it registered, and runs it.
    sync_until_done(&phone, &["--backoff-ms", "50"], 4);
    let todo = phone.json(&["assignments"]);
    assert_eq!(todo.as_array().map(Vec::len), Some(1), "{todo}");
    assert_eq!(todo[0]["id"], first["assignment_id"], "{todo}");
    let inspection = verify_on_phone(&phone, &found);
    let first = get(
        &w,
        &http,
        &token,
        &format!("/v1/tips/{}", tips[0]["id"].as_str().expect("id")),
    );
    assert_eq!(
        (&first["status"], &first["outcome"], &first["verified_by"]),
        (
            &json!("verified"),
            &json!("substantiated"),
            &json!(inspection)
        ),
        "{first}"
    );
    let summary = get(
        &w,
        &http,
        &token,
        &format!("/v1/tips/summary?division={TOWN}"),
    );
    assert_eq!(
        (
            &summary["received"],
            &summary["verified"],
            &summary["substantiated"],
            &summary["pending"]
        ),
        (&json!(2), &json!(2), &json!(1), &json!(0)),
        "{summary}"
    );
    let listed = parse(&s.admin(&["tips", "list", "--division", TOWN, "--json"]));
    assert!(!listed.to_string().contains(REPORTER_PHONE));
    let rebuilt = parse(&s.admin(&["projections", "rebuild"]));
    assert_eq!(rebuilt["changed"], false, "{rebuilt}");
}

#[test]
fn a_suspected_enterprise_is_confirmed_or_not_found_by_the_sweep_on_sqlite() {
    suspected_scenario(None);
}

#[test]
fn a_suspected_enterprise_is_confirmed_or_not_found_by_the_sweep_on_postgres() {
    let Some(url) = gridwalk_system_tests::pg::throwaway_database() else {
        return;
    };
    suspected_scenario(Some(url));
}

#[test]
fn a_tip_is_verified_on_the_phone_and_counted_on_sqlite() {
    scenario(None);
}

#[test]
fn a_tip_is_verified_on_the_phone_and_counted_on_postgres() {
    let Some(url) = gridwalk_system_tests::pg::throwaway_database() else {
        return;
    };
    scenario(Some(url));
}
