//! Divisions files: `code,name,level,parent_code`.

use crate::tabular::Table;
use crate::{cell, require, row_err, Change, ImportError, ImportReport};
use gridwalk_core::division::Division;
use gridwalk_core::{DivisionCode, DivisionLevel};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The divisions of a store, as an import reads and writes them.
pub trait DivisionStore {
    /// What reading or writing the store can fail with.
    type Error;
    /// True if the store holds a division with this code.
    fn has_division(&mut self, code: &DivisionCode) -> Result<bool, Self::Error>;
    /// Inserts or updates a division (keyed by code); says what changed.
    fn write_division(&mut self, d: &Division) -> Result<Change, Self::Error>;
}

/// Imports the divisions of `table` (read from `path`, named in errors) into `store`.
///
/// Bad rows are skipped and reported; a row whose parent is neither in the file nor in
/// the store is refused. The caller runs this in one transaction of its store.
pub fn import_divisions<S: DivisionStore>(
    table: &Table,
    path: &Path,
    store: &mut S,
) -> Result<ImportReport, ImportError<S::Error>> {
    let c_code = require(table, path, &["code", "代码", "区划代码"])?;
    let c_name = require(table, path, &["name", "名称"])?;
    let c_level = require(table, path, &["level", "级别"])?;
    let c_parent = table.column(&["parent_code", "上级代码"]);
    let mut report = ImportReport::for_table(table);
    let mut good: Vec<Division> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let parsed = (|| {
            let code_s = cell(cells, Some(c_code)).ok_or_else(|| row_err(row, "code", "empty"))?;
            let code = DivisionCode::parse(code_s).map_err(|e| row_err(row, "code", e))?;
            let name = cell(cells, Some(c_name)).ok_or_else(|| row_err(row, "name", "empty"))?;
            let level_s =
                cell(cells, Some(c_level)).ok_or_else(|| row_err(row, "level", "empty"))?;
            let level = DivisionLevel::parse(level_s).map_err(|e| row_err(row, "level", e))?;
            code.check_level(level)
                .map_err(|e| row_err(row, "level", e))?;
            let parent = cell(cells, c_parent)
                .map(DivisionCode::parse)
                .transpose()
                .map_err(|e| row_err(row, "parent_code", e))?;
            if let Some(p) = &parent {
                if !code.is_within(p) {
                    return Err(row_err(
                        row,
                        "parent_code",
                        format!("{code} does not lie inside {p}"),
                    ));
                }
            }
            if let Some(first) = seen.get(code.as_str()) {
                return Err(row_err(row, "code", format!("duplicate of row {first}")));
            }
            Ok(Division {
                code,
                name: name.to_string(),
                level,
                parent_code: parent,
            })
        })();
        match parsed {
            Ok(d) => {
                seen.insert(d.code.as_str().to_string(), row);
                good.push(d);
            }
            Err(e) => report.rejected.push(e),
        }
    }
    let in_file: HashSet<String> = good.iter().map(|d| d.code.as_str().to_string()).collect();
    for d in &good {
        if d.level != DivisionLevel::District {
            if let Some(p) = &d.parent_code {
                let known = in_file.contains(p.as_str())
                    || store.has_division(p).map_err(ImportError::Store)?;
                if !known {
                    let row = seen.get(d.code.as_str()).copied().unwrap_or(0);
                    report.rejected.push(row_err(
                        row,
                        "parent_code",
                        format!("unknown parent division {p}"),
                    ));
                    continue;
                }
            }
        }
        let change = store.write_division(d).map_err(ImportError::Store)?;
        report.count(change);
    }
    report.rejected.sort_by_key(|e| e.row);
    Ok(report)
}
