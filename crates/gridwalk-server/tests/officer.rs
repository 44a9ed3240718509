//! The officer's side of the campaign over HTTP, against SQLite and PostgreSQL: sign-in
//! with a password, hazard actions that reach the phones, reviews, assignments fulfilled
//! by inspections, reproducible supervision samples, and every officer endpoint scoped to
//! the caller's jurisdiction.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use common::*;
use gridwalk_protocol::{RecordEnvelope, RecordKind};
use serde_json::{json, Value};
use uuid::Uuid;

both_databases!(
    officer_hazard_actions_are_events_that_reach_the_phones,
    reviews_reach_the_inspectors_phone_and_the_latest_stands,
    assignments_are_pulled_and_fulfilled_by_the_assignees_inspection,
    samples_are_reproducible_and_become_assignments,
    officers_sign_in_with_a_password_and_sessions_do_not_sync,
    every_officer_endpoint_is_scoped_to_the_callers_jurisdiction,
    an_officers_actions_at_once_take_one_position_each,
    console_sessions_ride_an_httponly_cookie_with_a_csrf_token,
    repeated_failed_sign_ins_slow_down_then_lock_the_name,
    the_template_picker_lists_each_template_once_at_its_newest,
    an_inspection_is_taken_only_with_a_template_of_the_pushers_role_or_an_assignment,
);

fn of_kind<'a>(changes: &'a [Value], kind: &str) -> Vec<&'a Value> {
    changes.iter().filter(|c| c["kind"] == kind).collect()
}

fn accepted(v: &Value) {
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
}

/// An inspection by `inspector` with the spot-check template, finalized now.
fn inspection_now(seq: u64, inspector: &str) -> (RecordEnvelope, Uuid) {
    let id = Uuid::now_v7();
    let mut p = support::inspection_payload(id, &uscc_here(), &support::fake_photos(seq), seq);
    p.inspector = inspector.to_string();
    p.finalized_at = chrono::Utc::now();
    p.started_at = p.finalized_at - chrono::Duration::minutes(30);
    let text = String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("canonical"))
        .expect("utf-8");
    let mut e = RecordEnvelope::new(id, RecordKind::Inspection, seq, text);
    e.enterprise_uscc = Some(uscc_here());
    (e, id)
}

/// `(status, code)` of each result of a push answer.
fn outcomes(v: &Value) -> Vec<(String, String)> {
    v["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["status"].as_str().unwrap_or_default().to_string(),
                        r["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// [`inspection_now`] with its payload changed by `change` (and hashed again).
fn inspection_changed(
    seq: u64,
    inspector: &str,
    change: impl FnOnce(&mut gridwalk_checklist::FinalizedInspection),
) -> RecordEnvelope {
    let (mut e, _) = inspection_now(seq, inspector);
    let mut p: gridwalk_checklist::FinalizedInspection =
        serde_json::from_str(&e.payload).expect("payload");
    change(&mut p);
    e.payload = String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("canonical"))
        .expect("utf-8");
    e.payload_sha256 = gridwalk_protocol::sha256_hex(e.payload.as_bytes());
    e
}

fn in_days(n: i64) -> String {
    (gridwalk_checklist::hazard::china_date(chrono::Utc::now()) + chrono::Duration::days(n))
        .to_string()
}

/// An officer's plan (五定), listing (挂牌督办) and extension are hazard events: checked
/// against the role table and the folded state, listed with the hazard, and pulled by
/// the phones of the division (the 五定 only by protocol-3 phones, which know it).
async fn officer_hazard_actions_are_events_that_reach_the_phones(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let grid = h.enroll("grid-east").await;
    let hazard = Uuid::now_v7();
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(1, hazard, "expert-jincheng", "major")],
        )
        .await;
    accepted(&v);
    let officer = officer_session(h, "officer", DISTRICT).await;
    let path = format!("/v1/hazards/{hazard}/events");

    let plan = json!({"kind": "plan_set", "measures": "加装泄爆片", "responsible": "王建国",
        "funds_yuan": 48000, "deadline": "2099-05-31", "interim_measures": "停用3号除尘器"});
    let (status, state) = post(h, Some(&officer), &path, plan.clone()).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["deadline"], "2099-05-31");
    assert_eq!(state["plan"]["responsible"], "王建国");
    let (status, v) = post(
        h,
        Some(&officer),
        &path,
        json!({"kind": "listed_supervision", "notice_no": "金安督〔2026〕3号",
            "supervising_body": "金坛区安委办", "deadline": "2099-04-30"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // A plan may not push the deadline back; closing needs a passed re-inspection.
    let mut later = plan.clone();
    later["deadline"] = json!("2099-12-31");
    let (status, v) = post(h, Some(&officer), &path, later).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("hazard_transition")),
        "{v}"
    );
    let (status, v) = post(h, Some(&officer), &path, json!({"kind": "closed"})).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("hazard_transition")),
        "{v}"
    );
    // A grid worker may not extend a deadline; nobody creates a hazard from the console.
    let (status, v) = post(
        h,
        Some(&grid.token),
        &path,
        json!({"kind": "deadline_extended", "new_deadline": "2100-01-01", "reason": "r"}),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("forbidden_role")),
        "{v}"
    );
    // A hazard is created, and re-inspected with its photos, on site from a phone.
    let created: Value =
        serde_json::from_str(&created_hazard(9, hazard, "officer", "general").payload)
            .expect("json");
    let mut kind = created.clone();
    for k in ["id", "hazard_id", "at", "actor"] {
        kind.as_object_mut().map(|o| o.remove(k));
    }
    let (status, v) = post(h, Some(&officer), &path, kind).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    let (status, v) = post(
        h,
        Some(&officer),
        &path,
        json!({"kind": "reinspected", "passed": true, "after_photo_sha256s": ["a".repeat(64)]}),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    let (status, v) = post(
        h,
        Some(&officer),
        &path,
        json!({"kind": "assigned", "to": "  "}),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    let (status, v) = post(
        h,
        Some(&officer),
        &path,
        json!({"kind": "deadline_extended", "new_deadline": "2099-08-31", "reason": "设备采购周期"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");

    let (status, list) = h
        .get(&officer, &format!("/v1/hazards?division={TOWN}"))
        .await;
    assert_eq!(status, 200);
    let item = &list[0];
    assert_eq!(item["id"], hazard.to_string());
    assert_eq!(item["listed"], true);
    assert_eq!(item["deadline"], "2099-08-31");
    assert_eq!(item["plan"]["measures"], "加装泄爆片");
    assert_eq!(item["event_count"], 4);
    let (status, detail) = h.get(&officer, &format!("/v1/hazards/{hazard}")).await;
    assert_eq!(status, 200, "{detail}");
    let actors: Vec<&str> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(actors, ["expert-jincheng", "officer", "officer", "officer"]);

    // The phones of the division pull them; a protocol-2 phone gets all but the 五定.
    let kinds = |changes: &[Value]| -> Vec<String> {
        of_kind(changes, "hazard_event")
            .iter()
            .filter_map(|c| c["body"]["kind"].as_str().map(str::to_string))
            .collect()
    };
    let new = kinds(&pull_all(h, &grid.token, 3).await);
    assert_eq!(
        new,
        [
            "created",
            "plan_set",
            "listed_supervision",
            "deadline_extended"
        ]
    );
    let old = kinds(&pull_all(h, &grid.token, 2).await);
    assert_eq!(old, ["created", "listed_supervision", "deadline_extended"]);

    let before = blocking(h, |s| s.projection_dump().expect("dump")).await;
    let (_, changed) = blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    assert!(!changed);
    assert_eq!(
        blocking(h, |s| s.projection_dump().expect("dump")).await,
        before
    );
}

/// An officer reviews an inspection; the review reaches the inspector's phone
/// (protocol 3) and the inspection list; a later review replaces it.
async fn reviews_reach_the_inspectors_phone_and_the_latest_stands(h: &Harness) {
    let grid = h.enroll("expert-jincheng").await;
    let (record, inspection) = inspection_now(1, "expert-jincheng");
    let (_, v) = h.push(&grid.token, &[record]).await;
    accepted(&v);
    let officer = officer_session(h, "officer", DISTRICT).await;
    let path = format!("/v1/inspections/{inspection}/review");
    let (status, v) = post(h, Some(&officer), &path, json!({"state": "has_issues"})).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("invalid_request")),
        "{v}"
    );
    let (status, v) = post(
        h,
        Some(&officer),
        &path,
        json!({"state": "has_issues", "comment": "泄爆口照片不清晰，请补拍"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, list) = h
        .get(
            &officer,
            &format!("/v1/inspections?division={TOWN}&review=has_issues"),
        )
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["review_comment"], "泄爆口照片不清晰，请补拍");
    let (_, none) = h.get(&officer, "/v1/inspections?review=unreviewed").await;
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let changes = pull_all(h, &grid.token, 3).await;
    let reviews = of_kind(&changes, "review");
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["body"]["state"], "has_issues");
    assert_eq!(reviews[0]["key"], inspection.to_string());
    assert!(of_kind(&pull_all(h, &grid.token, 2).await, "review").is_empty());
    // A grid worker does not review.
    let (status, _) = post(h, Some(&grid.token), &path, json!({"state": "approved"})).await;
    assert_eq!(status, 403);
    let (status, _) = post(h, Some(&officer), &path, json!({"state": "approved"})).await;
    assert_eq!(status, 200);
    let changes = pull_all(h, &grid.token, 3).await;
    let reviews = of_kind(&changes, "review");
    assert_eq!(reviews.len(), 1, "one review per inspection, the latest");
    assert_eq!(reviews[0]["body"]["state"], "approved");
    let (status, _) = post(
        h,
        Some(&officer),
        &format!("/v1/inspections/{}/review", Uuid::now_v7()),
        json!({"state": "approved"}),
    )
    .await;
    assert_eq!(status, 404);
    let (_, changed) = blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    assert!(!changed);
}

/// An officer assigns an enterprise to a grid worker; the phone pulls it; the grid
/// worker's inspection with that template fulfils it. Reassign and cancel are events.
async fn assignments_are_pulled_and_fulfilled_by_the_assignees_inspection(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let request = |assignee: &str, template: &str, due: &str| {
        json!({"assignee": assignee, "template_id": template, "due": due, "note": "百日攻坚复查",
            "targets": {"enterprises": [uscc_here()]}})
    };
    let (status, v) = post(
        h,
        Some(&officer),
        "/v1/assignments",
        request("grid-east", "supervision-spot-check", &in_days(7)),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let id = v["created"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(v["created"][0]["status"], "open", "{v}");
    // The same work is not assigned twice; bad requests say what is wrong.
    let (_, again) = post(
        h,
        Some(&officer),
        "/v1/assignments",
        request("grid-east", "supervision-spot-check", &in_days(7)),
    )
    .await;
    assert_eq!(again["created"].as_array().map(Vec::len), Some(0));
    assert_eq!(again["already_open"][0], uscc_here());
    let flood = json!({"assignee": "grid-east", "template_id": "supervision-spot-check",
        "due": in_days(7), "targets": {"enterprises": vec![uscc_here(); gridwalk_server::work::MAX_ASSIGNMENTS_PER_REQUEST + 1]}});
    let (status, v) = post(h, Some(&officer), "/v1/assignments", flood).await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["detail"].as_str().unwrap_or("").contains("at most"),
        "{v}"
    );
    for (bad, why) in [
        (
            request("expert-rulin", "supervision-spot-check", &in_days(7)),
            "outside",
        ),
        (
            request("grid-east", "no-such-template", &in_days(7)),
            "template",
        ),
        (
            request("grid-east", "supervision-spot-check", &in_days(-2)),
            "passed",
        ),
        (
            request("officer", "supervision-spot-check", &in_days(7)),
            "grid workers",
        ),
    ] {
        let (status, v) = post(h, Some(&officer), "/v1/assignments", bad).await;
        assert_eq!(status, 422, "{v}");
        assert!(v["detail"].as_str().unwrap_or("").contains(why), "{v}");
    }
    let pulled = pull_all(h, &grid.token, 3).await;
    let a = of_kind(&pulled, "assignment");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["body"]["assignee"], "grid-east");
    assert_eq!(a[0]["body"]["due"], in_days(7));
    assert!(of_kind(&pull_all(h, &grid.token, 2).await, "assignment").is_empty());
    // Only the assignee's phones get it, not every phone of the village.
    let neighbour = h.enroll("grid-one").await;
    assert!(of_kind(&pull_all(h, &neighbour.token, 3).await, "assignment").is_empty());
    // Another grid worker may not run the spot check without an assignment of their own;
    // an expert's inspection naming grid-east as inspector is taken and fulfils nothing.
    let (claimed, _) = inspection_now(1, "grid-east");
    let (_, v) = h.push(&neighbour.token, &[claimed]).await;
    assert_eq!(
        outcomes(&v),
        vec![("rejected".to_string(), "forbidden_role".to_string())],
        "{v}"
    );
    let expert = h.enroll("expert-jincheng").await;
    let (claimed, _) = inspection_now(1, "grid-east");
    let (_, v) = h.push(&expert.token, &[claimed]).await;
    accepted(&v);
    let (_, still) = h.get(&officer, "/v1/assignments?status=open").await;
    assert_eq!(still[0]["id"], id, "{still}");

    let (record, inspection) = inspection_now(1, "grid-east");
    let (_, v) = h.push(&grid.token, &[record]).await;
    accepted(&v);
    let (_, done) = h
        .get(
            &officer,
            &format!("/v1/assignments?division={TOWN}&status=fulfilled"),
        )
        .await;
    assert_eq!(done[0]["id"], id, "{done}");
    assert_eq!(done[0]["fulfilled_by"], inspection.to_string());
    let pulled = pull_all(h, &grid.token, 3).await;
    assert_eq!(
        of_kind(&pulled, "assignment")[0]["body"]["status"],
        "fulfilled"
    );
    // A rejected inspection is no record of the visit: the assignment opens again, and
    // a later review that accepts it fulfils it again.
    let review = format!("/v1/inspections/{inspection}/review");
    let (status, _) = post(
        h,
        Some(&officer),
        &review,
        json!({"state": "rejected", "comment": "照片与现场不符"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, open) = h.get(&officer, "/v1/assignments?status=open").await;
    assert_eq!(open[0]["id"].as_str(), Some(id.as_str()), "{open}");
    assert!(open[0]["fulfilled_by"].is_null(), "{open}");
    let (status, _) = post(h, Some(&officer), &review, json!({"state": "approved"})).await;
    assert_eq!(status, 200);
    let (_, done) = h.get(&officer, "/v1/assignments?status=fulfilled").await;
    assert_eq!(done[0]["fulfilled_by"], inspection.to_string(), "{done}");
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/assignments/{id}/cancel"),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(status, 409, "{v}");

    // A second assignment, reassigned to the expert, then cancelled.
    let (_, v) = post(
        h,
        Some(&officer),
        "/v1/assignments",
        request("grid-east", "dust-verification", &in_days(3)),
    )
    .await;
    let second = v["created"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!second.is_empty(), "{v}");
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/assignments/{second}/reassign"),
        json!({"assignee": "expert-jincheng", "due": in_days(5)}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["assignee"].as_str(), v["due"].as_str()),
        (Some("expert-jincheng"), Some(in_days(5).as_str()))
    );
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/assignments/{second}/cancel"),
        json!({"reason": "企业已停产"}),
    )
    .await;
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("cancelled")),
        "{v}"
    );
    let (_, open) = h.get(&officer, "/v1/assignments?status=open").await;
    assert_eq!(open.as_array().map(Vec::len), Some(0), "{open}");
    // The reassigned task reaches grid-east's phone as well, so it leaves its 待办.
    let pulled = pull_all(h, &grid.token, 3).await;
    let moved: Vec<_> = of_kind(&pulled, "assignment")
        .into_iter()
        .filter(|c| c["body"]["id"] == second.as_str())
        .collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["body"]["assignee"], "expert-jincheng");

    // A rebuild gives the phones nothing new to download.
    let cursor = last_cursor(h, &grid.token).await;
    let before = blocking(h, |s| s.projection_dump().expect("dump")).await;
    let (report, changed) = blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    assert!(!changed);
    assert_eq!(report.assignments, 2);
    assert_eq!(
        blocking(h, |s| s.projection_dump().expect("dump")).await,
        before
    );
    let (_, page) = h
        .get(&grid.token, &format!("/v1/sync/pull?cursor={cursor}"))
        .await;
    assert_eq!(page["changes"].as_array().map(Vec::len), Some(0), "{page}");
}

/// The same town, seed and register give the same sample, stored once with its seed and
/// register version; a sample becomes assignments for a supervision group.
async fn samples_are_reproducible_and_become_assignments(h: &Harness) {
    let officer = officer_session(h, "officer", DISTRICT).await;
    let (status, first) = post(
        h,
        Some(&officer),
        "/v1/samples",
        json!({"division": TOWN, "seed": 20261207u64}),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let (_, again) = post(
        h,
        Some(&officer),
        "/v1/samples",
        json!({"division": TOWN, "seed": 20261207u64}),
    )
    .await;
    assert_eq!(again, first);
    let drawn = first["enterprises"].as_array().expect("enterprises");
    assert!(!drawn.is_empty());
    // The draw is the published one, redone here from the register.
    let candidates: Vec<gridwalk_core::sampling::Candidate> = drawn
        .iter()
        .map(|d| serde_json::from_value(d.clone()).expect("candidate"))
        .collect();
    for (d, c) in drawn.iter().zip(&candidates) {
        assert_eq!(d["rank"], gridwalk_core::sampling::rank(20261207, &c.uscc));
    }
    // The test register's town is small: every group says what it lacks.
    assert!(!first["shortfalls_zh"]
        .as_array()
        .expect("shortfalls")
        .is_empty());
    let (status, v) = post(
        h,
        Some(&officer),
        "/v1/samples",
        json!({"division": VILLAGE, "seed": 1}),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    let id = first["id"].as_str().expect("id");
    let (status, got) = h.get(&officer, &format!("/v1/samples/{id}")).await;
    assert_eq!((status, &got), (200, &first));
    let (_, list) = h
        .get(&officer, &format!("/v1/samples?division={TOWN}"))
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    // The inspectors a supervision group checks do not see its targets.
    let expert = h.enroll("expert-jincheng").await;
    for path in [format!("/v1/samples/{id}"), "/v1/samples".to_string()] {
        let (status, v) = h.get(&expert.token, &path).await;
        assert_eq!(status, 403, "{path}: {v}");
    }
    let (status, v) = post(
        h,
        Some(&officer),
        "/v1/assignments",
        json!({"assignee": "expert-jincheng", "template_id": "supervision-spot-check",
            "due": in_days(14), "targets": {"sample": id}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let made = v["created"].as_array().expect("created");
    assert_eq!(made.len(), drawn.len());
    assert!(made.iter().all(|a| a["sample_id"] == id));
}

/// Officers sign in with a password (argon2id); a wrong one and an unknown user get the
/// same 401; a console session reads but never syncs; logout ends it.
async fn officers_sign_in_with_a_password_and_sessions_do_not_sync(h: &Harness) {
    let token = officer_session(h, "officer", DISTRICT).await;
    for (user, password) in [("officer", "wrong-password-1"), ("nobody", PASSWORD)] {
        let (status, v) = post(
            h,
            None,
            "/v1/login",
            json!({"user_name": user, "password": password}),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (401, Some("unauthenticated")),
            "{v}"
        );
        assert_eq!(v["detail"], "wrong user name or password");
    }
    let (status, _) = h.get(&token, "/v1/campaigns").await;
    assert_eq!(status, 200);
    let (status, v) = h.push(&token, &[]).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("forbidden_role")),
        "{v}"
    );
    let (status, _) = h.get(&token, "/v1/sync/pull").await;
    assert_eq!(status, 403);
    // Grid workers use devices, not passwords.
    let refused = blocking(h, |s| s.set_password("grid-east", PASSWORD)).await;
    assert!(refused.is_err());
    let (status, _) = post(h, Some(&token), "/v1/logout", json!({})).await;
    assert_eq!(status, 204);
    let (status, _) = h.get(&token, "/v1/campaigns").await;
    assert_eq!(status, 401);
}

/// Every officer endpoint, tried by the officer of another town on this town's hazard,
/// inspection, assignment and sample: nothing but 404s and empty lists.
async fn every_officer_endpoint_is_scoped_to_the_callers_jurisdiction(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let hazard = Uuid::now_v7();
    let (record, inspection) = inspection_now(2, "expert-jincheng");
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(1, hazard, "expert-jincheng", "major"), {
                let mut r = record;
                r.seq = 2;
                r
            }],
        )
        .await;
    accepted(&v);
    let here = officer_session(h, "officer-jincheng", TOWN).await;
    let (_, v) = post(
        h,
        Some(&here),
        "/v1/assignments",
        json!({"assignee": "expert-jincheng", "template_id": "supervision-spot-check",
            "due": in_days(9), "targets": {"enterprises": [uscc_here()]}}),
    )
    .await;
    let assignment = v["created"][0]["id"]
        .as_str()
        .expect("assignment")
        .to_string();
    let (_, v) = post(
        h,
        Some(&here),
        "/v1/samples",
        json!({"division": TOWN, "seed": 3}),
    )
    .await;
    let sample = v["id"].as_str().expect("sample").to_string();

    let other = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    for path in [
        format!("/v1/hazards/{hazard}"),
        format!("/v1/hazards?division={TOWN}"),
        format!("/v1/inspections?division={TOWN}"),
        format!("/v1/assignments?division={TOWN}"),
        format!("/v1/samples?division={TOWN}"),
        format!("/v1/samples/{sample}"),
        format!("/v1/coverage?division={TOWN}"),
        format!("/v1/coverage/enterprises?division={TOWN}&duty=1&status=applicable"),
    ] {
        let (status, v) = h.get(&other, &path).await;
        assert_eq!(status, 404, "{path}: {v}");
        assert!(!v.to_string().contains(&uscc_here()), "{path} leaks: {v}");
    }
    for path in [
        "/v1/hazards",
        "/v1/inspections",
        "/v1/assignments",
        "/v1/samples",
    ] {
        let (status, v) = h.get(&other, path).await;
        assert_eq!(
            (status, v.as_array().map(Vec::len)),
            (200, Some(0)),
            "{path}: {v}"
        );
    }
    for (path, body) in [
        (
            format!("/v1/hazards/{hazard}/events"),
            json!({"kind": "deadline_extended", "new_deadline": "2100-01-01", "reason": "r"}),
        ),
        (
            format!("/v1/inspections/{inspection}/review"),
            json!({"state": "approved"}),
        ),
        (
            "/v1/assignments".to_string(),
            json!({"assignee": "expert-rulin", "template_id": "supervision-spot-check",
                "due": in_days(9), "targets": {"enterprises": [uscc_here()]}}),
        ),
        (
            "/v1/assignments".to_string(),
            json!({"assignee": "expert-rulin", "template_id": "supervision-spot-check",
                "due": in_days(9), "targets": {"sample": sample}}),
        ),
        (
            "/v1/assignments".to_string(),
            json!({"assignee": "expert-rulin", "template_id": "supervision-spot-check",
                "due": in_days(9), "targets": {"filter": {"division": TOWN}}}),
        ),
        (
            format!("/v1/assignments/{assignment}/reassign"),
            json!({"assignee": "expert-rulin"}),
        ),
        (
            format!("/v1/assignments/{assignment}/cancel"),
            json!({"reason": "r"}),
        ),
        (
            "/v1/samples".to_string(),
            json!({"division": TOWN, "seed": 3}),
        ),
    ] {
        let (status, v) = post(h, Some(&other), &path, body).await;
        assert_eq!(status, 404, "{path}: {v}");
        // The answer is the one for an enterprise that does not exist: where it lies
        // is not told.
        assert!(!v.to_string().contains(VILLAGE), "{path} leaks: {v}");
    }
    // Nothing changed: the town's own officer still sees the assignment open.
    let (_, open) = h.get(&here, "/v1/assignments?status=open").await;
    assert_eq!(open[0]["id"], assignment);
    assert_eq!(open[0]["assignee"], "expert-jincheng");
}

/// The cursor after everything a phone can pull now.
async fn last_cursor(h: &Harness, token: &str) -> String {
    let resp = h
        .http
        .get(h.url("/v1/sync/pull"))
        .query(&[("limit", "1000")])
        .header(gridwalk_protocol::PROTOCOL_HEADER, "3")
        .bearer_auth(token)
        .send()
        .await
        .expect("pull");
    let page: Value = resp.json().await.expect("page");
    assert_eq!(page["has_more"], false);
    page["next_cursor"].as_str().expect("cursor").to_string()
}

/// Eight actions of one officer at once (two console windows, a script): each takes its
/// own position in the officer's console sequence, the first one making the console;
/// none fails, and the hazard holds all eight.
async fn an_officers_actions_at_once_take_one_position_each(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let hazard = Uuid::now_v7();
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(1, hazard, "expert-jincheng", "major")],
        )
        .await;
    accepted(&v);
    let officer = officer_session(h, "officer", DISTRICT).await;
    let path = format!("/v1/hazards/{hazard}/events");
    let actions = (0..8).map(|i| {
        let body = json!({"kind": "plan_set", "measures": format!("第{i}版整改措施"),
            "responsible": "王建国", "deadline": "2099-05-31", "interim_measures": "停用除尘器"});
        let (h, officer, path) = (&*h, officer.clone(), path.clone());
        async move { post(h, Some(&officer), &path, body).await }
    });
    for (status, v) in futures::future::join_all(actions).await {
        assert_eq!(status, 200, "{v}");
    }
    let (_, detail) = h.get(&officer, &format!("/v1/hazards/{hazard}")).await;
    let plans = detail["events"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["kind"] == "plan_set").count());
    assert_eq!(plans, Some(8), "{detail}");
    assert_eq!(detail["state"]["event_count"], 9);
}

/// The console's sign-in: the session in an HttpOnly, SameSite=Strict cookie (no token
/// in the answer), a CSRF token required on every cookie-authenticated write, rotation
/// at sign-in, and sign-out clearing the cookie and ending the session.
async fn console_sessions_ride_an_httponly_cookie_with_a_csrf_token(h: &Harness) {
    officer_session(h, "officer-cookie", TOWN).await;
    let login = |old: Option<String>| {
        let mut req = h.http.post(h.url("/v1/login")).json(
            &json!({"user_name": "officer-cookie", "password": PASSWORD, "session_cookie": true}),
        );
        if let Some(c) = old {
            req = req.header("Cookie", c);
        }
        req.send()
    };
    let resp = login(None).await.expect("login");
    assert_eq!(resp.status(), 200);
    let set = resp.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(set.starts_with("gw_session="), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains("Secure"), "plain HTTP on loopback: {set}");
    let v: Value = resp.json().await.expect("json");
    assert!(
        v.get("token").is_none(),
        "no token for scripts to read: {v}"
    );
    let csrf = v["csrf_token"].as_str().expect("csrf").to_string();
    let cookie = set.split(';').next().expect("pair").to_string();

    // Reads need only the cookie; the session names the CSRF token again after a reload.
    let who = h
        .http
        .get(h.url("/v1/session"))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("session");
    // No answer of the API is to be sniffed into another type.
    assert_eq!(who.headers()["x-content-type-options"], "nosniff");
    let who: Value = who.json().await.expect("json");
    assert_eq!(
        (who["user_name"].as_str(), who["csrf_token"].as_str()),
        (Some("officer-cookie"), Some(csrf.as_str()))
    );
    let write = |token: Option<&str>| {
        let mut req = h
            .http
            .post(h.url("/v1/samples"))
            .header("Cookie", &cookie)
            .json(&json!({"division": TOWN, "seed": 42}));
        if let Some(t) = token {
            req = req.header("X-CSRF-Token", t);
        }
        req.send()
    };
    for token in [None, Some("0".repeat(64).as_str()), Some("")] {
        let resp = write(token).await.expect("write");
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.expect("json");
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("csrf_failed")),
            "{v}"
        );
    }
    let resp = write(Some(&csrf)).await.expect("write");
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    // A device token planted in the cookie is not a console session.
    let grid = h.enroll("grid-east").await;
    let (status, _) = {
        let r = h
            .http
            .get(h.url("/v1/session"))
            .header("Cookie", format!("gw_session={}", grid.token))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 401);

    // Signing in again with the old cookie ends the old session (rotation).
    let again = login(Some(cookie.clone())).await.expect("login");
    let new_cookie = again.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    assert_ne!(new_cookie, cookie);
    let status = |c: String| async move {
        h.http
            .get(h.url("/v1/session"))
            .header("Cookie", c)
            .send()
            .await
            .expect("get")
            .status()
            .as_u16()
    };
    assert_eq!(status(cookie.clone()).await, 401);
    assert_eq!(status(new_cookie.clone()).await, 200);

    // Sign-out (a write: it needs the CSRF token too) clears the cookie.
    let new_csrf =
        gridwalk_server::sessions::csrf_token(new_cookie.trim_start_matches("gw_session="));
    let out = h
        .http
        .post(h.url("/v1/logout"))
        .header("Cookie", &new_cookie)
        .header("X-CSRF-Token", new_csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .is_ok_and(|c| c.contains("Max-Age=0")));
    assert_eq!(status(new_cookie.clone()).await, 401);
    // Signing out with a session that already ended (the page still holds its CSRF
    // token) still clears the cookie.
    let out = h
        .http
        .post(h.url("/v1/logout"))
        .header("Cookie", &new_cookie)
        .header(
            "X-CSRF-Token",
            gridwalk_server::sessions::csrf_token(new_cookie.trim_start_matches("gw_session=")),
        )
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .is_ok_and(|c| c.contains("Max-Age=0")));

    // Login CSRF: a sign-in another site posts (a plain form, or a foreign Origin) is
    // refused before the password is looked at.
    let body = r#"{"user_name":"officer-cookie","password":"x","session_cookie":true}"#;
    for (content_type, origin) in [
        ("text/plain", None),
        ("application/json", Some("https://evil.example")),
    ] {
        let mut req = h
            .http
            .post(h.url("/v1/login"))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let resp = req.send().await.expect("login");
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.expect("json");
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("csrf_failed")),
            "{v}"
        );
    }
}

/// Wrong passwords: the same answer for a wrong password and an unknown name, slower
/// from the third, and the fifth locks the name (429, Retry-After) even against the
/// right password; an administrator's new password lifts the lock.
async fn repeated_failed_sign_ins_slow_down_then_lock_the_name(h: &Harness) {
    officer_session(h, "officer-locked", TOWN).await;
    let attempt = |user: &'static str, password: &'static str| async move {
        let started = std::time::Instant::now();
        let r = h
            .http
            .post(h.url("/v1/login"))
            .json(&json!({"user_name": user, "password": password}))
            .send()
            .await
            .expect("login");
        let retry = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok());
        let status = r.status().as_u16();
        let v: Value = r.json().await.expect("json");
        (
            status,
            v["code"].as_str().map(str::to_string),
            retry,
            started.elapsed(),
        )
    };
    for user in ["officer-locked", "no-such-officer"] {
        for n in 1..=4 {
            let (status, code, _, took) = attempt(user, "wrong-password-x").await;
            assert_eq!(
                (status, code.as_deref()),
                (401, Some("unauthenticated")),
                "{user} #{n}"
            );
            if n == 4 {
                assert!(
                    took >= std::time::Duration::from_secs(2),
                    "slowed: {took:?}"
                );
            }
        }
        let (status, code, retry, _) = attempt(user, "wrong-password-x").await;
        assert_eq!(
            (status, code.as_deref()),
            (429, Some("account_locked")),
            "{user}"
        );
        assert_eq!(retry, Some(15 * 60));
    }
    let (status, code, retry, _) = attempt("officer-locked", PASSWORD).await;
    assert_eq!((status, code.as_deref()), (429, Some("account_locked")));
    assert!(retry.is_some_and(|s| s > 0 && s <= 15 * 60));
    // A new password from the administrator lifts the lock.
    blocking(h, |s| s.set_password("officer-locked", PASSWORD))
        .await
        .expect("reset");
    let (status, _, _, _) = attempt("officer-locked", PASSWORD).await;
    assert_eq!(status, 200);
}

/// The console's assignment picker: each shipped template once, at its newest version
/// (the grid survey ships versions 1 and 2).
async fn the_template_picker_lists_each_template_once_at_its_newest(h: &Harness) {
    let officer = officer_session(h, "officer", DISTRICT).await;
    let (status, v) = h.get(&officer, "/v1/templates").await;
    assert_eq!(status, 200, "{v}");
    let list = v.as_array().expect("a list");
    let ids: std::collections::BTreeSet<&str> =
        list.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids.len(), list.len(), "each id once: {v}");
    let survey = list
        .iter()
        .find(|t| t["id"] == "grid-survey")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        survey["version"].as_u64(),
        gridwalk_checklist::builtin_template("grid-survey").map(|t| u64::from(t.version))
    );
    assert!(survey["version"].as_u64() > Some(1), "{survey}");
}

/// A hostile phone with a valid token cannot make its user's visit count as another
/// role's: the supervision spot-check (督查抽查) pushed by a grid worker on their own
/// account, or the grid worker's survey by an expert, is refused `forbidden_role`, whatever
/// role the payload claims; an
/// inspection of another enterprise than its envelope names, or of a template the server
/// does not know, is refused `payload_invalid`. An officer's assignment of the template
/// on that enterprise lets its assignee run it; an officer runs every template.
async fn an_inspection_is_taken_only_with_a_template_of_the_pushers_role_or_an_assignment(
    h: &Harness,
) {
    let refused = |code: &str| ("rejected".to_string(), code.to_string());
    let taken = ("accepted".to_string(), String::new());
    let grid = h.enroll("grid-east").await;
    let claims_officer = inspection_changed(2, "grid-east", |p| {
        p.role = gridwalk_checklist::Role::Officer;
    });
    let other_enterprise = inspection_changed(3, "grid-east", |p| {
        p.enterprise_uscc = uscc_neighbour();
    });
    let invented = inspection_changed(4, "grid-east", |p| {
        p.template_id = "grid-survey-plus".into();
    });
    let (status, v) = h
        .push(
            &grid.token,
            &[
                inspection_now(1, "grid-east").0,
                claims_officer,
                other_enterprise,
                invented,
            ],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        outcomes(&v),
        vec![
            refused("forbidden_role"),
            refused("forbidden_role"),
            refused("payload_invalid"),
            refused("payload_invalid"),
        ],
        "{v}"
    );
    let detail = v["results"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("supervision-spot-check") && detail.contains("supervisor"),
        "{detail}"
    );
    let detail = v["results"][2]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&uscc_neighbour()), "{detail}");
    let detail = v["results"][3]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("grid-survey-plus"), "{detail}");

    // An expert runs the spot check (the supervision groups visit with experts), not
    // the grid worker's survey.
    let expert = h.enroll("expert-jincheng").await;
    let survey = inspection_changed(2, "expert-jincheng", |p| {
        p.template_id = "grid-survey".into();
        p.template_version = 2;
    });
    // A version the server does not ship yet (the phone updated first) is judged by the
    // template's newest shipped version.
    let newer = inspection_changed(3, "expert-jincheng", |p| p.template_version = 99);
    let (_, v) = h
        .push(
            &expert.token,
            &[inspection_now(1, "expert-jincheng").0, survey, newer],
        )
        .await;
    assert_eq!(
        outcomes(&v),
        vec![taken.clone(), refused("forbidden_role"), taken.clone()],
        "{v}"
    );

    // Nothing refused reached the projections.
    let officer = officer_session(h, "officer", DISTRICT).await;
    let (_, list) = h
        .get(&officer, &format!("/v1/inspections?division={TOWN}"))
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");

    // Assigned the spot check on this enterprise, the grid worker runs it; an assignment
    // of it on another enterprise or to someone else would not do.
    let (status, v) = post(
        h,
        Some(&officer),
        "/v1/assignments",
        json!({"assignee": "grid-east", "template_id": "supervision-spot-check",
            "due": in_days(7), "targets": {"enterprises": [uscc_here()]}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // The payload names the enterprise exactly as the envelope's normalised USCC: a
    // spaced, lower-case spelling (which the projections would file apart) is refused.
    let spaced = inspection_changed(6, "grid-east", |p| {
        p.enterprise_uscc = format!("{} {}", &uscc_here()[..8], uscc_here()[8..].to_lowercase());
    });
    let (_, v) = h
        .push(&grid.token, &[inspection_now(5, "grid-east").0, spaced])
        .await;
    assert_eq!(
        outcomes(&v),
        vec![taken.clone(), refused("payload_invalid")],
        "{v}"
    );

    let officer_phone = h.enroll("officer").await;
    let (_, v) = h
        .push(&officer_phone.token, &[inspection_now(1, "officer").0])
        .await;
    assert_eq!(outcomes(&v), vec![taken], "{v}");
    let (_, list) = h
        .get(&officer, &format!("/v1/inspections?division={TOWN}"))
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(4), "{list}");
    let (_, changed) = blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    assert!(!changed);
}
