//! PostgreSQL on a pool of connections: concurrent writers and the pull change log.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use common::{created_hazard, pull_all, uscc_here, Db, Harness};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use uuid::Uuid;

const WRITERS: usize = 6;
const PUSHES: usize = 8;
const PER_PUSH: usize = 4;

/// The position of a change (`{epoch}.{position}`).
fn position(change: &serde_json::Value) -> i64 {
    change["cursor"]
        .as_str()
        .and_then(|c| c.rsplit_once('.'))
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("bad cursor in {change}"))
}

/// Devices push hazard events at once (each event published to the change log, in
/// transactions that run side by side on the pool and commit in any order) while a
/// reader pulls in small pages in a loop. A cursor that moved past a change not yet
/// committed would never see it: every change of the final log must have been seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_pulling_during_concurrent_pushes_skips_no_change() {
    let Some(h) = Harness::start(Db::Postgres).await else {
        eprintln!("SKIPPED: PostgreSQL binaries are not installed");
        return;
    };
    let h = Arc::new(h);
    let reader = h.enroll("grid-east").await;
    let mut tokens = Vec::new();
    for _ in 0..WRITERS {
        tokens.push(h.enroll("grid-east").await.token);
    }
    let done = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for token in tokens {
        let (h, done) = (h.clone(), done.clone());
        writers.push(tokio::spawn(async move {
            let mut seq = 0;
            for _ in 0..PUSHES {
                let batch: Vec<_> = (0..PER_PUSH)
                    .map(|_| {
                        seq += 1;
                        created_hazard(seq, Uuid::now_v7(), "grid-east", "general")
                    })
                    .collect();
                let (s, body) = h.push(&token, &batch).await;
                assert_eq!(s, 200, "{body}");
                for r in body["results"].as_array().expect("results") {
                    assert_eq!(r["status"], "accepted", "{body}");
                }
            }
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }

    let mut seen = BTreeSet::new();
    let mut cursor = String::new();
    let mut pulls = 0;
    loop {
        // Read before pulling: a pull that starts after the last writer finished
        // reaches the end of the final log.
        let finished = done.load(Ordering::SeqCst) == WRITERS;
        loop {
            let resp = h
                .http
                .get(h.url("/v1/sync/pull"))
                .query(&[("cursor", cursor.as_str()), ("limit", "3")])
                .bearer_auth(&reader.token)
                .send()
                .await
                .expect("pull");
            assert_eq!(resp.status(), 200);
            let page: serde_json::Value = resp.json().await.expect("page");
            pulls += 1;
            for c in page["changes"].as_array().expect("changes") {
                seen.insert(position(c));
            }
            cursor = page["next_cursor"].as_str().expect("cursor").to_string();
            if page["has_more"] != true {
                break;
            }
        }
        if finished {
            break;
        }
    }
    for w in writers {
        w.await.expect("writer");
    }

    let last = pull_all(&h, &reader.token, gridwalk_protocol::PROTOCOL_VERSION).await;
    let events: Vec<_> = last
        .iter()
        .filter(|c| c["kind"] == "hazard_event")
        .collect();
    assert_eq!(
        events.len(),
        WRITERS * PUSHES * PER_PUSH,
        "every event is in the log"
    );
    let missed: Vec<i64> = last
        .iter()
        .map(position)
        .filter(|p| !seen.contains(p))
        .collect();
    assert!(
        missed.is_empty(),
        "the reader ({pulls} pulls) never saw changes {missed:?} of the final log"
    );
    match Arc::try_unwrap(h) {
        Ok(h) => h.stop().await,
        Err(_) => panic!("the harness is still shared"),
    }
}

/// The cost of a pushed inspection on PostgreSQL in round trips (what bounds ingest on
/// one connection): the bench's inspection (20 answers, 3 photos) pushed in one batch.
/// Printed for the profile in docs/server.md; the bound catches a statement added per
/// record by accident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_inspection_costs_a_bounded_number_of_statements() {
    let Some(h) = Harness::start(Db::Postgres).await else {
        eprintln!("SKIPPED: PostgreSQL binaries are not installed");
        return;
    };
    const RECORDS: u64 = 100;
    let dev = h.enroll("expert-jincheng").await;
    let uscc = uscc_here();
    let batch: Vec<_> = (1..=RECORDS)
        .map(|seq| support::inspection_envelope(seq, &uscc, &support::fake_photos(seq)))
        .collect();
    // A first push prepares the statements on the connection it runs on.
    let (s, body) = h.push(&dev.token, &batch[..1]).await;
    assert_eq!(s, 200, "{body}");
    let before = h
        .store
        .db_stats()
        .expect("PostgreSQL counts its statements");
    let (s, body) = h.push(&dev.token, &batch[1..]).await;
    assert_eq!(s, 200, "{body}");
    for r in body["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{body}");
    }
    let after = h.store.db_stats().expect("stats");
    let per_record = (after.statements - before.statements) as f64 / (RECORDS - 1) as f64;
    println!(
        "push of {} inspections: {} transactions, {} statements ({per_record:.1} per record), {} prepared",
        RECORDS - 1,
        after.transactions - before.transactions,
        after.statements - before.statements,
        after.prepared - before.prepared,
    );
    // 9.2 on 2026-12-07: a record's photos, its findings and its photos' on-site
    // lookup in one statement each, the push's sequence positions and each enterprise
    // fact once per push (18.1 before); 7.2 on 2026-12-08: whether the batch's ids are
    // held and its enterprises' villages read once per push.
    assert!(per_record < 8.0, "{per_record} statements per record");
    h.stop().await;
}
