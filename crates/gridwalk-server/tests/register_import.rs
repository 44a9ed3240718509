//! Register imports on the server (docs/register-import.md): the files are read by
//! `gridwalk-register`, the crate the phone's import uses too, and merged straight into
//! the server's own tables — re-imports merge as on a phone, GBK and XLSX files read the
//! same, and a `register.db` left by older servers (their staging phone database) is
//! ignored.

mod common;

use common::*;
use gridwalk_server::register::{import, RegisterFile, RegisterImport};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// Writes `bytes` to a new file named `*.ext` in the harness directory.
fn file(h: &Harness, ext: &str, bytes: &[u8]) -> PathBuf {
    let path = h
        .dir
        .path()
        .join(format!("r-{}.{ext}", uuid::Uuid::now_v7()));
    std::fs::write(&path, bytes).expect("write file");
    path
}

async fn run(h: &Harness, kind: RegisterFile, path: PathBuf) -> RegisterImport {
    blocking(h, move |s| import(s, kind, &path).expect("import")).await
}

/// The enterprise rows an expert of TOWN pulls, by USCC.
async fn pulled(h: &Harness, token: &str) -> HashMap<String, Value> {
    pull_all(h, token, gridwalk_protocol::PROTOCOL_VERSION)
        .await
        .into_iter()
        .filter(|c| c["kind"] == "enterprise")
        .map(|c| {
            (
                c["body"]["uscc"].as_str().unwrap_or("").to_string(),
                c["body"].clone(),
            )
        })
        .collect()
}

const FULL_HEADER: &str = "name,uscc,village_code,address,lat,lon,industry,dust_types,workers_per_shift,safety_officer_name,safety_officer_phone,landlord_uscc,lease_floors,lease_area_m2,site_storeys";

/// A tenant listed before its landlord, every optional column filled.
fn full_file(landlord: &str, tenant: &str) -> String {
    format!(
        "{FULL_HEADER}\n\
         燊荣金属科技有限公司,{tenant},{VILLAGE},东路1号,31.7123456789,119.5678912345,金属制品,铝粉,12,张三,13800000000,{landlord},3-4,1250.5,4\n\
         天武金属科技有限公司,{landlord},{VILLAGE},东路2号,31.70001,119.50002,金属制品,木粉,30,李四,,,,,\n"
    )
}

async fn a_reimport_merges_into_the_servers_own_register(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let (landlord, tenant) = (uscc("91320413MA1XY0101"), uscc("91320413MA1XY0102"));
    let full = full_file(&landlord, &tenant);
    let first = run(
        h,
        RegisterFile::Enterprises,
        file(h, "csv", full.as_bytes()),
    )
    .await;
    assert_eq!(
        (
            first.report.inserted,
            first.report.leases_written,
            first.published
        ),
        (2, 1, 2),
        "{first:?}"
    );
    assert!(first.report.rejected.is_empty(), "{first:?}");
    let before = pulled(h, &expert.token).await;
    let lease = &before[&tenant]["leases_as_tenant"][0];
    assert_eq!(lease["landlord_name"], "天武金属科技有限公司");
    assert_eq!(lease["area_m2"], 1250.5);
    assert_eq!(
        before[&landlord]["sites_as_landlord"][0]["leases"][0]["id"], lease["id"],
        "both parties show the one lease"
    );
    assert_eq!(before[&tenant]["village_name"], "东村");
    assert_eq!(before[&tenant]["town_name"], "金城镇");

    // The same file again: nothing changes, nothing is offered again (the stored
    // coordinates read back equal to the file's).
    let again = run(
        h,
        RegisterFile::Enterprises,
        file(h, "csv", full.as_bytes()),
    )
    .await;
    assert_eq!(
        (
            again.report.unchanged,
            again.report.updated,
            again.report.leases_written,
            again.published
        ),
        (2, 0, 0, 0),
        "{again:?}"
    );

    // A narrower file: absent columns keep what is stored, a blank cell of a present
    // column clears it, and the landlord's new name reaches the tenant's row.
    let narrow = format!(
        "name,uscc,village_code,industry\n天武金属科技股份有限公司,{landlord},{VILLAGE},\n"
    );
    let merged = run(
        h,
        RegisterFile::Enterprises,
        file(h, "csv", narrow.as_bytes()),
    )
    .await;
    assert_eq!(
        (merged.report.updated, merged.published),
        (1, 2),
        "{merged:?}"
    );
    let after = pulled(h, &expert.token).await;
    let l = &after[&landlord];
    assert_eq!(l["name"], "天武金属科技股份有限公司");
    assert_eq!(l["industry"], Value::Null, "a blank cell clears");
    assert_eq!(l["address"], "东路2号", "an absent column keeps");
    assert_eq!(l["location"]["lat"], 31.70001);
    assert_eq!(l["safety_officer"]["name"], "李四");
    assert_eq!(l["workers_per_shift"], 30);
    assert_eq!(l["dust_types"], serde_json::json!(["木粉"]));
    let t_lease = &after[&tenant]["leases_as_tenant"][0];
    assert_eq!(t_lease["landlord_name"], "天武金属科技股份有限公司");
    assert_eq!(t_lease["id"], lease["id"], "the lease keeps its id");
    assert_eq!(l["sites_as_landlord"][0]["storeys"], 4);

    // A lease changed by a later file is updated in place; a blank storeys keeps the
    // site's.
    let lease_file = format!(
        "name,uscc,village_code,landlord_uscc,lease_floors,site_storeys\n燊荣金属科技有限公司,{tenant},{VILLAGE},{landlord},5,\n"
    );
    let r = run(
        h,
        RegisterFile::Enterprises,
        file(h, "csv", lease_file.as_bytes()),
    )
    .await;
    assert_eq!(
        (r.report.unchanged, r.report.leases_written),
        (1, 1),
        "{r:?}"
    );
    let after = pulled(h, &expert.token).await;
    let t_lease = &after[&tenant]["leases_as_tenant"][0];
    assert_eq!(t_lease["floors"], "5");
    assert_eq!(
        t_lease["area_m2"],
        Value::Null,
        "the file's lease replaces the stored one"
    );
    assert_eq!(t_lease["id"], lease["id"]);
    assert_eq!(after[&landlord]["sites_as_landlord"][0]["storeys"], 4);
    assert_eq!(after[&tenant]["address"], "东路1号");

    // A village renamed by a divisions file: the new name is in its enterprises' rows.
    let renamed = format!("code,name,level,parent_code\n{VILLAGE},东村社区,village,{TOWN}\n");
    let d = run(
        h,
        RegisterFile::Divisions,
        file(h, "csv", renamed.as_bytes()),
    )
    .await;
    assert_eq!(d.report.updated, 1, "{d:?}");
    // The division, and the harness's enterprise in VILLAGE with these two.
    assert_eq!(d.published, 4, "{d:?}");
    let after = pulled(h, &expert.token).await;
    for u in [&landlord, &tenant, &uscc_here()] {
        assert_eq!(after[u]["village_name"], "东村社区", "{u}");
    }
    assert_eq!(after[&uscc_neighbour()]["village_name"], "西村");

    // Enterprises under a division the server does not hold are refused by row; the
    // other rows go in.
    let stray = format!(
        "name,uscc,village_code\n好企业,{},{NEIGHBOUR_VILLAGE}\n外地企业,{},320413999001\n乡镇企业,{},{TOWN}\n",
        uscc("91320413MA1XY0103"),
        uscc("91320413MA1XY0104"),
        uscc("91320413MA1XY0105"),
    );
    let r = run(
        h,
        RegisterFile::Enterprises,
        file(h, "csv", stray.as_bytes()),
    )
    .await;
    assert_eq!(r.report.inserted, 1);
    let rows: Vec<(usize, Option<&str>)> = r
        .report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(rows, [(3, Some("village_code")), (4, Some("village_code"))]);
    assert!(r.report.rejected[0]
        .reason
        .contains("import divisions first"));
}

async fn gbk_and_xlsx_files_import_through_the_server(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let gbk_uscc = uscc("91320413MA1XY0201");
    let text = format!("企业名称,统一社会信用代码,村社区代码,粉尘种类\n金坛新城机械厂,{gbk_uscc},{VILLAGE},铝粉；木粉\n");
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    let r = run(h, RegisterFile::Enterprises, file(h, "csv", &gbk)).await;
    assert_eq!(
        (r.report.encoding.as_str(), r.report.inserted),
        ("gb18030", 1),
        "{r:?}"
    );

    let xlsx_uscc = uscc("91320413MA1XY0202");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["name", "uscc", "village_code", "workers_per_shift"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    sheet.write_string(1, 0, "金坛表格木业").expect("cell");
    sheet.write_string(1, 1, &xlsx_uscc).expect("cell");
    // Excel keeps codes typed as numbers: read back without a decimal point.
    sheet
        .write_number(1, 2, VILLAGE.parse::<f64>().expect("code"))
        .expect("cell");
    sheet.write_number(1, 3, 8.0).expect("cell");
    sheet.write_string(2, 0, "坏行").expect("cell");
    sheet.write_string(2, 1, "NOT-A-USCC").expect("cell");
    sheet.write_string(2, 2, VILLAGE).expect("cell");
    let bytes = book.save_to_buffer().expect("xlsx");
    let r = run(h, RegisterFile::Enterprises, file(h, "xlsx", &bytes)).await;
    assert_eq!(
        (r.report.encoding.as_str(), r.report.inserted),
        ("xlsx", 1),
        "{r:?}"
    );
    assert_eq!(r.report.rejected.len(), 1);
    assert_eq!(r.report.rejected[0].row, 3, "the row as Excel numbers it");
    assert_eq!(r.report.rejected[0].column.as_deref(), Some("uscc"));

    let rows = pulled(h, &expert.token).await;
    assert_eq!(rows[&gbk_uscc]["name"], "金坛新城机械厂");
    assert_eq!(
        rows[&gbk_uscc]["dust_types"],
        serde_json::json!(["铝粉", "木粉"])
    );
    assert_eq!(rows[&gbk_uscc]["al_mg"], true);
    assert_eq!(rows[&xlsx_uscc]["name"], "金坛表格木业");
    assert_eq!(rows[&xlsx_uscc]["workers_per_shift"], 8);

    // A file without a required column is refused whole; nothing changes.
    let bad = file(
        h,
        "csv",
        format!("name,village_code\nx,{VILLAGE}\n").as_bytes(),
    );
    let err = blocking(h, move |s| {
        import(s, RegisterFile::Enterprises, &bad).map(|_| ())
    })
    .await;
    let err = err.expect_err("no uscc column");
    assert!(err.to_string().contains("'uscc'"), "{err}");
    assert_eq!(pulled(h, &expert.token).await.len(), rows.len());
}

both_databases!(
    a_reimport_merges_into_the_servers_own_register,
    gbk_and_xlsx_files_import_through_the_server,
);

/// A data directory from a server that imported through a staging phone database: its
/// `register.db` (and key, log) is neither read, nor moved, nor needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_staging_register_in_the_data_directory_is_ignored() {
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let expert = h.enroll("expert-jincheng").await;
    let old: Vec<(PathBuf, Vec<u8>)> = ["register.db", "register.db.key", "register.db-wal"]
        .iter()
        .map(|n| {
            (
                h.data.0.join(n),
                format!("not a database: {n}").into_bytes(),
            )
        })
        .collect();
    for (p, b) in &old {
        std::fs::write(p, b).expect("old file");
    }
    let register_files = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&h.data.0)
            .expect("data dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("register"))
            .collect();
        names.sort();
        names
    };
    let files_before = register_files();
    assert_eq!(files_before.len(), 3);

    // The harness's divisions and enterprises are already the server's: the same files
    // again change nothing.
    let d = run(
        &h,
        RegisterFile::Divisions,
        file(&h, "csv", divisions_csv().as_bytes()),
    )
    .await;
    assert_eq!((d.report.unchanged, d.published), (7, 0), "{d:?}");
    let u = uscc("91320413MA1XY0301");
    let e =
        format!("name,uscc,village_code,dust_types\n金坛东村新材料有限公司,{u},{VILLAGE},铝粉\n");
    let r = run(&h, RegisterFile::Enterprises, file(&h, "csv", e.as_bytes())).await;
    assert_eq!((r.report.inserted, r.published), (1, 1), "{r:?}");
    assert_eq!(pulled(&h, &expert.token).await[&u]["village_name"], "东村");

    for (p, b) in &old {
        assert_eq!(
            &std::fs::read(p).expect("still there"),
            b,
            "{} untouched",
            p.display()
        );
    }
    assert_eq!(
        register_files(),
        files_before,
        "nothing set aside, nothing created"
    );
    h.stop().await;
}
