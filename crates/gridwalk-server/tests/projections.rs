//! Projections over HTTP, against SQLite and PostgreSQL: accepted inspections and hazard
//! events folded into queryable tables; hazards that converge when two phones change one
//! offline; `projections rebuild` giving identical tables; `GET /v1/hazards` scoped to
//! the caller's jurisdiction.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use common::*;
use gridwalk_protocol::{RecordEnvelope, RecordKind};

both_databases!(
    inspections_and_hazards_are_projected_and_rebuild_to_the_same_rows,
    two_phones_changing_one_hazard_converge_and_the_illegal_event_is_kept,
    hazards_are_listed_only_inside_the_callers_jurisdiction,
    a_parsed_inspection_is_chain_checked_as_its_json_is,
    an_inspection_is_placed_on_site_only_by_its_own_persons_photo_records,
);

/// A hazard event of `hazard` at `at` by `actor` (`kind` the event's own fields).
fn event(
    seq: u64,
    hazard: uuid::Uuid,
    at: &str,
    actor: &str,
    kind: serde_json::Value,
) -> RecordEnvelope {
    let id = uuid::Uuid::now_v7();
    let mut body = serde_json::json!({"id": id, "hazard_id": hazard, "at": at, "actor": actor});
    if let (Some(b), Some(k)) = (body.as_object_mut(), kind.as_object()) {
        b.extend(k.clone());
    }
    let mut e = RecordEnvelope::new(id, RecordKind::HazardEvent, seq, body.to_string());
    e.enterprise_uscc = Some(uscc_here());
    e
}

fn created(seq: u64, hazard: uuid::Uuid, actor: &str, deadline: &str) -> RecordEnvelope {
    let enterprise =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&uscc_here()).expect("uscc"));
    event(
        seq,
        hazard,
        "2026-03-02T02:00:00Z",
        actor,
        serde_json::json!({"kind": "created", "severity": "major", "enterprise_id": enterprise,
            "description_zh": "除尘器未设置泄爆装置", "deadline": deadline}),
    )
}

fn accepted(v: &serde_json::Value) {
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
}

async fn hazards(h: &Harness, token: &str, query: &str) -> (u16, serde_json::Value) {
    h.get(token, &format!("/v1/hazards{query}")).await
}

async fn dump(h: &Harness) -> Vec<String> {
    let store = h.store.clone();
    tokio::task::spawn_blocking(move || store.projection_dump())
        .await
        .expect("join")
        .expect("dump")
}

async fn rebuild(h: &Harness) -> (gridwalk_server::projections::RebuildReport, bool) {
    let store = h.store.clone();
    tokio::task::spawn_blocking(move || store.rebuild_projections())
        .await
        .expect("join")
        .expect("rebuild")
}

/// A real inspection's chain check reads the typed payload the projection uses: its
/// photos and USCC must be the envelope's, and JSON a `Value` reading refuses (in a field
/// the typed payload skips) is refused as before.
async fn a_parsed_inspection_is_chain_checked_as_its_json_is(h: &Harness) {
    let dev = h.enroll("expert-jincheng").await;
    let mut chain = TestChain::new();
    let real =
        |seq: u64| support::inspection_envelope(seq, &uscc_here(), &support::fake_photos(seq));
    let first = chain.link(real(1), "inspection");
    let mut swapped = real(2);
    swapped.photos[0] = support::fake_photos(99)[0].clone();
    let swapped = chain.link(swapped, "inspection");
    let mut elsewhere = real(3);
    elsewhere.enterprise_uscc = Some(uscc_neighbour());
    let elsewhere = chain.link(elsewhere, "inspection");
    let mut junk = real(4);
    junk.payload = junk.payload.replacen('{', "{\"zz\":1e999,", 1);
    junk.payload_sha256 = gridwalk_protocol::sha256_hex(junk.payload.as_bytes());
    let junk = chain.link(junk, "inspection");
    let last = chain.link(real(5), "inspection");
    let (_, v) = h
        .push(&dev.token, &[first, swapped, elsewhere, junk, last])
        .await;
    let r = |i: usize| {
        let r = &v["results"][i];
        (
            r["status"].as_str().unwrap_or_default().to_string(),
            r["code"].as_str().unwrap_or_default().to_string(),
            r["detail"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(r(0).0, "accepted", "{v}");
    assert_eq!(r(4).0, "accepted", "{v}");
    for (i, says) in [
        (1, "the envelope lists photos"),
        (2, "the envelope names enterprise"),
        (3, "the frozen payload is not JSON"),
    ] {
        let (status, code, detail) = r(i);
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("rejected", "payload_invalid"),
            "{v}"
        );
        assert!(detail.starts_with(says), "{i}: {detail}");
    }
}

/// An inspection becomes a row with its template, inspector, score, findings and photo
/// count; hazard events become the hazard's history and state. Rebuilding the
/// projections from the stored records gives the same rows.
async fn inspections_and_hazards_are_projected_and_rebuild_to_the_same_rows(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let inspections: Vec<_> = (1..=3)
        .map(|seq| support::inspection_envelope(seq, &uscc_here(), &support::fake_photos(seq)))
        .collect();
    let (_, v) = h.push(&expert.token, &inspections).await;
    accepted(&v);
    let hazard = uuid::Uuid::now_v7();
    let events = vec![
        created(4, hazard, "expert-jincheng", "2026-04-30"),
        event(
            5,
            hazard,
            "2026-03-03T02:00:00Z",
            "expert-jincheng",
            serde_json::json!({"kind": "assigned", "to": "企业张三"}),
        ),
    ];
    let (_, v) = h.push(&expert.token, &events).await;
    accepted(&v);

    let rows = dump(h).await;
    let inspection_rows: Vec<_> = rows
        .iter()
        .filter(|r| r.starts_with("inspection: "))
        .collect();
    assert_eq!(inspection_rows.len(), 3, "{rows:#?}");
    let first = inspection_rows
        .iter()
        .find(|r| r.contains(&inspections[0].id.to_string()))
        .expect("the first inspection");
    assert!(first.contains("supervision-spot-check"), "{first}");
    assert!(rows.iter().any(|r| r.starts_with("finding: ")), "{rows:#?}");
    let hazard_row = rows
        .iter()
        .find(|r| r.starts_with("hazard: ") && r.contains(&hazard.to_string()))
        .expect("hazard row");
    assert!(
        hazard_row.contains("| assigned | 2026-04-30 | 企业张三 |"),
        "{hazard_row}"
    );

    let (report, changed) = rebuild(h).await;
    assert!(!changed, "rebuild changed the projections");
    assert_eq!(
        (report.inspections, report.hazard_events, report.hazards),
        (3, 2, 1)
    );
    assert_eq!(dump(h).await, rows);
    // A projection lost (a bug, a manual delete) comes back.
    exec_sql(
        h,
        "DELETE FROM finding; UPDATE hazard SET status = 'closed';",
    )
    .await;
    let (_, changed) = rebuild(h).await;
    assert!(changed);
    assert_eq!(dump(h).await, rows);
}

/// Two phones change one hazard offline: both close it after a passed re-inspection,
/// and one reopens it later. Folded in the merged order the second close is not legal;
/// it is kept, marked, and the state is the same whatever order the pushes arrive in.
async fn two_phones_changing_one_hazard_converge_and_the_illegal_event_is_kept(h: &Harness) {
    let a = h.enroll("expert-jincheng").await;
    let b = h.enroll("officer").await;
    let hazard = uuid::Uuid::now_v7();
    let (_, v) = h
        .push(
            &a.token,
            &[
                created(1, hazard, "expert-jincheng", "2026-04-30"),
                event(
                    2,
                    hazard,
                    "2026-03-03T00:00:00Z",
                    "expert-jincheng",
                    serde_json::json!({"kind": "assigned", "to": "企业张三"}),
                ),
                event(
                    3,
                    hazard,
                    "2026-03-04T00:00:00Z",
                    "expert-jincheng",
                    serde_json::json!({"kind": "rectification_started"}),
                ),
                event(
                    4,
                    hazard,
                    "2026-03-05T00:00:00Z",
                    "expert-jincheng",
                    serde_json::json!({"kind": "reinspected", "passed": true,
                        "after_photo_sha256s": ["a".repeat(64)]}),
                ),
            ],
        )
        .await;
    accepted(&v);
    // The officer's phone closes it later than the expert's; the expert's push comes last.
    let (_, v) = h
        .push(
            &b.token,
            &[event(
                1,
                hazard,
                "2026-03-06T09:00:00Z",
                "officer",
                serde_json::json!({"kind": "closed"}),
            )],
        )
        .await;
    accepted(&v);
    let (_, v) = h
        .push(
            &a.token,
            &[
                event(
                    5,
                    hazard,
                    "2026-03-06T08:00:00Z",
                    "expert-jincheng",
                    serde_json::json!({"kind": "closed"}),
                ),
                event(
                    6,
                    hazard,
                    "2026-03-07T00:00:00Z",
                    "expert-jincheng",
                    serde_json::json!({"kind": "reopened", "reason": "复查发现反弹"}),
                ),
            ],
        )
        .await;
    accepted(&v);
    let (s, list) = hazards(h, &b.token, "").await;
    assert_eq!(s, 200, "{list}");
    let item = list
        .as_array()
        .and_then(|l| l.iter().find(|i| i["id"] == hazard.to_string()))
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(item["status"], "rectifying", "{item}");
    assert_eq!(
        item["skipped_events"], 1,
        "the officer's later close: {item}"
    );
    assert_eq!(item["event_count"], 6, "{item}");
    let rows = dump(h).await;
    let skipped: Vec<_> = rows
        .iter()
        .filter(|r| r.starts_with("hazard_event: ") && r.contains("| 0 |"))
        .collect();
    assert_eq!(skipped.len(), 1, "{rows:#?}");
    assert!(skipped[0].contains("| officer |"), "{skipped:?}");
    let (_, changed) = rebuild(h).await;
    assert!(!changed);
}

/// `GET /v1/hazards`: the caller's jurisdiction by default; a division inside it
/// narrows; another town's division is 404, as if it did not exist; `overdue=true` keeps
/// the open hazards past their deadline.
async fn hazards_are_listed_only_inside_the_callers_jurisdiction(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let other = h.enroll("expert-rulin").await;
    let (late, fresh) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let (_, v) = h
        .push(
            &expert.token,
            &[
                created(1, late, "expert-jincheng", "2025-01-31"),
                created(2, fresh, "expert-jincheng", "2099-12-31"),
            ],
        )
        .await;
    accepted(&v);
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|i| i["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (s, all) = hazards(h, &expert.token, "").await;
    assert_eq!((s, ids(&all).len()), (200, 2), "{all}");
    let (_, overdue) = hazards(h, &expert.token, "?overdue=true").await;
    assert_eq!(ids(&overdue), [late.to_string()], "{overdue}");
    assert_eq!(overdue[0]["overdue"], true);
    let (s, village) = hazards(h, &expert.token, &format!("?division={VILLAGE}")).await;
    assert_eq!((s, ids(&village).len()), (200, 2), "{village}");
    // The other town's expert sees none of them, and not even that the division exists.
    let (s, theirs) = hazards(h, &other.token, "").await;
    assert_eq!((s, ids(&theirs).len()), (200, 0), "{theirs}");
    let (s, v) = hazards(h, &other.token, &format!("?division={TOWN}")).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
    let (s, v) = hazards(h, &other.token, "?division=nonsense").await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")), "{v}");
}

mod facts {
    use super::*;
    use gridwalk_checklist::{Answer, AnswerValue, YesNoNa};

    both_databases!(
        facts_confirmed_on_a_visit_reach_the_register_the_phones_pull,
        one_push_of_many_visits_to_an_enterprise_keeps_the_latest_of_each_fact,
        a_rejected_visits_facts_give_way_to_the_visit_before_it,
    );

    /// A spot check by `inspector` finalized at `at`, saying whether the risk report is
    /// filed (SC-05) and whether the principals attended warning education (SC-06).
    fn spot_check(
        seq: u64,
        inspector: &str,
        at: chrono::DateTime<chrono::Utc>,
        report_filed: bool,
        trained: bool,
    ) -> (RecordEnvelope, uuid::Uuid) {
        let id = uuid::Uuid::now_v7();
        let mut p = support::inspection_payload(id, &uscc_here(), &support::fake_photos(seq), seq);
        let yn = |b: bool| {
            Answer::new(AnswerValue::YesNoNa(if b {
                YesNoNa::Yes
            } else {
                YesNoNa::No
            }))
        };
        p.answers.insert("SC-04".into(), yn(true));
        p.answers.insert("SC-05".into(), yn(report_filed));
        p.answers.insert("SC-06".into(), yn(trained));
        p.inspector = inspector.into();
        p.finalized_at = at;
        let text = String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("json"))
            .expect("utf-8");
        let mut e = RecordEnvelope::new(id, RecordKind::Inspection, seq, text);
        e.enterprise_uscc = Some(uscc_here());
        (e, id)
    }

    /// 02:00 UTC on day `d` of November 2026.
    fn day(d: u32) -> chrono::DateTime<chrono::Utc> {
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, d, 2, 0, 0)
            .single()
            .expect("time")
    }

    async fn pulled_enterprise(h: &Harness, token: &str) -> serde_json::Value {
        let (status, page) = h.get(token, "/v1/sync/pull?limit=1000").await;
        assert_eq!(status, 200);
        page["changes"]
            .as_array()
            .and_then(|c| {
                c.iter()
                    .find(|c| c["kind"] == "enterprise" && c["body"]["uscc"] == uscc_here())
            })
            .map(|c| c["body"].clone())
            .unwrap_or_else(|| panic!("no enterprise change: {page}"))
    }

    /// A spot check confirms the safety officer, the risk report and warning education;
    /// the row the phones pull carries them with who, when and which inspection; the
    /// latest confirmation stands whatever order the records arrive in; a re-import of
    /// the register and a rebuild keep them.
    async fn facts_confirmed_on_a_visit_reach_the_register_the_phones_pull(h: &Harness) {
        let a = h.enroll("officer").await;
        let b = h.enroll("expert-jincheng").await;
        let before = pulled_enterprise(h, &a.token).await;
        assert!(before.get("confirmations").is_none(), "{before}");
        // The later visit (report filed, trained) arrives first; the earlier one after.
        let (later, later_id) = spot_check(1, "expert-jincheng", day(20), true, true);
        let (_, v) = h.push(&b.token, &[later]).await;
        accepted(&v);
        let (earlier, _) = spot_check(1, "officer", day(10), false, false);
        let (_, v) = h.push(&a.token, &[earlier]).await;
        accepted(&v);

        let row = pulled_enterprise(h, &a.token).await;
        assert_eq!(row["risk_report"], "filed", "{row}");
        assert_eq!(row["warning_education"], "attended", "{row}");
        assert_eq!(row["safety_officer"]["confirmed_on_site"], true, "{row}");
        let c = &row["confirmations"];
        for fact in ["safety_officer", "risk_report", "training"] {
            assert_eq!(c[fact]["by"], "expert-jincheng", "{fact}: {c}");
            assert_eq!(
                c[fact]["inspection_id"],
                later_id.to_string(),
                "{fact}: {c}"
            );
            assert!(
                c[fact]["at"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("2026-11-20"),
                "{fact}: {c}"
            );
        }
        // The register's own fields are untouched.
        assert_eq!(row["name"], before["name"]);

        // A re-import of the register keeps what visits confirmed.
        let store = h.store.clone();
        let data = h.data.clone();
        tokio::task::spawn_blocking(move || {
            gridwalk_server::register::import(
                &store,
                gridwalk_server::register::RegisterFile::Enterprises,
                &data.0.join("enterprises.csv"),
            )
            .expect("re-import")
        })
        .await
        .expect("join");
        assert_eq!(pulled_enterprise(h, &a.token).await, row);

        let before = dump(h).await;
        assert!(
            before.iter().any(|r| r.starts_with("enterprise_fact: ")),
            "{before:#?}"
        );
        let (report, changed) = rebuild(h).await;
        assert!(!changed);
        assert_eq!(report.enterprise_facts, 3);
        assert_eq!(pulled_enterprise(h, &a.token).await, row);

        // A phone claiming a visit in 2099 (a wrong clock, or a hostile owner) is dated
        // when the server received it: the next honest visit still replaces it.
        let future = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2099, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let (claimed, _) = spot_check(2, "officer", future, false, false);
        let (_, v) = h.push(&a.token, &[claimed]).await;
        accepted(&v);
        let row = pulled_enterprise(h, &a.token).await;
        assert_eq!(row["risk_report"], "not_filed", "{row}");
        assert!(
            !row["confirmations"]["risk_report"]["at"]
                .as_str()
                .unwrap_or("")
                .starts_with("2099"),
            "{row}"
        );
        let (honest, _) = spot_check(2, "expert-jincheng", chrono::Utc::now(), true, true);
        let (_, v) = h.push(&b.token, &[honest]).await;
        accepted(&v);
        let row = pulled_enterprise(h, &a.token).await;
        assert_eq!(row["risk_report"], "filed", "{row}");
        assert_eq!(row["confirmations"]["risk_report"]["by"], "expert-jincheng");
    }

    /// A review that rejects the visit which confirmed the facts withdraws them: the
    /// enterprise's inspections are folded again (read through the projection's index)
    /// and the row falls back to the visit before; approving it again restores them; a
    /// rebuild gives the same rows.
    async fn a_rejected_visits_facts_give_way_to_the_visit_before_it(h: &Harness) {
        let a = h.enroll("officer").await;
        let b = h.enroll("expert-jincheng").await;
        let (earlier, _) = spot_check(1, "officer", day(10), false, false);
        let (_, v) = h.push(&a.token, &[earlier]).await;
        accepted(&v);
        let (later, later_id) = spot_check(1, "expert-jincheng", day(20), true, true);
        let (_, v) = h.push(&b.token, &[later]).await;
        accepted(&v);
        let confirmed = pulled_enterprise(h, &a.token).await;
        assert_eq!(confirmed["risk_report"], "filed", "{confirmed}");

        let officer = officer_session(h, "officer", DISTRICT).await;
        let review = format!("/v1/inspections/{later_id}/review");
        let (status, v) = post(
            h,
            Some(&officer),
            &review,
            serde_json::json!({"state": "rejected", "comment": "报告与现场不符"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let row = pulled_enterprise(h, &a.token).await;
        assert_eq!(row["risk_report"], "not_filed", "{row}");
        assert_eq!(
            row["confirmations"]["risk_report"]["by"], "officer",
            "{row}"
        );
        let (_, changed) = rebuild(h).await;
        assert!(!changed);
        assert_eq!(pulled_enterprise(h, &a.token).await, row);

        let (status, v) = post(
            h,
            Some(&officer),
            &review,
            serde_json::json!({"state": "approved"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let row = pulled_enterprise(h, &a.token).await;
        assert_eq!(row["risk_report"], "filed", "{row}");
        assert_eq!(row["confirmations"], confirmed["confirmations"], "{row}");
    }

    /// A push holding many visits to one enterprise, out of order (a phone back from a
    /// week without signal): each fact ends as the latest visit confirmed it, one
    /// publication of the row, and a rebuild (which folds the records one by one) gives
    /// the same rows.
    async fn one_push_of_many_visits_to_an_enterprise_keeps_the_latest_of_each_fact(h: &Harness) {
        let phone = h.enroll("expert-jincheng").await;
        // Day 1..=30, pushed in the order 17, 4, 21, … (the 30th files the report, the
        // rest do not; the 29th is the last to be trained).
        let order: Vec<u32> = (0..30).map(|k| (k * 17) % 30 + 1).collect();
        let mut batch = Vec::new();
        let mut latest = None;
        for (seq, d) in order.iter().enumerate() {
            let (e, id) = spot_check(
                seq as u64 + 1,
                "expert-jincheng",
                day(*d),
                *d == 30,
                *d <= 29,
            );
            if *d == 30 {
                latest = Some(id);
            }
            batch.push(e);
        }
        let (_, v) = h.push(&phone.token, &batch).await;
        accepted(&v);
        let row = pulled_enterprise(h, &phone.token).await;
        assert_eq!(row["risk_report"], "filed", "{row}");
        assert_eq!(row["warning_education"], "not_done", "{row}");
        let latest = latest.expect("day 30").to_string();
        for fact in ["risk_report", "training", "safety_officer"] {
            let c = &row["confirmations"][fact];
            assert_eq!(c["inspection_id"], latest, "{fact}: {row}");
            assert!(
                c["at"].as_str().unwrap_or("").starts_with("2026-11-30"),
                "{fact}: {row}"
            );
        }
        let before = dump(h).await;
        let (report, changed) = rebuild(h).await;
        assert!(!changed, "a rebuild changed the rows");
        assert_eq!(report.enterprise_facts, 3);
        assert_eq!(dump(h).await, before);
        assert_eq!(pulled_enterprise(h, &phone.token).await, row);
    }
}

/// The `onsite_distance_m` and `off_site` columns of the projected inspection `id`.
async fn onsite_of(h: &Harness, id: uuid::Uuid) -> (String, String) {
    let id = id.to_string();
    let line = dump(h)
        .await
        .into_iter()
        .find(|l| l.starts_with(&format!("inspection: {id} |")))
        .unwrap_or_else(|| panic!("inspection {id} not projected"));
    let cols: Vec<&str> = line
        .trim_start_matches("inspection: ")
        .split(" | ")
        .collect();
    (cols[19].to_string(), cols[20].to_string())
}

/// The on-site check of an inspection comes from the evidence records of its photos made
/// by its own person's phone: a phone naming the hash of a photo another person took on
/// site (a hash it can learn from a pulled hazard) is not placed on site by it.
async fn an_inspection_is_placed_on_site_only_by_its_own_persons_photo_records(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let other = h.enroll("officer").await;
    let photos = support::fake_photos(1);
    let (_, v) = h
        .push(
            &expert.token,
            &[support::evidence_envelope(1, &uscc_here(), &photos[0])],
        )
        .await;
    accepted(&v);
    let borrowed = support::inspection_envelope(1, &uscc_here(), &photos);
    let (_, v) = h.push(&other.token, std::slice::from_ref(&borrowed)).await;
    accepted(&v);
    assert_eq!(
        onsite_of(h, borrowed.id).await,
        ("∅".to_string(), "∅".to_string())
    );
    let own = support::inspection_envelope(2, &uscc_here(), &photos);
    let (_, v) = h.push(&expert.token, std::slice::from_ref(&own)).await;
    accepted(&v);
    assert_eq!(
        onsite_of(h, own.id).await,
        ("35".to_string(), "0".to_string())
    );
    let (_, changed) = rebuild(h).await;
    assert!(!changed);
}
