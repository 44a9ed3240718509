//! `gridwalk-server export hazards|inspections|enterprises|tips|leases|coverage --division CODE [--campaign
//! ID] --format xlsx --out FILE`: the ledgers (台账) of docs/exports.md. Without `--as
//! NAME` the operator exports (every division).

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use gridwalk_core::DivisionCode;
use gridwalk_server::export::{ExportRequest, LedgerKind};
use gridwalk_server::work::Actor;
use gridwalk_server::Store;
use std::path::PathBuf;

/// A ledger's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Excel 2007+ (.xlsx).
    Xlsx,
}

/// The options every ledger takes.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// Division code (district, town, village or grid): the ledger covers it and its
    /// children.
    #[arg(long)]
    pub division: Option<String>,
    /// Campaign id: named in the title row; only hazards found / inspections finalized
    /// within its days.
    #[arg(long)]
    pub campaign: Option<String>,
    /// File format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The file to write (written beside it first, then renamed into place).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Export as this officer (their jurisdiction applies).
    #[arg(long = "as")]
    pub as_user: Option<String>,
}

impl LedgerArgs {
    /// True when a ledger (not the legacy JSON dump) was asked for.
    pub fn wants_ledger(&self) -> bool {
        self.format.is_some() || self.out.is_some() || self.division.is_some()
    }
}

/// Filters some ledgers take.
#[derive(Debug, Default)]
pub struct Filters {
    pub overdue: bool,
    pub review: Option<String>,
    pub dust_involved: bool,
}

/// Writes one ledger.
pub fn run(store: &Store, kind: LedgerKind, args: LedgerArgs, filters: Filters) -> Result<()> {
    let (Some(division), Some(Format::Xlsx), Some(out)) = (args.division, args.format, args.out)
    else {
        bail!(
            "export {} needs --division CODE --format xlsx --out FILE",
            kind.as_str()
        );
    };
    let actor = match args.as_user.as_deref() {
        Some(n) => store.actor(n)?,
        None => Actor::operator(),
    };
    let req = ExportRequest {
        kind,
        division: DivisionCode::parse(&division)?,
        campaign: args.campaign,
        overdue_only: filters.overdue,
        review: filters.review,
        dust_involved_only: filters.dust_involved,
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // The sheet's rows spill into temp files beside the output (not a RAM-backed /tmp),
    // and a half-written ledger never takes the output's name.
    let mut tmp = tempfile::Builder::new()
        .prefix(".ledger-")
        .suffix(".xlsx.part")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let summary = store.export_ledger(&actor, &req, Some(&dir), tmp.as_file_mut())?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("writing {}", out.display()))?;
    tmp.persist(&out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{}: {} rows written to {}",
        kind.title_zh(),
        summary.rows,
        out.display()
    );
    Ok(())
}
