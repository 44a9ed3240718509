//! The app's state: the device store behind a mutex (SQLite connections are not shared
//! across threads), opened from the app data directory or `$GRIDWALK_DB`.

use crate::error::IpcError;
use gridwalk_device::Store;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// Shared state managed by Tauri.
pub struct AppState {
    store: Mutex<Store>,
}

impl AppState {
    /// Opens (or creates) the device database at `path`.
    pub fn open(path: PathBuf) -> Result<AppState, IpcError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| IpcError::new("app.data_dir", e.to_string()))?;
        }
        Ok(AppState {
            store: Mutex::new(Store::open(path)?),
        })
    }

    /// The store, for one command.
    pub fn store(&self) -> Result<MutexGuard<'_, Store>, IpcError> {
        self.store
            .lock()
            .map_err(|_| IpcError::new("app.poisoned", "an earlier command panicked"))
    }
}
