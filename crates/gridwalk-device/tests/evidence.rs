//! Photo evidence and the device's hash chain on a real database and real files.

mod common;

use chrono::{DateTime, FixedOffset};
use common::{jintan_store, testdata, uscc, write, VILLAGE};
use gridwalk_device::evidence::{EvidenceError, PhotoInput};
use gridwalk_device::Store;
use gridwalk_evidence::chain::ChainProblem;
use gridwalk_evidence::stamp::{GpsStamp, StampFlag, StampSource};
use uuid::Uuid;

fn t() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-02T09:31:05+08:00").expect("time")
}

fn stamp(lat: f64, lon: f64) -> GpsStamp {
    GpsStamp {
        lat,
        lon,
        accuracy_m: Some(6.0),
        altitude_m: None,
        fix_time: Some(t().to_utc()),
        device_time: t(),
        provider: "gps".into(),
        satellites: Some(9),
        mock_location: false,
        source: StampSource::Device,
    }
}

/// A store with one enterprise registered at 31.74, 119.56.
fn store_with_enterprise() -> (tempfile::TempDir, Store, Uuid) {
    let (dir, store) = jintan_store();
    let code = uscc("3000001");
    let csv = write(
        dir.path(),
        "e.csv",
        &format!(
            "name,uscc,village_code,lat,lon\n金坛新城铝业有限公司,{code},{VILLAGE},31.74,119.56\n"
        ),
    );
    store.import_enterprises(&csv).expect("import");
    let id = store.enterprise(&code).expect("enterprise").enterprise.id;
    (dir, store, id)
}

fn photo(name: &str, enterprise: Option<Uuid>, stamp: Option<GpsStamp>) -> PhotoInput {
    PhotoInput {
        path: testdata().join("photos").join(name),
        enterprise_id: enterprise,
        inspector: "王网格".into(),
        device_time: t(),
        stamp,
    }
}

#[test]
fn a_photo_taken_at_the_enterprise_is_stored_on_site_and_verifies() {
    let (_dir, store, id) = store_with_enterprise();
    let rec = store
        .add_photo(&photo(
            "orientation__portrait_6.jpg",
            Some(id),
            Some(stamp(31.7405, 119.5603)),
        ))
        .expect("add");
    assert_eq!(rec.off_site, Some(false));
    assert_eq!(rec.chain_seq, 0);
    assert!(rec.derived_path.exists() && rec.thumbnail_path.exists() && rec.original_path.exists());
    assert_eq!(
        std::fs::read(&rec.original_path).expect("original"),
        std::fs::read(testdata().join("photos/orientation__portrait_6.jpg")).expect("input"),
        "the original is kept byte for byte"
    );
    let report = store.verify_evidence().expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!((report.links, report.photos), (1, 1));
}

#[test]
fn a_photo_two_kilometres_away_is_flagged_off_site_but_kept() {
    let (_dir, store, id) = store_with_enterprise();
    let rec = store
        .add_photo(&photo(
            "orientation__landscape_1.jpg",
            Some(id),
            Some(stamp(31.76, 119.56)),
        ))
        .expect("add");
    assert_eq!(rec.off_site, Some(true));
    assert!(rec.payload.onsite.is_some_and(|o| o.distance_m > 2000.0));
}

#[test]
fn without_a_device_fix_the_photo_exif_position_is_used_and_marked() {
    let (_dir, store) = jintan_store();
    let rec = store
        .add_photo(&photo("gps__DSCN0010.jpg", None, None))
        .expect("add");
    let s = rec.payload.stamp.as_ref().expect("exif stamp");
    assert_eq!(s.source, StampSource::ExifFallback);
    assert!(rec.payload.stamp_flags.contains(&StampFlag::ExifFallback));
}

#[test]
fn bad_photos_and_impossible_positions_store_nothing() {
    let (dir, store, id) = store_with_enterprise();
    store
        .add_photo(&photo("orientation__landscape_3.jpg", Some(id), None))
        .expect("a good one first");
    let empty = write(dir.path(), "empty.jpg", "");
    let err = store
        .add_photo(&PhotoInput {
            path: empty,
            ..photo("x", Some(id), None)
        })
        .expect_err("empty refused");
    assert!(matches!(err, EvidenceError::Photo(_)), "{err}");
    let err = store
        .add_photo(&photo(
            "orientation__landscape_8.jpg",
            Some(id),
            Some(stamp(f64::NAN, 119.5)),
        ))
        .expect_err("NaN refused");
    assert!(matches!(err, EvidenceError::Stamp(_)), "{err}");
    let report = store.verify_evidence().expect("verify");
    assert!(report.ok);
    assert_eq!((report.links, report.photos), (1, 1));
}

#[test]
fn a_deleted_record_shows_as_a_gap_and_an_altered_file_is_named() {
    let (_dir, store, id) = store_with_enterprise();
    let mut recs = Vec::new();
    for name in [
        "orientation__landscape_1.jpg",
        "orientation__landscape_3.jpg",
        "orientation__landscape_6.jpg",
    ] {
        recs.push(store.add_photo(&photo(name, Some(id), None)).expect("add"));
    }
    let conn = store.connection();
    conn.execute("DELETE FROM photo WHERE chain_seq = 1", [])
        .expect("delete row");
    // The outbox row references the link; a tamperer removes both.
    conn.execute("DELETE FROM sync_record WHERE chain_seq = 1", [])
        .expect("delete outbox row");
    conn.execute("DELETE FROM evidence_chain WHERE seq = 1", [])
        .expect("delete link");
    std::fs::write(&recs[2].derived_path, b"replaced").expect("tamper file");
    let report = store.verify_evidence().expect("verify");
    assert!(!report.ok);
    assert!(
        report.chain_problems.iter().any(|p| matches!(
            p,
            ChainProblem::SeqGap { .. } | ChainProblem::BrokenLink { .. }
        )),
        "{:?}",
        report.chain_problems
    );
    assert!(
        report.record_problems.iter().any(|p| p.contains("altered")),
        "{:?}",
        report.record_problems
    );
}

#[test]
fn chain_rows_cannot_be_updated() {
    let (_dir, store, id) = store_with_enterprise();
    store
        .add_photo(&photo("orientation__landscape_1.jpg", Some(id), None))
        .expect("add");
    let err = store
        .connection()
        .execute("UPDATE evidence_chain SET kind = 'x' WHERE seq = 0", [])
        .expect_err("append-only");
    assert!(err.to_string().contains("append-only"));
}

#[test]
fn sweeping_removes_orphan_files_and_keeps_recorded_ones() {
    let (_dir, store, id) = store_with_enterprise();
    let rec = store
        .add_photo(&photo("orientation__landscape_1.jpg", Some(id), None))
        .expect("add");
    let orphan = store.photo_dir().join(format!("{}.jpg", "ab".repeat(32)));
    std::fs::write(&orphan, b"left by a crash").expect("orphan");
    assert_eq!(store.sweep_photo_dir().expect("sweep"), 1);
    assert!(!orphan.exists());
    assert!(rec.derived_path.exists());
    assert!(store.verify_evidence().expect("verify").ok);
}

#[test]
fn every_device_database_gets_its_own_id() {
    let (_d1, a) = jintan_store();
    let (_d2, b) = jintan_store();
    let id = a.device_id().expect("id");
    assert_ne!(id, b.device_id().expect("id"));
    let path = a.path().to_path_buf();
    drop(a);
    assert_eq!(
        Store::open(path).expect("reopen").device_id().expect("id"),
        id,
        "stable across opens"
    );
}

/// Two programs on one phone database (the sync loop and a command that adds a photo):
/// a transaction that reads first (the chain's last link) and writes after waits for the
/// other program's write instead of failing with "database is locked" (CI saw exactly
/// that while `gridwalk sync` ran beside `gridwalk photo add`).
#[test]
fn a_transaction_that_reads_then_writes_waits_for_another_programs_write() {
    let (_dir, store) = jintan_store();
    let other = Store::open(store.path()).expect("a second program's connection");
    store
        .connection()
        .execute_batch("CREATE TABLE probe (n INTEGER NOT NULL)")
        .expect("probe table");
    let tx = store.connection().unchecked_transaction().expect("begin");
    let before: i64 = tx
        .query_row("SELECT count(*) FROM probe", [], |r| r.get(0))
        .expect("read first");
    let writer = std::thread::spawn(move || {
        other
            .connection()
            .execute("INSERT INTO probe (n) VALUES (1)", [])
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    tx.execute("INSERT INTO probe (n) VALUES (?1)", [before + 10])
        .expect("the write after the read is not refused");
    tx.commit().expect("commit");
    writer
        .join()
        .expect("writer thread")
        .expect("the other program's write waited for ours and then went in");
    let rows: Vec<i64> = {
        let mut st = store
            .connection()
            .prepare("SELECT n FROM probe ORDER BY rowid")
            .expect("select");
        st.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(
        rows,
        vec![10, 1],
        "ours first (it held the lock), then the other"
    );
}
