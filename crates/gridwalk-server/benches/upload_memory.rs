//! Peak memory of the server while eight large photo uploads finish at once.
//!
//! `cargo bench -p gridwalk-server --bench upload_memory` runs the real
//! `gridwalk-server` binary (SQLite, local blobs) as a child process, enrolls one
//! device, pushes a record naming eight photos of `GRIDWALK_BENCH_PHOTO_MIB` MiB each
//! (default 64, the protocol's maximum), uploads every photo up to its last chunk, and
//! then sends the eight last chunks at the same time, so eight verifications (hash the
//! staged file, copy it to the blob store) run together. It prints the server's peak
//! resident memory (`VmHWM` of /proc/PID/status) before and after that moment.
//! The goal (docs/server.md): under 200 MB.

use gridwalk_protocol::tus::{chunk_checksum, encode_metadata};
mod support;

use gridwalk_protocol::{sha256_hex, EnrollRequest, EnrollResponse, PushRequest, RecordEnvelope};
use support::served::{peak_kib, photo, server, Served};
use uuid::Uuid;

const CHUNK: usize = 8 * 1024 * 1024;

#[tokio::main]
async fn main() {
    let mib: usize = std::env::var("GRIDWALK_BENCH_PHOTO_MIB")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(64);
    let len = mib * 1024 * 1024;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    server(
        data,
        &[
            "admin",
            "create-user",
            "--name",
            "bench",
            "--role",
            "grid_worker",
            "--jurisdiction",
            "320413100201",
        ],
    );
    let code = server(data, &["admin", "enrollment-code", "--user", "bench"])
        .lines()
        .last()
        .expect("code line")
        .trim()
        .to_string();
    // One device's eight open uploads exceed the default per-device allowance.
    let served = Served::start(data, &["--max-open-upload-mib", "1024"]);
    let pid = served.pid();
    let base = served.base.clone();
    let http = reqwest::Client::new();
    let dev: EnrollResponse = http
        .post(format!("{base}/v1/enroll"))
        .json(&EnrollRequest {
            code,
            device_key: Uuid::new_v4().to_string(),
            device_name: Some("bench".into()),
        })
        .send()
        .await
        .expect("enroll")
        .json()
        .await
        .expect("enroll json");

    let hashes: Vec<String> = (0..8).map(|i| sha256_hex(&photo(i, len))).collect();
    let mut record = RecordEnvelope::new(
        Uuid::now_v7(),
        gridwalk_protocol::RecordKind::Inspection,
        1,
        "{\"bench\":true}".into(),
    );
    record.photos = hashes.clone();
    let pushed = http
        .post(format!("{base}/v1/sync/push"))
        .bearer_auth(&dev.token)
        .json(&PushRequest {
            records: vec![record],
        })
        .send()
        .await
        .expect("push");
    assert!(pushed.status().is_success());

    let last = CHUNK.min(len) / 2;
    let mut finals = Vec::new();
    for (i, sha) in hashes.iter().enumerate() {
        let bytes = photo(i as u64, len);
        let created = http
            .post(format!("{base}/v1/photos"))
            .bearer_auth(&dev.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", len.to_string())
            .header("Upload-Metadata", encode_metadata(&[("sha256", sha)]))
            .send()
            .await
            .expect("create");
        assert_eq!(created.status(), 201);
        let loc = format!(
            "{base}{}",
            created.headers()["location"].to_str().expect("location")
        );
        let mut offset = 0;
        while offset < len - last {
            let end = (offset + CHUNK).min(len - last);
            let r = http
                .patch(&loc)
                .bearer_auth(&dev.token)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", offset.to_string())
                .header("Upload-Checksum", chunk_checksum(&bytes[offset..end]))
                .body(bytes[offset..end].to_vec())
                .send()
                .await
                .expect("patch");
            assert_eq!(r.status(), 204);
            offset = end;
        }
        finals.push((loc, offset, bytes[offset..].to_vec()));
    }
    let before = peak_kib(pid);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = finals
        .into_iter()
        .map(|(loc, offset, tail)| {
            let http = http.clone();
            let token = dev.token.clone();
            tokio::spawn(async move {
                http.patch(&loc)
                    .bearer_auth(&token)
                    .header("Tus-Resumable", "1.0.0")
                    .header("Content-Type", "application/offset+octet-stream")
                    .header("Upload-Offset", offset.to_string())
                    .body(tail)
                    .send()
                    .await
                    .expect("last patch")
                    .status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("join"), 204);
    }
    let elapsed = started.elapsed();
    let peak = peak_kib(pid);
    let missing: serde_json::Value = http
        .get(format!("{base}/v1/sync/missing-photos"))
        .bearer_auth(&dev.token)
        .send()
        .await
        .expect("missing")
        .json()
        .await
        .expect("json");
    assert_eq!(missing["photos"], serde_json::json!([]), "all 8 verified");
    println!(
        "8 uploads of {mib} MiB finishing at once: server peak RSS {:.1} MB \
         (peak before the last chunks {:.1} MB); the eight verifications took {:.2} s",
        peak as f64 * 1024.0 / 1e6,
        before as f64 * 1024.0 / 1e6,
        elapsed.as_secs_f64()
    );
    drop(served);
}
