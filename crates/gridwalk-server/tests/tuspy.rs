//! The tus endpoint driven by a third-party client: tuspy (`tusclient`, from PyPI).
//!
//! Each test installs (once, under a lock) a Python venv with a pinned tuspy in
//! `target/tmp/tuspy-venv`, starts a real server over SQLite, pushes a record that
//! references a real JPEG from the shared test data, and runs
//! `tests/tuspy/tus_driver.py`, which uploads it with tuspy's own uploader. Without a
//! Python that can make a venv the tests fail, naming the Debian package to install.

mod common;

use common::*;
use gridwalk_protocol::sha256_hex;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The tuspy release these tests pin.
const TUSPY_VERSION: &str = "1.1.0";
/// Chunk size the driver uses: small, so an upload takes several PATCHes.
const CHUNK: usize = 32 * 1024;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, creating the venv the first time.
fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            python_venv(
                "tuspy-venv",
                &format!("tuspy=={TUSPY_VERSION}"),
                "import tusclient.client, tusclient.storage.filestorage",
            )
            .join("bin/python")
        })
        .clone()
}

/// Options of one driver run.
#[derive(Default)]
struct Drive<'a> {
    checksum: Option<&'a str>,
    stop_at: Option<usize>,
    url_store: Option<&'a Path>,
    retries: u32,
    /// tuspy's aiohttp uploader instead of the requests one.
    use_async: bool,
}

/// Runs the tuspy driver; returns its exit code and its JSON log.
async fn drive(h: &Harness, token: &str, file: &Path, sha: &str, o: Drive<'_>) -> (i32, Value) {
    let python = tokio::task::spawn_blocking(venv_python)
        .await
        .expect("venv setup");
    let mut cmd = Command::new(python);
    cmd.arg(manifest_dir().join("tests/tuspy/tus_driver.py"))
        .args(["--endpoint", &h.url("/v1/photos")])
        // `=` form: a token may start with '-', which argparse would take for an option.
        .arg(format!("--token={token}"))
        .arg("--file")
        .arg(file)
        .args(["--sha256", sha])
        .args(["--chunk-size", &CHUNK.to_string()])
        .args(["--checksum", o.checksum.unwrap_or("sha256")])
        .args(["--retries", &o.retries.to_string()])
        // The server is on loopback: never through a proxy from the environment.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    if o.use_async {
        cmd.arg("--async");
    }
    if let Some(s) = o.stop_at {
        cmd.args(["--stop-at", &s.to_string()]);
    }
    if let Some(p) = o.url_store {
        cmd.arg("--url-store").arg(p);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run tus_driver.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "driver printed no JSON ({e}); exit {:?}\nstdout: {stdout}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), log)
}

/// Enrolls a device and pushes records (seq from 1) that reference `sha`.
async fn device_with_records(h: &Harness, sha: &str, n: u64) -> (String, Vec<uuid::Uuid>) {
    let dev = h.enroll("grid-east").await;
    let records: Vec<_> = (1..=n)
        .map(|s| inspection(s, &uscc_here(), &[sha]))
        .collect();
    let (status, v) = h.push(&dev.token, &records).await;
    assert_eq!(status, 200, "{v}");
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
    (dev.token, records.iter().map(|r| r.id).collect())
}

async fn record_state(h: &Harness, token: &str, id: uuid::Uuid) -> Value {
    let (status, v) = h.get(token, &format!("/v1/sync/records/{id}")).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// The blob the server stored for `sha`.
fn stored_blob(h: &Harness, sha: &str) -> Vec<u8> {
    std::fs::read(h.data.blobs().join("photos").join(sha)).expect("stored blob")
}

async fn head_offset(h: &Harness, token: &str, url: &str) -> u64 {
    let r = h
        .http
        .head(url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
    r.headers()["upload-offset"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Upload-Offset")
}

fn patches(log: &Value) -> &Vec<Value> {
    log["patches"].as_array().expect("patches")
}

fn chunks(len: usize) -> usize {
    len.div_ceil(CHUNK)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_a_real_jpeg_in_sha256_checksummed_chunks() {
    let (file, bytes) = test_photo("tests__45-gps_ifd.jpg");
    let sha = sha256_hex(&bytes);
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let (token, ids) = device_with_records(&h, &sha, 1).await;
    let before = record_state(&h, &token, ids[0]).await;
    assert_eq!(before["state"], "accepted");
    assert_eq!(before["missing_photos"], serde_json::json!([sha]));

    let (code, log) = drive(&h, &token, &file, &sha, Drive::default()).await;
    assert_eq!(code, 0, "{log}");
    let posts = log["posts"].as_array().expect("posts");
    assert_eq!(posts.len(), 1, "{log}");
    assert_eq!(posts[0]["status"], 201, "{log}");
    assert_eq!(posts[0]["tus_resumable"], "1.0.0");
    let url = log["url"].as_str().expect("url");
    assert!(url.starts_with(&h.url("/v1/photos/")), "{url}");
    let p = patches(&log);
    assert_eq!(p.len(), chunks(bytes.len()), "{log}");
    assert!(p.len() >= 3, "several PATCHes: {log}");
    let mut expected_offset = 0;
    for (i, patch) in p.iter().enumerate() {
        assert_eq!(patch["status"], 204, "PATCH {i}: {log}");
        assert_eq!(patch["offset"], expected_offset, "PATCH {i}: {log}");
        assert!(
            patch["checksum"]
                .as_str()
                .is_some_and(|c| c.starts_with("sha256 ")),
            "PATCH {i} carries a sha256 Upload-Checksum: {log}"
        );
        expected_offset += patch["length"].as_u64().expect("length");
        assert_eq!(
            patch["new_offset"],
            expected_offset.to_string(),
            "PATCH {i}: {log}"
        );
    }
    assert_eq!(log["offset"], bytes.len());

    let after = record_state(&h, &token, ids[0]).await;
    assert_eq!(after["state"], "complete", "{after}");
    assert_eq!(after["missing_photos"], serde_json::json!([]));
    let blob = stored_blob(&h, &sha);
    assert_eq!(sha256_hex(&blob), sha);
    assert!(blob == bytes, "the stored photo is byte-identical");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspys_aiohttp_uploader_completes_an_upload_too() {
    let (file, bytes) = test_photo("orientation__landscape_1.jpg");
    let sha = sha256_hex(&bytes);
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let (token, ids) = device_with_records(&h, &sha, 1).await;
    let (code, log) = drive(
        &h,
        &token,
        &file,
        &sha,
        Drive {
            use_async: true,
            ..Drive::default()
        },
    )
    .await;
    assert_eq!(code, 0, "{log}");
    let p = patches(&log);
    assert_eq!(p.len(), chunks(bytes.len()), "{log}");
    assert!(p.iter().all(|x| x["status"] == 204), "{log}");
    assert_eq!(log["offset"], bytes.len());
    assert_eq!(record_state(&h, &token, ids[0]).await["state"], "complete");
    assert!(
        stored_blob(&h, &sha) == bytes,
        "the stored photo is byte-identical"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_tuspy_uploader_resumes_a_half_upload_from_the_server_offset() {
    let (file, bytes) = test_photo("tests__30-type_error.jpg");
    let sha = sha256_hex(&bytes);
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let (token, ids) = device_with_records(&h, &sha, 1).await;
    let store_dir = tempfile::tempdir().expect("tempdir");
    let url_store = store_dir.path().join("tus-urls.json");
    let half = bytes.len() / 2;

    // First run: tuspy stores the upload URL, uploads half the photo and stops.
    let (code, first) = drive(
        &h,
        &token,
        &file,
        &sha,
        Drive {
            stop_at: Some(half),
            url_store: Some(&url_store),
            ..Drive::default()
        },
    )
    .await;
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["offset"], half, "{first}");
    assert_eq!(first["resumed_from"], Value::Null, "{first}");
    assert_eq!(patches(&first).len(), chunks(half), "{first}");
    let url = first["url"].as_str().expect("url").to_string();
    assert_eq!(head_offset(&h, &token, &url).await, half as u64);
    let mid = record_state(&h, &token, ids[0]).await;
    assert_eq!(mid["state"], "accepted", "{mid}");
    assert_eq!(mid["missing_photos"], serde_json::json!([sha]));

    // Second run, a new process: tuspy finds the URL in its store, asks the server for
    // the offset (HEAD) and sends only the rest.
    let (code, second) = drive(
        &h,
        &token,
        &file,
        &sha,
        Drive {
            url_store: Some(&url_store),
            ..Drive::default()
        },
    )
    .await;
    assert_eq!(code, 0, "{second}");
    assert_eq!(
        second["posts"],
        serde_json::json!([]),
        "no new upload: {second}"
    );
    assert_eq!(second["url"], url.as_str());
    let heads = second["heads"].as_array().expect("heads");
    assert_eq!(heads.len(), 1, "{second}");
    assert_eq!(heads[0]["upload_offset"], half.to_string(), "{second}");
    assert_eq!(second["resumed_from"], half, "{second}");
    let p = patches(&second);
    assert_eq!(p[0]["offset"], half, "{second}");
    assert_eq!(p.len(), chunks(bytes.len() - half), "{second}");
    assert!(p.iter().all(|x| x["status"] == 204), "{second}");
    assert_eq!(second["offset"], bytes.len());

    let done = record_state(&h, &token, ids[0]).await;
    assert_eq!(done["state"], "complete", "{done}");
    assert!(
        stored_blob(&h, &sha) == bytes,
        "the stored photo is byte-identical"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspys_default_sha1_checksum_is_refused_as_unsupported() {
    let (file, bytes) = test_photo("gps__DSCN0010.jpg");
    let sha = sha256_hex(&bytes);
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let (token, ids) = device_with_records(&h, &sha, 1).await;
    let (code, log) = drive(
        &h,
        &token,
        &file,
        &sha,
        Drive {
            checksum: Some("sha1"),
            ..Drive::default()
        },
    )
    .await;
    assert_eq!(code, 3, "tuspy reports the failure: {log}");
    assert_eq!(log["error"]["status"], 400, "{log}");
    let problem: Value =
        serde_json::from_str(log["error"]["body"].as_str().expect("body")).expect("problem JSON");
    assert_eq!(
        problem["code"], "checksum_algorithm_unsupported",
        "{problem}"
    );
    let url = log["url"].as_str().expect("url");
    assert_eq!(head_offset(&h, &token, url).await, 0, "nothing stored");
    assert_eq!(record_state(&h, &token, ids[0]).await["state"], "accepted");
    h.stop().await;
}

/// The server creates the upload of a photo it already holds complete (`Upload-Offset`
/// = `Upload-Length` in the `201`). tuspy ignores that offset and PATCHes from 0, which
/// the tus rules answer `409`; with one retry tuspy asks the offset (HEAD) and is done
/// without sending the photo again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_already_held_finishes_for_tuspy_after_one_retry() {
    let (file, bytes) = test_photo("gps__DSCN0021.jpg");
    let sha = sha256_hex(&bytes);
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let (token, ids) = device_with_records(&h, &sha, 2).await;
    let (code, log) = drive(&h, &token, &file, &sha, Drive::default()).await;
    assert_eq!(code, 0, "{log}");

    let (code, again) = drive(
        &h,
        &token,
        &file,
        &sha,
        Drive {
            retries: 1,
            ..Drive::default()
        },
    )
    .await;
    assert_eq!(code, 0, "{again}");
    let posts = again["posts"].as_array().expect("posts");
    assert_eq!(posts[0]["status"], 201, "{again}");
    assert_eq!(
        posts[0]["upload_offset"],
        bytes.len().to_string(),
        "{again}"
    );
    let p = patches(&again);
    assert_eq!(p.len(), 2, "{again}");
    assert_eq!(p[0]["status"], 409, "{again}");
    assert_eq!(p[1]["status"], 204, "{again}");
    assert_eq!(p[1]["length"], 0, "{again}");
    assert_eq!(again["offset"], bytes.len());
    for id in ids {
        assert_eq!(record_state(&h, &token, id).await["state"], "complete");
    }
    assert!(stored_blob(&h, &sha) == bytes);
    h.stop().await;
}
