//! SIGKILL the `gridwalk photo add` process at random instants, many times: the database
//! stays intact, every photo whose command succeeded is there, and the chain verifies.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

fn gridwalk(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridwalk"));
    c.arg("--db").arg(db);
    c
}

#[test]
fn killing_photo_add_at_random_instants_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("device.db");
    assert!(gridwalk(&db).arg("init").status().expect("init").success());
    let photos = [
        "orientation__landscape_1.jpg",
        "orientation__portrait_6.jpg",
        "gps__DSCN0010.jpg",
        "mobile__jolla.jpg",
    ];
    // Calibrate: how long one add takes here, so kills land inside it.
    let start = Instant::now();
    let out = gridwalk(&db)
        .args(["--json", "photo", "add"])
        .arg(testdata().join("photos").join(photos[0]))
        .output()
        .expect("add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let typical = start.elapsed().max(Duration::from_millis(20));
    let mut acknowledged: Vec<String> = Vec::new();
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    acknowledged.push(first["id"].as_str().expect("id").to_string());

    let trials = 60;
    let mut seed: u64 = 0x5eed;
    let mut killed = 0;
    for i in 0..trials {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = typical.mul_f64(((seed >> 33) % 1200) as f64 / 1000.0);
        let mut child = gridwalk(&db)
            .args(["--json", "photo", "add"])
            .arg(testdata().join("photos").join(photos[i % photos.len()]))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            let v: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("json of a finished add");
            acknowledged.push(v["id"].as_str().expect("id").to_string());
        } else {
            killed += 1;
        }
    }
    eprintln!(
        "{trials} trials: {killed} killed mid-way, {} acknowledged",
        acknowledged.len()
    );
    assert!(killed > 0, "some kills must land inside the command");

    let sweep = gridwalk(&db)
        .args(["evidence", "sweep"])
        .output()
        .expect("sweep");
    assert!(sweep.status.success());
    let verify = gridwalk(&db)
        .args(["--json", "evidence", "verify"])
        .output()
        .expect("verify");
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("json");
    assert_eq!(report["ok"], true, "{report}");
    let store = gridwalk_device::Store::open(&db).expect("open");
    assert!(store.check_integrity().expect("integrity").is_empty());
    for id in &acknowledged {
        let n: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM photo WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .expect("count");
        assert_eq!(n, 1, "acknowledged photo {id} is stored exactly once");
    }
}
