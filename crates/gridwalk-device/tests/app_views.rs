//! The app's read models (`app_views`), photos from bytes (`photo_upload`) and
//! signatures (`signature`) against a real database and real photos.

mod common;

use chrono::DateTime;
use common::{jintan_store, testdata, uscc, write, VILLAGE};
use gridwalk_core::DustCategory;
use gridwalk_device::app_views::{Actor, EnterpriseFilters};
use gridwalk_device::inspection::checklist::{DeadlinePolicy, FailWhen, HazardStatus};
use gridwalk_device::photo_upload::Capture;
use gridwalk_device::signature::{SignatureError, SignatureInput};
use gridwalk_device::Store;

const AL: &str = "0000001";
const WOOD: &str = "0000002";
const RULIN: &str = "0000003";

fn setup() -> (tempfile::TempDir, Store) {
    let (dir, store) = jintan_store();
    let csv = write(
        dir.path(),
        "e.csv",
        &format!(
            "name,uscc,village_code,dust_types,workers_per_shift\n\
             金坛铝业抛光有限公司,{},{VILLAGE},铝粉,20\n\
             长荡湖木业有限公司,{},{VILLAGE},木粉,6\n\
             儒林纺织有限公司,{},320413104206,棉花,8\n",
            uscc(AL),
            uscc(WOOD),
            uscc(RULIN),
        ),
    );
    let r = store.import_enterprises(&csv).expect("import");
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    (dir, store)
}

fn capture() -> Capture {
    Capture {
        device_time: DateTime::parse_from_rfc3339("2026-03-02T10:15:00+08:00").expect("time"),
        stamp: None,
    }
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("photos").join(name)).expect("photo")
}

const EXPERT: Actor<'static> = Actor {
    name: "王专家",
    role: "expert",
};

fn verify_dust(store: &Store) {
    let dv = store
        .start_inspection_as(&EXPERT, &uscc(AL), "dust-verification", None)
        .expect("start")
        .inspection_id
        .to_string();
    for (item, v) in [
        ("DV-01", "nonferrous"),
        ("DV-02", "polishing"),
        ("DV-03", "no"),
        ("DV-04", "no"),
        ("DV-05", "al"),
        ("DV-06", "1"),
        ("DV-07", "yes"),
        ("DV-08", "no"),
        ("DV-09", "negative"),
        ("DV-10", "none"),
        ("DV-11", "no"),
        ("DV-12", "no"),
        ("DV-13", "no"),
        ("DV-15", "zone22"),
        ("DV-17", "1"),
        ("DV-18", "steel_light"),
        ("DV-20", "20"),
        ("DV-21", "确认为铝粉"),
    ] {
        store.answer_item(&dv, item, v, None).expect(item);
    }
    let p = store
        .attach_photo_bytes(&dv, "DV-22", &photo("gps__DSCN0010.jpg"), &capture())
        .expect("photo");
    assert_eq!(p.item_id.as_deref(), Some("DV-22"));
    common::sign(store, &dv);
    store
        .finalize_inspection(&dv, &DeadlinePolicy::default())
        .expect("finalize");
}

/// A finalized major-hazard inspection with MH-D-03 failing and signed.
fn major_hazard(store: &Store) -> String {
    verify_dust(store);
    let mh = store
        .start_inspection_as(&EXPERT, &uscc(AL), "expert-major-hazard", None)
        .expect("start")
        .inspection_id
        .to_string();
    for item in store.inspection_items(&mh).expect("items") {
        // The optional duty questions (DT-*) are left open, as an expert may.
        if item.answer_type == "yes_no_na" && item.required {
            let fails = item.fail_when == Some(FailWhen::Yes);
            let v = match (item.id == "MH-D-03", fails) {
                (true, true) | (false, false) => "yes",
                _ => "no",
            };
            let view = store.answer_item(&mh, &item.id, v, None).expect(&item.id);
            assert!(view.answer.is_some());
        }
    }
    let p = store
        .attach_photo_bytes(&mh, "MH-D-03", &photo("gps__DSCN0021.jpg"), &capture())
        .expect("photo");
    store
        .attach_photo_bytes(&mh, "MH-PHOTO", &photo("gps__DSCN0029.jpg"), &capture())
        .expect("photo item");
    let mh03 = store
        .inspection_items(&mh)
        .expect("items")
        .into_iter()
        .find(|i| i.id == "MH-D-03")
        .expect("MH-D-03");
    assert_eq!(mh03.photos, vec![p.sha256.clone()]);
    assert_eq!(mh03.fail_when, Some(FailWhen::Yes));
    let thumb = store.photo_thumbnail(&p.sha256).expect("thumb");
    assert_eq!(thumb.thumbnail_jpeg_base64, p.thumbnail_jpeg_base64);
    let sig = store
        .attach_signature(
            &mh,
            &SignatureInput {
                png: &tiny_png(),
                signer: " 张经理 ",
                device_time: capture().device_time,
                stamp: None,
            },
        )
        .expect("signature");
    assert_eq!(sig.payload.signer, "张经理");
    store
        .finalize_inspection(&mh, &DeadlinePolicy::default())
        .expect("finalize");
    mh
}

/// A signature PNG that decodes (a bare header is refused since signatures are decoded).
fn tiny_png() -> Vec<u8> {
    common::signature_png()
}

#[test]
fn the_jurisdiction_list_and_grid_summary_follow_inspections_and_hazards() {
    let (_dir, store) = setup();
    let name = store.jurisdiction("320413001").expect("j").expect("found");
    assert_eq!(name.1, "西城街道");
    let all = store
        .enterprise_list("", &EnterpriseFilters::default(), 50, Some("320413001"))
        .expect("list");
    assert_eq!(all.len(), 2, "only 西城街道");
    assert!(all.iter().all(|h| h.hit.matched == "all"));
    assert_eq!(
        store
            .enterprise_list("", &EnterpriseFilters::default(), 50, None)
            .expect("all")
            .len(),
        3
    );
    let s = store.grid_summary("320413001").expect("summary");
    assert_eq!((s.enterprises, s.visited, s.not_visited), (2, 0, 2));

    let mh = major_hazard(&store);
    let s = store.grid_summary("320413001").expect("summary");
    assert_eq!((s.visited, s.not_visited, s.open_hazards), (1, 1, 1));
    assert_eq!(s.jurisdiction_name.as_deref(), Some("西城街道"));

    let metal = EnterpriseFilters {
        dust_category: Some(DustCategory::Metal),
        ..Default::default()
    };
    let hits = store
        .enterprise_list("", &metal, 50, Some("320413001"))
        .expect("metal");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].hit.name, "金坛铝业抛光有限公司");
    assert!(hits[0].visited);
    assert_eq!(hits[0].open_hazards, 1);
    let not_visited = EnterpriseFilters {
        not_visited: Some(true),
        ..Default::default()
    };
    let hits = store
        .enterprise_list("木业", &not_visited, 5, None)
        .expect("search");
    assert_eq!(hits[0].hit.name, "长荡湖木业有限公司");
    assert_eq!(hits[0].hit.matched, "name");
    let open = EnterpriseFilters {
        open_hazards: Some(true),
        leased: Some(false),
        ..Default::default()
    };
    assert_eq!(
        store
            .enterprise_list("", &open, 50, None)
            .expect("open")
            .len(),
        1
    );

    let list = store.inspection_list(None, &uscc(AL)).expect("inspections");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id.to_string(), mh, "newest first");
    assert_eq!((list[0].major_findings, list[0].general_findings), (1, 0));

    let hazards = store
        .hazards_in(Some("320413104"), None, false)
        .expect("rulin");
    assert!(hazards.is_empty(), "儒林镇 has none");
    let hazards = store
        .hazards_in(Some("320413001"), None, true)
        .expect("xicheng");
    assert_eq!(hazards.len(), 1);
    assert_eq!(
        hazards[0].legal_basis.as_deref(),
        Some("10号令 第十一条(三)")
    );
    assert_eq!(store.signatures(&mh).expect("sigs").len(), 1);
    assert!(store.verify_signatures().expect("verify").is_empty());
    assert!(store
        .verify_evidence()
        .expect("evidence")
        .chain_problems
        .is_empty());
}

#[test]
fn signatures_are_refused_when_malformed_or_after_finalize() {
    let (_dir, store) = setup();
    let mh = major_hazard(&store);
    let input = |png: &'static [u8], signer: &'static str| SignatureInput {
        png,
        signer,
        device_time: capture().device_time,
        stamp: None,
    };
    let png = Box::leak(tiny_png().into_boxed_slice());
    let code = |e: SignatureError| e.code();
    assert_eq!(
        code(
            store
                .attach_signature(&mh, &input(png, "张"))
                .expect_err("finalized")
        ),
        "inspect.already_finalized"
    );
    let draft = store
        .start_inspection_as(&EXPERT, &uscc(WOOD), "dust-verification", None)
        .expect("start")
        .inspection_id
        .to_string();
    assert_eq!(
        code(
            store
                .attach_signature(&draft, &input(b"GIF89a", "张"))
                .expect_err("gif")
        ),
        "evidence.bad_photo"
    );
    assert_eq!(
        code(
            store
                .attach_signature(&draft, &input(png, "  "))
                .expect_err("empty")
        ),
        "app.bad_argument"
    );
    assert_eq!(
        code(
            store
                .attach_signature("nope", &input(png, "张"))
                .expect_err("unknown")
        ),
        "inspect.not_found"
    );
    assert!(store.signatures(&draft).expect("none").is_empty());
}

#[test]
fn reinspection_cites_stored_photos_and_unknown_ones_are_refused() {
    let (_dir, store) = setup();
    major_hazard(&store);
    let h = store.hazards(None).expect("hazards").remove(0);
    let after = store
        .add_photo_bytes(&photo("gps__DSCN0029.jpg"), None, "王专家", &capture())
        .expect("add");
    assert_eq!(after.item_id, None);
    let err = store
        .reinspect_hazard_with_photos(
            &h.id.to_string(),
            "王专家",
            true,
            &[],
            &["0".repeat(64)],
            None,
        )
        .expect_err("unknown photo");
    assert_eq!(err.code(), "store.not_found");
    let err = store
        .reinspect_hazard_with_photos(
            &h.id.to_string(),
            "王专家",
            true,
            &[],
            &[after.sha256],
            None,
        )
        .expect_err("found → reinspected is illegal");
    assert_eq!(err.code(), "hazard.illegal_transition");
    let err = store
        .add_photo_bytes(b"not an image", None, "王专家", &capture())
        .expect_err("bad");
    assert_eq!(err.code(), "evidence.bad_photo");
    assert_eq!(
        store.photo_thumbnail("ab").expect_err("none").code(),
        "store.not_found"
    );
}

#[test]
fn signature_pngs_must_decode_within_limits_and_an_inspection_holds_at_most_four() {
    use gridwalk_protocol::limits::{MAX_NAME_CHARS, MAX_SIGNATURE_BYTES};
    let (_dir, store) = setup();
    let draft = store
        .start_inspection_as(&EXPERT, &uscc(WOOD), "dust-verification", None)
        .expect("start")
        .inspection_id
        .to_string();
    let attach = |png: &[u8], signer: &str| {
        store
            .attach_signature(
                &draft,
                &SignatureInput {
                    png,
                    signer,
                    device_time: capture().device_time,
                    stamp: None,
                },
            )
            .map_err(|e| e.code())
    };
    // 30 MiB of zeros behind a PNG signature, once stored as a signature.
    let mut zeros = b"\x89PNG\r\n\x1a\n".to_vec();
    zeros.resize(30 * 1024 * 1024, 0);
    assert_eq!(
        attach(&zeros, "张").expect_err("30 MiB"),
        "signature.too_large"
    );
    let mut big = common::signature_png();
    big.resize(MAX_SIGNATURE_BYTES + 1, 0);
    assert_eq!(
        attach(&big, "张").expect_err("over 512 KiB"),
        "signature.too_large"
    );
    // A header that declares 2001 px wide is refused before decoding.
    let wide = {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, 2001, 1);
        enc.set_color(png::ColorType::Grayscale);
        let mut w = enc.write_header().expect("header");
        w.write_image_data(&[255u8; 2001]).expect("data");
        drop(w);
        out
    };
    assert_eq!(
        attach(&wide, "张").expect_err("wide"),
        "signature.too_large"
    );
    // A header only, or damaged pixel data: does not decode.
    let good = common::signature_png();
    assert_eq!(
        attach(&good[..60], "张").expect_err("header only"),
        "signature.bad_image"
    );
    let mut damaged = good.clone();
    let n = damaged.len();
    for b in &mut damaged[n / 2..n / 2 + 40] {
        *b ^= 0x5a;
    }
    assert_eq!(
        attach(&damaged, "张").expect_err("damaged"),
        "signature.bad_image"
    );
    // The signer's name is bounded.
    assert_eq!(
        attach(&good, &"张".repeat(MAX_NAME_CHARS + 1)).expect_err("long name"),
        "inspect.text_too_long"
    );
    assert!(store.signatures(&draft).expect("none").is_empty());
    // Four signatures, then no more.
    for n in 0..4 {
        attach(&good, &format!("签字人{n}")).expect("signature");
    }
    assert_eq!(
        attach(&good, "第五人").expect_err("fifth"),
        "signature.too_many"
    );
    assert_eq!(store.signatures(&draft).expect("four").len(), 4);
}

#[test]
fn a_passed_reinspection_needs_an_after_photo_a_failed_one_does_not() {
    let (_dir, store) = setup();
    major_hazard(&store);
    let h = store
        .hazards(None)
        .expect("hazards")
        .remove(0)
        .id
        .to_string();
    for kind in [
        gridwalk_device::inspection::checklist::HazardEventKind::Assigned {
            to: "企业".into()
        },
        gridwalk_device::inspection::checklist::HazardEventKind::RectificationStarted,
    ] {
        store.hazard_transition(&h, "王专家", kind).expect("step");
    }
    let err = store
        .reinspect_hazard_with_photos(&h, "王专家", true, &[], &[], None)
        .expect_err("no after-photo");
    assert_eq!(err.code(), "hazard.after_photo_required");
    let d = store
        .reinspect_hazard_with_photos(&h, "王专家", false, &[], &[], Some("未整改"))
        .expect("failed without photos");
    assert_eq!(d.detail.status, HazardStatus::Rectifying);
    let after = store
        .add_photo_bytes(&photo("gps__DSCN0029.jpg"), None, "王专家", &capture())
        .expect("add");
    let d = store
        .reinspect_hazard_with_photos(&h, "王专家", true, &[], &[after.sha256], None)
        .expect("passed with a photo");
    assert_eq!(d.detail.status, HazardStatus::Reinspected);
}
