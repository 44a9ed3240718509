//! The hazard ledger (隐患排查治理台账, docs/exports.md) at district scale: 100,000
//! hazards of 20,000 enterprises in one district of 20 towns × 15 villages, about half
//! with a 五定 plan, majors listed, some re-inspected and closed, on SQLite and on a
//! PostgreSQL it starts. Prints the time of `Store::export_ledger` for the district
//! (every hazard) and for one town, median of 3, the file size, and the process's peak
//! resident memory during the exports (`VmHWM`, reset through `/proc/self/clear_refs`
//! after loading the data, so it measures the export and not the load).
//!
//! `cargo bench -p gridwalk-server --bench export`; `GRIDWALK_BENCH_HAZARDS` changes the
//! size, `GRIDWALK_BENCH_DB=sqlite` skips PostgreSQL. The hazard rows (with their folded
//! state) are written straight into the table: what the ledger reads.

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use gridwalk_checklist::hazard::ReinspectionRecord;
use gridwalk_checklist::{
    HazardState, HazardStatus, LegalBasis, ListedSupervision, RectificationPlan, Severity,
};
use gridwalk_core::DivisionCode;
use gridwalk_server::export::{ExportRequest, LedgerKind};
use gridwalk_server::work::Actor;
use gridwalk_server::{open_store, DataDir};
use std::time::Instant;
use uuid::Uuid;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// SplitMix64, so the data is the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A line of /proc/self/status, in KiB.
fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

const DESCRIPTIONS: [&str; 4] = [
    "除尘器未设置泄爆装置，且泄爆口朝向人员密集的作业区域",
    "粉尘爆炸危险场所电气设备未采用防爆型",
    "干式除尘系统未规范采用锁气卸灰措施，灰斗积尘未及时清理",
    "铝镁等金属粉尘湿式除尘系统未设置水量水压监测报警装置",
];

fn state(rng: &mut Rng, n: u64, enterprise_id: Uuid, found: DateTime<Utc>) -> HazardState {
    let major = rng.below(10) < 2;
    let status = HazardStatus::ALL[rng.below(5) as usize];
    let deadline = gridwalk_checklist::hazard::china_date(found)
        .checked_add_days(chrono::Days::new(if major { 90 } else { 30 }))
        .unwrap_or(NaiveDate::MAX);
    let planned = rng.below(2) == 0 || status != HazardStatus::Found;
    let reinspected = matches!(status, HazardStatus::Reinspected | HazardStatus::Closed);
    HazardState {
        hazard_id: Uuid::from_u64_pair(1, n),
        severity: if major {
            Severity::Major
        } else {
            Severity::General
        },
        status,
        enterprise_id,
        description_zh: DESCRIPTIONS[(n % 4) as usize].into(),
        item_id: Some(format!("MH-D-{:02}", n % 20)),
        inspection_id: Some(Uuid::from_u64_pair(2, n)),
        legal_basis: Some(LegalBasis {
            document: "工贸企业重大事故隐患判定标准".into(),
            article: format!("第{}条", 10 + n % 5),
            unconfirmed: false,
        }),
        photo_sha256s: vec!["a".repeat(64)],
        found_at: found,
        found_by: format!("网格员{}", n % 300),
        deadline,
        assignee: (status != HazardStatus::Found).then(|| format!("专家{}", n % 40)),
        listed: major.then(|| ListedSupervision {
            notice_no: format!("金安督〔2024〕{}号", n % 100),
            supervising_body: "金坛区安委办".into(),
            deadline,
        }),
        plan: planned.then(|| RectificationPlan {
            measures: "加装泄爆片，泄爆口引至室外安全区域".into(),
            responsible: format!("负责人{}", n % 1000),
            funds_yuan: Some(1000 * (1 + n % 50)),
            deadline,
            interim_measures: "停用相关设备，设置警示标志".into(),
        }),
        reinspections: if reinspected {
            vec![ReinspectionRecord {
                at: found + Duration::days(20),
                actor: format!("专家{}", n % 40),
                passed: true,
                before_photo_sha256s: vec!["b".repeat(64)],
                after_photo_sha256s: vec!["c".repeat(64)],
                note: None,
            }]
        } else {
            Vec::new()
        },
        closed_at: (status == HazardStatus::Closed).then(|| found + Duration::days(21)),
        event_count: 3,
        last_event_at: found + Duration::days(21),
        last_event_id: Uuid::from_u64_pair(3, n),
    }
}

/// One row of the generated data, in load order.
enum Line {
    Division {
        code: String,
        name: String,
        level: &'static str,
        parent: Option<String>,
    },
    Enterprise {
        id: Uuid,
        uscc: String,
        village: String,
        name: String,
    },
    Hazard(Box<HazardLine>),
}

/// A `hazard` row.
struct HazardLine {
    id: String,
    enterprise_id: String,
    uscc: String,
    division: String,
    severity: &'static str,
    status: String,
    deadline: String,
    assignee: Option<String>,
    listed: i64,
    found_at: String,
    closed_at: Option<String>,
    state: String,
}

/// The same data every run, handed to `f` row by row (never all in memory).
fn generate(hazards: u64, f: &mut dyn FnMut(Line)) {
    let enterprises = (hazards / 5).max(1);
    f(Line::Division {
        code: "320413000000".into(),
        name: "金坛区".into(),
        level: "district",
        parent: None,
    });
    let mut villages = Vec::new();
    for t in 0..20u64 {
        let town = format!("320413{:03}000", 100 + t);
        f(Line::Division {
            code: town.clone(),
            name: format!("第{t}镇"),
            level: "town",
            parent: Some("320413000000".into()),
        });
        for v in 0..15u64 {
            let village = format!("320413{:03}{:03}", 100 + t, 201 + v);
            f(Line::Division {
                code: village.clone(),
                name: format!("第{t}镇第{v}村"),
                level: "village",
                parent: Some(town.clone()),
            });
            villages.push(village);
        }
    }
    let mut rng = Rng(0x5eed);
    let mut firms = Vec::with_capacity(enterprises as usize);
    for n in 0..enterprises {
        let uscc = format!("91320413BENCH{n:05}");
        let village = villages[rng.below(villages.len() as u64) as usize].clone();
        let id = Uuid::from_u64_pair(4, n);
        f(Line::Enterprise {
            id,
            uscc: uscc.clone(),
            village: village.clone(),
            name: format!("金坛区第{n}号机械制造有限公司"),
        });
        firms.push((id, uscc, village));
    }
    let base = DateTime::parse_from_rfc3339("2024-05-01T02:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    for n in 0..hazards {
        let (eid, uscc, village) = &firms[rng.below(firms.len() as u64) as usize];
        let found = base + Duration::minutes(rng.below(60 * 24 * 120) as i64);
        let s = state(&mut rng, n, *eid, found);
        let status = serde_json::to_value(s.status).expect("status");
        f(Line::Hazard(Box::new(HazardLine {
            id: s.hazard_id.to_string(),
            enterprise_id: eid.to_string(),
            uscc: uscc.clone(),
            division: village.clone(),
            severity: if s.severity == Severity::Major {
                "major"
            } else {
                "general"
            },
            status: status.as_str().unwrap_or_default().to_string(),
            deadline: s.deadline.to_string(),
            assignee: s.assignee.clone(),
            listed: i64::from(s.listed.is_some()),
            found_at: s.found_at.to_rfc3339(),
            closed_at: s.closed_at.map(|c| c.to_rfc3339()),
            state: serde_json::to_string(&s).expect("state"),
        })));
    }
}

fn load_sqlite(data: &DataDir, hazards: u64) {
    let mut c = rusqlite::Connection::open(data.database()).expect("sqlite");
    // Hazard rows without their records: what the ledger reads, nothing more.
    c.pragma_update(None, "foreign_keys", "OFF")
        .expect("pragma");
    let tx = c.transaction().expect("tx");
    {
        let mut div = tx
            .prepare(
                "INSERT INTO division (code, name, level, parent_code) VALUES (?1, ?2, ?3, ?4)",
            )
            .expect("prepare");
        let mut ent = tx
            .prepare("INSERT INTO enterprise (id, uscc, village_code, body, name) VALUES (?1, ?2, ?3, '{}', ?4)")
            .expect("prepare");
        let mut haz = tx
            .prepare(
                "INSERT INTO hazard (id, enterprise_id, enterprise_uscc, division_code, severity,
                     created_record_id, status, deadline, assignee, listed, found_at, closed_at,
                     event_count, skipped_events, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'r', ?6, ?7, ?8, ?9, ?10, ?11, 3, 0, ?12)",
            )
            .expect("prepare");
        generate(hazards, &mut |line| match line {
            Line::Division {
                code,
                name,
                level,
                parent,
            } => {
                div.execute(rusqlite::params![code, name, level, parent])
                    .expect("division");
            }
            Line::Enterprise {
                id,
                uscc,
                village,
                name,
            } => {
                ent.execute(rusqlite::params![id.to_string(), uscc, village, name])
                    .expect("enterprise");
            }
            Line::Hazard(h) => {
                haz.execute(rusqlite::params![
                    h.id,
                    h.enterprise_id,
                    h.uscc,
                    h.division,
                    h.severity,
                    h.status,
                    h.deadline,
                    h.assignee,
                    h.listed,
                    h.found_at,
                    h.closed_at,
                    h.state,
                ])
                .expect("hazard");
            }
        });
    }
    tx.commit().expect("commit");
    c.execute_batch("ANALYZE").expect("analyze");
}

/// A field of PostgreSQL's COPY text format.
fn copy_field(out: &mut String, v: Option<&str>) {
    match v {
        None => out.push_str("\\N"),
        Some(s) => {
            for ch in s.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

fn load_postgres(url: &str, hazards: u64) {
    use std::io::Write;
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let mut tx = client.transaction().expect("tx");
    // The register first (small), then the hazards through COPY (fast).
    generate(hazards, &mut |line| match line {
        Line::Division {
            code,
            name,
            level,
            parent,
        } => {
            tx.execute(
                "INSERT INTO division (code, name, level, parent_code) VALUES ($1, $2, $3, $4)",
                &[&code, &name, &level, &parent],
            )
            .expect("division");
        }
        Line::Enterprise {
            id,
            uscc,
            village,
            name,
        } => {
            tx.execute(
                "INSERT INTO enterprise (id, uscc, village_code, body, name) VALUES ($1, $2, $3, '{}', $4)",
                &[&id.to_string(), &uscc, &village, &name],
            )
            .expect("enterprise");
        }
        Line::Hazard(_) => {}
    });
    // Hazard rows without their records: the foreign key is not checked for them.
    tx.batch_execute("SET session_replication_role = replica")
        .expect("replica");
    let mut copy = tx
        .copy_in(
            "COPY hazard (id, enterprise_id, enterprise_uscc, division_code, severity,
                 created_record_id, status, deadline, assignee, listed, found_at, closed_at,
                 event_count, skipped_events, state) FROM STDIN",
        )
        .expect("copy");
    let mut buf = String::new();
    generate(hazards, &mut |line| {
        if let Line::Hazard(h) = line {
            let listed = h.listed.to_string();
            let fields: [Option<&str>; 15] = [
                Some(&h.id),
                Some(&h.enterprise_id),
                Some(&h.uscc),
                Some(&h.division),
                Some(h.severity),
                Some("r"),
                Some(&h.status),
                Some(&h.deadline),
                h.assignee.as_deref(),
                Some(&listed),
                Some(&h.found_at),
                h.closed_at.as_deref(),
                Some("3"),
                Some("0"),
                Some(&h.state),
            ];
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    buf.push('\t');
                }
                copy_field(&mut buf, *f);
            }
            buf.push('\n');
            if buf.len() > 1 << 20 {
                copy.write_all(buf.as_bytes()).expect("copy");
                buf.clear();
            }
        }
    });
    copy.write_all(buf.as_bytes()).expect("copy");
    copy.finish().expect("copy finish");
    tx.batch_execute("SET session_replication_role = DEFAULT; ANALYZE")
        .expect("analyze");
    tx.commit().expect("commit");
}

/// Exports the district's and a town's ledgers three times each and prints the table.
fn measure(store: &gridwalk_server::Store, dir: &std::path::Path) {
    let rss_before = status_kib("VmRSS:");
    // Peak RSS from here on (Linux: "5" resets VmHWM to the current RSS).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    println!("| export | rows | median of 3 | file |");
    println!("|---|---|---|---|");
    for (label, code) in [
        ("district (every hazard)", "320413000000"),
        ("town (1 of 20)", "320413105000"),
    ] {
        let req = ExportRequest::new(
            LedgerKind::Hazards,
            DivisionCode::parse(code).expect("division"),
        );
        let mut times = Vec::new();
        let (mut rows, mut size) = (0, 0);
        for i in 0..3 {
            let path = dir.join(format!("ledger-{code}-{i}.xlsx"));
            let t = Instant::now();
            let file = std::fs::File::create(&path).expect("file");
            rows = store
                .export_ledger(&Actor::operator(), &req, Some(dir), file)
                .expect("export")
                .rows;
            times.push(t.elapsed());
            size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let _ = std::fs::remove_file(&path);
        }
        times.sort();
        println!(
            "| {label} | {rows} | {:.2} s | {:.1} MB |",
            times[1].as_secs_f64(),
            size as f64 / 1e6
        );
    }
    let peak = status_kib("VmHWM:");
    println!(
        "peak resident memory during the exports: {:.1} MB (resident before: {:.1} MB{})",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        if reset {
            ""
        } else {
            "; VmHWM could not be reset, so the peak includes the load"
        }
    );
}

fn main() {
    let hazards = env_num("GRIDWALK_BENCH_HAZARDS", 100_000);
    let enterprises = (hazards / 5).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::create(dir.path()).expect("data dir");
    drop(open_store(&data, None).expect("migrate"));
    let started = Instant::now();
    load_sqlite(&data, hazards);
    let load = started.elapsed();
    let store = open_store(&data, None).expect("store");
    println!(
        "hazard ledger: {hazards} hazards of {enterprises} enterprises (SQLite; loaded in {:.1} s)",
        load.as_secs_f64()
    );
    measure(&store, dir.path());
    drop(store);
    if std::env::var("GRIDWALK_BENCH_DB").is_ok_and(|d| d == "sqlite") {
        return;
    }
    let Some(url) = common::fresh_pg_database() else {
        println!("PostgreSQL: skipped (its binaries are not installed)");
        return;
    };
    drop(open_store(&data, Some(&url)).expect("migrate"));
    let started = Instant::now();
    load_postgres(&url, hazards);
    let load = started.elapsed();
    let store = open_store(&data, Some(&url)).expect("store");
    println!(
        "\nhazard ledger: {hazards} hazards of {enterprises} enterprises (PostgreSQL; loaded in {:.1} s)",
        load.as_secs_f64()
    );
    measure(&store, dir.path());
}
