//! The accept loop: HTTP/1.1 over hyper (and, with TLS, HTTP/2 negotiated by ALPN) with
//! per-connection time-outs and a cap on open connections, so a slow or silent client
//! cannot hold a connection for ever (`docs/server.md`, "Connection limits", "TLS").
//!
//! Each connection's socket is wrapped in [`TimedIo`], which shares a small state
//! ([`ConnState`]) with the connection's service: the service says when a request is in
//! flight, the socket wrapper arms one timer for whatever the client is expected to do
//! next and fails the pending read or write with `TimedOut` when it fires. With TLS the
//! rustls stream runs over [`TimedIo`], so every deadline applies to the bytes on the
//! wire; the handshake must finish within the header time-out.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use gridwalk_protocol::{Problem, ProblemCode, PROTOCOL_HEADER};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// How long [`serve`] waits for open connections to finish after shutdown is requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Pause before accepting again after an accept error that is not the client's (EMFILE…).
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// Time-outs and the connection cap of [`serve`]. Time-outs must be positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// From the first byte of a request until its head (request line and headers) is
    /// complete. Not reset by each byte, so a client trickling a head is cut off.
    pub header_timeout: Duration,
    /// Longest silence while the server reads a request body (reset by each chunk);
    /// a request whose body stalls is answered `408` and its connection closed.
    pub body_timeout: Duration,
    /// A connection with no request in flight on which no byte moves for this long is
    /// closed (kept-alive or never used); so is one whose pending write (a client not
    /// reading our answer) makes no progress for this long.
    pub idle_timeout: Duration,
    /// Open connections at most; further clients wait in the listen backlog until one
    /// closes. 0 counts as 1.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    /// 30 s head, 60 s body silence, 120 s idle, 1024 connections.
    fn default() -> ConnLimits {
        ConnLimits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(120),
            max_connections: 1024,
        }
    }
}

/// Why a certificate or key could not be used for [`Tls`].
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate, or one that does not parse.
    #[error("{0}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")]
    NoCertificate(String),
    /// The key file holds no usable PEM private key.
    #[error("{path}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {detail}")]
    NoKey { path: String, detail: String },
    /// rustls refused the pair (the key does not match the certificate, an unsupported
    /// key type, …).
    #[error("the certificate and key cannot be used: {0}")]
    Config(#[from] rustls::Error),
}

/// TLS for [`serve_with`]: a rustls server configuration (ring provider) offering
/// HTTP/2 and HTTP/1.1 by ALPN.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls { .. }")
    }
}

impl Tls {
    /// A certificate chain (leaf first) and its private key, both PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| TlsError::Read {
                path: p.display().to_string(),
                source,
            })
        };
        Tls::from_pem(
            &read(cert)?,
            &read(key)?,
            &cert.display().to_string(),
            &key.display().to_string(),
        )
    }

    /// A certificate chain and key given as PEM text; the names are for messages.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        cert_name: &str,
        key_name: &str,
    ) -> Result<Tls, TlsError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::NoCertificate(cert_name.to_string()))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(cert_name.to_string()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::NoKey {
            path: key_name.to_string(),
            detail: e.to_string(),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// Concurrent requests one HTTP/2 connection may have open.
pub const MAX_H2_STREAMS: u32 = 32;

/// Serves `app` over HTTP/1.1 on `listener` within `limits` until `shutdown` completes;
/// then stops accepting, lets open connections finish their requests (at most
/// [`SHUTDOWN_GRACE`]) and returns. Accept errors are logged and retried, never fatal.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, app, limits, None, shutdown).await
}

/// [`serve`], over TLS when `tls` is given: then HTTP/2 or HTTP/1.1 as the client's
/// ALPN chooses, the handshake bounded by the header time-out, and every other limit
/// as over plain HTTP. Each request carries its peer's address as
/// [`ConnectInfo<SocketAddr>`] (the rate limits read it).
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let graceful = GracefulShutdown::new();
    let mut http = auto::Builder::new(TokioExecutor::new());
    // hyper's own header timer also runs while a kept-alive connection is idle, which
    // would make it the idle time-out too; TimedIo keeps the head deadline instead.
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    // At most 32 requests at once on one HTTP/2 connection (hyper's default is 200): the
    // connection cap then bounds the handlers in flight as it does for HTTP/1.1.
    http.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_H2_STREAMS)
        .max_header_list_size(64 * 1024);
    // Plain HTTP stays HTTP/1.1 (no h2c); over TLS the client's ALPN choice decides.
    let http = Arc::new(if tls.is_some() {
        http
    } else {
        http.http1_only()
    });
    let mut shutdown = std::pin::pin!(shutdown);
    let mut at_cap = false;
    loop {
        // Warned once each time the cap is reached, not for every connection at it.
        let full = permits.available_permits() == 0;
        if full && !at_cap {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection limit reached; new connections wait until one closes"
            );
        }
        at_cap = full;
        // A permit is taken before accepting, so at the cap clients wait in the backlog.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => {
                    tracing::debug!(error = %e, "a connection failed before it was accepted");
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "accept failed; retrying in {ACCEPT_RETRY:?}");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let state = Arc::new(ConnState::new(limits));
        let timed = TimedIo::new(tcp, state.clone());
        let service = ConnService {
            app: app.clone(),
            state: state.clone(),
            peer,
        };
        let http = http.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(timed), service);
                    watcher.watch(conn).await
                }
                Some(tls) => {
                    let handshake = tls.acceptor.accept(timed);
                    match tokio::time::timeout(limits.header_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            // The handshake counted as the head; what follows is
                            // a new connection's wait for its first request.
                            state.request_finished();
                            let conn = http.serve_connection(TokioIo::new(stream), service);
                            watcher.watch(conn).await
                        }
                        Ok(Err(e)) => {
                            // Plain HTTP to this port, a client that does not trust the
                            // certificate, a scanner: nothing to answer.
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            drop(permit);
                            return;
                        }
                        Err(_elapsed) => {
                            state.lock().closed_by = Some(Deadline::Handshake);
                            tracing::info!(%peer, reason = %Deadline::Handshake, "connection closed");
                            drop(permit);
                            return;
                        }
                    }
                }
            };
            drop(permit);
            log_close(peer, &state, result);
        });
    }
    drop(listener);
    tracing::info!(
        open = graceful.count(),
        "no longer accepting; waiting for open connections"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!(
            "connections still open after {SHUTDOWN_GRACE:?}; leaving them"
        ),
    }
    Ok(())
}

/// Errors that concern one incoming connection only, not the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

fn log_close(
    peer: SocketAddr,
    state: &ConnState,
    result: Result<(), Box<dyn std::error::Error + Send + Sync>>,
) {
    match (state.lock().closed_by, result) {
        (Some(reason @ Deadline::Idle), _) => {
            tracing::debug!(%peer, %reason, "connection closed")
        }
        (Some(reason), _) => tracing::info!(%peer, %reason, "connection closed"),
        (None, Ok(())) => {
            tracing::debug!(%peer, "connection closed by the client or after its last request")
        }
        (None, Err(e)) => tracing::debug!(%peer, error = %e, "connection closed on an error"),
    }
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Idle,
    Header,
    Handshake,
    WriteStalled,
}

impl std::fmt::Display for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Deadline::Idle => "idle time-out",
            Deadline::Header => "request head time-out",
            Deadline::Handshake => "TLS handshake time-out (the header time-out)",
            Deadline::WriteStalled => "client stopped reading (write time-out)",
        })
    }
}

/// Where a connection is between requests; decides which read deadline applies.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in flight; a byte last moved at `since`.
    Idle { since: Instant },
    /// The first byte of a request head arrived at `since`; the head is not complete.
    Head { since: Instant },
    /// The service has `n` requests (body, handler, response; more than one only on
    /// HTTP/2): no read deadline, since hyper polls the socket while a handler runs.
    InRequest { n: usize },
}

struct Shared {
    phase: Phase,
    closed_by: Option<Deadline>,
    /// The task of the last pending read, woken when the phase changes under it.
    reader: Option<Waker>,
}

/// Per-connection state shared by [`TimedIo`] and [`ConnService`].
struct ConnState {
    limits: ConnLimits,
    shared: Mutex<Shared>,
}

impl ConnState {
    fn new(limits: ConnLimits) -> ConnState {
        ConnState {
            limits,
            shared: Mutex::new(Shared {
                phase: Phase::Idle {
                    since: Instant::now(),
                },
                closed_by: None,
                reader: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // The state stays consistent whatever panicked while holding it.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bytes_read(&self) {
        let mut s = self.lock();
        if let Phase::Idle { .. } = s.phase {
            s.phase = Phase::Head {
                since: Instant::now(),
            };
        }
    }

    fn bytes_written(&self) {
        let mut s = self.lock();
        if let Phase::Idle { .. } = s.phase {
            s.phase = Phase::Idle {
                since: Instant::now(),
            };
        }
    }

    fn request_started(&self) {
        let mut s = self.lock();
        s.phase = match s.phase {
            Phase::InRequest { n } => Phase::InRequest { n: n + 1 },
            Phase::Idle { .. } | Phase::Head { .. } => Phase::InRequest { n: 1 },
        };
    }

    /// The end of a request (or of the TLS handshake): the connection is idle once no
    /// other request of it is in flight.
    fn request_finished(&self) {
        let reader = {
            let mut s = self.lock();
            s.phase = match s.phase {
                Phase::InRequest { n } if n > 1 => Phase::InRequest { n: n - 1 },
                _ => Phase::Idle {
                    since: Instant::now(),
                },
            };
            s.reader.take()
        };
        // A read left pending while the request was in flight has no deadline, and hyper
        // polls it again only when woken: wake it so that it arms the idle deadline.
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    /// The deadline of a pending read, whose task is woken when the phase ends.
    fn read_deadline(&self, waker: &Waker) -> Option<(Instant, Deadline)> {
        let mut s = self.lock();
        if !s.reader.as_ref().is_some_and(|w| w.will_wake(waker)) {
            s.reader = Some(waker.clone());
        }
        match s.phase {
            // A limit too large to add is no limit.
            Phase::Idle { since } => since
                .checked_add(self.limits.idle_timeout)
                .map(|at| (at, Deadline::Idle)),
            Phase::Head { since } => since
                .checked_add(self.limits.header_timeout)
                .map(|at| (at, Deadline::Header)),
            Phase::InRequest { .. } => None,
        }
    }
}

/// A TCP stream whose pending read or write fails with `TimedOut` past its deadline:
/// a read by the connection's phase, a write when it has made no progress for
/// `idle_timeout`. One timer, armed only while something is pending.
struct TimedIo {
    tcp: TcpStream,
    state: Arc<ConnState>,
    sleep: Pin<Box<Sleep>>,
    read_pending: bool,
    write_stalled_since: Option<Instant>,
}

impl TimedIo {
    fn new(tcp: TcpStream, state: Arc<ConnState>) -> TimedIo {
        let sleep = Box::pin(tokio::time::sleep(state.limits.idle_timeout));
        TimedIo {
            tcp,
            state,
            sleep,
            read_pending: false,
            write_stalled_since: None,
        }
    }

    /// Arms the timer for the earliest deadline of what is pending; an error once passed.
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let read = self
            .read_pending
            .then(|| self.state.read_deadline(cx.waker()))
            .flatten();
        let write = self
            .write_stalled_since
            .and_then(|since| since.checked_add(self.state.limits.idle_timeout))
            .map(|at| (at, Deadline::WriteStalled));
        let Some((at, which)) = [read, write].into_iter().flatten().min_by_key(|d| d.0) else {
            return Ok(());
        };
        if self.sleep.deadline() != at {
            self.sleep.as_mut().reset(at);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.state.lock().closed_by = Some(which);
            return Err(io::Error::new(io::ErrorKind::TimedOut, which.to_string()));
        }
        Ok(())
    }

    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Pending => {
                self.write_stalled_since.get_or_insert_with(Instant::now);
                self.check_deadline(cx)?;
                Poll::Pending
            }
            Poll::Ready(Ok(n)) => {
                self.write_stalled_since = None;
                if n > 0 {
                    self.state.bytes_written();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.tcp).poll_read(cx, buf) {
            Poll::Pending => {
                this.read_pending = true;
                this.check_deadline(cx)?;
                Poll::Pending
            }
            ready => {
                this.read_pending = false;
                if buf.filled().len() > before {
                    this.state.bytes_read();
                }
                ready
            }
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.after_write(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.after_write(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// The app as one connection's hyper service: marks the request in flight, bounds
/// silence in the request body, and answers `408` when that bound was hit.
struct ConnService {
    app: Router,
    state: Arc<ConnState>,
    /// The client's address, handed to handlers as `ConnectInfo` (the rate limits' key,
    /// the audit log's source).
    peer: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<GuardedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.state.request_started();
        let guard = RequestGuard(self.state.clone());
        let body_timeout = self.state.limits.body_timeout;
        // Per request: on HTTP/2 several bodies of one connection are read at once.
        let body_timed_out = Arc::new(AtomicBool::new(false));
        let flag = body_timed_out.clone();
        let mut req = req.map(|body| {
            Body::new(TimeoutBody::new(body_timeout, body).map_err(move |e| {
                if e.is::<TimeoutError>() {
                    flag.store(true, Ordering::Relaxed);
                }
                e
            }))
        });
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let app = self.app.clone();
        Box::pin(async move {
            let response = match app.oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let response = if body_timed_out.load(Ordering::Relaxed) {
                tracing::info!(
                    "request body silent for {body_timeout:?}; answering 408 and closing"
                );
                body_timeout_response(&response, body_timeout)
            } else {
                response
            };
            Ok(response.map(|inner| GuardedBody {
                inner,
                _guard: guard,
            }))
        })
    }
}

/// A `request_timeout` problem (408) with `Connection: close`, keeping the protocol
/// header of the app's answer.
fn body_timeout_response(app_answer: &Response<Body>, body_timeout: Duration) -> Response<Body> {
    let problem = Problem::new(
        ProblemCode::RequestTimeout,
        format!(
            "the request body stalled: nothing arrived for {} s",
            body_timeout.as_secs_f64()
        ),
    );
    let mut response = Response::new(Body::from(serde_json::to_vec(&problem).unwrap_or_default()));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if let Some((name, value)) = app_answer
        .headers()
        .iter()
        .find(|(name, _)| name.as_str().eq_ignore_ascii_case(PROTOCOL_HEADER))
    {
        headers.insert(name.clone(), value.clone());
    }
    response
}

/// Marks the connection idle when dropped: when hyper has taken the whole response body,
/// or the request was abandoned.
struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body holding its request's [`RequestGuard`].
struct GuardedBody {
    inner: Body,
    _guard: RequestGuard,
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let k =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
        (k.cert.pem(), k.signing_key.serialize_pem())
    }

    #[test]
    fn a_certificate_and_its_key_make_a_tls_config_and_anything_else_is_named() {
        let (cert, key) = pair();
        Tls::from_pem(cert.as_bytes(), key.as_bytes(), "c.pem", "k.pem").expect("usable");
        // The key of another certificate.
        let (_, other_key) = pair();
        let e = Tls::from_pem(cert.as_bytes(), other_key.as_bytes(), "c.pem", "k.pem")
            .expect_err("mismatched key");
        assert!(matches!(e, TlsError::Config(_)), "{e}");
        // The files swapped, or not PEM at all.
        let e =
            Tls::from_pem(key.as_bytes(), cert.as_bytes(), "c.pem", "k.pem").expect_err("swapped");
        assert!(e.to_string().contains("c.pem"), "{e}");
        let e = Tls::from_pem(cert.as_bytes(), b"\xff\xfe not pem", "c.pem", "k.pem")
            .expect_err("garbage key");
        assert!(e.to_string().contains("k.pem"), "{e}");
        let e = Tls::from_pem_files(Path::new("/nonexistent/c.pem"), Path::new("k.pem"))
            .expect_err("missing file");
        assert!(e.to_string().contains("/nonexistent/c.pem"), "{e}");
    }
}
