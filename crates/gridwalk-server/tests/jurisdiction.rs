//! Jurisdiction as a property (issue 15): every operation of the OpenAPI document is
//! called as the officer and as a phone of another town, against a town that holds an
//! enterprise, a hazard, an inspection with photos, an assignment, a sample, a tip and an
//! upload in progress. Nothing of the first town comes back, no action of the other town
//! takes effect, and the first town's own users do get what they ask for (so the check
//! is not empty). The operations come from the document: a new route fails this test
//! until it says how to call it.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;
mod town;

use common::*;
use gridwalk_protocol::sha256_hex;
use gridwalk_protocol::tus::encode_metadata;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use town::{in_days, town, Town};

both_databases!(no_operation_gives_another_town_anything_of_this_one);

/// Operations whose answer holds nothing of any town, for any caller (checked: the
/// first town's users get no marker from them either).
const NO_AREA_DATA: &[(&str, &str)] = &[
    ("GET", "/v1/campaigns"),
    ("GET", "/v1/templates"),
    ("GET", "/v1/session"),
    ("GET", "/v1/sync/limits"),
    // The chain check: counts and hashes only.
    ("GET", "/v1/audit/verify"),
    ("POST", "/v1/sync/reconcile"),
    ("POST", "/v1/sync/push"),
    ("POST", "/v1/logout"),
    // Counts by route template and outcome, for the scraper's token only.
    ("GET", "/metrics"),
];

/// Operations the other town may call with success: they act on the caller's own
/// sequence or session only (an empty push, an empty reconciliation, signing out).
const OWN_ONLY: &[(&str, &str)] = &[
    ("POST", "/v1/sync/push"),
    ("POST", "/v1/sync/reconcile"),
    ("POST", "/v1/logout"),
];

/// The document's operations: (METHOD, path) → operation object.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in OPENAPI_METHODS {
            if let Some(op) = item.get(*m) {
                ops.insert((m.to_uppercase(), path.clone()), op.clone());
            }
        }
    }
    ops
}

/// `path` with its parameters naming the first town's objects. Panics for a parameter
/// this test does not know: a new route must say which object it names.
fn concrete(path: &str, t: &Town) -> String {
    let value = |resource: &str, param: &str| -> String {
        match (resource, param) {
            ("hazards", "id") => t.hazard.to_string(),
            ("inspections", "id") | ("records", "id") => t.inspection.to_string(),
            ("assignments", "id") => t.assignment.clone(),
            ("samples", "id") => t.sample.clone(),
            ("tips", "id") => t.tip.clone(),
            ("photos", "id") => t.upload.clone(),
            (_, "sha256") => t.photo.clone(),
            _ => panic!(
                "{path}: parameter {{{param}}} of /{resource}/ names no object this test \
                 knows; teach tests/jurisdiction.rs which of the town's objects it takes"
            ),
        }
    };
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => {
                // The resource a parameter belongs to: the nearest plain segment before
                // it (`/hazards/{id}/photos/{sha256}`: the hash is a photo of the hazard).
                let resource = segments[..i]
                    .iter()
                    .rev()
                    .find(|s| !s.starts_with('{'))
                    .copied()
                    .unwrap_or_default();
                out.push(value(resource, param));
            }
            None => out.push(s.to_string()),
        }
    }
    out.join("/")
}

/// The query an operation gets: the first town's division wherever it takes one.
fn query(op: &Value) -> Vec<(String, String)> {
    let mut q = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "query" {
            continue;
        }
        let name = p["name"].as_str().unwrap_or_default();
        let value = match name {
            "division" => TOWN,
            // Required ones: a value that selects the town's enterprises.
            "duty" if p["required"] == true => "census",
            "status" if p["required"] == true => "applicable",
            other if p["required"] == true => {
                panic!("required query parameter {other}: teach tests/jurisdiction.rs a value")
            }
            _ => continue,
        };
        q.push((name.to_string(), value.to_string()));
    }
    q
}

/// The body the other town sends: what would act on the first town's objects. Panics
/// for an operation this test does not know.
fn body(method: &str, path: &str, t: &Town) -> Option<Value> {
    if matches!(method, "GET" | "HEAD" | "OPTIONS" | "DELETE" | "PATCH") {
        return None;
    }
    Some(match path {
        "/v1/sync/push" => json!({"records": []}),
        "/v1/sync/reconcile" => json!({"ranges": []}),
        "/v1/logout" => json!({}),
        "/v1/hazards/{id}/events" => {
            json!({"kind": "deadline_extended", "new_deadline": "2100-01-01", "reason": "越权"})
        }
        "/v1/inspections/{id}/review" => json!({"state": "approved"}),
        "/v1/assignments" => json!({"assignee": "expert-rulin",
            "template_id": "supervision-spot-check", "due": in_days(9),
            "targets": {"enterprises": [uscc_here()]}}),
        "/v1/assignments/{id}/reassign" => json!({"assignee": "expert-rulin"}),
        "/v1/assignments/{id}/cancel" => json!({"reason": "越权"}),
        "/v1/samples" => json!({"division": TOWN, "seed": 3}),
        "/v1/tips" => json!({"source": "other", "content": "越权", "enterprise_uscc": uscc_here(),
            "received_on": in_days(0), "deadline": in_days(3), "assignee": "expert-rulin"}),
        "/v1/tips/{id}/decision" => json!({"decision": "granted", "amount_yuan": 1}),
        "/v1/tips/{id}/enterprise" => {
            json!({"enterprise_uscc": uscc_here(), "assignee": "expert-rulin"})
        }
        "/v1/tips/{id}/suspected" => json!({"village": VILLAGE}),
        "/v1/photos" => return None,
        other => panic!(
            "{method} {other}: no body known; teach tests/jurisdiction.rs what the other \
             town would send to act on this town's objects ({})",
            t.tip
        ),
    })
}

/// One call; its status and the answer as text (xlsx cells read out).
async fn call(
    h: &Harness,
    token: &str,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
    t: &Town,
) -> (u16, String) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = h
        .http
        .request(m, h.url(path))
        .bearer_auth(token)
        .query(query);
    if path.starts_with("/v1/photos") {
        req = req.header("Tus-Resumable", "1.0.0");
        if method == "POST" {
            req = req
                .header("Upload-Length", "4")
                .header("Upload-Metadata", encode_metadata(&[("sha256", &t.photo)]));
        }
        if method == "PATCH" {
            req = req
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", "0")
                .body(b"evil".to_vec());
        }
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = format!("{:?}", resp.headers());
    let bytes = resp.bytes().await.expect("body");
    let text = if bytes.starts_with(b"PK") && status == 200 {
        ledger_cells(h, &bytes)
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\t")
    } else if bytes.starts_with(b"%PDF") || bytes.starts_with(&[0xFF, 0xD8]) {
        // Evidence no marker can be read from: a PDF or a JPEG, said as such.
        format!("EVIDENCE FILE of {} bytes", bytes.len())
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (status, format!("{headers}\n{text}"))
}

/// The first town's view of its objects, to see that nothing changed.
async fn snapshot(h: &Harness, officer: &str, district: &str, t: &Town) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        format!("/v1/hazards/{}", t.hazard),
        format!("/v1/inspections/{}", t.inspection),
        "/v1/assignments".to_string(),
        "/v1/samples".to_string(),
    ] {
        let (status, v) = h.get(officer, &path).await;
        assert_eq!(status, 200, "{path}: {v}");
        out.push(v);
    }
    let (status, v) = h.get(district, &format!("/v1/tips/{}", t.tip)).await;
    assert_eq!(status, 200, "{v}");
    out.push(v);
    let r = h
        .http
        .head(h.url(&format!("/v1/photos/{}", t.upload)))
        .bearer_auth(district)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    out.push(json!({"upload_offset": r.headers().get("upload-offset").map(|v| v.to_str().unwrap_or_default().to_string())}));
    out
}

async fn no_operation_gives_another_town_anything_of_this_one(h: &Harness) {
    let expert = h.enroll("expert-jincheng").await;
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let district = officer_session(h, "officer", DISTRICT).await;
    let t = town(h, &expert.token, &officer, &district).await;
    let other_officer = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    let other_phone = h.enroll("expert-rulin").await;
    let others = [
        ("officer", other_officer.clone()),
        ("phone", other_phone.token.clone()),
    ];
    let own = [
        ("town officer", officer.clone()),
        ("district officer", district.clone()),
        ("phone", expert.token.clone()),
    ];

    let (status, doc) = h.get(&officer, "/openapi.json").await;
    assert_eq!(status, 200);
    let ops = operations(&doc);
    assert!(ops.len() >= 50, "{} operations", ops.len());
    let public: BTreeSet<(String, String)> = PUBLIC_OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let listed = |list: &[(&str, &str)], m: &str, p: &str| list.contains(&(m, p));
    let before = snapshot(h, &officer, &district, &t).await;

    // Reading first (the first town's users, then the other town's), acting last:
    // logout after everything else.
    let mut order: Vec<&(String, String)> = ops.keys().filter(|k| !public.contains(*k)).collect();
    order.sort_by_key(|(m, p)| {
        (
            p == "/v1/logout",
            !matches!(m.as_str(), "GET" | "HEAD"),
            m.clone(),
            p.clone(),
        )
    });
    let mut checked = 0;
    for key in order {
        let (method, template) = (key.0.as_str(), key.1.as_str());
        let op = &ops[key];
        let path = concrete(template, &t);
        let q = query(op);
        let reads = matches!(method, "GET" | "HEAD");
        if reads {
            // The first town's users get the town's data (so the check is not empty),
            // unless the operation holds none for anyone.
            let mut seen = Vec::new();
            let mut evidence = false;
            for (who, token) in &own {
                let (status, text) = call(h, token, method, &path, &q, None, &t).await;
                if (200..300).contains(&status) && t.markers.iter().any(|m| text.contains(m)) {
                    seen.push(*who);
                }
                evidence |= (200..300).contains(&status) && text.contains("EVIDENCE FILE");
            }
            // The inspection's photo and printed record reach its own town (the hazard
            // has no photo of its own).
            if template.starts_with("/v1/inspections/{id}/") && method == "GET" {
                assert!(
                    evidence,
                    "{method} {path}: the town's own users got no file"
                );
            }
            if listed(NO_AREA_DATA, method, template) {
                assert!(
                    seen.is_empty(),
                    "{method} {template} holds area data for {seen:?}"
                );
            } else if method == "GET" && !path.contains("/photos/") && !path.ends_with(".pdf") {
                assert!(
                    !seen.is_empty(),
                    "{method} {path}: none of the first town's users got its data; \
                     the check would be empty (add it to NO_AREA_DATA if it holds none)"
                );
            }
        }
        let b = body(method, template, &t);
        // What the request itself says may be echoed (a problem naming the id asked).
        // (The tus creation names the photo's hash in its metadata.)
        let request = format!(
            "{path} {q:?} {} {}",
            b.as_ref().map(Value::to_string).unwrap_or_default(),
            if (method, template) == ("POST", "/v1/photos") {
                t.photo.as_str()
            } else {
                ""
            }
        );
        for (who, token) in &others {
            let (status, text) = call(h, token, method, &path, &q, b.as_ref(), &t).await;
            assert!(status < 500, "{who}: {method} {path}: {status} {text}");
            let leaked: Vec<&String> = t
                .markers
                .iter()
                .filter(|m| text.contains(m.as_str()) && !request.contains(m.as_str()))
                .collect();
            assert!(
                leaked.is_empty(),
                "{who}: {method} {path} gives another town {leaked:?}: {text}"
            );
            assert!(
                !((200..300).contains(&status) && text.contains("EVIDENCE FILE")),
                "{who}: {method} {path} hands another town the town's evidence file"
            );
            if !reads && !listed(OWN_ONLY, method, template) {
                assert!(
                    (400..500).contains(&status),
                    "{who}: {method} {path} acted for another town: {status} {text}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 2 * 40, "{checked} calls");

    // Nothing the other town sent changed anything of the first town.
    let after = snapshot(h, &officer, &district, &t).await;
    assert_eq!(before, after);
    let (_, own_photo) = {
        let r = h
            .http
            .get(h.url(&format!(
                "/v1/inspections/{}/photos/{}",
                t.inspection, t.photo
            )))
            .bearer_auth(&officer)
            .send()
            .await
            .expect("photo");
        (r.status().as_u16(), r.bytes().await.expect("bytes"))
    };
    assert_eq!(
        sha256_hex(&own_photo),
        t.photo,
        "the town's photo is intact and its own"
    );
}
