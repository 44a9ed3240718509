//! The sync loop without faults: enroll, work offline, `sync --once`, and the server holds
//! everything exactly once; a second run sends nothing; the server's address can change;
//! photos can wait for Wi-Fi.

use gridwalk_system_tests::check::{assert_evidence_verifies, assert_synced};
use gridwalk_system_tests::device::Device;
use gridwalk_system_tests::fixtures::{corpus_photo, uscc, EXPERT, TOWN};
use gridwalk_system_tests::proxy::{Fault, Proxy};
use gridwalk_system_tests::{
    inspections_with_major_hazard, pushed_records, requests, sync_until_done, wait_for, KillOnDrop,
    World,
};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn offline_work_syncs_completely_once_and_a_second_run_sends_nothing() {
    let w = World::new(3);
    let d = &w.device;

    let before = d.status();
    assert_eq!(before["enrolled"], false, "{before}");
    assert!(
        before["server"].is_null() && before["user"].is_null(),
        "{before}"
    );
    let (code, _, stderr) = d.sync_once(&[]);
    assert_eq!(
        code,
        Some(1),
        "sync before enrolling is a hard error: {stderr}"
    );

    let e = w.enroll(&w.server.url());
    assert_eq!(e["server"], w.server.url().as_str(), "{e}");
    assert_eq!(e["device_id"].as_str().map(str::len), Some(36), "{e}");
    assert_eq!(e["user"]["name"], EXPERT, "{e}");
    assert_eq!(e["user"]["role"], "expert", "{e}");
    assert_eq!(e["user"]["jurisdiction"], TOWN, "{e}");

    // Offline: two inspections (three photos, a major hazard, its assignment) and a
    // standalone photo of another enterprise.
    let (dust, expert) = inspections_with_major_hazard(d, 1);
    d.add_photo(
        &corpus_photo("orientation__landscape_6.jpg"),
        &uscc(2),
        "网格员小王",
    );
    let chain = d.chain();
    let kinds: Vec<&str> = chain.iter().map(|l| l.kind.as_str()).collect();
    for k in ["photo", "inspection", "hazard_event"] {
        assert!(kinds.contains(&k), "the chain has a {k} record: {kinds:?}");
    }
    let inspections: Vec<&str> = chain
        .iter()
        .filter(|l| l.kind == "inspection")
        .map(|l| l.record_id.as_str())
        .collect();
    assert_eq!(inspections, [dust.as_str(), expert.as_str()]);
    let photos = d.photos();
    assert_eq!(photos.len(), 4);
    let st = d.status();
    assert_eq!(st["enrolled"], true, "{st}");
    assert_eq!(st["device_id"], e["device_id"], "{st}");
    assert_eq!(
        st["records"]["queued"].as_u64(),
        Some(chain.len() as u64),
        "{st}"
    );
    // Four photos and the enterprise's signature (one PNG, signed twice).
    assert_eq!(st["photos"]["queued"].as_u64(), Some(5), "{st}");
    assert!(st["pending"].as_u64() >= Some(chain.len() as u64), "{st}");
    assert!(w.server.records().is_empty());

    let (code, summary, stderr) = d.sync_once(&["--timeout-secs", "10"]);
    assert_eq!(code, Some(0), "{stderr}\n{summary:?}");
    let summary = summary.expect("--json summary");
    eprintln!("first sync: {summary}");
    assert_eq!(summary["done"], true);
    assert_eq!(summary["accepted"].as_u64(), Some(chain.len() as u64));
    assert_eq!(summary["photos_uploaded"].as_u64(), Some(5));
    let synced = assert_synced(d, &w.server);
    let st = d.status();
    assert!(st["last_success_at"].is_string(), "{st}");
    assert!(st["last_error"].is_null(), "{st}");
    assert_evidence_verifies(d);

    // The same server at another address (through a pass-through proxy that watches).
    let proxy = Proxy::start(w.server.addr);
    d.ok(&["config", "set", "server", &proxy.url()]);
    assert_eq!(d.ok(&["config", "get", "server"]).trim(), proxy.url());
    assert_eq!(d.status()["server"], proxy.url().as_str());
    let held = w.server.records();

    let (code, summary, stderr) = d.sync_once(&[]);
    assert_eq!(code, Some(0), "{stderr}\n{summary:?}");
    let summary = summary.expect("summary");
    assert_eq!(summary["accepted"].as_u64(), Some(0), "{summary}");
    assert_eq!(summary["photos_uploaded"].as_u64(), Some(0), "{summary}");
    let log = proxy.log();
    assert!(
        !log.is_empty(),
        "the second run went through the new address"
    );
    assert!(
        pushed_records(&log).is_empty(),
        "nothing pushed again: {:?}",
        pushed_records(&log)
    );
    assert!(
        requests(&log, "POST", "/v1/photos").is_empty(),
        "no upload created"
    );
    assert!(
        requests(&log, "PATCH", "/v1/photos").is_empty(),
        "no photo bytes sent"
    );
    assert_eq!(
        w.server.records(),
        held,
        "the server's records are unchanged"
    );
    let again = assert_synced(d, &w.server);
    assert_eq!(again.records, synced.records);

    // New work after the move travels the new way, and only it.
    d.add_photo(
        &corpus_photo("orientation__portrait_3.jpg"),
        &uscc(3),
        "网格员小王",
    );
    let newest = d.chain().last().expect("link").record_id.clone();
    let (code, summary, stderr) = d.sync_once(&[]);
    assert_eq!(code, Some(0), "{stderr}\n{summary:?}");
    let log = proxy.log();
    let pushed = pushed_records(&log);
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0]["id"], newest.as_str());
    assert_eq!(requests(&log, "POST", "/v1/photos").len(), 1);
    let last = assert_synced(d, &w.server);
    assert_eq!(last.records, synced.records + 1);
    eprintln!(
        "synced {} records ({} inspections), {} photos ({} bytes); second run: {} requests, nothing re-sent",
        synced.records,
        synced.inspections,
        synced.photos,
        synced.photo_bytes,
        log.len()
    );
}

#[test]
fn photos_wait_for_wifi_on_cellular_when_set() {
    let w = World::new(1);
    let d = &w.device;
    let proxy = Proxy::start(w.server.addr);
    w.enroll(&proxy.url());
    d.ok(&["config", "set", "photos_wifi_only", "true"]);
    assert_eq!(d.ok(&["config", "get", "photos_wifi_only"]).trim(), "true");
    assert_eq!(d.status()["photos_wifi_only"], true);
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "网格员小王");

    let (code, summary, stderr) = d.sync_once(&["--network", "cellular"]);
    assert_eq!(code, Some(4), "a photo left to send: {stderr}\n{summary:?}");
    let summary = summary.expect("summary");
    assert_eq!(
        summary["photos_waiting_for_wifi"].as_u64(),
        Some(1),
        "{summary}"
    );
    let log = proxy.log();
    assert_eq!(pushed_records(&log).len(), 1, "the record goes on cellular");
    assert!(
        requests(&log, "POST", "/v1/photos").is_empty(),
        "the photo does not"
    );
    assert!(requests(&log, "PATCH", "").is_empty());
    let records = w.server.records();
    assert_eq!(records.len(), 1);
    let photo = &d.photos()[0].derived_sha256;
    assert!(w.server.photo(photo).is_none());
    let st = d.status();
    assert_eq!(st["records"]["accepted"].as_u64(), Some(1), "{st}");
    assert_eq!(st["photos"]["complete"].as_u64(), Some(0), "{st}");
    assert!(st["pending"].as_u64() > Some(0), "{st}");

    let (code, summary, stderr) = d.sync_once(&["--network", "wifi"]);
    assert_eq!(code, Some(0), "{stderr}\n{summary:?}");
    assert_synced(d, &w.server);

    d.ok(&["config", "set", "photos_wifi_only", "false"]);
    assert_eq!(d.ok(&["config", "get", "photos_wifi_only"]).trim(), "false");
}

#[test]
fn lost_answers_are_recovered_without_doubling_anything() {
    let w = World::new(1);
    let d = &w.device;
    let proxy = Proxy::start(w.server.addr);

    // The server enrolls the device but the answer is lost: the retry with the same
    // device key gets the same device (and a token that works).
    proxy.force("POST", "/v1/enroll", Fault::ResetResponse);
    let e = w.enroll(&proxy.url());
    assert_eq!(proxy.forced_left(), 0);
    assert_eq!(requests(&proxy.log(), "POST", "/v1/enroll").len(), 2);
    assert_eq!(w.server.devices(), [e["device_id"].as_str().expect("id")]);

    inspections_with_major_hazard(d, 1);
    let records = d.chain().len();
    // Each answer lost after the server acted on the request.
    proxy.force("POST", "/v1/sync/push", Fault::ResetResponse);
    proxy.force("POST", "/v1/photos", Fault::Truncate);
    proxy.force("PATCH", "/v1/photos/", Fault::ResetResponse);
    // Twice: when the first lost answer is the whole of a small file (the signature
    // PNG), that upload is complete and nothing is resumed; the second lands mid-photo.
    proxy.force("PATCH", "/v1/photos/", Fault::ResetResponse);
    proxy.force("GET", "/v1/sync/pull", Fault::Truncate);
    proxy.force("HEAD", "/v1/photos/", Fault::ResetResponse);
    let args = [
        "--chunk-kib",
        "32",
        "--backoff-ms",
        "20",
        "--attempts",
        "10",
    ];
    let (code, summary, stderr) = d.sync_once(&args);
    assert_eq!(code, Some(0), "{stderr}\n{summary:?}");
    let summary = summary.expect("summary");
    assert_eq!(
        proxy.forced_left(),
        0,
        "every forced fault was met: {}; left: {}",
        proxy.stats(),
        proxy.forced_pending()
    );
    assert!(
        summary["accepted"].as_u64().unwrap_or(0) + summary["duplicates"].as_u64().unwrap_or(0)
            >= records as u64,
        "{summary}"
    );
    assert!(
        summary["duplicates"].as_u64() >= Some(1),
        "the re-sent push was recognised: {summary}"
    );
    let synced = assert_synced(d, &w.server);
    let stats = proxy.stats();
    let resent = stats.patch_body_bytes - synced.photo_bytes;
    assert!(
        resent <= 32 * 1024,
        "a lost PATCH answer re-sends at most that chunk: {resent} bytes"
    );
    assert_eq!(sync_until_done(d, &[], 1), 1);
    eprintln!("lost answers: {stats}; {resent} photo bytes re-sent; {summary}");
}

#[test]
fn sync_without_once_keeps_delivering_new_work() {
    let w = World::new(2);
    let d = &w.device;
    w.enroll(&w.server.url());
    let _sync = KillOnDrop(
        d.command(&["sync", "--interval-secs", "1", "--backoff-ms", "50"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sync loop"),
    );
    for (n, photo) in ["gps__DSCN0021.jpg", "orientation__portrait_6.jpg"]
        .into_iter()
        .enumerate()
    {
        d.add_photo(&corpus_photo(photo), &uscc(n as u32 + 1), "网格员小王");
        let sha = d.photos().pop().expect("photo").derived_sha256;
        assert!(
            wait_for(Duration::from_secs(30), || w.server.records().len()
                == n + 1
                && w.server.photo(&sha).is_some()),
            "the loop delivered photo {} within 30 s: {}",
            n + 1,
            d.status()
        );
    }
    assert!(wait_for(Duration::from_secs(10), || d.status()["pending"] == 0));
    assert_synced(d, &w.server);
}

#[test]
fn a_revoked_device_stops_with_a_hard_error() {
    let w = World::new(1);
    let d = &w.device;
    let e = w.enroll(&w.server.url());
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    w.server.admin(&[
        "admin",
        "revoke-device",
        e["device_id"].as_str().expect("id"),
    ]);
    let (code, _, stderr) = d.sync_once(&["--backoff-ms", "20"]);
    assert_eq!(
        code,
        Some(1),
        "revoked: a hard error, not a retry: {stderr}"
    );
    let st = d.status();
    // The CLI namespaces codes (`server.device_revoked`).
    let code = st["last_error"]["code"].as_str().unwrap_or_default();
    assert!(code.ends_with("device_revoked"), "{st}");
    assert!(w.server.records().is_empty());
}

/// An expert's photo of an enterprise in another town is refused for good
/// (`forbidden_jurisdiction`): the run ends with nothing left to send, and the photo file
/// only that record referenced is not counted as pending (it is `rejected`); but sync
/// does not say all is well: it exits 3 and `status` lists both with the reason.
#[test]
fn a_rejected_record_ends_the_run_done_but_not_clean() {
    let w = World::new(1);
    let d = &w.device;
    let far = uscc(900);
    let csv = w.tmp.path().join("rulin.csv");
    std::fs::write(
        &csv,
        format!("name,uscc,village_code,dust_types,workers_per_shift\n儒林木业厂,{far},320413104001,木粉,5\n"),
    )
    .expect("csv");
    let csv = csv.to_str().expect("utf-8");
    w.server.admin(&["enterprises", "import", csv]);
    d.ok(&["enterprises", "import", csv]);
    w.enroll(&w.server.url());
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &far, "李专家");
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(1), "李专家");

    let (code, summary, stderr) = d.sync_once(&["--backoff-ms", "20"]);
    assert_eq!(
        code,
        Some(3),
        "rejected: done, but needs attention: {stderr}\n{summary:?}"
    );
    let summary = summary.expect("summary");
    assert_eq!(summary["done"], true, "{summary}");
    assert_eq!(summary["needs_attention"].as_u64(), Some(2), "{summary}");
    assert_eq!(summary["rejected"].as_u64(), Some(1), "{summary}");
    assert_eq!(summary["accepted"].as_u64(), Some(1), "{summary}");
    let records = w.server.records();
    assert_eq!(records.len(), 2);
    let rejected = &records[0];
    assert_eq!(rejected.id, d.chain()[0].record_id);
    assert_eq!(rejected.state, "rejected");
    assert_eq!(
        rejected.reject_code.as_deref(),
        Some("forbidden_jurisdiction")
    );
    assert_eq!(records[1].state, "accepted");
    let photos = d.photos();
    assert!(w.server.photo(&photos[0].derived_sha256).is_none());
    assert!(w.server.photo(&photos[1].derived_sha256).is_some());
    let st = d.status();
    assert_eq!(st["records"]["rejected"].as_u64(), Some(1), "{st}");
    assert_eq!(st["records"]["complete"].as_u64(), Some(1), "{st}");
    assert_eq!(
        st["pending"].as_u64(),
        Some(0),
        "nothing left to send: {st}"
    );
    assert_eq!(st["photos"]["queued"].as_u64(), Some(0), "{st}");
    let attention = st["attention"].as_array().expect("attention");
    assert_eq!(
        attention
            .iter()
            .map(|a| (a["item"].as_str(), a["code"].as_str()))
            .collect::<Vec<_>>(),
        [
            (Some("record"), Some("server.forbidden_jurisdiction")),
            (Some("photo"), Some("server.record_rejected"))
        ],
        "{st}"
    );
    assert_eq!(attention[0]["id"], rejected.id.as_str());
    assert!(
        attention[0]["action"]
            .as_str()
            .is_some_and(|a| a.contains("jurisdiction")),
        "{st}"
    );
    assert_eq!(st["last_error"]["code"], "sync.needs_attention", "{st}");

    let (code, _, stderr) = d.sync_once(&[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert_eq!(w.server.records().len(), 2);
}

#[test]
fn transient_failures_back_off_exponentially_then_exit_4() {
    let w = World::new(1);
    let d = &w.device;
    let proxy = Proxy::start(w.server.addr);
    w.enroll(&proxy.url());
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");

    // Every pass fails at its pull: 4 passes, 3 backoffs from 200 ms, doubling.
    for _ in 0..4 {
        proxy.force("GET", "/v1/sync/pull", Fault::Unavailable);
    }
    let (code, summary, stderr) = d.sync_once(&["--attempts", "4", "--backoff-ms", "200"]);
    assert_eq!(
        code,
        Some(4),
        "work remains after the attempts: {stderr}\n{summary:?}"
    );
    let summary = summary.expect("summary");
    assert_eq!(summary["passes"].as_u64(), Some(4), "{summary}");
    assert_eq!(proxy.forced_left(), 0);
    let log = proxy.log();
    let pulls = requests(&log, "GET", "/v1/sync/pull");
    assert_eq!(pulls.len(), 4);
    for (i, pair) in pulls.windows(2).enumerate() {
        let gap = pair[1].at - pair[0].at;
        let least = Duration::from_millis(100 << i); // 200 ms × 2^i × (1 - 50 % jitter)
        assert!(gap >= least, "backoff {i}: {gap:?} < {least:?}");
    }
    let st = d.status();
    assert_eq!(st["last_error"]["code"], "server.unavailable", "{st}");
    // A failing pull does not hold back the data or the photo: both got through.
    assert_eq!(st["pending"].as_u64(), Some(0), "{st}");
    assert_eq!(st["records"]["complete"].as_u64(), Some(1), "{st}");

    // A server that cannot be reached at all is transient too.
    d.ok(&["config", "set", "server", "http://127.0.0.1:1"]);
    let (code, _, stderr) = d.sync_once(&["--attempts", "2", "--backoff-ms", "10"]);
    assert_eq!(
        code,
        Some(4),
        "connection refused: retry later, not a hard error: {stderr}"
    );

    d.ok(&["config", "set", "server", &proxy.url()]);
    let (code, _, stderr) = d.sync_once(&["--backoff-ms", "10"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_synced(d, &w.server);
}

#[test]
fn register_changes_on_the_server_reach_the_device_within_its_jurisdiction() {
    let w = World::new(1);
    let d = &w.device;
    w.enroll(&w.server.url());
    let (near, far) = (uscc(2), uscc(901));
    let csv = w.tmp.path().join("more.csv");
    std::fs::write(
        &csv,
        format!(
            "name,uscc,village_code,dust_types,workers_per_shift\n\
             金坛新登记抛光厂,{near},320413001001,铝粉,12\n\
             儒林木业厂,{far},320413104001,木粉,5\n"
        ),
    )
    .expect("csv");
    w.server
        .admin(&["enterprises", "import", csv.to_str().expect("utf-8")]);
    assert!(!d.run(&["enterprises", "show", &near]).status.success());

    let (code, summary, stderr) = d.sync_once(&[]);
    assert_eq!(code, Some(0), "{stderr}\n{summary:?}");
    let shown = d.json(&["enterprises", "show", &near]);
    assert!(shown.to_string().contains("金坛新登记抛光厂"), "{shown}");
    assert!(
        !d.run(&["enterprises", "show", &far]).status.success(),
        "another town's enterprise is not sent to this expert"
    );

    // Work on the pulled enterprise goes back complete.
    inspections_with_major_hazard(d, 2);
    let (code, _, stderr) = d.sync_once(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_synced(d, &w.server);
}

/// The campaign's follow-up across phones: a hazard found and assigned on one phone is
/// pulled by a second phone of the town's expert team, which re-inspects and closes it;
/// the first phone then sees it closed. Neither phone pushes the other's events back,
/// and the server holds every event once.
#[test]
fn a_hazard_found_on_one_phone_is_followed_up_on_another_and_both_see_it_closed() {
    let w = World::new(2);
    let a = &w.device;
    let url = w.server.url();
    w.enroll(&url);
    let (_, expert) = inspections_with_major_hazard(a, 1);
    sync_until_done(a, &[], 10);
    let hazard = a
        .hazards()
        .into_iter()
        .find(|h| h["inspection_id"] == expert.as_str())
        .expect("hazard on phone A");
    let hid = hazard["id"].as_str().expect("id").to_string();

    let b = Device::new(&w.tmp.path().join("phone-b"), 2);
    b.enroll(&url, &w.server.enrollment_code());
    sync_until_done(&b, &[], 10);
    let seen = b
        .hazards()
        .into_iter()
        .find(|h| h["id"] == hid.as_str())
        .unwrap_or_else(|| panic!("phone B did not pull hazard {hid}: {:?}", b.hazards()));
    assert_eq!(seen["state"], "assigned", "{seen}");
    assert_eq!(seen["assignee"], "企业张三", "{seen}");
    assert_eq!(seen["severity"], "major", "{seen}");
    assert!(
        seen["enterprise_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{seen}"
    );
    let b_pending = b.status()["pending"].as_u64();
    assert_eq!(b_pending, Some(0), "pulled events are not queued on B");

    b.ok(&["hazards", "start", &hid, "--actor", "李专家"]);
    let after = corpus_photo("orientation__landscape_1.jpg");
    b.ok(&[
        "hazards",
        "reinspect",
        &hid,
        "--passed",
        "--photo",
        after.to_str().expect("utf-8"),
        "--actor",
        "李专家",
    ]);
    b.ok(&["hazards", "close", &hid, "--actor", "李专家"]);
    sync_until_done(&b, &[], 10);

    let events_on_server = |device: &str| {
        w.server
            .records()
            .into_iter()
            .filter(|r| r.kind == "hazard_event" && r.device_id == device)
            .count()
    };
    let b_id = b.status()["device_id"].as_str().expect("B id").to_string();
    let a_id = a.status()["device_id"].as_str().expect("A id").to_string();
    assert_eq!(
        events_on_server(&b_id),
        3,
        "B's start, re-inspection, close"
    );
    let a_events = events_on_server(&a_id);

    let a_records_before = a.status()["records"].clone();
    sync_until_done(a, &[], 10);
    let closed = a
        .hazards()
        .into_iter()
        .find(|h| h["id"] == hid.as_str())
        .expect("hazard still on A");
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(
        a.status()["hazard_events_waiting"],
        0,
        "every event of B applied on A"
    );
    assert_eq!(
        a.status()["records"],
        a_records_before,
        "A queued nothing for B's events"
    );
    assert_eq!(events_on_server(&a_id), a_events, "A pushed no event twice");
    assert_eq!(events_on_server(&b_id), 3);
    // Each phone's records on the server are exactly its own chain, once each.
    let records = w.server.records();
    for (phone, id) in [(a, &a_id), (&b, &b_id)] {
        let mut held: Vec<String> = records
            .iter()
            .filter(|r| &r.device_id == id)
            .map(|r| r.id.clone())
            .collect();
        held.sort();
        let mut chain: Vec<String> = phone.chain().into_iter().map(|l| l.record_id).collect();
        chain.sort();
        assert_eq!(held, chain, "device {id}");
        assert_eq!(phone.status()["pending"].as_u64(), Some(0), "device {id}");
    }
    assert_evidence_verifies(a);
    assert_evidence_verifies(&b);
}

/// A phone enrolled anew for the same person (the app reinstalled on its data, a
/// revoked phone re-enrolled) after its first identity pushed records but, on cellular
/// with photos set to wait for Wi-Fi, no photos: the new identity pushes its chain again
/// (duplicates, nothing doubled), then delivers the photos, and everything completes.
#[test]
fn a_phone_enrolled_again_delivers_the_photos_its_first_identity_left_behind() {
    let w = World::new(1);
    let d = &w.device;
    let url = w.server.url();
    w.enroll(&url);
    d.ok(&["config", "set", "photos_wifi_only", "true"]);
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "网格员小王");
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(1), "网格员小王");
    let (code, _, stderr) = d.sync_once(&["--network", "cellular"]);
    assert_eq!(code, Some(4), "photos wait for Wi-Fi: {stderr}");
    let first_id = d.status()["device_id"].as_str().expect("id").to_string();
    assert_eq!(w.server.records().len(), 2);

    let again = d.enroll(&url, &w.server.enrollment_code());
    let second_id = d.status()["device_id"].as_str().expect("id").to_string();
    assert_ne!(first_id, second_id, "a new identity: {again}");
    let runs = sync_until_done(d, &["--network", "wifi"], 5);
    assert!(runs <= 2, "{runs} runs");

    let records = w.server.records();
    assert_eq!(records.len(), 2, "no record stored twice");
    assert!(records.iter().all(|r| r.device_id == first_id));
    for p in d.photos() {
        let held = w
            .server
            .photo(&p.derived_sha256)
            .expect("photo on the server");
        let local = std::fs::read(d.photo_file(&p.derived_sha256)).expect("local photo");
        assert_eq!(held, local, "byte-identical");
    }
    let st = d.status();
    assert_eq!(st["pending"].as_u64(), Some(0), "{st}");
    assert_eq!(st["records"]["complete"].as_u64(), Some(2), "{st}");
}

/// Enrolling with another server while records or photos still wait for the current one
/// would send them there instead: without `--switch-server` it is refused with a typed
/// error and the enrollment stays as it was; with it, the phone moves.
#[test]
fn enrolling_with_another_server_while_work_waits_needs_a_confirmation() {
    let w = World::new(1);
    let d = &w.device;
    let url = w.server.url();
    w.enroll(&url);
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "网格员小王");
    let other_dir = w.tmp.path().join("other");
    std::fs::create_dir_all(&other_dir).expect("other server dir");
    let other = gridwalk_system_tests::server::Server::with_register(&other_dir, 1);
    let code = other.enrollment_code();
    let out = d.run(&[
        "--json",
        "enroll",
        "--server",
        &other.url(),
        "--code",
        &code,
    ]);
    assert!(!out.status.success(), "moved without a confirmation");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("sync.switch_server_unconfirmed"), "{said}");
    assert_eq!(
        d.status()["server"],
        url.as_str(),
        "still enrolled with the first"
    );
    d.ok(&[
        "enroll",
        "--server",
        &other.url(),
        "--code",
        &code,
        "--switch-server",
    ]);
    assert_eq!(d.status()["server"], other.url().as_str());
}
