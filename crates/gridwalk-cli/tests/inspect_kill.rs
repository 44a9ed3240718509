//! Kills `gridwalk` with SIGKILL at random instants while it answers items and
//! finalizes inspections, then checks the database: `PRAGMA integrity_check` clean,
//! every answer whose command exited 0 present with its value, and every finalize all
//! or nothing (payload + hash + findings + hazards + created events + chain links, or
//! none of them).

use gridwalk_device::inspection::checklist::canonical::sha256_hex;
use gridwalk_device::inspection::StartInspection;
use gridwalk_device::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TRIALS: usize = 200;
const BUDGET: Duration = Duration::from_secs(50);
const INSPECTIONS: usize = 12;

fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

/// xorshift64*: no dependency, seed printed for reproduction.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The survey answers; SV-09 = no fails (a general hazard) on every inspection.
const ANSWERS: &[(&str, &str)] = &[
    ("SV-01", "yes"),
    ("SV-03", "20"),
    ("SV-05", "yes"),
    ("SV-06", "张三"),
    ("SV-08", "filed"),
    ("SV-09", "no"),
    ("SV-10", "no"),
    ("SV-11", "no"),
    ("SV-14", "第二次检查"),
];

fn setup(dir: &Path) -> (PathBuf, Vec<String>) {
    let db = dir.join("device.db");
    let store = Store::open(&db).expect("open");
    store
        .import_divisions(&testdata().join("divisions/jintan.csv"))
        .expect("divisions");
    let uscc = gridwalk_core::Uscc::with_check_char("91320413MA0000001")
        .expect("uscc")
        .to_string();
    let csv = dir.join("e.csv");
    std::fs::write(
        &csv,
        format!(
            "name,uscc,village_code,dust_types,workers_per_shift\n金坛铝业抛光有限公司,{uscc},320413001001,铝粉,20\n"
        ),
    )
    .expect("csv");
    store.import_enterprises(&csv).expect("enterprises");
    let photo = testdata().join("photos/gps__DSCN0010.jpg");
    let mut ids = Vec::new();
    for _ in 0..INSPECTIONS {
        let id = store
            .start_inspection(&StartInspection {
                enterprise: uscc.clone(),
                template_id: "grid-survey".into(),
                template_version: None,
                inspector: "网格员".into(),
                role: None,
            })
            .expect("start")
            .to_string();
        store.attach_photo(&id, "SV-13", &photo).expect("photo");
        // The evidence SV-05 = yes and SV-08 = filed need (attached before the answer).
        for (item, file) in [
            ("SV-05", "gps__DSCN0021.jpg"),
            ("SV-08", "gps__DSCN0029.jpg"),
        ] {
            let evidence = testdata().join("photos").join(file);
            store.attach_photo(&id, item, &evidence).expect("photo");
        }
        ids.push(id);
    }
    (db, ids)
}

#[derive(Default)]
struct Acked {
    answers: BTreeMap<String, String>,
    next: usize,
    finalized: bool,
}

#[test]
fn sigkill_during_answers_and_finalize_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, ids) = setup(dir.path());
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
        | 1;
    eprintln!("kill test seed {seed}");
    let mut rng = Rng(seed);
    let mut acked: Vec<Acked> = ids.iter().map(|_| Acked::default()).collect();
    let started = Instant::now();
    let (mut trials, mut killed, mut completed) = (0usize, 0usize, 0usize);
    while trials < TRIALS && started.elapsed() < BUDGET {
        let open: Vec<usize> = (0..ids.len()).filter(|&i| !acked[i].finalized).collect();
        if open.is_empty() {
            break;
        }
        let i = open[rng.below(open.len() as u64) as usize];
        let a = &mut acked[i];
        let finalize = a.next >= ANSWERS.len();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridwalk"));
        cmd.arg("--db").arg(&db).arg("--json");
        let answer = ANSWERS[a.next.min(ANSWERS.len() - 1)];
        if finalize {
            cmd.args(["inspect", "finalize", &ids[i]]);
        } else {
            cmd.args(["inspect", "answer", &ids[i], answer.0, answer.1]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // A command takes ~20-30 ms here: kill before, during or (sometimes) after it.
        let delay = Duration::from_micros(rng.below(if finalize { 45_000 } else { 30_000 }));
        let deadline = Instant::now() + delay;
        let mut status = None;
        while Instant::now() < deadline {
            if let Some(s) = child.try_wait().expect("wait") {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let status = match status {
            Some(s) => s,
            None => {
                let _ = child.kill();
                child.wait().expect("wait")
            }
        };
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        trials += 1;
        if status.success() {
            completed += 1;
            if finalize {
                a.finalized = true;
            } else {
                a.answers.insert(answer.0.into(), answer.1.into());
                a.next += 1;
            }
        } else if status.code().is_none() {
            killed += 1;
        } else if finalize && stderr.contains("inspect.already_finalized") {
            // An earlier, killed finalize had committed.
            a.finalized = true;
        } else {
            panic!("command failed without being killed: {stderr}");
        }
    }
    eprintln!(
        "kill trials: {trials} ({killed} killed, {completed} completed) in {:?}",
        started.elapsed()
    );
    assert!(trials >= 50, "too few trials ran: {trials}");
    assert!(killed > 0, "no process was killed");

    let store = Store::open(&db).expect("reopen");
    assert!(store.check_integrity().expect("integrity").is_empty());
    assert!(store.verify_evidence().expect("verify").ok);
    let conn = store.connection();
    let count =
        |sql: &str, id: &str| -> i64 { conn.query_row(sql, [id], |r| r.get(0)).expect("count") };
    let mut finalized = 0;
    for (id, a) in ids.iter().zip(&acked) {
        let d = store.inspection(id).expect("inspection");
        for (item, v) in &a.answers {
            let got = d
                .answers
                .get(item)
                .unwrap_or_else(|| panic!("acknowledged answer {id}/{item} is missing"));
            let expected = serde_json::to_value(&got.value).expect("json");
            assert!(
                expected.to_string().contains(v.as_str()),
                "{item}: {expected} vs {v}"
            );
        }
        let payload: Option<(Vec<u8>, String)> = store.inspection_payload(id).ok();
        let findings = count("SELECT count(*) FROM finding WHERE inspection_id = ?1", id);
        let hazards = count("SELECT count(*) FROM hazard WHERE inspection_id = ?1", id);
        let events = count(
            "SELECT count(*) FROM hazard_event e JOIN hazard h ON h.id = e.hazard_id WHERE h.inspection_id = ?1",
            id,
        );
        let links = count(
            "SELECT count(*) FROM evidence_chain WHERE kind = 'inspection' AND record_id = ?1",
            id,
        );
        match payload {
            Some((bytes, sha)) => {
                finalized += 1;
                assert_eq!(sha256_hex(&bytes), sha);
                assert_eq!(links, 1);
                assert_eq!((findings, hazards, events), (1, 1, 1), "SV-09 failed");
                let event_links: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM evidence_chain c JOIN hazard_event e ON e.id = c.record_id \
                         JOIN hazard h ON h.id = e.hazard_id WHERE c.kind = 'hazard_event' AND h.inspection_id = ?1",
                        [id],
                        |r| r.get(0),
                    )
                    .expect("links");
                assert_eq!(event_links, 1);
            }
            None => {
                assert!(!a.finalized, "acknowledged finalize of {id} is missing");
                assert_eq!((findings, hazards, events, links), (0, 0, 0, 0), "{id}");
            }
        }
    }
    eprintln!("{finalized} of {} inspections finalized", ids.len());
}
