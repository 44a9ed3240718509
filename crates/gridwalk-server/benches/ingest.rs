//! Ingest rate: finalized inspections pushed in batches over real HTTP on loopback.
//!
//! `cargo bench -p gridwalk-server --bench ingest` starts the server on SQLite and then
//! on PostgreSQL (started as the tests do; skipped with a message when it cannot
//! start), and for each batch size pushes 1,000 spot-check inspections (20 answers,
//! 3 photo hashes, ~3 KB of canonical JSON each) from one device, one batch after the
//! other, gzip on both ways. Bodies are built and gzipped before the clock starts, so
//! the time is the server's work plus HTTP on loopback. Each case runs on a fresh
//! device, `GRIDWALK_BENCH_REPS` times (default 3); the median is reported.
//!
//! Environment: `GRIDWALK_BENCH_RECORDS` (default 1000), `GRIDWALK_BENCH_BATCHES`
//! (default `1,10,100,500`), `GRIDWALK_BENCH_REPS` (default 3), `GRIDWALK_BENCH_DB=sqlite`
//! (SQLite only, e.g. under `perf record`) or `postgres` (PostgreSQL only),
//! `GRIDWALK_BENCH_DEVICES` (default 1): that many devices push at once, each its share
//! of the records in sequential batches (the rate is all records over the wall time),
//! each inspecting an enterprise of its own (pushes for one enterprise take turns on its
//! fact rows; `GRIDWALK_BENCH_ONE_ENTERPRISE=1` has them all inspect the same one),
//! `GRIDWALK_TEST_DB_POOL_SIZE` (default 10): PostgreSQL connections (1 is the single
//! connection the server had before its pool), `GRIDWALK_BENCH_EVIDENCE=1`: a phone's
//! mix instead, each inspection after the evidence records of its 3 photos (a quarter of
//! the records are inspections; their on-site lookups find those records).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use common::{import_enterprises_csv, uscc, uscc_here, Db, Harness, VILLAGE};
use gridwalk_protocol::PushRequest;
use std::time::{Duration, Instant};
use support::{evidence_envelope, fake_photos, gzip, inspection_envelope, thousands};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// `GRIDWALK_BENCH_EVIDENCE=1`: each inspection follows its photos' evidence records.
fn evidence_mix() -> bool {
    std::env::var("GRIDWALK_BENCH_EVIDENCE").is_ok_and(|v| v == "1")
}

fn batch_sizes() -> Vec<usize> {
    std::env::var("GRIDWALK_BENCH_BATCHES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 100, 500])
}

/// One measured run.
struct Run {
    elapsed: Duration,
    requests: usize,
    body_bytes: usize,
    gzip_bytes: usize,
}

/// Pushes `records` inspections from `devices` new devices at once, each its share in
/// sequential batches of `batch`.
async fn run_many(h: &Harness, records: usize, batch: usize, devices: usize) -> Run {
    let devices = devices.clamp(1, records.max(1));
    let enterprises = enterprises(h, devices).await;
    let mut prepared = Vec::new();
    for (d, uscc) in enterprises.iter().enumerate() {
        let share = records / devices + usize::from(d < records % devices);
        prepared.push(prepare(h, share, batch, uscc).await);
    }
    let start = Instant::now();
    let pushes = prepared.iter().map(|p| push_all(h, p));
    let requests: usize = futures::future::join_all(pushes).await.into_iter().sum();
    Run {
        elapsed: start.elapsed(),
        requests,
        body_bytes: prepared.iter().map(|p| p.body_bytes).sum(),
        gzip_bytes: prepared
            .iter()
            .map(|p| p.bodies.iter().map(Vec::len).sum::<usize>())
            .sum(),
    }
}

/// One device's gzipped push bodies, built before the clock starts.
struct Prepared {
    token: String,
    bodies: Vec<Vec<u8>>,
    body_bytes: usize,
}

/// The enterprise each of `devices` devices inspects: one for all with one device or
/// `GRIDWALK_BENCH_ONE_ENTERPRISE=1`, else one each, in the grid worker's village
/// (registered on first use).
async fn enterprises(h: &Harness, devices: usize) -> Vec<String> {
    if devices == 1 || std::env::var("GRIDWALK_BENCH_ONE_ENTERPRISE").is_ok_and(|v| v == "1") {
        return vec![uscc_here(); devices];
    }
    let own: Vec<String> = (0..devices)
        .map(|d| uscc(&format!("91320413MA1XW{:04}", d + 1)))
        .collect();
    let mut csv = format!(
        "name,uscc,village_code,dust_types\n金坛东村木业有限公司,{},{VILLAGE},木粉\n",
        uscc_here()
    );
    for (d, u) in own.iter().enumerate() {
        csv.push_str(&format!("金坛东村木器厂{d},{u},{VILLAGE},木粉\n"));
    }
    import_enterprises_csv(h, csv).await;
    own
}

/// Enrolls a new device and builds its `records` inspections of `uscc` in batches of
/// `batch`.
async fn prepare(h: &Harness, records: usize, batch: usize, uscc: &str) -> Prepared {
    let dev = h.enroll("expert-jincheng").await;
    let envelopes: Vec<_> = if evidence_mix() {
        (1..=records as u64)
            .map(|seq| {
                // Positions 4k+1..4k+3 are the photos of the inspection at 4k+4.
                let photos = fake_photos(seq.div_ceil(4));
                match seq % 4 {
                    0 => inspection_envelope(seq, uscc, &photos),
                    k => evidence_envelope(seq, uscc, &photos[(k - 1) as usize]),
                }
            })
            .collect()
    } else {
        (1..=records as u64)
            .map(|seq| inspection_envelope(seq, uscc, &fake_photos(seq)))
            .collect()
    };
    let mut body_bytes = 0;
    let bodies: Vec<Vec<u8>> = envelopes
        .chunks(batch)
        .map(|c| {
            let json = serde_json::to_vec(&PushRequest {
                records: c.to_vec(),
            })
            .expect("push JSON");
            body_bytes += json.len();
            gzip(&json)
        })
        .collect();
    Prepared {
        token: dev.token,
        bodies,
        body_bytes,
    }
}

/// Pushes a device's bodies one after the other; returns the number of requests.
async fn push_all(h: &Harness, p: &Prepared) -> usize {
    let url = h.url("/v1/sync/push");
    for (i, body) in p.bodies.iter().enumerate() {
        let resp = h
            .http
            .post(&url)
            .bearer_auth(&p.token)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .body(body.clone())
            .send()
            .await
            .expect("push");
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.expect("push answer");
        assert_eq!(status, 200, "batch {i}: {v}");
        let results = v["results"].as_array().expect("results");
        assert!(
            results.iter().all(|r| r["status"] == "accepted"),
            "batch {i}: {v}"
        );
    }
    p.bodies.len()
}

/// Measures every batch size on one database; `false` if the database is unavailable.
async fn bench_db(db: Db, records: usize, reps: usize, devices: usize) -> bool {
    let name = match db {
        Db::Sqlite => "SQLite",
        Db::Postgres => "PostgreSQL",
    };
    for batch in batch_sizes() {
        // A fresh server (and database) per batch size, so the cases do not share state.
        let Some(h) = Harness::start(db).await else {
            println!("{name}: skipped: the PostgreSQL binaries are not installed");
            return false;
        };
        let mut runs = Vec::new();
        for _ in 0..reps.max(1) {
            runs.push(run_many(&h, records, batch, devices).await);
        }
        runs.sort_by_key(|r| r.elapsed);
        let median = &runs[runs.len() / 2];
        let rate = |r: &Run| records as f64 / r.elapsed.as_secs_f64();
        println!(
            "{name:<10} {batch:>6} {:>9} {:>11.0} {:>11.0} {:>11.0} {:>10.2} {:>12} {:>11}",
            median.requests,
            rate(median),
            rate(&runs[runs.len() - 1]),
            rate(&runs[0]),
            median.elapsed.as_secs_f64() * 1e3 / median.requests as f64,
            thousands((median.body_bytes / records) as u64),
            thousands((median.gzip_bytes / records) as u64),
        );
        h.stop().await;
    }
    true
}

fn main() {
    // `cargo bench` passes `--bench`; this harness-less bench has no options of its own.
    let records = env_num("GRIDWALK_BENCH_RECORDS", 1000);
    let reps = env_num("GRIDWALK_BENCH_REPS", 3);
    let devices = env_num("GRIDWALK_BENCH_DEVICES", 1).max(1);
    let only = std::env::var("GRIDWALK_BENCH_DB").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let sample = inspection_envelope(1, &uscc_here(), &fake_photos(1));
    println!(
        "ingest: {records} {} per run, 20 answers and 3 photo hashes each \
         (payload {} B canonical JSON), {devices} device(s) at once, each pushing sequential \
         batches, gzip both ways; median of {reps} runs",
        if evidence_mix() {
            "records (each spot-check inspection after its 3 photos' evidence records)"
        } else {
            "spot-check inspections"
        },
        thousands(sample.payload.len() as u64)
    );
    println!(
        "{:<10} {:>6} {:>9} {:>11} {:>11} {:>11} {:>10} {:>12} {:>11}",
        "database",
        "batch",
        "requests",
        "records/s",
        "min rec/s",
        "max rec/s",
        "ms/request",
        "JSON B/rec",
        "gzip B/rec"
    );
    if only != "postgres" {
        rt.block_on(bench_db(Db::Sqlite, records, reps, devices));
    }
    if only == "sqlite" {
        return;
    }
    // PostgreSQL in its own task: a start-up failure (a panic in the harness) is
    // reported and skipped instead of ending the bench.
    let pg = rt.block_on(rt.spawn(bench_db(Db::Postgres, records, reps, devices)));
    if let Err(e) = pg {
        println!("PostgreSQL: skipped: it could not be started: {e}");
    }
}
