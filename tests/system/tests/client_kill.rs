//! `gridwalk sync --once` SIGKILLed at random (seeded) instants, again and again, with
//! new offline work arriving between trials; then one sync to completion: nothing lost,
//! nothing doubled, the device's evidence chain and database intact.

use gridwalk_system_tests::check::{assert_evidence_verifies, assert_synced};
use gridwalk_system_tests::fixtures::corpus_photo;
use gridwalk_system_tests::fixtures::{uscc, write_noise_png};
use gridwalk_system_tests::proxy::{Fault, Proxy};
use gridwalk_system_tests::rng::{self, Rng};
use gridwalk_system_tests::{
    inspections_with_major_hazard, sync_until_done, wait_for, KillOnDrop, World,
};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Trials go on until this many runs were SIGKILLed mid-run (a run that finishes
/// before its kill instant counts as a trial, not a kill)…
const KILLS: u32 = 30;
/// …within this many trials.
const MAX_TRIALS: u64 = 150;
/// A kill lands at most this long after the start, uniformly (the first request goes
/// out after about 20–40 ms). On a fast machine a run can finish sooner: the bound then
/// shrinks to 90 % of the last run that finished by itself, so kills keep landing
/// mid-run whatever the machine's speed.
const MAX_DELAY_MS: u64 = 300;

/// What the last request forwarded before a kill was, for the report.
fn phase(method: &str, path: &str) -> &'static str {
    match (method, path) {
        ("POST", p) if p.starts_with("/v1/sync/push") => "push",
        ("GET", p) if p.starts_with("/v1/sync/pull") => "pull",
        ("GET", p) if p.starts_with("/v1/sync/missing-photos") => "missing-photos",
        ("POST", p) if p.starts_with("/v1/photos") => "tus create",
        ("HEAD", _) => "tus offset",
        ("PATCH", _) => "tus chunk",
        _ => "other",
    }
}

#[test]
fn sigkilled_syncs_lose_nothing_and_double_nothing() {
    let seed = rng::seed("client_kill");
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let w = World::new(2);
    let d = &w.device;
    let proxy = Proxy::start(w.server.addr);
    w.enroll(&proxy.url());
    inspections_with_major_hazard(d, 1);
    let mut photos = 0;
    let mut add_photo = |rng: &mut Rng| {
        photos += 1;
        let png = w.tmp.path().join(format!("noise-{photos}.png"));
        write_noise_png(&png, 1280, 960, rng.next_u64());
        d.add_photo(&png, &uscc(2), &format!("巡查员{photos}"));
        std::fs::remove_file(&png).expect("the device keeps its own copy");
    };
    for _ in 0..4 {
        add_photo(&mut rng);
    }

    let args = [
        "sync",
        "--once",
        "--chunk-kib",
        "32",
        "--timeout-secs",
        "5",
        "--backoff-ms",
        "20",
    ];
    let mut killed = 0;
    let mut exited: BTreeMap<Option<i32>, u32> = BTreeMap::new();
    let mut phases: BTreeMap<&str, u32> = BTreeMap::new();
    let mut trial = 0;
    let mut max_delay_ms = MAX_DELAY_MS;
    while killed < KILLS {
        trial += 1;
        assert!(
            trial <= MAX_TRIALS,
            "only {killed} kills in {MAX_TRIALS} trials (seed {seed:#x})"
        );
        // Another photo is taken between every two syncs.
        add_photo(&mut rng);
        let delay = Duration::from_millis(rng.range(0, max_delay_ms + 1));
        let spawned = Instant::now();
        let seen_before = proxy.log().len();
        let mut child = KillOnDrop(
            d.command(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sync"),
        );
        let deadline = Instant::now() + delay;
        let mut status = None;
        while Instant::now() < deadline {
            status = child.0.try_wait().expect("try_wait");
            if status.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1).min(deadline - Instant::now()));
        }
        match status {
            Some(s) => {
                *exited.entry(s.code()).or_default() += 1;
                let took = spawned.elapsed().as_millis() as u64;
                max_delay_ms = (took * 9 / 10).clamp(5, MAX_DELAY_MS);
            }
            None => {
                child.0.kill().expect("SIGKILL");
                let s = child.0.wait().expect("reap");
                if s.signal() != Some(9) {
                    // It exited by itself just before the kill.
                    *exited.entry(s.code()).or_default() += 1;
                    continue;
                }
                killed += 1;
                let log = proxy.log();
                let p = log[seen_before..]
                    .last()
                    .map_or("before any request", |l| phase(&l.method, &l.path));
                *phases.entry(p).or_default() += 1;
            }
        }
    }

    let runs = sync_until_done(d, &args[2..], 10);
    assert_eq!(d.integrity_check(), "ok");
    assert_evidence_verifies(d);
    let synced = assert_synced(d, &w.server);
    let stats = proxy.stats();
    eprintln!(
        "client_kill (seed {seed:#x}): {trial} trials: {killed} SIGKILLed mid-run, exited by \
         themselves {exited:?}; last request before a kill: {phases:?}; then {runs} run(s) to \
         finish. {} records, {} photos ({} bytes) on the server exactly once, complete; proxy: \
         {stats}; {:.1} s",
        synced.records,
        synced.photos,
        synced.photo_bytes,
        started.elapsed().as_secs_f64()
    );
    assert!(
        phases.contains_key("tus chunk"),
        "some kills landed during uploads: {phases:?}"
    );
}

/// `gridwalk enroll` killed after the server enrolled the device but before the answer
/// arrived: the same command again enrolls the same device, whose token then works.
#[test]
fn an_enrollment_killed_after_the_server_acted_can_simply_be_repeated() {
    let w = World::new(1);
    let d = &w.device;
    let proxy = Proxy::start(w.server.addr);
    proxy.force("POST", "/v1/enroll", Fault::Stall);
    let code = w.server.enrollment_code();
    let url = proxy.url();
    let args = ["enroll", "--server", url.as_str(), "--code", code.as_str()];
    let mut enroll = KillOnDrop(
        d.command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn enroll"),
    );
    assert!(
        wait_for(Duration::from_secs(30), || proxy
            .log()
            .iter()
            .any(|l| l.path == "/v1/enroll" && l.status == Some(200))),
        "the server answered the enrollment"
    );
    enroll.0.kill().expect("SIGKILL");
    enroll.0.wait().expect("reap");
    assert_eq!(d.status()["enrolled"], false, "the answer never arrived");
    let first = w.server.devices();
    assert_eq!(first.len(), 1);

    let e = d.json(&args);
    assert_eq!(
        e["device_id"].as_str(),
        Some(first[0].as_str()),
        "the same device"
    );
    assert_eq!(w.server.devices(), first, "no second device");
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    sync_until_done(d, &["--backoff-ms", "20"], 2);
    assert_synced(d, &w.server);
}
