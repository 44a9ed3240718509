//! The `gridwalk-server` binary: admin commands on the same data directory while
//! `serve` runs, port 0, graceful shutdown.

use gridwalk_core::Uscc;
use gridwalk_protocol::{EnrollRequest, EnrollResponse, RecordEnvelope, RecordKind};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn cmd(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gridwalk-server")
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn admin_commands_work_on_the_data_directory_while_the_server_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let divisions = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/divisions/jintan.csv");
    ok(cmd(
        &data,
        &["divisions", "import", divisions.to_str().expect("path")],
    ));
    let uscc = Uscc::with_check_char("91320413MA1XY0001")
        .expect("uscc")
        .as_str()
        .to_string();
    let csv = dir.path().join("register.csv");
    let village = std::fs::read_to_string(&divisions)
        .expect("csv")
        .lines()
        .find(|l| l.contains(",village,"))
        .and_then(|l| l.split(',').next().map(str::to_string))
        .expect("a village");
    std::fs::write(
        &csv,
        format!("name,uscc,village_code\n金坛测试木业,{uscc},{village}\n"),
    )
    .expect("write");
    ok(cmd(
        &data,
        &["enterprises", "import", csv.to_str().expect("path")],
    ));
    ok(cmd(
        &data,
        &[
            "admin",
            "create-user",
            "--name",
            "wang",
            "--role",
            "grid_worker",
            "--jurisdiction",
            &village,
        ],
    ));
    let bad = cmd(
        &data,
        &[
            "admin",
            "create-user",
            "--name",
            "li",
            "--role",
            "expert",
            "--jurisdiction",
            &village,
        ],
    );
    assert!(!bad.status.success(), "an expert needs a town");
    // Officers sign in to the console: a password on standard input, or no user.
    let town = format!("{}000", &village[..9]);
    let create_officer = |input: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
            .arg("--data")
            .arg(&data)
            .args([
                "admin",
                "create-user",
                "--name",
                "zhao",
                "--role",
                "officer",
            ])
            .args(["--jurisdiction", &town])
            .args(input.map(|_| "--password-stdin"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        if let (Some(text), Some(mut stdin)) = (input, c.stdin.take()) {
            use std::io::Write;
            stdin.write_all(text.as_bytes()).expect("stdin");
        }
        c.wait_with_output().expect("wait")
    };
    let refused = create_officer(None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--password-stdin"));
    let short = create_officer(Some("short\n"));
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    ok(create_officer(Some("金坛区科长的口令-2026\n")));

    let mut server = Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("address line")
        .to_string();

    let login = |password: &str| {
        reqwest::Client::new()
            .post(format!("{base}/v1/login"))
            .json(&serde_json::json!({"user_name": "zhao", "password": password}))
            .send()
    };
    assert_eq!(
        login("金坛区科长的口令-2026")
            .await
            .expect("login")
            .status(),
        200
    );
    assert_eq!(
        login("金坛区科长的口令-2027")
            .await
            .expect("login")
            .status(),
        401
    );

    let code_out = ok(cmd(&data, &["admin", "enrollment-code", "--user", "wang"]));
    let code = code_out
        .lines()
        .last()
        .expect("code line")
        .trim()
        .to_string();
    let http = reqwest::Client::new();
    let dev: EnrollResponse = http
        .post(format!("{base}/v1/enroll"))
        .json(&EnrollRequest {
            code,
            device_key: "cli-test-device-key".into(),
            device_name: None,
        })
        .send()
        .await
        .expect("enroll")
        .json()
        .await
        .expect("json");
    let mut rec = RecordEnvelope::new(
        uuid::Uuid::now_v7(),
        RecordKind::Inspection,
        1,
        "{\"a\":1}".into(),
    );
    rec.enterprise_uscc = Some(uscc.clone());
    rec.photos = vec![gridwalk_protocol::sha256_hex(b"photo")];
    let r = http
        .post(format!("{base}/v1/sync/push"))
        .bearer_auth(&dev.token)
        .json(&serde_json::json!({"records": [rec]}))
        .send()
        .await
        .expect("push");
    assert_eq!(r.status(), 200);

    let export: serde_json::Value =
        serde_json::from_str(&ok(cmd(&data, &["export", "inspections", "--json"]))).expect("json");
    assert_eq!(export[0]["record_id"], rec.id.to_string());
    assert_eq!(export[0]["enterprise_uscc"], uscc.as_str());
    assert_eq!(export[0]["state"], "accepted");
    assert_eq!(export[0]["photo_hashes"][0], rec.photos[0].as_str());

    // Disabling the user refuses the device's token at once, typed; enabling lets it
    // sync again.
    let pull = || {
        http.get(format!("{base}/v1/sync/pull"))
            .bearer_auth(&dev.token)
            .send()
    };
    let said = ok(cmd(&data, &["admin", "disable-user", "wang"]));
    assert!(said.contains("1 devices refused"), "{said}");
    let r = pull().await.expect("pull");
    assert_eq!(r.status(), 401);
    let p: serde_json::Value = r.json().await.expect("problem");
    assert_eq!(p["code"], "account_disabled");
    let unknown = cmd(&data, &["admin", "disable-user", "无此人"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user named"));
    ok(cmd(&data, &["admin", "enable-user", "wang"]));
    assert_eq!(pull().await.expect("pull").status(), 200);

    ok(cmd(
        &data,
        &["admin", "revoke-device", &dev.device_id.to_string()],
    ));
    let r = http
        .get(format!("{base}/v1/sync/pull"))
        .bearer_auth(&dev.token)
        .send()
        .await
        .expect("pull");
    assert_eq!(r.status(), 401);

    let pid = server.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let status = server.wait().expect("wait");
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}

/// `--blob-url` (and `GRIDWALK_BLOB_URL`) is checked before any command runs: a scheme
/// other than s3:// and file://, a bad bucket name or a relative file URL is refused
/// with what to write instead; a file URL names the photo directory.
#[test]
fn a_bad_blob_url_is_refused_before_the_command_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in [
        "gs://bucket/p",
        "s3://Bad_Bucket",
        "file://relative",
        "s3://b/../x",
    ] {
        let out = cmd(dir.path(), &["--blob-url", bad, "admin", "devices"]);
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("blob URL"), "{bad}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
        .arg("--data")
        .arg(dir.path())
        .args(["admin", "devices"])
        .env("GRIDWALK_BLOB_URL", "ftp://x")
        .output()
        .expect("run");
    assert!(!out.status.success(), "the variable is read too");
    let photos = dir.path().join("elsewhere");
    let url = format!("file://{}", photos.display());
    ok(cmd(dir.path(), &["--blob-url", &url, "admin", "devices"]));
    assert!(photos.is_dir(), "a local blob directory is created");
}

/// The server stands on its own: neither it nor its tests and benches pull in the
/// phone's store (`gridwalk-device`, SQLCipher and the sync client). Register files are
/// read by `gridwalk-register`, which both sides share.
#[test]
fn the_servers_dependency_tree_holds_no_phone_store() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "gridwalk-server",
            "-e",
            "normal,build,dev",
        ])
        .args(["--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    let tree = ok(out);
    assert!(
        tree.lines().any(|l| l.starts_with("gridwalk-register ")),
        "the shared register crate is there: {tree}"
    );
    let phone: Vec<&str> = tree
        .lines()
        .filter(|l| l.starts_with("gridwalk-device ") || l.starts_with("gridwalk-cli "))
        .collect();
    assert!(phone.is_empty(), "gridwalk-server depends on {phone:?}");
}

/// `enterprises import` of a GBK file with a bad row: the report as JSON on standard
/// output, the rows that failed on standard error, exit code 3.
#[test]
fn a_partial_import_reports_its_rows_and_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let divisions = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/divisions/jintan.csv");
    ok(cmd(
        &data,
        &["divisions", "import", divisions.to_str().expect("path")],
    ));
    let village = "320413001001";
    let uscc = Uscc::with_check_char("91320413MA1XY0401")
        .expect("uscc")
        .as_str()
        .to_string();
    let text = format!("企业名称,统一社会信用代码,村社区代码\n金坛新城机械厂,{uscc},{village}\n坏企业,123,{village}\n");
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let csv = dir.path().join("gbk.csv");
    std::fs::write(&csv, &gbk).expect("write");
    let out = cmd(
        &data,
        &["enterprises", "import", csv.to_str().expect("path")],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report json");
    assert_eq!(report["encoding"], "gb18030");
    assert_eq!(report["rows"], 2);
    assert_eq!(report["inserted"], 1);
    assert_eq!(report["published"], 1);
    assert_eq!(report["rejected"][0]["row"], 3);
    assert_eq!(report["rejected"][0]["column"], "uscc");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 rows rejected"));
    // Again: the good row is unchanged and nothing is offered anew.
    let again = cmd(
        &data,
        &["enterprises", "import", csv.to_str().expect("path")],
    );
    assert_eq!(again.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("report json");
    assert_eq!(
        (report["unchanged"].as_u64(), report["published"].as_u64()),
        (Some(1), Some(0))
    );
}
