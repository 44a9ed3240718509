//! Connection limits with real TCP clients against a real server: a stalled or trickled
//! request head, a stalled body, an idle kept-alive connection, a slow handler and the
//! connection cap. Bounds are generous (CI is a slow 2-core box); every wait is bounded.

mod common;

use common::*;
use gridwalk_protocol::EnrollRequest;
use gridwalk_server::serve::ConnLimits;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEALTH: &[u8] = b"GET /v1/health HTTP/1.1\r\nHost: test\r\n\r\n";

fn limits(header: u64, body: u64, idle: u64, max_connections: usize) -> ConnLimits {
    ConnLimits {
        header_timeout: Duration::from_secs(header),
        body_timeout: Duration::from_secs(body),
        idle_timeout: Duration::from_secs(idle),
        max_connections,
    }
}

async fn start(limits: ConnLimits) -> Harness {
    Harness::start_with_limits(Db::Sqlite, limits)
        .await
        .expect("sqlite")
}

async fn connect(h: &Harness) -> TcpStream {
    let addr = h.base.trim_start_matches("http://");
    tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// What a raw client saw.
#[derive(Debug)]
enum Seen {
    Response { status: u16, body: String },
    Closed,
    Nothing,
}

/// One whole response (head and `Content-Length` body), if `buf` holds one.
fn parse_response(buf: &[u8]) -> Option<Seen> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]);
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let len = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= end + len).then(|| Seen::Response {
        status,
        body: String::from_utf8_lossy(&buf[end..end + len]).into_owned(),
    })
}

/// Reads one response, or sees the connection close, or nothing within `within`.
async fn read_response(s: &mut TcpStream, within: Duration) -> Seen {
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = Vec::new();
    loop {
        if let Some(seen) = parse_response(&buf) {
            return seen;
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return Seen::Nothing,
            Ok(Ok(0)) | Ok(Err(_)) => return Seen::Closed,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends a request and expects a 200 within 10 s.
async fn request_ok(s: &mut TcpStream) {
    s.write_all(HEALTH).await.expect("write request");
    match read_response(s, Duration::from_secs(10)).await {
        Seen::Response { status: 200, .. } => {}
        other => panic!("expected 200, saw {other:?}"),
    }
}

/// Time from `since` until the server closes `s` (bytes are discarded), or `None` if it
/// is still open after `within`.
async fn closed_after(s: &mut TcpStream, since: Instant, within: Duration) -> Option<Duration> {
    let deadline = tokio::time::Instant::from_std(since) + within;
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(since.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_head_is_cut_off_after_the_header_timeout() {
    let h = start(limits(1, 30, 30, 64)).await;
    let mut stalled = connect(&h).await;
    let since = Instant::now();
    stalled
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: test\r\nX-Half: ")
        .await
        .expect("write half a head");

    // Other connections are served meanwhile.
    let resp = h.http.get(h.url("/v1/health")).send().await.expect("get");
    assert_eq!(resp.status(), 200);

    // Closed (hyper sends nothing on a head read error) well before the 30 s idle time-out.
    let took = closed_after(&mut stalled, since, Duration::from_secs(20))
        .await
        .expect("the stalled head is cut off");
    assert!(took >= Duration::from_millis(950), "cut after {took:?}");
    assert!(took < Duration::from_secs(10), "cut only after {took:?}");

    // A head trickled a byte at a time does not renew the deadline.
    let (mut read, mut write) = connect(&h).await.into_split();
    let since = Instant::now();
    let reader = tokio::spawn(async move {
        let mut chunk = [0u8; 1024];
        loop {
            match read.read(&mut chunk).await {
                Ok(0) | Err(_) => return since.elapsed(),
                Ok(_) => {}
            }
        }
    });
    write
        .write_all(b"GET /v1/health HTTP/1.1\r\n")
        .await
        .expect("write request line");
    for _ in 0..100 {
        if reader.is_finished() || write.write_all(b"X").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("the trickled head is cut off")
        .expect("reader");
    assert!(took < Duration::from_secs(10), "cut only after {took:?}");
    drop(write);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_is_answered_408_and_closed() {
    let h = start(limits(30, 1, 30, 64)).await;
    let mut s = connect(&h).await;
    let since = Instant::now();
    s.write_all(
        b"POST /v1/enroll HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
          Content-Length: 100000\r\n\r\n{\"code\":\"x",
    )
    .await
    .expect("write head and 10 bytes");
    match read_response(&mut s, Duration::from_secs(20)).await {
        Seen::Response { status: 408, body } => {
            assert!(body.contains("request_timeout"), "{body}")
        }
        other => panic!("expected a 408, saw {other:?}"),
    }
    let took = since.elapsed();
    assert!(
        took >= Duration::from_millis(950),
        "answered after {took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "answered only after {took:?}"
    );
    // The rest of the body will never be read: the connection is not reused.
    assert!(
        closed_after(&mut s, Instant::now(), Duration::from_secs(10))
            .await
            .is_some(),
        "connection left open after the 408"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let h = start(limits(1, 30, 6, 64)).await;
    let mut s = connect(&h).await;
    request_ok(&mut s).await;
    // Silent for three header time-outs, well within the idle time-out: still served.
    tokio::time::sleep(Duration::from_secs(3)).await;
    request_ok(&mut s).await;
    let since = Instant::now();
    let took = closed_after(&mut s, since, Duration::from_secs(40))
        .await
        .expect("the idle connection is closed");
    assert!(took >= Duration::from_secs(5), "closed after {took:?}");
    assert!(took < Duration::from_secs(30), "closed only after {took:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_keeps_its_connection() {
    let h = start(limits(1, 1, 1, 64)).await;
    let code = h.code_for("grid-east").await;
    // Holding SQLite's write lock makes the enrollment wait in the busy handler.
    let lock = rusqlite::Connection::open(h.data.database()).expect("sqlite");
    lock.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let body = serde_json::to_vec(&EnrollRequest {
        code,
        device_key: uuid::Uuid::new_v4().to_string(),
        device_name: Some("slow phone".into()),
    })
    .expect("json");
    let mut s = connect(&h).await;
    let since = Instant::now();
    s.write_all(
        format!(
            "POST /v1/enroll HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .expect("write head");
    s.write_all(&body).await.expect("write body");
    // Four times every limit: neither answered nor cut.
    match read_response(&mut s, Duration::from_secs(4)).await {
        Seen::Nothing => {}
        other => panic!("the handler should still be waiting, saw {other:?}"),
    }
    lock.execute_batch("COMMIT").expect("unlock");
    match read_response(&mut s, Duration::from_secs(20)).await {
        Seen::Response { status: 200, .. } => {}
        other => panic!("expected the enrollment's 200, saw {other:?}"),
    }
    assert!(since.elapsed() >= Duration::from_secs(4));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_client_waits_until_one_closes() {
    let h = start(limits(30, 30, 5, 2)).await;
    let mut first = connect(&h).await;
    request_ok(&mut first).await;
    let mut second = connect(&h).await;
    request_ok(&mut second).await;

    // The third connects (listen backlog) but is not served while both are held (for
    // 2 s; they would be closed when idle for 5 s).
    let mut third = connect(&h).await;
    third.write_all(HEALTH).await.expect("write request");
    match read_response(&mut third, Duration::from_secs(2)).await {
        Seen::Nothing => {}
        other => panic!("the third connection was served over the cap: {other:?}"),
    }

    drop(first);
    match read_response(&mut third, Duration::from_secs(15)).await {
        Seen::Response { status: 200, .. } => {}
        other => panic!("expected 200 once a slot freed, saw {other:?}"),
    }
    // Its request was waiting before it was accepted; its idle time-out still applies.
    let took = closed_after(&mut third, Instant::now(), Duration::from_secs(40))
        .await
        .expect("the served connection is closed when idle");
    assert!(took >= Duration::from_secs(4), "closed after {took:?}");
    assert!(took < Duration::from_secs(30), "closed only after {took:?}");
    drop(second);
    drop(third);
    h.stop().await;
}
