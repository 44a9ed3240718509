//! The enterprise register's spreadsheets, read once for every store that holds a
//! register (`docs/register-import.md`): the phone's SQLite store (`gridwalk-device`)
//! and the server's (`gridwalk-server`).
//!
//! This crate reads a CSV or XLSX file ([`tabular`]: UTF-8, UTF-8 with BOM or GBK),
//! maps its header row, validates every row and merges the good ones into a store
//! through [`DivisionStore`] / [`EnterpriseStore`]. The rules live here, so both sides
//! accept and refuse the same rows with the same row numbers and messages, and a
//! re-import merges the same way (columns absent from a file keep the stored value, a
//! blank cell of a present column clears it, divisions before enterprises, leases after
//! every enterprise of the file). The stores only read and write their own tables.

mod divisions;
mod enterprises;
pub mod tabular;

pub use divisions::{import_divisions, DivisionStore};
pub use enterprises::{import_enterprises, EnterpriseStore};

use serde::Serialize;
use tabular::{Table, TableError};

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Inserted,
    Updated,
    Unchanged,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Row number as shown in Excel (the header is row 1).
    pub row: usize,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// How the file was decoded (`utf-8`, `gb18030`, `xlsx`).
    pub encoding: String,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Lease records created or changed (tenants with a `landlord_uscc`).
    pub leases_written: usize,
    pub rejected: Vec<RowError>,
}

impl ImportReport {
    fn for_table(table: &Table) -> ImportReport {
        ImportReport {
            encoding: table.encoding.into(),
            rows: table.rows.len(),
            ..Default::default()
        }
    }

    fn count(&mut self, c: Change) {
        match c {
            Change::Inserted => self.inserted += 1,
            Change::Updated => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }
}

/// Why an import could not run at all: the file, or the store (`E`) behind it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError<E> {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Store(E),
}

/// Parses yes/no cells: `1/0`, `true/false`, `是/否`, `y/n`, `有/无`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "是" | "有" | "√" => Some(true),
        "0" | "false" | "no" | "n" | "否" | "无" | "×" => Some(false),
        _ => None,
    }
}

fn require(table: &Table, path: &std::path::Path, names: &[&str]) -> Result<usize, TableError> {
    table
        .column(names)
        .ok_or_else(|| TableError::MissingColumn {
            path: path.to_path_buf(),
            column: names[0].to_string(),
        })
}

fn cell(cells: &[String], col: Option<usize>) -> Option<&str> {
    col.and_then(|c| cells.get(c))
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

fn row_err(row: usize, column: &str, reason: impl ToString) -> RowError {
    RowError {
        row,
        column: Some(column.to_string()),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_and_no_in_the_forms_offices_write_them() {
        for s in ["1", "TRUE", " 是 ", "有", "√", "y"] {
            assert_eq!(parse_bool(s), Some(true), "{s}");
        }
        for s in ["0", "false", "否", "无", "×", "N"] {
            assert_eq!(parse_bool(s), Some(false), "{s}");
        }
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_bool(""), None);
    }
}
