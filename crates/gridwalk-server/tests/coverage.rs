//! Campaigns and coverage over HTTP, against SQLite and PostgreSQL: the shipped 2024
//! Changzhou campaign imported as data and copied to another year; per duty, the
//! applicable enterprises done, not done and overdue in a division and its children;
//! the list behind each number; every answer inside the caller's jurisdiction.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use chrono::NaiveDate;
use common::*;
use gridwalk_checklist::YesNoNa;
use gridwalk_core::{Campaign, DivisionCode};
use gridwalk_server::coverage::CoverageStatus;
use uuid::Uuid;

both_databases!(
    coverage_counts_done_not_done_and_overdue_per_duty_and_child,
    coverage_answers_only_inside_the_callers_jurisdiction,
    campaigns_reach_the_phones_by_pull_from_protocol_2_on,
    duties_count_what_the_visit_confirmed_and_what_is_rectified,
    the_progress_sheet_has_every_duty_for_the_division_and_its_children,
);

fn shipped() -> Campaign {
    Campaign::from_json(include_str!("../campaigns/changzhou-2024-dust-100day.json"))
        .expect("shipped campaign")
}

/// The shipped campaign and its 2025 copy, stored; the copy is returned (the bench's
/// inspections are finalized in May 2025).
async fn campaigns(h: &Harness) -> Campaign {
    let store = h.store.clone();
    tokio::task::spawn_blocking(move || {
        let c = shipped();
        store.import_campaign(&c).expect("import");
        let next = c
            .shifted_to_year(2025, "changzhou-2025-dust-100day")
            .expect("copy");
        store.import_campaign(&next).expect("import copy");
        next
    })
    .await
    .expect("join")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

async fn spot_check_here(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let e = support::inspection_envelope(1, &uscc_here(), &support::fake_photos(1));
    let (_, v) = h.push(&expert.token, &[e]).await;
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
}

/// One spot check of the wood shop: joint enforcement (dust enterprises, done by a spot
/// check or an expert inspection) is 1 of 2 done in the district, in 金城 (both dust
/// enterprises are there) and nothing in 儒林; before the deadline the other is not done,
/// after it overdue. Training applies to the Al/Mg shop only; the census to all three.
async fn coverage_counts_done_not_done_and_overdue_per_duty_and_child(h: &Harness) {
    let c = campaigns(h).await;
    spot_check_here(h).await;
    let store = h.store.clone();
    let c2 = c.clone();
    let (before, after, done_list, open_list) = tokio::task::spawn_blocking(move || {
        let district = DivisionCode::parse(DISTRICT).expect("district");
        let before = store
            .coverage(&c2, &district, day(2025, 3, 1))
            .expect("coverage");
        let after = store
            .coverage(&c2, &district, day(2025, 6, 1))
            .expect("coverage");
        let done = store
            .coverage_enterprises(
                &c2,
                "joint-enforcement",
                &district,
                CoverageStatus::Done,
                day(2025, 3, 1),
                100,
            )
            .expect("list");
        let open = store
            .coverage_enterprises(
                &c2,
                "joint-enforcement",
                &district,
                CoverageStatus::Overdue,
                day(2025, 6, 1),
                100,
            )
            .expect("list");
        (before, after, done, open)
    })
    .await
    .expect("join");
    let duty = |cov: &gridwalk_server::coverage::Coverage, id: &str| {
        cov.duties
            .iter()
            .find(|d| d.duty_id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no duty {id}"))
    };
    let joint = duty(&before, "joint-enforcement");
    assert_eq!(joint.deadline.as_deref(), Some("2025-04-30"));
    let counts =
        |c: &gridwalk_server::coverage::Counts| (c.applicable, c.done, c.not_done, c.overdue);
    assert_eq!(counts(&joint.counts), (2, 1, 1, 0), "{joint:?}");
    assert_eq!(
        counts(&duty(&after, "joint-enforcement").counts),
        (2, 1, 0, 1)
    );
    let jincheng = joint
        .children
        .iter()
        .find(|c| c.code == TOWN)
        .unwrap_or_else(|| panic!("{joint:?}"));
    assert_eq!(counts(&jincheng.counts), (2, 1, 1, 0));
    assert!(jincheng.name.is_some(), "{jincheng:?}");
    assert!(
        joint.children.iter().all(|c| c.code != OTHER_TOWN),
        "no dust enterprise in 儒林"
    );
    assert_eq!(
        counts(&duty(&before, "training").counts),
        (1, 0, 0, 1),
        "deadline 2025-02-09 passed"
    );
    assert_eq!(duty(&before, "census").counts.applicable, 3);
    assert_eq!(
        duty(&before, "expert-check").counts.done,
        0,
        "a spot check is no expert inspection"
    );
    assert_eq!(done_list.len(), 1);
    assert_eq!(done_list[0].uscc, uscc_here());
    assert!(done_list[0].done);
    assert_eq!(
        open_list.iter().map(|e| e.uscc.clone()).collect::<Vec<_>>(),
        [uscc_neighbour()]
    );

    // The same through the API, for the district officer; the campaign named.
    let officer = h.enroll("officer").await;
    let (s, v) = h
        .get(
            &officer.token,
            "/v1/coverage?campaign=changzhou-2025-dust-100day",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let joint = v["duties"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["duty_id"] == "joint-enforcement"))
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        (joint["applicable"].as_u64(), joint["done"].as_u64()),
        (Some(2), Some(1)),
        "{joint}"
    );
    let (s, v) = h
        .get(
            &officer.token,
            "/v1/coverage/enterprises?campaign=changzhou-2025-dust-100day&duty=joint-enforcement&status=done",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v[0]["uscc"], uscc_here(), "{v}");
    let (s, v) = h.get(&officer.token, "/v1/campaigns").await;
    assert_eq!((s, v.as_array().map(Vec::len)), (200, Some(2)), "{v}");
    let (s, v) = h
        .get(
            &officer.token,
            "/v1/coverage/enterprises?duty=joint-enforcement&status=sideways",
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("malformed_body")),
        "{v}"
    );
    let (s, v) = h
        .get(&officer.token, "/v1/coverage?campaign=nonesuch")
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
}

/// Another town's expert gets 404 for this town and counts only its own.
async fn coverage_answers_only_inside_the_callers_jurisdiction(h: &Harness) {
    campaigns(h).await;
    spot_check_here(h).await;
    let other = h.enroll("expert-rulin").await;
    let q = "campaign=changzhou-2025-dust-100day";
    let (s, v) = h
        .get(&other.token, &format!("/v1/coverage?{q}&division={TOWN}"))
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
    let (s, v) = h
        .get(
            &other.token,
            &format!(
                "/v1/coverage/enterprises?{q}&division={VILLAGE}&duty=census&status=applicable"
            ),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
    let (s, v) = h.get(&other.token, &format!("/v1/coverage?{q}")).await;
    assert_eq!(s, 200, "{v}");
    let census = v["duties"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["duty_id"] == "census"))
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(census["applicable"], 1, "only 儒林's feed mill: {census}");
    let (s, v) = h
        .get(
            &other.token,
            &format!("/v1/coverage/enterprises?{q}&duty=census&status=applicable"),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v.as_array()
            .map(|l| l.iter().map(|e| e["uscc"].clone()).collect::<Vec<_>>()),
        Some(vec![serde_json::json!(uscc_far())]),
        "{v}"
    );
}

/// An imported campaign is a pull change for every device that speaks protocol 2; an
/// app of protocol 1, which does not know the kind, is not sent it.
async fn campaigns_reach_the_phones_by_pull_from_protocol_2_on(h: &Harness) {
    campaigns(h).await;
    let dev = h.enroll("grid-east").await;
    let kinds = |version: &'static str| {
        let (http, url, token) = (
            h.http.clone(),
            h.url("/v1/sync/pull?limit=1000"),
            dev.token.clone(),
        );
        async move {
            let v: serde_json::Value = http
                .get(url)
                .bearer_auth(token)
                .header("GridWalk-Protocol", version)
                .send()
                .await
                .expect("pull")
                .json()
                .await
                .expect("json");
            v["changes"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter(|c| c["kind"] == "campaign")
                        .map(|c| c["key"].as_str().unwrap_or_default().to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    let mut v2 = kinds("2").await;
    v2.sort();
    assert_eq!(
        v2,
        ["changzhou-2024-dust-100day", "changzhou-2025-dust-100day"]
    );
    assert!(
        kinds("1").await.is_empty(),
        "protocol 1 apps are not sent campaigns"
    );
}

/// A spot check of the wood shop by the expert, number `seq` (later for a higher one),
/// with some yes/no answers given.
async fn spot_check_answering(h: &Harness, token: &str, seq: u64, answers: &[(&str, YesNoNa)]) {
    let id = Uuid::now_v7();
    let p = support::inspection_payload_answering(
        id,
        &uscc_here(),
        &support::fake_photos(seq),
        seq,
        answers,
    );
    let text = String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("canonical"))
        .expect("utf-8");
    let mut e = gridwalk_protocol::RecordEnvelope::new(
        id,
        gridwalk_protocol::RecordKind::Inspection,
        seq,
        text,
    );
    e.enterprise_uscc = Some(uscc_here());
    let (_, v) = h.push(token, &[e]).await;
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
}

/// Risk report, 安全专员 and training count as done only when the latest visit found
/// them (`done_when.fact`), not merely because a visit happened: a spot check that
/// finds the risk report not filed leaves the duty open, a later one that finds it
/// filed closes it, and a later one that finds no 安全专员 reopens that duty. A duty
/// with `rectified` is done only while no hazard of the enterprise is open.
async fn duties_count_what_the_visit_confirmed_and_what_is_rectified(h: &Harness) {
    let c = campaigns(h).await;
    let mut c = c.clone();
    // A duty of this test: dust enterprises spot-checked with every hazard rectified.
    let mut rectified = c.duties[0].clone();
    rectified.id = "spot-checked-and-rectified".into();
    rectified.applies_to = gridwalk_core::Applicability::DustInvolved;
    rectified.done_when = serde_json::from_value(
        serde_json::json!({"templates": ["supervision-spot-check"], "rectified": true}),
    )
    .expect("completion");
    c.duties.push(rectified);
    let c2 = c.clone();
    blocking(h, move |store| store.import_campaign(&c2).expect("import")).await;
    let expert = h.enroll("expert-jincheng").await;
    let done_here = |c: Campaign| async move {
        {
            blocking(h, move |store| {
                let district = DivisionCode::parse(DISTRICT).expect("district");
                let cov = store
                    .coverage(&c, &district, day(2025, 3, 1))
                    .expect("coverage");
                let done = |id: &str| {
                    cov.duties
                        .iter()
                        .find(|d| d.duty_id == id)
                        .map(|d| d.counts.done)
                        .unwrap_or_else(|| panic!("no duty {id}"))
                };
                let list = store
                    .coverage_enterprises(
                        &c,
                        "risk-report",
                        &district,
                        CoverageStatus::Done,
                        day(2025, 3, 1),
                        10,
                    )
                    .expect("list");
                (
                    done("risk-report"),
                    done("safety-officer"),
                    done("spot-checked-and-rectified"),
                    list.len() as u64,
                )
            })
            .await
        }
    };
    use YesNoNa::{No, Yes};
    spot_check_answering(h, &expert.token, 1, &[("SC-04", Yes), ("SC-05", No)]).await;
    assert_eq!(
        done_here(c.clone()).await,
        (0, 1, 1, 0),
        "visited, but the risk report is not filed"
    );
    spot_check_answering(h, &expert.token, 2, &[("SC-04", Yes), ("SC-05", Yes)]).await;
    assert_eq!(done_here(c.clone()).await, (1, 1, 1, 1), "filed now");
    spot_check_answering(h, &expert.token, 3, &[("SC-04", No), ("SC-05", Yes)]).await;
    assert_eq!(
        done_here(c.clone()).await,
        (1, 0, 1, 1),
        "the latest visit found no 安全专员"
    );

    let hazard = Uuid::now_v7();
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(4, hazard, "expert-jincheng", "major")],
        )
        .await;
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
    assert_eq!(done_here(c.clone()).await.2, 0, "a hazard is open");
    // Closing takes a passed re-inspection with photos (tests/officer.rs); here only
    // the projected status matters.
    exec_sql(
        h,
        &format!("UPDATE hazard SET status = 'closed' WHERE id = '{hazard}'"),
    )
    .await;
    assert_eq!(done_here(c).await.2, 1, "rectified");
}

/// Confirmations projected before migration 0016 get their outcome from the JSON they
/// hold, the same as the projection now writes (`Confirmations::outcome`); on both
/// databases.
#[test]
fn migration_0016_derives_the_outcome_of_facts_projected_before() {
    use gridwalk_checklist::{Confirmations, ConfirmedFact};
    let values = [
        ("survey_dust", r#"{"dust_seen":true,"workers_seen":12}"#),
        ("survey_dust", r#"{"workers_seen":3}"#),
        (
            "dust_confirmed",
            r#"{"dust":{"dust_types":["wood"],"bools":{},"workers_per_shift":null,"storeys":null}}"#,
        ),
        (
            "safety_officer",
            r#"{"safety_officer":{"present":true,"name":"王"}}"#,
        ),
        ("safety_officer", r#"{"safety_officer":{"present":false}}"#),
        ("risk_report", r#"{"risk_report":"filed"}"#),
        ("risk_report", r#"{"risk_report":"filed_keeping_help"}"#),
        ("risk_report", r#"{"risk_report":"helped_on_site"}"#),
        ("risk_report", r#"{"risk_report":"not_filed"}"#),
        ("training", r#"{"training":true}"#),
        ("training", r#"{"training":false}"#),
    ];
    let want: Vec<(String, String)> = values
        .iter()
        .enumerate()
        .map(|(i, (fact, v))| {
            let c: Confirmations = serde_json::from_str(v).expect("confirmations");
            let f = ConfirmedFact::parse(fact).expect("fact");
            (
                format!("E{i:02}"),
                c.outcome(f).expect("an outcome").to_string(),
            )
        })
        .collect();
    let insert = |i: usize, fact: &str, v: &str| {
        format!(
            "INSERT INTO enterprise_fact (enterprise_uscc, fact, record_id, inspection_id, \
             confirmed_by, confirmed_at, value) VALUES ('E{i:02}', '{fact}', 'r', 'i', 'x', \
             '2026-03-01T00:00:00Z', '{v}');"
        )
    };
    let rows: String = values
        .iter()
        .enumerate()
        .map(|(i, (f, v))| insert(i, f, v))
        .collect();

    let dir = tempfile::tempdir().expect("tempdir");
    let data = gridwalk_server::DataDir::create(dir.path()).expect("data dir");
    {
        let c = rusqlite::Connection::open(data.database()).expect("sqlite");
        let before = server_migrations_before("sqlite", 16);
        for sql in &before {
            c.execute_batch(sql).expect("migration");
        }
        c.execute_batch(&format!(
            "PRAGMA foreign_keys = OFF; {rows} PRAGMA user_version = {};",
            before.len()
        ))
        .expect("data before 0016");
    }
    gridwalk_server::open_store(&data, None).expect("upgrade sqlite");
    let c = rusqlite::Connection::open(data.database()).expect("sqlite");
    let mut stmt = c
        .prepare("SELECT enterprise_uscc, outcome FROM enterprise_fact ORDER BY enterprise_uscc")
        .expect("query");
    let got: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(got, want, "SQLite");

    let Some(url) = fresh_pg_database() else {
        eprintln!("SKIPPED (PostgreSQL half): PostgreSQL binaries are not installed");
        return;
    };
    {
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("pg");
        let before = server_migrations_before("postgres", 16);
        for sql in &before {
            c.batch_execute(sql).expect("migration");
        }
        // The rows name no stored record: foreign keys are not this test's concern.
        c.batch_execute(&format!(
            "SET session_replication_role = replica; {rows}
             CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
             DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({});",
            before.len()
        ))
        .expect("data before 0016");
    }
    gridwalk_server::open_store(&data, Some(&url)).expect("upgrade postgres");
    let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("pg");
    let got: Vec<(String, String)> = c
        .query(
            "SELECT enterprise_uscc, outcome FROM enterprise_fact ORDER BY enterprise_uscc",
            &[],
        )
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(got, want, "PostgreSQL");
}

/// 专项行动进度表: every duty of the campaign, the division's total line then one line
/// per child, the same counts as the coverage view; another town's officer gets none.
async fn the_progress_sheet_has_every_duty_for_the_division_and_its_children(h: &Harness) {
    let c = campaigns(h).await;
    spot_check_here(h).await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let (status, _, bytes) = get_export(
        h,
        &officer,
        &format!("/v1/exports/coverage.xlsx?campaign={}", c.id),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let sheet = ledger_table(h, &bytes, "专项行动进度表");
    let col = |name: &str| sheet.col(name);
    let rows: Vec<&Vec<String>> = sheet.rows.iter().collect();
    let joint = |area: &str| {
        rows.iter()
            .find(|r| r[col("工作任务")] == "实施联合执法检查" && r[col("区域")].contains(area))
            .unwrap_or_else(|| panic!("no 联合执法 line for {area}: {rows:?}"))
    };
    let total = joint("合计");
    assert_eq!(
        (
            total[col("适用企业数")].as_str(),
            total[col("已完成")].as_str()
        ),
        ("2", "1"),
        "{total:?}"
    );
    assert_eq!(total[col("区划代码")], DISTRICT);
    assert_eq!(joint("金城镇")[col("已完成")], "1");
    let duties: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r[col("工作任务")].as_str()).collect();
    assert_eq!(duties.len(), c.duties.len(), "{duties:?}");
    // Another town's officer: not this district.
    let other = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    let (status, _, _) = get_export(
        h,
        &other,
        &format!(
            "/v1/exports/coverage.xlsx?division={DISTRICT}&campaign={}",
            c.id
        ),
    )
    .await;
    assert_eq!(status, 404);
}
