//! Sync through a proxy that resets, stalls, truncates and answers `503` at random
//! (seeded) for over a thousand requests: in the end every record is on the server
//! exactly once, every photo byte-identical, everything complete.

use gridwalk_system_tests::check::{assert_evidence_verifies, assert_synced};
use gridwalk_system_tests::fixtures::{uscc, write_noise_png};
use gridwalk_system_tests::proxy::{FaultPlan, Proxy};
use gridwalk_system_tests::{inspections_with_major_hazard, requests, rng, World};
use std::time::{Duration, Instant};

/// Requests the proxy must have seen with faults on.
const MIN_REQUESTS: u64 = 1000;
/// Generated photos added per round (about 0.7 MB each after the device's pipeline).
const PHOTOS_PER_ROUND: u64 = 8;
const MAX_ROUNDS: u64 = 8;
/// `sync --once` runs allowed per round before the test gives up.
const MAX_RUNS_PER_ROUND: u32 = 60;

#[test]
fn over_a_thousand_faulty_requests_lose_nothing_and_double_nothing() {
    let seed = rng::seed("fault_proxy");
    let started = Instant::now();
    let w = World::new(2);
    let d = &w.device;
    let proxy = Proxy::start(w.server.addr);
    w.enroll(&proxy.url());
    inspections_with_major_hazard(d, 1);

    proxy.set_faults(Some(FaultPlan {
        seed,
        reset_request: 0.04,
        reset_response: 0.04,
        stall: 0.008,
        truncate: 0.04,
        unavailable: 0.03,
        max_burst: 4,
        stall_for: Duration::from_millis(2500),
    }));
    let args = [
        "--timeout-secs",
        "2",
        "--chunk-kib",
        "32",
        "--backoff-ms",
        "20",
        "--attempts",
        "5",
    ];
    let mut runs = Vec::new();
    let mut round = 0;
    // Rounds of new offline work, each synced to completion through the faults, until
    // the proxy has seen enough requests.
    while proxy.stats().requests < MIN_REQUESTS {
        round += 1;
        assert!(
            round <= MAX_ROUNDS,
            "{MAX_ROUNDS} rounds: {}",
            proxy.stats()
        );
        for i in 0..PHOTOS_PER_ROUND {
            let png = w.tmp.path().join(format!("noise-{round}-{i}.png"));
            write_noise_png(&png, 1280, 960, seed ^ (round << 8 | i));
            d.add_photo(&png, &uscc(2), &format!("巡查员{round}-{i}"));
            std::fs::remove_file(&png).expect("the device keeps its own copy");
        }
        let mut n = 0;
        loop {
            n += 1;
            let (code, summary, stderr) = d.sync_once(&args);
            match code {
                Some(0) => break,
                Some(4) => {
                    // Work left (records or photos pending, or the register pull behind:
                    // a failing pull no longer holds the photos back): the status says why.
                    let st = d.status();
                    let e = &st["last_error"];
                    assert!(
                        e["code"].as_str().is_some_and(|c| !c.is_empty())
                            && e["message"].as_str().is_some_and(|m| !m.is_empty()),
                        "exit 4 leaves a last_error: {st}"
                    );
                }
                other => panic!(
                    "round {round} run {n}: sync --once exited {other:?} (seed {seed:#x}): \
                     {stderr}\n{summary:?}\n{}",
                    proxy.stats()
                ),
            }
            assert!(
                n < MAX_RUNS_PER_ROUND,
                "round {round}: work left after {n} runs (seed {seed:#x}): {}\n{}",
                d.status(),
                proxy.stats()
            );
        }
        runs.push(n);
    }
    let stats = proxy.stats();
    proxy.set_faults(None);

    let synced = assert_synced(d, &w.server);
    let st = d.status();
    assert!(
        st["last_error"].is_null(),
        "a successful run clears it: {st}"
    );
    assert!(st["last_success_at"].is_string(), "{st}");
    assert_evidence_verifies(d);
    let log = proxy.log();
    let patches = requests(&log, "PATCH", "/v1/photos");
    assert!(
        patches.iter().all(|p| p.body_len <= 32 * 1024),
        "--chunk-kib 32 bounds every PATCH body"
    );
    let patches = patches.len();
    eprintln!(
        "fault_proxy (seed {seed:#x}): {stats}\n\
         {} sync --once runs over {round} rounds {runs:?}; {patches} PATCH requests; \
         {} records ({} inspections), {} photos ({} bytes) all on the server exactly once, \
         complete; {:.1} s",
        runs.iter().sum::<u32>(),
        synced.records,
        synced.inspections,
        synced.photos,
        synced.photo_bytes,
        started.elapsed().as_secs_f64()
    );
    assert!(stats.requests >= MIN_REQUESTS);
    for (f, n) in &stats.faults {
        assert!(*n > 0, "{f:?} injected");
    }
    assert_eq!(
        stats.faults.len(),
        5,
        "every kind of fault was injected: {stats}"
    );
}
