//! Everything that runs on the phone (and in the headless `gridwalk` CLI): one SQLite
//! database file holding the enterprise register, imports into it and search over it.
//!
//! Inspections, evidence and the sync client (outbox, enrollment, pull) live here too,
//! and the officers' work pulled from the server (assignments, reviews: [`work`]); the
//! shells (Tauri app, CLI) stay thin over these functions.

pub mod app_settings;
pub mod app_views;
pub mod campaign;
pub mod db_key;
pub mod error;
pub mod evidence;
pub mod import;
pub mod inspection;
pub mod jurisdiction;
pub mod leases;
pub mod migrations;
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
pub mod os_keyring;
pub mod photo_upload;
pub mod register;
pub mod search;
mod short_index;
pub mod signature;
pub mod store;
pub mod suspected;
pub mod sync;
pub mod work;

/// Reading CSV/XLSX register files (the register crate's, shared with the server).
pub use gridwalk_register::tabular;

pub use error::StoreError;
pub use store::Store;
