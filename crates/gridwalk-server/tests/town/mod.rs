//! A town with something behind every route, for the tests that call every operation
//! of the OpenAPI document (tests/jurisdiction.rs, tests/schemathesis.rs).

#![allow(dead_code)] // each test binary uses part of it

use crate::common::*;
use crate::support;
use gridwalk_protocol::{sha256_hex, RecordEnvelope, RecordKind};
use serde_json::json;
use uuid::Uuid;

pub const REPORTER_NAME: &str = "钱举报";
pub const REPORTER_PHONE: &str = "13951234567";
pub const TIP_CONTENT: &str = "群众来电反映该厂夜间违规打磨作业，除尘器长期不开";

/// What the first town holds.
pub struct Town {
    pub hazard: Uuid,
    pub inspection: Uuid,
    pub photo: String,
    pub assignment: String,
    pub sample: String,
    pub tip: String,
    pub upload: String,
    /// Strings that name the town's data: none may reach the other town.
    pub markers: Vec<String>,
}

/// The date `n` days from today in China, as the API takes dates.
pub fn in_days(n: i64) -> String {
    (gridwalk_checklist::hazard::china_date(chrono::Utc::now()) + chrono::Duration::days(n))
        .to_string()
}

/// The town of 东村: a major hazard and an inspection with two uploaded photos and one
/// still uploading, pushed by the town's expert; an assignment, a sample and a tip
/// recorded by its officers.
pub async fn town(h: &Harness, expert: &str, officer: &str, district: &str) -> Town {
    blocking(h, |s| {
        let c = gridwalk_core::campaign::Campaign::from_json(include_str!(
            "../../campaigns/changzhou-2024-dust-100day.json"
        ))
        .expect("shipped campaign");
        s.import_campaign(&c).expect("campaign");
    })
    .await;
    let hazard = Uuid::now_v7();
    let inspection = Uuid::now_v7();
    let photos: Vec<Vec<u8>> = (0..3).map(distinct_jpeg).collect();
    let hashes: [String; 3] = [0, 1, 2].map(|k| sha256_hex(&photos[k]));
    let mut p = support::inspection_payload(inspection, &uscc_here(), &hashes, 1);
    p.inspector = "expert-jincheng".into();
    p.finalized_at = chrono::Utc::now();
    p.started_at = p.finalized_at - chrono::Duration::minutes(30);
    let text =
        String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("json")).expect("utf-8");
    let mut e = RecordEnvelope::new(inspection, RecordKind::Inspection, 2, text);
    e.enterprise_uscc = Some(uscc_here());
    e.photos = hashes.to_vec();
    let (status, v) = h
        .push(
            expert,
            &[created_hazard(1, hazard, "expert-jincheng", "major"), e],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
    tus_upload(h, expert, &photos[0], true).await;
    tus_upload(h, expert, &photos[1], true).await;
    let pending = tus_upload(h, expert, &photos[2], false).await;
    let upload_id = pending.rsplit('/').next().expect("upload id").to_string();

    let (status, v) = post(
        h,
        Some(officer),
        "/v1/assignments",
        json!({"assignee": "expert-jincheng", "template_id": "supervision-spot-check",
            "due": in_days(9), "targets": {"enterprises": [uscc_here()]}}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let assignment = v["created"][0]["id"].as_str().expect("id").to_string();
    let (status, v) = post(
        h,
        Some(officer),
        "/v1/samples",
        json!({"division": TOWN, "seed": 3}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let sample = v["id"].as_str().expect("id").to_string();
    let (status, v) = post(
        h,
        Some(district),
        "/v1/tips",
        json!({"source": "hotline_12350", "content": TIP_CONTENT, "enterprise_uscc": uscc_here(),
            "received_on": in_days(0), "deadline": in_days(5), "assignee": "grid-east",
            "reporter_name": REPORTER_NAME, "reporter_contact": REPORTER_PHONE}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let tip = v["id"].as_str().expect("id").to_string();
    let markers = vec![
        uscc_here(),
        uscc_neighbour(),
        "金坛东村木业有限公司".into(),
        "金坛西村铝制品厂".into(),
        "金城镇".into(),
        "东村".into(),
        "西村".into(),
        VILLAGE.into(),
        NEIGHBOUR_VILLAGE.into(),
        "expert-jincheng".into(),
        TIP_CONTENT.into(),
        REPORTER_NAME.into(),
        REPORTER_PHONE.into(),
        hazard.to_string(),
        inspection.to_string(),
        hashes[0].clone(),
        assignment.clone(),
        sample.clone(),
        tip.clone(),
    ];
    Town {
        hazard,
        inspection,
        photo: hashes[0].clone(),
        assignment,
        sample,
        tip,
        upload: upload_id,
        markers,
    }
}
