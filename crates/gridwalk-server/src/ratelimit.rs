//! Rate limits (docs/server.md "Rate limits"): sign-ins per client address and per user
//! name, enrollments per client address, and requests per bearer token or console
//! session. Each is a keyed GCRA limiter from `governor`; a refusal is a
//! `429 rate_limited` problem with `Retry-After`.
//!
//! `governor` is used directly rather than through `tower_governor`: the per-account
//! sign-in limit needs the user name from the JSON body (only the handler has it), and
//! the answer must be this server's problem document.

use crate::http::{bearer_token, session_cookie, ApiError};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use gridwalk_protocol::ProblemCode;
use sha2::{Digest, Sha256};
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The limits of [`RateLimits`]; `None` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Sign-in attempts a minute from one client address, and for one user name (the
    /// same number; that many may come at once).
    pub login_per_minute: Option<NonZeroU32>,
    /// Enrollment attempts a minute from one client address.
    pub enroll_per_minute: Option<NonZeroU32>,
    /// Requests a second with one bearer token or console session, sustained…
    pub token_per_second: Option<NonZeroU32>,
    /// …and at once (a sync's burst of pushes, pulls and photo chunks).
    pub token_burst: NonZeroU32,
}

const fn nz(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

impl Default for RateLimitConfig {
    /// 10 sign-ins a minute per address and per name, 10 enrollments a minute per
    /// address, 50 requests a second per token with bursts of 100.
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            login_per_minute: Some(nz(10)),
            enroll_per_minute: Some(nz(10)),
            token_per_second: Some(nz(50)),
            token_burst: nz(100),
        }
    }
}

impl RateLimitConfig {
    /// No limits at all (the library's default state: tests and embedders choose).
    pub const OFF: RateLimitConfig = RateLimitConfig {
        login_per_minute: None,
        enroll_per_minute: None,
        token_per_second: None,
        token_burst: nz(1),
    };
}

/// Keys kept before idle ones are swept (a key is idle once its bucket is full again).
const SWEEP_ABOVE: usize = 10_000;

/// One keyed limiter that sweeps its idle keys now and then, so addresses and tokens
/// seen once do not stay in memory.
struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(quota: Quota) -> Keyed<K> {
        Keyed {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `key` is over its quota.
    fn check(&self, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023
            && self.limiter.len() > SWEEP_ABOVE
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The server's rate limiters, shared by every request ([`crate::AppState`]).
#[derive(Clone)]
pub struct RateLimits {
    inner: Arc<Inner>,
}

struct Inner {
    config: RateLimitConfig,
    login_ip: Option<Keyed<IpAddr>>,
    login_name: Option<Keyed<String>>,
    enroll_ip: Option<Keyed<IpAddr>>,
    token: Option<Keyed<[u8; 16]>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.config.fmt(f)
    }
}

impl Default for RateLimits {
    /// No limits ([`RateLimitConfig::OFF`]).
    fn default() -> RateLimits {
        RateLimits::new(RateLimitConfig::OFF)
    }
}

/// The key of a client address: an IPv6 client is counted by its /64, since one
/// subscriber usually holds a whole /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

fn refused(wait: Duration, what: &str) -> ApiError {
    // Whole seconds, rounded up, at least 1: a client that waits that long gets in.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let mut e = ApiError::new(
        ProblemCode::RateLimited,
        format!("too many {what}; try again in {secs} s"),
    );
    e.headers.push((RETRY_AFTER, HeaderValue::from(secs)));
    e
}

impl RateLimits {
    /// Limiters for `config`.
    pub fn new(config: RateLimitConfig) -> RateLimits {
        fn per_minute<K: Hash + Eq + Clone>(n: Option<NonZeroU32>) -> Option<Keyed<K>> {
            n.map(|n| Keyed::new(Quota::per_minute(n)))
        }
        RateLimits {
            inner: Arc::new(Inner {
                config,
                login_ip: per_minute(config.login_per_minute),
                login_name: per_minute(config.login_per_minute),
                enroll_ip: per_minute(config.enroll_per_minute),
                token: config
                    .token_per_second
                    .map(|n| Keyed::new(Quota::per_second(n).allow_burst(config.token_burst))),
            }),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> RateLimitConfig {
        self.inner.config
    }

    /// A sign-in attempt for `user_name` (trimmed; counted case-insensitively).
    pub fn check_login_name(&self, user_name: &str) -> Result<(), ApiError> {
        match &self.inner.login_name {
            Some(l) => l
                .check(&user_name.trim().to_lowercase())
                .map_err(|w| refused(w, "sign-in attempts for this user name")),
            None => Ok(()),
        }
    }

    /// What the request costs before it reaches a handler: a sign-in or an enrollment
    /// from `peer`, or any other `/v1/` request with a token or session.
    fn check_request(&self, req: &Request, peer: Option<IpAddr>) -> Result<(), ApiError> {
        let path = req.uri().path();
        let post = req.method() == Method::POST;
        let per_ip = |limiter: &Option<Keyed<IpAddr>>, what: &str| match (limiter, peer) {
            (Some(l), Some(ip)) => l.check(&client_key(ip)).map_err(|w| refused(w, what)),
            _ => Ok(()),
        };
        if post && path == "/v1/login" {
            return per_ip(&self.inner.login_ip, "sign-in attempts from this address");
        }
        if post && path == "/v1/enroll" {
            return per_ip(&self.inner.enroll_ip, "enrollments from this address");
        }
        let Some(limiter) = &self.inner.token else {
            return Ok(());
        };
        if !path.starts_with("/v1/") {
            return Ok(());
        }
        let Some(token) = bearer_token(req.headers()).or_else(|| session_cookie(req.headers()))
        else {
            return Ok(());
        };
        // The token itself is not kept: a prefix of its hash is key enough.
        let digest = Sha256::digest(token.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        limiter
            .check(&key)
            .map_err(|w| refused(w, "requests with this token"))
    }
}

/// The middleware of [`crate::app`]: refuses a request over its limits with
/// `429 rate_limited` and `Retry-After`, before its body is read. The client address is
/// the TCP peer ([`ConnectInfo`], set by [`crate::serve`]); behind a reverse proxy every
/// client is the proxy's address (docs/server.md "Rate limits").
pub async fn layer(State(limits): State<RateLimits>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Err(e) = limits.check_request(&req, peer) {
        tracing::info!(path = req.uri().path(), ?peer, "rate limited");
        return e.into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(method: Method, path: &str, token: Option<&str>) -> Request {
        let mut b = axum::http::Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Body::empty()).expect("request")
    }

    fn retry_after(e: &ApiError) -> u64 {
        e.headers
            .iter()
            .find(|(k, _)| *k == RETRY_AFTER)
            .and_then(|(_, v)| v.to_str().ok()?.parse().ok())
            .expect("Retry-After")
    }

    #[test]
    fn sign_ins_are_limited_per_address_and_per_name_separately() {
        let limits = RateLimits::new(RateLimitConfig {
            login_per_minute: Some(nz(3)),
            ..RateLimitConfig::default()
        });
        let a: IpAddr = "203.0.113.7".parse().expect("ip");
        let b: IpAddr = "203.0.113.8".parse().expect("ip");
        let login = || request(Method::POST, "/v1/login", None);
        for _ in 0..3 {
            limits.check_request(&login(), Some(a)).expect("within");
        }
        let e = limits.check_request(&login(), Some(a)).expect_err("over");
        assert_eq!(e.problem.code, ProblemCode::RateLimited);
        assert_eq!(e.problem.status, 429);
        // One every 20 s comes back.
        assert!((1..=20).contains(&retry_after(&e)), "{}", retry_after(&e));
        limits
            .check_request(&login(), Some(b))
            .expect("another address");
        // Other requests from the limited address are not sign-ins.
        limits
            .check_request(&request(Method::GET, "/v1/health", None), Some(a))
            .expect("health");
        for _ in 0..3 {
            limits.check_login_name("科长").expect("within");
        }
        assert!(limits.check_login_name(" 科长 ").is_err());
        limits.check_login_name("另一人").expect("another name");
    }

    #[test]
    fn tokens_are_limited_each_on_their_own_and_only_on_the_api() {
        let limits = RateLimits::new(RateLimitConfig {
            token_per_second: Some(nz(1)),
            token_burst: nz(5),
            ..RateLimitConfig::default()
        });
        let push = |t| request(Method::POST, "/v1/sync/push", Some(t));
        for _ in 0..5 {
            limits.check_request(&push("t1"), None).expect("burst");
        }
        let e = limits.check_request(&push("t1"), None).expect_err("over");
        assert_eq!(retry_after(&e), 1);
        limits
            .check_request(&push("t2"), None)
            .expect("other token");
        limits
            .check_request(&request(Method::GET, "/console/", Some("t1")), None)
            .expect("console files are not counted");
    }

    #[test]
    fn ipv6_clients_count_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().expect("ip");
        assert_eq!(
            client_key(mapped),
            "203.0.113.7".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn off_limits_nothing() {
        let limits = RateLimits::default();
        for _ in 0..1000 {
            limits
                .check_request(
                    &request(Method::POST, "/v1/login", None),
                    Some("203.0.113.7".parse().expect("ip")),
                )
                .expect("no limit");
            limits.check_login_name("x").expect("no limit");
        }
    }
}
