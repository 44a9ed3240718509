//! Enrolling the phone again while its work is pending (issue 18, "nothing lost";
//! docs/sync-client.md, "Enrollment"): for another user it is refused until the work is
//! delivered, and then the same code enrolls it. For the same user the pending work
//! carries over: `sync_loop.rs`,
//! `a_phone_enrolled_again_delivers_the_photos_its_first_identity_left_behind`.

use gridwalk_system_tests::check::assert_synced;
use gridwalk_system_tests::fixtures::{corpus_photo, uscc, EXPERT, VILLAGE};
use gridwalk_system_tests::{sync_until_done, World};

/// A grid worker of the village where the register's enterprises are.
const OTHER: &str = "网格员小王";

#[test]
fn enrolling_for_another_user_waits_until_the_pending_work_is_delivered() {
    let w = World::new(1);
    let d = &w.device;
    let url = w.server.url();
    w.enroll(&url);
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), EXPERT);
    // The record goes up, its photo waits for Wi-Fi: the record is accepted, not
    // complete, and the photo is pending.
    d.ok(&["config", "set", "photos_wifi_only", "true"]);
    let (code, _, stderr) = d.sync_once(&["--network", "cellular"]);
    assert_eq!(code, Some(4), "the photo waits: {stderr}");
    let before = d.status();
    let pending = before["pending"].as_u64().expect("pending");
    assert_eq!(pending, 2, "a record and its photo: {before}");

    w.server.admin(&[
        "admin",
        "create-user",
        "--name",
        OTHER,
        "--role",
        "grid_worker",
        "--jurisdiction",
        VILLAGE,
    ]);
    let out = w
        .server
        .admin(&["admin", "enrollment-code", "--user", OTHER]);
    let code = out.lines().last().expect("code line").trim().to_string();
    let enroll: [&str; 6] = ["--json", "enroll", "--server", &url, "--code", &code];
    let refused = d.run(&enroll);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "refused: {}",
        String::from_utf8_lossy(&refused.stdout)
    );
    let err: serde_json::Value = serde_json::from_slice(&refused.stderr).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&refused.stderr));
    });
    assert_eq!(err["code"], "sync.pending_work_of_another_user", "{err}");
    let message = err["message"].as_str().expect("message");
    for said in [EXPERT, OTHER, "2 records or photos", "same code"] {
        assert!(message.contains(said), "{said:?} in {message}");
    }
    assert_eq!(
        d.status(),
        before,
        "nothing changed: same device id, user, pending work"
    );
    let devices = w.server.devices();
    assert_eq!(
        devices.len(),
        2,
        "the server enrolled the code for this phone"
    );

    // The pending work goes up with the current enrollment, as the message says.
    sync_until_done(d, &["--network", "wifi"], 3);
    assert_synced(d, &w.server);
    assert_eq!(d.status()["pending"].as_u64(), Some(0));

    // Then the same code enrolls the phone for the other user: the device the server
    // made for the code at the first try, no other.
    let enrolled = d.json(&enroll[1..]);
    assert_eq!(enrolled["user"]["name"], OTHER, "{enrolled}");
    let st = d.status();
    assert_eq!(st["user"]["name"], OTHER, "{st}");
    assert_ne!(st["device_id"], before["device_id"]);
    assert_eq!(w.server.devices(), devices, "no new device on the server");
    let other_device = st["device_id"].as_str().expect("device id");
    assert!(devices.iter().any(|id| id == other_device), "{devices:?}");

    // The other user's work goes up under their identity, numbered from 1; the first
    // user's delivered records are not sent again (they are not this identity's), and
    // nothing is refused.
    let before_handover = w.server.records().len();
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(1), OTHER);
    let (code, report, stderr) = d.sync_once(&["--network", "wifi"]);
    assert_eq!(code, Some(0), "{stderr} {report:?}");
    let records = w.server.records();
    assert_eq!(records.len(), before_handover + 1, "{records:?}");
    let mine: Vec<_> = records
        .iter()
        .filter(|r| r.device_id == other_device)
        .collect();
    assert_eq!(mine.len(), 1, "{records:?}");
    assert_eq!((mine[0].seq, mine[0].state.as_str()), (1, "accepted"));
    let st = d.status();
    assert_eq!(st["attention"], serde_json::json!([]), "{st}");
    let v = d.json(&["sync", "--verify"]);
    assert_eq!(
        (v["verified"].as_bool(), v["records"].as_u64()),
        (Some(true), Some(1)),
        "{v}"
    );
}
