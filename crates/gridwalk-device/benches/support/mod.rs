//! What the device benches share: the test data and percentiles.

use std::path::PathBuf;
use std::time::Duration;

/// The shared test data (`GRIDWALK_TESTDATA`, else `shared/testdata` beside the repo).
pub fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

/// The `p` percentile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
