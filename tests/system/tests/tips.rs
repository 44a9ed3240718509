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

fn scenario(database_url: Option<String>) {
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
    let phone = Device::new(&w.tmp.path().join("grid"), 2);
    let code = s.admin(&["admin", "enrollment-code", "--user", GRID_WORKER]);
    phone.enroll(&s.url(), code.lines().last().expect("code").trim());
    sync_until_done(&phone, &["--backoff-ms", "50"], 4);
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
    let inspection = phone.start(&uscc(1), "tip-verification", GRID_WORKER, None);
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
    sync_until_done(&phone, &["--backoff-ms", "50"], 4);

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
    let from_api: Value = http
        .get(format!("{}/v1/tips/{id}", s.url()))
        .bearer_auth(&token)
        .send()
        .and_then(|r| r.json())
        .expect("tip");
    assert_eq!(from_api["outcome"], "substantiated", "{from_api}");
    assert_eq!(
        from_api["reporter_visible"], true,
        "the recorder may read it"
    );
    let summary: Value = http
        .get(format!("{}/v1/tips/summary?division={TOWN}", s.url()))
        .bearer_auth(&token)
        .send()
        .and_then(|r| r.json())
        .expect("summary");
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
