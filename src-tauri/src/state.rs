//! The app's state: the device store behind a mutex (SQLite connections are not shared
//! across threads), opened from the app data directory or `$GRIDWALK_DB` with its key in
//! the OS keyring or the key file beside it, the acting user, and the background sync
//! worker.
//!
//! The acting user is the one the device was enrolled for (stored in the database).
//! Before enrollment, a development user may be set from the environment
//! (`GRIDWALK_USER`, `GRIDWALK_ROLE`, `GRIDWALK_JURISDICTION`, read once at start-up,
//! see `docs/app.md`) or by Rust code ([`AppState::set_local_user`], tests). The web
//! view can never set it.

use crate::error::IpcError;
use gridwalk_device::app_views::Actor;
use gridwalk_device::Store;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

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

fn enrolled_user(store: &Store) -> Result<Option<LocalUser>, IpcError> {
    Ok(store.enrollment()?.map(|e| LocalUser {
        name: e.user.name,
        role: e.user.role.as_str().to_string(),
        jurisdiction: e.user.jurisdiction,
    }))
}

/// Shared state managed by Tauri.
pub struct AppState {
    store: Mutex<Store>,
    db_path: PathBuf,
    /// The enrolled user (a copy of the stored enrollment, so no command needs the
    /// store lock twice).
    enrolled: Mutex<Option<LocalUser>>,
    user: Mutex<Option<LocalUser>>,
    /// True while a sync run is under way.
    sync_running: AtomicBool,
    /// Wakes the background sync worker early (after a finalize, on "sync now").
    sync_kick: (Mutex<bool>, Condvar),
}

impl AppState {
    /// Opens (or creates) the device database at `path`; no acting user yet.
    pub fn open(path: PathBuf) -> Result<AppState, IpcError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| IpcError::new("app.data_dir", e.to_string()))?;
        }
        // The key in the OS keyring where one answers, else the key file beside the
        // database: the same choice as every other opener's (docs/security.md).
        let keys = gridwalk_device::db_key::default_key_store(&path);
        log::info!("device database key: {}", keys.describe());
        let store = Store::open_with_keys(
            &path,
            gridwalk_device::migrations::latest_version(),
            keys.as_ref(),
        )?;
        let enrolled = enrolled_user(&store)?;
        Ok(AppState {
            store: Mutex::new(store),
            db_path: path,
            enrolled: Mutex::new(enrolled),
            user: Mutex::new(None),
            sync_running: AtomicBool::new(false),
            sync_kick: (Mutex::new(false), Condvar::new()),
        })
    }

    /// Reloads the enrolled user after an enrollment.
    pub fn refresh_enrollment(&self) -> Result<(), IpcError> {
        let user = enrolled_user(&*self.store()?)?;
        match self.enrolled.lock() {
            Ok(mut u) => *u = user,
            Err(poisoned) => *poisoned.into_inner() = user,
        }
        Ok(())
    }

    /// The database file (the sync client opens its own connection to it).
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// Marks a sync run as started; false if one is already running.
    pub fn begin_sync(&self) -> bool {
        !self.sync_running.swap(true, Ordering::SeqCst)
    }

    /// Marks the sync run as ended.
    pub fn end_sync(&self) {
        self.sync_running.store(false, Ordering::SeqCst);
    }

    /// True while a sync run is under way.
    pub fn sync_running(&self) -> bool {
        self.sync_running.load(Ordering::SeqCst)
    }

    /// Asks the background worker to sync soon.
    pub fn kick_sync(&self) {
        let (lock, cv) = &self.sync_kick;
        match lock.lock() {
            Ok(mut k) => *k = true,
            Err(p) => *p.into_inner() = true,
        }
        cv.notify_one();
    }

    /// Waits until kicked or `timeout` passes; returns whether it was kicked.
    pub fn wait_for_kick(&self, timeout: Duration) -> bool {
        let (lock, cv) = &self.sync_kick;
        let guard = match lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let (mut guard, _) = match cv.wait_timeout_while(guard, timeout, |k| !*k) {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        std::mem::replace(&mut *guard, false)
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

    /// The acting user, if any: the enrolled one, else a development user.
    pub fn local_user(&self) -> Option<LocalUser> {
        let enrolled = match self.enrolled.lock() {
            Ok(u) => u.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if enrolled.is_some() {
            return enrolled;
        }
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
