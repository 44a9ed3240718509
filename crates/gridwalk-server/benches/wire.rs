//! Bytes on the wire for one inspection with 20 answers and 3 photos.
//!
//! `cargo bench -p gridwalk-server --bench wire` processes three phone photos from the
//! shared test data the way the app does (long edge 2048, JPEG quality 80, watermark),
//! starts the server on SQLite behind a counting TCP proxy on loopback, and sends what a
//! device sends for one finalized inspection: the push (gzip both ways) and a tus
//! upload per photo (create, then 256 KiB PATCH chunks with `Upload-Checksum`). It
//! prints the HTTP bytes (request and status lines, headers and bodies, as carried by
//! TCP; without TCP/IP and TLS overhead) next to the payload and photo bytes.
//! Environment: `GRIDWALK_TESTDATA`, `GRIDWALK_BENCH_CHUNK` (bytes, default 262144).

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use chrono::{FixedOffset, TimeZone};
use common::{uscc_here, Db, Harness};
use gridwalk_evidence::photo::{process_photo, PhotoConfig};
use gridwalk_evidence::watermark::WatermarkInfo;
use gridwalk_protocol::tus::{chunk_checksum, encode_metadata};
use gridwalk_protocol::{PushRequest, RecordEnvelope};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use support::{fake_photos, gzip, inspection_envelope, thousands};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Phone photos of the test data (3264×2448, 3264×2448, 4608×1976).
const PHOTOS: [&str; 3] = [
    "mobile__jolla.jpg",
    "hdr__iphone_hdr_NO.jpg",
    "mobile__HMD_Nokia_8.3_5G.jpg",
];

/// Bytes through the proxy, each way, and connections opened.
#[derive(Default)]
struct Counter {
    up: AtomicU64,
    down: AtomicU64,
    connections: AtomicU64,
}

/// A snapshot of the counter.
#[derive(Clone, Copy, Default)]
struct Bytes {
    up: u64,
    down: u64,
    connections: u64,
}

impl Counter {
    fn snapshot(&self) -> Bytes {
        Bytes {
            up: self.up.load(Ordering::SeqCst),
            down: self.down.load(Ordering::SeqCst),
            connections: self.connections.load(Ordering::SeqCst),
        }
    }
}

impl std::ops::Sub for Bytes {
    type Output = Bytes;
    fn sub(self, o: Bytes) -> Bytes {
        Bytes {
            up: self.up - o.up,
            down: self.down - o.down,
            connections: self.connections - o.connections,
        }
    }
}

/// Copies one direction, counting each byte before it is forwarded (so a client that
/// has read the whole answer finds every byte of the exchange counted).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<Counter>,
    up: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let c = if up { &count.up } else { &count.down };
        c.fetch_add(n as u64, Ordering::SeqCst);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A loopback TCP proxy to `upstream` that counts bytes; returns its address.
async fn counting_proxy(upstream: SocketAddr, count: Arc<Counter>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream).await else {
                continue;
            };
            count.connections.fetch_add(1, Ordering::SeqCst);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, count.clone(), true));
            tokio::spawn(pump(sr, cw, count.clone(), false));
        }
    });
    addr
}

/// A processed (derived) photo.
struct Derived {
    name: &'static str,
    original: usize,
    width: u32,
    height: u32,
    jpeg: Vec<u8>,
    sha256: String,
}

fn derive_photos() -> Vec<Derived> {
    let cfg = PhotoConfig::default();
    let wm = WatermarkInfo {
        device_time: FixedOffset::east_opt(8 * 3600)
            .and_then(|tz| tz.with_ymd_and_hms(2025, 5, 6, 9, 20, 0).single())
            .expect("a valid time"),
        gnss_time: None,
        position: Some((31.7436, 119.5601, 4.0)),
        enterprise: "金坛东村木业有限公司".into(),
        inspector: "王网格".into(),
    };
    PHOTOS
        .iter()
        .map(|name| {
            let (_, original) = common::test_photo(name);
            let p = process_photo(&original, &cfg, Some(&wm)).expect("process photo");
            Derived {
                name,
                original: original.len(),
                width: p.width,
                height: p.height,
                sha256: p.derived_sha256.clone(),
                jpeg: p.derived_jpeg,
            }
        })
        .collect()
}

/// One line of the table.
struct Row {
    what: String,
    content: u64,
    requests: usize,
    bytes: Bytes,
}

/// Pushes `records` with `client` (gzip request body if `gz`); returns the traffic.
async fn push(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    records: &[RecordEnvelope],
    gz: bool,
    count: &Counter,
) -> Bytes {
    let json = serde_json::to_vec(&PushRequest {
        records: records.to_vec(),
    })
    .expect("push JSON");
    let before = count.snapshot();
    let mut req = client
        .post(format!("{base}/v1/sync/push"))
        .bearer_auth(token)
        .header("Content-Type", "application/json");
    req = if gz {
        req.header("Content-Encoding", "gzip").body(gzip(&json))
    } else {
        req.body(json)
    };
    let resp = req.send().await.expect("push");
    let status = resp.status();
    let v: serde_json::Value = resp.json().await.expect("push answer");
    assert_eq!(status, 200, "{v}");
    assert!(
        v["results"]
            .as_array()
            .is_some_and(|r| r.iter().all(|x| x["status"] == "accepted")),
        "{v}"
    );
    count.snapshot() - before
}

/// Uploads one photo over tus in `chunk`-byte PATCHes; returns the traffic and the
/// number of requests.
async fn upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    photo: &Derived,
    chunk: usize,
    count: &Counter,
) -> (Bytes, usize) {
    let before = count.snapshot();
    let created = client
        .post(format!("{base}/v1/photos"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", photo.jpeg.len().to_string())
        .header(
            "Upload-Metadata",
            encode_metadata(&[
                ("sha256", &photo.sha256),
                ("filename", &format!("{}.jpg", photo.sha256)),
            ]),
        )
        .send()
        .await
        .expect("create upload");
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"]
        .to_str()
        .expect("Location")
        .to_string();
    let _ = created.bytes().await;
    let mut requests = 1;
    let mut offset = 0;
    for part in photo.jpeg.chunks(chunk) {
        let r = client
            .patch(format!("{base}{location}"))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Checksum", chunk_checksum(part))
            .body(part.to_vec())
            .send()
            .await
            .expect("patch");
        assert_eq!(r.status(), 204);
        let _ = r.bytes().await;
        offset += part.len();
        requests += 1;
    }
    (count.snapshot() - before, requests)
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<44} {:>11} {:>5} {:>5} {:>11} {:>9} {:>11} {:>9}",
        "exchange", "content B", "reqs", "conns", "HTTP up B", "down B", "total B", "overhead"
    );
    for r in rows {
        let total = r.bytes.up + r.bytes.down;
        let overhead = if r.content > 0 {
            format!(
                "{:+.1}%",
                (total as f64 - r.content as f64) * 100.0 / r.content as f64
            )
        } else {
            "-".into()
        };
        println!(
            "{:<44} {:>11} {:>5} {:>5} {:>11} {:>9} {:>11} {:>9}",
            r.what,
            thousands(r.content),
            r.requests,
            r.bytes.connections,
            thousands(r.bytes.up),
            thousands(r.bytes.down),
            thousands(total),
            overhead
        );
    }
}

async fn run() {
    let chunk = std::env::var("GRIDWALK_BENCH_CHUNK")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(256 * 1024usize);
    let photos = tokio::task::spawn_blocking(derive_photos)
        .await
        .expect("derive photos");
    println!("derived photos (long edge 2048, quality 80, watermark burnt in):");
    for p in &photos {
        println!(
            "  {:<30} original {:>10} B  ->  derived {}x{} {:>9} B",
            p.name,
            thousands(p.original as u64),
            p.width,
            p.height,
            thousands(p.jpeg.len() as u64)
        );
    }
    let hashes: [String; 3] = [0, 1, 2].map(|i| photos[i].sha256.clone());

    let h = Harness::start(Db::Sqlite).await.expect("sqlite server");
    let upstream: SocketAddr = h
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("server address");
    let count = Arc::new(Counter::default());
    let proxy = counting_proxy(upstream, count.clone()).await;
    let base = format!("http://{proxy}");
    // As a device: gzip answers accepted (reqwest adds `Accept-Encoding: gzip`).
    let gz_client = reqwest::Client::builder().build().expect("client");
    let plain_client = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");

    let uscc = uscc_here();
    let dev = h.enroll("expert-jincheng").await;
    let record = inspection_envelope(1, &uscc, &hashes);
    let payload_len = record.payload.len() as u64;
    let mut rows = Vec::new();

    // The push of the inspection, gzip on (what the device does).
    let conn0 = count.snapshot().connections;
    let push_gz = push(
        &gz_client,
        &base,
        &dev.token,
        std::slice::from_ref(&record),
        true,
        &count,
    )
    .await;
    rows.push(Row {
        what: "push 1 inspection, gzip both ways".into(),
        content: payload_len,
        requests: 1,
        bytes: push_gz,
    });

    // The photos over tus.
    let mut tus_total = Bytes::default();
    let mut tus_requests = 0;
    let mut photo_total = 0u64;
    for (i, p) in photos.iter().enumerate() {
        let (b, n) = upload(&gz_client, &base, &dev.token, p, chunk, &count).await;
        rows.push(Row {
            what: format!(
                "photo {} over tus ({} KiB chunks, checksum)",
                i + 1,
                chunk / 1024
            ),
            content: p.jpeg.len() as u64,
            requests: n,
            bytes: b,
        });
        tus_total.up += b.up;
        tus_total.down += b.down;
        tus_requests += n;
        photo_total += p.jpeg.len() as u64;
    }
    let connections = count.snapshot().connections - conn0;
    let (status, state) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", record.id))
        .await;
    assert_eq!(status, 200);
    assert_eq!(state["state"], "complete", "{state}");
    rows.push(Row {
        what: "TOTAL one inspection (push + 3 photos)".into(),
        content: payload_len + photo_total,
        requests: 1 + tus_requests,
        bytes: Bytes {
            up: push_gz.up + tus_total.up,
            down: push_gz.down + tus_total.down,
            connections,
        },
    });

    // For comparison: the same push without gzip, and a share of a 100-record batch.
    let dev2 = h.enroll("expert-jincheng").await;
    let plain = push(
        &plain_client,
        &base,
        &dev2.token,
        &[inspection_envelope(1, &uscc, &hashes)],
        false,
        &count,
    )
    .await;
    // Each with its own photos and answers, as a day's backlog would be.
    let batch: Vec<_> = (2..=101)
        .map(|seq| inspection_envelope(seq, &uscc, &fake_photos(seq)))
        .collect();
    let batch_payload: u64 = batch.iter().map(|r| r.payload.len() as u64).sum();
    let batched = push(&gz_client, &base, &dev2.token, &batch, true, &count).await;
    println!();
    println!(
        "one spot-check inspection: 20 answers, 2 major findings with notes, 3 photos; \
         payload = canonical JSON; HTTP/1.1 bytes through a counting proxy, without TCP/IP \
         and TLS overhead ({connections} connection(s) for the push and uploads: the client \
         pool sometimes opens a new one when a request follows an answer at once)"
    );
    print_table(&rows);
    println!();
    println!("the push alone, other ways:");
    print_table(&[
        Row {
            what: "push 1 inspection, no gzip".into(),
            content: payload_len,
            requests: 1,
            bytes: plain,
        },
        Row {
            what: "push 100 inspections in one batch, gzip".into(),
            content: batch_payload,
            requests: 1,
            bytes: batched,
        },
        Row {
            what: "  the same, per inspection".into(),
            content: batch_payload / 100,
            requests: 0,
            bytes: Bytes {
                up: batched.up / 100,
                down: batched.down / 100,
                connections: 0,
            },
        },
    ]);
    h.stop().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}
