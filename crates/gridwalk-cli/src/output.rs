//! Printing results as text or JSON, and errors with a stable code.

use crate::Cli;
use gridwalk_device::import::{ImportError, ImportReport};
use gridwalk_device::StoreError;
use serde::Serialize;

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn code_of(err: &anyhow::Error) -> String {
    if let Some(e) = err.downcast_ref::<gridwalk_device::sync::SyncError>() {
        return e.code();
    }
    static_code_of(err).to_string()
}

fn static_code_of(err: &anyhow::Error) -> &'static str {
    if let Some(e) = err.downcast_ref::<StoreError>() {
        return e.code();
    }
    if let Some(e) = err.downcast_ref::<gridwalk_device::evidence::EvidenceError>() {
        return e.code();
    }
    if let Some(e) = err.downcast_ref::<gridwalk_device::signature::SignatureError>() {
        return e.code();
    }
    if let Some(e) = err.downcast_ref::<gridwalk_device::leases::LeaseError>() {
        return e.code();
    }
    if let Some(e) = err.downcast_ref::<gridwalk_device::suspected::SuspectedAnswerError>() {
        return e.code();
    }
    if let Some(e) = err.downcast_ref::<ImportError>() {
        return match e {
            ImportError::Table(_) => "import.bad_file",
            ImportError::Store(s) => s.code(),
        };
    }
    "cli.error"
}

/// Prints an error to stderr: `error: …` or, with `--json`, `{"code", "message"}`.
pub fn error(cli: &Cli, err: &anyhow::Error) {
    if cli.json {
        let body = serde_json::json!({ "code": code_of(err), "message": format!("{err:#}") });
        eprintln!("{body}");
    } else {
        eprintln!("error: {err:#}");
    }
}

/// Prints an import report; returns whether any row was rejected.
pub fn import_report(cli: &Cli, what: &str, r: &ImportReport) -> anyhow::Result<bool> {
    if cli.json {
        json(r)?;
    } else {
        println!(
            "{what}: {} rows ({}): {} inserted, {} updated, {} unchanged, {} rejected{}",
            r.rows,
            r.encoding,
            r.inserted,
            r.updated,
            r.unchanged,
            r.rejected.len(),
            if r.leases_written > 0 {
                format!(", {} leases written", r.leases_written)
            } else {
                String::new()
            }
        );
        for e in &r.rejected {
            match &e.column {
                Some(c) => eprintln!("  row {} [{}]: {}", e.row, c, e.reason),
                None => eprintln!("  row {}: {}", e.row, e.reason),
            }
        }
    }
    Ok(!r.rejected.is_empty())
}
