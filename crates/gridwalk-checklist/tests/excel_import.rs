//! Importing templates authored in Excel.

use gridwalk_checklist::{
    import_xlsx, import_xlsx_path, AnswerType, FailWhen, ImportErrors, TemplateKind,
};
use rust_xlsxwriter::Workbook;

const ITEM_HEADER: &[&str] = &[
    "template_id",
    "section_id",
    "section_title_zh",
    "item_id",
    "text_zh",
    "help_zh",
    "legal_document",
    "legal_article",
    "answer_type",
    "unit",
    "integer",
    "choices",
    "multiple",
    "required",
    "major_hazard",
    "photo_required_on_fail",
    "applies_if",
    "fail_when",
    "sets_fact",
    "sets_fact_when",
];

fn good_items() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "town-check",
            "dust",
            "除尘系统",
            "MH-D-03",
            "干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施",
            "拍摄泄爆片",
            "10号令",
            "第十一条(三)",
            "yes_no_na",
            "",
            "",
            "",
            "",
            "TRUE",
            "TRUE",
            "TRUE",
            "DRY_COLLECTOR",
            "yes",
            "",
            "",
        ],
        vec![
            "town-check",
            "dust",
            "",
            "MH-D-04a",
            "铝镁等金属粉尘除尘系统采用正压除尘方式",
            "",
            "10号令",
            "第十一条(四)",
            "yes_no_na",
            "",
            "",
            "",
            "",
            "",
            "是",
            "是",
            "AL_MG && DRY_COLLECTOR",
            "yes",
            "",
            "",
        ],
        vec![
            "town-check",
            "basic",
            "基本情况",
            "X-01",
            "每班涉粉作业人数",
            "",
            "",
            "",
            "number",
            "人",
            "TRUE",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "WORKERS_PER_SHIFT",
            "",
        ],
        vec![
            "town-check",
            "basic",
            "",
            "X-02",
            "风机位置",
            "",
            "",
            "",
            "choice",
            "",
            "",
            "negative=负压;positive=正压",
            "FALSE",
            "",
            "",
            "",
            "",
            "",
            "POS_PRESSURE",
            "positive",
        ],
        vec![
            "town-check",
            "basic",
            "",
            "X-03",
            "备注",
            "",
            "",
            "",
            "text",
            "",
            "",
            "",
            "",
            "FALSE",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
}

fn workbook(templates: &[[&str; 5]], items: &[Vec<&str>], header: &[&str]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ts = wb.add_worksheet();
    ts.set_name("templates").expect("name");
    for (c, h) in ["id", "version", "title_zh", "role", "kind"]
        .iter()
        .enumerate()
    {
        ts.write_string(0, c as u16, *h).expect("write");
    }
    for (r, row) in templates.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if c == 1 {
                if let Ok(n) = v.parse::<f64>() {
                    ts.write_number(r as u32 + 1, 1, n).expect("write");
                    continue;
                }
            }
            ts.write_string(r as u32 + 1, c as u16, *v).expect("write");
        }
    }
    let is = wb.add_worksheet();
    is.set_name("items").expect("name");
    for (c, h) in header.iter().enumerate() {
        is.write_string(0, c as u16, *h).expect("write");
    }
    for (r, row) in items.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            match *v {
                "" => {}
                "TRUE" => {
                    is.write_boolean(r as u32 + 1, c as u16, true)
                        .expect("write");
                }
                "FALSE" => {
                    is.write_boolean(r as u32 + 1, c as u16, false)
                        .expect("write");
                }
                s => {
                    is.write_string(r as u32 + 1, c as u16, s).expect("write");
                }
            }
        }
    }
    wb.save_to_buffer().expect("xlsx bytes")
}

const TOWN: [&str; 5] = ["town-check", "2", "乡镇检查表", "officer", "spot_check"];

fn errors_of(bytes: &[u8]) -> ImportErrors {
    import_xlsx(bytes).expect_err("the workbook is refused")
}

fn has(errs: &ImportErrors, row: u32, column: &str, reason: &str) -> bool {
    errs.0.iter().any(|e| {
        e.sheet == "items"
            && e.row == Some(row)
            && e.column.as_deref().is_some_and(|c| c.contains(column))
            && e.reason.contains(reason)
    })
}

#[test]
fn a_well_formed_workbook_becomes_valid_templates() {
    let bytes = workbook(&[TOWN], &good_items(), ITEM_HEADER);
    let templates = import_xlsx(&bytes).expect("valid workbook");
    assert_eq!(templates.len(), 1);
    let t = &templates[0];
    assert_eq!(
        (t.id.as_str(), t.version, t.kind),
        ("town-check", 2, TemplateKind::SpotCheck)
    );
    assert_eq!(t.validate(), Ok(()));
    assert_eq!(t.sections.len(), 2);
    assert_eq!(t.sections[0].title_zh, "除尘系统");
    let d03 = t.item("MH-D-03").expect("item");
    assert!(d03.major_hazard && d03.photo_required_on_fail && d03.required);
    assert_eq!(d03.fail_when, Some(FailWhen::Yes));
    assert_eq!(
        d03.legal_basis.as_ref().map(ToString::to_string),
        Some("10号令 第十一条(三)".into())
    );
    let d04 = t.item("MH-D-04a").expect("item");
    assert!(d04.major_hazard, "是 reads as TRUE");
    assert_eq!(
        d04.applies_if.as_ref().map(ToString::to_string),
        Some("AL_MG && DRY_COLLECTOR".into())
    );
    let x02 = t.item("X-02").expect("item");
    let AnswerType::Choice { choices, multiple } = &x02.answer_type else {
        panic!("choice");
    };
    assert!(!multiple);
    assert_eq!(choices[1].label_zh, "正压");
    assert_eq!(
        x02.sets_fact.as_ref().map(|f| f.when.clone()),
        Some(vec!["positive".to_string()])
    );
    assert!(!t.item("X-03").expect("item").required);
}

#[test]
fn a_workbook_can_be_read_from_a_path() {
    let bytes = workbook(&[TOWN], &good_items(), ITEM_HEADER);
    let dir = std::env::temp_dir().join(format!("gridwalk-checklist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("town.xlsx");
    std::fs::write(&path, &bytes).expect("write");
    assert_eq!(import_xlsx_path(&path).map(|t| t.len()), Ok(1));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn bad_rows_are_reported_with_sheet_row_column_and_reason() {
    let mut items = good_items();
    // Row 7: a duplicate of MH-D-03 (first at row 2).
    items.push(items[0].clone());
    // Row 8: an unknown answer type.
    items.push(vec![
        "town-check",
        "basic",
        "",
        "X-04",
        "照片",
        "",
        "",
        "",
        "picture",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]);
    // Row 9: a condition naming an unknown fact.
    items.push(vec![
        "town-check",
        "basic",
        "",
        "X-05",
        "是否喷粉",
        "",
        "",
        "",
        "yes_no_na",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "DRY_COLLECTOR && SPRAYING",
        "no",
        "",
        "",
    ]);
    // Row 10: a choice item without choices.
    items.push(vec![
        "town-check",
        "basic",
        "",
        "X-06",
        "行业",
        "",
        "",
        "",
        "choice",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]);
    // Row 11: a yes/no item that does not say which answer fails.
    items.push(vec![
        "town-check",
        "basic",
        "",
        "X-07",
        "是否有专员",
        "",
        "",
        "",
        "yes_no_na",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]);
    // Row 12: an item of a template that does not exist.
    items.push(vec![
        "ghost", "basic", "基本", "X-08", "文本", "", "", "", "text", "", "", "", "", "", "", "",
        "", "", "", "",
    ]);
    // Row 13: an article without its document, and a bad boolean.
    items.push(vec![
        "town-check",
        "basic",
        "",
        "X-09",
        "文本",
        "",
        "",
        "第七条",
        "text",
        "",
        "",
        "",
        "",
        "maybe",
        "",
        "",
        "",
        "",
        "",
        "",
    ]);
    let errs = errors_of(&workbook(&[TOWN], &items, ITEM_HEADER));
    assert!(
        has(
            &errs,
            7,
            "D (item_id)",
            "duplicate item id `MH-D-03` (first at row 2)"
        ),
        "{errs}"
    );
    assert!(
        has(&errs, 8, "I (answer_type)", "unknown answer type `picture`"),
        "{errs}"
    );
    assert!(
        has(&errs, 9, "Q (applies_if)", "unknown fact `SPRAYING`"),
        "{errs}"
    );
    assert!(has(&errs, 10, "L (choices)", "has no choices"), "{errs}");
    assert!(
        has(&errs, 11, "R (fail_when)", "must say which answer fails"),
        "{errs}"
    );
    assert!(
        has(&errs, 12, "A (template_id)", "no template `ghost`"),
        "{errs}"
    );
    assert!(
        has(
            &errs,
            13,
            "G (legal_document)",
            "an article needs its document"
        ),
        "{errs}"
    );
    assert!(
        has(&errs, 13, "N (required)", "`maybe` is not TRUE/FALSE"),
        "{errs}"
    );
    assert_eq!(errs.0.len(), 8, "{errs}");
}

#[test]
fn template_rows_are_checked_too() {
    let templates = [
        TOWN,
        ["town-check", "1", "重复", "officer", "spot_check"],
        ["other", "0", "坏版本", "mayor", "audit"],
    ];
    let errs = errors_of(&workbook(&templates, &good_items(), ITEM_HEADER));
    let on = |row: u32, text: &str| {
        errs.0
            .iter()
            .any(|e| e.sheet == "templates" && e.row == Some(row) && e.reason.contains(text))
    };
    assert!(
        on(3, "duplicate template id `town-check` (first at row 2)"),
        "{errs}"
    );
    assert!(on(4, "`0` is not a whole number"), "{errs}");
    assert!(on(4, "unknown role `mayor`"), "{errs}");
    assert!(on(4, "unknown kind `audit`"), "{errs}");
}

#[test]
fn missing_sheets_columns_and_garbage_bytes_are_refused() {
    let errs = errors_of(b"not a zip file");
    assert!(errs.0[0].reason.contains("not a readable .xlsx"), "{errs}");

    let header: Vec<&str> = ITEM_HEADER
        .iter()
        .copied()
        .filter(|h| *h != "answer_type")
        .collect();
    let errs = errors_of(&workbook(&[TOWN], &[], &header));
    assert!(
        errs.0
            .iter()
            .any(|e| e.reason.contains("missing required column `answer_type`")),
        "{errs}"
    );

    let mut header: Vec<&str> = ITEM_HEADER.to_vec();
    header.push("colour");
    let errs = errors_of(&workbook(&[TOWN], &good_items(), &header));
    assert!(
        errs.0
            .iter()
            .any(|e| e.reason.contains("unknown column `colour`")),
        "{errs}"
    );

    let mut wb = Workbook::new();
    wb.add_worksheet().set_name("templates").expect("name");
    let errs = errors_of(&wb.save_to_buffer().expect("bytes"));
    assert!(
        errs.0
            .iter()
            .any(|e| e.reason.contains("no sheet named `items`")),
        "{errs}"
    );
}

#[test]
fn a_template_without_items_is_refused() {
    let errs = errors_of(&workbook(&[TOWN], &[], ITEM_HEADER));
    assert!(
        errs.0
            .iter()
            .any(|e| e.sheet == "templates" && e.reason.contains("has no items")),
        "{errs}"
    );
}
