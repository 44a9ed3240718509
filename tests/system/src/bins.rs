//! The `gridwalk` and `gridwalk-server` binaries under test.
//!
//! They live beside the test executable's `deps/` folder (`target/debug/`). Cargo does
//! not build another package's binaries for this package's tests, so when either is
//! missing — or older than the sources it is built from — this runs
//! `$CARGO build -p gridwalk-cli -p gridwalk-server` once per test process (cargo's own
//! lock serialises test processes that do it at the same time). Set
//! `GRIDWALK_SYSTEM_NO_BUILD=1` to use whatever binaries are there.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

/// Paths of the two binaries.
#[derive(Debug, Clone)]
pub struct Bins {
    pub gridwalk: PathBuf,
    pub server: PathBuf,
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binaries, built first if needed.
pub fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        // target/debug/deps/<test> → target/debug
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target profile dir")
            .to_path_buf();
        let bins = Bins {
            gridwalk: dir.join("gridwalk"),
            server: dir.join("gridwalk-server"),
        };
        if let Some(why) = needs_build(&bins) {
            build(&why);
        }
        assert!(
            bins.gridwalk.is_file(),
            "{} missing",
            bins.gridwalk.display()
        );
        assert!(bins.server.is_file(), "{} missing", bins.server.display());
        bins
    })
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Newest modification time of any file under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut best = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        let t = if p.is_dir() { newest(&p) } else { mtime(&p) };
        best = best.max(t);
    }
    best
}

fn needs_build(bins: &Bins) -> Option<String> {
    for b in [&bins.gridwalk, &bins.server] {
        if !b.is_file() {
            return Some(format!("{} is missing", b.display()));
        }
    }
    if std::env::var_os("GRIDWALK_SYSTEM_NO_BUILD").is_some() {
        return None;
    }
    let built = mtime(&bins.gridwalk)?.min(mtime(&bins.server)?);
    let root = workspace();
    let mut sources = vec![root.join("migrations"), root.join("Cargo.lock")];
    for c in [
        "core",
        "evidence",
        "checklist",
        "protocol",
        "device",
        "cli",
        "server",
    ] {
        sources.push(root.join(format!("crates/gridwalk-{c}/src")));
        sources.push(root.join(format!("crates/gridwalk-{c}/Cargo.toml")));
    }
    let changed = sources
        .iter()
        .filter(|s| (if s.is_dir() { newest(s) } else { mtime(s) }).is_some_and(|t| t > built))
        .map(|s| s.display().to_string())
        .collect::<Vec<_>>();
    (!changed.is_empty()).then(|| format!("sources changed since the last build: {changed:?}"))
}

fn build(why: &str) {
    let cargo = std::env::var("CARGO")
        .ok()
        .or(option_env!("CARGO").map(str::to_string))
        .unwrap_or_else(|| "cargo".into());
    eprintln!("building gridwalk and gridwalk-server ({why})");
    let status = std::process::Command::new(cargo)
        .args(["build", "-p", "gridwalk-cli", "-p", "gridwalk-server"])
        .current_dir(workspace())
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build -p gridwalk-cli -p gridwalk-server failed"
    );
}
