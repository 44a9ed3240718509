//! Reading a spreadsheet the way town offices send them: CSV (UTF-8, UTF-8 with BOM,
//! or GBK/GB18030 as saved by Chinese Excel) or XLSX (first sheet). The header row
//! names the columns; every later row keeps its number as the user sees it in Excel.

use calamine::{Data, Reader};
use std::path::{Path, PathBuf};

/// Largest file accepted (a register of 100,000 enterprises is about 25 MB as CSV).
pub const MAX_FILE_BYTES: u64 = 200 * 1024 * 1024;

/// A sheet read into strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Header names, trimmed.
    pub headers: Vec<String>,
    /// `(row number as shown in Excel, 1-based with the header as row 1; cells)`.
    pub rows: Vec<(usize, Vec<String>)>,
    /// What the bytes were decoded as: `utf-8`, `gb18030` or `xlsx`.
    pub encoding: &'static str,
}

/// Why a file could not be read as a table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is empty")]
    Empty { path: PathBuf },
    #[error("{path} is {size} bytes, more than the {max} bytes accepted")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("{path}: not UTF-8 and not valid GBK/GB18030 either; save the file as UTF-8 CSV")]
    Encoding { path: PathBuf },
    #[error("{path}: CSV row {row}: {detail}")]
    Csv {
        path: PathBuf,
        row: usize,
        detail: String,
    },
    #[error("{path}: cannot read as XLSX: {detail}")]
    Xlsx { path: PathBuf, detail: String },
    #[error("{path}: unsupported file type '{ext}' (use .csv or .xlsx)")]
    Unsupported { path: PathBuf, ext: String },
    #[error("{path}: the header row is missing required column '{column}'")]
    MissingColumn { path: PathBuf, column: String },
}

impl Table {
    /// Index of a column by any of its accepted names.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    }
}

/// Reads a CSV or XLSX file by its extension.
pub fn read_table(path: &Path) -> Result<Table, TableError> {
    let io = |source| TableError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(TableError::TooLarge {
            path: path.to_path_buf(),
            size,
            max: MAX_FILE_BYTES,
        });
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" => {
            let bytes = std::fs::read(path).map_err(io)?;
            read_csv_bytes(path, &bytes)
        }
        "xlsx" | "xlsm" => read_xlsx(path),
        other => Err(TableError::Unsupported {
            path: path.to_path_buf(),
            ext: other.to_string(),
        }),
    }
}

/// Decodes CSV bytes: UTF-8 (BOM stripped) or, failing that, GB18030 (a superset of GBK).
pub fn decode_text(path: &Path, bytes: &[u8]) -> Result<(String, &'static str), TableError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "utf-8"));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(TableError::Encoding {
            path: path.to_path_buf(),
        });
    }
    Ok((text.into_owned(), "gb18030"))
}

fn read_csv_bytes(path: &Path, bytes: &[u8]) -> Result<Table, TableError> {
    if bytes.is_empty() {
        return Err(TableError::Empty {
            path: path.to_path_buf(),
        });
    }
    let (text, encoding) = decode_text(path, bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| TableError::Csv {
            path: path.to_path_buf(),
            row: i + 1,
            detail: e.to_string(),
        })?;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if headers.is_none() {
            headers = Some(cells);
        } else if cells.iter().any(|c| !c.is_empty()) {
            rows.push((i + 1, cells));
        }
    }
    let headers = headers.ok_or_else(|| TableError::Empty {
        path: path.to_path_buf(),
    })?;
    Ok(Table {
        headers,
        rows,
        encoding,
    })
}

fn cell_to_string(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|d| d.date().to_string())
            .unwrap_or_else(|| d.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

fn read_xlsx(path: &Path) -> Result<Table, TableError> {
    let bad = |detail: String| TableError::Xlsx {
        path: path.to_path_buf(),
        detail,
    };
    let mut book = calamine::open_workbook_auto(path).map_err(|e| bad(e.to_string()))?;
    let sheet = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| bad("the workbook has no sheet".into()))?;
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| bad(e.to_string()))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let mut headers = None;
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_to_string).collect();
        let excel_row = first_row + i + 1;
        if headers.is_none() {
            if cells.iter().any(|c| !c.is_empty()) {
                headers = Some(cells);
            }
        } else if cells.iter().any(|c| !c.is_empty()) {
            rows.push((excel_row, cells));
        }
    }
    let headers = headers.ok_or_else(|| TableError::Empty {
        path: path.to_path_buf(),
    })?;
    Ok(Table {
        headers,
        rows,
        encoding: "xlsx",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_csv_is_detected_and_decoded() {
        let (gbk, _, _) = encoding_rs::GBK.encode("name,uscc\n金坛新城机械厂,1\n");
        let t = read_csv_bytes(Path::new("x.csv"), &gbk).expect("decodes");
        assert_eq!(t.encoding, "gb18030");
        assert_eq!(t.rows[0].1[0], "金坛新城机械厂");
    }

    #[test]
    fn a_utf8_bom_is_stripped_from_the_first_header() {
        let t = read_csv_bytes(Path::new("x.csv"), b"\xEF\xBB\xBFname,uscc\na,b\n").expect("reads");
        assert_eq!(t.headers[0], "name");
        assert_eq!(t.rows[0].0, 2);
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_gbk_are_refused() {
        let err = read_csv_bytes(Path::new("x.csv"), b"name\n\xff\xff\xff\n").unwrap_err();
        assert!(matches!(err, TableError::Encoding { .. }), "{err}");
    }
}
