//! Recording a 厂中厂 lease on the phone, offline: validation, one transaction, the
//! register rows it writes, the outbox record, and the fit-to-lease status on the
//! enterprise page (docs/leases.md "Leases recorded on a phone").

mod common;

use common::{answer_pre_lease, count, jintan_store, sign, testdata, uscc, write, VILLAGE};
use gridwalk_device::inspection::checklist::{DeadlinePolicy, HazardEventKind};
use gridwalk_device::inspection::StartInspection;
use gridwalk_device::leases::{LeaseInput, NewSite, NewTenant};
use gridwalk_device::Store;

const LANDLORD: &str = "0000011";
const OLD_TENANT: &str = "0000012";
const NEW_TENANT: &str = "0000013";
/// 西城街道, the town of [`VILLAGE`].
const TOWN: &str = "320413001000";

fn setup() -> (tempfile::TempDir, Store) {
    let (dir, store) = jintan_store();
    let csv = write(
        dir.path(),
        "e.csv",
        &format!(
            "name,uscc,village_code,dust_types,workers_per_shift\n\
             金坛恒达厂房出租有限公司,{},{VILLAGE},,\n\
             长荡湖木业有限公司,{},{VILLAGE},木粉,6\n",
            uscc(LANDLORD),
            uscc(OLD_TENANT)
        ),
    );
    let r = store.import_enterprises(&csv).expect("import");
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    (dir, store)
}

/// A lease of a new site to a new tenant, as the app sends it.
fn new_tenant_lease() -> LeaseInput {
    serde_json::from_value(serde_json::json!({
        "landlord": uscc(LANDLORD),
        "site_id": null,
        "new_site": {"name": "恒达二号厂房", "address": null},
        "tenant": null,
        "new_tenant": {"name": "金坛打磨加工厂", "uscc": uscc(NEW_TENANT),
                        "village_code": null, "industry": "金属制品"},
        "floors": "3-4", "area_m2": 850.5,
        "start_date": "2026-01-01", "end_date": "2028-12-31",
        "use_zh": "铝件打磨", "equipment_leased": true,
        "equipment_description": "打磨机 6 台", "safety_agreement_signed": false
    }))
    .expect("the IPC shape parses")
}

fn rows(store: &Store) -> [i64; 5] {
    [
        count(store, "SELECT count(*) FROM site"),
        count(store, "SELECT count(*) FROM enterprise"),
        count(store, "SELECT count(*) FROM lease"),
        count(store, "SELECT count(*) FROM lease_record"),
        count(store, "SELECT count(*) FROM sync_record"),
    ]
}

#[test]
fn a_lease_with_a_new_tenant_is_recorded_offline_and_queued_once() {
    let (_d, store) = setup();
    let before = rows(&store);
    let done = store
        .record_lease(Some(TOWN), "王网格", &new_tenant_lease())
        .expect("recorded");
    assert_eq!(
        rows(&store),
        [
            before[0] + 1,
            before[1] + 1,
            before[2] + 1,
            1,
            before[4] + 1
        ]
    );
    // The tenant is a register row marked as registered on site, found by search at once.
    let tenant = store.enterprise(&uscc(NEW_TENANT)).expect("tenant");
    assert_eq!(tenant.enterprise.id.to_string(), done.tenant_id);
    assert!(tenant.registered_on_site);
    assert_eq!(tenant.enterprise.village_code.as_str(), VILLAGE);
    let hits = store.search_enterprises("打磨加工", 10).expect("search");
    assert_eq!(hits.len(), 1, "{hits:?}");
    // The landlord's page lists the new site with the lease; the tenant's page its lease.
    let landlord = store.enterprise(&uscc(LANDLORD)).expect("landlord");
    assert!(!landlord.registered_on_site);
    let site = &landlord.sites_as_landlord[0];
    assert_eq!(site.site.id.to_string(), done.site_id);
    let lease = &site.leases[0];
    assert_eq!(lease.lease.id.to_string(), done.lease_id);
    assert_eq!(lease.lease.use_zh.as_deref(), Some("铝件打磨"));
    assert!(lease.lease.recorded_on_site && lease.lease.equipment_leased);
    assert_eq!(lease.lease.area_m2, Some(850.5));
    let json = serde_json::to_value(&landlord).expect("json");
    let l = &json["sites_as_landlord"][0]["leases"][0];
    assert_eq!(l["pre_lease"]["status"], "not_checked");
    assert_eq!(l["recorded_on_site"], true);
    assert_eq!(l["use_zh"], "铝件打磨");
    assert_eq!(tenant.leases_as_tenant.len(), 1);
    // One outbox record of wire kind `lease`, its payload the lease record.
    let recs = store.sync_records(10).expect("records");
    let rec = recs
        .iter()
        .find(|r| r.kind == "lease")
        .expect("a lease record");
    assert_eq!(rec.chain_kind, "lease");
    assert!(rec.label.contains("金坛打磨加工厂"), "{}", rec.label);
    let payload: String = store
        .connection()
        .query_row("SELECT payload FROM lease_record", [], |r| r.get(0))
        .expect("payload");
    let record: gridwalk_core::LeaseRecord = serde_json::from_str(&payload).expect("parses");
    assert!(record.tenant.new && record.new_site);
    assert_eq!(record.recorded_by, "王网格");
    assert_eq!(record.validate(), Ok(()));
    // The chain holds together with the new link.
    let report = store.verify_evidence().expect("verify");
    assert!(
        report.chain_problems.is_empty(),
        "{:?}",
        report.chain_problems
    );

    // A second lease of the existing tenant on the same (now existing) site.
    let again: LeaseInput = serde_json::from_value(serde_json::json!({
        "landlord": landlord.enterprise.id.to_string(), "site_id": done.site_id,
        "new_site": null, "tenant": uscc(OLD_TENANT), "new_tenant": null,
        "floors": "1", "area_m2": null, "start_date": null, "end_date": null,
        "use_zh": null, "equipment_leased": false, "equipment_description": null,
        "safety_agreement_signed": true
    }))
    .expect("parses");
    store
        .record_lease(Some(TOWN), "王网格", &again)
        .expect("second");
    let landlord = store.enterprise(&uscc(LANDLORD)).expect("landlord");
    assert_eq!(landlord.sites_as_landlord.len(), 1);
    assert_eq!(landlord.sites_as_landlord[0].leases.len(), 2);
}

#[test]
fn bad_input_is_refused_with_a_code_and_stores_nothing() {
    let (_d, store) = setup();
    let before = rows(&store);
    let refuse = |input: LeaseInput, jurisdiction: Option<&str>, code: &str| {
        let err = store
            .record_lease(jurisdiction, "王网格", &input)
            .expect_err(code);
        assert_eq!(err.code(), code, "{err}");
    };
    let mut bad = new_tenant_lease();
    bad.new_tenant = Some(NewTenant {
        name: "某厂".into(),
        uscc: "91320413MA00000139".into(),
        village_code: None,
        industry: None,
    });
    refuse(bad, Some(TOWN), "lease.bad_uscc");
    let mut bad = new_tenant_lease();
    bad.landlord = uscc("0000099");
    refuse(bad, Some(TOWN), "lease.unknown_enterprise");
    let mut bad = new_tenant_lease();
    bad.end_date = Some("2025-12-31".into());
    refuse(bad, Some(TOWN), "lease.bad_dates");
    let mut bad = new_tenant_lease();
    bad.start_date = Some("2026-02-30".into());
    refuse(bad, Some(TOWN), "lease.bad_dates");
    // Another town's grid worker cannot record this landlord's leases.
    refuse(
        new_tenant_lease(),
        Some("320413100000"),
        "lease.outside_jurisdiction",
    );
    let mut bad = new_tenant_lease();
    bad.site_id = Some(uuid::Uuid::now_v7().to_string());
    refuse(bad, Some(TOWN), "lease.bad_input");
    let mut bad = new_tenant_lease();
    bad.new_site = None;
    bad.site_id = Some(uuid::Uuid::now_v7().to_string());
    refuse(bad, Some(TOWN), "lease.unknown_site");
    let mut bad = new_tenant_lease();
    bad.new_site = Some(NewSite {
        name: "厂".repeat(201),
        address: None,
    });
    refuse(bad, Some(TOWN), "lease.bad_input");
    let mut bad = new_tenant_lease();
    bad.area_m2 = Some(0.0);
    refuse(bad, Some(TOWN), "lease.bad_input");
    let mut bad = new_tenant_lease();
    if let Some(t) = bad.new_tenant.as_mut() {
        t.village_code = Some("320413100001".into());
    }
    refuse(bad, Some(TOWN), "lease.outside_jurisdiction");
    assert_eq!(rows(&store), before, "a refused lease stores nothing");
}

/// A failure at the last write (the evidence chain) leaves no site, tenant, lease or
/// record behind: one transaction.
#[test]
fn a_failure_part_way_leaves_nothing_behind() {
    let (_d, store) = setup();
    let before = rows(&store);
    store
        .connection()
        .execute_batch(
            "CREATE TRIGGER refuse_link BEFORE INSERT ON evidence_chain \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .expect("trigger");
    let err = store
        .record_lease(Some(TOWN), "王网格", &new_tenant_lease())
        .expect_err("the link fails");
    assert_eq!(err.code(), "store.sqlite", "{err}");
    assert_eq!(rows(&store), before);
    assert!(store
        .search_enterprises("打磨加工", 10)
        .expect("search")
        .is_empty());
}

/// 未体检 → 不适租 after a pre-lease check that failed an item → 适租 once the item's
/// hazard is closed; on the tenant's page and on its lease in the landlord's page.
#[test]
fn the_pre_lease_status_follows_the_check_and_its_hazard() {
    let (_d, store) = setup();
    store
        .record_lease(Some(TOWN), "王网格", &new_tenant_lease())
        .expect("recorded");
    let status = |store: &Store| {
        let t = serde_json::to_value(store.enterprise(&uscc(NEW_TENANT)).expect("t")).expect("j");
        let l = serde_json::to_value(store.enterprise(&uscc(LANDLORD)).expect("l")).expect("j");
        let on_lease = l["sites_as_landlord"][0]["leases"][0]["pre_lease"].clone();
        assert_eq!(t["pre_lease"], on_lease, "the page and the lease agree");
        t["pre_lease"].clone()
    };
    assert_eq!(status(&store)["status"], "not_checked");

    let check = store
        .start_inspection(&StartInspection {
            enterprise: uscc(NEW_TENANT),
            template_id: "pre-lease-check".into(),
            template_version: None,
            inspector: "王专家".into(),
            role: None,
        })
        .expect("start")
        .to_string();
    let failed = answer_pre_lease(&store, &check, true);
    sign(&store, &check);
    store
        .finalize_inspection(&check, &DeadlinePolicy::default())
        .expect("finalize");
    let s = status(&store);
    let failed = failed.expect("a yes/no item");
    assert_eq!(s["status"], "not_fit", "{s}");
    assert_eq!(s["inspection_id"], check.as_str());
    assert_eq!(s["open_items"], serde_json::json!([failed]));

    let hazard = store
        .hazards(Some(&uscc(NEW_TENANT)))
        .expect("hazards")
        .into_iter()
        .next()
        .expect("the failed item's hazard")
        .id
        .to_string();
    store
        .hazard_transition(&hazard, "李", HazardEventKind::RectificationStarted)
        .or_else(|_| {
            store.hazard_transition(
                &hazard,
                "李",
                HazardEventKind::Assigned {
                    to: "企业".into()
                },
            )
        })
        .expect("assigned");
    let _ = store.hazard_transition(&hazard, "李", HazardEventKind::RectificationStarted);
    store
        .reinspect_hazard(
            &hazard,
            "李",
            true,
            &[testdata().join("photos").join("gps__DSCN0029.jpg")],
            None,
        )
        .expect("passed");
    assert_eq!(
        status(&store)["status"],
        "not_fit",
        "a passed re-inspection waits for 销号"
    );
    store
        .hazard_transition(&hazard, "李", HazardEventKind::Closed)
        .expect("closed");
    let s = status(&store);
    assert_eq!(s["status"], "fit", "{s}");
    assert_eq!(s["inspection_id"], check.as_str());
}
