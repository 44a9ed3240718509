//! Datums, on-site distance, GPS stamps and the hash chain.

mod common;

use chrono::{DateTime, FixedOffset, TimeDelta, TimeZone, Utc};
use gridwalk_evidence::chain::{
    link_hash, verify_chain, ChainLink, ChainProblem, GENESIS_PREV_HASH,
};
use gridwalk_evidence::datum::*;
use gridwalk_evidence::onsite::{distance_m, onsite_check};
use gridwalk_evidence::photo::{ExifFacts, ExifGps};
use gridwalk_evidence::stamp::*;

// ---------- datum ----------

/// Tolerance in degrees from the vectors.csv tolerance text.
fn tolerance_deg(text: &str) -> f64 {
    if text.contains("exact equality") {
        return 0.0;
    }
    let digits = if let Some(i) = text.find("toBeCloseTo(x,") {
        text[i + 14..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
    } else if let Some(i) = text.find(" decimals") {
        text[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
    } else {
        panic!("unknown tolerance {text:?}")
    };
    let n: i32 = digits.parse().expect("tolerance digits");
    0.5 * 10f64.powi(-n)
}

#[test]
fn every_published_gcj02_vector_is_reproduced_within_its_tolerance() {
    let csv = String::from_utf8(common::read_testdata("gcj02/vectors.csv")).expect("utf8");
    let mut lines = csv.lines();
    let header = common::split_csv(lines.next().expect("header"));
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let mut checked = 0;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f = common::split_csv(line);
        let num = |name: &str| f[col(name)].parse::<f64>().expect("number");
        let (w, g) = (
            (num("wgs84_lat"), num("wgs84_lon")),
            (num("gcj02_lat"), num("gcj02_lon")),
        );
        let tol = tolerance_deg(&f[col("tolerance")]);
        let (got, want) = match f[col("direction")].as_str() {
            "wgs84_to_gcj02" => (wgs84_to_gcj02(w.0, w.1), g),
            "gcj02_to_wgs84" => (gcj02_to_wgs84(g.0, g.1), w),
            other => panic!("unknown direction {other}"),
        };
        let id = &f[col("id")];
        assert!(
            (got.0 - want.0).abs() <= tol,
            "{id}: lat {} vs {} (tol {tol})",
            got.0,
            want.0
        );
        assert!(
            (got.1 - want.1).abs() <= tol,
            "{id}: lon {} vs {} (tol {tol})",
            got.1,
            want.1
        );
        checked += 1;
    }
    assert_eq!(checked, 6, "vectors.csv should have 6 rows");
}

#[test]
fn the_forward_formula_matches_the_wandergis_readme_and_the_changzhou_regression_value() {
    let (lat, lon) = wgs84_to_gcj02(39.915, 116.404);
    assert!((lat - 39.91640428150164).abs() < 1e-9 && (lon - 116.41024449916938).abs() < 1e-9);
    let (lat, lon) = wgs84_to_gcj02(31.8106, 119.9741);
    assert!((lat - 31.808559349581916).abs() < 1e-9 && (lon - 119.97885022240634).abs() < 1e-9);
}

#[test]
fn gcj02_round_trips_to_wgs84_within_a_centimetre_everywhere_in_china() {
    let mut worst: f64 = 0.0;
    let mut n = 0;
    let mut lat = 18.0;
    while lat < 53.5 {
        let mut lon = 74.0;
        while lon < 135.0 {
            let (glat, glon) = wgs84_to_gcj02(lat, lon);
            let back = gcj02_to_wgs84(glat, glon);
            worst = worst.max(distance_m((lat, lon), back));
            n += 1;
            lon += 0.37;
        }
        lat += 0.29;
    }
    assert!(n > 10_000);
    assert!(worst < 0.01, "worst round-trip error {worst} m");
}

#[test]
fn bd09_round_trips_through_gcj02_and_wgs84() {
    for &(lat, lon) in &[(31.74, 119.56), (39.9, 116.4), (22.5, 113.9), (45.0, 123.0)] {
        let back = bd09_to_gcj02(gcj02_to_bd09(lat, lon).0, gcj02_to_bd09(lat, lon).1);
        assert!(distance_m((lat, lon), back) < 0.01);
        let (blat, blon) = wgs84_to_bd09(lat, lon);
        assert!(distance_m((lat, lon), bd09_to_wgs84(blat, blon)) < 0.01);
    }
    // Known value (wandergis README): gcj02tobd09(116.404, 39.915) = [116.41036949371029, 39.92133699351021]
    let (lat, lon) = gcj02_to_bd09(39.915, 116.404);
    assert!((lat - 39.92133699351021).abs() < 1e-9 && (lon - 116.41036949371029).abs() < 1e-9);
}

#[test]
fn points_outside_china_and_absurd_input_are_left_alone() {
    assert!(out_of_china(43.467448, 11.885127)); // Tuscany
    assert!(!out_of_china(31.74, 119.56)); // Jintan
    assert_eq!(wgs84_to_gcj02(45.0, 183.0), (45.0, 183.0));
    assert_eq!(gcj02_to_wgs84(51.5, -0.12), (51.5, -0.12));
    let (a, b) = wgs84_to_gcj02(f64::NAN, 120.0);
    assert!(a.is_nan() && b == 120.0);
    assert!(out_of_china(f64::INFINITY, 120.0));
}

// ---------- onsite ----------

#[test]
fn one_degree_of_latitude_at_the_equator_is_karneys_110574_metres() {
    let d = distance_m((0.0, 0.0), (1.0, 0.0));
    assert!((d - 110_574.388_6).abs() < 0.01, "{d}");
}

#[test]
fn an_inspector_200_m_away_is_off_site_for_a_100_m_radius_but_on_site_for_300_m() {
    let reg = (31.74, 119.56);
    // ~0.0018 deg of latitude ≈ 200 m
    let c = onsite_check(31.7418, 119.56, reg, 100.0);
    assert!(c.off_site && (c.distance_m - 199.6).abs() < 2.0, "{c:?}");
    assert!(!onsite_check(31.7418, 119.56, reg, 300.0).off_site);
}

#[test]
fn absurd_coordinates_are_never_reported_on_site() {
    let c = onsite_check(f64::NAN, 119.56, (31.74, 119.56), 1e9);
    assert!(c.off_site && c.distance_m.is_nan());
    assert!(onsite_check(95.0, 119.56, (31.74, 119.56), 1e9).off_site);
}

// ---------- stamp ----------

fn t(h: u32, m: u32, s: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 3, 2, h, m, s)
        .unwrap()
}

fn good_stamp() -> GpsStamp {
    GpsStamp {
        lat: 31.74,
        lon: 119.56,
        accuracy_m: Some(8.0),
        altitude_m: Some(12.0),
        fix_time: Some(t(9, 31, 4).with_timezone(&Utc)),
        device_time: t(9, 31, 5),
        provider: "gps".into(),
        satellites: Some(14),
        mock_location: false,
        source: StampSource::Device,
    }
}

#[test]
fn a_fresh_accurate_device_fix_has_no_flags() {
    assert_eq!(assess(&good_stamp(), &GpsPolicy::default()), Ok(vec![]));
}

#[test]
fn doubtful_stamps_are_accepted_but_flagged() {
    let p = GpsPolicy::default();
    let mut s = good_stamp();
    s.accuracy_m = Some(120.0);
    assert_eq!(
        assess(&s, &p).unwrap(),
        vec![StampFlag::PoorAccuracy {
            accuracy_m: 120.0,
            max_m: 50.0
        }]
    );

    let mut s = good_stamp();
    s.accuracy_m = None;
    assert_eq!(assess(&s, &p).unwrap(), vec![StampFlag::MissingAccuracy]);

    let mut s = good_stamp();
    s.fix_time = Some(t(9, 28, 0).with_timezone(&Utc));
    assert_eq!(
        assess(&s, &p).unwrap(),
        vec![StampFlag::StaleFix { age_s: 185 }]
    );

    let mut s = good_stamp();
    s.fix_time = Some(t(9, 40, 5).with_timezone(&Utc));
    assert_eq!(
        assess(&s, &p).unwrap(),
        vec![StampFlag::ClockSkew { skew_s: 540 }]
    );

    let mut s = good_stamp();
    s.mock_location = true;
    assert_eq!(assess(&s, &p).unwrap(), vec![StampFlag::MockLocation]);

    let mut s = good_stamp();
    s.source = StampSource::Manual;
    s.fix_time = None;
    assert_eq!(
        assess(&s, &p).unwrap(),
        vec![StampFlag::MissingFixTime, StampFlag::Manual]
    );
}

#[test]
fn a_fix_slightly_ahead_of_the_device_clock_is_not_skew() {
    let mut s = good_stamp();
    s.fix_time = Some(t(9, 33, 0).with_timezone(&Utc));
    assert_eq!(assess(&s, &GpsPolicy::default()), Ok(vec![]));
    let strict = GpsPolicy {
        max_clock_skew: TimeDelta::seconds(30),
        ..GpsPolicy::default()
    };
    assert_eq!(
        assess(&s, &strict),
        Ok(vec![StampFlag::ClockSkew { skew_s: 115 }])
    );
}

#[test]
fn impossible_coordinates_or_accuracy_are_errors() {
    let p = GpsPolicy::default();
    for (lat, lon) in [
        (f64::NAN, 1.0),
        (91.0, 1.0),
        (-90.5, 1.0),
        (f64::INFINITY, 1.0),
    ] {
        let s = GpsStamp {
            lat,
            lon,
            ..good_stamp()
        };
        assert!(
            matches!(assess(&s, &p), Err(StampError::InvalidLatitude(_))),
            "{lat}"
        );
    }
    for lon in [f64::NAN, 180.1, -181.0, f64::NEG_INFINITY] {
        let s = GpsStamp {
            lon,
            ..good_stamp()
        };
        assert!(
            matches!(assess(&s, &p), Err(StampError::InvalidLongitude(_))),
            "{lon}"
        );
    }
    let s = GpsStamp {
        accuracy_m: Some(-1.0),
        ..good_stamp()
    };
    assert_eq!(assess(&s, &p), Err(StampError::InvalidAccuracy(-1.0)));
    let s = GpsStamp {
        altitude_m: Some(f64::NAN),
        ..good_stamp()
    };
    assert!(matches!(
        assess(&s, &p),
        Err(StampError::InvalidAltitude(_))
    ));
    // Text fields are bounded (gridwalk_protocol::limits::MAX_STAMP_TEXT_CHARS).
    let s = GpsStamp {
        provider: "定".repeat(65),
        ..good_stamp()
    };
    assert_eq!(
        assess(&s, &p),
        Err(StampError::TextTooLong {
            field: "provider",
            chars: 65,
            max: 64
        })
    );
    let s = GpsStamp {
        provider: "定".repeat(64),
        ..good_stamp()
    };
    assert!(assess(&s, &p).is_ok());
}

#[test]
fn exif_gps_becomes_a_flagged_fallback_stamp() {
    let facts = ExifFacts {
        gps: Some(ExifGps {
            lat: 31.74,
            lon: 119.56,
            altitude_m: Some(5.0),
            time: Some(Utc.with_ymd_and_hms(2026, 3, 2, 1, 31, 0).unwrap()),
            h_error_m: Some(10.0),
        }),
        ..ExifFacts::default()
    };
    let s = stamp_from_exif(&facts, t(9, 31, 5)).expect("stamp");
    assert_eq!(s.source, StampSource::ExifFallback);
    assert_eq!(s.accuracy_m, Some(10.0));
    assert_eq!(
        assess(&s, &GpsPolicy::default()).unwrap(),
        vec![StampFlag::ExifFallback]
    );
    assert!(stamp_from_exif(&ExifFacts::default(), t(9, 31, 5)).is_none());
}

#[test]
fn a_stamp_survives_a_json_round_trip() {
    let s = good_stamp();
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<GpsStamp>(&json).unwrap(), s);
}

// ---------- chain ----------

fn chain(n: usize) -> Vec<ChainLink> {
    let mut v: Vec<ChainLink> = Vec::new();
    for i in 0..n {
        let payload = gridwalk_evidence::sha256_hex(format!("record {i}").as_bytes());
        let kind = ["photo", "gps_stamp", "inspection"][i % 3];
        let next = ChainLink::next(v.last(), "device-A", kind, &payload);
        v.push(next);
    }
    v
}

#[test]
fn an_untouched_chain_verifies() {
    let c = chain(6);
    assert_eq!(c[0].prev_hash, GENESIS_PREV_HASH);
    assert_eq!(c[0].seq, 0);
    assert_eq!(c[5].seq, 5);
    let r = verify_chain(&c);
    assert!(r.ok && r.checked == 6 && r.problems.is_empty(), "{r:?}");
    assert!(verify_chain(&[]).ok);
}

#[test]
fn the_link_hash_encoding_is_unambiguous_and_stable() {
    // Moving a character between adjacent fields must change the hash.
    assert_ne!(
        link_hash("ab", 1, "c", "d", "e"),
        link_hash("a", 1, "bc", "d", "e")
    );
    assert_eq!(
        link_hash("dev", 0, "photo", "00", GENESIS_PREV_HASH).len(),
        64
    );
    // Pinned value: changing the encoding breaks every stored chain, so it must be deliberate.
    assert_eq!(
        link_hash("device-A", 0, "photo", "ab", GENESIS_PREV_HASH),
        link_hash("device-A", 0, "photo", "ab", &"0".repeat(64))
    );
}

#[test]
fn a_deleted_record_shows_up_as_a_seq_gap_and_a_broken_link() {
    let mut c = chain(5);
    c.remove(2);
    let r = verify_chain(&c);
    assert!(!r.ok);
    assert!(r.problems.contains(&ChainProblem::SeqGap {
        index: 2,
        expected: 2,
        found: 3
    }));
    assert!(r
        .problems
        .contains(&ChainProblem::BrokenLink { index: 2, seq: 3 }));
}

#[test]
fn an_altered_payload_hash_shows_up_as_an_altered_record() {
    let mut c = chain(4);
    c[1].payload_sha256 = gridwalk_evidence::sha256_hex(b"forged");
    let r = verify_chain(&c);
    assert_eq!(
        r.problems,
        vec![ChainProblem::AlteredRecord { index: 1, seq: 1 }]
    );
}

#[test]
fn a_rehashed_forgery_still_breaks_the_next_link() {
    let mut c = chain(4);
    c[1].kind = "inspection".into();
    c[1].hash = c[1].computed_hash();
    let r = verify_chain(&c);
    assert_eq!(
        r.problems,
        vec![ChainProblem::BrokenLink { index: 2, seq: 2 }]
    );
}

#[test]
fn a_link_from_another_device_is_reported() {
    let mut c = chain(3);
    let foreign = ChainLink::next(Some(&c[2]), "device-B", "photo", "aa");
    c.push(foreign);
    let r = verify_chain(&c);
    assert_eq!(
        r.problems,
        vec![ChainProblem::WrongDevice {
            index: 3,
            expected: "device-A".into(),
            found: "device-B".into()
        }]
    );
}

#[test]
fn a_chain_not_starting_at_genesis_is_reported() {
    let c = chain(3);
    let r = verify_chain(&c[1..]);
    assert!(r.problems.contains(&ChainProblem::SeqGap {
        index: 0,
        expected: 0,
        found: 1
    }));
    assert!(r
        .problems
        .contains(&ChainProblem::BrokenLink { index: 0, seq: 1 }));
}
