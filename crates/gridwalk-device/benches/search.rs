//! Search and import over a 100,000-enterprise demo register of Jintan.
//!
//! `cargo bench -p gridwalk-device --bench search` prints the import time and the median
//! and p95 query times for substring, pinyin-initials and USCC-prefix queries.
//! Environment: `GRIDWALK_BENCH_N` (default 100000), `GRIDWALK_TESTDATA`.

mod support;
use support::{percentile, testdata};

use gridwalk_demo::Rng;
use gridwalk_device::Store;
use std::time::Instant;

fn run(store: &Store, label: &str, queries: &[String]) {
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0usize;
    for q in queries {
        let t = Instant::now();
        let found = store.search_enterprises(q, 20).expect("search");
        times.push(t.elapsed());
        hits += found.len();
    }
    times.sort();
    println!(
        "{label:<22} n={:<4} median {:>7.3} ms   p95 {:>7.3} ms   max {:>7.3} ms   avg hits {:.1}",
        queries.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        hits as f64 / queries.len() as f64
    );
}

fn main() {
    let n: usize = std::env::var("GRIDWALK_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let divisions_path = testdata().join("divisions/jintan.csv");
    let divisions_text = std::fs::read_to_string(&divisions_path).expect("divisions file");
    let divisions = gridwalk_demo::parse_divisions_csv(&divisions_text);
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("register.csv");
    let rows = gridwalk_demo::generate(&divisions, n, 2024);
    gridwalk_demo::write_csv(&rows, std::fs::File::create(&csv).expect("create"))
        .expect("write csv");

    let store = Store::open(dir.path().join("bench.db")).expect("open");
    store.import_divisions(&divisions_path).expect("divisions");
    let t = Instant::now();
    let report = store.import_enterprises(&csv).expect("import");
    let import = t.elapsed();
    assert!(
        report.rejected.is_empty(),
        "{:?}",
        &report.rejected[..report.rejected.len().min(3)]
    );
    println!(
        "import {n} enterprises: {:.2} s ({:.0} rows/s), {} leases",
        import.as_secs_f64(),
        n as f64 / import.as_secs_f64(),
        report.leases_written
    );
    let t = Instant::now();
    let again = store.import_enterprises(&csv).expect("re-import");
    println!(
        "re-import (all unchanged: {}): {:.2} s",
        again.unchanged == n,
        t.elapsed().as_secs_f64()
    );

    let mut rng = Rng::new(7);
    let sample = |rng: &mut Rng| &rows[rng.below(rows.len())];
    let mut two_char = Vec::new();
    let mut long_sub = Vec::new();
    let mut initials = Vec::new();
    let mut uscc = Vec::new();
    for _ in 0..300 {
        let name: Vec<char> = sample(&mut rng).name.chars().collect();
        // Skip the ubiquitous 常州市 prefix: people type the distinctive part.
        let start = 3 + rng.below(name.len().saturating_sub(8).max(1));
        two_char.push(name[start..start + 2].iter().collect::<String>());
        long_sub.push(name[start..start + 4].iter().collect::<String>());
        let keys = gridwalk_core::pinyin_keys::pinyin_keys(
            &name[start..start + 4].iter().collect::<String>(),
        );
        initials.push(keys.initials[0].clone());
        let code = &sample(&mut rng).uscc;
        uscc.push(code[..8 + rng.below(8)].to_string());
    }
    run(&store, "substring (2 chars)", &two_char);
    run(&store, "substring (4 chars)", &long_sub);
    run(&store, "pinyin initials (4)", &initials);
    let short_initials: Vec<String> = initials.iter().map(|s| s[..2].to_string()).collect();
    run(&store, "pinyin initials (2)", &short_initials);
    run(&store, "uscc prefix", &uscc);
}
