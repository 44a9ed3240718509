//! A throw-away PostgreSQL for a system test, started with the server test suite's
//! script (`crates/gridwalk-server/tests/pg/start-postgres.sh`): one cluster per test
//! process (nextest runs each test in its own), stopped when the process exits.

use crate::bins::workspace;

/// The URL of the cluster's `postgres` database, or `None` when PostgreSQL is not
/// installed here (the script exits 77; the caller skips and says so).
pub fn throwaway_database() -> Option<String> {
    let script = workspace().join("crates/gridwalk-server/tests/pg/start-postgres.sh");
    let work = std::env::temp_dir().join(format!(
        "gridwalk-system-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&work)
        .arg(std::process::id().to_string())
        .output()
        .expect("run start-postgres.sh");
    if out.status.code() == Some(77) {
        eprintln!("SKIPPED: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    assert!(
        out.status.success(),
        "start-postgres.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let port = text
        .lines()
        .find_map(|l| l.strip_prefix("PORT="))
        .map(|p| p.trim().to_string())
        .expect("PORT= line");
    Some(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}
