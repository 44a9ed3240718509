//! `gridwalk-server` as a child process on a data directory of its own.

use crate::bins::bins;
use crate::fixtures::{divisions_csv, write_enterprises_csv, EXPERT, TOWN};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A record as the server stored it (read from its database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecord {
    pub id: String,
    pub device_id: String,
    pub seq: i64,
    pub kind: String,
    pub payload_sha256: String,
    /// `accepted` or `rejected`.
    pub state: String,
    /// The per-record code of a rejected record.
    pub reject_code: Option<String>,
    pub photos: BTreeSet<String>,
}

/// A running (or killed) server. Killed on drop.
pub struct Server {
    pub data: PathBuf,
    pub addr: SocketAddr,
    child: Option<Child>,
    starts: u32,
    /// Extra `serve` arguments (e.g. `--max-payload-kib 24`), used from the next start.
    pub serve_args: Vec<String>,
    /// PostgreSQL instead of the data directory's SQLite file.
    pub database_url: Option<String>,
    /// The server said it listens on `https://`.
    tls: bool,
}

impl Server {
    /// A data directory in `dir` with the 金坛 divisions, `enterprises` polishers and the
    /// expert [`EXPERT`] of [`TOWN`]; then serves it.
    pub fn with_register(dir: &Path, enterprises: u32) -> Server {
        Server::with_register_on(dir, enterprises, None)
    }

    /// [`Server::with_register`] on PostgreSQL when `database_url` is given.
    pub fn with_register_on(dir: &Path, enterprises: u32, database_url: Option<String>) -> Server {
        let data = dir.join("server-data");
        let db = database_url.as_deref();
        let csv = dir.join("enterprises.csv");
        write_enterprises_csv(&csv, enterprises);
        let div = divisions_csv();
        admin_on(&data, db, &["divisions", "import", path_str(&div)]);
        admin_on(&data, db, &["enterprises", "import", path_str(&csv)]);
        admin_on(
            &data,
            db,
            &[
                "admin",
                "create-user",
                "--name",
                EXPERT,
                "--role",
                "expert",
                "--jurisdiction",
                TOWN,
            ],
        );
        Server::start_on(data, database_url)
    }

    /// Serves `data` on a free loopback port.
    pub fn start(data: PathBuf) -> Server {
        Server::start_on(data, None)
    }

    /// Serves `data` (and the PostgreSQL database, when given).
    pub fn start_on(data: PathBuf, database_url: Option<String>) -> Server {
        let mut s = Server {
            data,
            addr: "127.0.0.1:1".parse().expect("addr"),
            child: None,
            starts: 0,
            serve_args: Vec::new(),
            database_url,
            tls: false,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = self
            .data
            .with_file_name(format!("server-{}.log", self.starts));
        let mut child = Command::new(&bins().server)
            .arg("--data")
            .arg(&self.data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(&self.serve_args)
            .args(database_args(self.database_url.as_deref()))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .expect("start gridwalk-server");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("read server stdout");
        let listening = line.trim().strip_prefix("listening on ");
        let addr = listening.and_then(|l| {
            l.strip_prefix("http://")
                .or_else(|| l.strip_prefix("https://"))
        });
        self.tls = listening.is_some_and(|l| l.starts_with("https://"));
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("gridwalk-server did not start: {line:?}\n{log}");
        };
        self.addr = addr.parse().expect("listening address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = out.read_to_end(&mut Vec::new());
        });
        self.child = Some(child);
    }

    /// `http://127.0.0.1:<port>`, or `https://localhost:<port>` when serving TLS
    /// (`--tls-cert` in [`Server::serve_args`]; the certificate names `localhost`).
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Serves the same data directory again (on a new port).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `gridwalk-server --data DIR <args>`; panics unless it succeeds.
    pub fn admin(&self, args: &[&str]) -> String {
        admin_on(&self.data, self.database_url.as_deref(), args)
    }

    /// `gridwalk-server --data DIR <args>` that may fail: whether it succeeded, and its
    /// standard error.
    pub fn admin_status(&self, args: &[&str]) -> (bool, String) {
        let o = Command::new(&bins().server)
            .arg("--data")
            .arg(&self.data)
            .args(database_args(self.database_url.as_deref()))
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run gridwalk-server");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// `admin create-user` of a user who signs in to the console (an officer or admin)
    /// with `password`.
    pub fn create_officer(&self, name: &str, role: &str, jurisdiction: &str, password: &str) {
        admin_with_input(
            &self.data,
            self.database_url.as_deref(),
            &[
                "admin",
                "create-user",
                "--name",
                name,
                "--role",
                role,
                "--jurisdiction",
                jurisdiction,
                "--password-stdin",
            ],
            Some(password),
        );
    }

    /// A one-time enrollment code for [`EXPERT`].
    pub fn enrollment_code(&self) -> String {
        let out = self.admin(&["admin", "enrollment-code", "--user", EXPERT]);
        out.lines().last().expect("code line").trim().to_string()
    }

    /// `export inspections --json`.
    pub fn export(&self) -> Vec<Value> {
        let out = self.admin(&["export", "inspections", "--json"]);
        match serde_json::from_str(&out).expect("export json") {
            Value::Array(a) => a,
            other => panic!("export is not an array: {other}"),
        }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.data.join("server.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open server.db")
    }

    /// Every record the server stored, by `seq` within device.
    pub fn records(&self) -> Vec<ServerRecord> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT id, device_id, seq, kind, payload_sha256, state, reject_code FROM record \
                 ORDER BY device_id, seq",
            )
            .expect("prepare");
        let mut photos = db
            .prepare("SELECT sha256 FROM record_photo WHERE record_id = ?1")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok(ServerRecord {
                    id: r.get(0)?,
                    device_id: r.get(1)?,
                    seq: r.get(2)?,
                    kind: r.get(3)?,
                    payload_sha256: r.get(4)?,
                    state: r.get(5)?,
                    reject_code: r.get(6)?,
                    photos: BTreeSet::new(),
                })
            })
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        rows.into_iter()
            .map(|mut r| {
                r.photos = photos
                    .query_map([&r.id], |row| row.get(0))
                    .expect("query")
                    .collect::<Result<_, _>>()
                    .expect("photos");
                r
            })
            .collect()
    }

    /// Ids of the enrolled devices.
    pub fn devices(&self) -> Vec<String> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT id FROM device ORDER BY id")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("devices")
    }

    /// The verified photo the server holds under `sha256`, if any (blob row and file).
    pub fn photo(&self, sha256: &str) -> Option<Vec<u8>> {
        let held: Option<i64> = self
            .db()
            .query_row("SELECT size FROM blob WHERE sha256 = ?1", [sha256], |r| {
                r.get(0)
            })
            .ok();
        held?;
        std::fs::read(self.data.join("blobs/photos").join(sha256)).ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn database_args(url: Option<&str>) -> Vec<String> {
    url.map(|u| vec!["--database-url".to_string(), u.to_string()])
        .unwrap_or_default()
}

/// `gridwalk-server --data DIR [--database-url URL] <args>`; panics unless it succeeds.
pub fn admin_on(data: &Path, database_url: Option<&str>, args: &[&str]) -> String {
    admin_with_input(data, database_url, args, None)
}

/// [`admin_on`] with `input` on standard input (a password).
pub fn admin_with_input(
    data: &Path,
    database_url: Option<&str>,
    args: &[&str],
    input: Option<&str>,
) -> String {
    use std::io::Write;
    let mut child = Command::new(&bins().server)
        .arg("--data")
        .arg(data)
        .args(database_args(database_url))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("run gridwalk-server");
    if let (Some(mut stdin), Some(text)) = (child.stdin.take(), input) {
        stdin
            .write_all(format!("{text}\n").as_bytes())
            .expect("write stdin");
    }
    let out: Output = child.wait_with_output().expect("run gridwalk-server");
    assert!(
        out.status.success(),
        "gridwalk-server {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
