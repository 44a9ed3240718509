//! Issue 15 end to end: a device enrolls with a server speaking TLS under a self-signed
//! certificate it was told to trust (`enroll --ca-cert`), syncs a finalized inspection
//! and its photo over HTTPS, and the server holds them; a device that does not trust the
//! certificate cannot enroll. And a device refused with `429 rate_limited` waits the
//! server's `Retry-After` before it asks again, then succeeds.

use gridwalk_system_tests::check::assert_synced;
use gridwalk_system_tests::fixtures::{corpus_photo, uscc};
use gridwalk_system_tests::proxy::Proxy;
use gridwalk_system_tests::{requests, World};
use std::time::Duration;

#[test]
fn a_device_enrolls_and_syncs_over_tls_trusting_the_servers_own_certificate() {
    let mut w = World::new(2);
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("self-signed certificate");
    let crt = w.tmp.path().join("server.crt");
    let key = w.tmp.path().join("server.key");
    std::fs::write(&crt, cert.cert.pem()).expect("write certificate");
    std::fs::write(&key, cert.signing_key.serialize_pem()).expect("write key");
    w.server.serve_args = vec![
        "--tls-cert".into(),
        crt.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
    ];
    w.server.restart();
    let url = w.server.url();
    assert!(url.starts_with("https://localhost:"), "{url}");
    let d = &w.device;

    // Without the certificate: the server cannot be trusted, nothing is enrolled.
    let code = w.server.enrollment_code();
    let o = d.run(&[
        "--json",
        "enroll",
        "--server",
        &url,
        "--code",
        &code,
        "--timeout-secs",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(1), "untrusted certificate");
    let err: serde_json::Value = serde_json::from_slice(&o.stderr).expect("json error");
    assert_eq!(err["code"], "network.untrusted_certificate", "{err}");
    assert_eq!(d.status()["enrolled"], false);

    // Trusting it: enrolled, and the trust is kept for every later sync.
    let o = d.run(&[
        "--json",
        "enroll",
        "--server",
        &url,
        "--code",
        &code,
        "--ca-cert",
        crt.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(e["server"], url.as_str(), "{e}");

    let id = d.dust_verification(&uscc(1), &corpus_photo("orientation__landscape_6.jpg"));
    let (code, summary, stderr) = d.sync_once(&["--timeout-secs", "20"]);
    assert_eq!(code, Some(0), "{summary:?} {stderr}");
    let synced = assert_synced(d, &w.server);
    assert_eq!(
        (synced.inspections, synced.photos > 0),
        (1, true),
        "{synced:?}"
    );
    let held = w.server.records();
    let inspection = held
        .iter()
        .find(|r| r.id == id)
        .expect("the inspection is on the server");
    assert_eq!(inspection.state, "accepted");
    assert_eq!(inspection.photos.len(), 1, "{inspection:?}");
    let verify = d.run(&["sync", "--verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn a_device_refused_429_waits_retry_after_then_enrolls() {
    let mut w = World::new(1);
    // One enrollment a 10 s from an address, six at once.
    w.server.serve_args = vec!["--enroll-per-minute".into(), "6".into()];
    w.server.restart();
    let proxy = Proxy::start(w.server.addr);
    // Someone else on this address (the proxy's, 127.0.0.1) used them all up.
    let http = reqwest::blocking::Client::new();
    let mut limited = None;
    for _ in 0..7 {
        let r = http
            .post(format!("{}/v1/enroll", w.server.url()))
            .json(&serde_json::json!({"code": "XXXX-XXXX-XXXX", "device_key": "k".repeat(32)}))
            .send()
            .expect("enroll");
        if r.status() == 429 {
            limited = r.headers()["retry-after"].to_str().ok().map(str::to_string);
            break;
        }
        assert_eq!(r.status(), 400);
    }
    let retry_after: u64 = limited
        .expect("the seventh enrollment is refused")
        .parse()
        .expect("seconds");
    assert!((5..=10).contains(&retry_after), "{retry_after}");

    let e = w.enroll(&proxy.url());
    assert!(e["device_id"].is_string(), "{e}");
    let log = proxy.log();
    let tries = requests(&log, "POST", "/v1/enroll");
    let statuses: Vec<Option<u16>> = tries.iter().map(|t| t.status).collect();
    // Refused once, then — after the server's Retry-After, not the 1 s backoff — in.
    assert_eq!(statuses, [Some(429), Some(200)], "{statuses:?}");
    let waited = tries[1].at - tries[0].at;
    assert!(
        waited >= Duration::from_secs(retry_after.saturating_sub(2)),
        "waited {waited:?}, Retry-After {retry_after} s"
    );
}
