//! The app's state: the device store behind a mutex (SQLite connections are not shared
//! across threads), opened from the app data directory or `$GRIDWALK_DB`, and the
//! acting user.
//!
//! Until enrollment lands (server work), the acting user is set locally: from the
//! environment (`GRIDWALK_USER`, `GRIDWALK_ROLE`, `GRIDWALK_JURISDICTION`, read once at
//! start-up, see `docs/app.md`) or by Rust code ([`AppState::set_local_user`], tests).
//! The web view can never set it.

use crate::error::IpcError;
use gridwalk_device::app_views::Actor;
use gridwalk_device::Store;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// The person acting on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalUser {
    /// Name as printed on records (`张专家`).
    pub name: String,
    /// `grid_worker`, `expert`, `officer` or `supervisor`.
    pub role: String,
    /// Division code of the jurisdiction (`320413104`).
    pub jurisdiction: String,
}

impl LocalUser {
    /// The user from `GRIDWALK_USER` (required), `GRIDWALK_ROLE` (default
    /// `grid_worker`) and `GRIDWALK_JURISDICTION` (default empty: the whole register).
    pub fn from_env() -> Option<LocalUser> {
        let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string());
        let name = var("GRIDWALK_USER").filter(|n| !n.is_empty())?;
        Some(LocalUser {
            name,
            role: var("GRIDWALK_ROLE")
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "grid_worker".into()),
            jurisdiction: var("GRIDWALK_JURISDICTION").unwrap_or_default(),
        })
    }

    /// As the device crate takes it.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            name: &self.name,
            role: &self.role,
        }
    }

    /// The jurisdiction, `None` when empty (the whole register).
    pub fn jurisdiction(&self) -> Option<&str> {
        Some(self.jurisdiction.as_str()).filter(|j| !j.is_empty())
    }
}

/// Shared state managed by Tauri.
pub struct AppState {
    store: Mutex<Store>,
    user: Mutex<Option<LocalUser>>,
}

impl AppState {
    /// Opens (or creates) the device database at `path`; no acting user yet.
    pub fn open(path: PathBuf) -> Result<AppState, IpcError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| IpcError::new("app.data_dir", e.to_string()))?;
        }
        Ok(AppState {
            store: Mutex::new(Store::open(path)?),
            user: Mutex::new(None),
        })
    }

    /// The store, for one command.
    pub fn store(&self) -> Result<MutexGuard<'_, Store>, IpcError> {
        self.store
            .lock()
            .map_err(|_| IpcError::new("app.poisoned", "an earlier command panicked"))
    }

    /// Sets (or clears) the acting user. Dev/test only until enrollment exists.
    pub fn set_local_user(&self, user: Option<LocalUser>) {
        match self.user.lock() {
            Ok(mut u) => *u = user,
            Err(poisoned) => *poisoned.into_inner() = user,
        }
    }

    /// The acting user, if any.
    pub fn local_user(&self) -> Option<LocalUser> {
        match self.user.lock() {
            Ok(u) => u.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The acting user, or `app.not_enrolled`.
    pub fn user(&self) -> Result<LocalUser, IpcError> {
        self.local_user().ok_or_else(|| {
            IpcError::new(
                "app.not_enrolled",
                "no user on this device: enroll it (or set GRIDWALK_USER for development)",
            )
        })
    }

    /// The acting user's jurisdiction (`None`: no user, or the whole register).
    pub fn jurisdiction(&self) -> Option<String> {
        self.local_user()
            .and_then(|u| u.jurisdiction().map(str::to_string))
    }
}
