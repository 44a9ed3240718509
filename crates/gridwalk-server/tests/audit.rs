//! The audit log over HTTP and the command line, against SQLite and PostgreSQL: officer
//! actions, sign-ins and exports appear with actor, source IP and before/after or
//! filter; the database refuses to change or remove an entry; tampering (triggers
//! dropped first) is named by the chain check; concurrent writers keep one chain; only
//! administrators and district officers read the log.

mod common;

use common::*;
use gridwalk_protocol::Role;
use serde_json::{json, Value};
use uuid::Uuid;

both_databases!(
    sign_ins_hazard_changes_and_exports_are_logged_with_who_where_and_what,
    an_action_refused_or_rolled_back_leaves_no_entry,
    the_database_refuses_to_change_or_remove_an_entry,
    a_changed_entry_is_named_by_the_chain_check,
    concurrent_writers_keep_one_unbroken_chain,
    only_administrators_and_district_officers_read_the_log,
    tips_and_reporter_reads_are_logged_never_the_reporter,
    an_action_whose_entry_cannot_be_stored_does_not_happen,
);

/// Runs SQL on the harness's database as another client would; the error text if the
/// database refused it.
async fn try_sql(h: &Harness, sql: &str) -> Result<(), String> {
    let sql = sql.to_string();
    let db = h.data.database();
    let url = h.database_url.clone();
    tokio::task::spawn_blocking(move || match url {
        Some(url) => {
            let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("pg");
            c.batch_execute(&sql).map_err(|e| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string())
            })
        }
        None => {
            let c = rusqlite::Connection::open(db).expect("sqlite");
            c.execute_batch(&sql).map_err(|e| e.to_string())
        }
    })
    .await
    .expect("join")
}

/// Every entry (newest first) an administrator's session reads, following the pages.
async fn all_entries(h: &Harness, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let mut path = format!("/v1/audit?limit=2{query}");
        if let Some(a) = after {
            path.push_str(&format!("&after={a}"));
        }
        let (status, v) = h.get(token, &path).await;
        assert_eq!(status, 200, "{v}");
        out.extend(v["entries"].as_array().expect("entries").iter().cloned());
        match v["next_after"].as_i64() {
            Some(a) => after = Some(a),
            None => return out,
        }
    }
}

fn detail(e: &Value) -> Value {
    serde_json::from_str(e["detail"].as_str().expect("detail text")).expect("detail json")
}

async fn admin_session(h: &Harness) -> String {
    session_as(h, "admin-audit", Role::Admin, DISTRICT).await
}

async fn verify(h: &Harness, token: &str) -> Value {
    let (status, v) = h.get(token, "/v1/audit/verify").await;
    assert_eq!(status, 200, "{v}");
    v
}

/// A hazard created by the expert's phone, for the officer to act on.
async fn a_hazard(h: &Harness) -> Uuid {
    let expert = h.enroll("expert-jincheng").await;
    let hazard = Uuid::now_v7();
    let (_, v) = h
        .push(
            &expert.token,
            &[created_hazard(1, hazard, "expert-jincheng", "major")],
        )
        .await;
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
    hazard
}

async fn sign_ins_hazard_changes_and_exports_are_logged_with_who_where_and_what(h: &Harness) {
    let hazard = a_hazard(h).await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    // A failed sign-in: the name as typed, never the password.
    let (status, _) = post(
        h,
        None,
        "/v1/login",
        json!({"user_name": "officer", "password": "not-the-password-9"}),
    )
    .await;
    assert_eq!(status, 401);
    let (status, v) = post(
        h,
        Some(&officer),
        &format!("/v1/hazards/{hazard}/events"),
        json!({"kind": "deadline_extended", "new_deadline": "2099-08-31", "reason": "设备到货延迟"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, _, body) = get_export(
        h,
        &officer,
        &format!("/v1/exports/hazards.xlsx?division={TOWN}&overdue=true"),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    let admin = admin_session(h).await;
    let entries = all_entries(h, &admin, "").await;
    let find = |action: &str| -> Vec<&Value> {
        entries.iter().filter(|e| e["action"] == action).collect()
    };
    let ok = find("login.ok");
    let officer_login = ok
        .iter()
        .find(|e| e["actor"] == "officer")
        .expect("the officer's sign-in");
    assert_eq!(officer_login["source"], "127.0.0.1");
    assert_eq!(officer_login["actor_role"], "officer");
    assert_eq!(officer_login["division"], DISTRICT);

    let failed = find("login.failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["actor"], "officer");
    assert_eq!(failed[0]["source"], "127.0.0.1");
    assert!(
        !failed[0].to_string().contains("not-the-password-9"),
        "the password is never logged: {}",
        failed[0]
    );

    let changed = find("hazard.event");
    assert_eq!(changed.len(), 1);
    let e = changed[0];
    assert_eq!(
        (
            &e["actor"],
            &e["source"],
            &e["target_kind"],
            &e["target_id"]
        ),
        (
            &json!("officer"),
            &json!("127.0.0.1"),
            &json!("hazard"),
            &json!(hazard.to_string())
        )
    );
    let d = detail(e);
    assert_eq!(d["event"]["kind"], "deadline_extended", "{d}");
    assert_ne!(d["before"]["deadline"], "2099-08-31", "{d}");
    assert_eq!(d["after"]["deadline"], "2099-08-31", "{d}");

    let export = find("export.hazards");
    assert_eq!(export.len(), 1);
    assert_eq!(export[0]["source"], "127.0.0.1");
    let f = detail(export[0]);
    assert_eq!(f["filter"]["division"], TOWN, "{f}");
    assert_eq!(f["filter"]["overdue_only"], true, "{f}");

    // Filters: by action prefix, by actor, by time.
    let logins = all_entries(h, &admin, "&action=login.*").await;
    assert!(logins.iter().all(|e| e["action"]
        .as_str()
        .is_some_and(|a| a.starts_with("login."))));
    assert_eq!(logins.len(), ok.len() + failed.len());
    let by_officer = all_entries(h, &admin, "&actor=officer").await;
    assert!(by_officer.iter().all(|e| e["actor"] == "officer"));
    assert!(by_officer.iter().any(|e| e["action"] == "export.hazards"));
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    assert!(all_entries(h, &admin, &format!("&from={tomorrow}"))
        .await
        .is_empty());
    assert_eq!(
        all_entries(h, &admin, &format!("&to={tomorrow}"))
            .await
            .len(),
        entries.len()
    );
    let (status, v) = h.get(&admin, "/v1/audit?from=yesterday").await;
    assert_eq!((status, v["code"].as_str()), (400, Some("malformed_body")));
    let (status, _) = h.get(&admin, "/v1/audit?limit=501").await;
    assert_eq!(status, 400);
    // Newest first, numbered without gaps.
    let seqs: Vec<i64> = entries.iter().filter_map(|e| e["seq"].as_i64()).collect();
    let want: Vec<i64> = (1..=seqs.len() as i64).rev().collect();
    assert_eq!(seqs, want);
    let v = verify(h, &admin).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], entries.len(), "reading the log adds nothing");
}

/// The entry commits or rolls back with its action: a refused transition, a review
/// without a comment and a division outside the jurisdiction leave nothing.
async fn an_action_refused_or_rolled_back_leaves_no_entry(h: &Harness) {
    let hazard = a_hazard(h).await;
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let admin = admin_session(h).await;
    let before = verify(h, &admin).await["entries"].as_u64().expect("n");
    let (status, _) = post(
        h,
        Some(&officer),
        &format!("/v1/hazards/{hazard}/events"),
        json!({"kind": "closed"}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _, _) = get_export(
        h,
        &officer,
        &format!("/v1/exports/hazards.xlsx?division={OTHER_TOWN}"),
    )
    .await;
    assert_eq!(status, 404);
    let after = verify(h, &admin).await;
    assert_eq!(after["entries"].as_u64(), Some(before), "{after}");
    assert_eq!(after["valid"], true);
}

async fn the_database_refuses_to_change_or_remove_an_entry(h: &Harness) {
    let _ = officer_session(h, "officer", DISTRICT).await;
    for sql in [
        "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1",
        "UPDATE audit_log SET detail = '{}'",
        "DELETE FROM audit_log WHERE seq = 1",
        "DELETE FROM audit_log",
    ] {
        let err = try_sql(h, sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    if h.db == Db::Postgres {
        let err = try_sql(h, "TRUNCATE audit_log")
            .await
            .expect_err("truncate");
        assert!(err.contains("append-only"), "{err}");
    }
    let v = blocking(h, |s| s.audit_verify()).await.expect("verify");
    assert!(v.valid && v.entries >= 1, "{v:?}");
}

/// With the triggers dropped (an attacker with the database's owner rights), an edited
/// detail is found and named, over HTTP and through the store.
async fn a_changed_entry_is_named_by_the_chain_check(h: &Harness) {
    let hazard = a_hazard(h).await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    for deadline in ["2099-08-31", "2099-09-30"] {
        let (status, v) = post(
            h,
            Some(&officer),
            &format!("/v1/hazards/{hazard}/events"),
            json!({"kind": "deadline_extended", "new_deadline": deadline, "reason": "延期"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
    }
    let admin = admin_session(h).await;
    let entries = all_entries(h, &admin, "&action=hazard.event").await;
    let first = entries.last().expect("two entries")["seq"]
        .as_i64()
        .expect("seq");
    let drop = match h.db {
        Db::Sqlite => "DROP TRIGGER audit_log_no_update",
        Db::Postgres => "DROP TRIGGER audit_log_no_change ON audit_log",
    };
    try_sql(h, drop).await.expect("drop the trigger");
    try_sql(
        h,
        &format!(
            "UPDATE audit_log SET detail = replace(detail, '2099-08-31', '2099-12-31') WHERE seq = {first}"
        ),
    )
    .await
    .expect("tamper");
    let v = verify(h, &admin).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["first_bad"].as_i64(), Some(first), "{v}");
    assert!(
        v["reason"].as_str().is_some_and(|r| r.contains("changed")),
        "{v}"
    );
    let r = blocking(h, |s| s.audit_verify()).await.expect("verify");
    assert_eq!(r.first_bad, Some(first));
}

/// Several writers, each on a connection of its own (as several servers and admin
/// commands would be), append at once: one chain, no seq twice, no gap.
async fn concurrent_writers_keep_one_unbroken_chain(h: &Harness) {
    const WRITERS: usize = 4;
    const EACH: usize = 25;
    let before = blocking(h, |s| s.audit_verify())
        .await
        .expect("verify")
        .entries;
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let data = h.data.clone();
        let url = h.database_url.clone();
        threads.push(std::thread::spawn(move || {
            let store = gridwalk_server::open_store(&data, url.as_deref()).expect("open");
            for i in 0..EACH {
                store
                    .audit_append(
                        &gridwalk_server::audit::NewEntry::cli("test.concurrent")
                            .detail(json!({"writer": w, "i": i})),
                    )
                    .expect("append");
            }
        }));
    }
    for t in threads {
        t.join().expect("writer");
    }
    let r = blocking(h, |s| s.audit_verify()).await.expect("verify");
    assert!(r.valid, "{r:?}");
    assert_eq!(r.entries, before + (WRITERS * EACH) as u64);
    assert_eq!(r.head_seq, Some(r.entries as i64));
}

async fn only_administrators_and_district_officers_read_the_log(h: &Harness) {
    let district = officer_session(h, "officer", DISTRICT).await;
    let town = officer_session(h, "officer-jincheng", TOWN).await;
    let other_town = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    let grid = h.enroll("grid-east").await;
    for (who, token) in [
        ("town officer", &town),
        ("other town's officer", &other_town),
        ("grid worker", &grid.token),
    ] {
        for path in ["/v1/audit", "/v1/audit/verify"] {
            let (status, v) = h.get(token, path).await;
            assert_eq!(
                (status, v["code"].as_str()),
                (403, Some("forbidden_role")),
                "{who} {path}: {v}"
            );
        }
    }
    let (status, _) = h.get("", "/v1/audit").await;
    assert_eq!(status, 401);
    // A district officer reads the entries filed under the district (a failed sign-in
    // of one of its users too), not the server-wide ones (a name nobody has).
    for name in ["nobody", "officer-rulin"] {
        let (status, _) = post(
            h,
            None,
            "/v1/login",
            json!({"user_name": name, "password": "guess-guess-1"}),
        )
        .await;
        assert_eq!(status, 401);
    }
    let seen = all_entries(h, &district, "").await;
    assert!(seen.iter().any(|e| e["actor"] == "officer-rulin"
        && e["action"] == "login.failed"
        && e["division"] == OTHER_TOWN));
    assert!(seen.iter().all(|e| e["division"]
        .as_str()
        .is_some_and(|d| d.starts_with("320413"))));
    assert!(!seen.iter().any(|e| e["actor"] == "nobody"));
    // The district's administrator also reads the server-wide entries; a town's
    // administrator the town's only.
    let admin = admin_session(h).await;
    assert!(all_entries(h, &admin, "")
        .await
        .iter()
        .any(|e| e["actor"] == "nobody" && e["action"] == "login.failed"));
    let town_admin = session_as(h, "admin-jincheng", Role::Admin, TOWN).await;
    let theirs = all_entries(h, &town_admin, "").await;
    assert!(theirs.iter().any(|e| e["actor"] == "officer-jincheng"));
    assert!(
        theirs.iter().all(|e| e["division"]
            .as_str()
            .is_some_and(|d| d.starts_with("320413100"))),
        "{theirs:?}"
    );
    assert_eq!(verify(h, &district).await["valid"], true);
}

/// The entry and the change commit together: with every insert into the log refused
/// (a test trigger), a hazard action and an admin command's change do not happen.
async fn an_action_whose_entry_cannot_be_stored_does_not_happen(h: &Harness) {
    let hazard = a_hazard(h).await;
    let officer = officer_session(h, "officer", DISTRICT).await;
    let refuse = match h.db {
        Db::Sqlite => "CREATE TRIGGER test_refuse_insert BEFORE INSERT ON audit_log
                       BEGIN SELECT RAISE(ABORT, 'test: no inserts'); END;"
            .to_string(),
        Db::Postgres => "CREATE FUNCTION test_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS
                         $$ BEGIN RAISE EXCEPTION 'test: no inserts'; END $$;
                         CREATE TRIGGER test_refuse_insert BEFORE INSERT ON audit_log
                         FOR EACH ROW EXECUTE FUNCTION test_refuse_insert();"
            .to_string(),
    };
    try_sql(h, &refuse).await.expect("test trigger");
    let (status, _) = post(
        h,
        Some(&officer),
        &format!("/v1/hazards/{hazard}/events"),
        json!({"kind": "deadline_extended", "new_deadline": "2099-08-31", "reason": "延期"}),
    )
    .await;
    assert!(status >= 500, "{status}");
    let (status, v) = h.get(&officer, &format!("/v1/hazards/{hazard}")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["state"]["deadline"], "2099-06-30", "unchanged: {v}");
    assert_eq!(v["events"].as_array().map(Vec::len), Some(1), "{v}");
    let made = blocking(h, |s| {
        let town = gridwalk_core::DivisionCode::parse(TOWN).expect("code");
        let entry = gridwalk_server::audit::NewEntry::cli("user.create").target("user", "吴某");
        let made = s.create_user_logged("吴某", Role::Expert, &town, Some(&entry));
        (made.is_err(), s.actor("吴某").is_ok())
    })
    .await;
    assert_eq!(
        made,
        (true, false),
        "the user is not created without its entry"
    );
    let drop = match h.db {
        Db::Sqlite => "DROP TRIGGER test_refuse_insert",
        Db::Postgres => "DROP TRIGGER test_refuse_insert ON audit_log",
    };
    try_sql(h, drop).await.expect("drop the test trigger");
    let (status, _) = post(
        h,
        Some(&officer),
        &format!("/v1/hazards/{hazard}/events"),
        json!({"kind": "deadline_extended", "new_deadline": "2099-08-31", "reason": "延期"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        blocking(h, |s| s.audit_verify())
            .await
            .expect("verify")
            .valid
    );
}

/// Recording a tip, reading its reporter and a refused read are logged; the reporter's
/// name and phone appear nowhere in the log.
async fn tips_and_reporter_reads_are_logged_never_the_reporter(h: &Harness) {
    const PHONE: &str = "13951234567";
    const NAME: &str = "钱举报";
    let recorder = officer_session(h, "officer", DISTRICT).await;
    let colleague = officer_session(h, "officer-jincheng", TOWN).await;
    let today = gridwalk_checklist::hazard::china_date(chrono::Utc::now());
    let (status, tip) = post(
        h,
        Some(&recorder),
        "/v1/tips",
        json!({"source": "hotline_12350", "content": "群众来电反映夜间违规打磨",
            "enterprise_uscc": uscc_here(), "received_on": today.to_string(),
            "deadline": (today + chrono::Duration::days(5)).to_string(),
            "assignee": "grid-east", "reporter_name": NAME, "reporter_contact": PHONE}),
    )
    .await;
    assert_eq!(status, 200, "{tip}");
    let id = tip["id"].as_str().expect("id").to_string();
    let (status, _) = h.get(&colleague, &format!("/v1/tips/{id}/reporter")).await;
    assert_eq!(status, 403);
    let (status, v) = h.get(&recorder, &format!("/v1/tips/{id}/reporter")).await;
    assert_eq!((status, v["contact"].as_str()), (200, Some(PHONE)));

    let admin = admin_session(h).await;
    let entries = all_entries(h, &admin, "&action=tip.").await;
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("tip.reporter.view", "officer"),
            ("tip.reporter.refused", "officer-jincheng"),
            ("tip.create", "officer"),
        ]
    );
    assert!(entries.iter().all(|e| e["target_id"] == id.as_str()));
    let created = detail(&entries[2]);
    assert_eq!(created["reporter_given"], true, "{created}");
    let everything = serde_json::to_string(&all_entries(h, &admin, "").await).expect("json");
    assert!(
        !everything.contains(PHONE) && !everything.contains(NAME),
        "the reporter is never in the log"
    );
}

/// The admin commands log as `cli:<os user>`; `audit verify` exits 0 on an intact chain
/// and 1 naming the first broken entry.
#[test]
fn the_command_line_logs_admin_commands_and_verify_exits_non_zero_on_a_broken_chain() {
    use std::process::Command;
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gridwalk-server"))
            .arg("--data")
            .arg(dir.path())
            .args(args)
            .env("USER", "ops-li")
            .env_remove("GRIDWALK_DATABASE_URL")
            .output()
            .expect("run gridwalk-server");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let divisions = dir.path().join("d.csv");
    std::fs::write(
        &divisions,
        format!("code,name,level,parent_code\n{DISTRICT},金坛区,district,320400000000\n{TOWN},金城镇,town,{DISTRICT}\n{VILLAGE},东村,village,{TOWN}\n"),
    )
    .expect("csv");
    let (code, _, err) = run(&["divisions", "import", divisions.to_str().expect("path")]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = run(&[
        "admin",
        "create-user",
        "--name",
        "grid-wu",
        "--role",
        "grid_worker",
        "--jurisdiction",
        VILLAGE,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = run(&["admin", "enrollment-code", "--user", "grid-wu"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&["audit", "list", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let page: Value = serde_json::from_str(&out).expect("json");
    let actions: Vec<(&str, &str, &str)> = page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or(""),
                e["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("device.enrollment_code", "cli:ops-li", "cli"),
            ("user.create", "cli:ops-li", "cli"),
            ("register.import", "cli:ops-li", "cli"),
        ]
    );
    let (code, out, _) = run(&["audit", "list", "--action", "user.create"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("user:grid-wu") && out.contains("1 entries"),
        "{out}"
    );
    let (code, out, err) = run(&["audit", "verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("audit log OK: 3 entries checked"), "{out}");

    let c = rusqlite::Connection::open(dir.path().join("server.db")).expect("sqlite");
    let refused = c
        .execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2", [])
        .expect_err("append-only");
    assert!(refused.to_string().contains("append-only"), "{refused}");
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 2;",
    )
    .expect("tamper");
    drop(c);
    let (code, out, _) = run(&["audit", "verify"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("BROKEN at entry 2"), "{out}");
}

/// A database of the release before 0019, with users in it, upgrades to an empty, valid
/// log whose first entry follows the genesis hash; its users are untouched; on both
/// databases.
#[test]
fn a_database_from_before_the_audit_log_upgrades_to_an_empty_valid_chain() {
    let user = "INSERT INTO app_user (id, name, role, jurisdiction, created_at) \
                VALUES ('u1', '钱科长', 'officer', '320413100000', '2026-11-01T00:00:00Z');";
    let check = |store: &gridwalk_server::Store, what: &str| {
        let r = store.audit_verify().expect("verify");
        assert!(r.valid && r.entries == 0, "{what}: {r:?}");
        let actor = store.actor("钱科长").expect("the user survived");
        let e = store
            .audit_append(
                &gridwalk_server::audit::NewEntry::by(&actor, "test.upgrade")
                    .detail(json!({"说明": "升级后第一条"})),
            )
            .expect("append");
        assert_eq!(
            (e.seq, e.prev_hash.as_str()),
            (1, gridwalk_server::audit::GENESIS_HASH)
        );
        assert_eq!(e.hash, e.computed_hash());
        assert!(store.audit_verify().expect("verify").valid, "{what}");
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let data = gridwalk_server::DataDir::create(dir.path()).expect("data dir");
    {
        let c = rusqlite::Connection::open(data.database()).expect("sqlite");
        let before = server_migrations_before("sqlite", 19);
        for sql in &before {
            c.execute_batch(sql).expect("migration");
        }
        c.execute_batch(&format!("{user} PRAGMA user_version = {};", before.len()))
            .expect("data before 0019");
    }
    let store = gridwalk_server::open_store(&data, None).expect("upgrade sqlite");
    check(&store, "SQLite");

    let Some(url) = fresh_pg_database() else {
        eprintln!("SKIPPED (PostgreSQL half): PostgreSQL binaries are not installed");
        return;
    };
    {
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("pg");
        let before = server_migrations_before("postgres", 19);
        for sql in &before {
            c.batch_execute(sql).expect("migration");
        }
        c.batch_execute(&format!(
            "{user} CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
             DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({});",
            before.len()
        ))
        .expect("data before 0019");
    }
    let store = gridwalk_server::open_store(&data, Some(&url)).expect("upgrade postgres");
    check(&store, "PostgreSQL");
}

/// Figures for docs/security.md, not a check: N appends (each its own transaction, as
/// an officer's action is) and one verify of the N-entry chain, on SQLite and a
/// PostgreSQL the test starts. `GRIDWALK_AUDIT_N` (default 5000).
/// `cargo nextest run -p gridwalk-server --test audit --run-ignored only --no-capture`
#[test]
#[ignore = "a measurement; prints figures"]
fn measure_append_and_verify_costs() {
    let n: usize = std::env::var("GRIDWALK_AUDIT_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = gridwalk_server::DataDir::create(dir.path()).expect("data dir");
    let mut stores = vec![(
        "SQLite",
        gridwalk_server::open_store(&data, None).expect("sqlite"),
    )];
    if let Some(url) = fresh_pg_database() {
        stores.push((
            "PostgreSQL",
            gridwalk_server::open_store(&data, Some(&url)).expect("pg"),
        ));
    }
    for (name, store) in &stores {
        let entry = gridwalk_server::audit::NewEntry::cli("hazard.event")
            .target("hazard", Uuid::now_v7())
            .detail(
                json!({"before": {"status": "assigned", "deadline": "2099-06-30"},
                "after": {"status": "assigned", "deadline": "2099-08-31"}}),
            );
        let t = std::time::Instant::now();
        for _ in 0..n {
            store.audit_append(&entry).expect("append");
        }
        let append = t.elapsed();
        let t = std::time::Instant::now();
        let r = store.audit_verify().expect("verify");
        let verify = t.elapsed();
        assert!(r.valid && r.entries == n as u64);
        println!(
            "{name}: {n} appends in {:.2} s ({:.2} ms each); verify of {n} entries {:.0} ms ({:.1} µs/entry)",
            append.as_secs_f64(),
            append.as_secs_f64() * 1000.0 / n as f64,
            verify.as_secs_f64() * 1000.0,
            verify.as_secs_f64() * 1e6 / n as f64
        );
    }
}
