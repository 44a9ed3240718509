//! The checklist CLI contract (issue 4 §7) against the real binary and a real database:
//! the done-when case (an aluminium polisher with a dry collector lacking explosion
//! control → a major hazard citing 10号令 第十一条(三)), JSON shapes, error codes and
//! the hazard lifecycle commands.

use gridwalk_device::inspection::checklist::canonical::sha256_hex;
use serde_json::Value;
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
        .env_remove("GRIDWALK_USER")
        .output()
        .expect("run gridwalk")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let o = gridwalk(db, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(db: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(db, &a)).expect("json")
}

/// `{"code","message"}` of a refused command (exit 1).
fn refused(db: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let o = gridwalk(db, &a);
    assert_eq!(o.status.code(), Some(1), "{args:?} should fail");
    serde_json::from_slice(&o.stderr).expect("error json")
}

fn uscc(serial: &str) -> String {
    gridwalk_core::Uscc::with_check_char(&format!("91320413MA{serial}"))
        .expect("valid")
        .to_string()
}

fn photo(name: &str) -> String {
    testdata()
        .join("photos")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("device.db");
    ok(&db, &["init"]);
    let divisions = testdata().join("divisions/jintan.csv");
    ok(
        &db,
        &["divisions", "import", divisions.to_str().expect("utf8")],
    );
    let csv = dir.path().join("e.csv");
    std::fs::write(
        &csv,
        format!(
            "name,uscc,village_code,dust_types,workers_per_shift\n\
             金坛铝业抛光有限公司,{},320413001001,铝粉,20\n",
            uscc("0000001")
        ),
    )
    .expect("csv");
    ok(&db, &["enterprises", "import", csv.to_str().expect("utf8")]);
    (dir, db)
}

/// The shared dust-verification answers (`tests/fixtures/dust-verification-aluminium.txt`).
fn dust_answers() -> Vec<(&'static str, &'static str)> {
    include_str!("../../../tests/fixtures/dust-verification-aluminium.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect()
}

/// The expert's dust verification: aluminium dust, one dry collector, no control measure.
fn verify_dust(db: &Path) {
    let id = ok(
        db,
        &[
            "inspect",
            "start",
            "--enterprise",
            &uscc("0000001"),
            "--template",
            "dust-verification",
            "--inspector",
            "王专家",
        ],
    );
    let id = id.trim();
    for (item, v) in dust_answers() {
        ok(db, &["inspect", "answer", id, item, v]);
    }
    ok(
        db,
        &["inspect", "photo", id, "DV-22", &photo("gps__DSCN0010.jpg")],
    );
    sign(db, id);
    ok(db, &["inspect", "finalize", id]);
}

/// A signature-like PNG (200×80, grey, a stroke) written beside the database.
fn signature_file(db: &Path) -> PathBuf {
    let (w, h) = (200u32, 80u32);
    let mut px = vec![255u8; (w * h) as usize];
    for x in 10..190u32 {
        px[((40 + x % 7) * w + x) as usize] = 0;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        let mut wr = enc.write_header().expect("png header");
        wr.write_image_data(&px).expect("png data");
    }
    let path = db.with_file_name("signature.png");
    std::fs::write(&path, out).expect("write png");
    path
}

/// `inspect sign` as the enterprise's representative.
fn sign(db: &Path, id: &str) {
    let file = signature_file(db);
    let sha = ok(
        db,
        &[
            "inspect",
            "sign",
            id,
            file.to_str().expect("utf8"),
            "--signer",
            "张经理",
        ],
    );
    assert_eq!(sha.trim().len(), 64);
}

#[test]
fn the_done_when_case_produces_a_major_hazard_citing_article_11_3() {
    let (_dir, db) = setup();
    verify_dust(&db);
    let id = ok(
        &db,
        &[
            "inspect",
            "start",
            "--enterprise",
            &uscc("0000001"),
            "--template",
            "expert-major-hazard",
            "--inspector",
            "李专家",
            "--role",
            "expert",
        ],
    );
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "only the id on stdout: {id}");
    let items = json(&db, &["inspect", "items", &id]);
    let items = items.as_array().expect("array");
    for i in items {
        for key in [
            "id",
            "text",
            "answer_type",
            "choices",
            "required",
            "photo_required_on_fail",
            "major_hazard",
        ] {
            assert!(i.get(key).is_some(), "item lacks {key}: {i}");
        }
        assert!(["yes_no_na", "number", "choice", "text", "photo"]
            .contains(&i["answer_type"].as_str().expect("str")));
    }
    let mh03 = items
        .iter()
        .find(|i| i["id"] == "MH-D-03")
        .expect("MH-D-03 applies: dry collector confirmed");
    assert_eq!(mh03["major_hazard"], true);
    assert!(items.iter().all(|i| i["id"] != "MH-D-08b"), "no sanding");
    // The optional duty questions (DT-*) are left open, as an expert may.
    for i in items
        .iter()
        .filter(|i| i["answer_type"] == "yes_no_na" && i["required"] == true)
    {
        let item = i["id"].as_str().expect("id");
        let v = match item {
            "MH-D-03" => "是",
            x if x.starts_with("R6") => "yes",
            _ => "no",
        };
        ok(&db, &["inspect", "answer", &id, item, v]);
    }
    ok(
        &db,
        &[
            "inspect",
            "answer",
            &id,
            "MH-D-03",
            "yes",
            "--note",
            "布袋除尘器无泄爆片",
        ],
    );
    // Refused while the photos are missing, listing them.
    let err = refused(&db, &["inspect", "finalize", &id]);
    assert_eq!(err["code"], "inspect.incomplete");
    assert_eq!(err["missing"]["photo_missing"][0], "MH-D-03");
    assert_eq!(err["missing"]["unanswered"][0], "MH-PHOTO");
    let text = gridwalk(&db, &["inspect", "finalize", &id]);
    assert_eq!(text.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&text.stderr).contains("MH-D-03"));

    ok(
        &db,
        &[
            "inspect",
            "photo",
            &id,
            "MH-D-03",
            &photo("gps__DSCN0021.jpg"),
        ],
    );
    ok(
        &db,
        &[
            "inspect",
            "photo",
            &id,
            "MH-PHOTO",
            &photo("gps__DSCN0029.jpg"),
        ],
    );
    // Complete, but the expert checklist needs the enterprise's signature.
    let err = refused(&db, &["inspect", "finalize", &id]);
    assert_eq!(err["code"], "inspect.signature_required");
    sign(&db, &id);
    let sha = ok(&db, &["inspect", "finalize", &id]);
    let sha = sha.trim();
    assert_eq!(sha.len(), 64);
    assert!(sha.bytes().all(|b| b.is_ascii_hexdigit()));
    let payload = gridwalk(&db, &["inspect", "payload", &id]);
    assert_eq!(sha256_hex(&payload.stdout), sha, "stored bytes hash to it");

    let hazards = json(&db, &["hazards", "list"]);
    let hazards = hazards.as_array().expect("array");
    assert_eq!(hazards.len(), 1);
    let h = &hazards[0];
    assert_eq!(h["item_id"], "MH-D-03");
    assert_eq!(h["severity"], "major");
    assert_eq!(h["legal_basis"], "10号令 第十一条(三)");
    assert_eq!(h["state"], "found");
    assert!(h["deadline"].as_str().expect("date").len() == 10);

    let shown = json(&db, &["inspect", "show", &id]);
    assert_eq!(shown["payload_sha256"], sha);
    assert_eq!(shown["score"]["failed"], 1);
    assert_eq!(shown["findings"][0]["severity"], "major");
    assert_eq!(shown["answers"]["MH-D-03"]["note"], "布袋除尘器无泄爆片");

    // Finalizing twice and answering a finalized inspection are refused.
    assert_eq!(
        refused(&db, &["inspect", "finalize", &id])["code"],
        "inspect.already_finalized"
    );
    assert_eq!(
        refused(&db, &["inspect", "answer", &id, "MH-D-03", "no"])["code"],
        "inspect.already_finalized"
    );
    let again = gridwalk(&db, &["inspect", "payload", &id]);
    assert_eq!(again.stdout, payload.stdout);

    // The lifecycle of the major hazard through the CLI.
    let hid = h["id"].as_str().expect("id").to_string();
    assert_eq!(
        refused(&db, &["hazards", "close", &hid])["code"],
        "hazard.illegal_transition"
    );
    let s = json(
        &db,
        &[
            "hazards",
            "supervise",
            &hid,
            "--notice",
            "金安委办〔2026〕12号",
            "--body",
            "金坛区安委办",
            "--deadline",
            "2027-03-31",
        ],
    );
    assert_eq!(s["deadline"], "2027-03-31");
    assert_eq!(
        refused(
            &db,
            &[
                "hazards",
                "supervise",
                &hid,
                "--notice",
                "x",
                "--body",
                "y",
                "--deadline",
                "2027-04-01"
            ]
        )["code"],
        "hazard.illegal_transition"
    );
    ok(
        &db,
        &[
            "hazards",
            "assign",
            &hid,
            "--to",
            "企业张三",
            "--actor",
            "李专家",
        ],
    );
    ok(&db, &["hazards", "start", &hid]);
    let s = json(
        &db,
        &[
            "hazards",
            "reinspect",
            &hid,
            "--failed",
            "--photo",
            &photo("gps__DSCN0021.jpg"),
        ],
    );
    assert_eq!(s["status"], "rectifying");
    // A passed re-inspection needs an after-photo.
    assert_eq!(
        refused(&db, &["hazards", "reinspect", &hid, "--passed"])["code"],
        "hazard.after_photo_required"
    );
    ok(
        &db,
        &[
            "hazards",
            "reinspect",
            &hid,
            "--passed",
            "--photo",
            &photo("gps__DSCN0029.jpg"),
        ],
    );
    ok(&db, &["hazards", "close", &hid]);
    let shown = json(&db, &["hazards", "show", &hid]);
    assert_eq!(shown["state"], "closed");
    assert_eq!(shown["events"].as_array().expect("events").len(), 7);
    ok(
        &db,
        &["hazards", "reopen", &hid, "--reason", "复查发现反弹"],
    );
    assert_eq!(json(&db, &["hazards", "list"])[0]["state"], "rectifying");

    // The store is consistent and the evidence chain verifies.
    let store = gridwalk_device::Store::open(&db).expect("open");
    assert!(store.check_integrity().expect("integrity").is_empty());
    assert!(store.verify_evidence().expect("verify").ok);
}

#[test]
fn templates_list_show_and_bad_input_codes() {
    let (dir, db) = setup();
    let list = json(&db, &["templates", "list"]);
    let ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    for id in [
        "grid-survey",
        "dust-verification",
        "expert-major-hazard",
        "pre-lease-check",
        "supervision-spot-check",
        "hazard-reinspection",
        "tip-verification",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    let t = json(&db, &["templates", "show", "expert-major-hazard"]);
    assert_eq!(t["version"], 2, "the newest version");
    assert!(ok(&db, &["templates", "show", "grid-survey"]).contains("SV-09"));
    assert_eq!(
        refused(&db, &["templates", "show", "nope"])["code"],
        "template.not_found"
    );
    let bad = dir.path().join("bad.xlsx");
    std::fs::write(&bad, "no").expect("write");
    assert_eq!(
        refused(&db, &["templates", "import", bad.to_str().expect("utf8")])["code"],
        "template.bad_workbook"
    );

    let id = ok(
        &db,
        &[
            "inspect",
            "start",
            "--enterprise",
            &uscc("0000001"),
            "--template",
            "grid-survey",
            "--inspector",
            "网格员小王",
        ],
    );
    let id = id.trim();
    for (args, code) in [
        (
            vec!["inspect", "answer", id, "NOPE", "yes"],
            "inspect.unknown_item",
        ),
        (
            vec!["inspect", "answer", id, "SV-01", "7"],
            "inspect.bad_answer",
        ),
        (
            vec!["inspect", "answer", id, "SV-03", "-3"],
            "inspect.bad_answer",
        ),
        (
            vec!["inspect", "answer", id, "SV-13", "abc"],
            "inspect.photo_item",
        ),
        (
            vec![
                "inspect",
                "answer",
                "01a22981-e4ec-7085-aefd-bdb1a34b5ffc",
                "SV-01",
                "yes",
            ],
            "inspect.not_found",
        ),
        (
            vec![
                "inspect",
                "start",
                "--enterprise",
                "nope",
                "--template",
                "grid-survey",
                "--inspector",
                "x",
            ],
            "store.not_found",
        ),
        (
            vec![
                "inspect",
                "start",
                "--enterprise",
                &uscc("0000001"),
                "--template",
                "grid-survey",
                "--inspector",
                "x",
                "--role",
                "boss",
            ],
            "inspect.unknown_role",
        ),
        (vec!["hazards", "show", "nope"], "hazard.not_found"),
    ] {
        let e = refused(&db, &args);
        assert_eq!(e["code"], code, "{args:?}: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let shown = json(&db, &["inspect", "show", id]);
    assert_eq!(shown["status"], "draft");
    assert_eq!(shown["answers"].as_object().expect("map").len(), 0);
    // A revision needs a finalized inspection.
    assert_eq!(
        refused(&db, &["inspect", "revise", id])["code"],
        "inspect.not_finalized"
    );
}

#[test]
fn roles_texts_and_signatures_are_checked_by_the_cli_too() {
    let (_dir, db) = setup();
    let start = |template: &str, role: &str| {
        vec![
            "inspect".to_string(),
            "start".into(),
            "--enterprise".into(),
            uscc("0000001"),
            "--template".into(),
            template.into(),
            "--inspector".into(),
            "王五".into(),
            "--role".into(),
            role.into(),
        ]
    };
    let args = start("grid-survey", "expert");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(refused(&db, &args)["code"], "inspect.role_not_allowed");
    let args = start("expert-major-hazard", "grid_worker");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(refused(&db, &args)["code"], "inspect.role_not_allowed");

    let args = start("dust-verification", "expert");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = ok(&db, &args);
    let id = id.trim();
    let long_note = "注".repeat(gridwalk_protocol::limits::MAX_NOTE_CHARS + 1);
    let err = refused(
        &db,
        &[
            "inspect", "answer", id, "DV-07", "yes", "--note", &long_note,
        ],
    );
    assert_eq!(err["code"], "inspect.text_too_long");
    let long_name = "张".repeat(gridwalk_protocol::limits::MAX_NAME_CHARS + 1);
    let file = signature_file(&db);
    let file = file.to_str().expect("utf8");
    assert_eq!(
        refused(&db, &["inspect", "sign", id, file, "--signer", &long_name])["code"],
        "inspect.text_too_long"
    );
    // A 30 MiB "PNG" of zeros is not a signature.
    let zeros = db.with_file_name("zeros.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(30 * 1024 * 1024, 0);
    std::fs::write(&zeros, bytes).expect("write");
    assert_eq!(
        refused(
            &db,
            &[
                "inspect",
                "sign",
                id,
                zeros.to_str().expect("utf8"),
                "--signer",
                "张"
            ]
        )["code"],
        "signature.too_large"
    );
    let header_only = db.with_file_name("header.png");
    std::fs::write(&header_only, &std::fs::read(file).expect("png")[..50]).expect("write");
    assert_eq!(
        refused(
            &db,
            &[
                "inspect",
                "sign",
                id,
                header_only.to_str().expect("utf8"),
                "--signer",
                "张"
            ]
        )["code"],
        "signature.bad_image"
    );
    for n in 0..4 {
        ok(
            &db,
            &[
                "inspect",
                "sign",
                id,
                file,
                "--signer",
                &format!("签字人{n}"),
            ],
        );
    }
    assert_eq!(
        refused(&db, &["inspect", "sign", id, file, "--signer", "第五人"])["code"],
        "signature.too_many"
    );
}
