//! Issue 15's hardening against a real server on loopback: TLS (HTTP/1.1 and HTTP/2 by
//! ALPN, plain HTTP refused, the handshake bounded by the header time-out), rate limits
//! (sign-in per address and per name, enrollment per address, per token; 429 with
//! `Retry-After`), security headers, and disabling a user (sessions and device tokens
//! refused at once; migration 0020 on a database made before it).

mod common;

use common::*;
use gridwalk_protocol::Role;
use gridwalk_server::ratelimit::{RateLimitConfig, RateLimits};
use gridwalk_server::serve::ConnLimits;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn tls_harness(limits: ConnLimits) -> (Harness, TestTls) {
    let tls = TestTls::new();
    let h = Harness::start_configured(Db::Sqlite, limits, Some(tls.clone()), |s| s)
        .await
        .expect("sqlite");
    (h, tls)
}

async fn health(client: &reqwest::Client, h: &Harness) -> reqwest::Response {
    let resp = client
        .get(h.url("/v1/health"))
        .send()
        .await
        .expect("health over TLS");
    assert_eq!(resp.status(), 200);
    resp
}

#[tokio::test]
async fn tls_serves_http1_and_http2_by_alpn_and_sends_hsts() {
    let (h, tls) = tls_harness(ConnLimits::default()).await;
    let h1 = tls
        .client(reqwest::Client::builder().http1_only())
        .build()
        .expect("client");
    let resp = health(&h1, &h).await;
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        gridwalk_server::http::HSTS
    );
    // The default client offers h2 and http/1.1: the server picks h2.
    let resp = health(&h.http, &h).await;
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        gridwalk_server::http::HSTS
    );
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    // A real exchange over h2: enroll and pull, several requests on one connection.
    let device = h.enroll("grid-east").await;
    for _ in 0..3 {
        let (status, page) = h.get(&device.token, "/v1/sync/pull?limit=5").await;
        assert_eq!(status, 200, "{page}");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_or_speaks_plain_http_is_refused() {
    let (h, _tls) = tls_harness(ConnLimits::default()).await;
    // Not trusting the self-signed certificate.
    let strict = reqwest::Client::new();
    let e = strict
        .get(h.url("/v1/health"))
        .send()
        .await
        .expect_err("untrusted certificate");
    assert!(e.is_connect(), "{e:?}");
    // Plain HTTP to the TLS port: no answer is an HTTP answer, and it ends promptly.
    let plain = format!("http://{}/v1/health", h.addr());
    let started = Instant::now();
    let e = reqwest::Client::new()
        .get(&plain)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect_err("plain HTTP to the TLS port");
    assert!(!e.is_timeout(), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The same with a raw socket: the server closes the connection, after at most a
    // TLS alert, and certainly without an HTTP status line.
    let mut raw = tokio::net::TcpStream::connect(h.addr())
        .await
        .expect("connect");
    raw.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), raw.read_to_end(&mut got))
        .await
        .expect("closed in time")
        .ok();
    assert!(
        !got.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    // The server goes on serving.
    health(&h.http, &h).await;
    h.stop().await;
}

#[tokio::test]
async fn a_tls_handshake_gets_the_header_time_out() {
    let limits = ConnLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        max_connections: 1,
    };
    let (h, _tls) = tls_harness(limits).await;
    // A client that connects and never says hello holds the only connection slot…
    let mut silent = tokio::net::TcpStream::connect(h.addr())
        .await
        .expect("connect");
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(15), silent.read(&mut buf))
        .await
        .expect("closed by the server")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    // …for the header time-out, not the idle one.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    // A trickled ClientHello is cut at the same bound.
    let mut trickle = tokio::net::TcpStream::connect(h.addr())
        .await
        .expect("connect");
    let started = Instant::now();
    let hello = [0x16u8, 0x03, 0x01, 0x02, 0x00, 0x01];
    let mut cut = false;
    for b in hello.iter().cycle().take(40) {
        if trickle.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if !cut {
        let n = tokio::time::timeout(Duration::from_secs(10), trickle.read(&mut buf))
            .await
            .expect("closed by the server")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
    assert!(started.elapsed() < Duration::from_secs(14));
    // The slot is free again: a real client is served.
    health(&h.http, &h).await;
    h.stop().await;
}

fn limited(
    config: RateLimitConfig,
) -> impl FnOnce(gridwalk_server::AppState) -> gridwalk_server::AppState {
    move |s| s.with_rate_limits(RateLimits::new(config))
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

async fn login_from(
    h: &Harness,
    client: &reqwest::Client,
    name: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(h.url("/v1/login"))
        .json(&serde_json::json!({"user_name": name, "password": password}))
        .send()
        .await
        .expect("login")
}

async fn assert_rate_limited(resp: reqwest::Response) -> u64 {
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = resp.json().await.expect("problem");
    assert_eq!(p["code"], "rate_limited", "{p}");
    assert_eq!(p["status"], 429);
    retry
}

#[tokio::test]
async fn a_burst_of_failed_sign_ins_from_one_address_is_answered_429_and_others_are_not() {
    let config = RateLimitConfig {
        login_per_minute: NonZeroU32::new(4),
        ..RateLimitConfig::default()
    };
    let h = Harness::start_configured(Db::Sqlite, ConnLimits::default(), None, limited(config))
        .await
        .expect("sqlite");
    let n = |s: &str| s.to_string();
    let names = [n("王科长"), n("李科长"), n("赵科长")];
    for name in &names {
        let name = name.clone();
        blocking(&h, move |s| {
            s.create_user(
                &name,
                Role::Officer,
                &gridwalk_core::DivisionCode::parse(TOWN).expect("code"),
            )
            .expect("user");
            s.set_password(&name, PASSWORD).expect("password");
        })
        .await;
    }
    let attacker = client_from("127.0.0.2");
    // Four guesses at four names from one address are answered (401)…
    for guess in ["a", "b", "c", "d"] {
        let resp = login_from(&h, &attacker, &format!("无此人{guess}"), "wrong").await;
        assert_eq!(resp.status(), 401);
    }
    // …the fifth is refused before any password is checked.
    let retry = assert_rate_limited(login_from(&h, &attacker, &names[0], PASSWORD).await).await;
    assert!((1..=15).contains(&retry), "{retry}");
    // Another address signs in.
    let office = client_from("127.0.0.3");
    assert_eq!(
        login_from(&h, &office, &names[0], PASSWORD).await.status(),
        200
    );

    // Per name: guesses at one name from many addresses stop at the name's limit…
    for i in 0..4 {
        let c = client_from(&format!("127.0.1.{}", 10 + i));
        let resp = login_from(&h, &c, &names[1], "wrong").await;
        assert_eq!(resp.status(), 401);
    }
    let fresh = client_from("127.0.1.50");
    assert_rate_limited(login_from(&h, &fresh, &names[1], PASSWORD).await).await;
    // …and leave other names alone.
    assert_eq!(
        login_from(&h, &fresh, &names[2], PASSWORD).await.status(),
        200
    );
    h.stop().await;
}

#[tokio::test]
async fn enrollment_and_token_use_are_limited_per_address_and_per_token() {
    let config = RateLimitConfig {
        login_per_minute: None,
        enroll_per_minute: NonZeroU32::new(2),
        token_per_second: NonZeroU32::new(1),
        token_burst: NonZeroU32::new(5).expect("5"),
    };
    let h = Harness::start_configured(Db::Sqlite, ConnLimits::default(), None, limited(config))
        .await
        .expect("sqlite");
    let from_a = client_from("127.0.2.1");
    let enroll = |client: reqwest::Client, code: String| {
        let url = h.url("/v1/enroll");
        async move {
            client
                .post(url)
                .json(&serde_json::json!({"code": code, "device_key": uuid::Uuid::new_v4().to_string()}))
                .send()
                .await
                .expect("enroll")
        }
    };
    let mut tokens = Vec::new();
    for user in ["grid-east", "grid-one"] {
        let resp = enroll(from_a.clone(), h.code_for(user).await).await;
        assert_eq!(resp.status(), 200);
        let v: serde_json::Value = resp.json().await.expect("json");
        tokens.push(v["token"].as_str().expect("token").to_string());
    }
    // A third enrollment (even a bad code) from the same address: 429.
    assert_rate_limited(enroll(from_a.clone(), "XXXX-XXXX-XXXX".into()).await).await;
    let code = h.code_for("expert-jincheng").await;
    assert_eq!(
        enroll(client_from("127.0.2.2"), code).await.status(),
        200,
        "another address enrolls"
    );
    // Five requests at once with one token, then the sixth waits a second.
    let pull = |t: &str| {
        h.http
            .get(h.url("/v1/sync/pull?limit=1"))
            .bearer_auth(t)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(pull(&tokens[0]).await.expect("pull").status(), 200);
    }
    let retry = assert_rate_limited(pull(&tokens[0]).await.expect("pull")).await;
    assert_eq!(retry, 1);
    // The other device is not slowed by it.
    assert_eq!(pull(&tokens[1]).await.expect("pull").status(), 200);
    // After Retry-After the first one is served again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(pull(&tokens[0]).await.expect("pull").status(), 200);
    // Unauthenticated endpoints are not counted against a token.
    for _ in 0..10 {
        let r = h
            .http
            .get(h.url("/v1/health"))
            .send()
            .await
            .expect("health");
        assert_eq!(r.status(), 200);
    }
    h.stop().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_hsts_only_under_tls() {
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let officer = officer_session(&h, "科长", TOWN).await;
    for (path, token) in [
        ("/v1/health", None),
        ("/v1/hazards", Some(officer.as_str())),
        ("/v1/no-such-thing", None),
        ("/openapi.json", None),
    ] {
        let mut rb = h.http.get(h.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().await.expect("get");
        let hd = resp.headers();
        assert_eq!(hd["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            hd["content-security-policy"],
            gridwalk_server::http::API_CSP,
            "{path}"
        );
        assert_eq!(hd["x-frame-options"], "DENY", "{path}");
        assert_eq!(hd["referrer-policy"], "no-referrer", "{path}");
        assert!(!hd.contains_key("strict-transport-security"), "{path}");
    }
    // The console's pages keep their own policy (scripts and styles from the server,
    // never framed).
    let page = h
        .http
        .get(h.url("/console/"))
        .send()
        .await
        .expect("console");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    h.stop().await;

    // Under TLS: HSTS on the API and on the console, and the session cookie is Secure.
    let (h, _tls) = tls_harness(ConnLimits::default()).await;
    for path in ["/v1/health", "/console/", "/v1/no-such-thing"] {
        let resp = h.http.get(h.url(path)).send().await.expect("get");
        assert_eq!(
            resp.headers()["strict-transport-security"],
            gridwalk_server::http::HSTS,
            "{path}"
        );
    }
    blocking(&h, |s| {
        s.create_user(
            "科长",
            Role::Officer,
            &gridwalk_core::DivisionCode::parse(TOWN).expect("code"),
        )
        .expect("user");
        s.set_password("科长", PASSWORD).expect("password");
    })
    .await;
    let resp = h
        .http
        .post(h.url("/v1/login"))
        .json(
            &serde_json::json!({"user_name": "科长", "password": PASSWORD, "session_cookie": true}),
        )
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii");
    assert!(cookie.contains("; Secure"), "{cookie}");
    h.stop().await;
}

async fn disable_user_over_http(db: Db) {
    let Some(h) = Harness::start(db).await else {
        eprintln!("SKIPPED ({db:?}): PostgreSQL binaries are not installed");
        return;
    };
    let officer = officer_session(&h, "科长", TOWN).await;
    // A second session of the same officer (another browser).
    let (status, v) = post(
        &h,
        None,
        "/v1/login",
        serde_json::json!({"user_name": "科长", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let second = v["token"].as_str().expect("token").to_string();
    let other = officer_session(&h, "别的科长", TOWN).await;
    let device = h.enroll("grid-east").await;
    let other_device = h.enroll("grid-one").await;
    assert_eq!(h.get(&officer, "/v1/session").await.0, 200);
    assert_eq!(h.get(&device.token, "/v1/sync/pull").await.0, 200);

    let done = blocking(&h, |s| {
        (
            s.disable_user("科长").expect("disable").expect("user"),
            s.disable_user("grid-east").expect("disable").expect("user"),
            s.disable_user("无此人").expect("disable"),
        )
    })
    .await;
    assert_eq!(done.0.sessions_ended, 2);
    assert_eq!(done.1.devices_refused, 1);
    assert!(done.2.is_none());

    // Both sessions end at once; sign-in is refused with the right password only.
    for t in [&officer, &second] {
        let (status, p) = h.get(t, "/v1/session").await;
        assert_eq!(status, 401, "{p}");
    }
    let (status, p) = post(
        &h,
        None,
        "/v1/login",
        serde_json::json!({"user_name": "科长", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (401, Some("account_disabled")),
        "{p}"
    );
    let (status, p) = post(
        &h,
        None,
        "/v1/login",
        serde_json::json!({"user_name": "科长", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (401, Some("unauthenticated")),
        "{p}"
    );
    // The device's token is refused, typed; others are untouched.
    let (status, p) = h.get(&device.token, "/v1/sync/pull").await;
    assert_eq!(
        (status, p["code"].as_str()),
        (401, Some("account_disabled")),
        "{p}"
    );
    let (status, p) = h.push(&device.token, &[]).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (401, Some("account_disabled")),
        "{p}"
    );
    assert_eq!(h.get(&other, "/v1/session").await.0, 200);
    assert_eq!(h.get(&other_device.token, "/v1/sync/pull").await.0, 200);
    // Nor does a code issued to them enroll a new device.
    let code = h.code_for("grid-east").await;
    let (status, p) = post(
        &h,
        None,
        "/v1/enroll",
        serde_json::json!({"code": code, "device_key": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (401, Some("account_disabled")),
        "{p}"
    );

    // Enabled again: sign-in works, the device syncs again (it was not revoked), and
    // the sessions that ended stay ended.
    blocking(&h, |s| {
        assert!(s.enable_user("科长").expect("enable"));
        assert!(s.enable_user("grid-east").expect("enable"));
        assert!(!s.enable_user("无此人").expect("enable"));
    })
    .await;
    assert_eq!(h.get(&officer, "/v1/session").await.0, 401);
    let (status, p) = post(
        &h,
        None,
        "/v1/login",
        serde_json::json!({"user_name": "科长", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(h.get(&device.token, "/v1/sync/pull").await.0, 200);
    h.stop().await;
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_device_tokens_at_once_sqlite() {
    disable_user_over_http(Db::Sqlite).await;
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_device_tokens_at_once_postgres() {
    disable_user_over_http(Db::Postgres).await;
}

const USER_BEFORE_0020: &str = "INSERT INTO app_user (id, name, role, jurisdiction, created_at) \
     VALUES ('u1', '老用户', 'grid_worker', '320413100201', '2026-01-01T00:00:00Z');";

/// A user made before migration 0020 is enabled after it, and can be disabled; on both
/// databases.
#[test]
fn migration_0020_keeps_existing_users_enabled() {
    let check = |store: gridwalk_server::Store| {
        let code = store.issue_enrollment_code("老用户").expect("code");
        let resp = store
            .enroll(&gridwalk_protocol::EnrollRequest {
                code,
                device_key: "k".repeat(32),
                device_name: None,
            })
            .expect("an enabled user enrolls");
        store.authenticate(&resp.token).expect("token works");
        let done = store
            .disable_user("老用户")
            .expect("disable")
            .expect("user");
        assert_eq!(done.devices_refused, 1);
        assert!(store.authenticate(&resp.token).is_err());
    };
    upgrade_both(20, USER_BEFORE_0020, |store, _| check(store));
}
