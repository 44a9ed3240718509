//! The sync outbox and pull, without a server: what is queued, how it is enveloped,
//! and how pulled pages apply (the HTTP side is tested against a real server in
//! `tests/system` and `src-tauri/tests/ipc.rs`).

mod common;

use common::{jintan_store, testdata, uscc, write, HEADER, VILLAGE};
use gridwalk_device::evidence::PhotoInput;
use gridwalk_device::migrations::latest_version;
use gridwalk_device::Store;
use gridwalk_protocol::{Change, ChangeKind, PullPage};
use serde_json::json;
use uuid::Uuid;

fn photo_input(name: &str, enterprise: Uuid) -> PhotoInput {
    PhotoInput {
        path: testdata().join("photos").join(name),
        enterprise_id: Some(enterprise),
        inspector: "王网格".into(),
        device_time: chrono::DateTime::parse_from_rfc3339("2026-03-02T10:15:00+08:00")
            .expect("time"),
        stamp: None,
    }
}

fn one_enterprise(store: &Store, dir: &std::path::Path) -> Uuid {
    let csv = write(
        dir,
        "e.csv",
        &format!(
            "{HEADER}\n金坛铝业有限公司,{},{VILLAGE},,,,,铝粉,20,\n",
            uscc("0000001")
        ),
    );
    store.import_enterprises(&csv).expect("import");
    store
        .enterprise(&uscc("0000001"))
        .expect("show")
        .enterprise
        .id
}

#[test]
fn every_chain_link_and_photo_file_is_queued_with_it() {
    let (dir, store) = jintan_store();
    let id = one_enterprise(&store, dir.path());
    let s = store.sync_status().expect("status");
    assert_eq!((s.records.queued, s.photos.queued, s.pending), (0, 0, 0));
    assert!(!s.enrolled);
    let a = store
        .add_photo(&photo_input("orientation__landscape_1.jpg", id))
        .expect("photo");
    store
        .add_photo(&photo_input("orientation__landscape_3.jpg", id))
        .expect("photo");
    let s = store.sync_status().expect("status");
    assert_eq!(s.records.queued, 2);
    assert_eq!(s.photos.queued, 2);
    assert!(s.photos.bytes_total > 0);
    assert_eq!(s.photos.bytes_done, 0);
    assert_eq!(s.pending, 4);
    let list = store.sync_records(10).expect("records");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].seq, 2, "newest first; wire seq = chain seq + 1");
    assert_eq!(list[1].id, a.payload.id.to_string());
    assert_eq!(list[1].kind, "evidence");
    assert_eq!(list[1].chain_kind, "photo");
    assert_eq!(list[1].label, "金坛铝业有限公司");
    assert_eq!(list[1].photos_total, 1);
    assert_eq!(
        store
            .record_sync_state(&a.payload.id.to_string())
            .expect("state")
            .map(|s| s.as_str()),
        Some("queued")
    );
}

#[test]
fn a_database_from_before_the_outbox_queues_its_existing_records_on_upgrade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("device.db");
    {
        let old = Store::open_at_version(&path, 5).expect("schema 5");
        old.import_divisions(&testdata().join("divisions/jintan.csv"))
            .expect("divisions");
        let id = one_enterprise(&old, dir.path());
        old.add_photo(&photo_input("orientation__landscape_6.jpg", id))
            .expect("photo");
    }
    let store = Store::open(&path).expect("upgrade");
    assert_eq!(store.schema_version().expect("v"), latest_version());
    let s = store.sync_status().expect("status");
    assert_eq!((s.records.queued, s.photos.queued), (1, 1));
}

fn page(changes: Vec<(ChangeKind, &str, serde_json::Value)>, next: &str) -> PullPage {
    PullPage {
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, (kind, key, body))| Change {
                cursor: (i + 1).to_string(),
                kind,
                key: key.into(),
                body,
            })
            .collect(),
        next_cursor: next.into(),
        has_more: false,
    }
}

#[test]
fn a_pulled_page_applies_whole_with_its_cursor_or_not_at_all() {
    let (dir, store) = jintan_store();
    let landlord = one_enterprise(&store, dir.path());
    let tenant_uscc = uscc("0000002");
    let tenant =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&tenant_uscc).expect("uscc"));
    let site = Uuid::now_v7();
    let enterprise = json!({
        "id": tenant, "uscc": tenant_uscc, "name": "金坛新城木业有限公司", "address": null,
        "village_code": VILLAGE, "location": null, "industry": null, "dust_involved": true,
        "dust_types": ["木粉"], "workers_per_shift": 6, "al_mg": false,
        "key_supervision": false, "safety_officer": null, "risk_report": "unknown",
        "warning_education": "not_done", "village_name": "河滨居委会", "town_name": "西城街道",
        "sites_as_landlord": [],
        "leases_as_tenant": [{"id": Uuid::now_v7(), "site_id": site, "tenant_id": tenant,
            "floors": "2", "area_m2": 300.0, "start_date": null, "end_date": null,
            "equipment_leased": false, "equipment_description": null,
            "safety_agreement_signed": null, "tenant_name": "x", "tenant_uscc": tenant_uscc,
            "site_name": "1号厂房", "landlord_name": "y"}]
    });
    let landlord_body = {
        let mut v = serde_json::to_value(store.enterprise(&landlord.to_string()).expect("e"))
            .expect("json");
        v["sites_as_landlord"] = json!([{"id": site, "name": "1号厂房", "address": null,
            "landlord_id": landlord, "storeys": 3, "structure": null, "leases": []}]);
        v
    };
    // A broken change anywhere in the page: nothing of it is applied, cursor unchanged.
    let bad = page(
        vec![
            (ChangeKind::Enterprise, "t", enterprise.clone()),
            (ChangeKind::Division, "d", json!({"code": "nope"})),
        ],
        "2",
    );
    let err = store.apply_pull_page(&bad).expect_err("bad division");
    assert_eq!(err.code(), "server.malformed_change");
    assert_eq!(store.pull_cursor().expect("cursor"), "");
    assert!(store.enterprise(&tenant_uscc).is_err(), "rolled back");

    let good = page(
        vec![
            (ChangeKind::Enterprise, "t", enterprise),
            (ChangeKind::Enterprise, "l", landlord_body),
            (ChangeKind::HazardEvent, "h", json!({})),
        ],
        "3",
    );
    let applied = store.apply_pull_page(&good).expect("apply");
    assert_eq!((applied.enterprises, applied.skipped), (2, 1));
    assert_eq!(store.pull_cursor().expect("cursor"), "3");
    let t = store.enterprise(&tenant_uscc).expect("tenant arrived");
    assert_eq!(
        t.leases_as_tenant.len(),
        1,
        "lease written once its site exists"
    );
    assert_eq!(t.leases_as_tenant[0].site_name, "1号厂房");
    let hits = store.search_enterprises("木业", 5).expect("search");
    assert_eq!(
        hits[0].name, "金坛新城木业有限公司",
        "search sees pulled rows"
    );
}
