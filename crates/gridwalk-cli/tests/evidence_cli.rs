//! `gridwalk photo process` and `gridwalk geo …` against real files.

use std::path::PathBuf;
use std::process::{Command, Output};

fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

fn gridwalk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridwalk"))
        .args(args)
        .output()
        .expect("run gridwalk")
}

fn two_numbers(o: &Output) -> (f64, f64) {
    let s = String::from_utf8_lossy(&o.stdout);
    let v: Vec<f64> = s
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    assert_eq!(v.len(), 2, "{s}");
    (v[0], v[1])
}

#[test]
fn to_gcj02_matches_the_public_shanghai_vector_and_round_trips() {
    let o = gridwalk(&["geo", "to-gcj02", "31.1774276", "121.5272106"]);
    assert!(o.status.success());
    let (lat, lon) = two_numbers(&o);
    assert!((lat - 31.17530398364597).abs() < 1e-5 && (lon - 121.531541859215).abs() < 1e-5);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .split(' ')
            .next()
            .map(|s| s.split('.').nth(1).map(str::len)),
        Some(Some(7))
    );
    let back = gridwalk(&["geo", "to-wgs84", &format!("{lat}"), &format!("{lon}")]);
    let (wlat, wlon) = two_numbers(&back);
    assert!((wlat - 31.1774276).abs() < 1e-6 && (wlon - 121.5272106).abs() < 1e-6);
}

#[test]
fn distance_prints_metres_and_absurd_coordinates_are_refused() {
    let o = gridwalk(&["geo", "distance", "31.74", "119.56", "31.75", "119.56"]);
    let d: f64 = String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .expect("metres");
    assert!((d - 1109.0).abs() < 5.0, "{d}");
    let bad = gridwalk(&["geo", "to-gcj02", "95", "119.5"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("latitude"));
    let nan = gridwalk(&["geo", "distance", "NaN", "1", "2", "3"]);
    assert_eq!(nan.status.code(), Some(1));
}

#[test]
fn photo_process_writes_an_upright_watermarked_photo_and_thumbnail_named_by_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = testdata().join("photos/orientation__portrait_6.jpg");
    let o = gridwalk(&[
        "--json",
        "photo",
        "process",
        input.to_str().expect("utf8"),
        dir.path().to_str().expect("utf8"),
        "--lat",
        "31.74",
        "--lon",
        "119.56",
        "--accuracy",
        "8",
        "--time",
        "2026-03-02T09:31:05+08:00",
        "--enterprise",
        "金坛新城精密机械有限公司",
        "--inspector",
        "王网格",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    for key in [
        "original_sha256",
        "derived_sha256",
        "thumbnail_sha256",
        "width",
        "height",
        "bytes",
    ] {
        assert!(!v[key].is_null(), "missing {key}");
    }
    assert!(
        v["height"].as_u64() > v["width"].as_u64(),
        "portrait stays portrait: {v}"
    );
    let derived = dir.path().join(format!(
        "{}.jpg",
        v["derived_sha256"].as_str().expect("hash")
    ));
    let bytes = std::fs::read(&derived).expect("derived file");
    assert_eq!(bytes.len() as u64, v["bytes"].as_u64().expect("bytes"));
    let original = std::fs::read(&input).expect("input");
    assert_eq!(
        gridwalk_evidence::sha256_hex(&original),
        v["original_sha256"]
    );
    assert_eq!(gridwalk_evidence::sha256_hex(&bytes), v["derived_sha256"]);
}

#[test]
fn an_empty_or_non_image_file_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").expect("write");
    let out = dir.path().join("out");
    let o = gridwalk(&[
        "photo",
        "process",
        empty.to_str().expect("utf8"),
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, b"this is not a photo at all").expect("write");
    let o = gridwalk(&[
        "photo",
        "process",
        text.to_str().expect("utf8"),
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0) == 0);
}
