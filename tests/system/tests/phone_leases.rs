//! A 厂中厂 lease recorded on the phone, end to end with the real binaries (docs/leases.md
//! "Leases recorded on a phone"): the device CLI adds a lease of a new site to a new
//! tenant offline, syncs; `GET /v1/leases` and the 厂中厂 xlsx list it; a second phone
//! of the jurisdiction pulls the tenant and its lease; `projections rebuild` changes
//! nothing.

use calamine::{open_workbook, Data, Reader, Xlsx};
use gridwalk_system_tests::device::Device;
use gridwalk_system_tests::fixtures::{uscc, TOWN};
use gridwalk_system_tests::{sync_until_done, World};
use serde_json::{json, Value};

const OFFICER: &str = "钱科长";
const PASSWORD: &str = "金坛-厂中厂-2026-12";

fn parse(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn a_lease_recorded_offline_reaches_the_ledger_the_sheet_and_a_second_phone() {
    let w = World::new(2);
    let s = &w.server;
    let d = &w.device;
    w.enroll(&s.url());
    let tenant = uscc(901);
    let done = d.json(&[
        "lease",
        "add",
        "--landlord",
        &uscc(1),
        "--new-site",
        "恒达二号厂房",
        "--site-address",
        "西城街道河滨路8号",
        "--new-tenant-name",
        "金坛迅达打磨加工厂",
        "--new-tenant-uscc",
        &tenant,
        "--floors",
        "3-4",
        "--area",
        "850.5",
        "--from",
        "2026-01-01",
        "--to",
        "2027-12-31",
        "--use",
        "铝件打磨",
        "--equipment-leased",
        "--agreement",
        "no",
    ]);
    let lease_id = done["lease_id"].as_str().expect("lease id").to_string();
    // Offline: the tenant is on the phone at once, with its lease.
    let shown = d.json(&["enterprises", "show", &tenant]);
    assert_eq!(shown["registered_on_site"], true, "{shown}");
    assert_eq!(shown["leases_as_tenant"][0]["id"], lease_id.as_str());
    assert_eq!(shown["pre_lease"]["status"], "not_checked");

    sync_until_done(d, &["--backoff-ms", "50"], 4);
    assert_eq!(d.status()["pending"].as_u64(), Some(0));

    // The officer's ledger lists it.
    s.create_officer(OFFICER, "officer", TOWN, PASSWORD);
    let http = reqwest::blocking::Client::new();
    let login: Value = http
        .post(format!("{}/v1/login", s.url()))
        .json(&json!({"user_name": OFFICER, "password": PASSWORD}))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("login");
    let token = login["token"].as_str().expect("token");
    let ledger: Value = http
        .get(format!("{}/v1/leases?division={TOWN}", s.url()))
        .bearer_auth(token)
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .expect("ledger");
    let lease = ledger["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .flat_map(|s| s["leases"].as_array().cloned().unwrap_or_default())
        .find(|l| l["tenant"]["uscc"] == tenant.as_str())
        .unwrap_or_else(|| panic!("not in the ledger: {ledger}"));
    assert_eq!(lease["lease_id"], lease_id.as_str());
    assert_eq!(lease["floors"], "3-4");
    assert_eq!(lease["tenant"]["name"], "金坛迅达打磨加工厂");

    // The 厂中厂 sheet has its row.
    let out = w.tmp.path().join("leases.xlsx");
    s.admin(&[
        "export",
        "leases",
        "--division",
        TOWN,
        "--format",
        "xlsx",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let mut wb: Xlsx<_> = open_workbook(&out).expect("open xlsx");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("sheet");
    let rows: Vec<String> = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert!(
        rows.iter()
            .any(|r| r.contains(&tenant) && r.contains("金坛迅达打磨加工厂")),
        "{rows:?}"
    );

    // A second phone of the jurisdiction pulls the tenant and the landlord's new site.
    let second = Device::new(&w.tmp.path().join("second"), 2);
    second.enroll(&s.url(), &s.enrollment_code());
    sync_until_done(&second, &["--backoff-ms", "50"], 4);
    let pulled = second.json(&["enterprises", "show", &tenant]);
    assert_eq!(pulled["registered_on_site"], true, "{pulled}");
    assert_eq!(pulled["leases_as_tenant"][0]["id"], lease_id.as_str());
    assert_eq!(pulled["leases_as_tenant"][0]["use_zh"], "铝件打磨");
    assert_eq!(pulled["leases_as_tenant"][0]["recorded_on_site"], true);
    let landlord = second.json(&["enterprises", "show", &uscc(1)]);
    assert_eq!(
        landlord["sites_as_landlord"][0]["name"], "恒达二号厂房",
        "{landlord}"
    );

    let rebuilt = parse(&s.admin(&["projections", "rebuild"]));
    assert_eq!(rebuilt["changed"], false, "{rebuilt}");
}
