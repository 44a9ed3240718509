//! Operations (issue 13): `/v1/health` says whether the database and the blob store
//! answer (a 503 problem naming the part when not, so a load balancer takes the replica out), Prometheus metrics
//! at `/metrics` for a scraper with the metrics token, and `backup` of the SQLite
//! database while the server writes.

mod common;

use common::*;
use gridwalk_server::backup::{backup_sqlite, BackupError};
use gridwalk_server::metrics::Metrics;
use gridwalk_server::serve::ConnLimits;
use std::sync::Arc;

const TOKEN: &str = "scrape-token-0123456789";

async fn health(h: &Harness) -> (u16, serde_json::Value) {
    let r = h
        .http
        .get(h.url("/v1/health"))
        .send()
        .await
        .expect("health");
    let status = r.status().as_u16();
    (status, r.json().await.expect("health json"))
}

#[tokio::test]
async fn health_says_the_database_and_the_blob_store_answer() {
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let (status, v) = health(&h).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            v["status"].as_str(),
            v["database"].as_str(),
            v["blobs"].as_str()
        ),
        (Some("ok"), Some("ok"), Some("ok")),
        "{v}"
    );
}

#[tokio::test]
async fn health_on_postgres() {
    let Some(h) = Harness::start(Db::Postgres).await else {
        return;
    };
    let (status, v) = health(&h).await;
    assert_eq!((status, v["database"].as_str()), (200, Some("ok")), "{v}");
}

/// The blob store's directory replaced by a file (a disk that went away, a wrong
/// mount): the blob store no longer answers, health is 503 and says which part.
#[tokio::test]
async fn health_is_503_when_the_blob_store_does_not_answer() {
    let blobs_dir = tempfile::tempdir().expect("tempdir");
    let root = blobs_dir.path().join("blobs");
    std::fs::create_dir(&root).expect("blobs dir");
    let store_root = root.clone();
    let h = Harness::start_configured(Db::Sqlite, ConnLimits::default(), None, move |s| {
        let blobs = object_store::local::LocalFileSystem::new_with_prefix(&store_root)
            .expect("local blobs");
        gridwalk_server::AppState {
            blobs: Arc::new(blobs),
            ..s
        }
    })
    .await
    .expect("sqlite");
    assert_eq!(health(&h).await.0, 200);
    std::fs::remove_dir(&root).expect("remove blobs dir");
    std::fs::write(&root, b"not a directory").expect("file in its place");
    let (status, v) = health(&h).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["code"], "unavailable", "{v}");
    assert_eq!(v["detail"], "database: ok, blobs: unavailable", "{v}");
}

async fn scrape(h: &Harness, token: Option<&str>) -> (u16, String) {
    let mut req = h.http.get(h.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("metrics");
    (r.status().as_u16(), r.text().await.expect("text"))
}

#[tokio::test]
async fn metrics_are_off_without_a_token_and_refused_without_it() {
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let (status, body) = scrape(&h, Some(TOKEN)).await;
    assert_eq!(status, 404, "{body}");
    let h = Harness::start_configured(Db::Sqlite, ConnLimits::default(), None, |s| {
        s.with_metrics(Metrics::new(Some(TOKEN)))
    })
    .await
    .expect("sqlite");
    assert_eq!(scrape(&h, None).await.0, 401);
    assert_eq!(scrape(&h, Some("scrape-token-012345678")).await.0, 401);
    // A device token is not the metrics token.
    let dev = h.enroll("grid-east").await;
    assert_eq!(scrape(&h, Some(&dev.token)).await.0, 401);
    let (status, body) = scrape(&h, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.ends_with("# EOF\n"), "OpenMetrics text: {body}");
}

fn metric(body: &str, name_and_labels: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

/// Pushes, a duplicate, a rejected record and a photo show up in the counters, and
/// requests are counted by route template (never by a concrete id).
#[tokio::test]
async fn metrics_count_records_photos_and_requests_by_route() {
    let h = Harness::start_configured(Db::Sqlite, ConnLimits::default(), None, |s| {
        s.with_metrics(Metrics::new(Some(TOKEN)))
    })
    .await
    .expect("sqlite");
    let dev = h.enroll("grid-east").await;
    let photo = distinct_jpeg(7);
    let sha = gridwalk_protocol::sha256_hex(&photo);
    // Finalized two hours before they reach the server.
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    let mut first = inspection(1, &uscc_here(), &[&sha]);
    first.device_time = Some(two_hours_ago);
    let mut second = inspection(2, &uscc_here(), &[]);
    second.device_time = Some(two_hours_ago);
    let (status, v) = h.push(&dev.token, &[first.clone(), second]).await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&first)).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    let mut bad = inspection(3, &uscc_here(), &[]);
    bad.payload_sha256 = "0".repeat(64);
    let (_, v) = h.push(&dev.token, &[bad]).await;
    assert_eq!(v["results"][0]["status"], "rejected", "{v}");
    tus_upload(&h, &dev.token, &photo, true).await;
    let unknown = format!("/v1/hazards/{}", uuid::Uuid::new_v4());
    assert_eq!(h.get(&dev.token, &unknown).await.0, 404);

    let (status, body) = scrape(&h, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let count = |s: &str| metric(&body, s);
    assert_eq!(
        count(r#"gridwalk_records_received_total{kind="inspection",outcome="accepted"}"#),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        count(r#"gridwalk_records_received_total{kind="inspection",outcome="duplicate"}"#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"gridwalk_records_received_total{kind="inspection",outcome="rejected"}"#),
        Some(1.0)
    );
    assert_eq!(count("gridwalk_photos_stored_total"), Some(1.0));
    assert_eq!(
        count("gridwalk_photo_bytes_stored_total"),
        Some(photo.len() as f64)
    );
    assert_eq!(count("gridwalk_sync_lag_seconds_count"), Some(2.0));
    // Both lags fall between 64 minutes and 4.3 hours.
    assert_eq!(
        count(r#"gridwalk_sync_lag_seconds_bucket{le="3840.0"}"#),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        count(r#"gridwalk_sync_lag_seconds_bucket{le="15360.0"}"#),
        Some(2.0),
        "{body}"
    );
    assert_eq!(
        count(r#"gridwalk_http_requests_total{method="POST",route="/v1/sync/push",status="200"}"#),
        Some(3.0),
        "{body}"
    );
    assert_eq!(
        count(
            r#"gridwalk_http_requests_total{method="PATCH",route="/v1/photos/{id}",status="204"}"#
        ),
        Some(1.0),
        "{body}"
    );
    assert!(
        body.contains(r#"route="/v1/hazards/{id}",status="404""#),
        "{body}"
    );
    assert!(
        !body.contains(&unknown),
        "a concrete path became a label: {body}"
    );
    assert!(
        count(
            r#"gridwalk_http_request_duration_seconds_count{method="POST",route="/v1/sync/push"}"#
        ) == Some(3.0),
        "{body}"
    );
}

/// A backup taken while another task pushes: the copy is a whole database as of one
/// commit (its check passes, its records are a prefix of what was pushed), it opens as a
/// server store, and a second backup never overwrites the first.
#[tokio::test]
async fn a_backup_taken_while_the_server_writes_is_whole_and_opens() {
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let dev = h.enroll("grid-east").await;
    let (_, v) = h
        .push(
            &dev.token,
            &[
                inspection(1, &uscc_here(), &[]),
                inspection(2, &uscc_here(), &[]),
            ],
        )
        .await;
    assert_eq!(v["results"][1]["status"], "accepted", "{v}");
    let writer = {
        let (http, url, token) = (h.http.clone(), h.url("/v1/sync/push"), dev.token.clone());
        tokio::spawn(async move {
            for seq in 3..=40u64 {
                let body = gridwalk_protocol::PushRequest {
                    records: vec![inspection(seq, &uscc_here(), &[])],
                };
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("push");
                assert_eq!(r.status(), 200);
            }
        })
    };
    let out = h.dir.path().join("backup.db");
    let (db, out2) = (h.data.database(), out.clone());
    let report = tokio::task::spawn_blocking(move || backup_sqlite(&db, &out2))
        .await
        .expect("join")
        .expect("backup");
    writer.await.expect("writer");
    assert!(report.records >= 2, "{report:?}");
    assert!(report.bytes > 0 && report.schema_version > 0, "{report:?}");
    let copy = rusqlite::Connection::open(&out).expect("open copy");
    let seqs: Vec<i64> = copy
        .prepare("SELECT seq FROM record ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        seqs,
        (1..=report.records).collect::<Vec<_>>(),
        "a prefix of the pushes"
    );
    assert_eq!(
        copy.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .expect("mode"),
        "delete",
        "one file, no WAL beside it"
    );
    drop(copy);
    // It opens as a server's database.
    let restored = tempfile::tempdir().expect("tempdir");
    let data = gridwalk_server::DataDir::create(restored.path()).expect("data");
    std::fs::copy(&out, data.database()).expect("copy");
    let store = gridwalk_server::open_store(&data, None).expect("open restored");
    assert_eq!(
        store.projection_dump().map(|d| d.is_empty()).ok(),
        Some(false)
    );
    match backup_sqlite(&h.data.database(), &out) {
        Err(BackupError::Exists(p)) => assert_eq!(p, out),
        other => panic!("overwrote a backup: {other:?}"),
    }
    assert!(
        !out.with_extension("db.partial").exists(),
        "no partial file left"
    );
}
