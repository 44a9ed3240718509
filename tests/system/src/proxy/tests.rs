//! Unit tests of the proxy against a tiny upstream on loopback.

use super::*;
use crate::http::{read_message, Body};

/// An upstream answering `200` with a body of `tag` bytes, as many as `?n=` asks
/// (default: the request body's length); `/chunked…` answers chunked.
async fn upstream(tag: u8) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut s = BufReader::new(s);
                while let Ok(Some(req)) = read_message(&mut s, Body::Request).await {
                    let n: usize = req
                        .path()
                        .split_once("n=")
                        .and_then(|(_, n)| n.parse().ok())
                        .unwrap_or(req.body.len());
                    let mut a = if req.path().starts_with("/chunked") {
                        format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{n:x}\r\n")
                    } else {
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n")
                    }
                    .into_bytes();
                    if req.method() != "HEAD" {
                        a.extend(std::iter::repeat_n(tag, n));
                        if req.path().starts_with("/chunked") {
                            a.extend_from_slice(b"\r\n0\r\n\r\n");
                        }
                    }
                    if s.get_mut().write_all(&a).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// What the client saw for one request.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Ok(Vec<u8>),
    Status(u16),
    Failed,
    TimedOut,
}

/// One request on `conn` (connected on demand, dropped after anything but a `200`).
async fn request(
    conn: &mut Option<BufReader<TcpStream>>,
    addr: SocketAddr,
    req: &[u8],
    timeout: Duration,
) -> Seen {
    if conn.is_none() {
        let s = TcpStream::connect(addr).await.expect("connect");
        *conn = Some(BufReader::new(s));
    }
    let s = conn.as_mut().expect("connected");
    let no_body = req.starts_with(b"HEAD ");
    let exchange = async {
        s.get_mut().write_all(req).await?;
        read_message(s, Body::Response { no_body }).await
    };
    let seen = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => Seen::TimedOut,
        Ok(Ok(Some(m))) if m.status() == Some(200) => Seen::Ok(m.body),
        Ok(Ok(Some(m))) => Seen::Status(m.status().unwrap_or(0)),
        Ok(_) => Seen::Failed,
    };
    if !matches!(seen, Seen::Ok(_)) {
        *conn = None;
    }
    seen
}

fn with_body(start: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{start} HTTP/1.1\r\nhost: x\r\nupload-offset: 0\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn pass_through_relays_keep_alive_requests_and_counts_them() {
    let rt = runtime();
    let up = rt.block_on(upstream(b'x'));
    let proxy = Proxy::start(up);
    let mut sent = 0;
    rt.block_on(async {
        let mut conn = None;
        for i in 0..40usize {
            let (req, want) = match i % 4 {
                0 => (with_body("POST /echo", &vec![b'a'; i * 100]), i * 100),
                1 => (
                    b"GET /get?n=5000 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
                    5000,
                ),
                2 => (
                    b"POST /chunked HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
                      3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                        .to_vec(),
                    5,
                ),
                _ => (b"HEAD /head?n=77 HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 0),
            };
            sent += req.len() as u64;
            let seen = request(&mut conn, proxy.addr(), &req, 10 * SECOND).await;
            assert_eq!(seen, Seen::Ok(vec![b'x'; want]), "request {i}");
        }
    });
    let stats = proxy.stats();
    assert_eq!(stats.requests, 40);
    assert_eq!(stats.passed, 40);
    assert_eq!(stats.connections, 1, "one keep-alive connection");
    assert_eq!(stats.bytes_up, sent);
    assert_eq!(stats.total_faults(), 0);
    let log = proxy.log();
    assert_eq!(
        log[2].body.as_deref(),
        Some(&b"abcde"[..]),
        "chunked body decoded"
    );
    assert_eq!(log[3].method, "HEAD");
    assert_eq!(log[3].status, Some(200));
    assert_eq!(log[0].upload_offset, Some(0));
}

fn plan(seed: u64) -> FaultPlan {
    FaultPlan {
        seed,
        reset_request: 0.1,
        reset_response: 0.1,
        stall: 0.03,
        truncate: 0.1,
        unavailable: 0.1,
        max_burst: 3,
        stall_for: 2 * SECOND,
    }
}

/// Sends `n` requests one after the other; what the client saw and what the proxy
/// says it did, request by request.
fn faulty_run(seed: u64, n: usize) -> (Vec<(Seen, Option<Fault>)>, Stats) {
    let rt = runtime();
    let up = rt.block_on(upstream(b'x'));
    let proxy = Proxy::start(up);
    proxy.set_faults(Some(plan(seed)));
    let seen: Vec<Seen> = rt.block_on(async {
        let mut conn = None;
        let mut out = Vec::new();
        for _ in 0..n {
            let req = with_body("POST /echo", &[b'b'; 3000]);
            out.push(request(&mut conn, proxy.addr(), &req, SECOND).await);
        }
        out
    });
    let faults = proxy.log().iter().map(|l| l.fault).collect::<Vec<_>>();
    assert_eq!(faults.len(), n, "every request was seen");
    (seen.into_iter().zip(faults).collect(), proxy.stats())
}

#[test]
fn faults_do_what_they_say_and_a_seed_replays_them() {
    let (run, stats) = faulty_run(0x5EED, 150);
    for (i, (seen, fault)) in run.iter().enumerate() {
        let ok = match fault {
            None => *seen == Seen::Ok(vec![b'x'; 3000]),
            Some(Fault::Unavailable) => *seen == Seen::Status(503),
            Some(Fault::Stall) => *seen == Seen::TimedOut,
            Some(_) => *seen == Seen::Failed,
        };
        assert!(ok, "request {i}: {fault:?} but the client saw {seen:?}");
    }
    for f in FAULTS {
        assert!(
            stats.faults.get(&f).copied().unwrap_or(0) > 0,
            "{f:?} never drawn: {stats}"
        );
    }
    assert_eq!(stats.requests, 150);
    assert_eq!(stats.passed + stats.total_faults(), 150);
    let (again, _) = faulty_run(0x5EED, 150);
    let a: Vec<_> = run.iter().map(|r| r.1).collect();
    let b: Vec<_> = again.iter().map(|r| r.1).collect();
    assert_eq!(a, b, "the same seed, the same faults");
    let (other, _) = faulty_run(0x5EED + 1, 150);
    assert_ne!(a, other.iter().map(|r| r.1).collect::<Vec<_>>());
}

#[test]
fn retarget_sends_new_connections_elsewhere() {
    let rt = runtime();
    let (a, b) = rt.block_on(async { (upstream(b'a').await, upstream(b'b').await) });
    let proxy = Proxy::start(a);
    let get = b"GET /?n=3 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    rt.block_on(async {
        assert_eq!(
            request(&mut None, proxy.addr(), get, SECOND).await,
            Seen::Ok(b"aaa".to_vec())
        );
        proxy.retarget(b);
        assert_eq!(
            request(&mut None, proxy.addr(), get, SECOND).await,
            Seen::Ok(b"bbb".to_vec())
        );
    });
    // A dead upstream resets the client.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    proxy.retarget(dead_addr);
    rt.block_on(async {
        assert_eq!(
            request(&mut None, proxy.addr(), get, SECOND).await,
            Seen::Failed
        );
    });
    assert_eq!(proxy.stats().upstream_failures, 1);
}

#[test]
fn holding_at_a_patch_byte_mark_forwards_exactly_up_to_it() {
    let rt = runtime();
    let up = rt.block_on(upstream(b'x'));
    let proxy = Proxy::start(up);
    proxy.hold_at_patch_bytes(2500);
    let patch = with_body("PATCH /v1/photos/1", &[b'p'; 1000]);
    rt.block_on(async {
        let mut conn = None;
        for _ in 0..2 {
            let seen = request(&mut conn, proxy.addr(), &patch, SECOND).await;
            assert_eq!(seen, Seen::Ok(vec![b'x'; 1000]));
        }
        assert!(!proxy.held());
        let third = request(&mut conn, proxy.addr(), &patch, 10 * SECOND);
        let watcher = async {
            while !proxy.held() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Held: nothing moves, whatever the wait; a new request waits too.
            let mut other = None;
            let get = b"GET /?n=1 HTTP/1.1\r\n\r\n";
            let later = request(&mut other, proxy.addr(), get, 10 * SECOND);
            let check = async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                assert_eq!(proxy.stats().patch_body_bytes, 2500);
                assert_eq!(proxy.stats().passed, 2);
                proxy.cut_all();
                proxy.resume();
            };
            tokio::join!(later, check).0
        };
        let (third, later) = tokio::join!(third, watcher);
        assert_eq!(third, Seen::Failed);
        assert_eq!(
            later,
            Seen::Failed,
            "a request waiting at the hold is cut too"
        );
        let seen = request(&mut None, proxy.addr(), &patch, SECOND).await;
        assert_eq!(seen, Seen::Ok(vec![b'x'; 1000]), "resumed");
    });
    assert_eq!(proxy.stats().patch_body_bytes, 3500);
}

#[test]
fn forged_answers_replace_the_servers_for_the_next_matching_request_only() {
    let rt = runtime();
    let up = rt.block_on(upstream(b'x'));
    let proxy = Proxy::start(up);
    proxy.answer("PATCH", "/v1/photos/", 404, "not_found");
    proxy.answer("HEAD", "/v1/photos/", 410, "not_found");
    assert_eq!(proxy.forged_left(), 2);
    rt.block_on(async {
        let mut conn = None;
        let get = b"GET /v1/photos/a?n=3 HTTP/1.1\r\nhost: x\r\n\r\n";
        let patch = with_body("PATCH /v1/photos/a", b"abc");
        let head = b"HEAD /v1/photos/a HTTP/1.1\r\nhost: x\r\n\r\n";
        for (i, (req, want)) in [
            (&get[..], Seen::Ok(b"xxx".to_vec())),
            (&patch[..], Seen::Status(404)),
            (&patch[..], Seen::Ok(b"xxx".to_vec())),
            (&head[..], Seen::Status(410)),
            (&head[..], Seen::Ok(Vec::new())),
        ]
        .into_iter()
        .enumerate()
        {
            let seen = request(&mut conn, proxy.addr(), req, 10 * SECOND).await;
            assert_eq!(seen, want, "request {i}");
        }
    });
    assert_eq!(proxy.forged_left(), 0);
    let statuses: Vec<_> = proxy.log().iter().map(|l| l.status).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(404), Some(200), Some(410), Some(200)]
    );
    let stats = proxy.stats();
    assert_eq!(stats.total_faults(), 0, "a forged answer is not a fault");
    assert_eq!(stats.passed, 3);
}
