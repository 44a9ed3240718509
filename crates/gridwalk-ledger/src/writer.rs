//! The streaming sheet writer every ledger shares.

use crate::{LedgerError, LedgerMeta};
use chrono::{NaiveDate, NaiveDateTime};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
use std::io::{Seek, Write};
use std::marker::PhantomData;
use std::path::Path;

/// Rows an Excel sheet holds (1,048,576) less the title and header rows.
pub const MAX_ROWS: u64 = 1_048_576 - 2;

/// Longest text an Excel cell holds; longer texts are cut (with "…").
const MAX_CELL_CHARS: usize = 32_767;

/// A column of a ledger: its Chinese header and width (in Excel character units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub header: &'static str,
    pub width: f64,
}

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Nothing (left blank).
    Empty,
    Text(&'a str),
    /// A whole number (序号, days, counts, yuan).
    Int(i64),
    /// A number with decimals (an area in ㎡).
    Number(f64),
    /// A fraction shown as a percentage (0.875 → 87.5%).
    Percent(f64),
    /// An Excel date.
    Date(NaiveDate),
    /// An Excel date-time.
    DateTime(NaiveDateTime),
    /// 是 / 否.
    YesNo(bool),
}

impl<'a> Cell<'a> {
    /// Text, or blank for `None`.
    pub fn opt_text(s: Option<&'a str>) -> Cell<'a> {
        s.map_or(Cell::Empty, Cell::Text)
    }
    /// A date, or blank for `None`.
    pub fn opt_date(d: Option<NaiveDate>) -> Cell<'a> {
        d.map_or(Cell::Empty, Cell::Date)
    }
    /// A date-time, or blank for `None`.
    pub fn opt_datetime(d: Option<NaiveDateTime>) -> Cell<'a> {
        d.map_or(Cell::Empty, Cell::DateTime)
    }
    /// A number with decimals, or blank for `None` (or one that is not finite).
    pub fn opt_number(n: Option<f64>) -> Cell<'a> {
        n.filter(|x| x.is_finite())
            .map_or(Cell::Empty, Cell::Number)
    }
    /// A number, or blank for `None`.
    pub fn opt_int(n: Option<i64>) -> Cell<'a> {
        n.map_or(Cell::Empty, Cell::Int)
    }
}

/// A row type of one ledger: its sheet, title and columns, and its cells.
pub trait LedgerRow {
    /// The ledger's name, used as the sheet name and in the title row.
    const TITLE: &'static str;
    /// The columns, 序号 first.
    fn columns() -> &'static [Column];
    /// The row's cells, one per column, with `seq` as its 序号.
    fn cells(&self, seq: u64) -> Vec<Cell<'_>>;
}

/// Formats of one workbook. Text cells take none: rust_xlsxwriter hashes a cell's
/// format on every write, a tenth of the time of a large ledger for nothing visible.
struct Formats {
    date: Format,
    datetime: Format,
    percent: Format,
}

/// A ledger being written: rows go to disk as they are pushed.
pub struct LedgerWriter<R: LedgerRow> {
    workbook: Workbook,
    formats: Formats,
    rows: u64,
    _row: PhantomData<fn(&R)>,
}

impl<R: LedgerRow> LedgerWriter<R> {
    /// Starts a ledger: title row, frozen header row, column widths. The constant-memory
    /// worksheet keeps its rows in a temp file in `tempdir` (default: the system's temp
    /// directory; give a disk-backed one when that is a tmpfs).
    pub fn new(meta: &LedgerMeta, tempdir: Option<&Path>) -> Result<Self, LedgerError> {
        let mut workbook = Workbook::new();
        if let Some(dir) = tempdir {
            workbook.set_tempdir(dir)?;
        }
        let formats = Formats {
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            percent: Format::new().set_num_format("0.0%"),
        };
        let title_format = Format::new()
            .set_bold()
            .set_font_size(14)
            .set_align(FormatAlign::Left)
            .set_align(FormatAlign::VerticalCenter);
        let header_format = Format::new()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_background_color(0xD9E1F2)
            .set_border(FormatBorder::Thin);
        let columns = R::columns();
        let last_col = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(u16::MAX);
        let sheet = workbook.add_worksheet_with_constant_memory();
        sheet.set_name(R::TITLE)?;
        for (i, c) in columns.iter().enumerate() {
            sheet.set_column_width(i as u16, c.width)?;
        }
        sheet.set_row_height(0, 30)?;
        sheet.merge_range(0, 0, 0, last_col, &meta.title_line(R::TITLE), &title_format)?;
        sheet.set_row_height(1, 32)?;
        for (i, c) in columns.iter().enumerate() {
            sheet.write_string_with_format(1, i as u16, c.header, &header_format)?;
        }
        sheet.set_freeze_panes(2, 0)?;
        Ok(LedgerWriter {
            workbook,
            formats,
            rows: 0,
            _row: PhantomData,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the next row (its 序号 is the count so far plus one).
    pub fn push(&mut self, row: &R) -> Result<(), LedgerError> {
        if self.rows >= MAX_ROWS {
            return Err(LedgerError::TooManyRows { max: MAX_ROWS });
        }
        let seq = self.rows + 1;
        let at = u32::try_from(seq + 1).map_err(|_| LedgerError::TooManyRows { max: MAX_ROWS })?;
        let f = &self.formats;
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (col, cell) in row.cells(seq).iter().enumerate() {
            let col = col as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text("") => {}
                Cell::Text(s) => {
                    sheet.write_string(at, col, cut(s))?;
                }
                Cell::Int(n) => {
                    sheet.write_number(at, col, *n as f64)?;
                }
                Cell::Number(x) => {
                    sheet.write_number(at, col, *x)?;
                }
                Cell::Percent(x) => {
                    sheet.write_number_with_format(at, col, *x, &f.percent)?;
                }
                Cell::Date(d) => {
                    sheet.write_datetime_with_format(at, col, d, &f.date)?;
                }
                Cell::DateTime(d) => {
                    sheet.write_datetime_with_format(at, col, d, &f.datetime)?;
                }
                Cell::YesNo(b) => {
                    sheet.write_string(at, col, if *b { "是" } else { "否" })?;
                }
            }
        }
        self.rows = seq;
        Ok(())
    }

    /// Writes the file at `path`; returns the number of rows.
    pub fn finish(mut self, path: &Path) -> Result<u64, LedgerError> {
        self.close_empty()?;
        self.workbook.save(path)?;
        Ok(self.rows)
    }

    /// Writes the file to `out` (a temp file a server then streams); returns the rows.
    pub fn finish_to_writer<W: Write + Seek + Send>(mut self, out: W) -> Result<u64, LedgerError> {
        self.close_empty()?;
        self.workbook.save_to_writer(out)?;
        Ok(self.rows)
    }

    /// A ledger with no row says so under its header.
    fn close_empty(&mut self) -> Result<(), LedgerError> {
        if self.rows == 0 {
            self.workbook
                .worksheet_from_index(0)?
                .write_string(2, 0, "（无记录）")?;
        }
        Ok(())
    }
}

/// Writes every row of `rows` into a new ledger at `path`; returns the number of rows.
/// The first error of the source stops the ledger (no file is left complete-looking:
/// nothing is saved).
pub fn write_all<R, E, I>(
    meta: &LedgerMeta,
    path: &Path,
    tempdir: Option<&Path>,
    rows: I,
) -> Result<u64, LedgerError>
where
    R: LedgerRow,
    E: std::fmt::Display,
    I: IntoIterator<Item = Result<R, E>>,
{
    let mut w = LedgerWriter::<R>::new(meta, tempdir)?;
    for row in rows {
        w.push(&row.map_err(|e| LedgerError::Source(e.to_string()))?)?;
    }
    w.finish(path)
}

/// `s`, cut to what one cell holds.
fn cut(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(MAX_CELL_CHARS - 1) {
        None => s.into(),
        Some((i, _)) => format!("{}…", &s[..i]).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn a_text_longer_than_a_cell_is_cut_to_fit() {
        let long = "隐".repeat(40_000);
        let c = cut(&long);
        assert_eq!(c.chars().count(), super::MAX_CELL_CHARS);
        assert!(c.ends_with('…'));
        assert_eq!(cut("短"), "短");
    }
}
