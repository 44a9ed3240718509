//! Loading the register the devices pull, from the same CSV/XLSX files the device CLI
//! reads (`docs/register-import.md`).
//!
//! Validation is the device crate's own import, run into a staging register database
//! (`register.db` in the data directory): the same rules, row numbers and messages, and
//! re-imports merge exactly as on a device. Every division and enterprise of the staging
//! register is then published to the server store, where only what changed gets a new
//! place in the pull change log.

use crate::error::StoreError;
use crate::store::{PublishedEnterprise, Store};
use gridwalk_core::DivisionCode;
use gridwalk_device::import::{ImportError, ImportReport};
use std::path::Path;

/// What an import did: the device-format report and how many entries devices will get.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegisterImport {
    #[serde(flatten)]
    pub report: ImportReport,
    /// Divisions and enterprises published anew (changed or new).
    pub published: usize,
}

/// Which table a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterFile {
    Divisions,
    Enterprises,
}

/// Why an import failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Device(#[from] gridwalk_device::StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("staging register: {0}")]
    Staging(String),
}

/// Imports a divisions or enterprises file and publishes the register.
pub fn import(
    store: &Store,
    staging: &Path,
    kind: RegisterFile,
    file: &Path,
) -> Result<RegisterImport, RegisterError> {
    let device = open_staging(staging)?;
    let report = match kind {
        RegisterFile::Divisions => device.import_divisions(file)?,
        RegisterFile::Enterprises => device.import_enterprises(file)?,
    };
    let published = publish_all(store, &device)?;
    Ok(RegisterImport { report, published })
}

/// The staging register (the phone's store, so the parsing and checks are the phone's):
/// encrypted like any phone database, with its key file beside it. It only holds what
/// the imports wrote and the server publishes all of it after each import, so one whose
/// key is lost (a data directory restored without `register.db.key`) is set aside and
/// started afresh rather than blocking every import.
fn open_staging(staging: &Path) -> Result<gridwalk_device::Store, RegisterError> {
    match gridwalk_device::Store::open(staging) {
        Err(gridwalk_device::error::StoreError::Key { detail, .. })
            if !detail.contains("another program") =>
        {
            let aside = staging.with_extension(format!(
                "unreadable-{}.db",
                chrono::Utc::now().format("%Y%m%dT%H%M%S")
            ));
            tracing::warn!(staging = %staging.display(), aside = %aside.display(), %detail,
                "the staging register cannot be opened; set aside, starting a new one");
            std::fs::rename(staging, &aside)
                .map_err(|e| RegisterError::Staging(format!("cannot set aside: {e}")))?;
            // Its log goes with it: a new database must not read the old one's frames.
            for suffix in ["-wal", "-shm"] {
                let mut from = staging.as_os_str().to_os_string();
                from.push(suffix);
                let mut to = aside.as_os_str().to_os_string();
                to.push(suffix);
                match std::fs::rename(&from, &to) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(RegisterError::Staging(format!("cannot set aside: {e}"))),
                }
            }
            Ok(gridwalk_device::Store::open(staging)?)
        }
        other => Ok(other?),
    }
}

fn publish_all(store: &Store, device: &gridwalk_device::Store) -> Result<usize, RegisterError> {
    let conn = device.connection();
    let staging = |e: rusqlite::Error| RegisterError::Staging(e.to_string());
    let codes: Vec<String> = conn
        .prepare("SELECT code FROM division ORDER BY length(code), code")
        .map_err(staging)?
        .query_map([], |r| r.get(0))
        .map_err(staging)?
        .collect::<Result<_, _>>()
        .map_err(staging)?;
    let mut divisions = Vec::with_capacity(codes.len());
    for c in &codes {
        if let Some(d) = device.division(c)? {
            divisions.push(d);
        }
    }
    let usccs: Vec<String> = conn
        .prepare("SELECT uscc FROM enterprise ORDER BY uscc")
        .map_err(staging)?
        .query_map([], |r| r.get(0))
        .map_err(staging)?
        .collect::<Result<_, _>>()
        .map_err(staging)?;
    let mut enterprises = Vec::with_capacity(usccs.len());
    for u in &usccs {
        let detail = device.register_entry(u)?;
        let body =
            serde_json::to_value(&detail).map_err(|e| RegisterError::Staging(e.to_string()))?;
        enterprises.push(PublishedEnterprise {
            id: detail.enterprise.id,
            uscc: detail.enterprise.uscc.as_str().to_string(),
            village: DivisionCode::clone(&detail.enterprise.village_code),
            body,
        });
    }
    Ok(store.publish_register(&divisions, &enterprises)?)
}
