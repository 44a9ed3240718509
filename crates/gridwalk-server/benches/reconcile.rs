//! The cost of reconciliation (docs/sync-protocol.md "Reconciliation") for a device
//! holding many records, over real HTTP on loopback against SQLite.
//!
//! `cargo bench -p gridwalk-server --bench reconcile` pushes `GRIDWALK_BENCH_RECORDS`
//! (default 10,000) inspections from one device, then measures:
//! - a sync with nothing new: one reconcile request for the whole range, its bytes on the
//!   wire (JSON, and gzip as the phone sends it) and the server's time (median of 20);
//! - after a restore of the server lost 3 records scattered in the range: the requests
//!   the phone's `Reconciler` needs to find them, their bytes and time.
//!
//! Prints a table; no assertion (the tests assert behaviour).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use common::{exec_sql, inspection, uscc_here, Db, Harness};
use gridwalk_protocol::reconcile::{Differences, Reconciler};
use gridwalk_protocol::{
    HeldEntry, HeldStatus, PushRequest, ReconcileRequest, ReconcileResponse, SeqRange,
};
use std::time::{Duration, Instant};
use support::{gzip, thousands};

async fn reconcile(
    h: &Harness,
    token: &str,
    ranges: Vec<SeqRange>,
) -> (ReconcileResponse, usize, usize, usize, Duration) {
    let body = serde_json::to_vec(&ReconcileRequest { ranges }).expect("json");
    let zipped = gzip(&body);
    let start = Instant::now();
    let resp = h
        .http
        .post(h.url("/v1/sync/reconcile"))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(zipped.clone())
        .send()
        .await
        .expect("reconcile");
    let text = resp.bytes().await.expect("body");
    let took = start.elapsed();
    let answer: ReconcileResponse = serde_json::from_slice(&text).expect("answer");
    (answer, body.len(), zipped.len(), text.len(), took)
}

fn main() {
    let records: u64 = std::env::var("GRIDWALK_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let h = Harness::start(Db::Sqlite).await.expect("sqlite server");
        let dev = h.enroll("grid-east").await;
        let uscc = uscc_here();
        let envelopes: Vec<_> = (1..=records).map(|seq| inspection(seq, &uscc, &[])).collect();
        for chunk in envelopes.chunks(500) {
            let body = serde_json::to_vec(&PushRequest {
                records: chunk.to_vec(),
            })
            .expect("json");
            let r = h
                .http
                .post(h.url("/v1/sync/push"))
                .bearer_auth(&dev.token)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .expect("push");
            assert_eq!(r.status(), 200);
        }
        let mine: Vec<HeldEntry> = envelopes
            .iter()
            .map(|e| HeldEntry {
                seq: e.seq,
                id: e.id,
                payload_sha256: e.payload_sha256.clone(),
                status: HeldStatus::Held,
            })
            .collect();
        let reconciler = Reconciler::new(mine);
        println!("reconcile, one device holding {} records (SQLite, loopback)", thousands(records));
        println!("| case | requests | request bytes (JSON / gzip) | answer bytes | time |");
        println!("|---|---|---|---|---|");

        // Nothing new: one request.
        let mut times = Vec::new();
        let mut sizes = (0, 0, 0);
        for _ in 0..20 {
            let (answer, json, zipped, back, took) =
                reconcile(&h, &dev.token, reconciler.first_request()).await;
            assert!(answer
                .ranges
                .iter()
                .all(|r| r.verdict == gridwalk_protocol::RangeVerdict::Same));
            sizes = (json, zipped, back);
            times.push(took);
        }
        times.sort();
        println!(
            "| nothing new | 1 | {} / {} | {} | {:.1} ms (median of 20) |",
            sizes.0,
            sizes.1,
            sizes.2,
            times[times.len() / 2].as_secs_f64() * 1000.0
        );

        // A restore lost three records scattered through the range.
        let lost = [records / 7, records / 2, records - 3];
        let ids: Vec<String> = lost
            .iter()
            .map(|s| format!("{}", s))
            .collect();
        exec_sql(
            &h,
            &format!(
                "DELETE FROM device_seq WHERE seq IN ({})",
                ids.join(", ")
            ),
        )
        .await;
        let start = Instant::now();
        let mut ask = reconciler.first_request();
        let mut found = Differences::default();
        let (mut requests, mut sent, mut zipped_sent, mut received) = (0, 0, 0, 0);
        while !ask.is_empty() {
            let (answer, json, zipped, back, _) = reconcile(&h, &dev.token, ask).await;
            requests += 1;
            sent += json;
            zipped_sent += zipped;
            received += back;
            ask = reconciler.absorb(&answer.ranges, &mut found);
        }
        let took = start.elapsed();
        let want: std::collections::BTreeSet<u64> = lost.iter().copied().collect();
        assert_eq!(found.resend, want, "the lost positions are found");
        println!(
            "| 3 of {} lost by a server restore | {requests} | {sent} / {zipped_sent} | {received} | {:.1} ms |",
            thousands(records),
            took.as_secs_f64() * 1000.0
        );
        h.stop().await;
    });
}
