//! The `gridwalk` binary against a real database file: the CLI contract of the register.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

fn gridwalk(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridwalk"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run gridwalk")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn uscc(serial: &str) -> String {
    gridwalk_core::Uscc::with_check_char(&format!("91320413MA{serial}"))
        .expect("valid")
        .to_string()
}

/// A database with Jintan's divisions and a small register.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("device.db");
    assert!(gridwalk(&db, &["init"]).status.success());
    let divisions = testdata().join("divisions/jintan.csv");
    let o = gridwalk(
        &db,
        &[
            "divisions",
            "import",
            divisions.to_str().expect("utf8 path"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = dir.path().join("e.csv");
    std::fs::write(
        &csv,
        format!(
            "name,uscc,village_code,address,dust_types,workers_per_shift\n\
             金坛新城精密机械有限公司,{},320413001001,华城路8号,铝粉,20\n\
             常州市长荡湖木业有限公司,{},320413001002,儒林镇,木粉,6\n",
            uscc("0000001"),
            uscc("0000002")
        ),
    )
    .expect("write csv");
    let o = gridwalk(
        &db,
        &["enterprises", "import", csv.to_str().expect("utf8 path")],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (dir, db)
}

#[test]
fn search_json_is_an_array_with_id_name_uscc_and_village_code() {
    let (_dir, db) = setup();
    let o = gridwalk(
        &db,
        &["--json", "enterprises", "search", "jtxc", "--limit", "5"],
    );
    assert!(o.status.success());
    let hits: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let arr = hits.as_array().expect("array");
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["name"], "金坛新城精密机械有限公司");
    assert_eq!(arr[0]["uscc"], uscc("0000001"));
    assert_eq!(arr[0]["village_code"], "320413001001");
    assert!(arr[0]["id"].as_str().is_some_and(|s| s.len() == 36));
}

#[test]
fn show_accepts_an_id_or_a_uscc() {
    let (_dir, db) = setup();
    let by_uscc = gridwalk(&db, &["--json", "enterprises", "show", &uscc("0000002")]);
    assert!(by_uscc.status.success());
    let v: serde_json::Value = serde_json::from_slice(&by_uscc.stdout).expect("json");
    assert_eq!(v["name"], "常州市长荡湖木业有限公司");
    assert_eq!(v["village_name"], "虹桥居委会");
    let id = v["id"].as_str().expect("id").to_string();
    let by_id = gridwalk(&db, &["enterprises", "show", &id]);
    assert!(stdout(&by_id).contains("常州市长荡湖木业有限公司"));
    assert!(stdout(&by_id).contains("木粉"));
}

#[test]
fn an_unknown_enterprise_is_a_clear_error_with_a_code() {
    let (_dir, db) = setup();
    let o = gridwalk(
        &db,
        &["--json", "enterprises", "show", "91110000600037341L"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&o.stderr).expect("json error");
    assert_eq!(err["code"], "store.not_found");
}

#[test]
fn uscc_check_prints_valid_or_the_reason_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("d.db");
    let ok = gridwalk(&db, &["uscc", "check", "91320214745555318W"]);
    assert_eq!((ok.status.code(), stdout(&ok).trim()), (Some(0), "valid"));
    let bad = gridwalk(&db, &["uscc", "check", "91110000600037341N"]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        stdout(&bad).trim(),
        "invalid: check character is 'N', expected 'L'"
    );
}

#[test]
fn an_import_with_bad_rows_stores_the_good_ones_and_exits_3() {
    let (dir, db) = setup();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        format!(
            "name,uscc,village_code\n好厂,{},320413001001\n坏厂,123,320413001001\n",
            uscc("0000009")
        ),
    )
    .expect("write");
    let o = gridwalk(&db, &["enterprises", "import", csv.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("row 3 [uscc]"));
    let found = gridwalk(&db, &["--json", "enterprises", "search", "好厂"]);
    let hits: serde_json::Value = serde_json::from_slice(&found.stdout).expect("json");
    assert_eq!(hits.as_array().map(Vec::len), Some(1));
}

#[test]
fn a_demo_register_generates_and_imports_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("d.db");
    let divisions = testdata().join("divisions/jintan.csv");
    let out = dir.path().join("demo.csv");
    let o = gridwalk(
        &db,
        &[
            "demo",
            "register",
            "--divisions",
            divisions.to_str().expect("utf8"),
            "--count",
            "300",
            "--out",
            out.to_str().expect("utf8"),
        ],
    );
    assert!(o.status.success());
    assert!(gridwalk(
        &db,
        &["divisions", "import", divisions.to_str().expect("utf8")]
    )
    .status
    .success());
    let o = gridwalk(
        &db,
        &[
            "--json",
            "enterprises",
            "import",
            out.to_str().expect("utf8"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(r["inserted"], 300);
    assert!(r["leases_written"].as_u64().is_some_and(|n| n > 0));
}

#[test]
fn enroll_refuses_plain_http_to_another_host_unless_the_development_switch_is_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("device.db");
    let enroll_with = |server: &str, allow: Option<&str>, extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gridwalk"));
        c.arg("--db").arg(&db).args([
            "--json",
            "enroll",
            "--server",
            server,
            "--code",
            "ABCD-EFGH-JKLM",
            "--timeout-secs",
            "2",
        ]);
        c.args(extra);
        c.env_remove("GRIDWALK_ALLOW_HTTP");
        if let Some(v) = allow {
            c.env("GRIDWALK_ALLOW_HTTP", v);
        }
        let o = c.output().expect("run gridwalk");
        assert_eq!(o.status.code(), Some(1), "{server}: no server answers");
        let err: serde_json::Value = serde_json::from_slice(&o.stderr).expect("json error");
        err["code"].as_str().expect("code").to_string()
    };
    let enroll = |server: &str, allow: Option<&str>| enroll_with(server, allow, &[]);
    // A reserved name (RFC 2606) and an address nothing listens on: refused before any
    // request goes out, unless the switch is on (then the request fails to connect).
    assert_eq!(
        enroll("http://gridwalk.invalid:8737", None),
        "sync.insecure_server_url"
    );
    assert_eq!(
        enroll("http://gridwalk.invalid:8737", Some("0")),
        "sync.insecure_server_url"
    );
    // With the switch the address passes and the request itself fails (after the
    // enrollment's retries: a few seconds).
    assert_eq!(
        enroll("http://gridwalk.invalid:8737", Some("1")),
        "network.offline"
    );
    // The flag kept with the enrollment does the same as the switch.
    assert_eq!(
        enroll_with(
            "http://gridwalk.invalid:8737",
            None,
            &["--allow-insecure-http"]
        ),
        "network.offline"
    );
    // An extra CA certificate that is not one is refused before any request.
    let not_a_cert = dir.path().join("not-a-cert.pem");
    std::fs::write(&not_a_cert, "这不是证书\n").expect("write");
    assert_eq!(
        enroll_with(
            "https://gridwalk.invalid:8737",
            None,
            &["--ca-cert", not_a_cert.to_str().expect("utf-8")]
        ),
        "sync.bad_ca_cert"
    );
}
