//! The printable inspection record (检查记录) over HTTP and from the CLI, against SQLite
//! and PostgreSQL: a phone's inspection with real photos and a signature, printed for
//! the town's officer and read back (title, enterprise, a finding, the record hash, the
//! signer); another town's officer gets 404; the public verification answers for the
//! real hash only, and says nothing about the enterprise.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use common::*;
use gridwalk_protocol::{sha256_hex, RecordEnvelope, RecordKind};
use serde_json::{json, Value};
use uuid::Uuid;

both_databases!(
    an_officer_prints_the_record_with_its_photos_findings_signature_and_hash,
    the_record_is_404_outside_the_jurisdiction,
    the_public_verification_answers_for_held_hashes_only,
    the_cli_writes_the_same_record,
);

struct Printed {
    inspection: Uuid,
    hash: String,
}

/// The expert's spot check of 东村木业 with three photos and the manager's signature,
/// pushed and uploaded as the phone does.
async fn inspected(h: &Harness) -> Printed {
    let expert = h.enroll("expert-jincheng").await;
    let photos: Vec<Vec<u8>> = (0..3).map(distinct_jpeg).collect();
    let hashes: [String; 3] = [0, 1, 2].map(|k| sha256_hex(&photos[k]));
    let id = Uuid::now_v7();
    let mut p = support::inspection_payload(id, &uscc_here(), &hashes, 1);
    p.inspector = "赵专家".into();
    p.finalized_at = chrono::Utc::now();
    p.started_at = p.finalized_at - chrono::Duration::minutes(30);
    let text =
        String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("json")).expect("utf-8");
    let mut e = RecordEnvelope::new(id, RecordKind::Inspection, 2, text);
    e.enterprise_uscc = Some(uscc_here());
    e.photos = hashes.to_vec();
    let hash = e.payload_sha256.clone();

    let (_, png) = test_photo("exiftool-t__PNG.png");
    let sig_id = Uuid::now_v7();
    let sig = json!({"type": "signature", "id": sig_id, "device_id": expert.device_id,
        "inspection_id": id, "enterprise_id": p.enterprise_id, "inspector": "赵专家",
        "signer": "王建国", "device_time": "2026-03-02T10:30:00+08:00",
        "png_sha256": sha256_hex(&png), "png_bytes": png.len(), "stamp": null, "stamp_flags": []});
    let sig_text = String::from_utf8(gridwalk_checklist::canonical_json(&sig)).expect("utf-8");
    let mut s = RecordEnvelope::new(sig_id, RecordKind::Evidence, 1, sig_text);
    s.enterprise_uscc = Some(uscc_here());
    s.photos = vec![sha256_hex(&png)];

    let (status, v) = h.push(&expert.token, &[s, e]).await;
    assert_eq!(status, 200, "{v}");
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["status"], "accepted", "{v}");
    }
    for b in photos.iter().take(2).chain(std::iter::once(&png)) {
        tus_upload(h, &expert.token, b, true).await;
    }
    Printed {
        inspection: id,
        hash,
    }
}

fn pdf_text(pdf: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(pdf)
        .expect("extract")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

async fn get_pdf(h: &Harness, token: &str, id: Uuid) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = h
        .http
        .get(h.url(&format!("/v1/inspections/{id}/record.pdf")))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("body").to_vec())
}

async fn an_officer_prints_the_record_with_its_photos_findings_signature_and_hash(h: &Harness) {
    let ins = inspected(h).await;
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    let (status, head, pdf) = get_pdf(h, &officer, ins.inspection).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(head["content-type"], "application/pdf");
    let cd = head["content-disposition"].to_str().expect("ascii");
    assert!(cd.starts_with("attachment; filename=\"inspection-"), "{cd}");
    // 检查记录-金坛东村木业有限公司-YYYYMMDD.pdf, percent-encoded UTF-8.
    assert!(
        cd.contains("filename*=UTF-8''%E6%A3%80%E6%9F%A5%E8%AE%B0%E5%BD%95-%E9%87%91%E5%9D%9B%E4%B8%9C%E6%9D%91"),
        "{cd}"
    );
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for want in [
        "粉尘涉爆企业检查记录",
        "金坛东村木业有限公司",
        "现场检查发现该项不符合要求（第1处）",
        "重大事故隐患",
        "赵专家",
        "签字人：王建国",
        "服务器已核验哈希",
        "服务器尚未收到照片",
        ins.hash.as_str(),
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    // The QR code's URL names this server's verification of the hash.
    assert!(
        text.contains(&format!("/v1/verify/{}", ins.hash)),
        "verify URL in {text}"
    );
    // Two photos and the signature are embedded: the photos pass through as JPEG.
    let first = distinct_jpeg(0);
    assert!(pdf.windows(64).any(|w| w == &first[first.len() - 64..]));
    eprintln!("record with 2 of 3 photos: {} bytes", pdf.len());
}

async fn the_record_is_404_outside_the_jurisdiction(h: &Harness) {
    let ins = inspected(h).await;
    let other = officer_session(h, "officer-rulin", OTHER_TOWN).await;
    let (status, _, body) = get_pdf(h, &other, ins.inspection).await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    // A phone's token is no officer's: 404 too; an unknown id and no token likewise.
    let phone = h.enroll("grid-east").await;
    assert_eq!(get_pdf(h, &phone.token, ins.inspection).await.0, 404);
    let officer = officer_session(h, "officer-jincheng", TOWN).await;
    assert_eq!(get_pdf(h, &officer, Uuid::now_v7()).await.0, 404);
    let r = h
        .http
        .get(h.url(&format!("/v1/inspections/{}/record.pdf", ins.inspection)))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
}

async fn the_public_verification_answers_for_held_hashes_only(h: &Harness) {
    let ins = inspected(h).await;
    let r = h
        .http
        .get(h.url(&format!("/v1/verify/{}", ins.hash)))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["held"], true, "{v}");
    assert_eq!(v["payload_sha256"], ins.hash.as_str());
    assert!(
        v["received_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("20")),
        "{v}"
    );
    // Nothing else: no enterprise, inspector or id.
    assert_eq!(v.as_object().map(|o| o.len()), Some(3), "{v}");
    // Upper case is the same hash; a browser gets a page.
    let r = h
        .http
        .get(h.url(&format!("/v1/verify/{}", ins.hash.to_ascii_uppercase())))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("text");
    assert!(
        page.contains("记录已核验") && !page.contains("木业"),
        "{page}"
    );
    // A browser is told on a page (200) that an unknown hash is not held.
    let r = h
        .http
        .get(h.url(&format!("/v1/verify/{}", sha256_hex(b"forged"))))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("text").contains("未找到记录"));
    // An unknown hash and a non-hash are 404 problems.
    for bad in [sha256_hex(b"forged"), "not-a-hash".to_string()] {
        let r = h
            .http
            .get(h.url(&format!("/v1/verify/{bad}")))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 404, "{bad}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
}

async fn the_cli_writes_the_same_record(h: &Harness) {
    let ins = inspected(h).await;
    let out = h.dir.path().join("record.pdf");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"));
    cmd.arg("--data")
        .arg(&h.data.0)
        .args(["export", "record", "--inspection"])
        .arg(ins.inspection.to_string())
        .args([
            "--format",
            "pdf",
            "--public-url",
            "https://gw.example.cn",
            "--out",
        ])
        .arg(&out);
    if let Some(url) = &h.database_url {
        cmd.arg("--database-url").arg(url);
    }
    let run = cmd.output().expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = pdf_text(&std::fs::read(&out).expect("pdf"));
    assert!(text.contains("金坛东村木业有限公司"), "{text}");
    assert!(text.contains(&format!("https://gw.example.cn/v1/verify/{}", ins.hash)));
    // As another town's officer: refused like over HTTP.
    let store = h.store.clone();
    tokio::task::spawn_blocking(move || {
        store
            .create_user(
                "officer-rulin",
                gridwalk_protocol::Role::Officer,
                &gridwalk_core::DivisionCode::parse(OTHER_TOWN).expect("code"),
            )
            .expect("user")
    })
    .await
    .expect("join");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gridwalk-server"));
    cmd.arg("--data")
        .arg(&h.data.0)
        .args(["export", "record", "--as", "officer-rulin", "--inspection"])
        .arg(ins.inspection.to_string())
        .args(["--public-url", "https://gw.example.cn", "--out"])
        .arg(h.dir.path().join("other.pdf"));
    if let Some(url) = &h.database_url {
        cmd.arg("--database-url").arg(url);
    }
    let run = cmd.output().expect("run");
    assert!(!run.status.success());
    assert!(!h.dir.path().join("other.pdf").exists());
}

/// Records held before migration 0024: an accepted inspection, an evidence record and a
/// refused inspection, each with a hash of its own.
const RECORDS_BEFORE_0024: &str = "
    INSERT INTO record (id, device_id, seq, kind, payload_sha256, state, received_at)
    VALUES ('i1', '00000000-0000-7000-8000-000000000001', 1, 'inspection',
            '1111111111111111111111111111111111111111111111111111111111111111', 'accepted', '2026-01-02T00:00:00Z'),
           ('e1', '00000000-0000-7000-8000-000000000001', 2, 'evidence',
            '2222222222222222222222222222222222222222222222222222222222222222', 'accepted', '2026-01-02T00:00:00Z'),
           ('i2', '00000000-0000-7000-8000-000000000001', 3, 'inspection',
            '3333333333333333333333333333333333333333333333333333333333333333', 'rejected', '2026-01-02T00:00:00Z');";

/// Migration 0024 keeps in the payload-hash index the accepted inspections alone, which
/// are all that verification answers for, on both databases.
#[test]
fn migration_0024_verifies_the_accepted_inspections_held_before_it() {
    let rows = format!("{A_DEVICE_BEFORE} {RECORDS_BEFORE_0024}");
    upgrade_both(24, &rows, |store, _| {
        let held = |digit: char| {
            store
                .verify_payload(&digit.to_string().repeat(64))
                .expect("verify")
                .map(|a| a.received_at)
        };
        assert_eq!(held('1').as_deref(), Some("2026-01-02T00:00:00Z"));
        assert_eq!(
            held('2'),
            None,
            "an evidence record is not a printed record"
        );
        assert_eq!(held('3'), None, "a refused inspection is not held");
    });
}
