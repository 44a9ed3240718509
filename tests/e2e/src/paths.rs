//! Where things are. Every path can be overridden from the environment; the defaults
//! match `scripts/e2e-app` (one target dir, debug builds).

use std::path::{Path, PathBuf};

fn var_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The workspace root (`/work/main`).
pub fn workspace_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        workspace_root().join(p)
    }
}

/// `$CARGO_TARGET_DIR`, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    absolute(var_path("CARGO_TARGET_DIR").unwrap_or_else(|| workspace_root().join("target")))
}

/// The app binary: `$GRIDWALK_APP_BIN`, else `target/debug/gridwalk-app`.
pub fn app_binary() -> PathBuf {
    absolute(
        var_path("GRIDWALK_APP_BIN").unwrap_or_else(|| target_dir().join("debug/gridwalk-app")),
    )
}

/// `$GRIDWALK_SERVER_BIN`, else `target/debug/gridwalk-server`.
pub fn server_binary() -> PathBuf {
    absolute(
        var_path("GRIDWALK_SERVER_BIN")
            .unwrap_or_else(|| target_dir().join("debug/gridwalk-server")),
    )
}

/// The device CLI (`gridwalk`), used only in local-user mode to load the app's
/// database: `$GRIDWALK_CLI_BIN`, else `target/debug/gridwalk`.
pub fn cli_binary() -> PathBuf {
    absolute(var_path("GRIDWALK_CLI_BIN").unwrap_or_else(|| target_dir().join("debug/gridwalk")))
}

/// Shared read-only test data: `$GRIDWALK_TESTDATA`, else `<root>/../shared/testdata`.
pub fn testdata() -> PathBuf {
    absolute(
        var_path("GRIDWALK_TESTDATA")
            .unwrap_or_else(|| workspace_root().join("../shared/testdata")),
    )
}

/// A photo of the shared corpus.
pub fn photo(name: &str) -> PathBuf {
    testdata().join("photos").join(name)
}

/// `tauri-driver`: `$TAURI_DRIVER`, else the first on `PATH`, else `~/.cargo/bin`.
pub fn tauri_driver() -> PathBuf {
    if let Some(p) = var_path("TAURI_DRIVER") {
        return p;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("tauri-driver");
            if p.is_file() {
                return p;
            }
        }
    }
    var_path("CARGO_HOME")
        .or_else(|| var_path("HOME").map(|h| h.join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"))
        .join("bin/tauri-driver")
}

/// Screenshots: `$GRIDWALK_E2E_SCREENSHOTS`, else `target/e2e-screenshots`.
pub fn screenshots_dir() -> PathBuf {
    absolute(
        var_path("GRIDWALK_E2E_SCREENSHOTS")
            .unwrap_or_else(|| target_dir().join("e2e-screenshots")),
    )
}

/// Scratch space kept after the run for post-mortems (server data dir, app database,
/// logs): `target/e2e-work`, emptied at the start of each run.
pub fn work_dir() -> PathBuf {
    absolute(var_path("GRIDWALK_E2E_WORK").unwrap_or_else(|| target_dir().join("e2e-work")))
}
