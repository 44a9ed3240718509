//! 厂中厂 leases recorded on phones (docs/leases.md "Leases recorded on a phone")
//! against SQLite and PostgreSQL: a `lease` record with a new site and a new tenant is
//! accepted, projected into the ledger, pulled by a second device, kept by a register
//! re-import (and overwritten, not deleted, once the register lists the tenant),
//! derived the same by a rebuild; records outside the jurisdiction or malformed are
//! refused.

mod common;

use common::*;
use gridwalk_core::enterprise::{Lease, LeaseRecord, LeaseTenant, Site};
use gridwalk_core::{DivisionCode, Uscc};
use gridwalk_protocol::{RecordEnvelope, RecordKind};
use serde_json::Value;
use uuid::Uuid;

both_databases!(
    a_phone_lease_reaches_the_ledger_and_other_phones_and_survives_a_reimport,
    lease_records_outside_the_jurisdiction_or_malformed_are_refused,
    a_phone_cannot_take_over_another_lease_or_site,
    an_enterprise_registered_on_site_is_inspected_in_the_same_push,
);

fn tenant_uscc() -> String {
    uscc("91320413MA1XY0031")
}

fn id_of(u: &str) -> Uuid {
    gridwalk_core::ids::enterprise_id(&Uscc::parse(u).expect("uscc"))
}

/// A lease of a new site of `landlord` to a new tenant in `tenant_village`.
fn lease_record(landlord: &str, tenant: &str, tenant_village: &str) -> LeaseRecord {
    let site = Site {
        id: Uuid::now_v7(),
        name: "东村木业二号厂房".into(),
        address: Some("金城镇东村8号".into()),
        landlord_id: id_of(landlord),
        storeys: None,
        structure: None,
    };
    LeaseRecord {
        record_id: Uuid::now_v7(),
        recorded_by: "grid-east".into(),
        recorded_at: chrono::Utc::now(),
        landlord_uscc: Uscc::parse(landlord).expect("uscc"),
        tenant: LeaseTenant {
            id: id_of(tenant),
            uscc: Uscc::parse(tenant).expect("uscc"),
            name: "金坛东村打磨加工厂".into(),
            village_code: DivisionCode::parse(tenant_village).expect("code"),
            industry: Some("金属制品".into()),
            new: true,
        },
        lease: Lease {
            id: Uuid::now_v7(),
            site_id: site.id,
            tenant_id: id_of(tenant),
            floors: Some("3-4".into()),
            area_m2: Some(850.5),
            start_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
            end_date: chrono::NaiveDate::from_ymd_opt(2028, 12, 31),
            equipment_leased: true,
            equipment_description: None,
            safety_agreement_signed: Some(false),
            use_zh: Some("铝件打磨".into()),
            recorded_on_site: true,
        },
        site,
        new_site: true,
    }
}

fn lease_envelope(seq: u64, r: &LeaseRecord) -> RecordEnvelope {
    let text = String::from_utf8(gridwalk_checklist::to_canonical_json(r).expect("canonical"))
        .expect("utf-8");
    let mut e = RecordEnvelope::new(r.record_id, RecordKind::Lease, seq, text);
    e.enterprise_uscc = Some(r.landlord_uscc.as_str().to_string());
    e
}

/// The enterprise change of `uscc` among pulled changes.
fn pulled<'a>(changes: &'a [Value], uscc: &str) -> &'a Value {
    &changes
        .iter()
        .find(|c| c["kind"] == "enterprise" && c["body"]["uscc"] == uscc)
        .unwrap_or_else(|| panic!("no enterprise {uscc} pulled"))["body"]
}

/// The ledger's lease of `tenant`, if listed.
fn ledger_lease(ledger: &Value, tenant: &str) -> Option<Value> {
    ledger["sites"]
        .as_array()?
        .iter()
        .flat_map(|s| s["leases"].as_array().cloned().unwrap_or_default())
        .find(|l| l["tenant"]["uscc"] == tenant)
}

async fn a_phone_lease_reaches_the_ledger_and_other_phones_and_survives_a_reimport(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let record = lease_record(&uscc_here(), &tenant_uscc(), VILLAGE);
    // With its chain link (kind `lease`), as a phone sends it.
    let mut chain = TestChain::new();
    let env = chain.link(lease_envelope(1, &record), "lease");
    let (status, v) = h.push(&grid.token, &[env]).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        status_of(&v),
        [("accepted".to_string(), String::new())],
        "{v}"
    );

    // The 厂中厂 ledger of the town lists it, with the tenant registered on site.
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let ledger_now = || async {
        let (status, v) = h
            .get(&officer, &format!("/v1/leases?division={TOWN}"))
            .await;
        assert_eq!(status, 200, "{v}");
        v
    };
    let v = ledger_now().await;
    let l = ledger_lease(&v, &tenant_uscc()).unwrap_or_else(|| panic!("not listed: {v}"));
    assert_eq!(l["floors"], "3-4");
    assert_eq!(l["area_m2"], 850.5);
    assert_eq!(l["use_zh"], "铝件打磨");
    assert_eq!(l["recorded_on_site"], true);
    assert_eq!(l["tenant"]["name"], "金坛东村打磨加工厂");
    assert_eq!(l["pre_lease"]["status"], "not_checked");

    // A second device of the jurisdiction pulls both rows: the landlord's site with the
    // lease, the tenant marked as registered on site; a protocol 3 phone gets them too.
    let expert = h.enroll("expert-jincheng").await;
    let changes = pull_all(h, &expert.token, gridwalk_protocol::PROTOCOL_VERSION).await;
    let landlord = pulled(&changes, &uscc_here());
    let site = landlord["sites_as_landlord"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|s| s["id"] == record.site.id.to_string())
        .unwrap_or_else(|| panic!("no site: {landlord}"));
    assert_eq!(site["leases"][0]["id"], record.lease.id.to_string());
    assert_eq!(site["leases"][0]["use_zh"], "铝件打磨");
    assert_eq!(site["leases"][0]["recorded_on_site"], true);
    assert_eq!(site["leases"][0]["tenant_name"], "金坛东村打磨加工厂");
    let tenant = pulled(&changes, &tenant_uscc());
    assert_eq!(tenant["registered_on_site"], true);
    assert_eq!(tenant["village_code"], VILLAGE);
    assert_eq!(
        tenant["leases_as_tenant"][0]["id"],
        record.lease.id.to_string()
    );
    assert!(pull_all(h, &expert.token, 3)
        .await
        .iter()
        .any(|c| c["body"]["uscc"] == tenant_uscc()));
    // Another town's expert pulls neither.
    let rulin = h.enroll("expert-rulin").await;
    let far = pull_all(h, &rulin.token, gridwalk_protocol::PROTOCOL_VERSION).await;
    assert!(!far.iter().any(|c| c["body"]["uscc"] == tenant_uscc()));

    // A rebuild derives the same rows.
    let (_, changed) = blocking(h, |s| s.rebuild_projections().expect("rebuild")).await;
    assert!(!changed, "a rebuild changed the projections");
    assert!(ledger_lease(&ledger_now().await, &tenant_uscc()).is_some());

    // The register imported again (without the tenant): the phone's lease stays.
    import_enterprises_csv(
        h,
        format!(
            "name,uscc,village_code,dust_types\n金坛东村木业有限公司,{},{VILLAGE},木粉\n",
            uscc_here()
        ),
    )
    .await;
    let l = ledger_lease(&ledger_now().await, &tenant_uscc()).expect("kept by the re-import");
    assert_eq!(l["floors"], "3-4");
    // The register now lists the tenant: its fields win, the row and the lease stay.
    import_enterprises_csv(
        h,
        format!(
            "name,uscc,village_code,industry,dust_types\n金坛东村精工打磨有限公司,{},{VILLAGE},金属制品,铝粉\n",
            tenant_uscc()
        ),
    )
    .await;
    let l = ledger_lease(&ledger_now().await, &tenant_uscc()).expect("kept");
    assert_eq!(l["tenant"]["name"], "金坛东村精工打磨有限公司");
    let changes = pull_all(h, &expert.token, gridwalk_protocol::PROTOCOL_VERSION).await;
    let tenant = pulled(&changes, &tenant_uscc());
    assert_eq!(tenant["name"], "金坛东村精工打磨有限公司");
    assert_eq!(tenant["registered_on_site"], false);
    assert_eq!(
        tenant["leases_as_tenant"][0]["id"],
        record.lease.id.to_string()
    );
    // And the 厂中厂 sheet lists it.
    let (status, _, body) = get_export(
        h,
        &officer,
        &format!("/v1/exports/leases.xlsx?division={TOWN}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!body.is_empty());
}

async fn lease_records_outside_the_jurisdiction_or_malformed_are_refused(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let mut seq = 0;
    let mut push = |env: RecordEnvelope| {
        seq += 1;
        let mut env = env;
        env.seq = seq;
        env
    };
    // The landlord in another town.
    let far = push(lease_envelope(
        0,
        &lease_record(&uscc_far(), &tenant_uscc(), VILLAGE),
    ));
    // A landlord not in the register.
    let unknown = push(lease_envelope(
        0,
        &lease_record(&uscc("91320413MA1XY0099"), &tenant_uscc(), VILLAGE),
    ));
    // A new tenant placed in another town.
    let tenant_far = push(lease_envelope(
        0,
        &lease_record(&uscc_here(), &tenant_uscc(), FAR_VILLAGE),
    ));
    // Ids that do not hold together (the site of another landlord).
    let mut r = lease_record(&uscc_here(), &tenant_uscc(), VILLAGE);
    r.site.landlord_id = id_of(&uscc_neighbour());
    let ids = push(lease_envelope(0, &r));
    // The envelope names another enterprise than the landlord.
    let mut other = lease_envelope(0, &lease_record(&uscc_here(), &tenant_uscc(), VILLAGE));
    other.enterprise_uscc = Some(uscc_neighbour());
    let other = push(other);
    // Not a lease at all.
    let mut junk = RecordEnvelope::new(Uuid::now_v7(), RecordKind::Lease, 0, "{\"a\":1}".into());
    junk.enterprise_uscc = Some(uscc_here());
    let junk = push(junk);
    let (status, v) = h
        .push(&grid.token, &[far, unknown, tenant_far, ids, other, junk])
        .await;
    assert_eq!(status, 200, "{v}");
    let want = [
        "forbidden_jurisdiction",
        "unknown_enterprise",
        "forbidden_jurisdiction",
        "payload_invalid",
        "payload_invalid",
        "payload_invalid",
    ];
    let got = status_of(&v);
    for (i, code) in want.iter().enumerate() {
        assert_eq!(
            got[i],
            ("rejected".to_string(), code.to_string()),
            "{i}: {v}"
        );
    }
    // Nothing projected: the ledger and the pull know no such lease or tenant.
    let officer = officer_session(h, "officer-all", DISTRICT).await;
    let (_, l) = h
        .get(&officer, &format!("/v1/leases?division={DISTRICT}"))
        .await;
    assert_eq!(l["counts"]["leases"], 0, "{l}");
    let changes = pull_all(h, &grid.token, gridwalk_protocol::PROTOCOL_VERSION).await;
    assert!(!changes.iter().any(|c| c["body"]["uscc"] == tenant_uscc()));
}

/// A hostile phone with a valid token: a lease id that is another lease's, a site id
/// that is another landlord's, a registered tenant of another town, a site that would
/// break every phone's pull (0 storeys) — each refused, nothing changed.
async fn a_phone_cannot_take_over_another_lease_or_site(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let first = lease_record(&uscc_here(), &tenant_uscc(), VILLAGE);
    let (_, v) = h.push(&grid.token, &[lease_envelope(1, &first)]).await;
    assert_eq!(status_of(&v)[0].0, "accepted", "{v}");

    let second_tenant = uscc("91320413MA1XY0077");
    // The first lease's id, for another tenant.
    let mut stolen = lease_record(&uscc_here(), &second_tenant, VILLAGE);
    stolen.lease.id = first.lease.id;
    // The first lease's site, under another landlord.
    let mut site = lease_record(&uscc_neighbour(), &second_tenant, NEIGHBOUR_VILLAGE);
    site.site.id = first.site.id;
    site.lease.site_id = first.site.id;
    // A registered tenant of another town.
    let far_tenant = lease_record(&uscc_here(), &uscc_far(), VILLAGE);
    // A site no phone could store.
    let mut storeys = lease_record(&uscc_here(), &second_tenant, VILLAGE);
    storeys.site.storeys = Some(0);
    let envelopes: Vec<RecordEnvelope> = [stolen, site, far_tenant, storeys]
        .iter()
        .enumerate()
        .map(|(i, r)| lease_envelope(2 + i as u64, r))
        .collect();
    // From a phone of the whole town, so that the other landlord is inside its reach.
    let expert = h.enroll("expert-jincheng").await;
    let envelopes: Vec<RecordEnvelope> = envelopes
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.seq = 1 + i as u64;
            e
        })
        .collect();
    let (status, v) = h.push(&expert.token, &envelopes).await;
    assert_eq!(status, 200, "{v}");
    let got: Vec<String> = status_of(&v).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        got,
        [
            "payload_invalid",
            "payload_invalid",
            "forbidden_jurisdiction",
            "payload_invalid"
        ],
        "{v}"
    );
    // The ledger still has the first lease, of its tenant, and nothing else.
    let officer = officer_session(h, "officer-all", DISTRICT).await;
    let (_, l) = h
        .get(&officer, &format!("/v1/leases?division={DISTRICT}"))
        .await;
    assert_eq!(l["counts"]["leases"], 1, "{l}");
    assert!(ledger_lease(&l, &tenant_uscc()).is_some(), "{l}");
}

/// A push reads the villages of the enterprises it names once, before its first record:
/// a tenant its lease registers on site is found by an inspection later in the same
/// push (before, it would have been refused `unknown_enterprise`).
async fn an_enterprise_registered_on_site_is_inspected_in_the_same_push(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let record = lease_record(&uscc_here(), &tenant_uscc(), VILLAGE);
    let mut chain = TestChain::new();
    let lease = chain.link(lease_envelope(1, &record), "lease");
    let visit = chain.link(inspection(2, &tenant_uscc(), &[]), "inspection");
    let (status, v) = h.push(&grid.token, &[lease, visit]).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        status_of(&v),
        [
            ("accepted".to_string(), String::new()),
            ("accepted".to_string(), String::new())
        ],
        "{v}"
    );
}
