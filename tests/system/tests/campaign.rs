//! The campaign on the server, end to end with the real binaries (issue 11, first
//! slices): the shipped 2024 campaign imported and copied to this year with the
//! `gridwalk-server` CLI; a phone inspects offline and syncs; `coverage`, `hazards list`
//! and `projections rebuild` answer from the CLI as scripts read them (`--json`).

use gridwalk_system_tests::bins::workspace;
use gridwalk_system_tests::fixtures::{corpus_photo, uscc, TOWN, VILLAGE};
use gridwalk_system_tests::{inspections_with_major_hazard, sync_until_done, World};

/// Imports the shipped 2024 campaign and copies it to this year with the CLI; the copy's id.
fn this_years_campaign(w: &World) -> String {
    let file = workspace().join("crates/gridwalk-server/campaigns/changzhou-2024-dust-100day.json");
    w.server
        .admin(&["campaigns", "import", file.to_str().expect("utf-8 path")]);
    let year = chrono::Utc::now().format("%Y").to_string();
    w.server.admin(&[
        "campaigns",
        "copy",
        "--from",
        "changzhou-2024-dust-100day",
        "--year",
        &year,
    ]);
    format!("changzhou-{year}-dust-100day")
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn coverage_and_hazards_answer_from_the_cli_after_a_phone_syncs() {
    let w = World::new(2);
    let id = this_years_campaign(&w);
    let listed = json(&w.server.admin(&["campaigns", "list", "--json"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    w.enroll(&w.server.url());
    inspections_with_major_hazard(&w.device, 1);
    // The grid worker's surveys, on the grid worker's phone (the server refuses an
    // expert's): enterprise 1 has its 安全专员, filed its risk report with help on site
    // and its principal was trained; enterprise 2 none of these.
    w.server.admin(&[
        "admin",
        "create-user",
        "--name",
        "王网格",
        "--role",
        "grid_worker",
        "--jurisdiction",
        VILLAGE,
    ]);
    let grid = w.phone_of("王网格", 2);
    grid.grid_survey(
        "王网格",
        &uscc(1),
        &corpus_photo("mobile__jolla.jpg"),
        true,
        "helped_on_site",
        true,
    );
    grid.grid_survey(
        "王网格",
        &uscc(2),
        &corpus_photo("orientation__landscape_1.jpg"),
        false,
        "not_filed",
        false,
    );
    sync_until_done(&w.device, &["--backoff-ms", "50"], 3);
    sync_until_done(&grid, &["--backoff-ms", "50"], 3);

    let cov = json(
        &w.server
            .admin(&["coverage", "--division", TOWN, "--campaign", &id, "--json"]),
    );
    let duty = |id: &str| duty_of(&cov, id);
    // Enterprise 1 had the expert's dust verification and major-hazard inspection and
    // a survey that found everything in order; enterprise 2 only a survey that found
    // nothing in order. Both are Al/Mg polishers with 20 workers a shift.
    for (id, done) in [
        ("census", 2),
        ("expert-check", 1),
        ("risk-report", 1),
        ("training", 1),
        ("safety-officer", 1),
    ] {
        let d = duty(id);
        assert_eq!(
            (d["applicable"].as_u64(), d["done"].as_u64()),
            (Some(2), Some(done)),
            "{id}: {d}"
        );
    }
    // What the surveys found is in the register ledger (粉尘涉爆企业底数台账).
    let rows = register_ledger(&w);
    let row_of = |n: u32| {
        rows.iter()
            .find(|r| r.values().any(|v| *v == uscc(n)))
            .unwrap_or_else(|| panic!("no row for enterprise {n}: {rows:?}"))
    };
    assert_eq!(
        (
            row_of(1)["安全专员"].as_str(),
            row_of(1)["专员电话"].as_str()
        ),
        ("孙安全", "13900001111"),
        "{rows:?}"
    );
    assert_eq!(row_of(1)["风险报告"], "现场帮助填报", "{rows:?}");
    assert_eq!(row_of(2)["风险报告"], "未填报", "{rows:?}");
    // Trained and passed the test (SV-09T): verified, not only attended.
    assert_eq!(row_of(1)["警示教育"], "已考核", "{rows:?}");
    assert_eq!(row_of(2)["警示教育"], "未培训", "{rows:?}");
    assert_eq!(duty("supervision")["done"], 0, "no spot check yet");
    let village = duty("census")["children"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["code"] == VILLAGE))
        .cloned()
        .unwrap_or_else(|| panic!("{cov}"));
    assert_eq!(village["applicable"], 2, "{village}");
    let open = json(&w.server.admin(&[
        "coverage",
        "--division",
        TOWN,
        "--campaign",
        &id,
        "--duty",
        "expert-check",
        "--status",
        "applicable",
        "--json",
    ]));
    let listed: Vec<_> = open
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| (e["uscc"].clone(), e["done"].clone()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        listed,
        [
            (serde_json::json!(uscc(1)), serde_json::json!(true)),
            (serde_json::json!(uscc(2)), serde_json::json!(false))
        ],
        "{open}"
    );

    let hazards = json(
        &w.server
            .admin(&["hazards", "list", "--division", TOWN, "--json"]),
    );
    let list = hazards.as_array().expect("list");
    // The expert's major hazard, and enterprise 2's survey: no 安全专员, no training.
    assert_eq!(list.len(), 3, "{hazards}");
    let of_2 = list
        .iter()
        .filter(|h| h["enterprise_uscc"] == uscc(2))
        .count();
    assert_eq!(of_2, 2, "{hazards}");
    let h = list
        .iter()
        .find(|h| h["severity"] == "major")
        .unwrap_or_else(|| panic!("{hazards}"));
    assert_eq!(
        (
            h["severity"].as_str(),
            h["status"].as_str(),
            h["assignee"].as_str()
        ),
        (Some("major"), Some("assigned"), Some("企业张三")),
        "{h}"
    );
    assert_eq!(h["enterprise_uscc"], uscc(1));
    let rebuilt = json(&w.server.admin(&["projections", "rebuild"]));
    assert_eq!(rebuilt["changed"], false, "{rebuilt}");
    assert_eq!(rebuilt["report"]["inspections"], 4, "{rebuilt}");
}

/// The expert's major-hazard checklist asks the notice's duties too (version 2): what
/// the expert confirmed on the visit counts on the server's coverage and fills the
/// register ledger, as a grid worker's survey does.
#[test]
fn the_experts_visit_confirms_the_duties_it_asked() {
    let w = World::new(2);
    let id = this_years_campaign(&w);
    w.enroll(&w.server.url());
    let e = uscc(2);
    w.device
        .dust_verification(&e, &corpus_photo("gps__DSCN0010.jpg"));
    w.device.major_hazard_inspection_with(
        &e,
        [
            &corpus_photo("gps__DSCN0021.jpg"),
            &corpus_photo("gps__DSCN0029.jpg"),
        ],
        Some("周专员"),
    );
    sync_until_done(&w.device, &["--backoff-ms", "50"], 3);
    let cov = json(
        &w.server
            .admin(&["coverage", "--division", TOWN, "--campaign", &id, "--json"]),
    );
    for duty in ["expert-check", "risk-report", "training", "safety-officer"] {
        let d = duty_of(&cov, duty);
        assert_eq!(
            (d["applicable"].as_u64(), d["done"].as_u64()),
            (Some(2), Some(1)),
            "{duty}: {d}"
        );
    }
    let rows = register_ledger(&w);
    let row = rows
        .iter()
        .find(|r| r.values().any(|v| *v == e))
        .unwrap_or_else(|| panic!("no row for {e}: {rows:?}"));
    assert_eq!(
        (
            row["安全专员"].as_str(),
            row["专员电话"].as_str(),
            row["风险报告"].as_str(),
            row["警示教育"].as_str()
        ),
        ("周专员", "13800002222", "已填报", "已考核"),
        "{row:?}"
    );
    let rebuilt = json(&w.server.admin(&["projections", "rebuild"]));
    assert_eq!(rebuilt["changed"], false, "{rebuilt}");
}

/// One duty of a `coverage --json` answer.
fn duty_of(cov: &serde_json::Value, id: &str) -> serde_json::Value {
    cov["duties"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["duty_id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("no duty {id}: {cov}"))
}

/// The town's register ledger (粉尘涉爆企业底数台账) exported with the CLI, as rows.
fn register_ledger(w: &World) -> Vec<std::collections::BTreeMap<String, String>> {
    let xlsx = w.tmp.path().join("enterprises.xlsx");
    w.server.admin(&[
        "export",
        "enterprises",
        "--division",
        TOWN,
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().expect("utf-8 path"),
    ]);
    ledger_rows(&xlsx)
}

/// The first sheet of a ledger as rows of header → text.
fn ledger_rows(path: &std::path::Path) -> Vec<std::collections::BTreeMap<String, String>> {
    use calamine::{open_workbook, Reader, Xlsx};
    let mut book: Xlsx<_> = open_workbook(path).expect("xlsx");
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).expect("sheet");
    let mut rows = range.rows();
    // Title rows come first: the header row starts with 序号.
    let header: Vec<String> = rows
        .by_ref()
        .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>())
        .find(|r| r.first().is_some_and(|c| c == "序号"))
        .expect("a header row");
    rows.map(|r| {
        header
            .iter()
            .cloned()
            .zip(r.iter().map(|c| c.to_string()))
            .collect()
    })
    .collect()
}
