//! Helpers shared by the device integration tests.
#![allow(dead_code)]

use gridwalk_device::Store;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The shared test data folder (`$GRIDWALK_TESTDATA` or `../shared/testdata` beside the repo).
pub fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

/// A store in a fresh temp dir with Jintan's divisions loaded.
pub fn jintan_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("device.db")).expect("open");
    let report = store
        .import_divisions(&testdata().join("divisions/jintan.csv"))
        .expect("divisions");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    (dir, store)
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

pub const HEADER: &str =
    "name,uscc,village_code,address,lat,lon,industry,dust_types,workers_per_shift,landlord_uscc";
/// A real village of Jintan: 河滨居委会 of 西城街道.
pub const VILLAGE: &str = "320413001001";

/// A valid USCC registered in Jintan, made from a 7-character serial.
pub fn uscc(serial: &str) -> String {
    gridwalk_core::Uscc::with_check_char(&format!("91320413MA{serial}"))
        .expect("valid serial")
        .to_string()
}

/// The single integer a `SELECT count(*) …` returns.
pub fn count(store: &Store, sql: &str) -> i64 {
    store
        .connection()
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

/// A pulled page of `(kind, key, body)` changes ending at cursor `next`.
pub fn page(
    changes: Vec<(gridwalk_protocol::ChangeKind, &str, serde_json::Value)>,
    next: &str,
) -> gridwalk_protocol::PullPage {
    gridwalk_protocol::PullPage {
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, (kind, key, body))| gridwalk_protocol::Change {
                cursor: (i + 1).to_string(),
                kind,
                key: key.into(),
                body,
            })
            .collect(),
        next_cursor: next.into(),
        has_more: false,
    }
}

/// A real signature-like PNG: 300×120 grey, a dark stroke across it.
pub fn signature_png() -> Vec<u8> {
    let (w, h) = (300u32, 120u32);
    let mut px = vec![255u8; (w * h) as usize];
    for x in 20..280u32 {
        let y = 60 + ((x as f64 / 20.0).sin() * 30.0) as u32;
        for dy in 0..3 {
            px[((y + dy) * w + x) as usize] = 20;
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("png header");
        writer.write_image_data(&px).expect("png data");
    }
    out
}

/// Signs a draft inspection as the enterprise's representative (张经理).
pub fn sign(store: &Store, inspection: &str) {
    let png = signature_png();
    store
        .attach_signature(
            inspection,
            &gridwalk_device::signature::SignatureInput {
                png: &png,
                signer: "张经理",
                device_time: chrono::DateTime::parse_from_rfc3339("2026-03-02T10:15:00+08:00")
                    .expect("time"),
                stamp: None,
            },
        )
        .expect("signature");
}

/// Answers every applicable item of a pre-lease check (`na`, numbers 1, texts 同意出租,
/// the first choice, the required photos), failing the first yes/no item when
/// `fail_first`; returns the failed item's id.
pub fn answer_pre_lease(store: &Store, inspection: &str, fail_first: bool) -> Option<String> {
    let items = store.inspection_items(inspection).expect("items");
    let mut failed = None;
    for item in &items {
        let v = match item.answer_type {
            "yes_no_na" if fail_first && failed.is_none() => {
                failed = Some(item.id.clone());
                "no"
            }
            "yes_no_na" => "na",
            "number" => "1",
            "text" => "同意出租",
            "choice" => item.choices[0].value.as_str(),
            _ => continue,
        };
        store.answer(inspection, &item.id, v, None).expect(&item.id);
    }
    for item in items
        .iter()
        .filter(|i| i.answer_type == "photo" && i.required)
    {
        store
            .attach_photo(
                inspection,
                &item.id,
                &testdata().join("photos").join("gps__DSCN0010.jpg"),
            )
            .expect("photo");
    }
    failed
}

/// The plain database of the previous release (0.1, schema 13): 40 enterprises and a
/// lease, a photo in the evidence chain, a draft inspection.
pub fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plain-0.1-schema13.db")
}

/// The shipped templates the fixture's release held: a newer release adds its new
/// templates (or versions) on open, which is not a change to what was there.
fn fixture_templates() -> String {
    let conn = rusqlite::Connection::open(fixture()).expect("fixture");
    let ids: Vec<String> = conn
        .prepare("SELECT quote(id || '@' || version) FROM checklist_template")
        .expect("templates")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    ids.join(", ")
}

/// Every table's rows, hashed in rowid order: the content of the database (of the
/// templates, those the fixture's release held). Empty tables are left out: a migration
/// newer than the fixture adds them on the upgrade, and a table that lost its rows
/// still differs (present on one side only).
pub fn content(conn: &rusqlite::Connection) -> BTreeMap<String, (usize, String)> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut out = BTreeMap::new();
    for t in tables {
        let filter = if t == "checklist_template" {
            format!(" WHERE id || '@' || version IN ({})", fixture_templates())
        } else {
            String::new()
        };
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\"{filter}"))
            .expect("select");
        let n = stmt.column_count();
        let mut h = Sha256::new();
        let mut rows = 0;
        let mut q = stmt.query([]).expect("query");
        while let Some(row) = q.next().expect("row") {
            rows += 1;
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i).expect("value");
                h.update(format!("{v:?}\u{1f}").as_bytes());
            }
            h.update(b"\x1e");
        }
        if rows > 0 {
            out.insert(t, (rows, format!("{:x}", h.finalize())));
        }
    }
    out
}
