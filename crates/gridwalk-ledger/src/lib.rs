//! The Excel ledgers (台账) a town or district office hands up the chain: row types and
//! streaming xlsx writers, with no database, HTTP or CLI in them (docs/exports.md).
//!
//! - [`HazardRow`]: 隐患排查治理台账, one row per hazard with its 五定 plan.
//! - [`InspectionRow`]: 检查记录台账, one row per finalized inspection.
//! - [`EnterpriseRow`]: 粉尘涉爆企业底数台账, the register with the facts visits confirmed.
//! - [`TipRow`]: 举报核查台账, one row per tip-off with its verification (never its
//!   reporter).
//! - [`CoverageRow`]: 专项行动进度表, per duty of a campaign the applicable enterprises
//!   done / not done / overdue in a division and in each of its children.
//! - [`LeaseRow`]: 厂中厂台账, one row per lease with its site, both parties and the
//!   tenant's pre-lease check.
//!
//! Every ledger has one sheet: a title row naming the ledger, the division and the
//! campaign (merged across the columns), a frozen header row of Chinese column names,
//! then one row per record numbered from 1 (序号). Dates are real Excel dates
//! (`yyyy-mm-dd`), times real date-times (`yyyy-mm-dd hh:mm`, China time).
//!
//! Rows are pushed one at a time ([`LedgerWriter::push`]) into a worksheet in
//! rust_xlsxwriter's constant-memory mode: a row is flushed to a temp file as soon as the
//! next one starts, so memory stays flat whatever the number of rows. Callers feed rows
//! from a database cursor or any iterator ([`write_all`]); nothing is collected.

mod rows;
mod writer;

pub use rows::{
    CoverageRow, EnterpriseRow, HazardRow, InspectionRow, LeaseRow, TipRow, COVERAGE_COLUMNS,
    ENTERPRISE_COLUMNS, HAZARD_COLUMNS, INSPECTION_COLUMNS, LEASE_COLUMNS, TIP_COLUMNS,
};
pub use writer::{write_all, Cell, Column, LedgerRow, LedgerWriter, MAX_ROWS};

use chrono::NaiveDateTime;

/// What a ledger could not do.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The xlsx writer failed (a temp file, the output file, a cell).
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// More rows than one Excel sheet holds.
    #[error("a ledger holds at most {max} rows; narrow the division")]
    TooManyRows { max: u64 },
    /// Reading the rows failed (the caller's source, e.g. the database).
    #[error("reading the rows: {0}")]
    Source(String),
}

/// What the title row says besides the ledger's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerMeta {
    /// The division the ledger covers, by name (金城镇).
    pub division_name: String,
    /// Its code (320413100000).
    pub division_code: String,
    /// The campaign, with its period, when the ledger is one campaign's; `None`: all.
    pub campaign: Option<String>,
    /// When the ledger was made (China time).
    pub exported_at: NaiveDateTime,
}

impl LedgerMeta {
    /// The title row's text for a ledger named `title`.
    pub fn title_line(&self, title: &str) -> String {
        format!(
            "{title}　　单位：{}（{}）　　专项行动：{}　　导出时间：{}",
            self.division_name,
            self.division_code,
            self.campaign.as_deref().unwrap_or("全部"),
            self.exported_at.format("%Y-%m-%d %H:%M"),
        )
    }
}
