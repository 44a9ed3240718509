//! `gridwalk templates import` with a town office's workbook (docs/checklist-excel.md).

use std::path::Path;
use std::process::{Command, Output};

fn gridwalk(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridwalk"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run gridwalk")
}

fn workbook(path: &Path, item_answer_type: &str) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let t = book.add_worksheet();
    t.set_name("templates").expect("name");
    for (c, v) in ["id", "version", "title_zh", "role", "kind"]
        .iter()
        .enumerate()
    {
        t.write_string(0, c as u16, *v).expect("cell");
    }
    for (c, v) in ["town-check", "2", "乡镇检查表", "officer", "spot_check"]
        .iter()
        .enumerate()
    {
        t.write_string(1, c as u16, *v).expect("cell");
    }
    let i = book.add_worksheet();
    i.set_name("items").expect("name");
    let header = [
        "template_id",
        "section_id",
        "section_title_zh",
        "item_id",
        "text_zh",
        "answer_type",
        "fail_when",
    ];
    for (c, v) in header.iter().enumerate() {
        i.write_string(0, c as u16, *v).expect("cell");
    }
    let row = [
        "town-check",
        "s1",
        "现场",
        "TC-01",
        "是否建立粉尘清扫制度",
        item_answer_type,
        "no",
    ];
    for (c, v) in row.iter().enumerate() {
        i.write_string(1, c as u16, *v).expect("cell");
    }
    book.save(path).expect("save");
}

#[test]
fn a_valid_workbook_adds_its_template_and_a_bad_one_names_the_cell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("d.db");
    let good = dir.path().join("good.xlsx");
    workbook(&good, "yes_no_na");
    let o = gridwalk(&db, &["templates", "import", good.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = gridwalk(&db, &["--json", "templates", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let found = v
        .as_array()
        .expect("array")
        .iter()
        .any(|t| t["id"] == "town-check" && t["version"] == 2);
    assert!(found, "{v}");

    let bad = dir.path().join("bad.xlsx");
    workbook(&bad, "maybe");
    let o = gridwalk(&db, &["templates", "import", bad.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("items") && err.contains("answer_type"),
        "{err}"
    );
}
