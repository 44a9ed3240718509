//! The sync protocol end to end over HTTP, against SQLite and PostgreSQL.

mod common;

use common::*;
use gridwalk_protocol::tus::{chunk_checksum, encode_metadata};
use gridwalk_protocol::{sha256_hex, EnrollRequest, PushResponse, RecordEnvelope, RecordKind};
use std::io::Write;

both_databases!(
    a_duplicate_push_is_acknowledged_without_a_second_copy,
    a_device_enrolled_again_resends_its_records_and_continues_its_sequence,
    a_device_enrolled_again_delivers_the_photos_its_old_identity_did_not,
    the_same_id_with_another_hash_is_a_typed_conflict,
    a_sequence_gap_is_reported_with_the_expected_number,
    the_receipt_verifies_with_the_servers_key_and_lists_held_hashes,
    a_wrong_payload_hash_is_rejected_and_does_not_block_later_records,
    a_hazard_event_must_parse_and_name_the_enterprise_it_is_sent_for,
    a_tus_upload_is_created_patched_resumed_and_verified,
    a_chunk_with_a_wrong_checksum_is_refused_and_nothing_is_stored,
    a_terminated_upload_is_gone,
    a_photo_whose_bytes_differ_from_its_declared_hash_is_discarded,
    a_record_is_complete_only_when_its_photos_are_verified,
    a_retried_enrollment_succeeds_for_the_same_device_only,
    a_revoked_device_is_refused,
    records_outside_the_jurisdiction_are_refused,
    pull_pages_only_the_register_of_the_jurisdiction,
    malformed_and_oversized_bodies_are_typed_problems,
    hazard_events_are_refused_outside_the_hazards_division_and_publish_under_it,
    a_hazard_event_in_another_users_name_is_refused,
    a_hazard_event_dated_far_ahead_of_the_servers_clock_is_refused,
    each_role_records_only_the_hazard_events_the_role_table_allows,
    an_event_for_a_hazard_the_server_does_not_hold_is_refused,
    another_devices_record_id_is_refused_without_revealing_the_record,
    a_photo_counts_for_a_record_only_once_its_own_device_uploaded_the_bytes,
    an_expired_enrollment_code_is_refused_on_the_retry_path_too,
    open_uploads_are_capped_per_device_in_count_and_bytes,
    upload_locks_exist_only_for_requests_on_the_callers_own_uploads,
    a_delete_during_a_patch_waits_for_it_and_leaves_no_file,
    stale_uploads_expire_and_orphan_files_are_swept,
    the_server_holds_each_devices_chain_and_refuses_a_break,
    a_held_record_pushed_again_with_a_rewritten_link_is_refused,
    the_envelope_must_claim_what_the_frozen_payload_names,
    records_without_a_link_from_older_apps_are_still_accepted,
    a_device_clock_that_is_off_is_flagged_on_the_record,
);

/// PostgreSQL drops the server's connection (a restart, a failover, an administrator's
/// `pg_terminate_backend`): the next request is served on a new connection, and nothing
/// pushed before or after is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_outlives_a_dropped_postgres_connection() {
    let Some(h) = Harness::start(Db::Postgres).await else {
        eprintln!("SKIPPED: PostgreSQL binaries are not installed");
        return;
    };
    let dev = h.enroll("grid-east").await;
    let first = inspection(1, &uscc_here(), &[]);
    let (s, body) = h.push(&dev.token, std::slice::from_ref(&first)).await;
    assert_eq!(s, 200, "{body}");

    let url = h.database_url.clone().expect("postgres url");
    let killed = tokio::task::spawn_blocking(move || {
        let (admin, name) = url.rsplit_once('/').expect("database name");
        let mut c = ::postgres::Client::connect(&format!("{admin}/postgres"), ::postgres::NoTls)
            .expect("admin connection");
        c.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .expect("terminate")
        .len()
    })
    .await
    .expect("join");
    assert!(killed >= 1, "the server's connection was not found");

    let second = inspection(2, &uscc_here(), &[]);
    let (s, body) = h.push(&dev.token, std::slice::from_ref(&second)).await;
    assert_eq!(s, 200, "first request after the drop: {body}");
    assert_eq!(body["results"][0]["status"], "accepted", "{body}");
    let (s, body) = h.push(&dev.token, &[first.clone(), second.clone()]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["results"][0]["status"], "duplicate", "{body}");
    assert_eq!(body["results"][1]["status"], "duplicate", "{body}");

    let store = h.store.clone();
    let held = tokio::task::spawn_blocking(move || store.export_inspections())
        .await
        .expect("join")
        .expect("export");
    let mut ids: Vec<_> = held.iter().map(|i| i.record_id).collect();
    ids.sort();
    let mut want = vec![first.id, second.id];
    want.sort();
    assert_eq!(ids, want, "each record held exactly once");
    h.stop().await;
}

/// A database made by the first server version (migration 0001 only, with a user)
/// upgrades on open to the current schema and keeps its data; on both databases.
#[test]
fn a_version_1_server_database_upgrades_on_open_and_keeps_its_data() {
    const USER: &str = "INSERT INTO app_user (id, name, role, jurisdiction, created_at)
        VALUES ('u1', 'grid-east', 'grid_worker', '320413104001', '2026-03-01T00:00:00Z')";
    let dir = tempfile::tempdir().expect("tempdir");
    let data = gridwalk_server::DataDir::create(dir.path()).expect("data dir");
    {
        let c = rusqlite::Connection::open(data.database()).expect("sqlite");
        c.execute_batch(include_str!(
            "../../../migrations/server/sqlite/0001_init.sql"
        ))
        .expect("0001");
        c.execute_batch(&format!("{USER}; PRAGMA user_version = 1;"))
            .expect("v1 data");
    }
    gridwalk_server::open_store(&data, None).expect("upgrade sqlite");
    let c = rusqlite::Connection::open(data.database()).expect("sqlite");
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, gridwalk_server::db::known_version());
    let held: i64 = c
        .query_row(
            "SELECT count(*) FROM app_user WHERE name = 'grid-east'",
            [],
            |r| r.get(0),
        )
        .expect("user");
    assert_eq!(held, 1);
    c.query_row("SELECT count(*) FROM record_holder", [], |r| {
        r.get::<_, i64>(0)
    })
    .expect("0002 applied");

    let Some(url) = fresh_pg_database() else {
        eprintln!("SKIPPED (PostgreSQL half): PostgreSQL binaries are not installed");
        return;
    };
    {
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("pg");
        c.batch_execute(include_str!(
            "../../../migrations/server/postgres/0001_init.sql"
        ))
        .expect("0001");
        c.batch_execute(&format!(
            "{USER}; CREATE TABLE schema_version (version BIGINT NOT NULL);
             INSERT INTO schema_version (version) VALUES (1);"
        ))
        .expect("v1 data");
    }
    gridwalk_server::open_store(&data, Some(&url)).expect("upgrade postgres");
    let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("pg");
    let version: i64 = c
        .query_one("SELECT max(version) FROM schema_version", &[])
        .expect("version")
        .get(0);
    assert_eq!(version, gridwalk_server::db::known_version());
    let held: i64 = c
        .query_one(
            "SELECT count(*) FROM app_user WHERE name = 'grid-east'",
            &[],
        )
        .expect("user")
        .get(0);
    assert_eq!(held, 1);
    c.query_one("SELECT count(*) FROM record_holder", &[])
        .expect("0002 applied");
}

/// A request that panics inside a transaction (a bug) rolls its work back and leaves
/// the database usable for the next request, on both backends, instead of a poisoned
/// lock refusing every request until the server is restarted.
#[test]
fn a_panic_inside_a_transaction_rolls_back_and_the_next_one_runs() {
    use gridwalk_server::db::{Backend, PgBackend, SqliteBackend};
    const INSERT: &str = "INSERT INTO app_user (id, name, role, jurisdiction, created_at)
        VALUES ($1, $1, 'grid_worker', '320413104001', '2026-03-01T00:00:00Z')";
    let dir = tempfile::tempdir().expect("tempdir");
    let mut backends: Vec<Box<dyn Backend>> = vec![Box::new(
        SqliteBackend::open(&dir.path().join("server.db")).expect("sqlite"),
    )];
    match fresh_pg_database() {
        Some(url) => backends.push(Box::new(PgBackend::connect(&url).expect("postgres"))),
        None => eprintln!("SKIPPED (PostgreSQL half): PostgreSQL binaries are not installed"),
    }
    for b in &backends {
        let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = b.transact(&mut |t| {
                t.exec(INSERT, &["crashed".into()])?;
                panic!("a bug mid-transaction");
            });
        }));
        assert!(crashed.is_err());
        b.transact(&mut |t| {
            let n = t.query("SELECT count(*) FROM app_user WHERE id = 'crashed'", &[])?;
            assert_eq!(n[0].int(0)?, 0, "{:?}: rolled back", b.dialect());
            t.exec(INSERT, &["after".into()])?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{:?} after the panic: {e}", b.dialect()));
    }
}

fn code_of(v: &serde_json::Value) -> &str {
    v["code"].as_str().unwrap_or("")
}

async fn a_duplicate_push_is_acknowledged_without_a_second_copy(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let r = inspection(1, &uscc_here(), &[]);
    let (s, first) = h.push(&dev.token, std::slice::from_ref(&r)).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["results"][0]["status"], "accepted");
    let (_, again) = h.push(&dev.token, std::slice::from_ref(&r)).await;
    assert_eq!(again["results"][0]["status"], "duplicate");
    assert_eq!(again["next_seq"], 2);
    let store = h.store.clone();
    let all = tokio::task::spawn_blocking(move || store.export_inspections())
        .await
        .expect("join")
        .expect("export");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].payload_sha256, r.payload_sha256);
}

/// A phone whose token was lost enrolls again (a new device id) and re-sends its whole
/// outbox from seq 1: the records already held answer `duplicate` yet take their place
/// in the new device's sequence, so its new records are accepted, not a gap.
async fn a_device_enrolled_again_resends_its_records_and_continues_its_sequence(h: &Harness) {
    let old = h.enroll("grid-east").await;
    let first = inspection(1, &uscc_here(), &[]);
    let second = inspection(2, &uscc_here(), &[]);
    let (_, v) = h.push(&old.token, &[first.clone(), second.clone()]).await;
    assert_eq!(v["next_seq"], 3, "{v}");
    let new = h.enroll("grid-east").await;
    assert_ne!(new.device_id, old.device_id);
    let third = inspection(3, &uscc_here(), &[]);
    let (s, v) = h.push(&new.token, &[first, second, third]).await;
    assert_eq!(s, 200, "{v}");
    let statuses: Vec<&str> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["duplicate", "duplicate", "accepted"], "{v}");
    assert_eq!(v["next_seq"], 4);
    let store = h.store.clone();
    let all = tokio::task::spawn_blocking(move || store.export_inspections())
        .await
        .expect("join")
        .expect("export");
    assert_eq!(all.len(), 3, "no second copies");
}

/// The old identity pushed a record but never uploaded its photo; the same person's
/// device, enrolled anew, pushes the record again (a duplicate) and may then deliver the
/// photo, so the record completes. A device of another user that pushes the same record
/// is refused (`record_id_taken`) and gains nothing.
async fn a_device_enrolled_again_delivers_the_photos_its_old_identity_did_not(h: &Harness) {
    let photo = photo_bytes(7_000, 9);
    let old = h.enroll("grid-east").await;
    let r = inspection(1, &uscc_here(), &[&sha256_hex(&photo)]);
    let (_, v) = h.push(&old.token, std::slice::from_ref(&r)).await;
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");

    let stranger = h.enroll("grid-one").await;
    let (_, v) = h.push(&stranger.token, std::slice::from_ref(&r)).await;
    assert_eq!(outcome(&v, 0), refused("record_id_taken"), "{v}");
    let (_, m) = h.get(&stranger.token, "/v1/sync/missing-photos").await;
    assert_eq!(
        m["photos"],
        serde_json::json!([]),
        "another user holds nothing"
    );
    let refused = create_upload(h, &stranger.token, &photo).await;
    assert_eq!(refused.status(), 409);
    let body: serde_json::Value = refused.json().await.expect("problem");
    assert_eq!(body["code"], "photo_not_referenced", "{body}");

    let new = h.enroll("grid-east").await;
    let (_, m) = h.get(&new.token, "/v1/sync/missing-photos").await;
    assert_eq!(
        m["photos"],
        serde_json::json!([]),
        "nothing held before the re-push"
    );
    let (_, v) = h.push(&new.token, std::slice::from_ref(&r)).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    let (_, m) = h.get(&new.token, "/v1/sync/missing-photos").await;
    assert_eq!(m["photos"][0]["sha256"], sha256_hex(&photo).as_str(), "{m}");
    let path = format!("/v1/sync/records/{}", r.id);
    let (s, v) = h.get(&new.token, &path).await;
    assert_eq!((s, v["state"].as_str()), (200, Some("accepted")), "{v}");

    let created = create_upload(h, &new.token, &photo).await;
    assert_eq!(created.status(), 201);
    let loc = created.headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    let done = patch(h, &new.token, &loc, 0, &photo, Some(chunk_checksum(&photo))).await;
    assert_eq!(done.status(), 204);
    let (_, v) = h.get(&new.token, &path).await;
    assert_eq!(v["state"], "complete", "{v}");
    let (_, v) = h.get(&old.token, &path).await;
    assert_eq!(
        v["state"], "complete",
        "the first pusher sees it complete too"
    );
}

async fn the_same_id_with_another_hash_is_a_typed_conflict(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let r = inspection(1, &uscc_here(), &[]);
    h.push(&dev.token, std::slice::from_ref(&r)).await;
    let mut changed = r.clone();
    changed.payload = changed.payload.replace("\"n\":1", "\"n\":9");
    changed.payload_sha256 = sha256_hex(changed.payload.as_bytes());
    let (s, v) = h.push(&dev.token, &[changed]).await;
    assert_eq!(s, 200);
    assert_eq!(v["results"][0]["status"], "conflict");
    assert_eq!(
        v["results"][0]["existing_sha256"],
        r.payload_sha256.as_str()
    );
}

async fn a_sequence_gap_is_reported_with_the_expected_number(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let first = inspection(1, &uscc_here(), &[]);
    let third = inspection(3, &uscc_here(), &[]);
    let (_, v) = h.push(&dev.token, &[third.clone(), first]).await;
    assert_eq!(v["results"][0]["status"], "gap");
    assert_eq!(v["results"][0]["expected_seq"], 2);
    assert_eq!(v["results"][1]["status"], "accepted");
    let second = inspection(2, &uscc_here(), &[]);
    let (_, v) = h.push(&dev.token, &[second, third]).await;
    assert_eq!(v["results"][0]["status"], "accepted");
    assert_eq!(v["results"][1]["status"], "accepted");
    assert_eq!(v["next_seq"], 4);
    // A new record reusing a taken number is refused without storing it.
    let (_, v) = h
        .push(&dev.token, &[inspection(2, &uscc_here(), &[])])
        .await;
    assert_eq!(v["results"][0]["status"], "rejected");
    assert_eq!(v["results"][0]["code"], "seq_reused");
}

async fn the_receipt_verifies_with_the_servers_key_and_lists_held_hashes(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let a = inspection(1, &uscc_here(), &[]);
    let b = inspection(5, &uscc_here(), &[]);
    let (_, v) = h.push(&dev.token, &[a.clone(), b]).await;
    let resp: PushResponse = serde_json::from_value(v).expect("push response");
    let key =
        gridwalk_protocol::receipt::decode_public_key(&dev.server_key.public_key).expect("key");
    let body = resp.receipt.verify(&key).expect("receipt verifies");
    assert_eq!(body.device_id, dev.device_id);
    assert_eq!(body.records.len(), 1, "only held records are listed");
    assert_eq!(body.records[0].payload_sha256, a.payload_sha256);
    assert!((chrono::Utc::now() - body.server_time).num_seconds().abs() < 60);
    let mut forged = resp.receipt.clone();
    forged.body = forged.body.replace(&a.payload_sha256, &"0".repeat(64));
    assert!(forged.verify(&key).is_err());
    let (_, k) = h.get(&dev.token, "/v1/server-key").await;
    assert_eq!(k["public_key"], dev.server_key.public_key.as_str());
}

async fn a_wrong_payload_hash_is_rejected_and_does_not_block_later_records(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut bad = inspection(1, &uscc_here(), &[]);
    bad.payload_sha256 = sha256_hex(b"something else");
    let good = inspection(2, &uscc_here(), &[]);
    let (_, v) = h.push(&dev.token, &[bad.clone(), good]).await;
    assert_eq!(v["results"][0]["status"], "rejected");
    assert_eq!(v["results"][0]["code"], "payload_hash_mismatch");
    assert_eq!(v["results"][1]["status"], "accepted");
    let (_, v) = h.push(&dev.token, &[bad]).await;
    assert_eq!(
        v["results"][0]["code"], "payload_hash_mismatch",
        "a retry gets the same answer"
    );
}

/// A `created` hazard event for the enterprise `enterprise_uscc`, sent with `uscc`.
fn hazard_created(seq: u64, enterprise_uscc: &str, uscc: &str) -> RecordEnvelope {
    hazard_created_by(seq, "grid-east", "major", enterprise_uscc, uscc).0
}

/// A `created` hazard event recorded by `actor`; returns it and the hazard id.
fn hazard_created_by(
    seq: u64,
    actor: &str,
    severity: &str,
    enterprise_uscc: &str,
    uscc: &str,
) -> (RecordEnvelope, uuid::Uuid) {
    let enterprise = gridwalk_core::ids::enterprise_id(
        &gridwalk_core::Uscc::parse(enterprise_uscc).expect("uscc"),
    );
    let id = uuid::Uuid::now_v7();
    let hazard = uuid::Uuid::now_v7();
    let payload = serde_json::json!({
        "id": id, "hazard_id": hazard, "at": "2026-03-02T02:00:00Z",
        "actor": actor, "kind": "created", "severity": severity,
        "enterprise_id": enterprise, "description_zh": "除尘器未设置泄爆装置",
        "deadline": "2026-12-31"
    })
    .to_string();
    let mut e = RecordEnvelope::new(id, RecordKind::HazardEvent, seq, payload);
    e.enterprise_uscc = Some(uscc.to_string());
    (e, hazard)
}

/// A later event of `hazard` (`kind` is the event's JSON without id, hazard, time and
/// actor), sent with the given envelope USCC and division.
fn hazard_followed(
    seq: u64,
    actor: &str,
    hazard: uuid::Uuid,
    kind: serde_json::Value,
    uscc: Option<&str>,
    division: Option<&str>,
) -> RecordEnvelope {
    let id = uuid::Uuid::now_v7();
    let mut body = serde_json::json!({
        "id": id, "hazard_id": hazard, "at": "2026-03-03T02:00:00Z", "actor": actor,
    });
    if let (Some(b), Some(k)) = (body.as_object_mut(), kind.as_object()) {
        b.extend(k.clone());
    }
    let mut e = RecordEnvelope::new(id, RecordKind::HazardEvent, seq, body.to_string());
    e.enterprise_uscc = uscc.map(str::to_string);
    e.division_code = division.map(str::to_string);
    e
}

/// Status and code of result `i` of a push answer.
fn outcome(v: &serde_json::Value, i: usize) -> (String, String) {
    let r = &v["results"][i];
    (
        r["status"].as_str().unwrap_or_default().to_string(),
        r["code"].as_str().unwrap_or_default().to_string(),
    )
}

/// The record ids a push answer's receipt lists as held.
fn receipt_ids(v: &serde_json::Value) -> Vec<String> {
    let body: serde_json::Value =
        serde_json::from_str(v["receipt"]["body"].as_str().expect("receipt body")).expect("json");
    body["records"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn accepted() -> (String, String) {
    ("accepted".into(), String::new())
}

fn refused(code: &str) -> (String, String) {
    ("rejected".into(), code.into())
}

/// Every hazard-event key a device with `token` pulls.
async fn pulled_hazard_events(h: &Harness, token: &str) -> Vec<String> {
    let (s, v) = h.get(token, "/v1/sync/pull?limit=1000").await;
    assert_eq!(s, 200, "{v}");
    v["changes"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|c| c["kind"] == "hazard_event")
                .filter_map(|c| c["key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A hazard belongs to the division of its enterprise from its creation: a grid worker
/// of one village cannot follow up a hazard of the neighbouring village, whatever USCC
/// or division the envelope claims, and an event the town's expert records is published
/// under the hazard's village even if the envelope names another.
async fn hazard_events_are_refused_outside_the_hazards_division_and_publish_under_it(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let (created, hazard) = hazard_created_by(
        1,
        "expert-jincheng",
        "general",
        &uscc_neighbour(),
        &uscc_neighbour(),
    );
    let (_, v) = h.push(&expert.token, &[created]).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");

    let grid = h.enroll("grid-east").await;
    let started = serde_json::json!({"kind": "rectification_started"});
    let attempts = [
        hazard_followed(1, "grid-east", hazard, started.clone(), None, Some(VILLAGE)),
        hazard_followed(
            2,
            "grid-east",
            hazard,
            started.clone(),
            Some(&uscc_here()),
            Some(VILLAGE),
        ),
        hazard_followed(3, "grid-east", hazard, started.clone(), None, None),
    ];
    let (_, v) = h.push(&grid.token, &attempts).await;
    assert_eq!(outcome(&v, 0), refused("forbidden_jurisdiction"), "{v}");
    assert_eq!(outcome(&v, 1), refused("payload_invalid"), "{v}");
    assert_eq!(outcome(&v, 2), refused("forbidden_jurisdiction"), "{v}");
    assert!(receipt_ids(&v).is_empty(), "{v}");

    // The expert's event claims the grid worker's village; it is published under the
    // hazard's village, so the grid worker of the other village never pulls it.
    let mine = hazard_followed(2, "expert-jincheng", hazard, started, None, Some(VILLAGE));
    let (_, v) = h.push(&expert.token, std::slice::from_ref(&mine)).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
    let grid_sees = pulled_hazard_events(h, &grid.token).await;
    assert!(!grid_sees.contains(&mine.id.to_string()), "{grid_sees:?}");
    let expert_sees = pulled_hazard_events(h, &expert.token).await;
    assert!(
        expert_sees.contains(&mine.id.to_string()),
        "{expert_sees:?}"
    );
    for refused in &attempts {
        assert!(!expert_sees.contains(&refused.id.to_string()));
    }
    let store = h.store.clone();
    let id = mine.id;
    let status = tokio::task::spawn_blocking(move || {
        store.record_status(
            &gridwalk_server::store::Caller {
                device_id: expert.device_id,
                user_name: "expert-jincheng".into(),
                role: gridwalk_protocol::Role::Expert,
                jurisdiction: gridwalk_core::DivisionCode::parse(TOWN).expect("town"),
                session: false,
                source: String::new(),
            },
            id,
        )
    })
    .await
    .expect("join")
    .expect("status");
    assert_eq!(status.state, gridwalk_protocol::RecordState::Complete);
}

/// The actor stored and published is the authenticated user: an event that names
/// anyone else is refused, for a creation as for a later event.
async fn a_hazard_event_in_another_users_name_is_refused(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let (forged, _) = hazard_created_by(1, "expert-jincheng", "major", &uscc_here(), &uscc_here());
    let (own, hazard) = hazard_created_by(2, "grid-east", "major", &uscc_here(), &uscc_here());
    let forged_follow = hazard_followed(
        3,
        "expert-jincheng",
        hazard,
        serde_json::json!({"kind": "rectification_started"}),
        Some(&uscc_here()),
        None,
    );
    let (_, v) = h.push(&grid.token, &[forged, own, forged_follow]).await;
    assert_eq!(outcome(&v, 0), refused("payload_invalid"), "{v}");
    assert!(
        v["results"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("actor")),
        "{v}"
    );
    assert_eq!(outcome(&v, 1), accepted(), "{v}");
    assert_eq!(outcome(&v, 2), refused("payload_invalid"), "{v}");
}

/// Events fold in time order: one dated years ahead would decide the hazard's state
/// for good, so it is refused; a phone a few hours ahead (time zones, drift) is not.
async fn a_hazard_event_dated_far_ahead_of_the_servers_clock_is_refused(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let (own, hazard) = hazard_created_by(1, "grid-east", "general", &uscc_here(), &uscc_here());
    let dated = |seq: u64, at: chrono::DateTime<chrono::Utc>| {
        let mut e = hazard_followed(
            seq,
            "grid-east",
            hazard,
            serde_json::json!({"kind": "rectification_started"}),
            Some(&uscc_here()),
            None,
        );
        let mut body: serde_json::Value = serde_json::from_str(&e.payload).expect("json");
        body["at"] = serde_json::json!(at);
        e.payload = body.to_string();
        e.payload_sha256 = gridwalk_protocol::sha256_hex(e.payload.as_bytes());
        e
    };
    let now = chrono::Utc::now();
    let (_, v) = h
        .push(
            &grid.token,
            &[
                own,
                dated(2, now + chrono::Duration::days(365 * 70)),
                dated(3, now + chrono::Duration::hours(3)),
            ],
        )
        .await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
    assert_eq!(outcome(&v, 1), refused("payload_invalid"), "{v}");
    assert!(
        v["results"][1]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("clock")),
        "{v}"
    );
    assert_eq!(outcome(&v, 2), accepted(), "{v}");
}

/// The role table of docs/server.md: a grid worker reports, starts and re-checks a
/// general hazard but closes nothing; only an officer lists for supervision (挂牌督办) or
/// extends a deadline; an expert assigns, re-inspects and closes.
async fn each_role_records_only_the_hazard_events_the_role_table_allows(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let (major, hz) = hazard_created_by(1, "grid-east", "major", &uscc_here(), &uscc_here());
    let (general, gz) = hazard_created_by(2, "grid-east", "general", &uscc_here(), &uscc_here());
    let ev = |seq, actor, hazard, kind: serde_json::Value| {
        hazard_followed(seq, actor, hazard, kind, Some(&uscc_here()), None)
    };
    let reinspect = serde_json::json!({"kind": "reinspected", "passed": true});
    let (_, v) = h
        .push(
            &grid.token,
            &[
                major,
                general,
                ev(3, "grid-east", hz, serde_json::json!({"kind": "closed"})),
                ev(4, "grid-east", hz, reinspect.clone()),
                ev(5, "grid-east", gz, reinspect.clone()),
                ev(
                    6,
                    "grid-east",
                    hz,
                    serde_json::json!({"kind": "assigned", "to": "厂长"}),
                ),
                ev(
                    7,
                    "grid-east",
                    hz,
                    serde_json::json!({"kind": "rectification_started"}),
                ),
            ],
        )
        .await;
    let got: Vec<_> = (0..7).map(|i| outcome(&v, i)).collect();
    assert_eq!(
        got,
        vec![
            accepted(),
            accepted(),
            refused("forbidden_role"),
            refused("forbidden_role"),
            accepted(),
            refused("forbidden_role"),
            accepted(),
        ],
        "{v}"
    );

    let listing = serde_json::json!({"kind": "listed_supervision", "notice_no": "金安督〔2026〕1号",
        "supervising_body": "金坛区应急管理局", "deadline": "2026-09-30"});
    let extend = serde_json::json!({"kind": "deadline_extended", "new_deadline": "2027-01-31",
        "reason": "设备到货延迟"});
    let expert = h.enroll("expert-jincheng").await;
    let (_, v) = h
        .push(
            &expert.token,
            &[
                ev(1, "expert-jincheng", hz, listing.clone()),
                ev(2, "expert-jincheng", hz, extend.clone()),
                ev(
                    3,
                    "expert-jincheng",
                    hz,
                    serde_json::json!({"kind": "assigned", "to": "厂长"}),
                ),
                ev(
                    4,
                    "expert-jincheng",
                    hz,
                    serde_json::json!({"kind": "closed"}),
                ),
            ],
        )
        .await;
    let got: Vec<_> = (0..4).map(|i| outcome(&v, i)).collect();
    assert_eq!(
        got,
        vec![
            refused("forbidden_role"),
            refused("forbidden_role"),
            accepted(),
            accepted()
        ],
        "{v}"
    );
    let officer = h.enroll("officer").await;
    let (_, v) = h
        .push(
            &officer.token,
            &[ev(1, "officer", hz, listing), ev(2, "officer", hz, extend)],
        )
        .await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
    assert_eq!(outcome(&v, 1), accepted(), "{v}");
}

/// A later event needs the hazard's creation on the server: one for a hazard id the
/// server does not hold is refused (and a second creation of a held hazard too).
async fn an_event_for_a_hazard_the_server_does_not_hold_is_refused(h: &Harness) {
    let grid = h.enroll("grid-east").await;
    let (created, hazard) =
        hazard_created_by(1, "grid-east", "general", &uscc_here(), &uscc_here());
    let mut again = created.clone();
    again.id = uuid::Uuid::now_v7();
    again.seq = 2;
    again.payload = again
        .payload
        .replace(&created.id.to_string(), &again.id.to_string());
    again.payload_sha256 = sha256_hex(again.payload.as_bytes());
    let unknown = hazard_followed(
        3,
        "grid-east",
        uuid::Uuid::now_v7(),
        serde_json::json!({"kind": "rectification_started"}),
        Some(&uscc_here()),
        None,
    );
    let (_, v) = h.push(&grid.token, &[created, again, unknown]).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
    assert_eq!(outcome(&v, 1), refused("payload_invalid"), "{v}");
    assert_eq!(outcome(&v, 2), refused("unknown_hazard"), "{v}");
    let _ = hazard;
}

/// A record id another person's device pushed: refused as `record_id_taken` whatever
/// hash is sent, with nothing of the record in the answer or the receipt; the caller's
/// sequence goes on.
async fn another_devices_record_id_is_refused_without_revealing_the_record(h: &Harness) {
    let owner = h.enroll("grid-east").await;
    let theirs = inspection(1, &uscc_here(), &[]);
    let (_, v) = h.push(&owner.token, std::slice::from_ref(&theirs)).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");

    let thief = h.enroll("grid-one").await;
    let mut same_hash = theirs.clone();
    same_hash.seq = 1;
    let mut other_hash = inspection(2, &uscc_here(), &[]);
    other_hash.id = theirs.id;
    let next = inspection(3, &uscc_here(), &[]);
    let (s, v) = h
        .push(&thief.token, &[same_hash, other_hash, next.clone()])
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(outcome(&v, 0), refused("record_id_taken"), "{v}");
    assert_eq!(outcome(&v, 1), refused("record_id_taken"), "{v}");
    assert_eq!(outcome(&v, 2), accepted(), "the sequence goes on: {v}");
    let text = v.to_string();
    assert!(
        !text.contains(&theirs.payload_sha256),
        "hash revealed: {text}"
    );
    assert_eq!(receipt_ids(&v), vec![next.id.to_string()], "{v}");
    let (s, _) = h
        .get(&thief.token, &format!("/v1/sync/records/{}", theirs.id))
        .await;
    assert_eq!(s, 404);
}

/// Uploads `photo` in one PATCH with `token`; returns the PATCH status.
async fn upload_whole(h: &Harness, token: &str, photo: &[u8]) -> (u16, Option<u64>) {
    let r = create_upload(h, token, photo).await;
    assert_eq!(r.status(), 201);
    let created_at: Option<u64> = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let loc = r.headers()["location"].to_str().expect("loc").to_string();
    if created_at == Some(photo.len() as u64) {
        return (201, created_at);
    }
    let r = patch(h, token, &loc, 0, photo, Some(chunk_checksum(photo))).await;
    (r.status().as_u16(), created_at)
}

/// A record that names a photo another device uploaded is not complete until its own
/// device uploads those bytes: the server asks for it, and a new upload starts at 0.
async fn a_photo_counts_for_a_record_only_once_its_own_device_uploaded_the_bytes(h: &Harness) {
    let photo = photo_bytes(40_000, 21);
    let sha = sha256_hex(&photo);
    let owner = h.enroll("grid-east").await;
    let r1 = inspection(1, &uscc_here(), &[&sha]);
    h.push(&owner.token, std::slice::from_ref(&r1)).await;
    assert_eq!(upload_whole(h, &owner.token, &photo).await, (204, Some(0)));
    let (_, v) = h
        .get(&owner.token, &format!("/v1/sync/records/{}", r1.id))
        .await;
    assert_eq!(v["state"], "complete", "{v}");

    let other = h.enroll("grid-one").await;
    let r2 = inspection(1, &uscc_here(), &[&sha]);
    h.push(&other.token, std::slice::from_ref(&r2)).await;
    let path = format!("/v1/sync/records/{}", r2.id);
    let (_, v) = h.get(&other.token, &path).await;
    assert_eq!(
        v["state"], "accepted",
        "not complete on another's upload: {v}"
    );
    assert_eq!(v["missing_photos"], serde_json::json!([sha]), "{v}");
    let (_, m) = h.get(&other.token, "/v1/sync/missing-photos").await;
    assert_eq!(m["photos"][0]["sha256"], sha.as_str(), "{m}");
    // The upload starts at 0: the bytes must come from this device.
    assert_eq!(upload_whole(h, &other.token, &photo).await, (204, Some(0)));
    let (_, v) = h.get(&other.token, &path).await;
    assert_eq!(v["state"], "complete", "{v}");
    // Once delivered, a second upload of the same photo by this device completes at once.
    assert_eq!(
        upload_whole(h, &other.token, &photo).await,
        (201, Some(photo.len() as u64))
    );
    // So does one by the owner's phone enrolled anew (it holds the record again): a
    // re-enrolled phone does not send its photos a second time.
    let again = h.enroll("grid-east").await;
    let (_, v) = h.push(&again.token, std::slice::from_ref(&r1)).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    assert_eq!(
        upload_whole(h, &again.token, &photo).await,
        (201, Some(photo.len() as u64))
    );
    let (_, m) = h.get(&again.token, "/v1/sync/missing-photos").await;
    assert_eq!(m["photos"], serde_json::json!([]), "{m}");
}

/// The retry path of enrollment (a lost first answer) checks expiry like the first
/// exchange: an expired code issues no new token even to the device that used it.
async fn an_expired_enrollment_code_is_refused_on_the_retry_path_too(h: &Harness) {
    let code = h.code_for("grid-one").await;
    let req = EnrollRequest {
        code: code.clone(),
        device_key: "device-key-expiring-0001".into(),
        device_name: None,
    };
    let r = h
        .http
        .post(h.url("/v1/enroll"))
        .json(&req)
        .send()
        .await
        .expect("e");
    assert_eq!(r.status(), 200);
    exec_sql(
        h,
        "UPDATE enrollment_code SET expires_at = '2020-01-01T00:00:00.000000Z'",
    )
    .await;
    let r = h
        .http
        .post(h.url("/v1/enroll"))
        .json(&req)
        .send()
        .await
        .expect("e");
    assert_eq!(r.status(), 400);
    assert_eq!(
        code_of(&r.json().await.expect("json")),
        "enrollment_code_invalid"
    );
}

/// A device may hold at most 16 unfinished uploads and 256 MiB declared in them
/// (the defaults); one more is `too_many_uploads` (429) until one is finished or
/// deleted. Completed uploads do not count.
async fn open_uploads_are_capped_per_device_in_count_and_bytes(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let hashes: Vec<String> = (0..18u8).map(|i| sha256_hex(&[i; 32])).collect();
    let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
    let r = inspection(1, &uscc_here(), &refs);
    h.push(&dev.token, std::slice::from_ref(&r)).await;
    let create = |sha: String, len: u64| {
        h.http
            .post(h.url("/v1/photos"))
            .bearer_auth(&dev.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", len.to_string())
            .header("Upload-Metadata", encode_metadata(&[("sha256", &sha)]))
            .send()
    };
    let mut locations = Vec::new();
    for sha in &hashes[..16] {
        let r = create(sha.clone(), 1000).await.expect("create");
        assert_eq!(r.status(), 201);
        locations.push(r.headers()["location"].to_str().expect("loc").to_string());
    }
    let r = create(hashes[16].clone(), 1000).await.expect("create");
    assert_eq!(r.status(), 429);
    let v: serde_json::Value = r.json().await.expect("problem");
    assert_eq!(code_of(&v), "too_many_uploads");
    for loc in &locations {
        let r = h
            .http
            .delete(h.url(loc))
            .bearer_auth(&dev.token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("delete");
        assert_eq!(r.status(), 204);
    }
    // Bytes: four photos of the largest size fill the allowance.
    let max = gridwalk_protocol::MAX_PHOTO_BYTES;
    for sha in &hashes[..4] {
        assert_eq!(create(sha.clone(), max).await.expect("c").status(), 201);
    }
    let r = create(hashes[4].clone(), 1).await.expect("create");
    assert_eq!(r.status(), 429);
    // Another device is not held back by this one's uploads.
    let other = h.enroll("grid-east").await;
    let r2 = inspection(1, &uscc_here(), &[&hashes[17]]);
    h.push(&other.token, std::slice::from_ref(&r2)).await;
    let r = h
        .http
        .post(h.url("/v1/photos"))
        .bearer_auth(&other.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "1000")
        .header(
            "Upload-Metadata",
            encode_metadata(&[("sha256", &hashes[17])]),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201);
}

/// Hazard events are published to the jurisdiction's other devices, which apply them:
/// one that is not a hazard event, or that names another enterprise than the USCC it is
/// sent with (and so would reach the wrong devices), is refused as `payload_invalid`.
async fn a_hazard_event_must_parse_and_name_the_enterprise_it_is_sent_for(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut not_an_event = hazard_created(1, &uscc_here(), &uscc_here());
    not_an_event.payload = r#"{"kind":"created"}"#.into();
    not_an_event.payload_sha256 = sha256_hex(not_an_event.payload.as_bytes());
    let elsewhere = hazard_created(2, &uscc_far(), &uscc_here());
    let good = hazard_created(3, &uscc_here(), &uscc_here());
    let (s, v) = h.push(&dev.token, &[not_an_event, elsewhere, good]).await;
    assert_eq!(s, 200, "{v}");
    for (i, want) in ["not a hazard event", "must carry the USCC"]
        .iter()
        .enumerate()
    {
        assert_eq!(v["results"][i]["status"], "rejected", "{v}");
        assert_eq!(v["results"][i]["code"], "payload_invalid", "{v}");
        assert!(
            v["results"][i]["detail"]
                .as_str()
                .is_some_and(|d| d.contains(want)),
            "{v}"
        );
    }
    assert_eq!(v["results"][2]["status"], "accepted", "{v}");
}

/// Pushes a record referencing `photo` and returns the device token.
async fn device_with_photo_record(h: &Harness, photo: &[u8]) -> (String, uuid::Uuid) {
    let dev = h.enroll("grid-east").await;
    let sha = sha256_hex(photo);
    let r = inspection(1, &uscc_here(), &[&sha]);
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&r)).await;
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
    (dev.token, r.id)
}

async fn create_upload(h: &Harness, token: &str, photo: &[u8]) -> reqwest::Response {
    h.http
        .post(h.url("/v1/photos"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", photo.len().to_string())
        .header(
            "Upload-Metadata",
            encode_metadata(&[("sha256", &sha256_hex(photo)), ("filename", "p.jpg")]),
        )
        .send()
        .await
        .expect("create")
}

async fn patch(
    h: &Harness,
    token: &str,
    loc: &str,
    offset: usize,
    chunk: &[u8],
    checksum: Option<String>,
) -> reqwest::Response {
    let mut req = h
        .http
        .patch(h.url(loc))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(chunk.to_vec());
    if let Some(c) = checksum {
        req = req.header("Upload-Checksum", c);
    }
    req.send().await.expect("patch")
}

async fn head_offset(h: &Harness, token: &str, loc: &str) -> (u16, Option<u64>) {
    let r = h
        .http
        .head(h.url(loc))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    let off = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (r.status().as_u16(), off)
}

fn photo_bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn a_tus_upload_is_created_patched_resumed_and_verified(h: &Harness) {
    let photo = photo_bytes(300_000, 1);
    let (token, _) = device_with_photo_record(h, &photo).await;
    let opt = h
        .http
        .request(reqwest::Method::OPTIONS, h.url("/v1/photos"))
        .send()
        .await
        .expect("options");
    assert_eq!(
        opt.headers()["tus-extension"],
        "creation,checksum,termination"
    );
    assert_eq!(opt.headers()["tus-checksum-algorithm"], "sha256");
    let created = create_upload(h, &token, &photo).await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["tus-resumable"], "1.0.0");
    let loc = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let r = patch(
        h,
        &token,
        &loc,
        0,
        &photo[..100_000],
        Some(chunk_checksum(&photo[..100_000])),
    )
    .await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "100000");
    // A client that lost the answer re-sends from 0: told the real offset.
    let r = patch(h, &token, &loc, 0, &photo[..100_000], None).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["upload-offset"], "100000");
    assert_eq!(head_offset(h, &token, &loc).await, (200, Some(100_000)));
    let r = patch(h, &token, &loc, 100_000, &photo[100_000..], None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "300000");
    let store = h.store.clone();
    let sha = sha256_hex(&photo);
    assert!(tokio::task::spawn_blocking(move || store.blob_held(&sha))
        .await
        .expect("join")
        .expect("held"));
    let stored =
        std::fs::read(h.data.blobs().join("photos").join(sha256_hex(&photo))).expect("blob file");
    assert_eq!(stored, photo);
    // Uploading the same photo again is complete at creation.
    let again = create_upload(h, &token, &photo).await;
    assert_eq!(again.headers()["upload-offset"], "300000");
    // Requests without Tus-Resumable are refused with 412.
    let r = h
        .http
        .head(h.url(&loc))
        .bearer_auth(&token)
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 412);
}

async fn a_chunk_with_a_wrong_checksum_is_refused_and_nothing_is_stored(h: &Harness) {
    let photo = photo_bytes(10_000, 2);
    let (token, _) = device_with_photo_record(h, &photo).await;
    let loc = create_upload(h, &token, &photo).await.headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    let r = patch(
        h,
        &token,
        &loc,
        0,
        &photo[..5000],
        Some(chunk_checksum(&photo[..4999])),
    )
    .await;
    assert_eq!(r.status(), 460);
    let v: serde_json::Value = r.json().await.expect("problem");
    assert_eq!(code_of(&v), "checksum_mismatch");
    assert_eq!(head_offset(h, &token, &loc).await, (200, Some(0)));
    let r = patch(h, &token, &loc, 0, &photo[..5000], Some("md5 AAAA".into())).await;
    assert_eq!(r.status(), 400);
    let r = h
        .http
        .patch(h.url(&loc))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/json")
        .header("Upload-Offset", "0")
        .body(photo.clone())
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 415);
}

async fn a_terminated_upload_is_gone(h: &Harness) {
    let photo = photo_bytes(20_000, 3);
    let (token, _) = device_with_photo_record(h, &photo).await;
    let loc = create_upload(h, &token, &photo).await.headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    assert_eq!(
        patch(h, &token, &loc, 0, &photo[..10_000], None)
            .await
            .status(),
        204
    );
    let r = h
        .http
        .delete(h.url(&loc))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 204);
    assert_eq!(head_offset(h, &token, &loc).await.0, 404);
    let id = loc.rsplit('/').next().expect("id");
    assert_eq!(upload_objects(h, id), 0);
    // Another device cannot see someone else's upload.
    let other = h.enroll("grid-east").await;
    let loc2 = create_upload(h, &token, &photo).await.headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    assert_eq!(head_offset(h, &other.token, &loc2).await.0, 404);
}

async fn a_photo_whose_bytes_differ_from_its_declared_hash_is_discarded(h: &Harness) {
    let photo = photo_bytes(8_000, 4);
    let (token, _) = device_with_photo_record(h, &photo).await;
    let loc = create_upload(h, &token, &photo).await.headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    let mut wrong = photo.clone();
    wrong[100] ^= 1;
    let r = patch(h, &token, &loc, 0, &wrong, None).await;
    assert_eq!(r.status(), 422);
    let v: serde_json::Value = r.json().await.expect("problem");
    assert_eq!(code_of(&v), "photo_hash_mismatch");
    assert_eq!(head_offset(h, &token, &loc).await.0, 404);
    // A photo no record references cannot be uploaded.
    let stray = photo_bytes(100, 9);
    let r = create_upload(h, &token, &stray).await;
    assert_eq!(r.status(), 409);
}

async fn a_record_is_complete_only_when_its_photos_are_verified(h: &Harness) {
    let p1 = photo_bytes(5_000, 5);
    let p2 = photo_bytes(6_000, 6);
    let dev = h.enroll("grid-east").await;
    let r = inspection(1, &uscc_here(), &[&sha256_hex(&p1), &sha256_hex(&p2)]);
    h.push(&dev.token, std::slice::from_ref(&r)).await;
    let path = format!("/v1/sync/records/{}", r.id);
    let (_, v) = h.get(&dev.token, &path).await;
    assert_eq!(v["state"], "accepted");
    assert_eq!(v["missing_photos"].as_array().map(Vec::len), Some(2));
    let (_, m) = h.get(&dev.token, "/v1/sync/missing-photos").await;
    assert_eq!(m["photos"].as_array().map(Vec::len), Some(2));
    for (i, p) in [&p1, &p2].into_iter().enumerate() {
        let loc = create_upload(h, &dev.token, p).await.headers()["location"]
            .to_str()
            .expect("loc")
            .to_string();
        assert_eq!(
            patch(h, &dev.token, &loc, 0, p, Some(chunk_checksum(p)))
                .await
                .status(),
            204
        );
        let (_, v) = h.get(&dev.token, &path).await;
        assert_eq!(v["state"], if i == 0 { "accepted" } else { "complete" });
    }
    let (_, m) = h.get(&dev.token, "/v1/sync/missing-photos").await;
    assert_eq!(m["photos"], serde_json::json!([]));
    let store = h.store.clone();
    let all = tokio::task::spawn_blocking(move || store.export_inspections())
        .await
        .expect("join")
        .expect("export");
    assert_eq!(all[0].state, gridwalk_protocol::RecordState::Complete);
    assert_eq!(all[0].photo_hashes.len(), 2);
    // Another device cannot read this record's state.
    let other = h.enroll("grid-east").await;
    assert_eq!(h.get(&other.token, &path).await.0, 404);
}

async fn a_retried_enrollment_succeeds_for_the_same_device_only(h: &Harness) {
    let code = h.code_for("grid-one").await;
    let req = EnrollRequest {
        code: code.clone(),
        device_key: "device-key-0123456789".into(),
        device_name: None,
    };
    let first: gridwalk_protocol::EnrollResponse = h
        .http
        .post(h.url("/v1/enroll"))
        .json(&req)
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    // The first answer was "lost": the same device asks again (code typed in lower case).
    let mut retry = req.clone();
    retry.code = code.to_lowercase();
    let second: gridwalk_protocol::EnrollResponse = h
        .http
        .post(h.url("/v1/enroll"))
        .json(&retry)
        .send()
        .await
        .expect("e")
        .json()
        .await
        .expect("json");
    assert_eq!(first.device_id, second.device_id);
    assert_ne!(first.token, second.token);
    assert_eq!(second.user.jurisdiction, GRID);
    assert_eq!(h.get(&second.token, "/v1/sync/missing-photos").await.0, 200);
    assert_eq!(
        h.get(&first.token, "/v1/sync/missing-photos").await.0,
        401,
        "the unseen token is replaced"
    );
    let thief = EnrollRequest {
        device_key: "another-device-key-xyz".into(),
        ..req.clone()
    };
    let r = h
        .http
        .post(h.url("/v1/enroll"))
        .json(&thief)
        .send()
        .await
        .expect("e");
    assert_eq!(r.status(), 409);
    assert_eq!(
        code_of(&r.json().await.expect("json")),
        "enrollment_code_used"
    );
    let bogus = EnrollRequest {
        code: "AAAA-BBBB-CCCC".into(),
        ..req
    };
    let r = h
        .http
        .post(h.url("/v1/enroll"))
        .json(&bogus)
        .send()
        .await
        .expect("e");
    assert_eq!(
        code_of(&r.json().await.expect("json")),
        "enrollment_code_invalid"
    );
}

async fn a_revoked_device_is_refused(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    assert_eq!(
        h.push(&dev.token, &[inspection(1, &uscc_here(), &[])])
            .await
            .0,
        200
    );
    let store = h.store.clone();
    let id = dev.device_id;
    assert!(tokio::task::spawn_blocking(move || store.revoke_device(id))
        .await
        .expect("join")
        .expect("revoke"));
    let (s, v) = h
        .push(&dev.token, &[inspection(2, &uscc_here(), &[])])
        .await;
    assert_eq!(s, 401);
    assert_eq!(code_of(&v), "device_revoked");
    let (s, v) = h.get("not-a-token", "/v1/sync/pull").await;
    assert_eq!(s, 401);
    assert_eq!(code_of(&v), "unauthenticated");
}

async fn records_outside_the_jurisdiction_are_refused(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let (_, v) = h
        .push(
            &dev.token,
            &[
                inspection(1, &uscc_neighbour(), &[]),
                inspection(2, &uscc_here(), &[]),
            ],
        )
        .await;
    assert_eq!(v["results"][0]["status"], "rejected");
    assert_eq!(v["results"][0]["code"], "forbidden_jurisdiction");
    assert_eq!(v["results"][1]["status"], "accepted");
    // A town expert may write the neighbour village but not another town.
    let expert = h.enroll("expert-jincheng").await;
    let (_, v) = h
        .push(
            &expert.token,
            &[
                inspection(1, &uscc_neighbour(), &[]),
                inspection(2, &uscc_far(), &[]),
            ],
        )
        .await;
    assert_eq!(v["results"][0]["status"], "accepted");
    assert_eq!(v["results"][1]["code"], "forbidden_jurisdiction");
    // An unknown enterprise needs a division inside the jurisdiction.
    let mut unknown = inspection(3, &uscc("91320413MA1XY0099"), &[]);
    let (_, v) = h.push(&expert.token, std::slice::from_ref(&unknown)).await;
    assert_eq!(v["results"][0]["code"], "unknown_enterprise");
    unknown.id = uuid::Uuid::now_v7();
    unknown.seq = 4;
    unknown.division_code = Some(VILLAGE.into());
    let (_, v) = h.push(&expert.token, &[unknown]).await;
    assert_eq!(v["results"][0]["status"], "accepted");
}

async fn pull_pages_only_the_register_of_the_jurisdiction(h: &Harness) {
    let dev = h.enroll("grid-one").await;
    let mut cursor = String::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (s, v) = h
            .get(
                &dev.token,
                &format!("/v1/sync/pull?cursor={cursor}&limit=3"),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        pages += 1;
        for c in v["changes"].as_array().expect("changes") {
            seen.push((
                c["kind"].as_str().unwrap_or("").to_string(),
                c["key"].as_str().unwrap_or("").to_string(),
                c["body"].clone(),
            ));
        }
        cursor = v["next_cursor"].as_str().expect("cursor").to_string();
        if !v["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    assert!(pages > 1, "paged");
    let enterprises: Vec<_> = seen.iter().filter(|c| c.0 == "enterprise").collect();
    assert_eq!(
        enterprises.len(),
        1,
        "only the grid's village: {enterprises:?}"
    );
    assert_eq!(enterprises[0].2["uscc"], uscc_here().as_str());
    let divisions: Vec<&str> = seen
        .iter()
        .filter(|c| c.0 == "division")
        .map(|c| c.1.as_str())
        .collect();
    assert!(divisions.contains(&GRID) && divisions.contains(&VILLAGE) && divisions.contains(&TOWN));
    assert!(!divisions.contains(&NEIGHBOUR_VILLAGE) && !divisions.contains(&FAR_VILLAGE));
    assert!(seen.iter().any(|c| c.0 == "template"));
    // Nothing new: an empty page at the same cursor.
    let (_, v) = h
        .get(&dev.token, &format!("/v1/sync/pull?cursor={cursor}"))
        .await;
    assert_eq!(v["changes"], serde_json::json!([]));
    assert_eq!(v["next_cursor"], cursor.as_str());
    // A hazard event pushed in the village reaches the grid worker's next pull.
    let other = h.enroll("grid-east").await;
    let ev = hazard_created(1, &uscc_here(), &uscc_here());
    let (_, pushed) = h.push(&other.token, std::slice::from_ref(&ev)).await;
    assert_eq!(pushed["results"][0]["status"], "accepted", "{pushed}");
    let (_, v) = h
        .get(&dev.token, &format!("/v1/sync/pull?cursor={cursor}"))
        .await;
    assert_eq!(v["changes"][0]["kind"], "hazard_event");
    assert_eq!(v["changes"][0]["key"], ev.id.to_string());
    let far = h.enroll("expert-rulin").await;
    let (_, v) = h.get(&far.token, "/v1/sync/pull?limit=1000").await;
    assert!(!v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .any(|c| c["kind"] == "hazard_event"));
}

async fn malformed_and_oversized_bodies_are_typed_problems(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let post = |body: Vec<u8>| {
        h.http
            .post(h.url("/v1/sync/push"))
            .bearer_auth(&dev.token)
            .header("Content-Type", "application/json")
            .body(body)
    };
    let r = post(b"{not json".to_vec()).send().await.expect("send");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.headers()["gridwalk-protocol"],
        gridwalk_protocol::PROTOCOL_VERSION.to_string().as_str()
    );
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(code_of(&r.json().await.expect("json")), "malformed_body");
    let big = format!(
        "{{\"records\":[],\"pad\":\"{}\"}}",
        "x".repeat(5 * 1024 * 1024)
    );
    let r = post(big.clone().into_bytes()).send().await.expect("send");
    assert_eq!(r.status(), 413);
    assert_eq!(code_of(&r.json().await.expect("json")), "body_too_large");
    // A gzip bomb is measured after decompression.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(big.as_bytes()).expect("gzip");
    let small = gz.finish().expect("gzip");
    assert!(small.len() < 100_000);
    let r = post(small)
        .header("Content-Encoding", "gzip")
        .send()
        .await
        .expect("send");
    assert_eq!(code_of(&r.json().await.expect("json")), "body_too_large");
    // A gzipped push works, and the answer comes back gzipped when asked.
    let body =
        serde_json::to_vec(&serde_json::json!({"records": [inspection(1, &uscc_here(), &[])]}))
            .expect("json");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).expect("gzip");
    let raw = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let r = raw
        .post(h.url("/v1/sync/push"))
        .bearer_auth(&dev.token)
        .body(gz.finish().expect("gzip"))
        .header("Content-Encoding", "gzip")
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let records: Vec<_> = (1..=501)
        .map(|i| inspection(i, &uscc_here(), &[]))
        .collect();
    let (s, v) = h.push(&dev.token, &records).await;
    assert_eq!((s, code_of(&v)), (413, "batch_too_large"));
    let r = h
        .http
        .get(h.url("/v1/sync/pull"))
        .bearer_auth(&dev.token)
        .header("GridWalk-Protocol", "6")
        .send()
        .await
        .expect("send");
    assert_eq!(
        code_of(&r.json().await.expect("json")),
        "protocol_version_unsupported"
    );
    // Phones in the field update late: protocols 1 to 4 are still served beside 5.
    for version in ["1", "2", "3", "4", "5"] {
        let r = h
            .http
            .get(h.url("/v1/sync/pull"))
            .bearer_auth(&dev.token)
            .header("GridWalk-Protocol", version)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "protocol {version}");
    }
    let r = h.http.get(h.url("/nowhere")).send().await.expect("send");
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["gridwalk-protocol"].to_str().unwrap_or("")
        ),
        (404, "5")
    );
    let doc: serde_json::Value = h
        .http
        .get(h.url("/openapi.json"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(doc["paths"]["/v1/sync/push"].is_object());
}

/// PATCHes of unknown or another device's uploads are refused before any lock is
/// taken, and a finished upload leaves no entry: the lock table does not grow.
async fn upload_locks_exist_only_for_requests_on_the_callers_own_uploads(h: &Harness) {
    let photo = photo_bytes(30_000, 31);
    let (token, _) = device_with_photo_record(h, &photo).await;
    for _ in 0..50 {
        let loc = format!("/v1/photos/{}", uuid::Uuid::new_v4());
        assert_eq!(patch(h, &token, &loc, 0, b"xyz", None).await.status(), 404);
    }
    let loc = create_upload(h, &token, &photo).await.headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    let stranger = h.enroll("grid-one").await;
    assert_eq!(
        patch(h, &stranger.token, &loc, 0, &photo, None)
            .await
            .status(),
        404
    );
    assert_eq!(h.state.upload_locks.len(), 0);
    assert_eq!(patch(h, &token, &loc, 0, &photo, None).await.status(), 204);
    assert_eq!(h.state.upload_locks.len(), 0, "dropped at completion");
}

/// A DELETE that arrives while a PATCH is still receiving waits for it, then removes
/// the upload and its file: no orphan file is left behind.
async fn a_delete_during_a_patch_waits_for_it_and_leaves_no_file(h: &Harness) {
    let photo = photo_bytes(20_000, 32);
    let (token, _) = device_with_photo_record(h, &photo).await;
    let loc = create_upload(h, &token, &photo).await.headers()["location"]
        .to_str()
        .expect("loc")
        .to_string();
    let id = loc.rsplit('/').next().expect("id").to_string();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let patching = tokio::spawn(
        h.http
            .patch(h.url(&loc))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", "0")
            .body(body)
            .send(),
    );
    tx.send(Ok(photo[..5_000].to_vec())).await.expect("send");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The PATCH holds the upload's lock while it receives.
    while h.state.upload_locks.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the PATCH never wrote"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let deleting = tokio::spawn(
        h.http
            .delete(h.url(&loc))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!deleting.is_finished(), "DELETE waits for the PATCH");
    tx.send(Ok(photo[5_000..10_000].to_vec()))
        .await
        .expect("send");
    drop(tx);
    let patched = patching.await.expect("join").expect("patch");
    assert_eq!(patched.status(), 204);
    assert_eq!(patched.headers()["upload-offset"], "10000");
    let deleted = deleting.await.expect("join").expect("delete");
    assert_eq!(deleted.status(), 204);
    assert_eq!(upload_objects(h, &id), 0, "no orphan chunk");
    assert_eq!(head_offset(h, &token, &loc).await.0, 404);
    assert_eq!(h.state.upload_locks.len(), 0);
}

/// The sweep deletes an unfinished upload idle for longer than the expiry (row and
/// file) and partial files no upload owns, and keeps a recent one; the device then
/// starts the photo again from 0.
async fn stale_uploads_expire_and_orphan_files_are_swept(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let old_photo = photo_bytes(9_000, 33);
    let new_photo = photo_bytes(9_000, 34);
    let r = inspection(
        1,
        &uscc_here(),
        &[&sha256_hex(&old_photo), &sha256_hex(&new_photo)],
    );
    h.push(&dev.token, std::slice::from_ref(&r)).await;
    let mut locs = Vec::new();
    for p in [&old_photo, &new_photo] {
        let loc = create_upload(h, &dev.token, p).await.headers()["location"]
            .to_str()
            .expect("loc")
            .to_string();
        assert_eq!(
            patch(h, &dev.token, &loc, 0, &p[..1_000], None)
                .await
                .status(),
            204
        );
        locs.push(loc);
    }
    let old_id = locs[0].rsplit('/').next().expect("id").to_string();
    exec_sql(
        h,
        &format!(
            "UPDATE upload SET updated_at = '2020-01-01T00:00:00.000000Z' WHERE id = '{old_id}'"
        ),
    )
    .await;
    // A chunk a replica wrote before it was killed, of an upload that is gone.
    let orphan = h
        .data
        .blobs()
        .join("uploads")
        .join(uuid::Uuid::new_v4().to_string());
    std::fs::create_dir_all(&orphan).expect("orphan dir");
    std::fs::write(orphan.join("00000000000000000000-0"), b"left by a crash").expect("orphan");
    assert_eq!(upload_objects(h, &old_id), 1, "one chunk of the old upload");
    let report = gridwalk_server::tus::sweep_uploads(&h.state)
        .await
        .expect("sweep");
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(report.orphan_files, 1, "{report:?}");
    assert!(!orphan.exists());
    assert_eq!(upload_objects(h, &old_id), 0);
    assert_eq!(
        upload_objects(h, locs[1].rsplit('/').next().expect("id")),
        1
    );
    assert_eq!(head_offset(h, &dev.token, &locs[0]).await.0, 404);
    assert_eq!(
        head_offset(h, &dev.token, &locs[1]).await,
        (200, Some(1_000))
    );
    let again = create_upload(h, &dev.token, &old_photo).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["upload-offset"], "0");
    let second = gridwalk_server::tus::sweep_uploads(&h.state)
        .await
        .expect("sweep");
    assert_eq!(second, gridwalk_server::tus::SweepReport::default());
}

/// The link hashes a push answer's receipt signs, by record id.
fn receipt_links(v: &serde_json::Value) -> std::collections::HashMap<String, String> {
    let body: serde_json::Value =
        serde_json::from_str(v["receipt"]["body"].as_str().expect("receipt body")).expect("json");
    body["records"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| {
                    Some((
                        r["id"].as_str()?.to_string(),
                        r["link_sha256"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The server checks every link against its fields and the last link it holds of the
/// device, and signs the links it holds: a record whose link does not hash to what it
/// claims (device time edited), or that follows another head (a chain re-hashed forward
/// from an edited record, or two links swapped), is refused as `chain_broken`; what
/// follows is checked against the last good link.
async fn the_server_holds_each_devices_chain_and_refuses_a_break(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let good: Vec<_> = (1..=3)
        .map(|seq| chain.link(inspection(seq, &uscc_here(), &[]), "inspection"))
        .collect();
    let (_, v) = h.push(&dev.token, &good).await;
    for i in 0..3 {
        assert_eq!(outcome(&v, i), accepted(), "{v}");
    }
    let signed = receipt_links(&v);
    for e in &good {
        let link = e.link.as_ref().expect("link");
        assert_eq!(signed.get(&e.id.to_string()), Some(&link.hash), "{v}");
    }
    let head = chain.head.clone();

    // A forger re-hashes the chain forward from an edited record 2: record 4 follows
    // the forged head, not the one the server holds.
    let mut forged = TestChain {
        device: chain.device.clone(),
        head: good[0].link.as_ref().expect("link").hash.clone(),
    };
    let mut edited = good[1].clone();
    edited.payload = edited.payload.replace("\"n\":2", "\"n\":20");
    edited.payload_sha256 = sha256_hex(edited.payload.as_bytes());
    forged.link(edited, "inspection");
    forged.link(good[2].clone(), "inspection");
    let after_forgery = forged.link(inspection(4, &uscc_here(), &[]), "inspection");
    // A record whose device time was edited after it was linked.
    let mut retimed = chain.link(inspection(4, &uscc_here(), &[]), "inspection");
    retimed.device_time = retimed.device_time.map(|t| t - chrono::Duration::days(400));
    let (_, v) = h.push(&dev.token, &[after_forgery]).await;
    assert_eq!(outcome(&v, 0), refused("chain_broken"), "{v}");
    assert!(receipt_ids(&v).is_empty());
    retimed.seq = 5;
    chain.head = head.clone();
    let retimed = {
        let mut e = retimed;
        let l = e.link.as_mut().expect("link");
        l.prev_hash = head.clone();
        // The link was made for the true time, then the time was moved back.
        let true_time = e.device_time.map(|t| t + chrono::Duration::days(400));
        l.hash = l
            .computed_hash(5, &e.payload_sha256, true_time)
            .expect("hash");
        e
    };
    let (_, v) = h.push(&dev.token, &[retimed]).await;
    assert_eq!(outcome(&v, 0), refused("chain_broken"), "{v}");

    // The next record is checked against the last good link (record 3), not a broken one.
    chain.head = head;
    let next = chain.link(inspection(6, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, &[next]).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
    // Two links swapped, each re-hashed for its new position: the later one, now
    // first, does not follow the head the server holds.
    let head = chain.head.clone();
    let a = chain.link(inspection(7, &uscc_here(), &[]), "inspection");
    let b = chain.link(inspection(8, &uscc_here(), &[]), "inspection");
    let rehash = |mut e: RecordEnvelope, seq: u64| {
        e.seq = seq;
        let l = e.link.clone().expect("link");
        e.link.as_mut().expect("link").hash = l
            .computed_hash(seq, &e.payload_sha256, e.device_time)
            .expect("hash");
        e
    };
    let (a2, b2) = (rehash(b, 7), rehash(a, 8));
    assert_ne!(a2.link.as_ref().expect("link").prev_hash, head);
    let (_, v) = h.push(&dev.token, &[a2, b2]).await;
    assert_eq!(outcome(&v, 0), refused("chain_broken"), "{v}");
    assert!(
        v["results"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("follows")),
        "refused for not following the head: {v}"
    );
}

/// A record the server holds, pushed again with another link (the phone's chain was
/// rewritten after it was synced), is refused: the held link stays the truth.
async fn a_held_record_pushed_again_with_a_rewritten_link_is_refused(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let first = chain.link(inspection(1, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&first)).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&first)).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    let mut rewritten = first.clone();
    let mut other = TestChain::new();
    other.device = chain.device.clone();
    rewritten = other.link(rewritten, "inspection");
    rewritten.link.as_mut().expect("link").prev_hash = "1".repeat(64);
    let l = rewritten.link.clone().expect("link");
    rewritten.link.as_mut().expect("link").hash = l
        .computed_hash(1, &rewritten.payload_sha256, rewritten.device_time)
        .expect("hash");
    let (_, v) = h.push(&dev.token, &[rewritten]).await;
    assert_eq!(outcome(&v, 0), refused("chain_broken"), "{v}");
}

/// What the envelope claims beside the payload — its photo list, its enterprise, its
/// kind — must be what the frozen, chained payload says.
async fn the_envelope_must_claim_what_the_frozen_payload_names(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let named = sha256_hex(b"the photo the payload names");
    let swapped = sha256_hex(b"another photo");
    let payload = format!(
        "{{\"type\":\"photo\",\"id\":\"{}\",\"derived_sha256\":\"{named}\"}}",
        uuid::Uuid::now_v7()
    );
    let mut photo = RecordEnvelope::new(uuid::Uuid::now_v7(), RecordKind::Evidence, 1, payload);
    photo.photos = vec![swapped.clone()];
    photo.division_code = Some(VILLAGE.into());
    let photo = chain.link(photo, "photo");
    let mut other_enterprise = inspection(2, &uscc_here(), &[]);
    other_enterprise.payload = other_enterprise
        .payload
        .replace(&uscc_here(), &uscc_neighbour());
    other_enterprise.payload_sha256 = sha256_hex(other_enterprise.payload.as_bytes());
    let other_enterprise = chain.link(other_enterprise, "inspection");
    let wrong_kind = chain.link(inspection(3, &uscc_here(), &[]), "photo");
    let mut right = RecordEnvelope::new(
        uuid::Uuid::now_v7(),
        RecordKind::Evidence,
        4,
        format!("{{\"derived_sha256\":\"{named}\"}}"),
    );
    right.photos = vec![named.clone()];
    right.division_code = Some(VILLAGE.into());
    let right = chain.link(right, "photo");
    let (_, v) = h
        .push(
            &dev.token,
            &[photo, other_enterprise, wrong_kind, right.clone()],
        )
        .await;
    for i in 0..3 {
        assert_eq!(outcome(&v, i), refused("payload_invalid"), "{v}");
    }
    assert_eq!(outcome(&v, 3), accepted(), "{v}");
    let (_, m) = h.get(&dev.token, "/v1/sync/missing-photos").await;
    assert_eq!(m["photos"][0]["sha256"], named.as_str(), "{m}");
    assert_eq!(m["photos"].as_array().map(Vec::len), Some(1), "{m}");
}

/// An app older than the anchored chain sends no link: its records are accepted (the
/// server keeps serving it), and the first linked record after them starts the anchor.
async fn records_without_a_link_from_older_apps_are_still_accepted(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let old = [
        inspection(1, &uscc_here(), &[]),
        inspection(2, &uscc_here(), &[]),
    ];
    let (_, v) = h.push(&dev.token, &old).await;
    assert_eq!(outcome(&v, 1), accepted(), "{v}");
    assert!(receipt_links(&v).is_empty());
    let mut chain = TestChain::new();
    chain.head = "c".repeat(64);
    let first_linked = chain.link(inspection(3, &uscc_here(), &[]), "inspection");
    let second = chain.link(inspection(4, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, &[first_linked, second]).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
    assert_eq!(outcome(&v, 1), accepted(), "{v}");
    let stray = TestChain::new().link(inspection(5, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, &[stray]).await;
    assert_eq!(
        outcome(&v, 0),
        refused("chain_broken"),
        "once anchored: {v}"
    );
    // Leaving the link out does not switch the check off either, and the head stays:
    // the next linked record must still follow record 4.
    let (_, v) = h
        .push(&dev.token, &[inspection(6, &uscc_here(), &[])])
        .await;
    assert_eq!(
        outcome(&v, 0),
        refused("chain_broken"),
        "linkless once anchored: {v}"
    );
    let follows = chain.link(inspection(7, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, &[follows]).await;
    assert_eq!(outcome(&v, 0), accepted(), "{v}");
}

/// The server flags, per record, a device time after the record's arrival, far from the
/// GNSS fix time its own payload carries, or before 2024; a plausible time is not
/// flagged. The flag is shown with the record (`GET /v1/sync/records/{id}`).
async fn a_device_clock_that_is_off_is_flagged_on_the_record(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let now = chrono::Utc::now();
    let mut ahead = inspection(1, &uscc_here(), &[]);
    ahead.device_time = Some(now + chrono::Duration::hours(2));
    let mut fine = inspection(2, &uscc_here(), &[]);
    fine.device_time = Some(now - chrono::Duration::hours(30));
    let mut old = inspection(3, &uscc_here(), &[]);
    old.device_time = chrono::DateTime::from_timestamp(1_560_000_000, 0);
    let fix = (now - chrono::Duration::hours(3)).to_rfc3339();
    let mut stamped = RecordEnvelope::new(
        uuid::Uuid::now_v7(),
        RecordKind::Evidence,
        4,
        format!("{{\"stamp\":{{\"fix_time\":\"{fix}\"}}}}"),
    );
    stamped.division_code = Some(VILLAGE.into());
    stamped.device_time = Some(now - chrono::Duration::minutes(1));
    let records = [ahead, fine, old, stamped];
    let (_, v) = h.push(&dev.token, &records).await;
    let mut flags = Vec::new();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(outcome(&v, i), accepted(), "{v}");
        let (_, st) = h
            .get(&dev.token, &format!("/v1/sync/records/{}", r.id))
            .await;
        flags.push(st["clock"]["kind"].as_str().map(str::to_string));
    }
    assert_eq!(
        flags,
        vec![
            Some("ahead".to_string()),
            None,
            Some("implausible".to_string()),
            Some("gnss".to_string())
        ]
    );
}

/// Chunk objects of upload `id` in the local blob store (`blobs/uploads/<id>/`).
fn upload_objects(h: &Harness, id: &str) -> usize {
    std::fs::read_dir(h.data.blobs().join("uploads").join(id))
        .map(|d| d.count())
        .unwrap_or(0)
}

const UPLOADS_BEFORE_0021: &str = "INSERT INTO upload (id, device_id, sha256, length, upload_offset, metadata, created_at, completed_at, updated_at) VALUES \
     ('00000000-0000-7000-8000-000000000001', 'gone-device', 'aa', 9000, 5000, '', '2026-01-01T00:00:00Z', NULL, '2026-01-01T00:00:00Z'), \
     ('00000000-0000-7000-8000-000000000002', 'gone-device', 'bb', 9000, 9000, '', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');";

/// Migration 0021: an unfinished upload of the release before (its bytes in a local
/// file this release does not read) starts again from 0, a finished one is untouched;
/// chunks are recorded with the offset's compare-and-set and go with their upload. On
/// both databases.
#[test]
fn migration_0021_restarts_unfinished_uploads_and_records_parts() {
    let open = uuid::Uuid::parse_str("00000000-0000-7000-8000-000000000001").expect("id");
    let done = uuid::Uuid::parse_str("00000000-0000-7000-8000-000000000002").expect("id");
    let check = |store: gridwalk_server::Store| {
        assert!(
            store
                .advance_upload(open, 0, 10, "uploads/x/0")
                .expect("cas"),
            "the unfinished upload is back at 0"
        );
        assert!(
            !store
                .advance_upload(open, 0, 20, "uploads/x/1")
                .expect("cas"),
            "a second move from 0 loses"
        );
        assert!(!store.advance_upload(done, 9000, 9001, "k").expect("cas"));
        assert_eq!(
            store.upload_parts(open).expect("parts"),
            vec![(0, 10, "uploads/x/0".to_string())]
        );
        store.delete_upload(open).expect("delete");
        assert_eq!(store.upload_parts(open).expect("parts"), vec![]);
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = gridwalk_server::DataDir::create(dir.path()).expect("data dir");
    sqlite_before(
        &data,
        21,
        &format!("PRAGMA foreign_keys = OFF; {UPLOADS_BEFORE_0021}"),
    );
    check(gridwalk_server::open_store(&data, None).expect("upgrade sqlite"));

    let Some(url) = fresh_pg_database() else {
        eprintln!("SKIPPED (PostgreSQL half): PostgreSQL binaries are not installed");
        return;
    };
    postgres_before(
        &url,
        21,
        &format!(
            "SET session_replication_role = replica; {UPLOADS_BEFORE_0021}
             SET session_replication_role = DEFAULT;"
        ),
    );
    check(gridwalk_server::open_store(&data, Some(&url)).expect("upgrade postgres"));
}

/// Records pushed before migration 0023: a photo with its evidence record and an
/// inspection that names it and a photo with none.
const PHOTOS_BEFORE_0023: &str = "
    INSERT INTO record (id, device_id, seq, kind, payload_sha256, state, received_at)
    VALUES ('e1', '00000000-0000-7000-8000-000000000001', 1, 'evidence', 'p1', 'accepted', '2026-01-01T00:00:00Z'),
           ('i1', '00000000-0000-7000-8000-000000000001', 2, 'inspection', 'p2', 'accepted', '2026-01-01T00:00:00Z');
    INSERT INTO record_photo (record_id, sha256)
    VALUES ('e1', 'aaaa'), ('i1', 'aaaa'), ('i1', 'bbbb');";

/// The photo links of an upgraded database: record, hash, evidence flag.
fn photo_links(db: Upgraded) -> Vec<(String, String, i64)> {
    const SQL: &str = "SELECT record_id, sha256, evidence FROM record_photo ORDER BY 1, 2";
    match db {
        Upgraded::Sqlite(path) => {
            let c = rusqlite::Connection::open(path).expect("sqlite");
            let mut stmt = c.prepare(SQL).expect("query");
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("rows")
        }
        Upgraded::Postgres(url) => {
            let mut c = ::postgres::Client::connect(url, ::postgres::NoTls).expect("pg");
            c.query(SQL, &[])
                .expect("rows")
                .iter()
                .map(|r| (r.get(0), r.get(1), i64::from(r.get::<_, i16>(2))))
                .collect()
        }
    }
}

/// Migration 0023 marks the links of evidence records, whose hash index it keeps, on
/// both databases; a device may still upload a photo only an inspection of its names,
/// and still not one no record of its names.
#[test]
fn migration_0023_keeps_every_photo_link_and_marks_the_evidence_ones() {
    let caller = |device: &str| gridwalk_server::store::Caller {
        device_id: device.parse().expect("uuid"),
        user_name: "老网格员".into(),
        role: gridwalk_protocol::Role::GridWorker,
        jurisdiction: gridwalk_core::DivisionCode::parse(VILLAGE).expect("code"),
        session: false,
        source: String::new(),
    };
    let own = caller("00000000-0000-7000-8000-000000000001");
    let other = caller("00000000-0000-7000-8000-000000000002");
    let rows = format!("{A_DEVICE_BEFORE} {PHOTOS_BEFORE_0023}");
    upgrade_both(23, &rows, |store, db| {
        let referenced = |c: &gridwalk_server::store::Caller, sha: &str| {
            store.photo_referenced(c, sha).expect("lookup")
        };
        assert!(referenced(&own, "aaaa"), "by its evidence record");
        assert!(referenced(&own, "bbbb"), "by the inspection alone");
        assert!(!referenced(&own, "cccc"), "named by no record");
        assert!(!referenced(&other, "aaaa"), "another device's photo");
        assert_eq!(
            photo_links(db),
            [
                ("e1".to_string(), "aaaa".to_string(), 1),
                ("i1".to_string(), "aaaa".to_string(), 0),
                ("i1".to_string(), "bbbb".to_string(), 0),
            ]
        );
    });
}
