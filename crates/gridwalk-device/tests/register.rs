//! The register on a real SQLite file: migrations, imports (good and bad rows), leases.

mod common;

use common::{jintan_store, testdata, uscc, write, HEADER, VILLAGE};
use gridwalk_device::import::ImportError;
use gridwalk_device::migrations::{latest_version, MIGRATIONS};
use gridwalk_device::{Store, StoreError};

#[test]
fn a_new_database_gets_every_migration_and_durable_pragmas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("d.db")).expect("open");
    assert_eq!(store.schema_version().expect("version"), latest_version());
    let conn = store.connection();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("pragma");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(
        (mode.as_str(), sync, fk),
        ("wal", 2, 1),
        "WAL, synchronous=FULL, foreign keys on"
    );
    assert!(store.check_integrity().expect("check").is_empty());
}

#[test]
fn migration_files_on_disk_match_the_compiled_list() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/device");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    let compiled: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{:04}_{}.sql", m.version, m.name))
        .collect();
    assert_eq!(files, compiled);
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(m.version, i as i64 + 1, "versions are consecutive from 1");
    }
}

#[test]
fn every_older_schema_upgrades_and_keeps_its_data() {
    for from in 1..latest_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        {
            let old = Store::open_at_version(&path, from).expect("old schema");
            assert_eq!(old.schema_version().expect("v"), from);
            old.connection()
                .execute_batch(&format!(
                    "INSERT INTO division VALUES ('320413001000', '西城街道', 'town', '320413000000');
                     INSERT INTO division VALUES ('{VILLAGE}', '河滨居委会', 'village', '320413001000');
                     INSERT INTO enterprise (id, uscc, name, village_code, updated_at)
                     VALUES ('00000000-0000-0000-0000-000000000001', '{}', '金坛新城机械厂', '{VILLAGE}', 'x');",
                    uscc("0000001")
                ))
                .expect("seed old data");
        }
        let store = Store::open(&path).expect("upgrade");
        assert_eq!(store.schema_version().expect("v"), latest_version());
        let hits = store.search_enterprises("jtxc", 5).expect("search");
        assert_eq!(
            hits.len(),
            1,
            "search index was backfilled after upgrading from v{from}"
        );
        assert!(store.check_integrity().expect("check").is_empty());
    }
}

#[test]
fn a_database_from_a_newer_gridwalk_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.db");
    drop(Store::open(&path).expect("open"));
    {
        let conn = gridwalk_device::store::open_raw(&path).expect("raw open");
        conn.pragma_update(None, "user_version", 99).expect("bump");
    }
    let err = Store::open(&path).expect_err("refused");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer"));
    let conn = gridwalk_device::store::open_raw(&path).expect("raw open");
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("v");
    assert_eq!(v, 99);
}

#[test]
fn jintan_divisions_import_whole_and_reimport_changes_nothing() {
    let (_dir, store) = jintan_store();
    assert_eq!(store.division_count().expect("count"), 163);
    let again = store
        .import_divisions(&testdata().join("divisions/jintan.csv"))
        .expect("again");
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, 163)
    );
    let v = store.division(VILLAGE).expect("query").expect("present");
    assert_eq!(v.name, "河滨居委会");
}

#[test]
fn good_rows_import_and_each_bad_row_is_reported_with_its_reason() {
    let (dir, store) = jintan_store();
    let good = uscc("0000001");
    let csv = format!(
        "{HEADER}\n\
         金坛新城精密机械有限公司,{good},{VILLAGE},金坛大道1号,31.74,119.56,铝制品抛光,铝粉,12,\n\
         坏代码厂,91320413MA0000001X,{VILLAGE},,,,,,,\n\
         无村厂,{},320413999999,,,,,,,\n\
         重复厂,{good},{VILLAGE},,,,,,,\n\
         坐标厂,{},{VILLAGE},,NaN,119.5,,,,\n\
         越界厂,{},{VILLAGE},,95,119.5,,,,\n\
         人数厂,{},{VILLAGE},,,,,,很多,\n\
         ,{},{VILLAGE},,,,,,,\n",
        uscc("0000002"),
        uscc("0000003"),
        uscc("0000004"),
        uscc("0000005"),
        uscc("0000006"),
    );
    let path = write(dir.path(), "e.csv", &csv);
    let report = store.import_enterprises(&path).expect("import");
    assert_eq!(report.inserted, 1);
    let rows: Vec<(usize, Option<&str>)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (3, Some("uscc")),
            (4, Some("village_code")),
            (5, Some("uscc")),
            (6, Some("lat")),
            (7, Some("lat")),
            (8, Some("workers_per_shift")),
            (9, Some("name")),
        ]
    );
    assert!(report.rejected[0].reason.contains("check character"));
    assert!(
        report.rejected[2].reason.contains("duplicate")
            && report.rejected[2].reason.contains("row 2")
    );
    assert!(report.rejected[3].reason.contains("finite"));
    let e = store.enterprise(&good).expect("stored").enterprise;
    assert!(
        e.al_mg && e.dust_involved,
        "铝粉 implies Al/Mg and dust-involved"
    );
    assert_eq!(e.workers_per_shift, Some(12));
}

#[test]
fn reimporting_the_same_file_changes_nothing() {
    let (dir, store) = jintan_store();
    let csv = format!(
        "{HEADER}\n甲厂,{},{VILLAGE},,,,,木粉,5,\n乙厂,{},{VILLAGE},,,,,,,{}\n",
        uscc("0000011"),
        uscc("0000012"),
        uscc("0000011")
    );
    let path = write(dir.path(), "e.csv", &csv);
    let first = store.import_enterprises(&path).expect("first");
    assert_eq!((first.inserted, first.leases_written), (2, 1));
    let second = store.import_enterprises(&path).expect("second");
    assert_eq!(
        (
            second.inserted,
            second.updated,
            second.unchanged,
            second.leases_written
        ),
        (0, 0, 2, 0)
    );
}

#[test]
fn a_file_without_a_required_column_is_refused_and_nothing_changes() {
    let (dir, store) = jintan_store();
    let path = write(
        dir.path(),
        "e.csv",
        "name,village_code\n甲厂,320413001001\n",
    );
    let err = store.import_enterprises(&path).expect_err("refused");
    assert!(matches!(err, ImportError::Table(_)));
    assert!(err.to_string().contains("uscc"), "{err}");
    assert_eq!(store.enterprise_count().expect("count"), 0);
}

#[test]
fn a_database_failure_mid_import_rolls_back_every_row() {
    let (dir, store) = jintan_store();
    store
        .connection()
        .execute_batch(
            "CREATE TRIGGER fail_on_third BEFORE INSERT ON enterprise WHEN new.name = '丙厂'
             BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;",
        )
        .expect("trigger");
    let csv = format!(
        "{HEADER}\n甲厂,{},{VILLAGE},,,,,,,\n乙厂,{},{VILLAGE},,,,,,,\n丙厂,{},{VILLAGE},,,,,,,\n",
        uscc("0000021"),
        uscc("0000022"),
        uscc("0000023")
    );
    let path = write(dir.path(), "e.csv", &csv);
    let err = store.import_enterprises(&path).expect_err("fails");
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(
        store.enterprise_count().expect("count"),
        0,
        "no half-written import"
    );
}

#[test]
fn a_gbk_encoded_file_from_excel_imports() {
    let (dir, store) = jintan_store();
    let text = format!(
        "{HEADER}\n金坛新城木业有限公司,{},{VILLAGE},金城镇,,,,木粉,8,\n",
        uscc("0000031")
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let path = dir.path().join("gbk.csv");
    std::fs::write(&path, &gbk).expect("write");
    let report = store.import_enterprises(&path).expect("import");
    assert_eq!((report.encoding.as_str(), report.inserted), ("gb18030", 1));
    assert_eq!(
        store.search_enterprises("木业", 5).expect("search")[0].name,
        "金坛新城木业有限公司"
    );
}

#[test]
fn an_xlsx_register_imports_with_excel_row_numbers_in_errors() {
    let (dir, store) = jintan_store();
    let path = dir.path().join("e.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in [
        "企业名称",
        "统一社会信用代码",
        "村社区代码",
        "粉尘种类",
        "单班涉粉人数",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, c as u16, *h).expect("cell");
    }
    sheet
        .write_string(1, 0, "金坛新城铝业有限公司")
        .expect("cell");
    sheet.write_string(1, 1, uscc("0000041")).expect("cell");
    sheet.write_string(1, 2, VILLAGE).expect("cell");
    sheet.write_string(1, 3, "铝粉；镁粉").expect("cell");
    sheet.write_number(1, 4, 15.0).expect("cell");
    sheet.write_string(2, 0, "坏厂").expect("cell");
    sheet.write_string(2, 1, "123").expect("cell");
    sheet.write_string(2, 2, VILLAGE).expect("cell");
    book.save(&path).expect("save");
    let report = store.import_enterprises(&path).expect("import");
    assert_eq!(report.inserted, 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(
        (report.rejected[0].row, report.rejected[0].column.as_deref()),
        (3, Some("uscc"))
    );
    let e = store
        .enterprise(&uscc("0000041"))
        .expect("stored")
        .enterprise;
    assert_eq!(e.dust_types.len(), 2);
    assert_eq!(e.workers_per_shift, Some(15));
}

#[test]
fn a_tenant_renting_floors_and_equipment_is_linked_to_its_landlord() {
    let (dir, store) = jintan_store();
    let landlord = uscc("0000051");
    let tenant = uscc("0000052");
    let csv = format!(
        "name,uscc,village_code,landlord_uscc,lease_floors,lease_equipment,lease_safety_agreement,site_storeys\n\
         天武金属科技有限公司,{landlord},{VILLAGE},,,,,\n\
         燊荣金属科技有限公司,{tenant},{VILLAGE},{landlord},3-4,是,否,4\n\
         孤儿厂,{},{VILLAGE},{},1,,,\n",
        uscc("0000053"),
        uscc("0000054"),
    );
    let path = write(dir.path(), "e.csv", &csv);
    let report = store.import_enterprises(&path).expect("import");
    assert_eq!(report.inserted, 3, "the orphan tenant itself is kept");
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].column.as_deref(), Some("landlord_uscc"));
    let t = store.enterprise(&tenant).expect("tenant");
    assert_eq!(t.leases_as_tenant.len(), 1);
    let lease = &t.leases_as_tenant[0];
    assert_eq!(lease.landlord_name, "天武金属科技有限公司");
    assert_eq!(lease.lease.floors.as_deref(), Some("3-4"));
    assert!(lease.lease.equipment_leased);
    assert_eq!(lease.lease.safety_agreement_signed, Some(false));
    let l = store.enterprise(&landlord).expect("landlord");
    assert_eq!(l.sites_as_landlord.len(), 1);
    assert_eq!(l.sites_as_landlord[0].site.storeys, Some(4));
    assert_eq!(l.sites_as_landlord[0].leases[0].tenant_uscc, tenant);
}

#[test]
fn a_reimport_without_optional_columns_keeps_what_was_stored() {
    let (dir, store) = jintan_store();
    let code = uscc("0000061");
    let full = write(
        dir.path(),
        "full.csv",
        &format!("{HEADER}\n甲厂,{code},{VILLAGE},老地址,31.7,119.5,木业,木粉,9,\n"),
    );
    store.import_enterprises(&full).expect("full");
    let thin = write(
        dir.path(),
        "thin.csv",
        &format!("name,uscc,village_code\n甲厂（更名）,{code},{VILLAGE}\n"),
    );
    let r = store.import_enterprises(&thin).expect("thin");
    assert_eq!(r.updated, 1);
    let e = store.enterprise(&code).expect("e").enterprise;
    assert_eq!(e.name, "甲厂（更名）");
    assert_eq!(e.address.as_deref(), Some("老地址"));
    assert_eq!(e.workers_per_shift, Some(9));
    assert_eq!(e.dust_types.len(), 1);
}

#[test]
fn writes_are_there_after_the_store_is_reopened() {
    let (dir, store) = jintan_store();
    let path = write(
        dir.path(),
        "e.csv",
        &format!("{HEADER}\n甲厂,{},{VILLAGE},,,,,,,\n", uscc("0000071")),
    );
    store.import_enterprises(&path).expect("import");
    let db = store.path().to_path_buf();
    drop(store);
    let reopened = Store::open(&db).expect("reopen");
    assert_eq!(reopened.enterprise_count().expect("count"), 1);
}
