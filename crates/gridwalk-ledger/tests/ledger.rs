//! The ledgers read back with calamine: title row, frozen header, Chinese headers in the
//! campaign's order, values and real dates.

use calamine::{open_workbook, Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use gridwalk_ledger::{
    write_all, EnterpriseRow, HazardRow, InspectionRow, LeaseRow, LedgerError, LedgerMeta,
    LedgerRow, LedgerWriter,
};
use std::path::Path;

fn meta() -> LedgerMeta {
    LedgerMeta {
        division_name: "金城镇".into(),
        division_code: "320413100000".into(),
        campaign: Some("常州市粉尘涉爆企业百日攻坚（2024-05-01至2024-08-31）".into()),
        exported_at: NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(15, 30, 0))
            .expect("time"),
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn read(path: &Path) -> (String, calamine::Range<Data>) {
    let mut wb: Xlsx<_> = open_workbook(path).expect("open");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("sheet");
    (name, range)
}

fn text(r: &calamine::Range<Data>, row: u32, col: u32) -> String {
    r.get_value((row, col))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn hazard(n: u32) -> HazardRow {
    HazardRow {
        town: "金城镇".into(),
        village: "东门村".into(),
        enterprise_name: format!("金坛第{n}木业有限公司"),
        uscc: "91320413MA1XXXXX0X".into(),
        description: "除尘器未设置泄爆装置".into(),
        severity: "重大隐患".into(),
        legal_basis: "工贸企业重大事故隐患判定标准 第十一条".into(),
        found_on: Some(date(2026, 3, 2)),
        found_by: "王网格".into(),
        measures: Some("加装泄爆片".into()),
        responsible: Some("李厂长".into()),
        funds_yuan: Some(12_000),
        deadline: Some(date(2026, 4, 1)),
        interim_measures: Some("停用打磨工位".into()),
        status: "整改中".into(),
        reinspected_on: None,
        reinspected_by: None,
        closed_on: None,
        listed: true,
        overdue_days: 12,
    }
}

#[test]
fn the_hazard_ledger_has_a_title_row_the_campaigns_columns_and_real_dates() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hazards.xlsx");
    let rows = (1..=3).map(|n| Ok::<_, LedgerError>(hazard(n)));
    assert_eq!(
        write_all(&meta(), &path, Some(dir.path()), rows).expect("write"),
        3
    );
    let (sheet, r) = read(&path);
    assert_eq!(sheet, "隐患排查治理台账");
    let title = text(&r, 0, 0);
    assert!(title.starts_with("隐患排查治理台账"), "{title}");
    assert!(title.contains("金城镇（320413100000）"), "{title}");
    assert!(title.contains("常州市粉尘涉爆企业百日攻坚"), "{title}");
    let headers: Vec<String> = (0..21).map(|c| text(&r, 1, c)).collect();
    assert_eq!(
        headers.join(","),
        "序号,所属镇(街道),所属村(社区),企业名称,统一社会信用代码,隐患描述,隐患等级,判定依据,\
         发现日期,发现人,整改措施,责任人,整改资金,整改时限,应急预案,整改状态,复查日期,复查人,\
         销号日期,挂牌督办,逾期天数"
    );
    assert_eq!(r.get_value((2, 0)), Some(&Data::Float(1.0)));
    assert_eq!(r.get_value((4, 0)), Some(&Data::Float(3.0)));
    assert_eq!(text(&r, 3, 3), "金坛第2木业有限公司");
    let found = r.get_value((2, 8)).expect("found");
    assert!(found.is_datetime(), "{found:?}");
    assert_eq!(found.as_date(), Some(date(2026, 3, 2)));
    assert_eq!(
        r.get_value((2, 13)).and_then(|d| d.as_date()),
        Some(date(2026, 4, 1))
    );
    assert_eq!(r.get_value((2, 12)), Some(&Data::Float(12_000.0)));
    assert_eq!(text(&r, 2, 10), "加装泄爆片");
    assert_eq!(text(&r, 2, 19), "是");
    assert_eq!(r.get_value((2, 20)), Some(&Data::Float(12.0)));
    // Blank cells stay blank (no re-inspection yet).
    assert!(r.get_value((2, 16)).is_none_or(|d| *d == Data::Empty));
}

#[test]
fn the_header_row_is_frozen_and_the_title_merged_across_the_columns() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("h.xlsx");
    write_all(&meta(), &path, None, [Ok::<_, LedgerError>(hazard(1))]).expect("write");
    let mut wb: Xlsx<_> = open_workbook(&path).expect("open");
    let merged = wb
        .merge_cells_by_sheet_name("隐患排查治理台账")
        .expect("merged");
    assert_eq!(merged.len(), 1);
    let d = merged[0];
    assert_eq!((d.start, d.end), ((0, 0), (0, 20)));
    // The sheet XML carries the frozen pane below the header row (calamine does not read
    // panes): look for it in the archive.
    let xml = sheet_xml(&path);
    assert!(
        xml.contains(
            r#"<pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" state="frozen"/>"#
        ),
        "{}",
        &xml[..xml.len().min(1500)]
    );
    assert!(
        xml.contains(r#"<col min="4" max="4" width="#),
        "column widths set"
    );
}

fn sheet_xml(path: &Path) -> String {
    // The worksheet is stored deflated in the zip: find it with calamine's own zip.
    use std::io::Read;
    let file = std::fs::File::open(path).expect("open");
    let mut zip = zip::ZipArchive::new(file).expect("zip");
    let mut s = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .expect("sheet1")
        .read_to_string(&mut s)
        .expect("read");
    s
}

#[test]
fn the_inspection_and_register_ledgers_read_back() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("i.xlsx");
    let row = InspectionRow {
        town: "金城镇".into(),
        village: "东门村".into(),
        enterprise_name: "金坛木业".into(),
        uscc: "91320413MA1XXXXX0X".into(),
        template: "专家检查表 v3".into(),
        inspector: "赵专家".into(),
        role: "专家".into(),
        started_at: date(2026, 3, 2).and_hms_opt(9, 0, 0),
        finalized_at: date(2026, 3, 2).and_hms_opt(9, 40, 0),
        received_at: date(2026, 3, 2).and_hms_opt(18, 5, 0),
        on_site: "在现场".into(),
        distance_m: Some(35),
        pass_rate: Some(0.875),
        passed: 14,
        failed: 2,
        findings: 2,
        photos: 3,
        review: "已通过".into(),
        reviewer: Some("officer".into()),
        review_comment: None,
        record_hash: "ab".repeat(32),
    };
    write_all(&meta(), &path, None, [Ok::<_, LedgerError>(row)]).expect("write");
    let (sheet, r) = read(&path);
    assert_eq!(sheet, InspectionRow::TITLE);
    assert_eq!(text(&r, 1, 9), "完成时间");
    assert_eq!(
        r.get_value((2, 9)).and_then(|d| d.as_datetime()),
        date(2026, 3, 2).and_hms_opt(9, 40, 0)
    );
    assert_eq!(r.get_value((2, 13)), Some(&Data::Float(0.875)));
    assert_eq!(text(&r, 2, 21), "ab".repeat(32));

    let path = dir.path().join("e.xlsx");
    let row = EnterpriseRow {
        enterprise_name: "金坛木业".into(),
        dust_involved: true,
        dust_types: "木粉、铝粉".into(),
        safety_officer: Some("陈专员".into()),
        safety_officer_confirmed_by: Some("王网格".into()),
        safety_officer_confirmed_on: Some(date(2026, 3, 2)),
        training: "已参训".into(),
        risk_report: "已填报".into(),
        ..EnterpriseRow::default()
    };
    write_all(&meta(), &path, None, [Ok::<_, LedgerError>(row)]).expect("write");
    let (sheet, r) = read(&path);
    assert_eq!(sheet, "粉尘涉爆企业底数台账");
    assert_eq!(text(&r, 1, 14), "安全专员");
    assert_eq!(text(&r, 2, 7), "是");
    assert_eq!(text(&r, 2, 8), "木粉、铝粉");
    assert_eq!(text(&r, 2, 17), "王网格");
    assert_eq!(
        r.get_value((2, 18)).and_then(|d| d.as_date()),
        Some(date(2026, 3, 2))
    );
}

#[test]
fn an_empty_ledger_says_so_and_a_failing_source_saves_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("empty.xlsx");
    let w = LedgerWriter::<HazardRow>::new(&meta(), None).expect("new");
    assert_eq!(w.finish(&path).expect("finish"), 0);
    let (_, r) = read(&path);
    assert_eq!(text(&r, 2, 0), "（无记录）");

    let path = dir.path().join("failed.xlsx");
    let rows = [Ok(hazard(1)), Err("database gone")];
    let err = write_all(&meta(), &path, None, rows).expect_err("fails");
    assert!(
        matches!(err, LedgerError::Source(ref s) if s == "database gone"),
        "{err}"
    );
    assert!(!path.exists());
}

#[test]
fn the_lease_ledger_has_its_columns_area_dates_and_status() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("leases.xlsx");
    let row = LeaseRow {
        town: "金城镇".into(),
        village: "东门村".into(),
        site_name: "东门工业园3号厂房".into(),
        site_address: Some("金坛区东门路8号".into()),
        landlord_name: "金坛东门实业有限公司".into(),
        landlord_uscc: "91320413MA1AAAAA0A".into(),
        tenant_name: "金坛第1木业有限公司".into(),
        tenant_uscc: "91320413MA1XXXXX0X".into(),
        floors: Some("3-4".into()),
        area_m2: Some(1250.5),
        start_date: Some(date(2025, 3, 1)),
        end_date: Some(date(2028, 2, 29)),
        use_process: "木制品加工（木粉）".into(),
        equipment: "是（砂光机2台）".into(),
        safety_agreement: Some("已签订".into()),
        checked_on: Some(date(2026, 5, 20)),
        checked_by: Some("张专家".into()),
        failed_items: Some(2),
        status: "不适租（1项未整改：FZ-P-05）".into(),
        open_hazards: Some(1),
        overdue_hazards: Some(0),
    };
    let rows = write_all(&meta(), &path, None, [Ok::<_, LedgerError>(row)]).expect("write");
    assert_eq!(rows, 1);
    let (sheet, r) = read(&path);
    assert_eq!(sheet, "厂中厂台账");
    let headers: Vec<String> = (0..22).map(|c| text(&r, 1, c)).collect();
    assert_eq!(headers[3], "厂区名称");
    assert_eq!(headers[10], "租赁面积(㎡)");
    assert_eq!(headers[19], "适租状态");
    assert_eq!(headers[21], "逾期隐患数");
    assert_eq!(
        r.get_value((2, 10)).and_then(|d| d.get_float()),
        Some(1250.5)
    );
    assert_eq!(
        r.get_value((2, 12)).and_then(|d| d.as_date()),
        Some(date(2028, 2, 29))
    );
    assert_eq!(text(&r, 2, 19), "不适租（1项未整改：FZ-P-05）");
    assert_eq!(r.get_value((2, 18)).and_then(|d| d.get_float()), Some(2.0));
}
