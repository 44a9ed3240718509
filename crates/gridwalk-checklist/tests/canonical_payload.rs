//! Canonical JSON: the same value always hashes the same.

use chrono::{TimeZone, Utc};
use gridwalk_checklist::canonical::sha256_hex;
use gridwalk_checklist::{
    builtin_template, canonical_json, evaluate, parse_answer, payload_sha256, Answer, Answers,
    EnterpriseFacts, FinalizedInspection, Role,
};
use serde_json::json;
use uuid::Uuid;

#[test]
fn key_order_and_whitespace_do_not_change_the_bytes() {
    let a: serde_json::Value =
        serde_json::from_str(r#"{ "b": 1, "a": { "y": [1, 2], "x": "铝粉" } }"#).expect("json");
    let b: serde_json::Value =
        serde_json::from_str(r#"{"a":{"x":"铝粉","y":[1,2]},"b":1}"#).expect("json");
    assert_eq!(canonical_json(&a), canonical_json(&b));
    assert_eq!(
        String::from_utf8(canonical_json(&a)).expect("utf8"),
        r#"{"a":{"x":"铝粉","y":[1,2]},"b":1}"#
    );
}

#[test]
fn whole_floats_are_written_as_integers_and_others_shortest() {
    let v = json!({"n": 12.0, "m": -0.0, "f": 0.1, "big": 1e300, "i": -7});
    assert_eq!(
        String::from_utf8(canonical_json(&v)).expect("utf8"),
        r#"{"big":1e+300,"f":0.1,"i":-7,"m":0,"n":12}"#
    );
}

#[test]
fn strings_are_escaped_deterministically() {
    let v = json!({"s": "a\"b\\c\n\u{1}"});
    assert_eq!(
        String::from_utf8(canonical_json(&v)).expect("utf8"),
        r#"{"s":"a\"b\\c\n\u0001"}"#
    );
}

#[test]
fn keys_sort_by_utf8_bytes() {
    let v = json!({"b": 1, "B": 2, "é": 3, "a": 4, "铝": 5});
    assert_eq!(
        String::from_utf8(canonical_json(&v)).expect("utf8"),
        r#"{"B":2,"a":4,"b":1,"é":3,"铝":5}"#
    );
}

fn inspection() -> FinalizedInspection {
    let t = builtin_template("grid-survey").expect("shipped");
    let facts = EnterpriseFacts::default();
    let raw = [
        ("SV-01", "是"),
        ("SV-03", "8"),
        ("SV-05", "是"),
        ("SV-08", "filed"),
        ("SV-10", "否"),
        ("SV-11", "否"),
        (
            "SV-13",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ),
    ];
    let answers: Answers = raw
        .iter()
        .map(|(id, r)| {
            let item = t.item(id).expect("item");
            let mut a = Answer::new(parse_answer(item, r).expect("valid"));
            if a.value.needs_evidence_photo(item) {
                a = a.with_photo(format!("{:064x}", id.len()));
            }
            (id.to_string(), a)
        })
        .collect();
    let eval = evaluate(&t, &facts, &answers).expect("complete");
    FinalizedInspection {
        inspection_id: Uuid::from_u128(1),
        template_id: t.id.clone(),
        template_version: t.version,
        enterprise_id: Uuid::from_u128(2),
        enterprise_uscc: "91320214745555318W".into(),
        inspector: "grid-worker-7".into(),
        role: Role::GridWorker,
        started_at: Utc
            .with_ymd_and_hms(2024, 3, 1, 1, 0, 0)
            .single()
            .expect("valid"),
        finalized_at: Utc
            .with_ymd_and_hms(2024, 3, 1, 1, 20, 0)
            .single()
            .expect("valid"),
        answers,
        score: eval.score,
        findings: eval.findings,
        supersedes: None,
    }
}

#[test]
fn a_finalized_inspection_hashes_the_same_after_a_json_round_trip() {
    let p = inspection();
    let bytes = p.canonical_bytes().expect("canonical");
    let hash = p.sha256().expect("hash");
    assert_eq!(hash, sha256_hex(&bytes));
    assert_eq!(hash.len(), 64);
    let pretty = serde_json::to_string_pretty(&p).expect("pretty");
    let back: FinalizedInspection = serde_json::from_str(&pretty).expect("parse");
    assert_eq!(payload_sha256(&back).expect("hash"), hash);
    let text = String::from_utf8(bytes).expect("utf8");
    assert!(
        text.contains(r#""SV-03":{"value":{"type":"number","value":8}}"#),
        "{text}"
    );
    assert!(text.contains(r#""supersedes":null"#));
}

#[test]
fn changing_any_answer_changes_the_hash() {
    let p = inspection();
    let mut q = p.clone();
    if let Some(a) = q.answers.get_mut("SV-03") {
        a.note = Some("含临时工".into());
    }
    assert_ne!(p.sha256().expect("hash"), q.sha256().expect("hash"));
}
