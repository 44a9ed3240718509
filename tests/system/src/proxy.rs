//! A fault-injecting HTTP/1.1 proxy between the device and the server.
//!
//! It reads each request whole (request line, headers, a `Content-Length` or chunked
//! body), decides from a seeded RNG what to do with it, and relays the server's answer
//! (read whole the same way). Requests on a keep-alive connection are handled in order.
//! The faults:
//!
//! | fault | what the client sees | what the server saw |
//! |---|---|---|
//! | `ResetRequest` | reset while sending | part of the request, then a reset |
//! | `ResetResponse` | part of the answer, then a reset | the whole request (it acted on it) |
//! | `Stall` | nothing for `stall_for` (past its timeout), then a reset | the whole request |
//! | `Truncate` | the head and part of the body, then a clean close | the whole request |
//! | `Unavailable` | `503 unavailable` for this and up to `max_burst - 1` more requests | nothing |
//!
//! It counts requests, bytes each way and faults, logs every request (method, path, tus
//! offset, body length), can be retargeted to another upstream, switched to
//! pass-through, can force a fault on the next request of a kind, can answer the next
//! request of a kind with a problem of its own (a server that "forgot" a tus upload),
//! and can hold all traffic once a given number of tus `PATCH` body bytes has been
//! forwarded (for killing the server at a chosen point of an upload).

use crate::http::{read_message, Body};
use crate::rng::Rng;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to one request instead of passing it through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Forward part of the request, then reset both connections.
    ResetRequest,
    /// Forward the request, relay part of the answer, then reset.
    ResetResponse,
    /// Forward the request, withhold the answer for `stall_for`, then reset.
    Stall,
    /// Forward the request, relay the head and part of the body, then close cleanly.
    Truncate,
    /// Answer `503` without forwarding (a burst: the next requests may get it too).
    Unavailable,
}

/// Every fault, in report order.
pub const FAULTS: [Fault; 5] = [
    Fault::ResetRequest,
    Fault::ResetResponse,
    Fault::Stall,
    Fault::Truncate,
    Fault::Unavailable,
];

/// Per-request probabilities of each fault (the rest pass through).
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub seed: u64,
    pub reset_request: f64,
    pub reset_response: f64,
    pub stall: f64,
    pub truncate: f64,
    /// Probability that a `503` burst starts at a request.
    pub unavailable: f64,
    /// A burst answers 1..=`max_burst` consecutive requests with `503`.
    pub max_burst: u64,
    /// How long a stalled answer is withheld (longer than the client's timeout).
    pub stall_for: Duration,
}

impl FaultPlan {
    fn table(&self) -> [(Fault, f64); 5] {
        [
            (Fault::ResetRequest, self.reset_request),
            (Fault::ResetResponse, self.reset_response),
            (Fault::Stall, self.stall),
            (Fault::Truncate, self.truncate),
            (Fault::Unavailable, self.unavailable),
        ]
    }
}

/// Counters since the proxy started.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub connections: u64,
    /// Complete requests read from clients (passed, faulted or answered `503`).
    pub requests: u64,
    /// Requests relayed untouched, answer included.
    pub passed: u64,
    pub faults: BTreeMap<Fault, u64>,
    /// Bytes forwarded client → server.
    pub bytes_up: u64,
    /// Bytes relayed server → client (including the proxy's own `503`s).
    pub bytes_down: u64,
    /// Connections reset because the upstream refused or dropped them.
    pub upstream_failures: u64,
    /// Body bytes of tus `PATCH` requests forwarded to the server (partial ones too).
    pub patch_body_bytes: u64,
}

impl Stats {
    /// Total injected faults.
    pub fn total_faults(&self) -> u64 {
        self.faults.values().sum()
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests on {} connections: {} passed, {} faulted (",
            self.requests,
            self.connections,
            self.passed,
            self.total_faults()
        )?;
        for (i, fault) in FAULTS.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let n = self.faults.get(fault).copied().unwrap_or(0);
            write!(f, "{sep}{fault:?} {n}")?;
        }
        write!(
            f,
            "); {} bytes up, {} bytes down, {} PATCH body bytes, {} upstream failures",
            self.bytes_up, self.bytes_down, self.patch_body_bytes, self.upstream_failures
        )
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The tus `Upload-Offset` header, if any.
    pub upload_offset: Option<u64>,
    /// Decoded body length.
    pub body_len: u64,
    /// The decoded body, kept for requests other than `PATCH`.
    pub body: Option<Vec<u8>>,
    pub content_encoding: Option<String>,
    pub fault: Option<Fault>,
    /// Status of the server's (or the proxy's) answer, when one was read.
    pub status: Option<u16>,
    /// When the request had been read.
    pub at: std::time::Instant,
}

struct State {
    upstream: SocketAddr,
    plan: Option<FaultPlan>,
    rng: Rng,
    burst_left: u64,
    stats: Stats,
    log: Vec<Logged>,
    /// Faults forced on the next request matching (method, path prefix).
    forced: Vec<(String, String, Fault)>,
    /// Problems (status, code) answered instead of the server to the next request
    /// matching (method, path prefix).
    forged: Vec<(String, String, u16, String)>,
    hold_at: Option<u64>,
    held: bool,
}

struct Shared {
    state: Mutex<State>,
    /// `true` while traffic is held (nothing is forwarded).
    paused: watch::Sender<bool>,
    /// Bumped by `cut_all`: every open connection is reset.
    cut: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running proxy on `127.0.0.1:<port>` with its own tokio runtime.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// Starts a pass-through proxy to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                upstream,
                plan: None,
                rng: Rng::new(0),
                burst_left: 0,
                stats: Stats::default(),
                log: Vec::new(),
                forced: Vec::new(),
                forged: Vec::new(),
                hold_at: None,
                held: false,
            }),
            paused: watch::channel(false).0,
            cut: watch::channel(0).0,
        });
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let s = shared.clone();
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                s.lock().stats.connections += 1;
                tokio::spawn(connection(s.clone(), client));
            }
        });
        Proxy {
            addr,
            shared,
            rt: Some(rt),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// New connections go to `upstream` from now on.
    pub fn retarget(&self, upstream: SocketAddr) {
        self.shared.lock().upstream = upstream;
    }

    /// Injects faults by `plan` (its seed restarts the RNG), or passes everything
    /// through (`None`).
    pub fn set_faults(&self, plan: Option<FaultPlan>) {
        let mut st = self.shared.lock();
        st.rng = Rng::new(plan.as_ref().map_or(0, |p| p.seed));
        st.burst_left = 0;
        st.plan = plan;
    }

    /// Forces `fault` on the next request with this method whose path starts with
    /// `path` (whatever the plan; also in pass-through). Rules apply in the order given.
    pub fn force(&self, method: &str, path: &str, fault: Fault) {
        let rule = (method.to_string(), path.to_string(), fault);
        self.shared.lock().forced.push(rule);
    }

    /// Answers the next request with this method whose path starts with `path` itself,
    /// with the problem `code` and HTTP `status` (e.g. `404 not_found` for a tus upload
    /// the server no longer knows), without forwarding it. Rules apply in the order
    /// given; such a request is logged with the status, not counted as a fault.
    pub fn answer(&self, method: &str, path: &str, status: u16, code: &str) {
        let rule = (
            method.to_string(),
            path.to_string(),
            status,
            code.to_string(),
        );
        self.shared.lock().forged.push(rule);
    }

    /// Forged answers not yet given.
    pub fn forged_left(&self) -> usize {
        self.shared.lock().forged.len()
    }

    /// Forced faults not yet applied.
    pub fn forced_left(&self) -> usize {
        self.shared.lock().forced.len()
    }

    /// The forced faults not yet applied (method, path, fault), for messages.
    pub fn forced_pending(&self) -> String {
        format!("{:?}", self.shared.lock().forced)
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    pub fn log(&self) -> Vec<Logged> {
        self.shared.lock().log.clone()
    }

    /// Once `bytes` tus `PATCH` body bytes have been forwarded in total, forwards no more:
    /// the request that crosses the mark is forwarded up to it exactly and held, and all
    /// traffic waits until [`Proxy::resume`]. See [`Proxy::held`].
    pub fn hold_at_patch_bytes(&self, bytes: u64) {
        let mut st = self.shared.lock();
        st.hold_at = Some(bytes);
        st.held = false;
    }

    /// `true` once the hold mark was reached.
    pub fn held(&self) -> bool {
        self.shared.lock().held
    }

    /// Resets every open connection (both sides).
    pub fn cut_all(&self) {
        self.shared.cut.send_modify(|g| *g += 1);
    }

    /// Lets held traffic go on (and forgets the hold mark).
    pub fn resume(&self) {
        {
            let mut st = self.shared.lock();
            st.hold_at = None;
        }
        self.shared.paused.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// How one connection ended.
enum End {
    /// The client closed between requests, or asked for `Connection: close`.
    Close,
    /// Clean close after a truncated answer.
    Fin,
    /// Reset both sides.
    Reset,
}

struct Conn {
    client: BufReader<TcpStream>,
    upstream: Option<BufReader<TcpStream>>,
}

async fn connection(shared: Arc<Shared>, client: TcpStream) {
    let mut cut = shared.cut.subscribe();
    let mut conn = Conn {
        client: BufReader::new(client),
        upstream: None,
    };
    let end = tokio::select! {
        end = serve(&shared, &mut conn) => end,
        _ = cut.changed() => End::Reset,
    };
    match end {
        End::Close => {}
        End::Fin => {
            let _ = conn.client.get_mut().shutdown().await;
            // Let the client read what was sent before the socket goes away.
            let mut sink = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.client.read(&mut sink)).await;
        }
        End::Reset => {
            let _ = conn.client.get_ref().set_zero_linger();
            if let Some(u) = &conn.upstream {
                let _ = u.get_ref().set_zero_linger();
            }
        }
    }
}

async fn serve(shared: &Shared, conn: &mut Conn) -> End {
    loop {
        // Between requests, a server that closes its side closes the client's too (as
        // it would without the proxy), so no client reuses a dead connection.
        let req = tokio::select! {
            r = read_message(&mut conn.client, Body::Request) => match r {
                Ok(Some(m)) => m,
                Ok(None) => return End::Close,
                Err(_) => return End::Reset,
            },
            _ = closed(&mut conn.upstream) => return End::Close,
        };
        let mut paused = shared.paused.subscribe();
        let _ = paused.wait_for(|p| !*p).await;
        let (index, fault, forged, upstream, hold_at) = {
            let mut st = shared.lock();
            st.stats.requests += 1;
            let matches = |m: &str, p: &str| m == req.method() && req.path().starts_with(p);
            let forged = st
                .forged
                .iter()
                .position(|(m, p, _, _)| matches(m, p))
                .map(|i| st.forged.remove(i))
                .map(|(_, _, status, code)| (status, code));
            let forced = st.forced.iter().position(|(m, p, _)| matches(m, p));
            let fault = match (&forged, forced) {
                (Some(_), _) => None,
                (None, Some(i)) => Some(st.forced.remove(i).2),
                (None, None) => draw(&mut st),
            };
            if let Some(f) = fault {
                *st.stats.faults.entry(f).or_default() += 1;
            }
            let is_patch = req.method() == "PATCH";
            st.log.push(Logged {
                method: req.method().to_string(),
                path: req.path().to_string(),
                upload_offset: req.header("upload-offset").and_then(|v| v.parse().ok()),
                body_len: req.body.len() as u64,
                body: (!is_patch).then(|| req.body.clone()),
                content_encoding: req.header("content-encoding").map(str::to_string),
                fault,
                status: None,
                at: std::time::Instant::now(),
            });
            let hold_at = match st.hold_at {
                Some(mark) if is_patch => Some(mark.saturating_sub(st.stats.patch_body_bytes)),
                _ => None,
            };
            (st.log.len() - 1, fault, forged, st.upstream, hold_at)
        };
        let set_status = |status: u16| shared.lock().log[index].status = Some(status);

        if let Some((status, code)) = forged {
            let answer = problem(status, &code, req.method() == "HEAD");
            shared.lock().stats.bytes_down += answer.len() as u64;
            set_status(status);
            if conn.client.write_all(&answer).await.is_err() {
                return End::Reset;
            }
            if req.wants_close() {
                return End::Close;
            }
            continue;
        }

        if fault == Some(Fault::Unavailable) {
            let answer = unavailable();
            shared.lock().stats.bytes_down += answer.len() as u64;
            set_status(503);
            if conn.client.write_all(&answer).await.is_err() {
                return End::Reset;
            }
            if req.wants_close() {
                return End::Close;
            }
            continue;
        }

        if conn.upstream.is_none() {
            match TcpStream::connect(upstream).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    conn.upstream = Some(BufReader::new(s));
                }
                Err(_) => {
                    shared.lock().stats.upstream_failures += 1;
                    return End::Reset;
                }
            }
        }
        let up = conn.upstream.as_mut().expect("connected");

        // How much of the request goes to the server.
        let total = req.raw.len();
        let mut holding = false;
        let mut send = if fault == Some(Fault::ResetRequest) {
            let mut st = shared.lock();
            st.rng.range(1, total as u64) as usize
        } else {
            total
        };
        if let Some(left) = hold_at {
            if (req.raw.len() - req.head_len) as u64 >= left
                && req.header("content-length").is_some()
            {
                send = send.min(req.head_len + left as usize);
                holding = true;
            }
        }
        if up.get_mut().write_all(&req.raw[..send]).await.is_err() {
            shared.lock().stats.upstream_failures += 1;
            return End::Reset;
        }
        {
            let mut st = shared.lock();
            st.stats.bytes_up += send as u64;
            if req.method() == "PATCH" {
                st.stats.patch_body_bytes += send.saturating_sub(req.head_len) as u64;
            }
            if holding {
                st.held = true;
                shared.paused.send_replace(true);
            }
        }
        if holding {
            // Wait to be cut.
            std::future::pending::<()>().await;
        }
        if fault == Some(Fault::ResetRequest) {
            return End::Reset;
        }

        let no_body = req.method() == "HEAD";
        let resp = match read_message(up, Body::Response { no_body }).await {
            Ok(Some(m)) => m,
            _ => {
                shared.lock().stats.upstream_failures += 1;
                return End::Reset;
            }
        };
        if let Some(status) = resp.status() {
            set_status(status);
        }
        let (relay, end) = match fault {
            None => (resp.raw.len(), None),
            Some(Fault::ResetResponse) => {
                let n = shared.lock().rng.range(1, resp.raw.len() as u64) as usize;
                (n, Some(End::Reset))
            }
            Some(Fault::Truncate) => {
                let body = resp.raw.len() - resp.head_len;
                let n = if body > 0 {
                    resp.head_len + shared.lock().rng.range(0, body as u64) as usize
                } else {
                    shared.lock().rng.range(1, resp.head_len as u64) as usize
                };
                (n, Some(End::Fin))
            }
            Some(Fault::Stall) => (0, Some(End::Reset)),
            Some(Fault::Unavailable | Fault::ResetRequest) => unreachable!("handled above"),
        };
        {
            // Counted before the client can see it, so a client never sees a count lag.
            let mut st = shared.lock();
            st.stats.bytes_down += relay as u64;
            if fault.is_none() {
                st.stats.passed += 1;
            }
        }
        if conn.client.write_all(&resp.raw[..relay]).await.is_err() {
            return End::Reset;
        }
        if fault == Some(Fault::Stall) {
            let stall_for = shared
                .lock()
                .plan
                .as_ref()
                .map_or(Duration::from_secs(5), |p| p.stall_for);
            tokio::time::sleep(stall_for).await;
        }
        if let Some(end) = end {
            return end;
        }
        if req.wants_close() || resp.wants_close() || resp.until_eof {
            return End::Close;
        }
    }
}

/// Resolves when the (idle) upstream connection is closed; never without one.
async fn closed(upstream: &mut Option<BufReader<TcpStream>>) {
    if let Some(u) = upstream {
        if let Ok(b) = u.fill_buf().await {
            if !b.is_empty() {
                // Unasked-for bytes: leave them; the next read of an answer fails on them.
                std::future::pending::<()>().await;
            }
        }
    } else {
        std::future::pending::<()>().await;
    }
}

/// The fault for the next request, if any.
fn draw(st: &mut State) -> Option<Fault> {
    if st.burst_left > 0 {
        st.burst_left -= 1;
        return Some(Fault::Unavailable);
    }
    let plan = st.plan.as_ref()?;
    let table = plan.table();
    let max_burst = plan.max_burst.max(1);
    let u = st.rng.unit();
    let mut acc = 0.0;
    for (fault, p) in table {
        acc += p;
        if u < acc {
            if fault == Fault::Unavailable {
                st.burst_left = st.rng.range(0, max_burst);
            }
            return Some(fault);
        }
    }
    None
}

/// A problem answer of the proxy's own, shaped like the server's (for [`Proxy::answer`]);
/// without the body when it answers a `HEAD`.
fn problem(status: u16, code: &str, head: bool) -> Vec<u8> {
    let reason = match status {
        404 => "Not Found",
        409 => "Conflict",
        410 => "Gone",
        _ => "Error",
    };
    let body = format!(
        r#"{{"type":"urn:gridwalk:problem:{code}","code":"{code}","title":"{reason}","detail":"answered by the test proxy","status":{status}}}"#
    );
    let mut answer = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n\
         gridwalk-protocol: 1\r\ntus-resumable: 1.0.0\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        answer.extend_from_slice(body.as_bytes());
    }
    answer
}

/// The proxy's own `503`, shaped like the server's problems.
fn unavailable() -> Vec<u8> {
    let body = r#"{"type":"urn:gridwalk:problem:unavailable","code":"unavailable","title":"Service Unavailable","detail":"injected by the test proxy","status":503}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         gridwalk-protocol: 1\r\ntus-resumable: 1.0.0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
