//! The 厂中厂 ledger (docs/leases.md) against SQLite and PostgreSQL: a landlord in 东村
//! letting to a tenant in 西村 (same town), one in 南村 (another town) and one in 东村;
//! a pre-lease check that failed an item, its hazard through re-inspection to an
//! officer's close (不适租 → 适租), the jurisdiction, the xlsx read back and the CLI.

mod common;

use calamine::{open_workbook, Data, DataType, Reader, Xlsx};
use common::*;
use gridwalk_checklist::hazard::{created_from_finding, HazardEvent, HazardEventKind};
use gridwalk_checklist::{
    applicable_items, builtin_template, evaluate, Answer, AnswerType, AnswerValue, Answers,
    DeadlinePolicy, EnterpriseFacts, FailWhen, FinalizedInspection, YesNoNa,
};
use gridwalk_core::dust::DustFlag;
use gridwalk_protocol::{RecordEnvelope, RecordKind};
use serde_json::{json, Value};
use uuid::Uuid;

both_databases!(
    the_ledger_follows_the_pre_lease_check_to_fit_after_the_close,
    the_ledger_keeps_to_the_jurisdiction_and_reads_back_as_xlsx,
    leases_imported_before_the_lease_table_are_indexed_at_start,
);

/// The landlord, in VILLAGE.
fn uscc_landlord() -> String {
    uscc("91320413MA1XY0011")
}

/// A tenant in VILLAGE that nobody has checked.
fn uscc_new_tenant() -> String {
    uscc("91320413MA1XY0012")
}

/// Imports a landlord and three leases: 西村铝制品厂 (NEIGHBOUR_VILLAGE), 儒林南村饲料厂
/// (FAR_VILLAGE, another town) and a new tenant in VILLAGE.
async fn with_leases(h: &Harness) {
    let csv = format!(
        "name,uscc,village_code,industry,dust_types,landlord_uscc,lease_floors,lease_area_m2,lease_start,lease_end,lease_equipment,lease_equipment_description,lease_safety_agreement\n\
         金坛东村实业有限公司,{landlord},{VILLAGE},房屋租赁,,,,,,,,,\n\
         金坛西村铝制品厂,{neighbour},{NEIGHBOUR_VILLAGE},铝制品加工,铝粉,{landlord},3-4,1250.5,2025-03-01,2028-02-29,是,抛光机4台,是\n\
         儒林南村饲料厂,{far},{FAR_VILLAGE},饲料加工,,{landlord},1,800,2024-01-01,2026-12-31,否,,否\n\
         金坛东村家具厂,{new},{VILLAGE},家具制造,木粉,{landlord},2,600,2026-01-01,2027-12-31,否,,\n",
        landlord = uscc_landlord(),
        neighbour = uscc_neighbour(),
        far = uscc_far(),
        new = uscc_new_tenant(),
    );
    import_enterprises_csv(h, csv).await;
}

fn enterprise_id(u: &str) -> Uuid {
    gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(u).expect("uscc"))
}

/// A finalized pre-lease check of `tenant` failing `failing` (every other item passes).
fn pre_lease_check(tenant: &str, failing: &[&str], minutes_ago: i64) -> FinalizedInspection {
    let t = builtin_template("pre-lease-check").expect("shipped");
    let mut facts = EnterpriseFacts::with_flags([DustFlag::AllDust, DustFlag::Leased]);
    facts.equipment_leased = true;
    let photo = "ab".repeat(32);
    let mut answers = Answers::new();
    for item in applicable_items(&t, &facts) {
        let fail = failing.contains(&item.id.as_str());
        let value = match &item.answer_type {
            AnswerType::YesNoNa => {
                let yes = match item.fail_when {
                    Some(FailWhen::Yes) => fail,
                    Some(FailWhen::No) => !fail,
                    _ => true,
                };
                AnswerValue::YesNoNa(if yes { YesNoNa::Yes } else { YesNoNa::No })
            }
            AnswerType::Number { .. } => AnswerValue::Number(1.0),
            AnswerType::Choice { choices, .. } => {
                AnswerValue::Choice(vec![choices[0].value.clone()])
            }
            AnswerType::Text => AnswerValue::Text("同意出租".into()),
            AnswerType::Photo => AnswerValue::Photos(vec![photo.clone()]),
        };
        let mut answer = Answer::new(value);
        if fail {
            answer = answer
                .with_note("现场发现不符合要求")
                .with_photo(photo.clone());
        }
        answers.insert(item.id.clone(), answer);
    }
    let eval = evaluate(&t, &facts, &answers).expect("complete");
    assert_eq!(eval.findings.len(), failing.len(), "{:?}", eval.findings);
    let finalized_at = chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
    FinalizedInspection {
        inspection_id: Uuid::now_v7(),
        template_id: t.id.clone(),
        template_version: t.version,
        enterprise_id: enterprise_id(tenant),
        enterprise_uscc: tenant.to_string(),
        inspector: "赵专家".into(),
        role: t.role,
        started_at: finalized_at - chrono::Duration::minutes(40),
        finalized_at,
        answers,
        score: eval.score,
        findings: eval.findings,
        supersedes: None,
    }
}

fn envelope(seq: u64, p: &FinalizedInspection) -> RecordEnvelope {
    let text = String::from_utf8(gridwalk_checklist::to_canonical_json(p).expect("canonical"))
        .expect("utf-8");
    let mut e = RecordEnvelope::new(p.inspection_id, RecordKind::Inspection, seq, text);
    e.enterprise_uscc = Some(p.enterprise_uscc.clone());
    e
}

fn event_envelope(seq: u64, uscc: &str, e: &HazardEvent) -> RecordEnvelope {
    let text = serde_json::to_string(e).expect("json");
    let mut env = RecordEnvelope::new(e.id, RecordKind::HazardEvent, seq, text);
    env.enterprise_uscc = Some(uscc.to_string());
    env
}

fn accepted(v: &Value) {
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
}

/// The lease of `tenant` in a ledger answer.
fn lease_of<'a>(ledger: &'a Value, tenant: &str) -> &'a Value {
    ledger["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .flat_map(|s| s["leases"].as_array().expect("leases"))
        .find(|l| l["tenant"]["uscc"] == tenant)
        .unwrap_or_else(|| panic!("no lease of {tenant} in {ledger}"))
}

async fn ledger(h: &Harness, token: &str, query: &str) -> (u16, Value) {
    h.get(token, &format!("/v1/leases{query}")).await
}

async fn the_ledger_follows_the_pre_lease_check_to_fit_after_the_close(h: &Harness) {
    with_leases(h).await;
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let (status, v) = ledger(h, &officer, &format!("?division={TOWN}")).await;
    assert_eq!(status, 200, "{v}");
    // One site, three leases; nobody checked yet (the far tenant's status withheld).
    assert_eq!(v["counts"]["sites"], 1, "{v}");
    assert_eq!(v["counts"]["leases"], 3);
    assert_eq!(v["counts"]["not_checked"], 2);
    assert_eq!(v["counts"]["withheld"], 1);
    let site = &v["sites"][0];
    assert_eq!(site["landlord"]["name"], "金坛东村实业有限公司");
    assert_eq!(site["village_name"], "东村");
    assert_eq!(site["town_name"], "金城镇");
    let l = lease_of(&v, &uscc_neighbour());
    assert_eq!(l["floors"], "3-4");
    assert_eq!(l["area_m2"], 1250.5);
    assert_eq!(l["start_date"], "2025-03-01");
    assert_eq!(l["equipment_leased"], true);
    assert_eq!(l["equipment_description"], "抛光机4台");
    assert_eq!(l["safety_agreement_signed"], true);
    assert_eq!(l["tenant_dust_types"][0], "铝粉");
    assert_eq!(l["pre_lease"]["status"], "not_checked");
    assert_eq!(l["pre_lease"]["status_zh"], "未体检");

    // The expert's pre-lease check fails FZ-P-01; the phone raises its hazard.
    let expert = h.enroll("expert-jincheng").await;
    let check = pre_lease_check(&uscc_neighbour(), &["FZ-P-01"], 60);
    let hazard = Uuid::now_v7();
    let created = created_from_finding(
        hazard,
        check.finalized_at,
        "expert-jincheng",
        check.enterprise_id,
        check.inspection_id,
        &check.findings[0],
        &DeadlinePolicy::default(),
    );
    let (_, v) = h
        .push(
            &expert.token,
            &[
                envelope(1, &check),
                event_envelope(2, &uscc_neighbour(), &created),
            ],
        )
        .await;
    accepted(&v);
    let (_, v) = ledger(h, &officer, &format!("?division={TOWN}")).await;
    let p = &lease_of(&v, &uscc_neighbour())["pre_lease"];
    assert_eq!(p["status"], "not_fit", "{v}");
    assert_eq!(p["status_zh"], "不适租");
    assert_eq!(p["open_items"], json!(["FZ-P-01"]));
    assert_eq!(p["failed_items"], 1);
    assert_eq!(p["inspector"], "赵专家");
    assert_eq!(p["inspection_id"], check.inspection_id.to_string());
    let l = lease_of(&v, &uscc_neighbour());
    assert_eq!(l["tenant"]["open_hazards"], 1);
    assert_eq!(l["last_inspection"]["template_id"], "pre-lease-check");
    assert_eq!(l["last_inspection"]["template_title"], "厂中厂租前体检");
    // Filters: by status, and with open hazards.
    let (_, v) = ledger(h, &officer, "?status=not_fit").await;
    assert_eq!(v["counts"]["leases"], 1, "{v}");
    let (_, v) = ledger(h, &officer, "?open_hazards=true").await;
    assert_eq!(v["counts"]["leases"], 1, "{v}");
    let (_, v) = ledger(h, &officer, "?status=fit").await;
    assert_eq!(v["counts"]["leases"], 0, "{v}");
    assert_eq!(v["sites"], json!([]));
    let (status, _) = ledger(h, &officer, "?status=maybe").await;
    assert_eq!(status, 422);

    // Rectified and re-inspected on site: still 不适租 until an officer closes it.
    let at = chrono::Utc::now() - chrono::Duration::minutes(30);
    let step = |minutes: i64, kind: HazardEventKind| {
        HazardEvent::new(
            hazard,
            at + chrono::Duration::minutes(minutes),
            "expert-jincheng",
            kind,
        )
    };
    let events = [
        step(
            0,
            HazardEventKind::Assigned {
                to: "金坛西村铝制品厂".into(),
            },
        ),
        step(1, HazardEventKind::RectificationStarted),
        step(
            2,
            HazardEventKind::Reinspected {
                passed: true,
                before_photo_sha256s: vec!["cd".repeat(32)],
                after_photo_sha256s: vec!["ef".repeat(32)],
                note: None,
            },
        ),
    ];
    let envs: Vec<RecordEnvelope> = events
        .iter()
        .enumerate()
        .map(|(i, e)| event_envelope(3 + i as u64, &uscc_neighbour(), e))
        .collect();
    let (_, v) = h.push(&expert.token, &envs).await;
    accepted(&v);
    let (_, v) = ledger(h, &officer, &format!("?division={TOWN}")).await;
    assert_eq!(
        lease_of(&v, &uscc_neighbour())["pre_lease"]["status"],
        "not_fit"
    );
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/hazards/{hazard}/events"),
        json!({"kind": "closed"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = ledger(h, &officer, &format!("?division={TOWN}")).await;
    let l = lease_of(&v, &uscc_neighbour());
    assert_eq!(l["pre_lease"]["status"], "fit", "{v}");
    assert_eq!(l["pre_lease"]["status_zh"], "适租");
    assert_eq!(l["pre_lease"]["open_items"], json!([]));
    assert_eq!(l["pre_lease"]["failed_items"], 1);
    assert_eq!(l["tenant"]["open_hazards"], 0);
    assert_eq!(v["counts"]["fit"], 1);

    // A newer check that fails again makes it 不适租 once more.
    let recheck = pre_lease_check(&uscc_neighbour(), &["FZ-P-02"], 1);
    let (_, v) = h.push(&expert.token, &[envelope(6, &recheck)]).await;
    accepted(&v);
    let (_, v) = ledger(h, &officer, &format!("?division={TOWN}")).await;
    let p = &lease_of(&v, &uscc_neighbour())["pre_lease"];
    assert_eq!(p["status"], "not_fit", "{v}");
    assert_eq!(p["open_items"], json!(["FZ-P-02"]));
}

async fn the_ledger_keeps_to_the_jurisdiction_and_reads_back_as_xlsx(h: &Harness) {
    with_leases(h).await;
    let town = officer_session(h, "officer-jincheng", TOWN).await;
    let rulin = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    // Another town's division is 404, as if it did not exist.
    let (status, v) = ledger(h, &rulin, &format!("?division={TOWN}")).await;
    assert_eq!(status, 404, "{v}");
    let (status, _, _) = get_xlsx(h, &rulin, &format!("?division={TOWN}")).await;
    assert_eq!(status, 404);
    // 儒林's officer sees the lease of its tenant, with the landlord's figures withheld;
    // not the two leases of 金城镇's tenants.
    let (status, v) = ledger(h, &rulin, "").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["counts"]["leases"], 1, "{v}");
    let l = lease_of(&v, &uscc_far());
    assert_eq!(l["tenant"]["in_jurisdiction"], true);
    assert_eq!(l["pre_lease"]["status"], "not_checked");
    assert_eq!(v["sites"][0]["landlord"]["in_jurisdiction"], false);
    assert_eq!(v["sites"][0]["landlord"]["open_hazards"], Value::Null);
    assert_eq!(v["sites"][0]["town_name"], "金城镇");
    // 金城镇's officer: the far tenant listed, its figures withheld.
    let (_, v) = ledger(h, &town, "").await;
    let far = lease_of(&v, &uscc_far());
    assert_eq!(far["tenant"]["in_jurisdiction"], false);
    assert_eq!(far["pre_lease"], Value::Null);
    assert_eq!(far["last_inspection"], Value::Null);
    // A village: the landlord's village lists all its leases; the tenant's village its own.
    let (_, v) = ledger(h, &town, &format!("?division={NEIGHBOUR_VILLAGE}")).await;
    assert_eq!(v["counts"]["leases"], 1, "{v}");
    let (_, v) = ledger(h, &town, &format!("?division={VILLAGE}")).await;
    assert_eq!(v["counts"]["leases"], 3, "{v}");
    // A grid worker gets nothing: 403, as for the exports.
    let (status, v) = h
        .get(&h.enroll("grid-east").await.token, "/v1/leases")
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("forbidden_role")),
        "{v}"
    );

    // The sheet.
    let (status, head, body) = get_xlsx(h, &town, &format!("?division={TOWN}")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let cd = head["content-disposition"].to_str().expect("ascii");
    assert!(cd.contains("filename=\"leases-320413100000-"), "{cd}");
    let path = h.dir.path().join("leases.xlsx");
    std::fs::write(&path, &body).expect("write");
    // The far tenant is outside 金城镇's officer's jurisdiction: 辖区外, no figures.
    check_sheet(&path, "辖区外");

    // The CLI writes the same ledger.
    let out = h.dir.path().join("cli-leases.xlsx");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
        .arg("--data")
        .arg(h.data.0.as_path())
        .args(
            h.database_url
                .iter()
                .flat_map(|u| ["--database-url", u.as_str()]),
        )
        .args([
            "export",
            "leases",
            "--division",
            TOWN,
            "--format",
            "xlsx",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // The operator sees every town.
    check_sheet(&out, "未体检");
}

async fn get_xlsx(
    h: &Harness,
    token: &str,
    query: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = h
        .http
        .get(h.url(&format!("/v1/exports/leases.xlsx{query}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.expect("body").to_vec())
}

/// The sheet of 金城镇's three leases; `far_status`: the 南村 tenant's 适租状态.
fn check_sheet(path: &std::path::Path, far_status: &str) {
    let mut wb: Xlsx<_> = open_workbook(path).expect("open");
    let name = wb.sheet_names()[0].clone();
    assert_eq!(name, "厂中厂台账");
    let r = wb.worksheet_range(&name).expect("sheet");
    let text = |row: u32, col: u32| {
        r.get_value((row, col))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let headers: Vec<String> = (0..r.width() as u32).map(|c| text(1, c)).collect();
    assert_eq!(
        headers.join(","),
        "序号,所属镇(街道),所属村(社区),厂区名称,厂区地址,出租方名称,出租方统一社会信用代码,\
         承租方名称,承租方统一社会信用代码,租赁楼层,租赁面积(㎡),租赁起始日期,租赁截止日期,\
         用途/主要工艺,设备随租,安全管理协议,租前体检日期,租前体检人,不合格项数,适租状态,\
         未整改隐患数,逾期隐患数"
    );
    let rows: Vec<u32> = (2..r.height() as u32)
        .filter(|row| matches!(r.get_value((*row, 0)), Some(Data::Float(_))))
        .collect();
    assert_eq!(rows.len(), 3);
    let row = rows
        .iter()
        .copied()
        .find(|row| text(*row, 8) == uscc_neighbour())
        .expect("the 西村 tenant's row");
    assert_eq!(text(row, 1), "金城镇");
    assert_eq!(text(row, 2), "东村");
    assert_eq!(text(row, 5), "金坛东村实业有限公司");
    assert_eq!(text(row, 6), uscc_landlord());
    assert_eq!(text(row, 7), "金坛西村铝制品厂");
    assert_eq!(text(row, 9), "3-4");
    assert_eq!(r.get_value((row, 10)), Some(&Data::Float(1250.5)));
    assert_eq!(
        r.get_value((row, 12)).and_then(|d| d.as_date()),
        chrono::NaiveDate::from_ymd_opt(2028, 2, 29)
    );
    assert_eq!(text(row, 13), "铝制品加工（铝粉）");
    assert_eq!(text(row, 14), "是（抛光机4台）");
    assert_eq!(text(row, 15), "已签订");
    assert_eq!(text(row, 19), "未体检");
    assert_eq!(r.get_value((row, 20)), Some(&Data::Float(0.0)));
    let far = rows
        .iter()
        .copied()
        .find(|row| text(*row, 8) == uscc_far())
        .expect("the far tenant's row");
    assert_eq!(text(far, 15), "未签订");
    assert_eq!(text(far, 19), far_status);
    let far_open = r.get_value((far, 20)).cloned();
    if far_status == "辖区外" {
        assert!(
            matches!(far_open, None | Some(Data::Empty)),
            "withheld: {far_open:?}"
        );
    } else {
        assert_eq!(far_open, Some(Data::Float(0.0)));
    }
    assert_eq!(text(far, 14), "否");
}

/// A register imported before migration 0015 (no `lease` rows, no `leases_indexed`
/// mark): the next start fills the table from the landlords' entries, once.
async fn leases_imported_before_the_lease_table_are_indexed_at_start(h: &Harness) {
    with_leases(h).await;
    exec_sql(
        h,
        "DELETE FROM lease; DELETE FROM server_meta WHERE key = 'leases_indexed'",
    )
    .await;
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let (_, v) = ledger(h, &officer, "").await;
    assert_eq!(v["counts"]["leases"], 0, "{v}");
    let (data, url) = (h.data.clone(), h.database_url.clone());
    tokio::task::spawn_blocking(move || {
        drop(gridwalk_server::open_store(&data, url.as_deref()).expect("reopen"));
    })
    .await
    .expect("join");
    let (_, v) = ledger(h, &officer, "").await;
    assert_eq!(v["counts"]["leases"], 3, "{v}");
    assert_eq!(v["sites"][0]["landlord"]["uscc"], uscc_landlord());
}
