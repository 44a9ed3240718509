//! What the benches share: a realistic finalized inspection, its envelope, gzip and a
//! number formatter (the test data comes from `tests/common`).

#![allow(dead_code)]

pub mod served;

use chrono::{DateTime, TimeZone, Utc};
use gridwalk_checklist::{
    applicable_items, builtin_template, evaluate, to_canonical_json, Answer, AnswerType,
    AnswerValue, Answers, EnterpriseFacts, FailWhen, FinalizedInspection, YesNoNa,
};
use gridwalk_core::DustFlag;
use gridwalk_protocol::{RecordEnvelope, RecordKind};
use std::io::Write;
use uuid::Uuid;

/// The facts of a woodworking shop with sanding, a dry collector shared by two
/// buildings, positive-pressure conveying and 12 workers a shift: with them exactly 20
/// items of the spot-check template apply.
fn woodwork_facts() -> EnterpriseFacts {
    let mut f = EnterpriseFacts::with_flags([
        DustFlag::AllDust,
        DustFlag::Wood,
        DustFlag::WoodworkSanding,
        DustFlag::DryCollector,
        DustFlag::MechIgnitionProcess,
        DustFlag::MultiBuilding,
        DustFlag::PosPressure,
    ]);
    f.workers_per_shift = Some(12);
    f
}

fn at(variant: u64, minute: u64) -> DateTime<Utc> {
    let start = Utc
        .with_ymd_and_hms(2025, 5, 6, 1, 0, 0)
        .single()
        .unwrap_or_default();
    start + chrono::Duration::minutes((variant % 5000 * 7 + minute) as i64)
}

const TEXTS: [&str; 4] = [
    "砂光车间除尘器已按要求清灰，现场未见积尘；已向企业负责人交代整改要求。",
    "除尘系统运行记录齐全，粉尘清扫台账按班次填写，作业人员已接受专项培训。",
    "车间内电气线路穿管敷设，照明灯具为防爆型，现场无明火作业。",
    "企业已制定粉尘防爆安全管理制度，现场抽问两名作业人员均能说明清扫要求。",
];

/// A finalized spot-check inspection (template `supervision-spot-check`) with 20
/// answers, two major findings with notes, and the three photos `photos` (hex
/// SHA-256): two evidence the findings, one answers the photo item. `variant` varies
/// which items fail, the texts, numbers and times, so a batch is not one record
/// repeated.
pub fn inspection_payload(
    inspection_id: Uuid,
    enterprise_uscc: &str,
    photos: &[String; 3],
    variant: u64,
) -> FinalizedInspection {
    inspection_payload_answering(inspection_id, enterprise_uscc, photos, variant, &[])
}

/// The shipped spot-check template, parsed once (building thousands of payloads
/// parsed it for each).
fn spot_check_template() -> &'static gridwalk_checklist::Template {
    static TEMPLATE: std::sync::OnceLock<gridwalk_checklist::Template> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        builtin_template("supervision-spot-check").expect("spot-check template is shipped")
    })
}

/// [`inspection_payload`] with some yes/no items answered as given (`SC-05` no: the
/// risk report is not filed), evaluated again.
pub fn inspection_payload_answering(
    inspection_id: Uuid,
    enterprise_uscc: &str,
    photos: &[String; 3],
    variant: u64,
    overrides: &[(&str, YesNoNa)],
) -> FinalizedInspection {
    let t = spot_check_template();
    let facts = woodwork_facts();
    let applicable = applicable_items(t, &facts);
    let needs_photo: Vec<&str> = applicable
        .iter()
        .filter(|i| i.photo_required_on_fail)
        .map(|i| i.id.as_str())
        .collect();
    let n = needs_photo.len() as u64;
    let first = (variant % n) as usize;
    let second = ((variant + 1 + (variant / n) % (n - 1)) % n) as usize;
    let failed = [needs_photo[first], needs_photo[second]];
    let text = |k: u64| TEXTS[((variant + k) % TEXTS.len() as u64) as usize];
    let mut answers = Answers::new();
    for (k, item) in applicable.iter().enumerate() {
        let value = match &item.answer_type {
            AnswerType::YesNoNa => {
                let fail = failed.contains(&item.id.as_str());
                let yes = match item.fail_when {
                    Some(FailWhen::Yes) => fail,
                    Some(FailWhen::No) => !fail,
                    _ => true,
                };
                AnswerValue::YesNoNa(if yes { YesNoNa::Yes } else { YesNoNa::No })
            }
            AnswerType::Number { .. } => AnswerValue::Number((8 + variant % 30) as f64),
            AnswerType::Choice { choices, .. } => {
                let c = &choices[(variant as usize + k) % choices.len()];
                AnswerValue::Choice(vec![c.value.clone()])
            }
            AnswerType::Text => AnswerValue::Text(text(k as u64).into()),
            AnswerType::Photo => AnswerValue::Photos(vec![photos[2].clone()]),
        };
        let mut answer = Answer::new(value);
        if let Some(i) = failed.iter().position(|id| *id == item.id) {
            answer = answer
                .with_note(format!(
                    "现场检查发现该项不符合要求（第{}处），已拍照留证，责令企业立即整改并限期复查。",
                    i + 1
                ))
                .with_photo(photos[i].clone());
        }
        answers.insert(item.id.clone(), answer);
    }
    for (item, v) in overrides {
        answers.insert((*item).to_string(), Answer::new(AnswerValue::YesNoNa(*v)));
    }
    assert_eq!(answers.len(), 20, "the bench inspection has 20 answers");
    let eval = evaluate(t, &facts, &answers).expect("a complete inspection");
    FinalizedInspection {
        inspection_id,
        template_id: t.id.clone(),
        template_version: t.version,
        enterprise_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        enterprise_uscc: enterprise_uscc.to_string(),
        inspector: "grid-east".into(),
        role: t.role,
        started_at: at(variant, 0),
        finalized_at: at(variant, 35),
        answers,
        score: eval.score,
        findings: eval.findings,
        supersedes: None,
    }
}

/// The record a device pushes for its inspection number `seq` (payload = canonical
/// JSON; `seq` is also the payload's variant).
pub fn inspection_envelope(
    seq: u64,
    enterprise_uscc: &str,
    photos: &[String; 3],
) -> RecordEnvelope {
    let id = Uuid::now_v7();
    let payload = inspection_payload(id, enterprise_uscc, photos, seq);
    let text = String::from_utf8(to_canonical_json(&payload).expect("canonical JSON"))
        .expect("canonical JSON is UTF-8");
    let mut e = RecordEnvelope::new(id, RecordKind::Inspection, seq, text);
    e.enterprise_uscc = Some(enterprise_uscc.to_string());
    e.photos = photos.to_vec();
    e.device_time = Some(at(seq, 35));
    e
}

/// The evidence record of photo `sha` at position `seq`, as a phone pushes one before the
/// inspection naming the photo: its photo record (who, when, the on-site check; no GPS
/// stamp, which a bench has no camera for), naming the photo.
pub fn evidence_envelope(seq: u64, enterprise_uscc: &str, sha: &str) -> RecordEnvelope {
    let id = Uuid::now_v7();
    let taken = at(seq, 30);
    let payload = serde_json::json!({
        "type": "photo", "id": id, "device_id": "bench", "enterprise_id": null,
        "inspector": "赵专家", "device_time": taken.to_rfc3339(),
        "original_sha256": sha, "derived_sha256": sha, "thumbnail_sha256": sha,
        "width": 1600, "height": 1200, "stamp": null, "stamp_flags": [],
        "onsite": {"distance_m": 35.0, "off_site": false}, "onsite_radius_m": 500.0,
    });
    let text = String::from_utf8(to_canonical_json(&payload).expect("canonical JSON"))
        .expect("canonical JSON is UTF-8");
    let mut e = RecordEnvelope::new(id, RecordKind::Evidence, seq, text);
    e.enterprise_uscc = Some(enterprise_uscc.to_string());
    e.photos = vec![sha.to_string()];
    e.device_time = Some(taken);
    e
}

/// Three distinct photo hashes derived from `n` (for records whose photos never come).
pub fn fake_photos(n: u64) -> [String; 3] {
    [0u8, 1, 2].map(|k| gridwalk_protocol::sha256_hex(format!("photo {n} {k}").as_bytes()))
}

/// Gzip at the default level, as the device sends push bodies.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip to memory");
    enc.finish().expect("gzip to memory")
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
