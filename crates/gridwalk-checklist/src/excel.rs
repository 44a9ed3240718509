//! Authoring templates in Excel (`.xlsx`), read with `calamine`.
//!
//! A workbook holds two sheets (format in `docs/checklist-excel.md`):
//!
//! * `templates`: one row per template: `id`, `version`, `title_zh`, `role`, `kind`;
//! * `items`: one row per item: `template_id`, `section_id`, `section_title_zh`,
//!   `item_id`, `text_zh`, `help_zh`, `legal_document`, `legal_article`,
//!   `legal_unconfirmed`, `answer_type`, `unit`, `integer`, `choices`, `multiple`,
//!   `required`, `major_hazard`, `photo_required_on_fail`, `applies_if`, `fail_when`,
//!   `sets_fact`, `sets_fact_when`.
//!
//! The first row of each sheet is the header; columns are found by name, in any
//! order. Every problem is reported with its sheet, row, column and reason, and all
//! problems are reported at once.

use crate::condition::Condition;
use crate::facts::FactName;
use crate::template::{
    AnswerType, Choice, FactEffect, FailWhen, Item, KnownFact, LegalBasis, Role, Section, Template,
    TemplateError, TemplateKind,
};
use calamine::{open_workbook_from_rs, Data, Range, Reader, Xlsx};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::path::Path;

/// Name of the sheet listing templates.
pub const TEMPLATES_SHEET: &str = "templates";
/// Name of the sheet listing items.
pub const ITEMS_SHEET: &str = "items";

/// One problem in a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub sheet: String,
    /// 1-based row number as Excel shows it.
    pub row: Option<u32>,
    /// Column letter and header name, e.g. `J (answer_type)`.
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sheet `{}`", self.sheet)?;
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column {c}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Every problem found in a workbook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors(pub Vec<ImportError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the workbook:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl ImportErrors {
    fn one(sheet: &str, reason: impl Into<String>) -> Self {
        ImportErrors(vec![ImportError {
            sheet: sheet.into(),
            row: None,
            column: None,
            reason: reason.into(),
        }])
    }
}

/// Reads templates from an `.xlsx` file on disk.
pub fn import_xlsx_path(path: &Path) -> Result<Vec<Template>, ImportErrors> {
    let bytes = std::fs::read(path)
        .map_err(|e| ImportErrors::one("", format!("cannot read {}: {e}", path.display())))?;
    import_xlsx(&bytes)
}

/// Reads and validates templates from the bytes of an `.xlsx` workbook.
pub fn import_xlsx(bytes: &[u8]) -> Result<Vec<Template>, ImportErrors> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| ImportErrors::one("", format!("not a readable .xlsx workbook: {e}")))?;
    let mut sheet = |name: &str| {
        wb.worksheet_range(name).map_err(|_| {
            ImportErrors::one(name, format!("the workbook has no sheet named `{name}`"))
        })
    };
    let templates = sheet(TEMPLATES_SHEET)?;
    let items = sheet(ITEMS_SHEET)?;
    let mut errs = Vec::new();
    let mut out = read_templates(&templates, &mut errs);
    read_items(&items, &mut out, &mut errs);
    let mut result = Vec::new();
    for (t, row) in out {
        if t.items().next().is_none() {
            errs.push(ImportError {
                sheet: TEMPLATES_SHEET.into(),
                row: Some(row),
                column: None,
                reason: format!("template `{}` has no items", t.id),
            });
            continue;
        }
        if let Err(problems) = t.validate() {
            // Item problems were reported per row; report what is left on the template row.
            for p in problems {
                if matches!(
                    p,
                    TemplateError::EmptyTemplateId | TemplateError::ZeroVersion
                ) {
                    errs.push(ImportError {
                        sheet: TEMPLATES_SHEET.into(),
                        row: Some(row),
                        column: None,
                        reason: p.to_string(),
                    });
                }
            }
        }
        result.push(t);
    }
    if errs.is_empty() {
        Ok(result)
    } else {
        Err(ImportErrors(errs))
    }
}

fn col_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// A sheet with its header resolved.
struct Sheet<'a> {
    name: &'static str,
    range: &'a Range<Data>,
    cols: BTreeMap<&'static str, usize>,
    first_col: usize,
    first_row: u32,
}

struct Row<'s, 'a> {
    sheet: &'s Sheet<'a>,
    idx: usize,
}

impl<'a> Sheet<'a> {
    fn open(
        name: &'static str,
        range: &'a Range<Data>,
        known: &[&'static str],
        required: &[&'static str],
        errs: &mut Vec<ImportError>,
    ) -> Option<Sheet<'a>> {
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut cols = BTreeMap::new();
        let header: Vec<String> = range
            .rows()
            .next()
            .map(|r| r.iter().map(cell_text).collect())
            .unwrap_or_default();
        for (i, h) in header.iter().enumerate() {
            let h = h.trim();
            if h.is_empty() {
                continue;
            }
            match known.iter().find(|k| **k == h) {
                Some(k) => {
                    cols.insert(*k, i);
                }
                None => errs.push(ImportError {
                    sheet: name.into(),
                    row: Some(r0 + 1),
                    column: Some(col_letter(c0 as usize + i)),
                    reason: format!("unknown column `{h}`"),
                }),
            }
        }
        let mut ok = true;
        for r in required {
            if !cols.contains_key(r) {
                ok = false;
                errs.push(ImportError {
                    sheet: name.into(),
                    row: Some(r0 + 1),
                    column: None,
                    reason: format!("missing required column `{r}`"),
                });
            }
        }
        ok.then_some(Sheet {
            name,
            range,
            cols,
            first_col: c0 as usize,
            first_row: r0,
        })
    }

    fn rows(&self) -> impl Iterator<Item = Row<'_, 'a>> {
        let n = self.range.height();
        (1..n)
            .map(move |idx| Row { sheet: self, idx })
            .filter(|r| !r.is_blank())
    }
}

impl Row<'_, '_> {
    fn number(&self) -> u32 {
        self.sheet.first_row + self.idx as u32 + 1
    }

    fn is_blank(&self) -> bool {
        (0..self.sheet.range.width()).all(|c| {
            self.sheet
                .range
                .get((self.idx, c))
                .is_none_or(|d| cell_text(d).trim().is_empty())
        })
    }

    fn get(&self, col: &str) -> String {
        self.sheet
            .cols
            .get(col)
            .and_then(|c| self.sheet.range.get((self.idx, *c)))
            .map(cell_text)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn err(&self, col: &str, reason: impl Into<String>) -> ImportError {
        ImportError {
            sheet: self.sheet.name.into(),
            row: Some(self.number()),
            column: Some(match self.sheet.cols.get(col) {
                Some(c) => format!("{} ({col})", col_letter(self.sheet.first_col + c)),
                None => col.to_string(),
            }),
            reason: reason.into(),
        }
    }

    fn required(&self, col: &str, errs: &mut Vec<ImportError>) -> String {
        let v = self.get(col);
        if v.is_empty() {
            errs.push(self.err(col, "must not be empty"));
        }
        v
    }

    fn flag(&self, col: &str, default: bool, errs: &mut Vec<ImportError>) -> bool {
        let v = self.get(col);
        match v.to_ascii_lowercase().as_str() {
            "" => default,
            "true" | "yes" | "y" | "1" | "是" => true,
            "false" | "no" | "n" | "0" | "否" => false,
            _ => {
                errs.push(self.err(col, format!("`{v}` is not TRUE/FALSE")));
                default
            }
        }
    }
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        other => other.to_string(),
    }
}

const TEMPLATE_COLS: &[&str] = &["id", "version", "title_zh", "role", "kind"];
const ITEM_COLS: &[&str] = &[
    "template_id",
    "section_id",
    "section_title_zh",
    "item_id",
    "text_zh",
    "help_zh",
    "legal_document",
    "legal_article",
    "legal_unconfirmed",
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
    "photo_required_when",
    "known",
];
const ITEM_REQUIRED: &[&str] = &[
    "template_id",
    "section_id",
    "item_id",
    "text_zh",
    "answer_type",
];

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn read_templates(range: &Range<Data>, errs: &mut Vec<ImportError>) -> Vec<(Template, u32)> {
    let Some(sheet) = Sheet::open(TEMPLATES_SHEET, range, TEMPLATE_COLS, TEMPLATE_COLS, errs)
    else {
        return Vec::new();
    };
    let mut out: Vec<(Template, u32)> = Vec::new();
    for row in sheet.rows() {
        let id = row.required("id", errs);
        let version_text = row.required("version", errs);
        let version = match version_text.parse::<u32>() {
            Ok(v) if v >= 1 => v,
            _ => {
                if !version_text.is_empty() {
                    errs.push(row.err(
                        "version",
                        format!("`{version_text}` is not a whole number ≥ 1"),
                    ));
                }
                1
            }
        };
        let title_zh = row.required("title_zh", errs);
        let role_text = row.required("role", errs);
        let role = parse_enum::<Role>(&role_text);
        if role.is_none() && !role_text.is_empty() {
            errs.push(row.err(
                "role",
                format!("unknown role `{role_text}` (grid_worker, expert, officer, supervisor)"),
            ));
        }
        let kind_text = row.required("kind", errs);
        let kind = parse_enum::<TemplateKind>(&kind_text);
        if kind.is_none() && !kind_text.is_empty() {
            errs.push(row.err("kind", format!("unknown kind `{kind_text}` (survey, dust_verification, major_hazard, pre_lease, spot_check, reinspection)")));
        }
        if let Some((_, first)) = out.iter().find(|(t, _)| t.id == id) {
            errs.push(row.err(
                "id",
                format!("duplicate template id `{id}` (first at row {first})"),
            ));
            continue;
        }
        if let (false, Some(role), Some(kind)) = (id.is_empty(), role, kind) {
            out.push((
                Template {
                    id,
                    version,
                    title_zh,
                    role,
                    kind,
                    requires_signature: None,
                    sections: Vec::new(),
                },
                row.number(),
            ));
        }
    }
    out
}

fn parse_choices(text: &str) -> Result<Vec<Choice>, String> {
    let mut out = Vec::new();
    for part in text
        .split([';', '；', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let Some((v, l)) = part.split_once('=') else {
            return Err(format!("choice `{part}` must be written value=标签"));
        };
        out.push(Choice {
            value: v.trim().to_string(),
            label_zh: l.trim().to_string(),
        });
    }
    Ok(out)
}

fn error_column(e: &TemplateError) -> &'static str {
    match e {
        TemplateError::EmptyText(_) => "text_zh",
        TemplateError::MissingFailWhen(_) | TemplateError::FailWhenOnNonYesNo { .. } => "fail_when",
        TemplateError::NoChoices(_)
        | TemplateError::DuplicateChoice { .. }
        | TemplateError::EmptyChoice { .. } => "choices",
        TemplateError::NeverFails(_) => "major_hazard",
        TemplateError::BadFactEffect { .. } => "sets_fact",
        TemplateError::BadPhotoRequiredWhen { .. } => "photo_required_when",
        TemplateError::BadKnown { .. } => "known",
        _ => "item_id",
    }
}

fn read_items(range: &Range<Data>, templates: &mut [(Template, u32)], errs: &mut Vec<ImportError>) {
    let Some(sheet) = Sheet::open(ITEMS_SHEET, range, ITEM_COLS, ITEM_REQUIRED, errs) else {
        return;
    };
    // (template id, item id) -> first row
    let mut seen: BTreeMap<(String, String), u32> = BTreeMap::new();
    for row in sheet.rows() {
        let n_errs = errs.len();
        let template_id = row.required("template_id", errs);
        let section_id = row.required("section_id", errs);
        let section_title = row.get("section_title_zh");
        let id = row.required("item_id", errs);
        let text_zh = row.required("text_zh", errs);
        let help_zh = row.get("help_zh");

        let doc = row.get("legal_document");
        let article = row.get("legal_article");
        let legal_basis = match (doc.is_empty(), article.is_empty()) {
            (true, true) => None,
            (false, false) => Some(LegalBasis {
                document: doc,
                article,
                unconfirmed: row.flag("legal_unconfirmed", false, errs),
            }),
            (true, false) => {
                errs.push(row.err("legal_document", "an article needs its document"));
                None
            }
            (false, true) => {
                errs.push(row.err("legal_article", "a document needs its article"));
                None
            }
        };

        let type_text = row.required("answer_type", errs);
        let unit = row.get("unit");
        let choices_text = row.get("choices");
        let answer_type = match type_text.as_str() {
            "yes_no_na" => Some(AnswerType::YesNoNa),
            "number" => Some(AnswerType::Number {
                unit: unit.clone(),
                integer: row.flag("integer", false, errs),
            }),
            "choice" => match parse_choices(&choices_text) {
                Ok(choices) => Some(AnswerType::Choice {
                    choices,
                    multiple: row.flag("multiple", false, errs),
                }),
                Err(reason) => {
                    errs.push(row.err("choices", reason));
                    None
                }
            },
            "text" => Some(AnswerType::Text),
            "photo" => Some(AnswerType::Photo),
            "" => None,
            other => {
                errs.push(row.err(
                    "answer_type",
                    format!(
                        "unknown answer type `{other}` (yes_no_na, number, choice, text, photo)"
                    ),
                ));
                None
            }
        };
        if !unit.is_empty() && type_text != "number" {
            errs.push(row.err("unit", "only number items take a unit"));
        }
        if !choices_text.is_empty() && type_text != "choice" {
            errs.push(row.err("choices", "only choice items take choices"));
        }

        let cond_text = row.get("applies_if");
        let applies_if = if cond_text.is_empty() {
            None
        } else {
            match Condition::parse(&cond_text) {
                Ok(c) => Some(c),
                Err(e) => {
                    errs.push(row.err("applies_if", e.to_string()));
                    None
                }
            }
        };

        let fail_text = row.get("fail_when");
        let fail_when = if fail_text.is_empty() {
            None
        } else {
            let f = parse_enum::<FailWhen>(&fail_text.to_ascii_lowercase());
            if f.is_none() {
                errs.push(row.err(
                    "fail_when",
                    format!("`{fail_text}` is not yes, no or never"),
                ));
            }
            f
        };

        let fact_text = row.get("sets_fact");
        let when_text = row.get("sets_fact_when");
        let sets_fact = if fact_text.is_empty() {
            if !when_text.is_empty() {
                errs.push(row.err("sets_fact_when", "needs a fact in sets_fact"));
            }
            None
        } else {
            match FactName::parse(&fact_text) {
                Some(fact) => Some(FactEffect {
                    fact,
                    when: when_text
                        .split([',', '，', ';'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                }),
                None => {
                    errs.push(row.err("sets_fact", format!("unknown fact `{fact_text}`")));
                    None
                }
            }
        };

        let required = row.flag("required", true, errs);
        let major_hazard = row.flag("major_hazard", false, errs);
        let photo_required_on_fail = row.flag("photo_required_on_fail", false, errs);
        let photo_required_when: Vec<String> = row
            .get("photo_required_when")
            .split([',', '，', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let known_text = row.get("known");
        let known = if known_text.is_empty() {
            None
        } else {
            let k = parse_enum::<KnownFact>(&known_text);
            if k.is_none() {
                errs.push(row.err(
                    "known",
                    format!(
                        "unknown register fact `{known_text}` (safety_officer_present, \
                         safety_officer_name, safety_officer_phone, risk_report, training)"
                    ),
                ));
            }
            k
        };

        let Some(tpl) = templates.iter_mut().find(|(t, _)| t.id == template_id) else {
            if !template_id.is_empty() {
                errs.push(row.err(
                    "template_id",
                    format!("no template `{template_id}` in sheet `{TEMPLATES_SHEET}`"),
                ));
            }
            continue;
        };
        if !id.is_empty() {
            if let Some(first) = seen.get(&(template_id.clone(), id.clone())) {
                errs.push(row.err(
                    "item_id",
                    format!("duplicate item id `{id}` (first at row {first})"),
                ));
                continue;
            }
            seen.insert((template_id.clone(), id.clone()), row.number());
        }
        let Some(answer_type) = answer_type else {
            continue;
        };
        if errs.len() > n_errs {
            continue;
        }
        let item = Item {
            id,
            text_zh,
            help_zh,
            legal_basis,
            answer_type,
            required,
            major_hazard,
            photo_required_on_fail,
            applies_if,
            fail_when,
            sets_fact,
            photo_required_when,
            known,
        };
        for p in item.problems() {
            errs.push(row.err(error_column(&p), p.to_string()));
        }
        let sections = &mut tpl.0.sections;
        match sections.iter_mut().find(|s| s.id == section_id) {
            Some(s) => {
                if !section_title.is_empty() && section_title != s.title_zh {
                    errs.push(row.err(
                        "section_title_zh",
                        format!("section `{section_id}` is already titled `{}`", s.title_zh),
                    ));
                }
                s.items.push(item);
            }
            None => {
                if section_title.is_empty() {
                    errs.push(row.err(
                        "section_title_zh",
                        format!("the first row of section `{section_id}` must give its title"),
                    ));
                }
                sections.push(Section {
                    id: section_id,
                    title_zh: section_title,
                    items: vec![item],
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(col_letter(0), "A");
        assert_eq!(col_letter(25), "Z");
        assert_eq!(col_letter(26), "AA");
        assert_eq!(col_letter(27), "AB");
        assert_eq!(col_letter(701), "ZZ");
        assert_eq!(col_letter(702), "AAA");
    }

    #[test]
    fn choices_are_written_value_equals_label() {
        let c = parse_choices("a=甲；b = 乙\nc=丙").expect("valid");
        assert_eq!(c.len(), 3);
        assert_eq!(c[1].value, "b");
        assert_eq!(c[1].label_zh, "乙");
        assert!(parse_choices("a").is_err());
    }
}
