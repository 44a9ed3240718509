//! Evidence tampered with on the phone, as someone holding its files would (issue
//! "Evidence that holds up"): each case is caught on the phone before anything leaves
//! it, or — for a chain re-hashed forward after a sync, which is consistent on the phone
//! — refused by the server that anchors the chain. The real `gridwalk` CLI against the
//! real `gridwalk-server`.

use gridwalk_protocol::chain::link_hash;
use gridwalk_system_tests::device::Device;
use gridwalk_system_tests::fixtures::{corpus_photo, uscc};
use gridwalk_system_tests::{sync_until_done, World};

/// A writable connection to the phone's database with the append-only guard dropped,
/// as an attacker with the files has.
fn tamper(d: &Device) -> rusqlite::Connection {
    let c = d.raw_db();
    c.execute_batch("PRAGMA foreign_keys = OFF; DROP TRIGGER IF EXISTS evidence_chain_no_update;")
        .expect("drop guard");
    c
}

/// One link row: (device, kind, payload hash, at_ms, prev, hash).
type LinkRow = (String, String, String, Option<i64>, String, String);

fn link_row(c: &rusqlite::Connection, seq: i64) -> LinkRow {
    c.query_row(
        "SELECT device_id, kind, payload_sha256, at_ms, prev_hash, hash FROM evidence_chain WHERE seq = ?1",
        [seq],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
    )
    .expect("link")
}

/// Edits photo record `seq`'s frozen payload and gives its link the new payload hash
/// and a recomputed hash; with `forward`, re-hashes every later link too.
fn edit_photo_payload(c: &rusqlite::Connection, seq: i64, forward: bool) {
    let (id, payload): (String, String) = c
        .query_row(
            "SELECT record_id, (SELECT payload FROM photo WHERE id = record_id) FROM evidence_chain WHERE seq = ?1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("photo payload");
    let edited = payload.replacen("\"inspector\":\"", "\"inspector\":\"冒名", 1);
    assert_ne!(edited, payload, "the payload names an inspector");
    let sha = gridwalk_protocol::sha256_hex(edited.as_bytes());
    c.execute(
        "UPDATE photo SET payload = ?1, payload_sha256 = ?2 WHERE id = ?3",
        rusqlite::params![edited, sha, id],
    )
    .expect("edit payload");
    let (device, kind, _, at_ms, prev, _) = link_row(c, seq);
    let hash = link_hash(&device, seq as u64, &kind, &sha, at_ms, &prev);
    c.execute(
        "UPDATE evidence_chain SET payload_sha256 = ?1, hash = ?2 WHERE seq = ?3",
        rusqlite::params![sha, hash, seq],
    )
    .expect("edit link");
    if forward {
        let last: i64 = c
            .query_row("SELECT max(seq) FROM evidence_chain", [], |r| r.get(0))
            .expect("max");
        let mut prev_hash = hash;
        for s in seq + 1..=last {
            let (device, kind, payload_sha, at_ms, _, _) = link_row(c, s);
            let h = link_hash(&device, s as u64, &kind, &payload_sha, at_ms, &prev_hash);
            c.execute(
                "UPDATE evidence_chain SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
                rusqlite::params![prev_hash, h, s],
            )
            .expect("re-hash");
            prev_hash = h;
        }
    }
}

fn photos(d: &Device, n: u32) {
    for i in 0..n {
        d.add_photo(
            &corpus_photo(if i % 2 == 0 {
                "orientation__landscape_6.jpg"
            } else {
                "orientation__landscape_1.jpg"
            }),
            &uscc(1 + i % 2),
            "网格员小王",
        );
    }
}

/// Record ids the server holds of any device.
fn held_ids(w: &World) -> Vec<String> {
    w.server.records().into_iter().map(|r| r.id).collect()
}

fn verify_fails(d: &Device) -> String {
    let out = d.run(&["evidence", "verify"]);
    assert!(!out.status.success(), "evidence verify passed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A finalized payload edited together with its link (not re-hashed forward): `evidence
/// verify` fails, sync exits non-zero with `evidence.chain_broken`, the records on
/// either side of the break and after it stay on the phone, and those before it go.
#[test]
fn a_payload_edited_with_its_link_is_held_back_and_sync_fails() {
    let w = World::new(2);
    let d = &w.device;
    w.enroll(&w.server.url());
    photos(d, 2);
    sync_until_done(d, &[], 10);
    photos(d, 3);
    let chain = d.chain();
    edit_photo_payload(&tamper(d), 3, false);
    let report = verify_fails(d);
    assert!(report.contains("chain"), "{report}");

    let (code, _, stderr) = d.sync_once(&[]);
    assert_ne!(code, Some(0), "sync must not say done: {stderr}");
    let st = d.status();
    assert_eq!(st["last_error"]["code"], "evidence.chain_broken", "{st}");
    let held = held_ids(&w);
    for l in &chain[..3] {
        assert!(
            held.contains(&l.record_id),
            "link {} before the break goes",
            l.seq
        );
    }
    for l in &chain[3..] {
        assert!(
            !held.contains(&l.record_id),
            "link {} on or after the break stays on the phone",
            l.seq
        );
    }
    // Running again changes nothing: the break holds everything after it back.
    let (code, _, _) = d.sync_once(&[]);
    assert_ne!(code, Some(0));
    assert_eq!(held_ids(&w).len(), held.len());
}

/// Two links with their sequence numbers swapped: each no longer hashes to its
/// position, so neither leaves the phone (the intact links before them do).
#[test]
fn two_links_with_swapped_sequence_numbers_are_held_back() {
    let w = World::new(2);
    let d = &w.device;
    w.enroll(&w.server.url());
    photos(d, 4);
    let chain = d.chain();
    {
        let c = tamper(d);
        c.execute_batch(
            "UPDATE evidence_chain SET seq = 1000 WHERE seq = 2;
             UPDATE evidence_chain SET seq = 2 WHERE seq = 3;
             UPDATE evidence_chain SET seq = 3 WHERE seq = 1000;",
        )
        .expect("swap");
    }
    verify_fails(d);
    let (code, _, stderr) = d.sync_once(&[]);
    assert_ne!(code, Some(0), "{stderr}");
    assert_eq!(d.status()["last_error"]["code"], "evidence.chain_broken");
    let held = held_ids(&w);
    for l in &chain[..2] {
        assert!(held.contains(&l.record_id), "intact link {} goes", l.seq);
    }
    for l in &chain[2..] {
        assert!(!held.contains(&l.record_id), "link {} stays", l.seq);
    }
}

/// A record already synced, edited and its chain re-hashed forward: consistent on the
/// phone (verify and the pre-push check pass), but the next record's link follows a
/// head the server never held, so the server refuses it as `chain_broken`.
#[test]
fn a_chain_rehashed_forward_after_sync_is_refused_by_the_server() {
    let w = World::new(2);
    let d = &w.device;
    w.enroll(&w.server.url());
    photos(d, 2);
    sync_until_done(d, &[], 10);
    edit_photo_payload(&tamper(d), 1, true);
    photos(d, 1);
    let out = d.run(&["evidence", "verify"]);
    assert!(
        out.status.success(),
        "a forward re-hash is consistent on the phone: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = d.sync_once(&[]);
    let refused: Vec<_> = w
        .server
        .records()
        .into_iter()
        .filter(|r| r.reject_code.as_deref() == Some("chain_broken"))
        .collect();
    assert_eq!(refused.len(), 1, "the new record is refused: {refused:?}");
    assert_eq!(refused[0].seq, 3);
}

/// A photo file replaced and the hash columns pointing at it edited: `evidence verify`
/// fails, and the server is never told the swapped photo is the record's evidence — it
/// still asks for the photo the frozen payload names.
#[test]
fn a_swapped_photo_fails_verify_and_is_never_the_records_evidence() {
    let w = World::new(2);
    let d = &w.device;
    w.enroll(&w.server.url());
    photos(d, 1);
    let original = d.photos()[0].derived_sha256.clone();
    let swapped_bytes = std::fs::read(corpus_photo("orientation__landscape_1.jpg")).expect("photo");
    let swapped = gridwalk_protocol::sha256_hex(&swapped_bytes);
    std::fs::write(d.photo_file(&swapped), &swapped_bytes).expect("swap file");
    let _ = std::fs::remove_file(d.photo_file(&original));
    {
        let c = tamper(d);
        c.execute(
            "UPDATE photo SET derived_sha256 = ?1",
            rusqlite::params![swapped],
        )
        .expect("edit column");
    }
    let report = verify_fails(d);
    assert!(report.contains("frozen payload"), "{report}");
    let _ = d.sync_once(&[]);
    let records = w.server.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        records[0].photos.iter().cloned().collect::<Vec<_>>(),
        vec![original.clone()],
        "the server requires the photo the payload names"
    );
    assert!(
        w.server.photo(&swapped).is_none(),
        "the swapped photo is not held"
    );
}
