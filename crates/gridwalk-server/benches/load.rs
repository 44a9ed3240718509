//! Load: many phones syncing a day's work at once (issue 13), against the real
//! `gridwalk-server` binary as a child process.
//!
//! `cargo bench -p gridwalk-server --bench load` makes `GRIDWALK_LOAD_DEVICES` (default
//! 1,000) town experts with enrollment codes (the spot check is theirs to run), starts
//! `serve` (SQLite, local blobs; rate
//! limits raised, since every phone here shares one address), and starts each phone at
//! a random moment of `GRIDWALK_LOAD_SECONDS` (default 60). A phone enrolls, pushes its
//! day in one batch (5 spot-check inspections and a hazard it found), uploads the 15
//! photos those inspections name (`GRIDWALK_LOAD_PHOTO_KIB`, default 300 KiB each,
//! incompressible; tus create and one PATCH each) and pulls until nothing is left. It
//! prints, per endpoint, requests, errors and p50/p99/max latency, the throughput, and
//! the server's peak resident memory (`VmHWM`). Photos are written to the temp
//! directory: 1,000 phones need about 4.5 GB free there.
//!
//! With `GRIDWALK_LOAD_DB=postgres` it runs the city setup instead: a PostgreSQL the
//! bench starts (as the server's tests do), two `serve` replicas on it, each with its own
//! empty data directory, sharing one blob store (`--blob-url file://…`); each phone
//! enrolls, pushes and uploads through one replica and pulls from the other (phones
//! alternate), and the peak memory is printed per replica.
//!
//! The inspections are built before the clock starts; photo bytes are made as they are
//! sent. The generator runs on the same machine as the server and shares its cores.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use common::{created_hazard, divisions_csv, uscc_here, TOWN, VILLAGE};
use gridwalk_protocol::tus::encode_metadata;
use gridwalk_protocol::{sha256_hex, EnrollRequest, EnrollResponse, PushRequest, RecordEnvelope};
use gridwalk_server::register::{self, RegisterFile};
use gridwalk_server::DataDir;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::served::{peak_kib, photo, Served};
use support::{inspection_envelope, thousands};
use uuid::Uuid;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Latencies and errors per endpoint.
#[derive(Default)]
struct Stats {
    by_endpoint: BTreeMap<&'static str, Endpoint>,
}

#[derive(Default)]
struct Endpoint {
    latencies: Vec<Duration>,
    errors: u64,
    first_errors: Vec<String>,
}

type Shared = Arc<Mutex<Stats>>;

fn note(stats: &Shared, endpoint: &'static str, took: Duration, error: Option<String>) {
    let Ok(mut s) = stats.lock() else { return };
    let e = s.by_endpoint.entry(endpoint).or_default();
    e.latencies.push(took);
    if let Some(err) = error {
        e.errors += 1;
        if e.first_errors.len() < 3 {
            e.first_errors.push(err);
        }
    }
}

/// Sends a request, times it and notes the outcome; the body of a success.
async fn timed(
    stats: &Shared,
    endpoint: &'static str,
    req: reqwest::RequestBuilder,
    expect: u16,
) -> Option<(reqwest::header::HeaderMap, bytes::Bytes)> {
    let start = Instant::now();
    let result = async {
        let r = req.send().await.map_err(|e| format!("{e}"))?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.map_err(|e| format!("{e}"))?;
        if status != expect {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
        }
        Ok((headers, body))
    }
    .await;
    let took = start.elapsed();
    match result {
        Ok(ok) => {
            note(stats, endpoint, took, None);
            Some(ok)
        }
        Err(e) => {
            note(stats, endpoint, took, Some(e));
            None
        }
    }
}

/// One phone's day: its records and the seeds of its photos.
struct Day {
    code: String,
    records: Vec<RecordEnvelope>,
    photos: Vec<(u64, String)>,
}

const INSPECTIONS: u64 = 5;
const PHOTOS_PER_INSPECTION: u64 = 3;

fn day(device: u64, code: String, photo_len: usize) -> Day {
    let uscc = uscc_here();
    let mut records = Vec::new();
    let mut photos = Vec::new();
    for i in 0..INSPECTIONS {
        let seeds: Vec<u64> = (0..PHOTOS_PER_INSPECTION)
            .map(|k| device * 1_000 + i * 10 + k)
            .collect();
        let hashes: Vec<String> = seeds
            .iter()
            .map(|s| sha256_hex(&photo(*s, photo_len)))
            .collect();
        photos.extend(seeds.iter().copied().zip(hashes.iter().cloned()));
        let three = [hashes[0].clone(), hashes[1].clone(), hashes[2].clone()];
        records.push(inspection_envelope(i + 1, &uscc, &three));
    }
    records.push(created_hazard(
        INSPECTIONS + 1,
        Uuid::now_v7(),
        &format!("load-{device:04}"),
        "general",
    ));
    Day {
        code,
        records,
        photos,
    }
}

/// A phone's day against `base` (enroll, push, photos) and `pull_base` (pull; another
/// replica in the two-replica setup).
async fn phone(
    http: reqwest::Client,
    base: String,
    pull_base: String,
    day: Day,
    photo_len: usize,
    stats: Shared,
) {
    let Some((_, body)) = timed(
        &stats,
        "POST /v1/enroll",
        http.post(format!("{base}/v1/enroll")).json(&EnrollRequest {
            code: day.code.clone(),
            device_key: Uuid::new_v4().to_string(),
            device_name: Some("load".into()),
        }),
        200,
    )
    .await
    else {
        return;
    };
    let Ok(dev) = serde_json::from_slice::<EnrollResponse>(&body) else {
        note(
            &stats,
            "POST /v1/enroll",
            Duration::ZERO,
            Some("bad answer".into()),
        );
        return;
    };
    let token = dev.token;
    timed(
        &stats,
        "POST /v1/sync/push",
        http.post(format!("{base}/v1/sync/push"))
            .bearer_auth(&token)
            .json(&PushRequest {
                records: day.records,
            }),
        200,
    )
    .await;
    for (seed, sha) in day.photos {
        let Some((headers, _)) = timed(
            &stats,
            "POST /v1/photos",
            http.post(format!("{base}/v1/photos"))
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", photo_len.to_string())
                .header("Upload-Metadata", encode_metadata(&[("sha256", &sha)])),
            201,
        )
        .await
        else {
            continue;
        };
        let Some(loc) = headers.get("location").and_then(|l| l.to_str().ok()) else {
            continue;
        };
        timed(
            &stats,
            "PATCH /v1/photos/{id}",
            http.patch(format!("{base}{loc}"))
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", "0")
                .body(photo(seed, photo_len)),
            204,
        )
        .await;
    }
    let mut cursor = String::new();
    for _ in 0..1_000 {
        let Some((_, body)) = timed(
            &stats,
            "GET /v1/sync/pull",
            http.get(format!("{pull_base}/v1/sync/pull"))
                .bearer_auth(&token)
                .query(&[("cursor", cursor.as_str()), ("limit", "500")]),
            200,
        )
        .await
        else {
            return;
        };
        let Ok(page) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return;
        };
        match page["next_cursor"].as_str() {
            Some(next) if page["has_more"] == true => cursor = next.to_string(),
            _ => return,
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Users with enrollment codes, the register, the templates: straight into the store
/// before the server starts.
fn prepare(data: &DataDir, database_url: Option<&str>, devices: u64) -> Vec<String> {
    let store = gridwalk_server::open_store(data, database_url).expect("store");
    let div = data.0.join("divisions.csv");
    std::fs::write(&div, divisions_csv()).expect("csv");
    register::import(&store, RegisterFile::Divisions, &div).expect("divisions");
    let ent = data.0.join("enterprises.csv");
    std::fs::write(
        &ent,
        format!(
            "name,uscc,village_code,dust_types\n金坛东村木业有限公司,{},{VILLAGE},木粉\n",
            uscc_here()
        ),
    )
    .expect("csv");
    register::import(&store, RegisterFile::Enterprises, &ent).expect("enterprises");
    store.publish_templates().expect("templates");
    // Experts of the town: the spot check each pushes is theirs to run (a grid worker's
    // would be refused `forbidden_role`).
    let town = gridwalk_core::DivisionCode::parse(TOWN).expect("town");
    (0..devices)
        .map(|d| {
            let name = format!("load-{d:04}");
            store
                .create_user(&name, gridwalk_protocol::Role::Expert, &town)
                .expect("user");
            store.issue_enrollment_code(&name).expect("code")
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let devices = env_num("GRIDWALK_LOAD_DEVICES", 1_000);
    let seconds = env_num("GRIDWALK_LOAD_SECONDS", 60);
    let photo_len = env_num("GRIDWALK_LOAD_PHOTO_KIB", 300) as usize * 1024;
    let postgres = std::env::var("GRIDWALK_LOAD_DB").is_ok_and(|v| v == "postgres");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::create(dir.path()).expect("data dir");
    // The set-up uses blocking database clients (each with a runtime of its own): on a
    // thread outside this runtime.
    let (database_url, codes) = std::thread::scope(|s| {
        s.spawn(|| {
            let url = postgres.then(|| {
                common::fresh_pg_database()
                    .expect("PostgreSQL 15 (its initdb and pg_ctl) is installed")
            });
            let codes = prepare(&data, url.as_deref(), devices);
            (url, codes)
        })
        .join()
        .expect("set-up")
    });
    let days: Vec<Day> = codes
        .into_iter()
        .enumerate()
        .map(|(i, code)| day(i as u64, code, photo_len))
        .collect();
    let mut flags: Vec<String> = [
        "--enroll-per-minute",
        "100000",
        "--token-per-second",
        "1000",
        "--max-connections",
        "4096",
    ]
    .map(String::from)
    .to_vec();
    // The replicas' own (empty) data directories; they share the database and the blobs.
    let replica_dirs: Vec<tempfile::TempDir> = (0..if postgres { 2 } else { 0 })
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let served: Vec<Served> = match &database_url {
        Some(url) => {
            let blobs = dir.path().join("shared-blobs");
            std::fs::create_dir_all(&blobs).expect("blob dir");
            flags.extend([
                "--database-url".to_string(),
                url.clone(),
                "--blob-url".to_string(),
                format!("file://{}", blobs.display()),
            ]);
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            replica_dirs
                .iter()
                .map(|d| Served::start(d.path(), &flags))
                .collect()
        }
        None => {
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            vec![Served::start(dir.path(), &flags)]
        }
    };
    println!(
        "load: {devices} phones, each enrolls, pushes {INSPECTIONS} spot-check inspections and a hazard \
         in one batch, uploads {} photos of {} KiB (tus) and pulls; arrivals spread over {seconds} s; \
         {}",
        INSPECTIONS * PHOTOS_PER_INSPECTION,
        photo_len / 1024,
        if postgres {
            "PostgreSQL, two replicas sharing one blob store (each phone pulls from the other replica)"
        } else {
            "SQLite, local blobs"
        }
    );
    let stats: Shared = Arc::default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, d) in days.into_iter().enumerate() {
        // Spread evenly with a fixed jitter: the same run every time.
        let at = Duration::from_secs_f64(
            seconds as f64 * ((i as f64 + 0.5 * ((i * 7919) % 13) as f64 / 13.0) / devices as f64),
        );
        let base = served[i % served.len()].base.clone();
        let pull_base = served[(i + 1) % served.len()].base.clone();
        let (http, stats) = (http.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(start + at)).await;
            phone(http, base, pull_base, d, photo_len, stats).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let wall = start.elapsed();
    let peaks: Vec<f64> = served
        .iter()
        .map(|s| peak_kib(s.pid()) as f64 / 1024.0)
        .collect();
    let stats = stats
        .lock()
        .map(|mut s| std::mem::take(&mut s.by_endpoint))
        .unwrap_or_default();
    println!(
        "{:<24} {:>9} {:>7} {:>9} {:>9} {:>9}",
        "endpoint", "requests", "errors", "p50 ms", "p99 ms", "max ms"
    );
    let mut errors = 0;
    for (name, mut e) in stats {
        e.latencies.sort();
        errors += e.errors;
        println!(
            "{name:<24} {:>9} {:>7} {:>9.1} {:>9.1} {:>9.1}",
            thousands(e.latencies.len() as u64),
            e.errors,
            percentile(&e.latencies, 0.5),
            percentile(&e.latencies, 0.99),
            percentile(&e.latencies, 1.0),
        );
        for err in e.first_errors {
            println!("    e.g. {}", err.chars().take(200).collect::<String>());
        }
    }
    let records = devices * (INSPECTIONS + 1);
    let photos = devices * INSPECTIONS * PHOTOS_PER_INSPECTION;
    println!(
        "wall {:.1} s: {:.0} records/s, {:.1} photos/s, {:.1} MB/s of photos; errors {errors}; \
         server peak resident memory {} MB",
        wall.as_secs_f64(),
        records as f64 / wall.as_secs_f64(),
        photos as f64 / wall.as_secs_f64(),
        (photos as f64 * photo_len as f64) / 1e6 / wall.as_secs_f64(),
        peaks
            .iter()
            .map(|p| format!("{p:.1}"))
            .collect::<Vec<_>>()
            .join(" + ")
    );
}
