//! Coverage at city scale (docs/campaign.md "Coverage"): 100,000 enterprises in one
//! district of 20 towns × 15 villages, and 1,000,000 finalized inspections in the
//! `inspection` projection (templates and enterprises drawn with a fixed seed), on
//! SQLite, with the facts visits confirmed for 70% of the enterprises and a hazard for
//! every fifth. Prints the time of `Store::coverage` (all nine duties of the shipped
//! campaign, per child division) for a town and for the district, median of 5, and of
//! one list behind a number.
//!
//! `cargo bench -p gridwalk-server --bench coverage`; `GRIDWALK_BENCH_ENTERPRISES` and
//! `GRIDWALK_BENCH_INSPECTIONS` change the sizes. The rows are written straight into the
//! tables (the projection's columns, not whole records): what coverage reads.

use gridwalk_core::{Campaign, DivisionCode};
use gridwalk_server::coverage::CoverageStatus;
use gridwalk_server::{open_store, DataDir};
use std::time::{Duration, Instant};

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

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let enterprises = env_num("GRIDWALK_BENCH_ENTERPRISES", 100_000);
    let inspections = env_num("GRIDWALK_BENCH_INSPECTIONS", 1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::create(dir.path()).expect("data dir");
    drop(open_store(&data, None).expect("migrate"));
    let started = Instant::now();
    {
        let mut c = rusqlite::Connection::open(data.database()).expect("sqlite");
        // Projection rows without their records: what coverage reads, nothing more.
        c.pragma_update(None, "foreign_keys", "OFF")
            .expect("pragma");
        let tx = c.transaction().expect("tx");
        tx.execute(
            "INSERT INTO division (code, name, level, parent_code) VALUES ('320413000000', '金坛区', 'district', NULL)",
            [],
        )
        .expect("district");
        let mut villages = Vec::new();
        for t in 0..20u64 {
            let town = format!("320413{:03}000", 100 + t);
            tx.execute(
                "INSERT INTO division (code, name, level, parent_code) VALUES (?1, ?2, 'town', '320413000000')",
                rusqlite::params![town, format!("镇{t}")],
            )
            .expect("town");
            for v in 0..15u64 {
                let village = format!("320413{:03}{:03}", 100 + t, 201 + v);
                tx.execute(
                    "INSERT INTO division (code, name, level, parent_code) VALUES (?1, ?2, 'village', ?3)",
                    rusqlite::params![village, format!("村{t}-{v}"), town],
                )
                .expect("village");
                villages.push(village);
            }
        }
        let mut rng = Rng(0x5eed);
        let mut usccs = Vec::with_capacity(enterprises as usize);
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO enterprise (id, uscc, village_code, body, name, dust_involved, al_mg, workers_per_shift, tenant)
                     VALUES (?1, ?2, ?3, '{}', ?4, ?5, ?6, ?7, ?8)",
                )
                .expect("prepare");
            for n in 0..enterprises {
                let uscc = format!("91320413BENCH{n:05}");
                let village = &villages[rng.below(villages.len() as u64) as usize];
                let dust = rng.below(10) < 6;
                stmt.execute(rusqlite::params![
                    format!("e-{n}"),
                    uscc,
                    village,
                    format!("企业{n}"),
                    i64::from(dust),
                    i64::from(dust && rng.below(10) < 2),
                    rng.below(40) as i64,
                    i64::from(rng.below(20) == 0),
                ])
                .expect("enterprise");
                usccs.push(uscc);
            }
        }
        let templates = [
            "grid-survey",
            "dust-verification",
            "expert-major-hazard",
            "supervision-spot-check",
            "pre-lease-check",
            "hazard-reinspection",
        ];
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO inspection (record_id, inspection_id, enterprise_id, enterprise_uscc, division_code,
                         template_id, template_version, inspector, role, device_id, started_at, finalized_at,
                         received_at, payload_sha256, passed, failed, findings, photo_count)
                     VALUES (?1, ?1, 'e', ?2, '320413000000', ?3, 1, 'bench', 'expert', 'd',
                         ?4, ?4, ?4, 'h', 10, 1, 1, 3)",
                )
                .expect("prepare");
            for n in 0..inspections {
                let uscc = &usccs[rng.below(usccs.len() as u64) as usize];
                let template = templates[rng.below(templates.len() as u64) as usize];
                let month = 1 + rng.below(12);
                stmt.execute(rusqlite::params![
                    format!("r-{n}"),
                    uscc,
                    template,
                    format!("2024-{month:02}-15T02:00:00+00:00"),
                ])
                .expect("inspection");
            }
        }
        // What visits confirmed (risk report, training, 安全专员) for 70% of the
        // enterprises, and one hazard for every fifth, a third of them closed: what the
        // duties counted by a fact or by rectification read.
        {
            let mut fact = tx
                .prepare(
                    "INSERT INTO enterprise_fact (enterprise_uscc, fact, record_id, inspection_id,
                         confirmed_by, confirmed_at, value, outcome)
                     VALUES (?1, ?2, 'r', 'i', 'bench', ?3, '{}', ?4)",
                )
                .expect("prepare");
            let mut hazard = tx
                .prepare(
                    "INSERT INTO hazard (id, enterprise_id, enterprise_uscc, division_code, severity,
                         created_record_id, status)
                     VALUES (?1, 'e', ?2, '320413000000', 'general', 'r', ?3)",
                )
                .expect("prepare");
            for (n, uscc) in usccs.iter().enumerate() {
                if rng.below(10) < 7 {
                    let month = 1 + rng.below(12);
                    let at = format!("2024-{month:02}-20T02:00:00+00:00");
                    for (name, outcomes) in [
                        (
                            "risk_report",
                            ["filed", "helped_on_site", "not_filed"].as_slice(),
                        ),
                        ("training", ["done", "not_done"].as_slice()),
                        ("safety_officer", ["present", "absent"].as_slice()),
                    ] {
                        let outcome = outcomes[rng.below(outcomes.len() as u64) as usize];
                        fact.execute(rusqlite::params![uscc, name, at, outcome])
                            .expect("fact");
                    }
                }
                if n % 5 == 0 {
                    let status = if rng.below(3) == 0 { "closed" } else { "found" };
                    hazard
                        .execute(rusqlite::params![format!("h-{n}"), uscc, status])
                        .expect("hazard");
                }
            }
        }
        tx.commit().expect("commit");
        c.execute_batch("ANALYZE").expect("analyze");
    }
    let load = started.elapsed();
    let store = open_store(&data, None).expect("store");
    let campaign =
        Campaign::from_json(include_str!("../campaigns/changzhou-2024-dust-100day.json"))
            .expect("campaign");
    let today = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).expect("date");
    println!(
        "coverage: {enterprises} enterprises, {inspections} inspections (SQLite; loaded in {:.1} s)",
        load.as_secs_f64()
    );
    println!("| query | median of 5 |");
    println!("|---|---|");
    for (label, code) in [
        ("town (1 of 20), every duty per village", "320413105000"),
        ("district, every duty per town", "320413000000"),
    ] {
        let division = DivisionCode::parse(code).expect("division");
        let mut times = Vec::new();
        let mut applicable = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let cov = store
                .coverage(&campaign, &division, today)
                .expect("coverage");
            times.push(t.elapsed());
            applicable = cov.duties[0].counts.applicable;
        }
        println!(
            "| {label} ({} duties, {applicable} enterprises) | {:.1} ms |",
            campaign.duties.len(),
            median(times)
        );
    }
    let town = DivisionCode::parse("320413105000").expect("town");
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..5 {
        let t = Instant::now();
        n = store
            .coverage_enterprises(
                &campaign,
                "expert-check",
                &town,
                CoverageStatus::Overdue,
                today,
                10_000,
            )
            .expect("list")
            .len();
        times.push(t.elapsed());
    }
    println!(
        "| town: the {n} enterprises overdue for the expert check | {:.1} ms |",
        median(times)
    );
}
