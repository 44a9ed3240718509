//! Tip-offs (举报核查, docs/tips.md) over HTTP, against SQLite and PostgreSQL: a tip
//! becomes a verification assignment the grid worker's phone pulls; the verification
//! inspection gives the outcome (and a rejecting review takes it back); the summary,
//! the ledger and `projections rebuild` agree; the reward decision; the reporter kept
//! apart and shown only to the role that must see it; every route scoped to the
//! caller's jurisdiction.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use common::*;
use gridwalk_checklist::{Answer, AnswerValue, YesNoNa};
use gridwalk_protocol::{RecordEnvelope, RecordKind, Role};
use serde_json::{json, Value};
use uuid::Uuid;

both_databases!(
    a_tip_is_verified_by_the_assigned_inspection_and_counted,
    the_reporter_is_shown_only_to_the_recorder_and_administrators,
    every_tip_route_is_scoped_to_the_callers_jurisdiction,
    tips_are_checked_before_they_are_recorded,
    console_tip_writes_need_the_csrf_token,
    a_tip_whose_verification_was_cancelled_stays_pending_and_is_assigned_again,
);

/// Status and body of a GET.
async fn get_bytes_of(h: &Harness, token: &str, path: &str) -> (u16, Vec<u8>) {
    let (status, _, body) = get_export(h, token, path).await;
    (status, body)
}

const REPORTER_PHONE: &str = "13951234567";
const REPORTER_NAME: &str = "钱举报";

fn in_days(n: i64) -> String {
    (gridwalk_checklist::hazard::china_date(chrono::Utc::now()) + chrono::Duration::days(n))
        .to_string()
}

fn accepted(v: &Value) {
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
}

fn tip_request(assignee: &str) -> Value {
    json!({
        "source": "hotline_12350",
        "content": "群众来电反映该厂夜间违规打磨作业，除尘器长期不开",
        "enterprise_uscc": uscc_here(),
        "received_on": in_days(0),
        "deadline": in_days(5),
        "assignee": assignee,
        "reporter_name": REPORTER_NAME,
        "reporter_contact": REPORTER_PHONE,
    })
}

/// The verification inspection a phone pushes: `tip-verification` on the enterprise,
/// finalized now, answering `outcome`.
fn verification(seq: u64, outcome: &str) -> (RecordEnvelope, Uuid) {
    let id = Uuid::now_v7();
    let mut p = support::inspection_payload(id, &uscc_here(), &support::fake_photos(seq), seq);
    p.template_id = "tip-verification".into();
    p.template_version = 1;
    p.inspector = "grid-east".into();
    p.finalized_at = chrono::Utc::now();
    p.started_at = p.finalized_at - chrono::Duration::minutes(20);
    p.findings.clear();
    p.answers.clear();
    p.answers.insert(
        "TV-01".into(),
        Answer::new(AnswerValue::Choice(vec![outcome.into()])),
    );
    p.answers.insert(
        "TV-02".into(),
        Answer::new(AnswerValue::Text("夜间确有打磨作业，除尘器未开启".into())),
    );
    p.answers.insert(
        "TV-04".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::Yes)),
    );
    p.answers.insert(
        "TV-05".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::No)),
    );
    let text = String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("canonical"))
        .expect("utf-8");
    let mut e = RecordEnvelope::new(id, RecordKind::Inspection, seq, text);
    e.enterprise_uscc = Some(uscc_here());
    (e, id)
}

async fn record(h: &Harness, token: &str, body: Value) -> Value {
    let (status, v) = post(h, Some(token), "/v1/tips", body).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// Officer records a tip → the grid worker's phone pulls the verification → its
/// inspection (属实) is accepted → the tip is verified, counted and in the ledger; a
/// rejecting review takes the outcome back and an approving one restores it; the
/// reward decision follows the outcome; a rebuild derives the same.
async fn a_tip_is_verified_by_the_assigned_inspection_and_counted(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let tip = record(h, &officer, tip_request("grid-east")).await;
    let id = tip["id"].as_str().expect("id").to_string();
    assert_eq!(tip["status"], "verifying", "{tip}");
    assert_eq!(tip["division_code"], VILLAGE);
    assert_eq!(tip["assignee"], "grid-east");
    assert!(tip["outcome"].is_null());
    // A reward is decided after the verification, not before.
    let decision = format!("/v1/tips/{id}/decision");
    let (status, v) = post(h, Some(&officer), &decision, json!({"decision": "granted"})).await;
    assert_eq!(status, 409, "{v}");

    let pulled = pull_all(h, &grid.token, 3).await;
    let a: Vec<&Value> = pulled
        .iter()
        .filter(|c| c["kind"] == "assignment")
        .collect();
    assert_eq!(a.len(), 1, "{pulled:?}");
    assert_eq!(a[0]["body"]["template_id"], "tip-verification");
    assert_eq!(a[0]["body"]["due"], in_days(5));
    assert_eq!(a[0]["body"]["id"], tip["assignment_id"]);
    let note = a[0]["body"]["note"].as_str().unwrap_or("");
    assert!(note.contains("夜间违规打磨"), "{note}");
    assert!(note.starts_with("举报核查（12350热线）"), "{note}");

    // A second tip on the same enterprise joins the open verification: the phone gets
    // its content too, and the earlier deadline.
    let mut other = tip_request("grid-east");
    other["content"] = json!("内部职工反映抛光车间粉尘清扫记录造假");
    other["deadline"] = json!(in_days(3));
    let second = record(h, &officer, other).await;
    assert_eq!(second["assignment_id"], tip["assignment_id"], "{second}");
    let pulled = pull_all(h, &grid.token, 3).await;
    let latest = pulled
        .iter()
        .rev()
        .find(|c| c["kind"] == "assignment")
        .unwrap_or_else(|| panic!("{pulled:?}"));
    let note = latest["body"]["note"].as_str().unwrap_or("");
    assert!(
        note.contains("夜间违规打磨") && note.contains("清扫记录造假"),
        "{note}"
    );
    assert_eq!(latest["body"]["due"], in_days(3), "{latest}");
    assert!(
        !note.contains(REPORTER_PHONE) && !note.contains(REPORTER_NAME),
        "{note}"
    );

    let (record, inspection) = verification(1, "substantiated");
    let (_, v) = h.push(&grid.token, &[record]).await;
    accepted(&v);
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(got["status"], "verified", "{got}");
    assert_eq!(got["outcome"], "substantiated");
    assert_eq!(got["verified_by"], inspection.to_string());
    assert_eq!(got["finding"], "夜间确有打磨作业，除尘器未开启");
    let (_, both) = h.get(&officer, "/v1/tips?status=verified").await;
    assert_eq!(both.as_array().map(Vec::len), Some(2), "{both}");
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
        (&json!(2), &json!(2), &json!(2), &json!(0)),
        "{summary}"
    );
    assert_eq!(summary["children"][0]["code"], VILLAGE, "{summary}");
    assert_eq!(summary["children"][0]["verified"], 2, "{summary}");

    // A rejected verification is no verification; approved again, it stands again.
    let review = format!("/v1/inspections/{inspection}/review");
    let (status, _) = post(
        h,
        Some(&officer),
        &review,
        json!({"state": "rejected", "comment": "未拍摄除尘器现场照片"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(
        (&got["status"], &got["outcome"]),
        (&json!("verifying"), &Value::Null),
        "{got}"
    );
    let (status, _) = post(h, Some(&officer), &review, json!({"state": "approved"})).await;
    assert_eq!(status, 200);

    let (status, v) = post(
        h,
        Some(&officer),
        &decision,
        json!({"decision": "granted", "amount_yuan": 2000, "note": "按举报奖励办法第八条"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (&v["outcome"], &v["reward_decision"], &v["reward_yuan"]),
        (&json!("substantiated"), &json!("granted"), &json!(2000)),
        "{v}"
    );
    assert_eq!(v["reward_by"], "officer");
    // The decision stands on that verification: rejected, the tip waits for a new one
    // and for a new decision; approved again, both stand again.
    let (status, _) = post(
        h,
        Some(&officer),
        &review,
        json!({"state": "rejected", "comment": "复核：照片与现场不符"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(
        (&got["status"], &got["reward_decision"]),
        (&json!("verifying"), &Value::Null),
        "{got}"
    );
    let (status, _) = post(h, Some(&officer), &review, json!({"state": "approved"})).await;
    assert_eq!(status, 200);
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(got["reward_decision"], "granted", "{got}");

    let (status, bytes) = get_bytes_of(
        h,
        &officer,
        &format!("/v1/exports/tips.xlsx?division={TOWN}"),
    )
    .await;
    assert_eq!(status, 200);
    let sheet = ledger_table(h, &bytes, "举报核查台账");
    let col = |name: &str| sheet.col(name);
    let rows: Vec<&Vec<String>> = sheet.rows.iter().collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = rows
        .iter()
        .find(|r| r[col("奖励决定")] == "给予奖励")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(row[col("举报来源")], "12350热线");
    assert_eq!(row[col("核查结论")], "属实");
    assert_eq!(row[col("状态")], "已核查");
    assert_eq!(row[col("核查人")], "grid-east");
    assert_eq!(row[col("奖励金额(元)")], "2000");
    assert_eq!(row[col("统一社会信用代码")], uscc_here());

    // Rebuilt from the records, the outcomes come out the same.
    let before = blocking(h, |s| s.projection_dump().expect("dump")).await;
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("tip: ") && l.contains("substantiated")),
        "{before:?}"
    );
    // A projection bug (here: outcomes lost) is mended by a rebuild from the records.
    exec_sql(
        h,
        "UPDATE tip SET outcome = NULL, verified_by = NULL, finding = NULL",
    )
    .await;
    let (report, changed) = blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    assert!(report.records > 0 && changed);
    let after = blocking(h, |s| s.projection_dump().expect("dump")).await;
    assert_eq!(before, after);
}

/// The reporter's phone number appears nowhere another officer, the phone or a ledger
/// can read; the recording officer and an administrator read it through the one
/// guarded path, and every read is logged.
async fn the_reporter_is_shown_only_to_the_recorder_and_administrators(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let recorder = officer_session(h, "officer", DISTRICT).await;
    let colleague = officer_session(h, "officer-jincheng", TOWN).await;
    let admin = session_as(h, "admin-district", Role::Admin, DISTRICT).await;
    let tip = record(h, &recorder, tip_request("grid-east")).await;
    let id = tip["id"].as_str().expect("id").to_string();
    assert!(!tip.to_string().contains(REPORTER_PHONE), "{tip}");
    assert_eq!(tip["reporter_visible"], true);

    let hidden = |what: &str, bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(REPORTER_PHONE) && !text.contains(REPORTER_NAME),
            "{what} shows the reporter: {text}"
        );
    };
    for path in [
        format!("/v1/tips/{id}"),
        "/v1/tips".to_string(),
        format!("/v1/tips?division={VILLAGE}&status=verifying"),
        format!("/v1/tips/summary?division={TOWN}"),
        "/v1/assignments".to_string(),
    ] {
        let (status, bytes) = get_bytes_of(h, &colleague, &path).await;
        assert_eq!(status, 200, "{path}");
        hidden(&path, &bytes);
    }
    let (_, detail) = h.get(&colleague, &format!("/v1/tips/{id}")).await;
    assert_eq!(detail["reporter_visible"], false, "{detail}");
    let (status, bytes) = get_bytes_of(h, &colleague, &format!("/v1/tips/{id}/reporter")).await;
    assert_eq!(status, 403);
    hidden("the refused reporter", &bytes);
    // The ledger, for anyone: no reporter column, no reporter in any cell.
    for token in [&colleague, &recorder, &admin] {
        let (status, bytes) = get_bytes_of(h, token, "/v1/exports/tips.xlsx").await;
        assert_eq!(status, 200);
        let cells = ledger_cells(h, &bytes);
        assert_eq!(cells.iter().filter(|r| r[0] == "1").count(), 1, "{cells:?}");
        for row in &cells {
            for cell in row {
                assert!(
                    !cell.contains(REPORTER_PHONE) && !cell.contains(REPORTER_NAME),
                    "{cell}"
                );
            }
        }
    }
    // The phone gets the work, never the reporter.
    let pulled = pull_all(h, &grid.token, 3).await;
    assert!(pulled.iter().any(|c| c["kind"] == "assignment"));
    hidden(
        "the pull",
        serde_json::to_string(&pulled).expect("json").as_bytes(),
    );
    let (status, bytes) = get_bytes_of(h, &grid.token, &format!("/v1/tips/{id}")).await;
    assert_eq!(status, 403, "a grid worker's token does not read tips");
    hidden("a grid worker's answer", &bytes);

    for token in [&recorder, &admin] {
        let resp = h
            .http
            .get(h.url(&format!("/v1/tips/{id}/reporter")))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let v: Value = resp.json().await.expect("json");
        assert_eq!(
            (&v["name"], &v["contact"]),
            (&json!(REPORTER_NAME), &json!(REPORTER_PHONE)),
            "{v}"
        );
    }
    let tip_id = Uuid::parse_str(&id).expect("uuid");
    let reads = blocking(h, move |s| {
        let admin = s.actor("admin-district").expect("admin");
        s.tip_reporter_reads(&admin, tip_id).expect("reads")
    })
    .await;
    let readers: Vec<&str> = reads.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(readers, ["officer", "admin-district"]);
    // An anonymous tip has nothing to show, to anyone.
    let mut anonymous = tip_request("grid-east");
    anonymous["reporter_name"] = Value::Null;
    anonymous["reporter_contact"] = Value::Null;
    anonymous["enterprise_uscc"] = json!(uscc_neighbour());
    anonymous["assignee"] = json!("expert-jincheng");
    let v = record(h, &recorder, anonymous).await;
    assert_eq!(v["reporter_visible"], false, "{v}");
}

/// Another town's officer gets 404 on every tip route, as if nothing were there.
async fn every_tip_route_is_scoped_to_the_callers_jurisdiction(h: &Harness) {
    let officer = officer_session(h, "officer", DISTRICT).await;
    let other = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    let tip = record(h, &officer, tip_request("grid-east")).await;
    let id = tip["id"].as_str().expect("id").to_string();
    for path in [
        format!("/v1/tips/{id}"),
        format!("/v1/tips/{id}/reporter"),
        format!("/v1/tips?division={TOWN}"),
        format!("/v1/tips/summary?division={TOWN}"),
        format!("/v1/exports/tips.xlsx?division={TOWN}"),
    ] {
        let (status, v) = h.get(&other, &path).await;
        assert_eq!(status, 404, "{path}: {v}");
    }
    for (path, body) in [
        (
            format!("/v1/tips/{id}/decision"),
            json!({"decision": "none"}),
        ),
        (
            format!("/v1/tips/{id}/enterprise"),
            json!({"enterprise_uscc": uscc_far(), "assignee": "expert-rulin"}),
        ),
    ] {
        let (status, v) = post(h, Some(&other), &path, body).await;
        assert_eq!(status, 404, "{path}: {v}");
    }
    // Recording a tip on another town's enterprise, or division, is 404 too.
    let (status, v) = post(h, Some(&other), "/v1/tips", tip_request("grid-east")).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = post(
        h,
        Some(&other),
        "/v1/tips",
        json!({"source": "other", "content": "x", "address": "金城镇某路", "division": VILLAGE,
            "received_on": in_days(0), "deadline": in_days(3)}),
    )
    .await;
    assert_eq!(status, 404, "{v}");
    // Their own lists hold nothing of it.
    let (_, mine) = h.get(&other, "/v1/tips").await;
    assert_eq!(mine, json!([]));
    let (_, summary) = h.get(&other, "/v1/tips/summary").await;
    assert_eq!(summary["received"], 0, "{summary}");
}

/// What a tip must say, and what it may not.
async fn tips_are_checked_before_they_are_recorded(h: &Harness) {
    let officer = officer_session(h, "officer", DISTRICT).await;
    let with = |k: &str, v: Value| {
        let mut r = tip_request("grid-east");
        r[k] = v;
        r
    };
    for (bad, status, why) in [
        (with("content", json!("  ")), 422, "content"),
        (with("received_on", json!(in_days(1))), 422, "future"),
        (with("deadline", json!(in_days(-1))), 422, "passed"),
        (with("assignee", Value::Null), 422, "verifies"),
        (with("assignee", json!("expert-rulin")), 422, "outside"),
        (with("assignee", json!("officer")), 422, "grid worker"),
        (with("source", json!("letter")), 400, ""),
        (
            with("reporter_contact", json!("1".repeat(300))),
            422,
            "reporter_contact",
        ),
    ] {
        let (s, v) = post(h, Some(&officer), "/v1/tips", bad.clone()).await;
        assert_eq!(s, status, "{bad}: {v}");
        assert!(v["detail"].as_str().unwrap_or("").contains(why), "{v}");
    }
    // A tip naming only an address is recorded, waiting for an enterprise.
    let v = record(
        h,
        &officer,
        json!({"source": "internal", "content": "村东无名小作坊铝粉抛光", "address": "金城镇东村3组",
            "division": VILLAGE, "received_on": in_days(-2), "deadline": in_days(10),
            "reporter_contact": REPORTER_PHONE}),
    )
    .await;
    assert_eq!(
        (&v["status"], &v["assignment_id"], &v["division_code"]),
        (&json!("unassigned"), &Value::Null, &json!(VILLAGE)),
        "{v}"
    );
    let (s, v) = post(
        h,
        Some(&officer),
        "/v1/tips",
        json!({"source": "other", "content": "x", "address": "某地", "division": VILLAGE,
            "assignee": "grid-east", "received_on": in_days(0), "deadline": in_days(3)}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (_, pending) = h.get(&officer, "/v1/tips?status=unassigned").await;
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending}");
    // The sweep registers the unit under its real USCC; the officer links the tip to it
    // and its verification is assigned, once.
    let unassigned = pending[0]["id"].as_str().expect("id").to_string();
    let link = format!("/v1/tips/{unassigned}/enterprise");
    let (s, v) = post(
        h,
        Some(&officer),
        &link,
        json!({"enterprise_uscc": uscc_neighbour(), "assignee": "grid-east", "deadline": in_days(-1)}),
    )
    .await;
    assert_eq!(s, 422, "a past deadline: {v}");
    let (s, v) = post(
        h,
        Some(&officer),
        &link,
        json!({"enterprise_uscc": uscc_neighbour(), "assignee": "expert-jincheng"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["status"], &v["enterprise_uscc"], &v["assignee"]),
        (
            &json!("verifying"),
            &json!(uscc_neighbour()),
            &json!("expert-jincheng")
        ),
        "{v}"
    );
    assert_eq!(v["division_code"], NEIGHBOUR_VILLAGE);
    assert_eq!(
        v["address"], "金城镇东村3组",
        "the reported address is kept"
    );
    let (s, again) = post(
        h,
        Some(&officer),
        &link,
        json!({"enterprise_uscc": uscc_here(), "assignee": "grid-east"}),
    )
    .await;
    assert_eq!(s, 409, "{again}");
    let (s, _) = h.get(&officer, "/v1/tips?status=lost").await;
    assert_eq!(s, 400);
    // A grid worker's device token neither records nor lists tips.
    let grid = h.enroll("grid-east").await;
    let (s, _) = post(h, Some(&grid.token), "/v1/tips", tip_request("grid-east")).await;
    assert_eq!(s, 403);
    let (s, _) = h.get(&grid.token, "/v1/tips/summary").await;
    assert_eq!(s, 403);
}

/// From the console (the session cookie), recording a tip and deciding a reward need the
/// session's CSRF token; reading the reporter is a read.
async fn console_tip_writes_need_the_csrf_token(h: &Harness) {
    officer_session(h, "officer-cookie", DISTRICT).await;
    let resp = h
        .http
        .post(h.url("/v1/login"))
        .json(&json!({"user_name": "officer-cookie", "password": PASSWORD, "session_cookie": true}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    let v: Value = resp.json().await.expect("json");
    let csrf = v["csrf_token"].as_str().expect("csrf").to_string();
    let send = |path: &str, body: Value, token: Option<&str>| {
        let mut req = h
            .http
            .post(h.url(path))
            .header("Cookie", &cookie)
            .json(&body);
        if let Some(t) = token {
            req = req.header("X-CSRF-Token", t);
        }
        req.send()
    };
    let resp = send("/v1/tips", tip_request("grid-east"), None)
        .await
        .expect("post");
    assert_eq!(resp.status(), 403);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["code"], "csrf_failed", "{v}");
    let none = blocking(h, |s| {
        let op = gridwalk_server::work::Actor::operator();
        let d = gridwalk_core::DivisionCode::parse(DISTRICT).expect("code");
        s.tips(&op, &d, None).expect("tips").len()
    })
    .await;
    assert_eq!(none, 0, "nothing recorded without the token");
    let resp = send("/v1/tips", tip_request("grid-east"), Some(&csrf))
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    let tip: Value = resp.json().await.expect("json");
    let id = tip["id"].as_str().expect("id");
    let resp = send(
        &format!("/v1/tips/{id}/decision"),
        json!({"decision": "none"}),
        None,
    )
    .await
    .expect("post");
    assert_eq!(resp.status(), 403, "a reward decision without the token");
    let reporter = h
        .http
        .get(h.url(&format!("/v1/tips/{id}/reporter")))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(
        reporter.status(),
        200,
        "the recorder reads with the cookie alone"
    );
}

/// The verification's assignee leaves and the assignment is cancelled: the tip is still
/// unverified (pending, overdue after its deadline) and can be assigned again.
async fn a_tip_whose_verification_was_cancelled_stays_pending_and_is_assigned_again(h: &Harness) {
    h.enroll("grid-east").await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let tip = record(h, &officer, tip_request("grid-east")).await;
    let id = tip["id"].as_str().expect("id").to_string();
    let first = tip["assignment_id"].as_str().expect("assigned").to_string();
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/assignments/{first}/cancel"),
        json!({"reason": "网格员调离"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, got) = h.get(&officer, &format!("/v1/tips/{id}")).await;
    assert_eq!(got["status"], "cancelled", "{got}");
    let (_, summary) = h
        .get(&officer, &format!("/v1/tips/summary?division={TOWN}"))
        .await;
    assert_eq!(
        (&summary["received"], &summary["pending"]),
        (&json!(1), &json!(1)),
        "{summary}"
    );
    let (status, again) = post(
        h,
        Some(&officer),
        &format!("/v1/tips/{id}/enterprise"),
        json!({"enterprise_uscc": uscc_here(), "assignee": "grid-east"}),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "verifying", "{again}");
    assert_ne!(
        again["assignment_id"].as_str(),
        Some(first.as_str()),
        "{again}"
    );
}
