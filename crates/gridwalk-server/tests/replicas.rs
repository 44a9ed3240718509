//! Stateless replicas: two real `gridwalk-server serve` processes on one PostgreSQL
//! and one object store (moto's S3 server, [`common::moto`]) behind a tiny TCP proxy
//! in the test, one connection per request (the client keeps none idle), round-robin
//! or pinned to one replica, and skipping a replica that refuses connections (as
//! `deploy/Caddyfile`'s load balancer does). A device pushes through one replica and
//! pulls through the other, a tus upload started on one resumes on the other, a
//! replica killed (SIGKILL) mid-chunk loses nothing, two PATCHes at one offset on the
//! two replicas never interleave, and receipts of both verify with one key.

mod common;

use common::moto::{aws_env, Moto, PREFIX};
use common::*;
use gridwalk_protocol::{sha256_hex, PushResponse, RecordEnvelope, RecordKind};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A `gridwalk-server serve` child process, killed on drop.
struct Replica {
    child: Child,
    addr: SocketAddr,
    _data: tempfile::TempDir,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    /// Starts a replica with its own (empty) data directory on `database_url` and
    /// the blob store `blob_url`; returns once it listens.
    fn start(database_url: &str, blob_url: &str, endpoint: &str, log: &std::path::Path) -> Replica {
        let data = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridwalk-server"));
        cmd.arg("--data")
            .arg(data.path())
            .args(["--database-url", database_url, "--blob-url", blob_url])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log).expect("log file")));
        for (k, v) in aws_env(endpoint) {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start gridwalk-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "replica did not start: {line:?}; log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            });
        Replica {
            child,
            addr,
            _data: data,
        }
    }
}

/// Round-robin over the replicas.
const ROUND_ROBIN: usize = usize::MAX;

/// A TCP proxy choosing a replica per connection: [`ROUND_ROBIN`] or the one pinned;
/// a replica that refuses the connection is skipped for the next.
struct Proxy {
    addr: SocketAddr,
    pin: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    async fn start(backends: Vec<SocketAddr>) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let pin = Arc::new(AtomicUsize::new(ROUND_ROBIN));
        let next = Arc::new(AtomicUsize::new(0));
        let p = pin.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let first = match p.load(Ordering::SeqCst) {
                    ROUND_ROBIN => next.fetch_add(1, Ordering::SeqCst),
                    i => i,
                };
                let backends = backends.clone();
                tokio::spawn(async move {
                    for k in 0..backends.len() {
                        let b = backends[(first + k) % backends.len()];
                        if let Ok(mut out) = tokio::net::TcpStream::connect(b).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            return;
                        }
                    }
                });
            }
        });
        Proxy { addr, pin, task }
    }

    /// Sends every new connection to replica `i`.
    fn pin(&self, i: usize) {
        self.pin.store(i, Ordering::SeqCst);
    }

    fn round_robin(&self) {
        self.pin.store(ROUND_ROBIN, Ordering::SeqCst);
    }
}

/// A `created` hazard event of the wood shop by grid-east.
fn hazard_created(seq: u64) -> (RecordEnvelope, uuid::Uuid) {
    let enterprise =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&uscc_here()).expect("uscc"));
    let id = uuid::Uuid::now_v7();
    let hazard = uuid::Uuid::now_v7();
    let payload = serde_json::json!({
        "id": id, "hazard_id": hazard, "at": "2026-03-02T02:00:00Z",
        "actor": "grid-east", "kind": "created", "severity": "major",
        "enterprise_id": enterprise, "description_zh": "除尘器未设置泄爆装置",
        "deadline": "2026-12-31"
    })
    .to_string();
    let mut e = RecordEnvelope::new(id, RecordKind::HazardEvent, seq, payload);
    e.enterprise_uscc = Some(uscc_here());
    (e, id)
}

async fn create(h: &Harness, token: &str, photo: &[u8]) -> String {
    let r = h
        .http
        .post(h.url("/v1/photos"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", photo.len().to_string())
        .header(
            "Upload-Metadata",
            gridwalk_protocol::tus::encode_metadata(&[("sha256", &sha256_hex(photo))]),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.headers()["location"].to_str().expect("loc").to_string()
}

async fn patch(h: &Harness, token: &str, loc: &str, offset: usize, chunk: &[u8]) -> u16 {
    h.http
        .patch(h.url(loc))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .header(
            "Upload-Checksum",
            gridwalk_protocol::tus::chunk_checksum(chunk),
        )
        .body(chunk.to_vec())
        .send()
        .await
        .expect("patch")
        .status()
        .as_u16()
}

async fn head(h: &Harness, token: &str, loc: &str) -> Option<u64> {
    h.http
        .head(h.url(loc))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head")
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_and_one_bucket_behave_as_one_server() {
    let moto = Moto::start().await;
    let blobs = moto.store();
    // The register, the users and the schema, set up through the library on a fresh
    // PostgreSQL database; the in-process server of the harness is not used after.
    let Some(mut h) =
        Harness::start_configured(Db::Postgres, Default::default(), None, move |mut s| {
            s.blobs = blobs;
            s.blob_dir = None;
            s
        })
        .await
    else {
        eprintln!("SKIPPED: PostgreSQL binaries are not installed");
        return;
    };
    let url = h.database_url.clone().expect("postgres url");
    let logs = tempfile::tempdir().expect("logs");
    let (log_a, log_b) = (logs.path().join("a.log"), logs.path().join("b.log"));
    let (blob_url, endpoint) = (moto.blob_url(), moto.endpoint.clone());
    let (u, b, e, la) = (
        url.clone(),
        blob_url.clone(),
        endpoint.clone(),
        log_a.clone(),
    );
    let a = tokio::task::spawn_blocking(move || Replica::start(&u, &b, &e, &la))
        .await
        .expect("replica a");
    let (u, b, e, lb) = (
        url.clone(),
        blob_url.clone(),
        endpoint.clone(),
        log_b.clone(),
    );
    let replica_b = tokio::task::spawn_blocking(move || Replica::start(&u, &b, &e, &lb))
        .await
        .expect("replica b");
    let proxy = Proxy::start(vec![a.addr, replica_b.addr]).await;
    h.base = format!("http://{}", proxy.addr);
    h.http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .no_proxy()
        .build()
        .expect("client");
    let mut a = Some(a);

    // One device; enrolled through whichever replica the proxy picks.
    let dev = h.enroll("grid-east").await;
    let key =
        gridwalk_protocol::receipt::decode_public_key(&dev.server_key.public_key).expect("key");
    let photos = [
        incompressible_bytes(3 * 1024 * 1024, 1),
        incompressible_bytes(7 * 1024 * 1024, 2),
        incompressible_bytes(2 * 1024 * 1024, 3),
    ];
    let shas: Vec<String> = photos.iter().map(|p| sha256_hex(p)).collect();
    let sha_refs: Vec<&str> = shas.iter().map(String::as_str).collect();

    // Push through A, pull through B.
    proxy.pin(0);
    let first = inspection(1, &uscc_here(), &sha_refs);
    let (hazard, hazard_event) = hazard_created(2);
    let (s, v) = h.push(&dev.token, &[first.clone(), hazard.clone()]).await;
    assert_eq!(s, 200, "{v}");
    let via_a: PushResponse = serde_json::from_value(v.clone()).expect("push response");
    assert!(via_a.receipt.verify(&key).is_ok(), "A's receipt verifies");
    proxy.pin(1);
    let pulled: Vec<String> = pull_all(&h, &dev.token, gridwalk_protocol::PROTOCOL_VERSION)
        .await
        .iter()
        .filter(|c| c["kind"] == "hazard_event")
        .filter_map(|c| c["key"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        pulled,
        vec![hazard_event.to_string()],
        "B serves what A took"
    );
    // The same records again through B (a lost answer retried): acknowledged, not doubled.
    let (_, v) = h.push(&dev.token, &[first.clone(), hazard]).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    assert_eq!(v["results"][1]["status"], "duplicate", "{v}");
    let via_b: PushResponse = serde_json::from_value(v).expect("push response");
    assert!(
        via_b.receipt.verify(&key).is_ok(),
        "B's receipt verifies with the same key"
    );
    for r in [0, 1] {
        proxy.pin(r);
        let (_, k) = h.get(&dev.token, "/v1/server-key").await;
        assert_eq!(
            k["public_key"],
            dev.server_key.public_key.as_str(),
            "replica {r}"
        );
    }

    // A tus upload started on A resumes on B.
    let p0 = &photos[0];
    proxy.pin(0);
    let loc = create(&h, &dev.token, p0).await;
    assert_eq!(
        patch(&h, &dev.token, &loc, 0, &p0[..1024 * 1024]).await,
        204
    );
    proxy.pin(1);
    assert_eq!(head(&h, &dev.token, &loc).await, Some(1024 * 1024));
    assert_eq!(
        patch(&h, &dev.token, &loc, 1024 * 1024, &p0[1024 * 1024..]).await,
        204
    );
    proxy.pin(0);
    assert_eq!(
        head(&h, &dev.token, &loc).await,
        Some(p0.len() as u64),
        "A sees it done"
    );

    // Two PATCHes at one offset, one on each replica at once: one counts, one is refused.
    let p2 = &photos[2];
    let loc2 = create(&h, &dev.token, p2).await;
    let half = p2.len() / 2;
    let (ha, hb) = (h.url(&loc2), h.url(&loc2));
    let direct = |addr: SocketAddr, url: String, body: Vec<u8>| {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let url = url.replace(&proxy.addr.to_string(), &addr.to_string());
        let token = dev.token.clone();
        async move {
            http.patch(url)
                .bearer_auth(token)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", "0")
                .body(body)
                .send()
                .await
                .expect("patch")
                .status()
                .as_u16()
        }
    };
    let a_addr = a.as_ref().expect("a").addr;
    let (ra, rb) = tokio::join!(
        direct(a_addr, ha, p2[..half].to_vec()),
        direct(replica_b.addr, hb, p2[..half + 4096].to_vec()),
    );
    let mut statuses = [ra, rb];
    statuses.sort();
    assert_eq!(statuses, [204, 409], "A {ra}, B {rb}");
    let at = head(&h, &dev.token, &loc2).await.expect("offset") as usize;
    assert!(at == half || at == half + 4096, "{at}");
    assert_eq!(patch(&h, &dev.token, &loc2, at, &p2[at..]).await, 204);

    // A is killed (SIGKILL) mid-chunk; the device resumes through the proxy (B).
    let p1 = &photos[1];
    proxy.pin(0);
    let loc1 = create(&h, &dev.token, p1).await;
    let first_chunk = 3 * 1024 * 1024;
    assert_eq!(
        patch(&h, &dev.token, &loc1, 0, &p1[..first_chunk]).await,
        204
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let cut = tokio::spawn(
        h.http
            .patch(h.url(&loc1))
            .bearer_auth(&dev.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", first_chunk.to_string())
            .body(body)
            .send(),
    );
    tx.send(Ok(p1[first_chunk..first_chunk + 2 * 1024 * 1024].to_vec()))
        .await
        .expect("send");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(a.take()); // SIGKILL, then wait
    drop(tx);
    assert!(
        cut.await
            .expect("join")
            .map(|r| r.status() != 204)
            .unwrap_or(true),
        "the chunk A was receiving did not count"
    );
    proxy.round_robin();
    let at = head(&h, &dev.token, &loc1).await.expect("offset") as usize;
    assert_eq!(
        at, first_chunk,
        "the chunk A committed is kept, the cut one is not"
    );
    assert_eq!(patch(&h, &dev.token, &loc1, at, &p1[at..]).await, 204);

    // Nothing lost, nothing doubled: every photo verified once, in the bucket whole.
    let (_, st) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", first.id))
        .await;
    assert_eq!(st["state"], "complete", "{st}");
    let (_, missing) = h.get(&dev.token, "/v1/sync/missing-photos").await;
    assert_eq!(missing["photos"], serde_json::json!([]), "{missing}");
    let mut want: Vec<String> = shas
        .iter()
        .map(|s| format!("{PREFIX}/photos/{s}"))
        .collect();
    want.sort();
    assert_eq!(moto.keys().await, want, "the photos, and no chunk left");
    for (p, s) in photos.iter().zip(&shas) {
        assert_eq!(
            sha256_hex(&moto.object(&format!("{PREFIX}/photos/{s}")).await),
            *s
        );
        assert_eq!(
            moto.object(&format!("{PREFIX}/photos/{s}")).await.len(),
            p.len()
        );
    }
    let pulled = pull_all(&h, &dev.token, gridwalk_protocol::PROTOCOL_VERSION).await;
    assert_eq!(
        pulled
            .iter()
            .filter(|c| c["kind"] == "hazard_event")
            .count(),
        1,
        "the hazard once"
    );
}
