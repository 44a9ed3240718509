//! Nothing lost, nothing stranded, under everything at once (issue 18): a seeded, bounded
//! random walk that interleaves offline work, syncs through a faulty proxy, syncs
//! SIGKILLed mid-run, the phone's database restored from an older copy, the server's
//! database restored from a backup, the server moving to a new address, and the phone
//! enrolled again. In the end every record on the phone, and every record the server
//! ever acknowledged that the phone still holds, is on the server exactly once with the
//! same hash, every photo byte-identical, nothing refused, and `sync --verify` agrees.
//!
//! Replay a failure with the printed seed: `GRIDWALK_SEED=0x… cargo nextest run -p
//! gridwalk-system-tests --test randomized_restores`.

use gridwalk_system_tests::fixtures::{uscc, write_noise_png, EXPERT};
use gridwalk_system_tests::proxy::{FaultPlan, Proxy};
use gridwalk_system_tests::rng::{self, Rng};
use gridwalk_system_tests::{copy_dir, restore_dir, KillOnDrop, World};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Steps of the walk.
const STEPS: u32 = 36;
const SYNC_ARGS: [&str; 8] = [
    "--timeout-secs",
    "2",
    "--chunk-kib",
    "16",
    "--backoff-ms",
    "20",
    "--attempts",
    "3",
];

struct Walk {
    w: World,
    proxy: Proxy,
    rng: Rng,
    photos: u64,
    phone_copy: Option<std::path::PathBuf>,
    server_copy: Option<std::path::PathBuf>,
    counts: BTreeMap<&'static str, u32>,
}

impl Walk {
    fn url(&self) -> String {
        self.proxy.url()
    }

    fn work(&mut self) {
        for _ in 0..self.rng.range(1, 3) {
            self.photos += 1;
            let png = self.w.tmp.path().join(format!("walk-{}.png", self.photos));
            write_noise_png(&png, 160, 120, self.photos);
            let n = self.rng.range(1, 3) as u32;
            self.w.device.add_photo(&png, &uscc(n), EXPERT);
        }
    }

    fn enroll(&mut self) {
        let code = self.w.server.enrollment_code();
        let url = self.url();
        // Through the faulty proxy too: retried with backoff inside.
        for _ in 0..10 {
            let o = self
                .w
                .device
                .run(&["--json", "enroll", "--server", &url, "--code", &code]);
            if o.status.success() {
                return;
            }
        }
        self.proxy.set_faults(None);
        self.w.device.enroll(&url, &code);
    }

    /// `sync --once`: exit 0 or 4, or 1 for a token the (restored) server no longer
    /// knows, answered by enrolling again. Nothing is ever refused (3).
    fn sync(&mut self) -> Option<i32> {
        let (code, report, stderr) = self.w.device.sync_once(&SYNC_ARGS);
        match code {
            Some(0) | Some(4) => {}
            Some(1) => {
                let status = self.w.device.status();
                let last = status["last_error"]["code"].as_str().unwrap_or_default();
                assert!(
                    last == "server.unauthenticated",
                    "sync failed: {stderr}\n{report:?}\n{status}"
                );
                *self.counts.entry("enroll after a restore").or_default() += 1;
                self.enroll();
            }
            other => panic!(
                "sync exited {other:?}: {stderr}\n{report:?}\n{}",
                self.w.device.status()
            ),
        }
        code
    }

    fn sync_killed(&mut self) {
        let mut a = vec!["sync", "--once"];
        a.extend_from_slice(&SYNC_ARGS);
        let mut child = KillOnDrop(
            self.w
                .device
                .command(&a)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sync"),
        );
        std::thread::sleep(Duration::from_millis(self.rng.range(5, 400)));
        let _ = child.0.kill();
        let _ = child.0.wait();
    }

    fn faults(&mut self) {
        let on = self.rng.unit() < 0.5;
        self.proxy.set_faults(on.then(|| FaultPlan {
            seed: self.rng.next_u64(),
            reset_request: 0.05,
            reset_response: 0.05,
            stall: 0.0,
            truncate: 0.05,
            unavailable: 0.05,
            max_burst: 2,
            stall_for: Duration::from_millis(0),
        }));
    }

    fn server_restart(&mut self) {
        self.w.server.restart();
        self.proxy.retarget(self.w.server.addr);
    }
}

#[test]
fn restores_moves_reenrolments_kills_and_faults_lose_nothing_and_double_nothing() {
    let seed = rng::seed("randomized_restores");
    let started = Instant::now();
    let w = World::new(2);
    let proxy = Proxy::start(w.server.addr);
    let mut walk = Walk {
        w,
        proxy,
        rng: Rng::new(seed),
        photos: 0,
        phone_copy: None,
        server_copy: None,
        counts: BTreeMap::new(),
    };
    walk.enroll();
    for step in 0..STEPS {
        let roll = walk.rng.below(20);
        let what: &'static str = match roll {
            0..=5 => {
                walk.work();
                "work"
            }
            6..=9 => {
                walk.faults();
                walk.sync();
                "sync"
            }
            10..=11 => {
                walk.sync_killed();
                "sync killed"
            }
            12 => {
                let copy = walk.w.tmp.path().join(format!("phone-copy-{step}"));
                copy_dir(&walk.w.device.dir, &copy);
                walk.phone_copy = Some(copy);
                "phone copied"
            }
            13 => match walk.phone_copy.clone() {
                Some(copy) => {
                    restore_dir(&copy, &walk.w.device.dir);
                    // The copy may name an address the server has since left; the person
                    // sets the current one, as after any move.
                    let url = walk.url();
                    walk.w.device.ok(&["config", "set", "server", &url]);
                    "phone restored"
                }
                None => continue,
            },
            14 => {
                walk.w.server.kill();
                let copy = walk.w.tmp.path().join(format!("server-copy-{step}"));
                copy_dir(&walk.w.server.data, &copy);
                walk.server_copy = Some(copy);
                walk.server_restart();
                "server backed up"
            }
            15 => match walk.server_copy.clone() {
                Some(copy) => {
                    walk.w.server.kill();
                    restore_dir(&copy, &walk.w.server.data);
                    walk.w.server.admin(&["admin", "new-epoch"]);
                    walk.server_restart();
                    "server restored"
                }
                None => continue,
            },
            16..=17 => {
                // The same server at a new address.
                let moved = Proxy::start(walk.w.server.addr);
                walk.w.device.ok(&["config", "set", "server", &moved.url()]);
                walk.proxy = moved;
                "server moved"
            }
            _ => {
                walk.enroll();
                "enrolled again"
            }
        };
        // Shown with a failure, to read the walk beside the seed.
        eprintln!("step {step}: {what}");
        *walk.counts.entry(what).or_default() += 1;
    }

    // Faults off: sync until everything is on the server.
    walk.proxy.set_faults(None);
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(
            runs <= 12,
            "still not done after 11 runs: {}",
            walk.w.device.status()
        );
        if walk.sync() == Some(0) {
            break;
        }
    }
    let d = &walk.w.device;
    let v = d.json(&["sync", "--verify"]);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(d.integrity_check(), "ok");

    // Every record on the phone is on the server with the same hash, accepted, once.
    let records = walk.w.server.records();
    let by_id: BTreeMap<&str, _> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    assert_eq!(by_id.len(), records.len(), "no record twice");
    let chain = d.chain();
    for link in &chain {
        let r = by_id
            .get(link.record_id.as_str())
            .unwrap_or_else(|| panic!("record {} is not on the server", link.record_id));
        assert_eq!(r.payload_sha256, link.payload_sha256, "{}", r.id);
        assert_eq!(r.state, "accepted", "{}: {:?}", r.id, r.reject_code);
    }
    let refused: Vec<_> = records.iter().filter(|r| r.state != "accepted").collect();
    assert!(refused.is_empty(), "nothing refused: {refused:?}");
    // Every photo byte-identical.
    let photos = d.photos();
    for p in &photos {
        let held = walk
            .w
            .server
            .photo(&p.derived_sha256)
            .unwrap_or_else(|| panic!("the server lacks photo {}", p.derived_sha256));
        let local = std::fs::read(d.photo_file(&p.derived_sha256)).expect("phone photo");
        assert!(held == local, "photo {} differs", p.derived_sha256);
    }
    let status = d.status();
    assert_eq!(status["pending"].as_u64(), Some(0), "{status}");
    assert_eq!(status["attention"], serde_json::json!([]), "{status}");
    let mine: BTreeSet<&str> = chain.iter().map(|l| l.record_id.as_str()).collect();
    eprintln!(
        "randomized_restores (seed {seed:#x}): {:?}; {} records on the phone, {} on the server \
         ({} only there: branches a restore left behind), {} photos; {runs} final run(s); {:.1} s",
        walk.counts,
        chain.len(),
        records.len(),
        records
            .iter()
            .filter(|r| !mine.contains(r.id.as_str()))
            .count(),
        photos.len(),
        started.elapsed().as_secs_f64()
    );
}
