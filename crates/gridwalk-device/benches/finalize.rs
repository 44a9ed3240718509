//! Answering and finalizing inspections on the phone's database: what a grid worker
//! waits for on each tap and on 完成. The figures of the SQLCipher cost
//! (docs/security.md) come from this bench and `--bench search`, run on a release with
//! and one without encryption.
//!
//! `cargo bench -p gridwalk-device --bench finalize` prints the median and p95 of one
//! answer and of one finalize (score, findings, hazards, the frozen payload and its
//! chain link, in one transaction) over `GRIDWALK_BENCH_N` grid surveys (default 100)
//! of a 2,000-enterprise demo register. Environment: `GRIDWALK_TESTDATA`.

mod support;
use support::{percentile, testdata};

use gridwalk_device::inspection::checklist::DeadlinePolicy;
use gridwalk_device::inspection::StartInspection;
use gridwalk_device::Store;
use std::time::{Duration, Instant};

fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    println!(
        "{label:<10} n={:<5} median {:>7.3} ms   p95 {:>7.3} ms   max {:>7.3} ms",
        times.len(),
        percentile(times, 0.5).as_secs_f64() * 1e3,
        percentile(times, 0.95).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn main() {
    let n: usize = std::env::var("GRIDWALK_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let divisions_path = testdata().join("divisions/jintan.csv");
    let divisions_text = std::fs::read_to_string(&divisions_path).expect("divisions file");
    let divisions = gridwalk_demo::parse_divisions_csv(&divisions_text);
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("register.csv");
    let rows = gridwalk_demo::generate(&divisions, 2_000, 2024);
    gridwalk_demo::write_csv(&rows, std::fs::File::create(&csv).expect("create"))
        .expect("write csv");
    let store = Store::open(dir.path().join("bench.db")).expect("open");
    store.import_divisions(&divisions_path).expect("divisions");
    store.import_enterprises(&csv).expect("import");

    let photo = testdata().join("photos/gps__DSCN0010.jpg");
    let mut answers = Vec::new();
    let mut finalizes = Vec::new();
    for k in 0..n {
        let id = store
            .start_inspection(&StartInspection {
                enterprise: rows[k % rows.len()].uscc.clone(),
                template_id: "grid-survey".into(),
                template_version: Some(1),
                inspector: "王网格".into(),
                role: Some("grid_worker".into()),
            })
            .expect("start")
            .to_string();
        for item in store.inspection_items(&id).expect("items") {
            let value = match item.answer_type {
                "yes_no_na" => "yes".to_string(),
                "number" => "3".to_string(),
                "choice" => match item.choices.first() {
                    Some(c) => c.value.clone(),
                    None => continue,
                },
                "text" => "现场正常，已告知企业负责人".to_string(),
                "photo" => {
                    // Not timed: the photo pipeline has its own bench (scripts/bench-photo).
                    store.attach_photo(&id, &item.id, &photo).expect("photo");
                    continue;
                }
                _ => continue,
            };
            let t = Instant::now();
            store.answer(&id, &item.id, &value, None).expect(&item.id);
            answers.push(t.elapsed());
        }
        let t = Instant::now();
        store
            .finalize_inspection(&id, &DeadlinePolicy::default())
            .expect("finalize");
        finalizes.push(t.elapsed());
    }
    report("answer", &mut answers);
    report("finalize", &mut finalizes);
}
