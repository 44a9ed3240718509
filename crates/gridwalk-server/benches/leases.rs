//! The 厂中厂 ledger (docs/leases.md) at district scale on SQLite: 5,000 leases (1,000
//! landlords with 5 tenants each) in one district of 5 towns × 10 villages, half the
//! tenants with a pre-lease check, a third of those failed on one or two items with their
//! hazards (some closed). Prints the time of `Store::lease_ledger` (the JSON the console
//! reads) and of the xlsx export for the district and for one town, median of 3, and
//! the file size.
//!
//! `cargo bench -p gridwalk-server --bench leases`; `GRIDWALK_BENCH_LEASES` changes the
//! number of leases. The rows are written straight into the tables the ledger reads.

use chrono::{Duration, TimeZone, Utc};
use gridwalk_checklist::hazard::{HazardState, HazardStatus};
use gridwalk_checklist::Severity;
use gridwalk_core::enterprise::{Enterprise, Lease, RiskReportStatus, Site, TrainingStatus};
use gridwalk_core::{DivisionCode, Uscc};
use gridwalk_server::export::{ExportRequest, LedgerKind};
use gridwalk_server::lease_ledger::LeaseFilter;
use gridwalk_server::work::Actor;
use gridwalk_server::{open_store, DataDir};
use std::time::Instant;
use uuid::Uuid;

const DISTRICT: &str = "320413000000";

fn uscc(n: u64) -> Uscc {
    Uscc::with_check_char(&format!("91320413MA{n:07}")).expect("valid body")
}

fn village(n: u64) -> String {
    format!("320413{:03}{:03}", 100 + (n / 10) % 5, 201 + n % 10)
}

fn enterprise(n: u64, name: String) -> Enterprise {
    let u = uscc(n);
    Enterprise {
        id: gridwalk_core::ids::enterprise_id(&u),
        uscc: u,
        name,
        address: None,
        village_code: DivisionCode::parse(&village(n)).expect("village"),
        location: None,
        industry: Some("金属制品业".into()),
        dust_involved: true,
        dust_types: Vec::new(),
        workers_per_shift: Some(12),
        al_mg: true,
        key_supervision: false,
        safety_officer: None,
        risk_report: RiskReportStatus::Unknown,
        warning_education: TrainingStatus::Unknown,
    }
}

fn load(data: &DataDir, leases: u64) {
    let mut c = rusqlite::Connection::open(data.database()).expect("sqlite");
    c.pragma_update(None, "foreign_keys", "OFF")
        .expect("pragma");
    let tx = c.transaction().expect("tx");
    {
        let mut div = tx
            .prepare(
                "INSERT INTO division (code, name, level, parent_code) VALUES (?1, ?2, ?3, ?4)",
            )
            .expect("prepare");
        div.execute(rusqlite::params![
            DISTRICT,
            "金坛区",
            "district",
            "320400000000"
        ])
        .expect("district");
        for t in 0..5 {
            let town = format!("320413{:03}000", 100 + t);
            div.execute(rusqlite::params![
                town,
                format!("第{t}镇"),
                "town",
                DISTRICT
            ])
            .expect("town");
            for v in 0..10 {
                let code = format!("320413{:03}{:03}", 100 + t, 201 + v);
                div.execute(rusqlite::params![
                    code,
                    format!("第{t}镇{v}村"),
                    "village",
                    town
                ])
                .expect("village");
            }
        }
        let mut ent = tx
            .prepare("INSERT INTO enterprise (id, uscc, village_code, body, name) VALUES (?1, ?2, ?3, ?4, ?5)")
            .expect("prepare");
        let mut lease = tx
            .prepare("INSERT INTO lease (id, site_id, landlord_id, tenant_id, site, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .expect("prepare");
        let mut insp = tx
            .prepare(
                "INSERT INTO inspection (record_id, inspection_id, enterprise_id, enterprise_uscc,
                     division_code, template_id, template_version, inspector, role, device_id,
                     started_at, finalized_at, received_at, payload_sha256, passed, failed,
                     findings, photo_count)
                 VALUES (?1, ?1, ?2, ?3, ?4, 'pre-lease-check', 1, '赵专家', 'expert', 'd',
                     ?5, ?5, ?5, 'h', 40, ?6, ?6, 0)",
            )
            .expect("prepare");
        let mut finding = tx
            .prepare(
                "INSERT INTO finding (record_id, item_id, section_id, severity, text_zh, photo_count)
                 VALUES (?1, ?2, 'building', 'general', '不符合', 0)",
            )
            .expect("prepare");
        let mut haz = tx
            .prepare(
                "INSERT INTO hazard (id, enterprise_id, enterprise_uscc, division_code, severity,
                     created_record_id, status, deadline, found_at, state)
                 VALUES (?1, ?2, ?3, ?4, 'general', 'r', ?5, ?6, ?7, ?8)",
            )
            .expect("prepare");
        let landlords = leases.div_ceil(5);
        let at = Utc
            .with_ymd_and_hms(2026, 5, 10, 2, 0, 0)
            .single()
            .expect("time");
        for l in 0..landlords {
            let n = 1_000_000 + l;
            let e = enterprise(n, format!("金坛第{l}实业有限公司"));
            let body = serde_json::to_string(&e).expect("json");
            ent.execute(rusqlite::params![
                e.id.to_string(),
                e.uscc.as_str(),
                village(n),
                body,
                e.name
            ])
            .expect("landlord");
            let site = Site {
                id: Uuid::from_u128(u128::from(n)),
                name: format!("{}厂区", e.name),
                address: Some(format!("金坛区工业路{l}号")),
                landlord_id: e.id,
                storeys: Some(4),
                structure: Some("框架".into()),
            };
            let site_text = serde_json::to_string(&site).expect("json");
            for k in 0..5 {
                let i = l * 5 + k;
                if i >= leases {
                    break;
                }
                let tn = 2_000_000 + i;
                let t = enterprise(tn, format!("金坛第{i}铝业抛光厂"));
                ent.execute(rusqlite::params![
                    t.id.to_string(),
                    t.uscc.as_str(),
                    village(tn),
                    serde_json::to_string(&t).expect("json"),
                    t.name
                ])
                .expect("tenant");
                let ls = Lease {
                    id: Uuid::from_u128(u128::from(tn)),
                    site_id: site.id,
                    tenant_id: t.id,
                    floors: Some(format!("{}", k + 1)),
                    area_m2: Some(600.0 + k as f64 * 50.0),
                    start_date: chrono::NaiveDate::from_ymd_opt(2025, 1, 1),
                    end_date: chrono::NaiveDate::from_ymd_opt(2028, 12, 31),
                    equipment_leased: k == 0,
                    equipment_description: (k == 0).then(|| "抛光机4台".to_string()),
                    safety_agreement_signed: Some(k % 2 == 0),
                    use_zh: None,
                    recorded_on_site: false,
                };
                lease
                    .execute(rusqlite::params![
                        ls.id.to_string(),
                        site.id.to_string(),
                        e.id.to_string(),
                        t.id.to_string(),
                        site_text,
                        serde_json::to_string(&ls).expect("json")
                    ])
                    .expect("lease");
                if i % 2 == 1 {
                    continue;
                }
                // A pre-lease check; a third of them failed with their hazards.
                let check = Uuid::from_u128(u128::from(tn) << 32);
                let failed = if i % 3 == 0 { 1 + i % 2 } else { 0 };
                let when = at + Duration::minutes(i as i64);
                insp.execute(rusqlite::params![
                    check.to_string(),
                    t.id.to_string(),
                    t.uscc.as_str(),
                    village(tn),
                    when.to_rfc3339(),
                    failed as i64
                ])
                .expect("inspection");
                for f in 0..failed {
                    let item = format!("FZ-P-0{}", f + 1);
                    finding
                        .execute(rusqlite::params![check.to_string(), item])
                        .expect("finding");
                    let hid = Uuid::from_u128((u128::from(tn) << 32) + 1 + u128::from(f));
                    let status = if i % 4 == 0 {
                        HazardStatus::Closed
                    } else {
                        HazardStatus::Rectifying
                    };
                    let deadline = when.date_naive() + Duration::days(30);
                    let state = HazardState {
                        hazard_id: hid,
                        severity: Severity::General,
                        status,
                        enterprise_id: t.id,
                        description_zh: "不符合".into(),
                        item_id: Some(item),
                        inspection_id: Some(check),
                        legal_basis: None,
                        photo_sha256s: Vec::new(),
                        found_at: when,
                        found_by: "赵专家".into(),
                        deadline,
                        assignee: None,
                        listed: None,
                        plan: None,
                        reinspections: Vec::new(),
                        closed_at: None,
                        event_count: 1,
                        last_event_at: when,
                        last_event_id: hid,
                    };
                    let status_text = serde_json::to_value(status).expect("json");
                    haz.execute(rusqlite::params![
                        hid.to_string(),
                        t.id.to_string(),
                        t.uscc.as_str(),
                        village(tn),
                        status_text.as_str().unwrap_or("found"),
                        deadline.to_string(),
                        when.to_rfc3339(),
                        serde_json::to_string(&state).expect("json")
                    ])
                    .expect("hazard");
                }
            }
        }
    }
    tx.commit().expect("commit");
    c.execute_batch("ANALYZE").expect("analyze");
}

fn median(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..3 {
        let t = Instant::now();
        n = f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[1], n)
}

fn main() {
    let leases = std::env::var("GRIDWALK_BENCH_LEASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(5_000u64);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::create(dir.path()).expect("data dir");
    drop(open_store(&data, None).expect("migrate"));
    let started = Instant::now();
    load(&data, leases);
    println!(
        "厂中厂 ledger: {leases} leases (SQLite; loaded in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let store = open_store(&data, None).expect("store");
    println!("| scope | leases | JSON (lease_ledger) | xlsx export | file |");
    println!("|---|---|---|---|---|");
    for (label, code) in [("district", DISTRICT), ("town (1 of 5)", "320413102000")] {
        let division = DivisionCode::parse(code).expect("division");
        let (json, rows) = median(|| {
            store
                .lease_ledger(&Actor::operator(), &division, &LeaseFilter::default())
                .expect("ledger")
                .counts
                .leases
        });
        let path = dir.path().join(format!("leases-{code}.xlsx"));
        let req = ExportRequest::new(LedgerKind::Leases, division.clone());
        let (xlsx, _) = median(|| {
            let file = std::fs::File::create(&path).expect("file");
            store
                .export_ledger(&Actor::operator(), &req, Some(dir.path()), file)
                .expect("export")
                .rows as usize
        });
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "| {label} | {rows} | {json:.3} s | {xlsx:.3} s | {:.2} MB |",
            size as f64 / 1e6
        );
    }
}
