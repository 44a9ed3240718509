//! The plans SQLite picks, on a database without statistics (every database starts so,
//! and the server never runs `ANALYZE`), for the photo lookups that run per pushed
//! inspection, per photo upload and per map, and for an enterprise's inspections read
//! again per review that changes an inspection's standing. Without a fixed join order
//! SQLite began from the low-selectivity `record_kind` index and read every evidence
//! record (or inspection) held: these lookups must start from the index they are
//! written for, and never scan `record` or `record_photo`.

use crate::db::{migrations, sqlite_sql, Dialect};

/// The migrated schema, empty, in memory.
fn schema() -> rusqlite::Connection {
    let c = rusqlite::Connection::open_in_memory().expect("sqlite");
    for (_, sql) in migrations(Dialect::Sqlite) {
        c.execute_batch(sql).expect("migration");
    }
    c
}

/// The plan's lines (`SEARCH rp USING INDEX …`) for `sql` with every parameter NULL.
fn plan(c: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let sql = sqlite_sql(sql);
    let mut stmt = c
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("prepare");
    let n = stmt.parameter_count();
    let nulls = vec![rusqlite::types::Null; n];
    stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
        .expect("plan")
        .collect::<Result<_, _>>()
        .expect("plan rows")
}

/// Asserts that the plan's first search is `first` and no line reads a whole table of
/// records or goes through `record_kind`.
fn assert_plan(sql: &str, first: &str) {
    let lines = plan(&schema(), sql);
    let searches: Vec<&String> = lines.iter().filter(|l| l.starts_with("SEARCH")).collect();
    assert!(
        searches.first().is_some_and(|l| l.contains(first)),
        "expected to start with {first}: {lines:#?}"
    );
    for l in &lines {
        assert!(
            !l.contains("record_kind") && !l.starts_with("SCAN record") && !l.contains("AUTOMATIC"),
            "{l} in {lines:#?}"
        );
    }
}

#[test]
fn a_pushed_inspections_on_site_lookup_starts_from_the_evidence_hash_index() {
    let sql = format!("{} IN ($2, $3, $4)", crate::projections::ON_SITE_LOOKUP);
    assert_plan(&sql, "rp USING INDEX record_photo_evidence_sha");
}

#[test]
fn a_photos_evidence_record_is_found_from_the_evidence_hash_index() {
    assert_plan(
        &crate::evidence_view::photo_evidence_sql(),
        "rp USING INDEX record_photo_evidence_sha",
    );
    assert_plan(
        crate::store::uploads::PHOTO_EVIDENCE_OF_DEVICE,
        "rp USING INDEX record_photo_evidence_sha",
    );
}

#[test]
fn a_photo_without_evidence_is_looked_for_among_the_devices_own_records() {
    let lines = plan(&schema(), crate::store::uploads::PHOTO_OF_DEVICE_RECORDS);
    let searches: Vec<&String> = lines.iter().filter(|l| l.starts_with("SEARCH")).collect();
    assert!(
        searches[0].contains("r USING INDEX sqlite_autoindex_record_2 (device_id=?)"),
        "{lines:#?}"
    );
    assert!(
        searches
            .iter()
            .any(|l| l.contains("h USING") && l.contains("record_holder")),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("SCAN")), "{lines:#?}");
}

#[test]
fn the_maps_latest_inspections_reach_their_evidence_by_record_id_then_hash() {
    let lines = plan(&schema(), crate::map_view::LATEST_INSPECTION_STAMPS);
    let searches: Vec<&String> = lines.iter().filter(|l| l.starts_with("SEARCH")).collect();
    let order: Vec<&str> = searches
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(order, ["rp", "ep", "e"], "{lines:#?}");
    assert!(
        searches[1].contains("record_photo_evidence_sha"),
        "{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("record_kind") || l.contains("AUTOMATIC")),
        "{lines:#?}"
    );
}

#[test]
fn an_enterprises_inspections_are_read_through_the_projections_index() {
    assert_plan(
        crate::facts::INSPECTIONS_OF_ENTERPRISE,
        "i USING INDEX inspection_enterprise (enterprise_uscc=?)",
    );
}
