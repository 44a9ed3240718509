//! 疑似 (suspected) enterprises on the phone (docs/tips.md): pulled entries stored at
//! their latest state and listed for 待办 while open; the grid worker's answer — the
//! unit found (USCC checked, registered on site) or 查无此单位 — written with its
//! `suspected_confirmation` record in one transaction, once, inside the jurisdiction.

mod common;

use common::{count, jintan_store, page, uscc, VILLAGE};
use gridwalk_device::suspected::SuspectedInput;
use gridwalk_device::Store;
use gridwalk_protocol::ChangeKind;
use serde_json::json;

const ENTRY: &str = "01900000-0000-7000-8000-0000000000aa";
const OTHER_VILLAGE_ENTRY: &str = "01900000-0000-7000-8000-0000000000bb";
/// 西城街道, the town of [`VILLAGE`].
const TOWN: &str = "320413001000";
const FOUND: &str = "0000077";

fn entry(id: &str, village: &str, state: &str) -> serde_json::Value {
    json!({"id": id, "name": "无名铝件作坊", "address": "西城街道河滨路8号",
        "village_code": village, "note": "举报核查（12350热线）：夜间打磨铝件",
        "deadline": "2026-12-31", "state": state, "uscc": null})
}

fn pulled() -> (tempfile::TempDir, Store) {
    let (dir, store) = jintan_store();
    let applied = store
        .apply_pull_page(&page(
            vec![
                (ChangeKind::Suspected, ENTRY, entry(ENTRY, VILLAGE, "open")),
                (
                    ChangeKind::Suspected,
                    OTHER_VILLAGE_ENTRY,
                    entry(OTHER_VILLAGE_ENTRY, "320413001002", "open"),
                ),
                (ChangeKind::Suspected, "junk", json!({"id": 1})),
            ],
            "3",
        ))
        .expect("applied");
    assert_eq!((applied.suspected, applied.skipped), (2, 1));
    (dir, store)
}

fn found() -> SuspectedInput {
    SuspectedInput {
        suspected_id: ENTRY.into(),
        found: true,
        uscc: Some(uscc(FOUND)),
        name: Some("金坛区河滨恒达铝制品厂".into()),
        industry: Some("金属制品".into()),
        note: None,
    }
}

#[test]
fn pulled_entries_are_listed_while_open() {
    let (_d, store) = pulled();
    let open = store.suspected_entries(true).expect("list");
    assert_eq!(open.len(), 2, "{open:?}");
    assert_eq!(open[0].address, "西城街道河滨路8号");
    assert!(open[0].note.contains("夜间打磨铝件"));
    // The server says another phone answered it: off the list, still known.
    store
        .apply_pull_page(&page(
            vec![(
                ChangeKind::Suspected,
                ENTRY,
                entry(ENTRY, VILLAGE, "confirmed"),
            )],
            "4",
        ))
        .expect("applied");
    let open = store.suspected_entries(true).expect("list");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].id, OTHER_VILLAGE_ENTRY);
    assert_eq!(store.suspected_entries(false).expect("all").len(), 2);
    let err = store
        .answer_suspected(Some(TOWN), "王网格", &found())
        .expect_err("answered elsewhere");
    assert_eq!(err.code(), "suspected.answered");
}

#[test]
fn the_unit_found_is_registered_on_site_and_its_answer_queued_once() {
    let (_d, store) = pulled();
    let before = count(&store, "SELECT count(*) FROM sync_record");
    let done = store
        .answer_suspected(Some(VILLAGE), "王网格", &found())
        .expect("answered");
    assert_eq!(done.state, "confirmed");
    let unit = store.enterprise(&uscc(FOUND)).expect("registered");
    assert!(unit.registered_on_site);
    assert_eq!(unit.enterprise.village_code.as_str(), VILLAGE);
    assert_eq!(
        unit.enterprise.address.as_deref(),
        Some("西城街道河滨路8号")
    );
    assert_eq!(
        Some(unit.enterprise.id.to_string()),
        done.enterprise_id,
        "{done:?}"
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM sync_record"),
        before + 1
    );
    let recs = store.sync_records(10).expect("records");
    let rec = recs
        .iter()
        .find(|r| r.kind == "suspected_confirmation")
        .expect("the answer's record");
    assert_eq!(rec.chain_kind, "suspected_confirmation");
    assert!(rec.label.contains("疑似单位核实"), "{}", rec.label);
    let payload: String = store
        .connection()
        .query_row("SELECT payload FROM suspected_record", [], |r| r.get(0))
        .expect("payload");
    let record: gridwalk_core::SuspectedConfirmation =
        serde_json::from_str(&payload).expect("parses");
    assert_eq!(record.validate(), Ok(()));
    assert_eq!(record.recorded_by, "王网格");
    assert_eq!(record.village_code.as_str(), VILLAGE);
    let report = store.verify_evidence().expect("verify");
    assert!(
        report.chain_problems.is_empty(),
        "{:?}",
        report.chain_problems
    );
    // Off 待办; a second answer is refused, nothing more queued.
    assert!(store
        .suspected_entries(true)
        .expect("list")
        .iter()
        .all(|e| e.id != ENTRY));
    let err = store
        .answer_suspected(Some(VILLAGE), "王网格", &found())
        .expect_err("once");
    assert_eq!(err.code(), "suspected.answered");
    assert_eq!(
        count(&store, "SELECT count(*) FROM sync_record"),
        before + 1
    );
}

#[test]
fn answers_are_checked_before_anything_is_written() {
    let (_d, store) = pulled();
    let mut bad = found();
    bad.uscc = Some("91320413MA1XY0077X".into());
    let mut no_uscc = found();
    no_uscc.uscc = None;
    let mut no_note = found();
    no_note.found = false;
    no_note.note = Some("  ".into());
    let mut unknown = found();
    unknown.suspected_id = "01900000-0000-7000-8000-0000000000cc".into();
    let mut elsewhere = found();
    elsewhere.suspected_id = OTHER_VILLAGE_ENTRY.into();
    for (input, code) in [
        (bad, "suspected.bad_uscc"),
        (no_uscc, "suspected.bad_input"),
        (no_note, "suspected.bad_input"),
        (unknown, "suspected.unknown"),
        (elsewhere, "suspected.outside_jurisdiction"),
    ] {
        let err = store
            .answer_suspected(Some(VILLAGE), "王网格", &input)
            .expect_err(code);
        assert_eq!(err.code(), code, "{err}");
    }
    assert_eq!(count(&store, "SELECT count(*) FROM suspected_record"), 0);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM enterprise WHERE registered_on_site = 1"
        ),
        0
    );
    // 查无此单位 with a note: no register row, one record.
    let not_found = SuspectedInput {
        suspected_id: ENTRY.into(),
        found: false,
        uscc: None,
        name: None,
        industry: None,
        note: Some("该地址为空置厂房".into()),
    };
    let done = store
        .answer_suspected(Some(TOWN), "王网格", &not_found)
        .expect("not found");
    assert_eq!(
        (done.state.as_str(), done.enterprise_id),
        ("not_found", None)
    );
    assert_eq!(count(&store, "SELECT count(*) FROM suspected_record"), 1);
}
