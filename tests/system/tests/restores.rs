//! Nothing lost, nothing stranded (issue 18): the phone's database restored from an older
//! copy forks in the open; the server's database restored from a backup gets back what it
//! lost at the next sync; an inspection over the server's payload limit is set aside and
//! never blocks the records after it. Each ends with `sync --verify` proving by hash what
//! the server holds.

use gridwalk_system_tests::check::assert_synced;
use gridwalk_system_tests::device::{dust_answers, Device};
use gridwalk_system_tests::fixtures::{corpus_photo, uscc, write_enterprises_csv};
use gridwalk_system_tests::{
    copy_dir, inspections_with_major_hazard, restore_dir, sync_until_done, World,
};
use std::collections::BTreeSet;
use std::path::Path;

const FAST: [&str; 4] = ["--backoff-ms", "50", "--attempts", "3"];

fn verify(d: &Device) -> serde_json::Value {
    let o = d.run(&["--json", "sync", "--verify"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("verify output: {e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(
        o.status.code(),
        Some(if v["verified"] == true { 0 } else { 3 }),
        "{v}"
    );
    v
}

fn record_ids(d: &Device) -> BTreeSet<String> {
    d.chain().into_iter().map(|l| l.record_id).collect()
}

/// The server's branch and fork point of each record, by id.
fn branches(server_db: &Path) -> Vec<(String, i64, Option<i64>)> {
    let db = rusqlite::Connection::open_with_flags(
        server_db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("server db");
    let mut stmt = db
        .prepare("SELECT id, branch, fork_point FROM record ORDER BY seq")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The phone's app data goes back to an older copy (a restore onto a new phone) after
/// the server already holds later records. Its new records reuse positions the server
/// holds: it forks, renumbers them after the server's last position and sends them; the
/// server keeps both branches and marks the fork. Nothing is refused, nothing lost, and
/// `sync --verify` proves the server holds everything on the restored phone.
#[test]
fn a_phone_restored_from_an_older_copy_forks_in_the_open_and_loses_nothing() {
    let w = World::new(3);
    w.enroll(&w.server.url());
    let d = &w.device;
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    sync_until_done(d, &FAST, 3);
    let backup = w.tmp.path().join("phone-backup");
    copy_dir(&d.dir, &backup);
    let before_restore = record_ids(d);

    // Later work reaches the server, then the phone is restored from the backup.
    inspections_with_major_hazard(d, 2);
    sync_until_done(d, &FAST, 3);
    let lost_branch: BTreeSet<String> =
        record_ids(d).difference(&before_restore).cloned().collect();
    assert!(lost_branch.len() >= 5, "{lost_branch:?}");
    restore_dir(&backup, &d.dir);
    assert_eq!(record_ids(d), before_restore);

    // New work on the restored phone: positions the server already holds.
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(3), "李专家");
    d.add_photo(&corpus_photo("gps__DSCN0029.jpg"), &uscc(3), "李专家");
    let (code, report, stderr) = d.sync_once(&FAST);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(report["forked"].as_u64(), Some(2), "{report}");
    assert_eq!(report["rejected"].as_u64(), Some(0), "{report}");

    // The server holds both branches: the lost one as it was, the restored phone's whole.
    let server: BTreeSet<String> = w.server.records().into_iter().map(|r| r.id).collect();
    let mine = record_ids(d);
    assert!(
        mine.is_subset(&server),
        "{:?}",
        mine.difference(&server).collect::<Vec<_>>()
    );
    assert!(lost_branch.is_subset(&server));
    assert_eq!(
        server.len(),
        mine.len() + lost_branch.len(),
        "nothing twice"
    );
    let forked: Vec<_> = branches(&w.server.data.join("server.db"))
        .into_iter()
        .filter(|(id, _, _)| mine.contains(id) && !before_restore.contains(id))
        .collect();
    assert_eq!(forked.len(), 2, "{forked:?}");
    assert!(forked.iter().all(|(_, b, _)| *b == 1), "{forked:?}");
    assert_eq!(
        forked[0].2,
        Some(before_restore.len() as i64),
        "fork point: {forked:?}"
    );
    assert_eq!(forked[1].2, None, "{forked:?}");
    for r in w.server.records() {
        assert_eq!(r.state, "accepted", "{}: {:?}", r.id, r.reject_code);
    }
    let v = verify(d);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["records"].as_u64(), Some(mine.len() as u64), "{v}");
    let status = d.status();
    assert_eq!(status["attention"], serde_json::json!([]), "{status}");
    assert_eq!(status["pending"].as_u64(), Some(0), "{status}");
}

/// The server's database goes back to last night's backup (restored with `admin
/// new-epoch`, as docs/server.md says), and moves to a new address. At the next sync
/// the phone finds by reconciliation what the server lost and sends it again, photos
/// included; its register pull starts over, so an enterprise imported after the restore
/// reaches it. The server ends holding everything exactly once.
#[test]
fn a_server_restored_from_a_backup_gets_back_what_it_lost_at_the_next_sync() {
    let mut w = World::new(2);
    w.enroll(&w.server.url());
    let d = &w.device;
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    sync_until_done(d, &FAST, 3);
    w.server.kill();
    let backup = w.tmp.path().join("server-backup");
    copy_dir(&w.server.data, &backup);
    w.server.restart();
    d.ok(&["config", "set", "server", &w.server.url()]);
    inspections_with_major_hazard(d, 2);
    sync_until_done(d, &FAST, 3);
    assert_synced(d, &w.server);

    w.server.kill();
    restore_dir(&backup, &w.server.data);
    w.server.admin(&["admin", "new-epoch"]);
    let csv = w.tmp.path().join("more-enterprises.csv");
    write_enterprises_csv(&csv, 3);
    w.server
        .admin(&["enterprises", "import", csv.to_str().expect("utf-8 path")]);
    w.server.restart();
    d.ok(&["config", "set", "server", &w.server.url()]);
    let lost = record_ids(d).len() - w.server.records().len();
    assert!(lost >= 5, "the restore lost records: {lost}");

    let (code, report, stderr) = d.sync_once(&FAST);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(report["reconciled"].as_u64(), Some(lost as u64), "{report}");
    assert_synced(d, &w.server);
    let v = verify(d);
    assert_eq!(v["verified"], true, "{v}");
    let db = d.raw_db();
    let third: i64 = db
        .query_row(
            "SELECT count(*) FROM enterprise WHERE uscc = ?1",
            [uscc(3)],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        third, 1,
        "the enterprise imported after the restore reached the phone"
    );
}

/// An inspection finalized offline before the phone knew the server's limit is over it:
/// the phone withholds its payload, the server sets it aside (its link still anchors the
/// chain) and every record after it is delivered. `sync` exits 3 and `status --json`
/// lists it with the server's reason and what to do; `sync --verify` says what is not
/// held. Once the phone knows the limit, an answer that would go over it is refused as
/// it is typed.
#[test]
fn an_inspection_over_the_servers_limit_is_set_aside_and_never_blocks_the_rest() {
    let mut w = World::new(2);
    w.server.serve_args = vec!["--max-payload-kib".into(), "24".into()];
    w.server.restart();
    let d = &w.device;
    let note = "注".repeat(2000);
    let id = d.start(&uscc(1), "dust-verification", "王专家", None);
    for (n, (item, v)) in dust_answers().into_iter().enumerate() {
        if n < 5 {
            d.ok(&["inspect", "answer", &id, item, v, "--note", &note]);
        } else {
            d.ok(&["inspect", "answer", &id, item, v]);
        }
    }
    d.ok(&[
        "inspect",
        "photo",
        &id,
        "DV-22",
        corpus_photo("gps__DSCN0010.jpg").to_str().expect("path"),
    ]);
    d.sign(&id);
    d.ok(&["inspect", "finalize", &id]);
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(2), "李专家");
    w.enroll(&w.server.url());

    let (code, report, stderr) = d.sync_once(&FAST);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(3), "{report} {stderr}");
    assert_eq!(report["done"], true, "{report}");
    let status = d.status();
    let attention = status["attention"].as_array().expect("attention");
    assert_eq!(attention.len(), 1, "{status}");
    assert_eq!(attention[0]["id"], id.as_str(), "{status}");
    assert_eq!(attention[0]["code"], "server.payload_too_large", "{status}");
    assert!(
        attention[0]["action"]
            .as_str()
            .is_some_and(|a| a.contains("size limit")),
        "{status}"
    );
    // Everything after it reached the server.
    let records = w.server.records();
    let set_aside: Vec<_> = records.iter().filter(|r| r.state == "rejected").collect();
    assert_eq!(set_aside.len(), 1, "{records:?}");
    assert_eq!(set_aside[0].id, id);
    assert_eq!(
        set_aside[0].reject_code.as_deref(),
        Some("payload_too_large")
    );
    assert_eq!(records.len(), d.chain().len());
    // A second run still does not say all is well.
    let (code, _, _) = d.sync_once(&FAST);
    assert_eq!(code, Some(3));
    let v = verify(d);
    assert_eq!(v["verified"], false, "{v}");
    let not_held = v["not_held"].as_array().expect("not_held");
    assert_eq!(not_held.len(), 1, "{v}");
    assert_eq!(not_held[0]["id"], id.as_str(), "{v}");

    // The phone now keeps to the server's 24 KiB where the answer is typed.
    let next = d.start(&uscc(2), "dust-verification", "王专家", None);
    let mut refused = None;
    for (n, (item, v)) in dust_answers().into_iter().enumerate() {
        let o = d.run(&["inspect", "answer", &next, item, v, "--note", &note]);
        if !o.status.success() {
            refused = Some((n, String::from_utf8_lossy(&o.stderr).into_owned()));
            break;
        }
    }
    let (n, err) = refused.expect("an answer over the limit is refused");
    assert!(n >= 1, "the first answers fit: refused at {n}");
    assert!(
        err.contains("inspect.payload_too_large") || err.contains("24576"),
        "{err}"
    );
}

/// One phone's database copied onto a second phone (both enrolled as the same device):
/// each keeps working and syncing. Every record of both reaches the server once; the
/// second to sync forks each time the other moved on, and the forks mark it.
#[test]
fn one_database_on_two_phones_loses_neither_phones_records() {
    let w = World::new(2);
    w.enroll(&w.server.url());
    let a = &w.device;
    a.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    sync_until_done(a, &FAST, 3);
    let b_dir = w.tmp.path().join("second-phone");
    copy_dir(&a.dir, &b_dir);
    let b = Device {
        db: b_dir.join("device.db"),
        dir: b_dir,
    };
    for round in 0..3 {
        let photo = [
            "gps__DSCN0021.jpg",
            "gps__DSCN0029.jpg",
            "gps__DSCN0010.jpg",
        ][round];
        a.add_photo(&corpus_photo(photo), &uscc(1), "李专家");
        b.add_photo(&corpus_photo(photo), &uscc(2), "李专家");
        for phone in [a, &b] {
            let (code, report, stderr) = phone.sync_once(&FAST);
            assert_eq!(code, Some(0), "round {round}: {report:?} {stderr}");
        }
    }
    let server: BTreeSet<String> = w.server.records().into_iter().map(|r| r.id).collect();
    let (ra, rb) = (record_ids(a), record_ids(&b));
    assert!(ra.is_subset(&server) && rb.is_subset(&server));
    assert_eq!(server.len(), ra.union(&rb).count(), "each record once");
    let forks = branches(&w.server.data.join("server.db"))
        .into_iter()
        .filter(|(_, _, fork_point)| fork_point.is_some())
        .count();
    assert!(
        forks >= 3,
        "the copies' records are marked as forks: {forks}"
    );
    for phone in [a, &b] {
        let v = verify(phone);
        assert_eq!(v["verified"], true, "{v}");
    }
}

/// The phone forks (restored from an older copy, new work renumbered past the
/// server's positions) and is then restored again, from a copy taken before that fork
/// reached the server. Its records go out at their old positions; the server holds them
/// at the forked ones, answers `duplicate` and names where it holds each, and the phone
/// adopts those positions: `sync --verify` agrees position by position, and the next
/// sync has nothing to send again.
#[test]
fn a_restore_from_before_a_fork_synced_adopts_the_servers_positions() {
    let w = World::new(3);
    w.enroll(&w.server.url());
    let d = &w.device;
    let enrolled = w.tmp.path().join("phone-enrolled");
    copy_dir(&d.dir, &enrolled);
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    sync_until_done(d, &FAST, 3);
    let first_branch = record_ids(d);

    restore_dir(&enrolled, &d.dir);
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(2), "李专家");
    d.add_photo(&corpus_photo("gps__DSCN0029.jpg"), &uscc(2), "李专家");
    let before_fork = w.tmp.path().join("phone-before-fork");
    copy_dir(&d.dir, &before_fork);
    let (code, report, stderr) = d.sync_once(&FAST);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(report["forked"].as_u64(), Some(2), "{report}");

    restore_dir(&before_fork, &d.dir);
    let (code, report, stderr) = d.sync_once(&FAST);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(report["rejected"].as_u64(), Some(0), "{report}");
    let v = verify(d);
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["records_held"].as_u64(), Some(2), "{v}");

    // Each record once on the server, every one accepted; the next sync sends nothing.
    let records = w.server.records();
    let ids: BTreeSet<String> = records.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), records.len(), "nothing twice");
    assert_eq!(records.len(), first_branch.len() + 2, "{records:?}");
    assert!(records.iter().all(|r| r.state == "accepted"), "{records:?}");
    let (code, report, stderr) = d.sync_once(&FAST);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(report["duplicates"].as_u64(), Some(0), "{report}");
    assert_eq!(report["accepted"].as_u64(), Some(0), "{report}");
}

/// Both databases go back: the phone is restored (and forks past the positions its lost
/// copy took), then the server is restored from a backup older than those positions. The
/// server expects positions this phone never held: what is pending continues from there
/// (a fork), and everything on the phone reaches the server.
#[test]
fn a_fork_followed_by_a_server_restore_still_delivers_everything() {
    let mut w = World::new(3);
    w.enroll(&w.server.url());
    w.device
        .add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    sync_until_done(&w.device, &FAST, 3);
    w.server.kill();
    let server_backup = w.tmp.path().join("server-backup");
    copy_dir(&w.server.data, &server_backup);
    w.server.restart();
    w.device.ok(&["config", "set", "server", &w.server.url()]);
    let phone_backup = w.tmp.path().join("phone-backup");
    copy_dir(&w.device.dir, &phone_backup);
    w.device
        .add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(2), "李专家");
    w.device
        .add_photo(&corpus_photo("gps__DSCN0029.jpg"), &uscc(2), "李专家");
    sync_until_done(&w.device, &FAST, 3);
    restore_dir(&phone_backup, &w.device.dir);
    w.device
        .add_photo(&corpus_photo("gps__DSCN0029.jpg"), &uscc(3), "李专家");
    let (code, report, stderr) = w.device.sync_once(&FAST);
    assert_eq!(code, Some(0), "{report:?} {stderr}");

    w.server.kill();
    restore_dir(&server_backup, &w.server.data);
    w.server.admin(&["admin", "new-epoch"]);
    w.server.restart();
    w.device.ok(&["config", "set", "server", &w.server.url()]);
    let (code, report, stderr) = w.device.sync_once(&FAST);
    assert_eq!(code, Some(0), "{report:?} {stderr}");
    let v = verify(&w.device);
    assert_eq!(v["verified"], true, "{v}");
    for r in w.server.records() {
        assert_eq!(r.state, "accepted", "{}: {:?}", r.id, r.reject_code);
    }
}

/// The phone is handed to another user (nothing pending), backed up before that user's
/// first record syncs, and restored after it did. The new user's next records fork from
/// the link this identity started from (the earlier user's last): accepted, not refused
/// as a broken chain; and the earlier user's refused record does not keep the new user's
/// syncs from ending clean.
#[test]
fn a_restore_after_a_handover_forks_from_the_link_the_new_identity_started_from() {
    let w = World::new(2);
    let d = &w.device;
    let url = w.server.url();
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
    w.enroll(&url);
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    // Refused for good (another town): the earlier user's, not the next user's, problem.
    d.add_photo(&corpus_photo("gps__DSCN0029.jpg"), &far, "李专家");
    let (code, _, _) = d.sync_once(&FAST);
    assert_eq!(code, Some(3));
    let other = "网格员小王";
    w.server.admin(&[
        "admin",
        "create-user",
        "--name",
        other,
        "--role",
        "grid_worker",
        "--jurisdiction",
        gridwalk_system_tests::fixtures::VILLAGE,
    ]);
    let out = w
        .server
        .admin(&["admin", "enrollment-code", "--user", other]);
    let code = out.lines().last().expect("code line").trim().to_string();
    d.json(&["enroll", "--server", &url, "--code", &code]);
    let backup = w.tmp.path().join("phone-backup");
    copy_dir(&d.dir, &backup);
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(1), other);
    sync_until_done(d, &FAST, 3);
    restore_dir(&backup, &d.dir);
    d.add_photo(&corpus_photo("gps__DSCN0029.jpg"), &uscc(2), other);
    d.add_photo(&corpus_photo("gps__DSCN0021.jpg"), &uscc(2), other);
    let (code, report, stderr) = d.sync_once(&FAST);
    assert_eq!(code, Some(0), "{report:?} {stderr}\n{}", d.status());
    let report = report.expect("report");
    assert_eq!(report["forked"].as_u64(), Some(2), "{report}");
    let refused: Vec<_> = w
        .server
        .records()
        .into_iter()
        .filter(|r| r.state != "accepted")
        .map(|r| (r.id, r.reject_code))
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "only the first user's far record: {refused:?}"
    );
    let v = verify(d);
    assert_eq!(v["verified"], true, "{v}");
}

/// `gridwalk-server backup --out FILE` while the server runs and phones sync (issue
/// 13): the copy is taken online, the server goes on; later the server is restored from
/// that file (and `admin new-epoch`). At the next sync the phone finds by reconciliation
/// the records taken after the backup and sends them again; the server ends holding
/// every record exactly once, and its photos.
#[test]
fn a_backup_taken_while_serving_restores_and_the_phones_carry_on() {
    let mut w = World::new(2);
    w.enroll(&w.server.url());
    let d = &w.device;
    d.add_photo(&corpus_photo("gps__DSCN0010.jpg"), &uscc(1), "李专家");
    sync_until_done(d, &FAST, 3);
    let backup = w.tmp.path().join("server-backup.db");
    let out = w.server.admin(&[
        "backup",
        "--out",
        backup.to_str().expect("utf-8 path"),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("backup report");
    let held = w.server.records().len();
    assert_eq!(report["records"].as_u64(), Some(held as u64), "{report}");
    // The server went on serving: more work reaches it after the backup.
    inspections_with_major_hazard(d, 2);
    sync_until_done(d, &FAST, 3);
    assert_synced(d, &w.server);
    let after = w.server.records().len();
    assert!(after > held, "records after the backup: {after} > {held}");

    w.server.kill();
    let db = w.server.data.join("server.db");
    for suffix in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(&p);
    }
    std::fs::copy(&backup, &db).expect("restore the backup");
    w.server.admin(&["admin", "new-epoch"]);
    w.server.restart();
    d.ok(&["config", "set", "server", &w.server.url()]);
    assert_eq!(
        w.server.records().len(),
        held,
        "the restored server lost the later records"
    );

    let (code, report, stderr) = d.sync_once(&FAST);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(
        report["reconciled"].as_u64(),
        Some((after - held) as u64),
        "{report}"
    );
    assert_synced(d, &w.server);
    let v = verify(d);
    assert_eq!(v["verified"], true, "{v}");
    // A second backup to the same file is refused: a backup never overwrites one.
    let refused = w
        .server
        .admin_status(&["backup", "--out", backup.to_str().expect("utf-8")]);
    assert!(!refused.0, "overwrote a backup");
    assert!(refused.1.contains("exists already"), "{}", refused.1);
}
