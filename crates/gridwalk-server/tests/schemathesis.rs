//! The API fuzzed by schemathesis (PyPI), issue 15: every operation of `/openapi.json`
//! of a running server (SQLite) holding a town's hazard, inspection with photos,
//! assignment, sample, tip and upload (named as the path parameters, so the cases reach
//! past the lookup), with a phone's token and with a town's and a district's officer's
//! session, under a fixed seed and a
//! bounded number of cases. No answer may be a server error (5xx), and every answer must
//! match the document (status, content type, schema).
//!
//! The venv with the pinned schemathesis is made once in `target/tmp/schemathesis-venv`.
//! Replay by hand: `target/tmp/schemathesis-venv/bin/st run URL/openapi.json -H
//! "Authorization: Bearer TOKEN" --seed 20261207 ...` (the arguments are printed with a
//! failure).

mod common;
#[path = "../benches/support/mod.rs"]
mod support;
mod town;

use common::*;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use town::{town, Town};

/// The schemathesis release these tests pin.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// The seed of every run: the same cases each time.
const SEED: &str = "20261207";
/// Cases per operation and phase: bounded, so the run takes a few minutes at most.
const MAX_EXAMPLES: &str = "20";
/// What an answer must satisfy.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn st() -> PathBuf {
    static ST: OnceLock<PathBuf> = OnceLock::new();
    ST.get_or_init(|| {
        python_venv("schemathesis-venv", SCHEMATHESIS, "import schemathesis").join("bin/st")
    })
    .clone()
}

/// Runs schemathesis with `token` against the harness; panics with its report on
/// any failure.
async fn fuzz(h: &Harness, t: &Town, who: &str, token: &str, exclude: &[&str]) {
    let st = tokio::task::spawn_blocking(st).await.expect("venv");
    let report = h.dir.path().join(format!("schemathesis-{who}"));
    let config_file = h.dir.path().join(format!("schemathesis-{who}.toml"));
    std::fs::write(&config_file, config(t)).expect("config");
    let mut args: Vec<String> = vec![
        "--config-file".into(),
        config_file.display().to_string(),
        "run".into(),
        h.url("/openapi.json"),
        "--checks".into(),
        CHECKS.into(),
        "--phases".into(),
        "examples,coverage,fuzzing".into(),
        "--seed".into(),
        SEED.into(),
        "--max-examples".into(),
        MAX_EXAMPLES.into(),
        "--generation-database".into(),
        "none".into(),
        // One worker: hypothesis' lambda descriptions trip CPython 3.11's AST recursion
        // check when generated from two threads at once ("AST constructor recursion
        // depth mismatch").
        "--workers".into(),
        "1".into(),
        "--request-timeout".into(),
        "20".into(),
        "--no-color".into(),
        "--report".into(),
        "junit".into(),
        "--report-dir".into(),
        report.display().to_string(),
        "-H".into(),
        format!("Authorization: Bearer {token}"),
    ];
    for path in exclude {
        args.push("--exclude-path".into());
        args.push((*path).into());
    }
    // Run where its cache (.schemathesis/) goes away with the test.
    let cwd = h.dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(st)
            .current_dir(cwd)
            .args(&args)
            .env(
                "SCHEMATHESIS_HOOKS",
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/hooks.py"),
            )
            .output()
            .map(|o| (o, args))
    })
    .await
    .expect("join")
    .expect("run st");
    let (out, args) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis as the {who} failed (exit {:?}); st {}\n{stdout}\n{}",
        out.status.code(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("schemathesis as the {who}:\n{stdout}");
}

/// Schemathesis' configuration: the town's real objects as the path parameters of the
/// operations that name one, so the fuzzed queries and bodies reach past the lookup.
fn config(t: &Town) -> String {
    let mut toml = String::new();
    for (paths, params) in [
        (
            vec![
                "/v1/hazards/{id}",
                "/v1/hazards/{id}/events",
                "/v1/hazards/{id}/photos/{sha256}",
            ],
            vec![("id", t.hazard.to_string()), ("sha256", t.photo.clone())],
        ),
        (
            vec![
                "/v1/inspections/{id}",
                "/v1/inspections/{id}/photos/{sha256}",
                "/v1/inspections/{id}/review",
                "/v1/inspections/{id}/record.pdf",
                "/v1/sync/records/{id}",
            ],
            vec![
                ("id", t.inspection.to_string()),
                ("sha256", t.photo.clone()),
            ],
        ),
        (
            vec![
                "/v1/assignments/{id}/reassign",
                "/v1/assignments/{id}/cancel",
            ],
            vec![("id", t.assignment.clone())],
        ),
        (vec!["/v1/samples/{id}"], vec![("id", t.sample.clone())]),
        (
            vec![
                "/v1/tips/{id}",
                "/v1/tips/{id}/decision",
                "/v1/tips/{id}/enterprise",
                "/v1/tips/{id}/reporter",
            ],
            vec![("id", t.tip.clone())],
        ),
        (vec!["/v1/photos/{id}"], vec![("id", t.upload.clone())]),
        (
            vec!["/v1/verify/{sha256}"],
            vec![("sha256", t.photo.clone())],
        ),
    ] {
        let paths: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
        let params: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("\"path.{k}\" = {v:?}"))
            .collect();
        toml.push_str(&format!(
            "[[operations]]\ninclude-path = [{}]\nparameters = {{ {} }}\n\n",
            paths.join(", "),
            params.join(", ")
        ));
    }
    toml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_survives_schemathesis_as_a_phone_and_as_an_officer() {
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let phone = h.enroll("expert-jincheng").await;
    let officer = officer_session(&h, "officer-jincheng", TOWN).await;
    let district = officer_session(&h, "officer", DISTRICT).await;
    let t = town(&h, &phone.token, &officer, &district).await;
    fuzz(&h, &t, "phone", &phone.token, &[]).await;
    // Signing out would end the session the rest of the run uses.
    fuzz(&h, &t, "officer", &officer, &["/v1/logout"]).await;
    fuzz(&h, &t, "district officer", &district, &["/v1/logout"]).await;
    h.stop().await;
}
