//! Support code for the WebDriver end-to-end test of the app (`tests/app.rs`).
//!
//! The test drives the real Tauri binary (`gridwalk-app`, built with the
//! `custom-protocol` feature so it serves `ui/dist` itself) in WebKitGTK through
//! `tauri-driver` + `WebKitWebDriver`, against a real `gridwalk-server` on loopback.
//! It only runs when `GRIDWALK_E2E=1` (set by `scripts/e2e-app`, which installs and
//! builds everything first); otherwise it prints a `SKIPPED` line and passes.
//!
//! * [`paths`]: where the binaries, test data and artifacts are.
//! * [`proc`]: child processes stopped with SIGTERM, free ports, waiting for a port.
//! * [`server`]: the `gridwalk-server` fixture (data dir, admin CLI, serve/stop, export).
//! * [`register`]: the Jintan register the server (and the device) load.
//! * [`driver`]: `tauri-driver` and the WebDriver session that launches the app.
//! * [`ui`]: `data-testid` locators, waits that poll, screenshots.

pub mod driver;
pub mod paths;
pub mod proc;
pub mod register;
pub mod server;
pub mod ui;

/// Errors of the harness: anything printable.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result of the harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The environment variable that turns the test on.
pub const GATE: &str = "GRIDWALK_E2E";

/// True when `GRIDWALK_E2E=1`.
pub fn enabled() -> bool {
    std::env::var(GATE).is_ok_and(|v| v == "1")
}
