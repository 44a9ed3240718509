//! The sync outbox and pull, without a server: what is queued, how it is enveloped,
//! and how pulled pages apply (the HTTP side is tested against a real server in
//! `tests/system` and `src-tauri/tests/ipc.rs`).

mod common;

use common::{count, jintan_store, page, testdata, uscc, write, HEADER, VILLAGE};
use gridwalk_device::evidence::PhotoInput;
use gridwalk_device::migrations::latest_version;
use gridwalk_device::Store;
use gridwalk_protocol::ChangeKind;
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
            // Not a hazard event: passed over, the page still applies.
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

/// A hazard event as another device recorded it.
fn remote_event(hazard: Uuid, at: &str, actor: &str, kind: serde_json::Value) -> serde_json::Value {
    let mut e = json!({"id": Uuid::now_v7(), "hazard_id": hazard, "at": at, "actor": actor});
    for (k, v) in kind.as_object().expect("kind object") {
        e[k] = v.clone();
    }
    e
}

fn created(hazard: Uuid, enterprise: Uuid, at: &str) -> serde_json::Value {
    remote_event(
        hazard,
        at,
        "王网格",
        json!({"kind": "created", "severity": "major", "enterprise_id": enterprise,
               "description_zh": "除尘器未设置泄爆装置", "item_id": "MH-D-03",
               "inspection_id": Uuid::now_v7(), "deadline": "2026-12-31"}),
    )
}

#[test]
fn hazard_events_of_other_devices_apply_once_in_order_and_are_never_pushed_from_here() {
    let (dir, store) = jintan_store();
    let here = one_enterprise(&store, dir.path());
    let later_uscc = uscc("0000002");
    let later =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&later_uscc).expect("uscc"));
    let (h1, h2) = (Uuid::now_v7(), Uuid::now_v7());
    let c1 = created(h1, here, "2026-03-02T02:00:00Z");
    let assigned = remote_event(
        h1,
        "2026-03-02T03:00:00Z",
        "李专家",
        json!({"kind": "assigned", "to": "张厂长"}),
    );
    let c2 = created(h2, later, "2026-03-02T04:00:00Z");
    let chain_before = count(&store, "SELECT count(*) FROM evidence_chain");
    let outbox_before = count(&store, "SELECT count(*) FROM sync_record");

    // The assignment arrives before the hazard's creation, and a hazard of an
    // enterprise this device does not hold yet: both wait.
    let a = store
        .apply_pull_page(&page(
            vec![
                (ChangeKind::HazardEvent, "a", assigned.clone()),
                (ChangeKind::HazardEvent, "c2", c2.clone()),
            ],
            "1",
        ))
        .expect("page 1");
    assert_eq!((a.hazard_events, a.hazard_events_waiting), (0, 2));
    assert!(store.hazards(None).expect("hazards").is_empty());
    assert_eq!(
        store.sync_status().expect("status").hazard_events_waiting,
        2
    );

    // The creation arrives: it and the waiting assignment apply, in time order.
    let a = store
        .apply_pull_page(&page(
            vec![(ChangeKind::HazardEvent, "c1", c1.clone())],
            "2",
        ))
        .expect("page 2");
    assert_eq!((a.hazard_events, a.hazard_events_waiting), (2, 1));
    let list = store.hazards(None).expect("hazards");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, h1);
    assert_eq!(list[0].state, gridwalk_checklist::HazardStatus::Assigned);
    assert_eq!(list[0].assignee.as_deref(), Some("张厂长"));
    assert!(
        list[0].inspection_id.is_some(),
        "the finding inspection is named"
    );
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM hazard WHERE id = '{h1}' AND inspection_id IS NULL")
        ),
        1,
        "the other device's inspection is not on this one"
    );

    // The same events again (a re-pull, or this device's own events coming back).
    let a = store
        .apply_pull_page(&page(
            vec![
                (ChangeKind::HazardEvent, "c1", c1),
                (ChangeKind::HazardEvent, "a", assigned),
            ],
            "3",
        ))
        .expect("page 3");
    assert_eq!(a.hazard_events, 0);
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM hazard_event WHERE hazard_id = '{h1}'")
        ),
        2
    );

    // An event that is not legal where it falls (closing a hazard nobody re-inspected:
    // another phone's history this one will never see otherwise) is stored once the
    // hazard's creation is here; the fold skips it and says why, as the server does.
    let bad_close = remote_event(
        h1,
        "2026-03-02T05:00:00Z",
        "李专家",
        json!({"kind": "closed"}),
    );
    let bad_close_id: Uuid =
        serde_json::from_value(bad_close["id"].clone()).expect("the close's id");
    let a = store
        .apply_pull_page(&page(vec![(ChangeKind::HazardEvent, "x", bad_close)], "4"))
        .expect("page 4");
    assert_eq!((a.hazard_events, a.hazard_events_waiting), (1, 1));
    let detail = store.hazard(&h1.to_string()).expect("detail");
    assert_eq!(
        detail.summary.state,
        gridwalk_checklist::HazardStatus::Assigned
    );
    assert_eq!(detail.events.len(), 3);
    let skipped: Vec<_> = detail
        .events
        .iter()
        .filter_map(|e| e.skipped_reason.as_ref().map(|r| (e.event.id, r.clone())))
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, bad_close_id);
    assert!(skipped[0].1.contains("not allowed"), "{}", skipped[0].1);

    // The enterprise arrives (here by import; by pull in the field): its hazard applies
    // at the next page.
    let csv = write(
        dir.path(),
        "later.csv",
        &format!("{HEADER}\n金坛木业有限公司,{later_uscc},{VILLAGE},,,,,木粉,8,\n"),
    );
    store.import_enterprises(&csv).expect("import");
    let a = store.apply_pull_page(&page(vec![], "5")).expect("page 5");
    assert_eq!((a.hazard_events, a.hazard_events_waiting), (1, 0));
    assert_eq!(store.hazards(None).expect("hazards").len(), 2);
    assert_eq!(
        store.sync_status().expect("status").hazard_events_waiting,
        0,
        "nothing waits once every hazard's creation is here"
    );

    // Pulled events are the other device's evidence: not in this chain, not queued.
    assert_eq!(
        count(&store, "SELECT count(*) FROM evidence_chain"),
        chain_before
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM sync_record"),
        outbox_before
    );

    // This device continues the pulled hazard; its own event is chained and queued.
    let next = store
        .hazard_transition(
            &h1.to_string(),
            "李专家",
            gridwalk_checklist::HazardEventKind::RectificationStarted,
        )
        .expect("rectification started");
    assert_eq!(next.status, gridwalk_checklist::HazardStatus::Rectifying);
    assert_eq!(
        count(&store, "SELECT count(*) FROM evidence_chain"),
        chain_before + 1
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM sync_record"),
        outbox_before + 1
    );
    assert_eq!(
        store.sync_status().expect("status").records.queued as i64,
        outbox_before + 1
    );
}

#[test]
fn upgrading_to_pulled_hazards_pulls_again_from_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v6.db");
    {
        let old = Store::open_at_version(&path, 6).expect("v6");
        old.connection()
            .execute(
                "INSERT INTO device_meta (key, value) VALUES ('sync.pull_cursor', '42')",
                [],
            )
            .expect("cursor");
    }
    let store = Store::open(&path).expect("upgrade");
    assert_eq!(
        store.pull_cursor().expect("cursor"),
        "",
        "hazard events skipped before v7 are pulled again"
    );
}

/// A campaign pulled from the server is what the Home screen shows: for a village's
/// user, each duty with the village-level deadline; the active one covering the
/// jurisdiction wins over an older one; a campaign this build cannot read is passed over
/// without stopping the pull; none covering the jurisdiction means none to show.
#[test]
fn pulled_campaigns_give_the_home_screen_its_duties_and_deadlines() {
    let (_d, store) = jintan_store();
    let shipped: serde_json::Value = serde_json::from_str(include_str!(
        "../../gridwalk-server/campaigns/changzhou-2024-dust-100day.json"
    ))
    .expect("campaign json");
    let mut next = shipped.clone();
    next["id"] = json!("changzhou-2025-dust-100day");
    next["year"] = json!(2025);
    next["starts_on"] = json!("2025-01-25");
    next["ends_on"] = json!("2025-12-31");
    for d in next["duties"].as_array_mut().expect("duties") {
        for (_, date) in d["deadlines"].as_object_mut().expect("deadlines") {
            *date = json!(date.as_str().expect("date").replace("2024", "2025"));
        }
    }
    let applied = store
        .apply_pull_page(&page(
            vec![
                (ChangeKind::Campaign, "a", shipped),
                (ChangeKind::Campaign, "b", next),
                (
                    ChangeKind::Campaign,
                    "c",
                    json!({"id": "from-the-future", "shape": "new"}),
                ),
            ],
            "3",
        ))
        .expect("page");
    assert_eq!((applied.campaigns, applied.skipped), (2, 1));
    let village = gridwalk_core::DivisionCode::parse("320413001001").expect("village");
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date");
    let view = store
        .campaign_view(&village, day(2025, 3, 1))
        .expect("view")
        .expect("a campaign");
    assert_eq!(view.id, "changzhou-2025-dust-100day");
    assert!(view.active);
    let training = view
        .duties
        .iter()
        .find(|d| d.id == "training")
        .expect("training");
    assert_eq!(
        training.deadline.as_deref(),
        Some("2025-02-09"),
        "the village's deadline"
    );
    let old = store
        .campaign_view(&village, day(2024, 3, 1))
        .expect("view")
        .expect("a campaign");
    assert_eq!(old.id, "changzhou-2024-dust-100day");
    // After both ended, the latest is shown, marked not active.
    let after = store
        .campaign_view(&village, day(2026, 6, 1))
        .expect("view")
        .expect("one");
    assert_eq!(
        (after.id.as_str(), after.active),
        ("changzhou-2025-dust-100day", false)
    );
    let elsewhere = gridwalk_core::DivisionCode::parse("320115001001").expect("Nanjing");
    assert!(store
        .campaign_view(&elsewhere, day(2025, 3, 1))
        .expect("view")
        .is_none());
}
