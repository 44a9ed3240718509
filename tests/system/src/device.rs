//! A device: the `gridwalk` CLI on a database of its own, and what it holds.

use crate::bins::bins;
use crate::fixtures::{divisions_csv, write_enterprises_csv};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One link of the device's evidence chain (one record to deliver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub seq: i64,
    /// `photo`, `inspection`, `hazard_event` or `signature`.
    pub kind: String,
    pub record_id: String,
    pub payload_sha256: String,
}

impl Link {
    /// The protocol's record kind for this chain kind.
    pub fn wire_kind(&self) -> &'static str {
        match self.kind.as_str() {
            "inspection" => "inspection",
            "hazard_event" => "hazard_event",
            "photo" | "signature" => "evidence",
            other => panic!("unknown chain kind {other}"),
        }
    }
}

/// A photo record of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePhoto {
    pub id: String,
    pub derived_sha256: String,
    pub derived_bytes: u64,
}

/// A device database in `dir`.
pub struct Device {
    pub dir: PathBuf,
    pub db: PathBuf,
}

/// The items of the dust verification the major-hazard inspection builds on
/// (aluminium dust, one dry collector without explosion control), shared with the CLI
/// and IPC tests and scripts/run.
pub fn dust_answers() -> Vec<(&'static str, &'static str)> {
    include_str!("../../fixtures/dust-verification-aluminium.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect()
}

impl Device {
    /// A new database with the same register as the server (`enterprises` polishers).
    pub fn new(dir: &Path, enterprises: u32) -> Device {
        let dir = dir.join("device");
        std::fs::create_dir_all(&dir).expect("device dir");
        let d = Device {
            db: dir.join("device.db"),
            dir,
        };
        d.ok(&["init"]);
        d.ok(&["divisions", "import", path_str(&divisions_csv())]);
        let csv = d.dir.join("enterprises.csv");
        write_enterprises_csv(&csv, enterprises);
        d.ok(&["enterprises", "import", path_str(&csv)]);
        d
    }

    /// `gridwalk --db DB <args>`, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&bins().gridwalk);
        c.arg("--db")
            .arg(&self.db)
            .args(args)
            .env_remove("GRIDWALK_USER")
            .env_remove("GRIDWALK_DB")
            .env_remove("GRIDWALK_NETWORK");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run gridwalk")
    }

    /// Runs and panics unless it exits 0; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "gridwalk {args:?}: {}\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `gridwalk --json <args>` parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    /// `enroll --server URL --code CODE --device-name NAME --json`.
    pub fn enroll(&self, server: &str, code: &str) -> Value {
        self.json(&[
            "enroll",
            "--server",
            server,
            "--code",
            code,
            "--device-name",
            "system-test",
        ])
    }

    /// `sync --once --json <extra>`: the exit code and the printed summary (if any).
    pub fn sync_once(&self, extra: &[&str]) -> (Option<i32>, Option<Value>, String) {
        let mut a = vec!["--json", "sync", "--once"];
        a.extend_from_slice(extra);
        let o = self.run(&a);
        let summary = serde_json::from_slice(&o.stdout).ok();
        (
            o.status.code(),
            summary,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// `status --json`.
    pub fn status(&self) -> Value {
        self.json(&["status"])
    }

    fn db(&self) -> rusqlite::Connection {
        self.open_db(rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    }

    /// The device database opened directly, read-write, with its key (the phone's
    /// database is SQLCipher-encrypted; the key file is beside it): for tests that alter
    /// the file as an attacker or a broken disk would.
    pub fn raw_db(&self) -> rusqlite::Connection {
        self.open_db(rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
    }

    /// Everything the device database holds, decrypted into a plain SQLite file's
    /// bytes (SQLCipher's `sqlcipher_export`): to check that some text never reached
    /// the phone.
    pub fn decrypted_bytes(&self) -> Vec<u8> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let out =
            std::env::temp_dir().join(format!("gridwalk-plain-{}-{nanos}.db", std::process::id()));
        // One that may create files: the attached copy is made by it.
        let conn = self.open_db(
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_CREATE,
        );
        conn.execute(
            "ATTACH DATABASE ?1 AS plain KEY ''",
            [out.to_str().expect("utf-8 path")],
        )
        .expect("attach");
        conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
            .expect("export");
        conn.execute_batch("DETACH DATABASE plain;")
            .expect("detach");
        let bytes = std::fs::read(&out).expect("plain copy");
        let _ = std::fs::remove_file(&out);
        assert!(bytes.starts_with(b"SQLite format 3\0"), "a plain copy");
        bytes
    }

    fn open_db(&self, flags: rusqlite::OpenFlags) -> rusqlite::Connection {
        let mut key_file = self.db.as_os_str().to_os_string();
        key_file.push(".key");
        let key = std::fs::read_to_string(&key_file).expect("the device database's key file");
        let conn = rusqlite::Connection::open_with_flags(&self.db, flags).expect("open device db");
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.trim()))
            .expect("key");
        conn
    }

    /// `PRAGMA integrity_check` of the database (`ok` when sound).
    pub fn integrity_check(&self) -> String {
        self.db()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check")
    }

    /// The evidence chain, in order.
    pub fn chain(&self) -> Vec<Link> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT seq, kind, record_id, payload_sha256 FROM evidence_chain ORDER BY seq")
            .expect("prepare");
        stmt.query_map([], |r| {
            Ok(Link {
                seq: r.get(0)?,
                kind: r.get(1)?,
                record_id: r.get(2)?,
                payload_sha256: r.get(3)?,
            })
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("chain")
    }

    /// Every distinct signature PNG (`png_sha256`, bytes): files the server must hold too.
    pub fn signature_pngs(&self) -> Vec<(String, Vec<u8>)> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT png_sha256, min(png) FROM signature GROUP BY png_sha256 ORDER BY png_sha256")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("signatures")
    }

    /// Every photo record.
    pub fn photos(&self) -> Vec<DevicePhoto> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT id, derived_sha256, derived_bytes FROM photo ORDER BY chain_seq")
            .expect("prepare");
        stmt.query_map([], |r| {
            Ok(DevicePhoto {
                id: r.get(0)?,
                derived_sha256: r.get(1)?,
                derived_bytes: r.get::<_, i64>(2)? as u64,
            })
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("photos")
    }

    /// The derived photos attached to each inspection.
    pub fn inspection_photos(&self) -> BTreeMap<String, BTreeSet<String>> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT inspection_id, sha256 FROM inspection_photo")
            .expect("prepare");
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .expect("query")
        {
            let (i, sha) = row.expect("row");
            out.entry(i).or_default().insert(sha);
        }
        out
    }

    /// The derived photo file of `sha256`.
    pub fn photo_file(&self, sha256: &str) -> PathBuf {
        self.dir.join("photos").join(format!("{sha256}.jpg"))
    }

    /// A standalone photo of an enterprise (`photo add`): one `photo` record.
    pub fn add_photo(&self, file: &Path, uscc: &str, inspector: &str) {
        self.ok(&[
            "photo",
            "add",
            path_str(file),
            "--enterprise",
            uscc,
            "--inspector",
            inspector,
        ]);
    }

    /// A finalized dust verification of `uscc` with one photo; its id.
    pub fn dust_verification(&self, uscc: &str, photo: &Path) -> String {
        let id = self.start(uscc, "dust-verification", "王专家", None);
        for (item, v) in dust_answers() {
            self.ok(&["inspect", "answer", &id, item, v]);
        }
        self.ok(&["inspect", "photo", &id, "DV-22", path_str(photo)]);
        self.sign(&id);
        self.ok(&["inspect", "finalize", &id]);
        id
    }

    /// A finalized expert major-hazard inspection of `uscc` (after a dust verification)
    /// finding MH-D-03, a major hazard, with two photos; its id.
    pub fn major_hazard_inspection(&self, uscc: &str, photos: [&Path; 2]) -> String {
        self.major_hazard_inspection_with(uscc, photos, None)
    }

    /// As [`Self::major_hazard_inspection`]; with `duties` (the 安全专员's name) the
    /// expert also answers the duty questions, everything in order, with evidence.
    pub fn major_hazard_inspection_with(
        &self,
        uscc: &str,
        photos: [&Path; 2],
        duties: Option<&str>,
    ) -> String {
        let id = self.start(uscc, "expert-major-hazard", "李专家", Some("expert"));
        let items = self.json(&["inspect", "items", &id]);
        for i in items.as_array().expect("items") {
            // The optional duty questions (DT-*) are left open, as an expert may.
            if i["answer_type"] != "yes_no_na" || i["required"] != true {
                continue;
            }
            let item = i["id"].as_str().expect("item id");
            let v = match item {
                "MH-D-03" => "是",
                x if x.starts_with("R6") => "yes",
                _ => "no",
            };
            self.ok(&["inspect", "answer", &id, item, v]);
        }
        self.ok(&["inspect", "photo", &id, "MH-D-03", path_str(photos[0])]);
        self.ok(&["inspect", "photo", &id, "MH-PHOTO", path_str(photos[1])]);
        if let Some(officer) = duties {
            // The notice's duties asked on the expert's visit (version 2's DT-*), each
            // "yes" with its evidence photo: the appointment, the filing page, the
            // certificate; the principal passed the test.
            for (item, v) in [
                ("DT-01", "yes"),
                ("DT-02", officer),
                ("DT-03", "13800002222"),
                ("DT-04", "filed"),
                ("DT-05", "yes"),
                ("DT-05T", "yes"),
            ] {
                self.ok(&["inspect", "answer", &id, item, v]);
            }
            for (item, file) in [
                ("DT-01", "orientation__portrait_1.jpg"),
                ("DT-04", "orientation__portrait_3.jpg"),
                ("DT-05", "orientation__portrait_6.jpg"),
            ] {
                let p = crate::fixtures::corpus_photo(file);
                self.ok(&["inspect", "photo", &id, item, path_str(&p)]);
            }
        }
        self.sign(&id);
        self.ok(&["inspect", "finalize", &id]);
        id
    }

    /// A finalized grid survey of `uscc` (an aluminium polisher, 20 workers a shift)
    /// recording what the grid worker found of the 安全专员 (`officer`: present or not),
    /// the risk report (`filed`, `helped_on_site` or `not_filed`) and the principal's
    /// training (`trained`), with the gate photo; its id.
    pub fn grid_survey(
        &self,
        inspector: &str,
        uscc: &str,
        photo: &Path,
        officer: bool,
        report: &str,
        trained: bool,
    ) -> String {
        // `inspector` must be the enrolled grid worker: a hazard event names its actor,
        // who must push it.
        let id = self.start(uscc, "grid-survey", inspector, None);
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut answers = vec![
            ("SV-01", "yes"),
            ("SV-02", "al"),
            ("SV-03", "20"),
            ("SV-04", "polishing"),
            ("SV-05", yes_no(officer)),
            ("SV-08", report),
            ("SV-09", yes_no(trained)),
            ("SV-10", "no"),
            ("SV-11", "no"),
        ];
        if officer {
            answers.extend([("SV-06", "孙安全"), ("SV-07", "13900001111")]);
        }
        for (item, v) in answers {
            self.ok(&["inspect", "answer", &id, item, v]);
        }
        self.ok(&["inspect", "photo", &id, "SV-13", path_str(photo)]);
        // The evidence of what was found: appointment, filing page, certificate.
        let evidence = [
            ("SV-05", officer, "orientation__portrait_1.jpg"),
            (
                "SV-08",
                report != "not_filed",
                "orientation__portrait_3.jpg",
            ),
            ("SV-09", trained, "orientation__portrait_6.jpg"),
        ];
        for (item, needed, file) in evidence {
            if needed {
                let p = crate::fixtures::corpus_photo(file);
                self.ok(&["inspect", "photo", &id, item, path_str(&p)]);
            }
        }
        if trained {
            self.ok(&["inspect", "answer", &id, "SV-09T", "yes"]);
        }
        self.ok(&["inspect", "finalize", &id]);
        id
    }

    /// The enterprise's signature (`tests/fixtures/signature.png`): the dust
    /// verification and the expert checklist cannot be finalized without one.
    pub fn sign(&self, id: &str) {
        let png = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/signature.png");
        self.ok(&["inspect", "sign", id, png, "--signer", "张经理"]);
    }

    /// `inspect start`: a new draft inspection's id.
    pub fn start(&self, uscc: &str, template: &str, inspector: &str, role: Option<&str>) -> String {
        let mut args = vec![
            "inspect",
            "start",
            "--enterprise",
            uscc,
            "--template",
            template,
            "--inspector",
            inspector,
        ];
        if let Some(r) = role {
            args.extend(["--role", r]);
        }
        self.ok(&args).trim().to_string()
    }

    /// The hazards (`hazards list --json`).
    pub fn hazards(&self) -> Vec<Value> {
        match self.json(&["hazards", "list"]) {
            Value::Array(a) => a,
            other => panic!("hazards list: {other}"),
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
