//! 疑似 (suspected) enterprises (docs/tips.md) over HTTP, against SQLite and PostgreSQL:
//! an address-only tip in a village is published to that village's protocol-5 phones
//! (never to older ones, never with the reporter); a grid worker's answer confirms the
//! unit (registered on site, the tip linked and its verification assigned to them) or
//! finds none (the tip 不属实), once, inside the jurisdiction; `projections rebuild`
//! derives the same; migration 0022 upgrades a database holding tips.

mod common;

use common::*;
use gridwalk_core::{DivisionCode, SuspectedConfirmation, SuspectedState, Uscc};
use gridwalk_protocol::{RecordEnvelope, RecordKind, Role};
use serde_json::{json, Value};
use uuid::Uuid;

both_databases!(
    a_confirmed_suspected_enterprise_is_registered_and_its_tip_assigned,
    a_suspected_enterprise_not_found_makes_the_tip_unsubstantiated,
    answers_are_checked_against_the_entry_and_the_jurisdiction,
    an_officer_puts_an_unassigned_tip_before_the_sweep,
);

const REPORTER_PHONE: &str = "13951234567";
const REPORTER_NAME: &str = "钱举报";
const ADDRESS: &str = "金城镇东村工业集中区8号";

fn in_days(n: i64) -> String {
    (gridwalk_checklist::hazard::china_date(chrono::Utc::now()) + chrono::Duration::days(n))
        .to_string()
}

/// The unit the sweep finds at the address (not in the register).
fn found_uscc() -> String {
    uscc("91320413MA1XY0077")
}

fn address_tip(division: &str) -> Value {
    json!({
        "source": "hotline_12350",
        "content": "群众反映该地址有一无名作坊夜间打磨铝件，粉尘很大",
        "address": ADDRESS,
        "division": division,
        "reported_name": "无名铝件作坊",
        "received_on": in_days(0),
        "deadline": in_days(5),
        "reporter_name": REPORTER_NAME,
        "reporter_contact": REPORTER_PHONE,
    })
}

async fn record(h: &Harness, token: &str, body: Value) -> Value {
    let (status, v) = post(h, Some(token), "/v1/tips", body).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// A grid worker's answer to `entry`: the unit `uscc` found, or (None) not found.
fn answer(seq: u64, entry: &str, village: &str, uscc: Option<&str>) -> RecordEnvelope {
    let uscc = uscc.map(|u| Uscc::parse(u).expect("uscc"));
    let c = SuspectedConfirmation {
        record_id: Uuid::now_v7(),
        suspected_id: Uuid::parse_str(entry).expect("entry id"),
        village_code: DivisionCode::parse(village).expect("village"),
        recorded_by: "grid-east".into(),
        recorded_at: chrono::Utc::now(),
        state: if uscc.is_some() {
            SuspectedState::Confirmed
        } else {
            SuspectedState::NotFound
        },
        enterprise_id: uscc.as_ref().map(gridwalk_core::ids::enterprise_id),
        name: uscc.as_ref().map(|_| "金坛区东村恒达铝制品厂".to_string()),
        industry: uscc.as_ref().map(|_| "金属制品".to_string()),
        note: if uscc.is_some() {
            None
        } else {
            Some("该地址为空置厂房，周边无人生产".into())
        },
        uscc,
    };
    let text = String::from_utf8(gridwalk_checklist::to_canonical_json(&c).expect("canonical"))
        .expect("utf-8");
    let mut e = RecordEnvelope::new(c.record_id, RecordKind::SuspectedConfirmation, seq, text);
    e.division_code = Some(village.to_string());
    e
}

fn suspected_changes(pulled: &[Value]) -> Vec<&Value> {
    pulled.iter().filter(|c| c["kind"] == "suspected").collect()
}

/// Address-only tip → the village's protocol-5 phone pulls the 疑似 entry (a protocol-4
/// phone nothing of it, no phone the reporter) → the grid worker confirms it with the
/// USCC → the unit is in the register (registered on site, pulled), the tip verifying
/// and assigned to them (deadline kept), the entry confirmed for the phones → the
/// verification works as any; a rebuild derives the same.
async fn a_confirmed_suspected_enterprise_is_registered_and_its_tip_assigned(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let tip = record(h, &officer, address_tip(VILLAGE)).await;
    let id = tip["id"].as_str().expect("id").to_string();
    assert_eq!(tip["status"], "unassigned", "{tip}");
    let entry = tip["suspected"]["id"].as_str().expect("entry").to_string();
    assert_eq!(tip["suspected"]["state"], "open", "{tip}");
    assert_eq!(tip["suspected"]["reported_name"], "无名铝件作坊");

    let pulled = pull_all(h, &grid.token, 5).await;
    let s = suspected_changes(&pulled);
    assert_eq!(s.len(), 1, "{pulled:?}");
    assert_eq!(s[0]["key"], entry.as_str());
    assert_eq!(s[0]["body"]["address"], ADDRESS);
    assert_eq!(s[0]["body"]["village_code"], VILLAGE);
    assert_eq!(s[0]["body"]["state"], "open");
    assert_eq!(s[0]["body"]["deadline"], in_days(5));
    assert!(
        s[0]["body"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("夜间打磨铝件")),
        "{s:?}"
    );
    let text = serde_json::to_string(&pulled).expect("json");
    assert!(
        !text.contains(REPORTER_PHONE) && !text.contains(REPORTER_NAME),
        "the pull carries the reporter"
    );
    // An older phone never sees the new kind.
    let old = pull_all(h, &grid.token, 4).await;
    assert!(suspected_changes(&old).is_empty(), "{old:?}");

    let confirmation = answer(1, &entry, VILLAGE, Some(&found_uscc()));
    let (status, v) = h
        .push(&grid.token, std::slice::from_ref(&confirmation))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(status_of(&v), [("accepted".into(), String::new())], "{v}");

    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(got["status"], "verifying", "{got}");
    assert_eq!(got["enterprise_uscc"], found_uscc());
    assert_eq!(got["enterprise_name"], "金坛区东村恒达铝制品厂");
    assert_eq!(got["assignee"], "grid-east");
    assert_eq!(got["deadline"], in_days(5));
    assert_eq!(got["address"], ADDRESS, "the reported address is kept");
    assert_eq!(got["suspected"]["state"], "confirmed");
    assert_eq!(got["suspected"]["confirmed_by"], "grid-east");
    assert_eq!(got["suspected"]["uscc"], found_uscc());

    let pulled = pull_all(h, &grid.token, 5).await;
    let unit = pulled
        .iter()
        .find(|c| c["kind"] == "enterprise" && c["body"]["uscc"] == found_uscc())
        .unwrap_or_else(|| panic!("the unit is not pulled: {pulled:?}"));
    assert_eq!(unit["body"]["registered_on_site"], true, "{unit}");
    assert_eq!(unit["body"]["address"], ADDRESS, "{unit}");
    let s = suspected_changes(&pulled);
    assert_eq!(s[0]["body"]["state"], "confirmed", "{s:?}");
    let a: Vec<&Value> = pulled
        .iter()
        .filter(|c| c["kind"] == "assignment" && c["body"]["id"] == got["assignment_id"])
        .collect();
    assert_eq!(a.len(), 1, "{pulled:?}");
    assert_eq!(a[0]["body"]["template_id"], "tip-verification");
    assert_eq!(a[0]["body"]["enterprise_uscc"], found_uscc());
    assert!(
        !serde_json::to_string(&pulled)
            .expect("json")
            .contains(REPORTER_PHONE),
        "the pull carries the reporter"
    );

    // The same record sent again (a lost answer) is counted once.
    let (_, v) = h.push(&grid.token, &[confirmation]).await;
    assert_eq!(status_of(&v)[0].0, "duplicate", "{v}");
    let (_, list) = h.get(&officer, "/v1/assignments").await;
    let tips: Vec<&Value> = list
        .as_array()
        .expect("assignments")
        .iter()
        .filter(|a| a["template_id"] == "tip-verification")
        .collect();
    assert_eq!(tips.len(), 1, "{list}");

    let before = blocking(h, |s| s.projection_dump().expect("dump")).await;
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("suspected_enterprise: ") && l.contains("confirmed")),
        "{before:?}"
    );
    exec_sql(
        h,
        "UPDATE suspected_enterprise SET state = 'open', uscc = NULL",
    )
    .await;
    let (_, changed) = blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    assert!(changed);
    let after = blocking(h, |s| s.projection_dump().expect("dump")).await;
    assert_eq!(before, after);
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(
        (&got["status"], &got["suspected"]["state"]),
        (&json!("verifying"), &json!("confirmed")),
        "{got}"
    );
}

/// 查无此单位: the tip is verified 不属实 with the note as finding, counted in the
/// summary and the ledger; no reward can be granted; a rebuild derives the same.
async fn a_suspected_enterprise_not_found_makes_the_tip_unsubstantiated(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let tip = record(h, &officer, address_tip(VILLAGE)).await;
    let id = tip["id"].as_str().expect("id").to_string();
    let entry = tip["suspected"]["id"].as_str().expect("entry").to_string();
    let (_, _, bytes) = get_export(h, &officer, "/v1/exports/tips.xlsx").await;
    let sheet = ledger_table(h, &bytes, "举报核查台账");
    assert_eq!(sheet.rows[0][sheet.col("状态")], "疑似单位待核实");

    let (_, v) = h
        .push(&grid.token, &[answer(1, &entry, VILLAGE, None)])
        .await;
    assert_eq!(status_of(&v), [("accepted".into(), String::new())], "{v}");
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(
        (&got["status"], &got["outcome"]),
        (&json!("verified"), &json!("unsubstantiated")),
        "{got}"
    );
    assert_eq!(got["finding"], "查无此单位：该地址为空置厂房，周边无人生产");
    assert_eq!(got["suspected"]["state"], "not_found");
    assert!(got["assignment_id"].is_null());
    let (_, summary) = h
        .get(&officer, &format!("/v1/tips/summary?division={TOWN}"))
        .await;
    assert_eq!(
        (
            &summary["received"],
            &summary["verified"],
            &summary["substantiated"],
            &summary["pending"]
        ),
        (&json!(1), &json!(1), &json!(0), &json!(0)),
        "{summary}"
    );
    let (_, _, bytes) = get_export(h, &officer, "/v1/exports/tips.xlsx").await;
    let sheet = ledger_table(h, &bytes, "举报核查台账");
    assert_eq!(sheet.rows[0][sheet.col("核查结论")], "不属实");
    assert_eq!(sheet.rows[0][sheet.col("状态")], "已核查");
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/tips/{id}/decision"),
        json!({"decision": "granted"}),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    let pulled = pull_all(h, &grid.token, 5).await;
    assert_eq!(suspected_changes(&pulled)[0]["body"]["state"], "not_found");

    let before = blocking(h, |s| s.projection_dump().expect("dump")).await;
    exec_sql(h, "UPDATE tip SET outcome = NULL, finding = NULL").await;
    blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    let after = blocking(h, |s| s.projection_dump().expect("dump")).await;
    assert_eq!(before, after);
}

/// A phone of another village is refused `forbidden_jurisdiction`; an answer naming an
/// entry the server lacks, another division than the entry's, or that does not hold
/// together is `payload_invalid`; a second answer changes nothing.
async fn answers_are_checked_against_the_entry_and_the_jurisdiction(h: &Harness) {
    blocking(h, |s| {
        s.create_user(
            "grid-west",
            Role::GridWorker,
            &DivisionCode::parse(NEIGHBOUR_VILLAGE).expect("code"),
        )
        .expect("user")
    })
    .await;
    let east = h.enroll("grid-east").await;
    let west = h.enroll("grid-west").await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let tip = record(h, &officer, address_tip(VILLAGE)).await;
    let entry = tip["suspected"]["id"].as_str().expect("entry").to_string();
    // The other village's phone never pulls it, and may not answer it.
    assert!(suspected_changes(&pull_all(h, &west.token, 5).await).is_empty());
    let (_, v) = h
        .push(
            &west.token,
            &[answer(1, &entry, VILLAGE, Some(&found_uscc()))],
        )
        .await;
    assert_eq!(
        status_of(&v),
        [("rejected".into(), "forbidden_jurisdiction".into())],
        "{v}"
    );
    let mut elsewhere = answer(2, &entry, NEIGHBOUR_VILLAGE, None);
    elsewhere.division_code = Some(NEIGHBOUR_VILLAGE.into());
    let unknown = answer(3, &Uuid::now_v7().to_string(), NEIGHBOUR_VILLAGE, None);
    let (_, v) = h.push(&west.token, &[elsewhere, unknown]).await;
    assert_eq!(
        status_of(&v),
        [
            ("rejected".into(), "payload_invalid".into()),
            ("rejected".into(), "payload_invalid".into())
        ],
        "{v}"
    );
    // A unit registered in another town cannot be claimed from here.
    let (_, v) = h
        .push(
            &east.token,
            &[answer(1, &entry, VILLAGE, Some(&uscc_far()))],
        )
        .await;
    assert_eq!(
        status_of(&v),
        [("rejected".into(), "forbidden_jurisdiction".into())],
        "{v}"
    );
    let mut junk = RecordEnvelope::new(
        Uuid::now_v7(),
        RecordKind::SuspectedConfirmation,
        2,
        "{\"a\":1}".into(),
    );
    junk.division_code = Some(VILLAGE.into());
    let (_, v) = h.push(&east.token, &[junk]).await;
    assert_eq!(status_of(&v)[0].1, "payload_invalid", "{v}");
    // The first answer decides; a second (another phone) is kept and changes nothing.
    let (_, v) = h
        .push(&east.token, &[answer(3, &entry, VILLAGE, None)])
        .await;
    assert_eq!(status_of(&v)[0].0, "accepted", "{v}");
    let (_, v) = h
        .push(
            &east.token,
            &[answer(4, &entry, VILLAGE, Some(&found_uscc()))],
        )
        .await;
    assert_eq!(status_of(&v)[0].0, "accepted", "{v}");
    let id = tip["id"].as_str().expect("id");
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(got["suspected"]["state"], "not_found", "{got}");
    assert!(got["enterprise_uscc"].is_null(), "{got}");
}

/// A tip recorded on a town has no entry until an officer names the village
/// (`POST /v1/tips/{id}/suspected`); a second time, or on an assigned tip, is 409; a
/// village outside the tip's division 422; an officer linking a tip by hand takes the
/// entry off the phones.
async fn an_officer_puts_an_unassigned_tip_before_the_sweep(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let tip = record(h, &officer, address_tip(TOWN)).await;
    assert!(tip["suspected"].is_null(), "{tip}");
    let id = tip["id"].as_str().expect("id").to_string();
    let path = format!("/v1/tips/{id}/suspected");
    let (status, v) = post(h, Some(&officer), &path, json!({})).await;
    assert_eq!(status, 422, "a town is not a village: {v}");
    let (status, v) = post(h, Some(&officer), &path, json!({"village": FAR_VILLAGE})).await;
    assert_eq!(status, 422, "{v}");
    let (status, v) = post(h, Some(&officer), &path, json!({"village": VILLAGE})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["division_code"], VILLAGE);
    assert_eq!(v["suspected"]["state"], "open", "{v}");
    let (status, v) = post(h, Some(&officer), &path, json!({"village": VILLAGE})).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(
        suspected_changes(&pull_all(h, &grid.token, 5).await).len(),
        1
    );

    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/tips/{id}/enterprise"),
        json!({"enterprise_uscc": uscc_here(), "assignee": "grid-east"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let pulled = pull_all(h, &grid.token, 5).await;
    let s = suspected_changes(&pulled);
    assert_eq!(s[0]["body"]["state"], "confirmed", "{s:?}");
    assert_eq!(s[0]["body"]["uscc"], uscc_here(), "{s:?}");
}

const BEFORE_0022: &str = "INSERT INTO app_user (id, name, role, jurisdiction, created_at)
     VALUES ('u1', '老科长', 'officer', '320413000000', '2026-01-01T00:00:00Z');
     INSERT INTO tip (id, division_code, source, content, address, received_on, recorded_by,
         recorded_at, deadline)
     VALUES ('01900000-0000-7000-8000-000000000001', '320413100201', 'other', '旧举报',
         '东村旧厂房', '2026-01-01', '老科长', '2026-01-01T00:00:00Z', '2099-01-01');";

/// A tip recorded before migration 0022 is unassigned with no entry after it, and an
/// officer can put it before the sweep; on both databases.
#[test]
fn migration_0022_keeps_earlier_tips_and_lets_them_go_before_the_sweep() {
    let check = |store: gridwalk_server::Store| {
        let actor = gridwalk_server::work::Actor {
            user_name: "老科长".into(),
            role: Role::Officer,
            scope: Some(DivisionCode::parse(DISTRICT).expect("code")),
            source: "test".into(),
        };
        let id = Uuid::parse_str("01900000-0000-7000-8000-000000000001").expect("id");
        let tip = store.tip(&actor, id).expect("the old tip");
        assert!(tip.suspected.is_none(), "{tip:?}");
        assert_eq!(tip.status, gridwalk_server::tips::TipStatus::Unassigned);
        let tip = store
            .tip_suspected(&actor, id, &Default::default())
            .expect("before the sweep");
        let s = tip.suspected.expect("an entry");
        assert_eq!(
            (s.state.as_str(), s.address.as_str()),
            ("open", "东村旧厂房")
        );
    };
    upgrade_both(22, BEFORE_0022, |store, _| check(store));
}
