//! Test harness: a real server on port 0 over SQLite or PostgreSQL, a small register,
//! users and an HTTP client.

#![allow(dead_code)]

pub mod moto;

use gridwalk_core::Uscc;
use gridwalk_protocol::{EnrollRequest, EnrollResponse, RecordEnvelope, RecordKind, Role};
use gridwalk_server::register::{self, RegisterFile};
use gridwalk_server::serve::ConnLimits;
use gridwalk_server::{open_store_with, DataDir};
use std::path::PathBuf;
use std::sync::OnceLock;
use uuid::Uuid;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub const DISTRICT: &str = "320413000000";
pub const TOWN: &str = "320413100000";
pub const OTHER_TOWN: &str = "320413104000";
pub const VILLAGE: &str = "320413100201";
pub const NEIGHBOUR_VILLAGE: &str = "320413100202";
pub const GRID: &str = "320413100201001";
pub const FAR_VILLAGE: &str = "320413104201";

/// A valid USCC built from a 17-character body.
pub fn uscc(first17: &str) -> String {
    Uscc::with_check_char(first17)
        .expect("valid body")
        .as_str()
        .to_string()
}

/// Enterprise in VILLAGE.
pub fn uscc_here() -> String {
    uscc("91320413MA1XY0001")
}
/// Enterprise in NEIGHBOUR_VILLAGE.
pub fn uscc_neighbour() -> String {
    uscc("91320413MA1XY0002")
}
/// Enterprise in FAR_VILLAGE (another town).
pub fn uscc_far() -> String {
    uscc("91320413MA1XY0003")
}

/// The test divisions as a CSV file's text.
pub fn divisions_csv() -> String {
    format!(
        "code,name,level,parent_code\n{DISTRICT},金坛区,district,320400000000\n{TOWN},金城镇,town,{DISTRICT}\n\
         {OTHER_TOWN},儒林镇,town,{DISTRICT}\n{VILLAGE},东村,village,{TOWN}\n{NEIGHBOUR_VILLAGE},西村,village,{TOWN}\n\
         {FAR_VILLAGE},南村,village,{OTHER_TOWN}\n{GRID},东村一网格,grid,{VILLAGE}\n"
    )
}

fn enterprises_csv() -> String {
    format!(
        "name,uscc,village_code,dust_types\n金坛东村木业有限公司,{},{VILLAGE},木粉\n\
         金坛西村铝制品厂,{},{NEIGHBOUR_VILLAGE},铝粉\n儒林南村饲料厂,{},{FAR_VILLAGE},\n",
        uscc_here(),
        uscc_neighbour(),
        uscc_far()
    )
}

/// The shared test data (`GRIDWALK_TESTDATA`, else `shared/testdata` beside the repo).
pub fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

/// A real photo from the test data: its path and bytes.
pub fn test_photo(name: &str) -> (PathBuf, Vec<u8>) {
    let path = testdata().join("photos").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read test photo {} ({e}); set GRIDWALK_TESTDATA to the shared testdata directory",
            path.display()
        )
    });
    (path, bytes)
}

static PG_PORT: OnceLock<Option<u16>> = OnceLock::new();

/// Starts (once per test binary) a PostgreSQL with the helper script; `None` when the
/// binaries are absent.
fn pg_port() -> Option<u16> {
    *PG_PORT.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pg/start-postgres.sh");
        let work = PathBuf::from(format!(
            "/tmp/gridwalk-pg-{}-{}",
            std::process::id(),
            Uuid::new_v4().simple()
        ));
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg(&work)
            .arg(std::process::id().to_string())
            .output()
            .expect("run start-postgres.sh");
        if out.status.code() == Some(77) {
            eprintln!("SKIPPED: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        assert!(
            out.status.success(),
            "start-postgres.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let port = text
            .lines()
            .find_map(|l| l.strip_prefix("PORT="))
            .and_then(|p| p.trim().parse().ok())
            .expect("PORT= line");
        Some(port)
    })
}

/// A fresh database URL, or `None` (test skipped) when PostgreSQL is absent.
pub fn fresh_pg_database() -> Option<String> {
    let port = pg_port()?;
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut client =
        postgres::Client::connect(&admin, postgres::NoTls).expect("connect to test postgres");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    Some(format!("postgres://postgres@127.0.0.1:{port}/{name}"))
}

/// A running server with a register and some users.
pub struct Harness {
    pub db: Db,
    pub dir: tempfile::TempDir,
    pub data: DataDir,
    pub database_url: Option<String>,
    pub base: String,
    pub http: reqwest::Client,
    pub store: std::sync::Arc<gridwalk_server::Store>,
    /// The state the server runs on (upload locks and limits, for the tus tests).
    pub state: gridwalk_server::AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Harness {
    /// Starts a server; `None` if the database kind is unavailable here.
    pub async fn start(db: Db) -> Option<Harness> {
        Harness::start_with_limits(db, ConnLimits::default()).await
    }

    /// Starts a server with these connection limits; `None` as for [`Harness::start`].
    pub async fn start_with_limits(db: Db, limits: ConnLimits) -> Option<Harness> {
        Harness::start_configured(db, limits, None, |s| s).await
    }

    /// Starts a server with these connection limits, over TLS when `tls` is given (then
    /// [`Harness::base`] is `https://localhost:<port>` and [`Harness::http`] trusts
    /// `tls`'s CA certificate), on the state `configure` makes of the default one.
    pub async fn start_configured(
        db: Db,
        limits: ConnLimits,
        tls: Option<TestTls>,
        configure: impl FnOnce(gridwalk_server::AppState) -> gridwalk_server::AppState,
    ) -> Option<Harness> {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::create(dir.path()).expect("data dir");
        let database_url = match db {
            Db::Sqlite => None,
            Db::Postgres => Some(
                tokio::task::spawn_blocking(fresh_pg_database)
                    .await
                    .expect("pg")?,
            ),
        };
        let d2 = data.clone();
        let url2 = database_url.clone();
        let store = tokio::task::spawn_blocking(move || {
            // The benches compare pool sizes (1 = the single connection of before).
            let pool = std::env::var("GRIDWALK_TEST_DB_POOL_SIZE")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(gridwalk_server::db::DEFAULT_POOL_SIZE);
            let store = open_store_with(&d2, url2.as_deref(), pool).expect("open store");
            let div = d2.0.join("divisions.csv");
            std::fs::write(&div, divisions_csv()).expect("write csv");
            let r = register::import(&store, RegisterFile::Divisions, &div).expect("divisions");
            assert!(r.report.rejected.is_empty(), "{:?}", r.report.rejected);
            let ent = d2.0.join("enterprises.csv");
            std::fs::write(&ent, enterprises_csv()).expect("write csv");
            let r = register::import(&store, RegisterFile::Enterprises, &ent).expect("enterprises");
            assert!(r.report.rejected.is_empty(), "{:?}", r.report.rejected);
            store.publish_templates().expect("templates");
            for (name, role, j) in [
                ("grid-east", Role::GridWorker, VILLAGE),
                ("grid-one", Role::GridWorker, GRID),
                ("expert-jincheng", Role::Expert, TOWN),
                ("expert-rulin", Role::Expert, OTHER_TOWN),
                ("officer", Role::Officer, DISTRICT),
            ] {
                store
                    .create_user(
                        name,
                        role,
                        &gridwalk_core::DivisionCode::parse(j).expect("code"),
                    )
                    .expect("user");
            }
            store
        })
        .await
        .expect("setup");
        let state = configure(
            gridwalk_server::local_state(&data, store)
                .expect("state")
                .with_tls(tls.is_some()),
        );
        let store = state.store.clone();
        let served = state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_tls = tls.as_ref().map(|t| t.server.clone());
        let server = tokio::spawn(async move {
            gridwalk_server::serve::serve_with(
                listener,
                gridwalk_server::app(served),
                limits,
                server_tls,
                async {
                    let _ = rx.await;
                },
            )
            .await
            .expect("serve");
        });
        let (base, http) = match &tls {
            None => (
                format!("http://{addr}"),
                reqwest::Client::builder().build().expect("client"),
            ),
            Some(t) => (
                format!("https://localhost:{}", addr.port()),
                t.client(reqwest::Client::builder())
                    .build()
                    .expect("client"),
            ),
        };
        Some(Harness {
            db,
            dir,
            data,
            database_url,
            base,
            http,
            store,
            state,
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    /// The server's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        let port = self.base.rsplit(':').next().expect("port");
        format!("127.0.0.1:{port}").parse().expect("addr")
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Issues a code for `user` (through the store, as the CLI does).
    pub async fn code_for(&self, user: &str) -> String {
        let store = self.store.clone();
        let user = user.to_string();
        tokio::task::spawn_blocking(move || store.issue_enrollment_code(&user))
            .await
            .expect("join")
            .expect("code")
    }

    /// Enrolls a new device for `user`; returns the answer.
    pub async fn enroll(&self, user: &str) -> EnrollResponse {
        let code = self.code_for(user).await;
        let resp = self
            .http
            .post(self.url("/v1/enroll"))
            .json(&EnrollRequest {
                code,
                device_key: Uuid::new_v4().to_string(),
                device_name: Some("test phone".into()),
            })
            .send()
            .await
            .expect("enroll");
        assert_eq!(
            resp.status(),
            200,
            "{}",
            resp.text().await.unwrap_or_default()
        );
        resp.json().await.expect("enroll json")
    }

    /// Pushes records with a token; returns status and JSON.
    pub async fn push(&self, token: &str, records: &[RecordEnvelope]) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .post(self.url("/v1/sync/push"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "records": records }))
            .send()
            .await
            .expect("push");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("push json"))
    }

    /// GET with a token.
    pub async fn get(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }
}

/// An inspection record of the enterprise `uscc` with sequence `seq`.
pub fn inspection(seq: u64, uscc: &str, photos: &[&str]) -> RecordEnvelope {
    let id = Uuid::now_v7();
    let payload =
        format!("{{\"enterprise_uscc\":\"{uscc}\",\"inspection_id\":\"{id}\",\"n\":{seq}}}");
    let mut e = RecordEnvelope::new(id, RecordKind::Inspection, seq, payload);
    e.enterprise_uscc = Some(uscc.to_string());
    e.photos = photos.iter().map(|p| p.to_string()).collect();
    e
}

/// The creation event of hazard `hazard` of the wood shop (`uscc_here`), by `actor`.
pub fn created_hazard(seq: u64, hazard: Uuid, actor: &str, severity: &str) -> RecordEnvelope {
    let enterprise =
        gridwalk_core::ids::enterprise_id(&gridwalk_core::Uscc::parse(&uscc_here()).expect("uscc"));
    let id = Uuid::now_v7();
    let body = serde_json::json!({"id": id, "hazard_id": hazard, "at": "2026-03-02T02:00:00Z", "actor": actor,
        "kind": "created", "severity": severity, "enterprise_id": enterprise,
        "description_zh": "除尘器未设置泄爆装置", "deadline": "2099-06-30"});
    let mut e = RecordEnvelope::new(id, RecordKind::HazardEvent, seq, body.to_string());
    e.enterprise_uscc = Some(uscc_here());
    e
}

/// Runs one SQL statement on the harness's database (to age a row).
pub async fn exec_sql(h: &Harness, sql: &str) {
    let sql = sql.to_string();
    let db = h.data.database();
    let url = h.database_url.clone();
    tokio::task::spawn_blocking(move || match url {
        Some(url) => {
            let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("pg");
            c.batch_execute(&sql).expect("sql");
        }
        None => {
            let c = rusqlite::Connection::open(db).expect("sqlite");
            c.execute_batch(&sql).expect("sql");
        }
    })
    .await
    .expect("join");
}

/// Links envelopes into a device chain as the phone does (version 2: the device time
/// under the hash), for tests that play a phone or a forger.
pub struct TestChain {
    pub device: String,
    pub head: String,
}

impl TestChain {
    pub fn new() -> TestChain {
        TestChain {
            device: uuid::Uuid::now_v7().to_string(),
            head: gridwalk_protocol::chain::GENESIS_PREV_HASH.into(),
        }
    }

    /// Links `e` (chain kind `kind`) after the current head.
    pub fn link(&mut self, e: RecordEnvelope, kind: &str) -> RecordEnvelope {
        self.link_at(e, kind, None)
    }

    /// Links `e` after the current head at chain position `chain_seq` (a forked phone
    /// sends its records at other sequence numbers than their chain positions).
    pub fn link_at(
        &mut self,
        mut e: RecordEnvelope,
        kind: &str,
        chain_seq: Option<u64>,
    ) -> RecordEnvelope {
        let now = chrono::Utc::now().timestamp_millis();
        e.device_time = chrono::DateTime::from_timestamp_millis(now);
        let mut proof = gridwalk_protocol::chain::ChainProof {
            version: gridwalk_protocol::chain::LINK_V2,
            device: self.device.clone(),
            kind: kind.into(),
            prev_hash: self.head.clone(),
            hash: String::new(),
            seq: chain_seq,
        };
        proof.hash = proof
            .computed_hash(e.seq, &e.payload_sha256, e.device_time)
            .expect("v2 hash");
        self.head = proof.hash.clone();
        e.link = Some(proof);
        e
    }
}

/// Generates one test per database from a scenario `async fn(&Harness)`.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = $crate::common::Harness::start($crate::common::Db::Sqlite).await.expect("sqlite");
                    super::$name(&h).await;
                    h.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(h) = $crate::common::Harness::start($crate::common::Db::Postgres).await else {
                        eprintln!("SKIPPED: PostgreSQL binaries are not installed");
                        return;
                    };
                    super::$name(&h).await;
                    h.stop().await;
                }
            )*
        }
    };
}

/// Imports an enterprises CSV into the server's register, as `register import` does.
pub async fn import_enterprises_csv(h: &Harness, csv: String) {
    let path = h.dir.path().join(format!("e-{}.csv", uuid::Uuid::now_v7()));
    std::fs::write(&path, csv).expect("csv");
    blocking(h, move |s| {
        let r = gridwalk_server::register::import(
            s,
            gridwalk_server::register::RegisterFile::Enterprises,
            &path,
        )
        .expect("import");
        assert!(r.report.rejected.is_empty(), "{:?}", r.report.rejected);
    })
    .await;
}

/// The password the officer helpers give every officer they make.
pub const PASSWORD: &str = "金坛区-粉尘-2026";

/// Runs a store call on a blocking thread.
pub async fn blocking<R: Send + 'static>(
    h: &Harness,
    f: impl FnOnce(&gridwalk_server::Store) -> R + Send + 'static,
) -> R {
    let store = h.store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .expect("join")
}

/// Creates an officer of `jurisdiction` (unless there is one) with [`PASSWORD`] and
/// signs in; returns the session's bearer token.
pub async fn officer_session(h: &Harness, name: &str, jurisdiction: &str) -> String {
    session_as(h, name, Role::Officer, jurisdiction).await
}

/// [`officer_session`] for a user of any role that signs in (officer or admin).
pub async fn session_as(h: &Harness, name: &str, role: Role, jurisdiction: &str) -> String {
    let (n, j) = (name.to_string(), jurisdiction.to_string());
    blocking(h, move |s| {
        if s.actor(&n).is_err() {
            s.create_user(
                &n,
                role,
                &gridwalk_core::DivisionCode::parse(&j).expect("code"),
            )
            .expect("user");
        }
        s.set_password(&n, PASSWORD).expect("password");
    })
    .await;
    let (status, v) = post(
        h,
        None,
        "/v1/login",
        serde_json::json!({"user_name": name, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().expect("token").to_string()
}

/// POSTs JSON (with a bearer token when given): status and JSON answer.
pub async fn post(
    h: &Harness,
    token: Option<&str>,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = h.http.post(h.url(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// Every change a device speaking `protocol` pulls.
pub async fn pull_all(h: &Harness, token: &str, protocol: u32) -> Vec<serde_json::Value> {
    let mut cursor = String::new();
    let mut out = Vec::new();
    loop {
        let resp = h
            .http
            .get(h.url("/v1/sync/pull"))
            .query(&[("cursor", cursor.as_str()), ("limit", "1000")])
            .header(gridwalk_protocol::PROTOCOL_HEADER, protocol.to_string())
            .bearer_auth(token)
            .send()
            .await
            .expect("pull");
        assert_eq!(resp.status(), 200);
        let page: serde_json::Value = resp.json().await.expect("page");
        out.extend(page["changes"].as_array().cloned().unwrap_or_default());
        cursor = page["next_cursor"].as_str().unwrap_or_default().to_string();
        if page["has_more"] != true {
            return out;
        }
    }
}

/// GETs an export; returns status, headers and body.
pub async fn get_export(
    h: &Harness,
    token: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = h
        .http
        .get(h.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.expect("body").to_vec())
}

/// Every cell of the only sheet of an xlsx file, as text, row by row.
pub fn ledger_cells(h: &Harness, bytes: &[u8]) -> Vec<Vec<String>> {
    let path = h.dir.path().join(format!("{}.xlsx", Uuid::now_v7()));
    std::fs::write(&path, bytes).expect("write");
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).expect("open xlsx");
    let name = calamine::Reader::sheet_names(&wb)[0].clone();
    let range = calamine::Reader::worksheet_range(&mut wb, &name).expect("sheet");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    calamine::Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// A downloaded ledger: its header row and its numbered rows (the title row checked).
pub struct LedgerTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl LedgerTable {
    /// The index of the column named `name`.
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{name} in {:?}", self.header))
    }
}

/// Reads a ledger whose title row starts with `title`.
pub fn ledger_table(h: &Harness, bytes: &[u8], title: &str) -> LedgerTable {
    let cells = ledger_cells(h, bytes);
    assert!(cells[0][0].starts_with(title), "{:?}", cells[0]);
    LedgerTable {
        header: cells[1].clone(),
        rows: cells[2..]
            .iter()
            .filter(|r| !r[0].is_empty())
            .cloned()
            .collect(),
    }
}

/// A real JPEG made distinct by a comment segment.
pub fn distinct_jpeg(k: u8) -> Vec<u8> {
    let (_, jpeg) = test_photo("gps__DSCN0010.jpg");
    let mut b = jpeg[..2].to_vec();
    b.extend_from_slice(&[0xFF, 0xFE, 0, 3, k]);
    b.extend_from_slice(&jpeg[2..]);
    b
}

/// Creates a tus upload of `bytes` (its hash in the metadata); returns its location;
/// sends the bytes in one request if `whole`.
pub async fn tus_upload(h: &Harness, token: &str, bytes: &[u8], whole: bool) -> String {
    let r = h
        .http
        .post(h.url("/v1/photos"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", bytes.len().to_string())
        .header(
            "Upload-Metadata",
            gridwalk_protocol::tus::encode_metadata(&[(
                "sha256",
                &gridwalk_protocol::sha256_hex(bytes),
            )]),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let loc = r.headers()["location"].to_str().expect("loc").to_string();
    if whole {
        let r = h
            .http
            .patch(h.url(&loc))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", "0")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("patch");
        assert_eq!(r.status(), 204, "{:?}", r.text().await);
    }
    loc
}

/// Operation keys of an OpenAPI path item.
pub const OPENAPI_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Operations that take no token.
pub const PUBLIC_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("GET", "/v1/server-key"),
    ("POST", "/v1/enroll"),
    ("POST", "/v1/login"),
    ("GET", "/openapi.json"),
    ("OPTIONS", "/v1/photos"),
    ("GET", "/v1/verify/{sha256}"),
];

/// A Python venv under `target/tmp/{name}` holding the pinned PyPI `requirement`, made
/// the first time by tests/python/setup-venv.sh under a file lock (parallel test
/// processes install it once) and checked by running `check` in it. Fails naming the
/// Debian package when no venv can be made.
pub fn python_venv(name: &str, requirement: &str, check: &str) -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&tmp).expect("create target/tmp");
    let venv = tmp.join(name);
    let lock = std::fs::File::create(tmp.join(format!("{name}.lock"))).expect("lock file");
    lock.lock().expect("lock the venv");
    let out = std::process::Command::new("bash")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/setup-venv.sh"))
        .arg(&venv)
        .arg(requirement)
        .arg(check)
        .output()
        .expect("run tests/python/setup-venv.sh");
    drop(lock);
    assert!(
        out.status.success(),
        "could not install {requirement} into {} (exit {:?}):\n{}",
        venv.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    venv
}

/// A self-signed certificate for `localhost` and 127.0.0.1 made for one test (rcgen),
/// as the server's TLS and as the CA a client trusts.
#[derive(Clone)]
pub struct TestTls {
    pub cert_pem: String,
    pub key_pem: String,
    pub server: gridwalk_server::serve::Tls,
}

impl TestTls {
    pub fn new() -> TestTls {
        let key = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("self-signed certificate");
        let cert_pem = key.cert.pem();
        let key_pem = key.signing_key.serialize_pem();
        let server = gridwalk_server::serve::Tls::from_pem(
            cert_pem.as_bytes(),
            key_pem.as_bytes(),
            "test.crt",
            "test.key",
        )
        .expect("server TLS");
        TestTls {
            cert_pem,
            key_pem,
            server,
        }
    }

    /// `builder` trusting this certificate.
    pub fn client(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder.add_root_certificate(
            reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).expect("certificate"),
        )
    }
}

/// Where an upgraded store keeps its rows (for a test that reads them directly).
pub enum Upgraded<'a> {
    /// The SQLite file.
    Sqlite(&'a std::path::Path),
    /// The PostgreSQL URL.
    Postgres(&'a str),
}

/// Makes a database of the release before migration `version` holding `rows`, opens it
/// (which applies `version` and on) and hands the store to `check`: on SQLite, then on
/// PostgreSQL (skipped with a message when its binaries are absent).
pub fn upgrade_both(version: u32, rows: &str, check: impl Fn(gridwalk_server::Store, Upgraded)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = gridwalk_server::DataDir::create(dir.path()).expect("data dir");
    sqlite_before(&data, version, rows);
    let store = gridwalk_server::open_store(&data, None).expect("upgrade sqlite");
    check(store, Upgraded::Sqlite(&data.database()));
    let Some(url) = fresh_pg_database() else {
        eprintln!("SKIPPED (PostgreSQL half): PostgreSQL binaries are not installed");
        return;
    };
    postgres_before(&url, version, rows);
    let store = gridwalk_server::open_store(&data, Some(&url)).expect("upgrade postgres");
    check(store, Upgraded::Postgres(&url));
}

/// The rows of a user (`u1`, a grid worker of the village) and their device
/// (`…0001`) as a release before an upgrade test's migration held them.
pub const A_DEVICE_BEFORE: &str = "
    INSERT INTO app_user (id, name, role, jurisdiction, created_at)
    VALUES ('u1', '老网格员', 'grid_worker', '320413100201', '2026-01-01T00:00:00Z');
    INSERT INTO device (id, user_id, device_key_hash, token_hash, enrolled_at)
    VALUES ('00000000-0000-7000-8000-000000000001', 'u1', 'k', 't', '2026-01-01T00:00:00Z');";

/// Makes `data`'s SQLite database as the release before migration `version` left it,
/// then runs `rows` on it (upgrade tests; the next open applies `version` and on).
pub fn sqlite_before(data: &gridwalk_server::DataDir, version: u32, rows: &str) {
    let c = rusqlite::Connection::open(data.database()).expect("sqlite");
    for sql in &server_migrations_before("sqlite", version) {
        c.execute_batch(sql).expect("migration");
    }
    c.execute_batch(&format!("{rows} PRAGMA user_version = {};", version - 1))
        .expect("data before the migration");
}

/// Makes the PostgreSQL database at `url` as the release before migration `version`
/// left it, then runs `rows` on it.
pub fn postgres_before(url: &str, version: u32, rows: &str) {
    let mut c = ::postgres::Client::connect(url, ::postgres::NoTls).expect("pg");
    for sql in &server_migrations_before("postgres", version) {
        c.batch_execute(sql).expect("migration");
    }
    c.batch_execute(&format!(
        "{rows}
         CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
         DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({});",
        version - 1
    ))
    .expect("data before the migration");
}

/// The server migrations numbered below `version`, in order, of one dialect (`sqlite`,
/// `postgres`): to make a database of the release before `version` in upgrade tests.
/// Every number below it is there, once.
pub fn server_migrations_before(dialect: &str, version: u32) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations/server")
        .join(dialect);
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(&dir)
        .expect("migrations")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let n: u32 = p.file_name()?.to_str()?.get(..4)?.parse().ok()?;
            (n < version).then_some((n, p))
        })
        .collect();
    files.sort();
    let numbers: Vec<u32> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (1..version).collect::<Vec<_>>(), "{files:?}");
    files
        .iter()
        .map(|(_, f)| std::fs::read_to_string(f).expect("migration"))
        .collect()
}

/// Deterministic, incompressible bytes (photo bodies of any size; `seed` picks which).
pub fn incompressible_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ seed.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Each record's push status and refusal code (empty when not refused), in order.
pub fn status_of(v: &serde_json::Value) -> Vec<(String, String)> {
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or_default().to_string(),
                r["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
