//! The campaign on the server, end to end with the real binaries (issue 11, first
//! slices): the shipped 2024 campaign imported and copied to this year with the
//! `gridwalk-server` CLI; a phone inspects offline and syncs; `coverage`, `hazards list`
//! and `projections rebuild` answer from the CLI as scripts read them (`--json`).

use gridwalk_system_tests::bins::workspace;
use gridwalk_system_tests::fixtures::{uscc, TOWN, VILLAGE};
use gridwalk_system_tests::{inspections_with_major_hazard, sync_until_done, World};

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn coverage_and_hazards_answer_from_the_cli_after_a_phone_syncs() {
    let w = World::new(2);
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
    let id = format!("changzhou-{year}-dust-100day");
    let listed = json(&w.server.admin(&["campaigns", "list", "--json"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    w.enroll(&w.server.url());
    inspections_with_major_hazard(&w.device, 1);
    sync_until_done(&w.device, &["--backoff-ms", "50"], 3);

    let cov = json(
        &w.server
            .admin(&["coverage", "--division", TOWN, "--campaign", &id, "--json"]),
    );
    let duty = |id: &str| {
        cov["duties"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["duty_id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no duty {id}: {cov}"))
    };
    // Enterprise 1 had the expert's dust verification and major-hazard inspection;
    // enterprise 2 nothing. Both are Al/Mg polishers with 20 workers a shift.
    for id in ["census", "expert-check", "training", "safety-officer"] {
        let d = duty(id);
        assert_eq!(
            (d["applicable"].as_u64(), d["done"].as_u64()),
            (Some(2), Some(1)),
            "{id}: {d}"
        );
    }
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
    assert_eq!(list.len(), 1, "{hazards}");
    let h = &list[0];
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
    assert_eq!(rebuilt["report"]["inspections"], 2, "{rebuilt}");
}
