//! Importing the register from spreadsheets: divisions and enterprises.
//!
//! Reading, validation, messages and the merge rules are `gridwalk-register`'s (shared
//! with the server); this module is the phone store's side of it: its SQLite tables.
//! Each import runs in one transaction: either every good row is stored, or (on a
//! database error) nothing is. Bad rows are skipped and reported with their row
//! number, column and reason; good rows are stored. Enterprises are upserted by USCC,
//! so re-importing the same file changes nothing. Columns absent from a file leave the
//! stored value alone (a register file does not undo what an inspection confirmed).

use crate::error::StoreError;
use crate::register::{
    get_enterprise, write_division, write_enterprise_over, write_lease, write_site,
};
use crate::store::Store;
use gridwalk_core::division::Division;
use gridwalk_core::enterprise::{Enterprise, Lease, Site};
use gridwalk_core::{DivisionCode, DivisionLevel};
use gridwalk_register::tabular::{read_table, TableError};
use gridwalk_register::{Change, DivisionStore, EnterpriseStore};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use uuid::Uuid;

pub use gridwalk_register::{parse_bool, ImportReport, RowError};

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(StoreError::Sqlite(e))
    }
}

impl From<gridwalk_register::ImportError<StoreError>> for ImportError {
    fn from(e: gridwalk_register::ImportError<StoreError>) -> Self {
        match e {
            gridwalk_register::ImportError::Table(t) => ImportError::Table(t),
            gridwalk_register::ImportError::Store(s) => ImportError::Store(s),
        }
    }
}

/// The phone's register tables inside one import transaction.
struct Tables<'a>(&'a Connection);

impl DivisionStore for Tables<'_> {
    type Error = StoreError;

    fn has_division(&mut self, code: &DivisionCode) -> Result<bool, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT 1 FROM division WHERE code = ?1",
                [code.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn write_division(&mut self, d: &Division) -> Result<Change, StoreError> {
        write_division(self.0, d)
    }
}

impl EnterpriseStore for Tables<'_> {
    type Error = StoreError;

    fn division_level(&mut self, code: &DivisionCode) -> Result<Option<DivisionLevel>, StoreError> {
        let level: Option<String> = self
            .0
            .query_row(
                "SELECT level FROM division WHERE code = ?1",
                [code.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(level.and_then(|l| DivisionLevel::parse(&l).ok()))
    }

    fn enterprise(&mut self, id: &Uuid) -> Result<Option<Enterprise>, StoreError> {
        get_enterprise(self.0, id)
    }

    fn write_enterprise(
        &mut self,
        e: &Enterprise,
        existing: Option<&Enterprise>,
    ) -> Result<Change, StoreError> {
        write_enterprise_over(self.0, e, existing)
    }

    fn write_site(&mut self, s: &Site) -> Result<(), StoreError> {
        write_site(self.0, s)
    }

    fn write_lease(&mut self, l: &Lease) -> Result<Change, StoreError> {
        write_lease(self.0, l)
    }
}

impl Store {
    /// Imports divisions from a CSV/XLSX with columns `code,name,level,parent_code`.
    pub fn import_divisions(&self, path: &Path) -> Result<ImportReport, ImportError> {
        let table = read_table(path)?;
        let tx = self.conn.unchecked_transaction()?;
        let report = gridwalk_register::import_divisions(&table, path, &mut Tables(&tx))?;
        tx.commit()?;
        Ok(report)
    }

    /// Imports enterprises from CSV/XLSX. Required columns `name`, `uscc`,
    /// `village_code`; optional `address`, `lat`, `lon`, `industry`, `dust_types`
    /// (`;`-separated), `workers_per_shift`, `landlord_uscc` and more (see `docs/register-import.md`).
    pub fn import_enterprises(&self, path: &Path) -> Result<ImportReport, ImportError> {
        let table = read_table(path)?;
        let tx = self.conn.unchecked_transaction()?;
        let report = gridwalk_register::import_enterprises(&table, path, &mut Tables(&tx))?;
        tx.commit()?;
        Ok(report)
    }
}
