//! The ledgers (台账) over HTTP and from the CLI, against SQLite and PostgreSQL, read
//! back with calamine: title row, headers, values, real dates, a hazard's 五定 and days
//! overdue; and every export scoped to the caller's jurisdiction.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use calamine::{open_workbook, Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use common::*;
use gridwalk_protocol::{RecordEnvelope, RecordKind};
use serde_json::{json, Value};
use std::path::Path;
use uuid::Uuid;

both_databases!(
    the_hazard_ledger_carries_the_plan_and_the_days_overdue,
    the_inspection_and_register_ledgers_read_back,
    exports_are_scoped_to_the_callers_jurisdiction,
    the_cli_writes_the_same_ledgers,
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn accepted(v: &Value) {
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
}

/// A major hazard found at 东村木业 on 2 March 2026 with a deadline of 20 March.
fn created_hazard(seq: u64, hazard: Uuid, actor: &str) -> RecordEnvelope {
    created_hazard_at(seq, hazard, actor, "2026-03-02T02:00:00Z", "2026-03-20")
}

/// A hazard created at `at` with the rectification deadline `deadline`.
fn created_hazard_at(
    seq: u64,
    hazard: Uuid,
    actor: &str,
    at: &str,
    deadline: &str,
) -> RecordEnvelope {
    let enterprise =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&uscc_here()).expect("uscc"));
    let id = Uuid::now_v7();
    let body = json!({"id": id, "hazard_id": hazard, "at": at, "actor": actor,
        "kind": "created", "severity": "major", "enterprise_id": enterprise,
        "description_zh": "除尘器未设置泄爆装置", "deadline": deadline,
        "legal_basis": {"document": "工贸企业重大事故隐患判定标准", "article": "第十一条"}});
    let mut e = RecordEnvelope::new(id, RecordKind::HazardEvent, seq, body.to_string());
    e.enterprise_uscc = Some(uscc_here());
    e
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn today() -> NaiveDate {
    gridwalk_checklist::hazard::china_date(chrono::Utc::now())
}

/// The only sheet of an xlsx file: its name and cells.
fn sheet(path: &Path) -> (String, calamine::Range<Data>) {
    let mut wb: Xlsx<_> = open_workbook(path).expect("open xlsx");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("sheet");
    (name, range)
}

fn saved(h: &Harness, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = h.dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

fn text(r: &calamine::Range<Data>, row: u32, col: u32) -> String {
    r.get_value((row, col))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn headers(r: &calamine::Range<Data>) -> Vec<String> {
    (0..r.width() as u32).map(|c| text(r, 1, c)).collect()
}

/// Data rows (below the title and header rows).
fn data_rows(r: &calamine::Range<Data>) -> usize {
    (2..r.height() as u32)
        .filter(|row| matches!(r.get_value((*row, 0)), Some(Data::Float(_))))
        .count()
}

/// A hazard with a 五定 plan, listed for supervision, open past its deadline: its row
/// has every column of the campaign's ledger, dates as dates, the plan and the days.
async fn the_hazard_ledger_carries_the_plan_and_the_days_overdue(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let hazard = Uuid::now_v7();
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(1, hazard, "expert-jincheng")],
        )
        .await;
    accepted(&v);
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let path = format!("/v1/hazards/{hazard}/events");
    let (status, v) = post(
        h,
        Some(&officer),
        &path,
        json!({"kind": "plan_set", "measures": "加装泄爆片", "responsible": "王建国",
            "funds_yuan": 48000, "deadline": "2026-03-15", "interim_measures": "停用3号除尘器"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = post(
        h,
        Some(&officer),
        &path,
        json!({"kind": "listed_supervision", "notice_no": "金安督〔2026〕3号",
            "supervising_body": "金坛区安委办", "deadline": "2026-03-15"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");

    let (status, head, body) = get_export(
        h,
        &officer,
        &format!("/v1/exports/hazards.xlsx?division={TOWN}"),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(head["content-type"], XLSX);
    let cd = head["content-disposition"].to_str().expect("ascii header");
    assert!(
        cd.starts_with("attachment; filename=\"hazards-320413100000-"),
        "{cd}"
    );
    // 隐患排查治理台账-金城镇-YYYYMMDD.xlsx, percent-encoded UTF-8.
    assert!(
        cd.contains("filename*=UTF-8''%E9%9A%90%E6%82%A3%E6%8E%92%E6%9F%A5%E6%B2%BB%E7%90%86%E5%8F%B0%E8%B4%A6-%E9%87%91%E5%9F%8E%E9%95%87-"),
        "{cd}"
    );
    assert_eq!(head["cache-control"], "no-store");
    // Sent as is (an xlsx is a zip already), with its length, though the client takes gzip.
    assert!(head.get("content-encoding").is_none(), "{head:?}");
    assert_eq!(head["content-length"], body.len().to_string().as_str());
    let file = saved(h, "hazards.xlsx", &body);
    let (name, r) = sheet(&file);
    assert_eq!(name, "隐患排查治理台账");
    let title = text(&r, 0, 0);
    assert!(title.starts_with("隐患排查治理台账"), "{title}");
    assert!(title.contains("金城镇（320413100000）"), "{title}");
    assert!(title.contains("专项行动：全部"), "{title}");
    assert_eq!(
        headers(&r).join(","),
        "序号,所属镇(街道),所属村(社区),企业名称,统一社会信用代码,隐患描述,隐患等级,判定依据,\
         发现日期,发现人,整改措施,责任人,整改资金,整改时限,应急预案,整改状态,复查日期,复查人,\
         销号日期,挂牌督办,逾期天数"
    );
    assert_eq!(data_rows(&r), 1);
    let row: Vec<String> = (0..21).map(|c| text(&r, 2, c)).collect();
    assert_eq!(row[0], "1");
    assert_eq!(
        row[1..7],
        [
            "金城镇",
            "东村",
            "金坛东村木业有限公司",
            &uscc_here(),
            "除尘器未设置泄爆装置",
            "重大隐患"
        ]
    );
    assert_eq!(row[7], "工贸企业重大事故隐患判定标准 第十一条");
    let found = r.get_value((2, 8)).expect("发现日期");
    assert!(found.is_datetime(), "a real date: {found:?}");
    assert_eq!(found.as_date(), Some(date("2026-03-02")));
    assert_eq!(row[9], "expert-jincheng");
    // 五定: measures, responsible, funds, deadline, interim measures.
    assert_eq!(row[10..12], ["加装泄爆片", "王建国"]);
    assert_eq!(r.get_value((2, 12)), Some(&Data::Float(48000.0)));
    assert_eq!(
        r.get_value((2, 13)).and_then(|d| d.as_date()),
        Some(date("2026-03-15"))
    );
    assert_eq!(row[14], "停用3号除尘器");
    assert_eq!(row[15], "待整改");
    assert_eq!(row[16..19], ["", "", ""]);
    assert_eq!(row[19], "是");
    let overdue = (today() - date("2026-03-15")).num_days().max(0);
    assert_eq!(r.get_value((2, 20)), Some(&Data::Float(overdue as f64)));

    // A second hazard, found before this year's campaign, with time left.
    let in_time = (today() + chrono::Duration::days(30)).to_string();
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard_at(
                2,
                Uuid::now_v7(),
                "expert-jincheng",
                "2025-06-01T02:00:00Z",
                &in_time,
            )],
        )
        .await;
    accepted(&v);
    // Without a division: the caller's whole jurisdiction, both hazards; ?overdue=true
    // keeps only the one past its deadline.
    let (status, _, body) = get_export(h, &officer, "/v1/exports/hazards.xlsx").await;
    assert_eq!(status, 200);
    assert_eq!(data_rows(&sheet(&saved(h, "all.xlsx", &body)).1), 2);
    let (status, _, body) = get_export(h, &officer, "/v1/exports/hazards.xlsx?overdue=true").await;
    assert_eq!(status, 200);
    let (_, r) = sheet(&saved(h, "overdue.xlsx", &body));
    assert_eq!(data_rows(&r), usize::from(overdue > 0));
    // A campaign is named in the title and keeps the hazards found within its days.
    blocking(h, |s| {
        let shipped = include_str!("../campaigns/changzhou-2024-dust-100day.json");
        let c2024 = gridwalk_core::Campaign::from_json(shipped).expect("campaign");
        s.import_campaign(&c2024).expect("import");
        let mut v: Value = serde_json::from_str(shipped).expect("json");
        v["id"] = json!("test-2026");
        v["name_zh"] = json!("2026年测试专项行动");
        v["starts_on"] = json!("2026-01-01");
        v["ends_on"] = json!("2026-12-31");
        let c2026 = gridwalk_core::Campaign::from_json(&v.to_string()).expect("campaign");
        s.import_campaign(&c2026).expect("import");
    })
    .await;
    for (campaign, name, rows) in [
        (
            "test-2026",
            "2026年测试专项行动（2026-01-01至2026-12-31）",
            1,
        ),
        ("changzhou-2024-dust-100day", "百日攻坚", 0),
    ] {
        let (status, _, body) = get_export(
            h,
            &officer,
            &format!("/v1/exports/hazards.xlsx?campaign={campaign}"),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let (_, r) = sheet(&saved(h, "campaign.xlsx", &body));
        assert!(text(&r, 0, 0).contains(name), "{}", text(&r, 0, 0));
        assert_eq!(data_rows(&r), rows, "{campaign}");
    }
    // An unknown campaign is 404.
    let (status, _, body) = get_export(
        h,
        &officer,
        "/v1/exports/hazards.xlsx?campaign=no-such-campaign",
    )
    .await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
}

/// An inspection reviewed by an officer, and the register with the facts it confirmed.
async fn the_inspection_and_register_ledgers_read_back(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let id = Uuid::now_v7();
    let mut p = support::inspection_payload(id, &uscc_here(), &support::fake_photos(1), 1);
    p.inspector = "赵专家".into();
    p.finalized_at = chrono::Utc::now();
    p.started_at = p.finalized_at - chrono::Duration::minutes(30);
    let text_payload =
        String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("canonical"))
            .expect("utf-8");
    let mut e = RecordEnvelope::new(id, RecordKind::Inspection, 1, text_payload);
    e.enterprise_uscc = Some(uscc_here());
    let hash = e.payload_sha256.clone();
    let (_, v) = h.push(&expert.token, &[e]).await;
    accepted(&v);
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/inspections/{id}/review"),
        json!({"state": "approved"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");

    let (status, head, body) = get_export(h, &officer, "/v1/exports/inspections.xlsx").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(head["content-type"], XLSX);
    let (name, r) = sheet(&saved(h, "inspections.xlsx", &body));
    assert_eq!(name, "检查记录台账");
    let hs = headers(&r);
    for wanted in [
        "企业名称",
        "检查表",
        "检查人",
        "开始时间",
        "完成时间",
        "现场核验",
        "得分(合格率)",
        "问题数",
        "审核状态",
        "记录哈希(SHA-256)",
    ] {
        assert!(hs.iter().any(|h| h == wanted), "{wanted} in {hs:?}");
    }
    let col = |name: &str| hs.iter().position(|h| h == name).expect("column") as u32;
    assert_eq!(data_rows(&r), 1);
    assert_eq!(text(&r, 2, col("企业名称")), "金坛东村木业有限公司");
    assert_eq!(text(&r, 2, col("检查人")), "赵专家");
    assert!(
        text(&r, 2, col("检查表")).contains("（v"),
        "{}",
        text(&r, 2, col("检查表"))
    );
    assert_eq!(text(&r, 2, col("审核状态")), "已通过");
    assert_eq!(text(&r, 2, col("记录哈希(SHA-256)")), hash);
    assert_eq!(r.get_value((2, col("问题数"))), Some(&Data::Float(2.0)));
    let finalized = r
        .get_value((2, col("完成时间")))
        .and_then(|d| d.as_datetime())
        .expect("a real date-time");
    let china = p
        .finalized_at
        .with_timezone(&gridwalk_checklist::hazard::china_offset());
    assert!(
        (finalized - china.naive_local()).num_seconds().abs() <= 1,
        "{finalized}"
    );
    // ?review=rejected leaves it out; a bad review filter is refused.
    let (_, _, body) =
        get_export(h, &officer, "/v1/exports/inspections.xlsx?review=rejected").await;
    assert_eq!(data_rows(&sheet(&saved(h, "rej.xlsx", &body)).1), 0);
    let (status, _, _) = get_export(h, &officer, "/v1/exports/inspections.xlsx?review=maybe").await;
    assert_eq!(status, 422);

    let (status, _, body) = get_export(h, &officer, "/v1/exports/enterprises.xlsx").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (name, r) = sheet(&saved(h, "enterprises.xlsx", &body));
    assert_eq!(name, "粉尘涉爆企业底数台账");
    let hs = headers(&r);
    let col = |name: &str| hs.iter().position(|h| h == name).expect("column") as u32;
    // The town's two enterprises (both dust-involved), not the other town's.
    assert_eq!(data_rows(&r), 2);
    let (_, _, body) = get_export(
        h,
        &officer,
        "/v1/exports/enterprises.xlsx?dust_involved=true",
    )
    .await;
    assert_eq!(data_rows(&sheet(&saved(h, "dust.xlsx", &body)).1), 2);
    assert_eq!(text(&r, 2, col("企业名称")), "金坛东村木业有限公司");
    assert_eq!(text(&r, 2, col("所属村(社区)")), "东村");
    assert_eq!(text(&r, 2, col("粉尘种类")), "木粉");
    assert_eq!(text(&r, 3, col("企业名称")), "金坛西村铝制品厂");
    assert_eq!(text(&r, 3, col("涉铝镁")), "是");
    assert_eq!(
        r.get_value((2, col("最近检查日期")))
            .and_then(|d| d.as_date()),
        Some(china.date_naive())
    );
    // The spot check confirmed the 安全专员, training and risk report: by whom, when.
    for (by, on) in [
        ("专员确认人", "专员确认日期"),
        ("培训确认人", "培训确认日期"),
        ("报告确认人", "报告确认日期"),
    ] {
        assert_eq!(text(&r, 2, col(by)), "赵专家", "{by}");
        assert_eq!(
            r.get_value((2, col(on))).and_then(|d| d.as_date()),
            Some(china.date_naive()),
            "{on}"
        );
        assert_eq!(
            text(&r, 3, col(by)),
            "",
            "{by} of an enterprise nobody visited"
        );
    }
}

/// Another town's officer gets 404 for this town and an empty ledger of their own; a
/// phone's token and an anonymous caller get nothing.
async fn exports_are_scoped_to_the_callers_jurisdiction(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(1, Uuid::now_v7(), "expert-jincheng")],
        )
        .await;
    accepted(&v);
    let other = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    for kind in ["hazards", "inspections", "enterprises"] {
        let (status, head, body) = get_export(
            h,
            &other,
            &format!("/v1/exports/{kind}.xlsx?division={TOWN}"),
        )
        .await;
        assert_eq!(status, 404, "{kind}");
        assert_eq!(head["content-type"], "application/problem+json");
        assert!(!String::from_utf8_lossy(&body).contains(&uscc_here()));
        for division in [DISTRICT, VILLAGE] {
            let (status, _, _) = get_export(
                h,
                &other,
                &format!("/v1/exports/{kind}.xlsx?division={division}"),
            )
            .await;
            assert_eq!(status, 404, "{kind} {division}");
        }
    }
    // Their own town: no hazard of 金城镇, only 儒林镇's enterprise.
    let (status, _, body) = get_export(h, &other, "/v1/exports/hazards.xlsx").await;
    assert_eq!(status, 200);
    let (_, r) = sheet(&saved(h, "rulin.xlsx", &body));
    assert_eq!(data_rows(&r), 0);
    assert_eq!(text(&r, 2, 0), "（无记录）");
    assert!(text(&r, 0, 0).contains("儒林镇"));
    let (_, _, body) = get_export(h, &other, "/v1/exports/enterprises.xlsx").await;
    let (_, r) = sheet(&saved(h, "rulin-e.xlsx", &body));
    assert_eq!(data_rows(&r), 1);
    assert_eq!(text(&r, 2, 3), "儒林南村饲料厂");
    assert_eq!(text(&r, 2, 7), "否", "涉粉");
    let (status, _, body) =
        get_export(h, &other, "/v1/exports/enterprises.xlsx?dust_involved=true").await;
    assert_eq!(status, 200);
    assert_eq!(data_rows(&sheet(&saved(h, "rulin-dust.xlsx", &body)).1), 0);
    // A phone (even an expert's) does not export; nor does an anonymous caller.
    let (status, _, _) = get_export(h, &expert.token, "/v1/exports/hazards.xlsx").await;
    assert_eq!(status, 403);
    let resp = h
        .http
        .get(h.url("/v1/exports/hazards.xlsx"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 401);
}

fn cli(h: &Harness, args: &[&str]) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"));
    c.arg("--data")
        .arg(&h.data.0)
        .args(args)
        .env("RUST_LOG", "warn");
    if let Some(url) = &h.database_url {
        c.arg("--database-url").arg(url);
    }
    c.output().expect("run gridwalk-server")
}

/// `gridwalk-server export … --format xlsx --out F` writes the same ledgers, scoped by
/// `--as`, while the server runs.
async fn the_cli_writes_the_same_ledgers(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(1, Uuid::now_v7(), "expert-jincheng")],
        )
        .await;
    accepted(&v);
    officer_session(h, "officer-rulin", OTHER_TOWN).await;
    let out_dir = h.dir.path().join("ledgers");
    std::fs::create_dir_all(&out_dir).expect("dir");
    let out = out_dir.join("隐患台账.xlsx");
    let out_s = out.to_str().expect("path").to_string();
    let o2 = out_s.clone();
    let output = tokio::task::block_in_place(|| {
        cli(
            h,
            &[
                "export",
                "hazards",
                "--division",
                TOWN,
                "--format",
                "xlsx",
                "--out",
                &o2,
            ],
        )
    });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 rows"));
    let (name, r) = sheet(&out);
    assert_eq!(name, "隐患排查治理台账");
    assert_eq!(data_rows(&r), 1);
    assert_eq!(text(&r, 2, 3), "金坛东村木业有限公司");
    // Nothing but the ledger is left in the directory.
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");

    for kind in ["inspections", "enterprises"] {
        let out = out_dir.join(format!("{kind}.xlsx"));
        let output = tokio::task::block_in_place(|| {
            cli(
                h,
                &[
                    "export",
                    kind,
                    "--division",
                    DISTRICT,
                    "--format",
                    "xlsx",
                    "--out",
                    out.to_str().expect("path"),
                ],
            )
        });
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let (_, r) = sheet(&out);
        if kind == "inspections" {
            // Nothing was inspected: the empty ledger says so, no rows.
            assert_eq!(data_rows(&r), 0);
            assert_eq!(text(&r, 2, 0), "（无记录）");
        } else {
            assert!(data_rows(&r) >= 1);
            let named = (2..r.height() as u32).any(|row| {
                (0..r.width() as u32).any(|c| text(&r, row, c) == "金坛东村木业有限公司")
            });
            assert!(named, "the register ledger names the town's enterprise");
        }
    }
    // --as applies the officer's jurisdiction; the old JSON dump still works.
    let output = tokio::task::block_in_place(|| {
        cli(
            h,
            &[
                "export",
                "hazards",
                "--division",
                TOWN,
                "--format",
                "xlsx",
                "--out",
                &out_s,
                "--as",
                "officer-rulin",
            ],
        )
    });
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not_found"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = tokio::task::block_in_place(|| cli(h, &["export", "hazards", "--division", TOWN]));
    assert!(!output.status.success());
    let output = tokio::task::block_in_place(|| cli(h, &["export", "inspections", "--json"]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dump: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert!(dump.is_array());
}
