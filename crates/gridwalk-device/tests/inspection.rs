//! The inspection lifecycle, revisions, bad input and hazards through the store, on a
//! real SQLite file.

mod common;

use common::{count, jintan_store, page, sign, testdata, uscc, write, VILLAGE};
use gridwalk_device::inspection::checklist::{
    DeadlinePolicy, HazardEventKind, HazardStatus, Severity, TransitionError,
};
use gridwalk_device::inspection::{InspectionError, InspectionStatus, StartInspection};
use gridwalk_device::Store;

const AL: &str = "0000001";
const WOOD: &str = "0000002";

fn setup() -> (tempfile::TempDir, Store) {
    let (dir, store) = jintan_store();
    let csv = write(
        dir.path(),
        "e.csv",
        &format!(
            "name,uscc,village_code,dust_types,workers_per_shift\n\
             金坛铝业抛光有限公司,{},{VILLAGE},铝粉,20\n\
             长荡湖木业有限公司,{},{VILLAGE},木粉,6\n",
            uscc(AL),
            uscc(WOOD)
        ),
    );
    let r = store.import_enterprises(&csv).expect("import");
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    (dir, store)
}

fn start(store: &Store, serial: &str, template: &str) -> String {
    store
        .start_inspection(&StartInspection {
            enterprise: uscc(serial),
            template_id: template.into(),
            template_version: None,
            inspector: "王专家".into(),
            role: None,
        })
        .expect("start")
        .to_string()
}

fn photo(name: &str) -> std::path::PathBuf {
    testdata().join("photos").join(name)
}

/// The dust verification of the aluminium polisher: Al dust, a dry collector.
fn verify_dust(store: &Store) -> String {
    let dv = start(store, AL, "dust-verification");
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
        ("DV-21", "确认为铝粉，设干式除尘器"),
    ] {
        store.answer(&dv, item, v, None).expect(item);
    }
    store
        .attach_photo(&dv, "DV-22", &photo("gps__DSCN0010.jpg"))
        .expect("photo");
    sign(store, &dv);
    store
        .finalize_inspection(&dv, &DeadlinePolicy::default())
        .expect("finalize dv");
    dv
}

/// Answers every applicable yes/no item of a major-hazard inspection as passing,
/// except `failing`.
fn answer_major(store: &Store, mh: &str, failing: &[&str]) {
    for item in store.inspection_items(mh).expect("items") {
        // The optional duty questions (DT-*) are left open, as an expert may.
        if item.answer_type != "yes_no_na" || !item.required {
            continue;
        }
        let pass = if item.id.starts_with("R6") {
            "yes"
        } else {
            "no"
        };
        let fail = if item.id.starts_with("R6") {
            "no"
        } else {
            "yes"
        };
        let v = if failing.contains(&item.id.as_str()) {
            fail
        } else {
            pass
        };
        store.answer(mh, &item.id, v, None).expect(&item.id);
    }
}

#[test]
fn shipped_templates_are_loaded_once_by_id_and_version() {
    let (_d, store) = setup();
    let list = store.templates().expect("list");
    assert_eq!(
        list.len(),
        9,
        "seven templates, the grid survey and the expert's checklist in versions 1 and 2"
    );
    assert!(list
        .iter()
        .any(|t| t.id == "expert-major-hazard" && t.version == 1 && t.items == 50));
    assert_eq!(store.ensure_builtin_templates().expect("again"), 0);
    let t = store.template("dust-verification", None).expect("show");
    assert_eq!(
        t.kind,
        gridwalk_device::inspection::checklist::TemplateKind::DustVerification
    );
    assert!(matches!(
        store.template("nope", None),
        Err(InspectionError::TemplateNotFound { .. })
    ));
}

#[test]
fn a_used_template_version_cannot_change_but_a_new_version_can_be_added() {
    let (_d, store) = setup();
    let mut t = store.template("grid-survey", None).expect("t");
    let _insp = start(&store, AL, "grid-survey");
    t.title_zh = "改过的标题".into();
    let err = store
        .import_templates(std::slice::from_ref(&t))
        .unwrap_err();
    assert!(
        matches!(err, InspectionError::TemplateInUse { .. }),
        "{err}"
    );
    assert_eq!(err.code(), "template.in_use");
    // The trigger guards it even against direct SQL.
    assert!(store
        .connection()
        .execute(
            "UPDATE checklist_template SET title_zh = 'x' WHERE id = 'grid-survey' AND version = 2",
            []
        )
        .is_err());
    t.version = 3;
    let changes = store.import_templates(&[t]).expect("v3");
    assert_eq!(changes[0].version, 3);
    assert_eq!(
        store.template("grid-survey", None).expect("newest").version,
        3
    );
    assert_eq!(
        store.template("grid-survey", Some(2)).expect("v2").title_zh,
        "粉尘涉爆企业网格排查"
    );
}

#[test]
fn an_invalid_template_is_refused_and_nothing_is_stored() {
    let (_d, store) = setup();
    let mut t = store.template("grid-survey", None).expect("t");
    t.id = "broken".into();
    let dup = t.sections[0].items[0].clone();
    t.sections[0].items.push(dup);
    let err = store.import_templates(&[t]).unwrap_err();
    assert!(
        matches!(err, InspectionError::InvalidTemplate { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("duplicate item id"));
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM checklist_template WHERE id = 'broken'"
        ),
        0
    );
}

#[test]
fn applicability_follows_the_register_and_the_dust_verification() {
    let (_d, store) = setup();
    // Before the verification the polisher has no known dry collector: MH-D-03 absent.
    let before = start(&store, AL, "expert-major-hazard");
    let ids: Vec<String> = store
        .inspection_items(&before)
        .expect("items")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(
        ids.contains(&"MH-D-04a".to_string()),
        "Al/Mg from the register"
    );
    assert!(!ids.contains(&"MH-D-03".to_string()));
    assert!(matches!(
        store.answer(&before, "MH-D-03", "yes", None),
        Err(InspectionError::NotApplicable(_))
    ));
    verify_dust(&store);
    let after = start(&store, AL, "expert-major-hazard");
    let ids: Vec<String> = store
        .inspection_items(&after)
        .expect("items")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(ids.contains(&"MH-D-03".to_string()));
    assert!(
        ids.contains(&"MH-D-06".to_string()),
        "(AL_MG || WOOD) && DRY_COLLECTOR"
    );
    // The sawmill has no verification: no collector items, no Al/Mg items.
    let saw = start(&store, WOOD, "expert-major-hazard");
    let ids: Vec<String> = store
        .inspection_items(&saw)
        .expect("items")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(!ids.contains(&"MH-D-04a".to_string()));
    assert!(!ids.contains(&"MH-D-03".to_string()));
}

#[test]
fn the_done_when_case_gives_a_major_hazard_citing_article_11_3() {
    let (_d, store) = setup();
    verify_dust(&store);
    let status = store.enterprise_status(&uscc(AL)).expect("status");
    assert_eq!(status.dust_confirmed.expect("confirmed").by, "王专家");
    let detail = store.enterprise(&uscc(AL)).expect("enterprise");
    assert!(detail.enterprise.al_mg);
    assert_eq!(detail.enterprise.workers_per_shift, Some(20));

    let mh = start(&store, AL, "expert-major-hazard");
    answer_major(&store, &mh, &["MH-D-03"]);
    // Missing: the site photo and the photo of the failed major item.
    match store.finalize_inspection(&mh, &DeadlinePolicy::default()) {
        Err(InspectionError::Incomplete(m)) => {
            assert_eq!(m.unanswered, vec!["MH-PHOTO".to_string()]);
            assert_eq!(m.photo_missing, vec!["MH-D-03".to_string()]);
        }
        other => panic!("expected incomplete, got {other:?}"),
    }
    assert_eq!(count(&store, "SELECT count(*) FROM hazard"), 0);
    let p = store
        .attach_photo(&mh, "MH-D-03", &photo("gps__DSCN0021.jpg"))
        .expect("photo");
    store
        .attach_photo(&mh, "MH-PHOTO", &photo("gps__DSCN0029.jpg"))
        .expect("site photo");
    // Complete, but the expert checklist needs the enterprise's signature.
    let err = store
        .finalize_inspection(&mh, &DeadlinePolicy::default())
        .expect_err("unsigned");
    assert_eq!(err.code(), "inspect.signature_required");
    assert_eq!(count(&store, "SELECT count(*) FROM hazard"), 0);
    sign(&store, &mh);
    let out = store
        .finalize_inspection(&mh, &DeadlinePolicy::default())
        .expect("finalize");
    assert_eq!(out.hazards.len(), 1);
    assert_eq!(out.score.failed, 1);

    let hazards = store.hazards(None).expect("hazards");
    assert_eq!(hazards.len(), 1);
    let h = &hazards[0];
    assert_eq!(h.severity, Severity::Major);
    assert_eq!(h.item_id.as_deref(), Some("MH-D-03"));
    assert_eq!(h.legal_basis.as_deref(), Some("10号令 第十一条(三)"));
    assert_eq!(h.state, HazardStatus::Found);
    let detail = store.hazard(&h.id.to_string()).expect("hazard");
    assert_eq!(detail.detail.photo_sha256s, vec![p.sha256.clone()]);
    // 90 days from the China date of finalizing.
    let found = gridwalk_device::inspection::checklist::hazard::china_date(detail.detail.found_at);
    assert_eq!((h.deadline - found).num_days(), 90);

    // The stored bytes hash to the stored hash, parse back to the same payload, and
    // the chain holds an `inspection` link with that hash.
    let (bytes, sha) = store.inspection_payload(&mh).expect("payload");
    assert_eq!(sha, out.payload_sha256);
    assert_eq!(
        gridwalk_device::inspection::checklist::canonical::sha256_hex(&bytes),
        sha
    );
    let link: String = store
        .connection()
        .query_row(
            "SELECT payload_sha256 FROM evidence_chain WHERE kind = 'inspection' AND record_id = ?1",
            [&mh],
            |r| r.get(0),
        )
        .expect("link");
    assert_eq!(link, sha);
    let shown = store.inspection(&mh).expect("show");
    assert_eq!(shown.status, InspectionStatus::Finalized);
    assert_eq!(shown.findings[0].hazard_id, h.id);
    assert!(store.verify_evidence().expect("verify").ok);
    assert!(store.check_integrity().expect("integrity").is_empty());
}

#[test]
fn bad_input_is_refused_with_a_typed_error_and_nothing_changes() {
    let (dir, store) = setup();
    let sv = start(&store, AL, "grid-survey");
    let snapshot = |s: &Store| {
        count(s, "SELECT count(*) FROM inspection_answer")
            + 1000 * count(s, "SELECT count(*) FROM evidence_chain")
    };
    store
        .answer(&sv, "SV-03", "12人", None)
        .expect("number with unit");
    let before = snapshot(&store);
    let cases: Vec<(&str, &str, &str)> = vec![
        ("NOPE-1", "yes", "inspect.unknown_item"),
        ("SV-01", "42", "inspect.bad_answer"),
        ("SV-03", "many", "inspect.bad_answer"),
        ("SV-03", "1.5", "inspect.bad_answer"),
        ("SV-08", "sometimes", "inspect.bad_answer"),
        ("SV-13", "deadbeef", "inspect.photo_item"),
        ("SV-06", "   ", "inspect.bad_answer"),
    ];
    for (item, v, code) in cases {
        let err = store.answer(&sv, item, v, None).unwrap_err();
        assert_eq!(err.code(), code, "{item}={v}: {err}");
    }
    assert_eq!(snapshot(&store), before);
    assert!(matches!(
        store.answer("not-an-id", "SV-01", "yes", None),
        Err(InspectionError::InspectionNotFound(_))
    ));
    assert!(matches!(
        store.attach_photo(&sv, "NOPE", &photo("gps__DSCN0010.jpg")),
        Err(InspectionError::UnknownItem { .. })
    ));
    assert_eq!(snapshot(&store), before, "no photo stored for a bad item");
    // A 'photo' that is not one is refused by the pipeline and not attached.
    let not_a_photo = write(dir.path(), "x.jpg", "not a photo");
    let err = store.attach_photo(&sv, "SV-13", &not_a_photo).unwrap_err();
    assert!(err.code().starts_with("evidence."), "{}", err.code());
    assert_eq!(count(&store, "SELECT count(*) FROM inspection_photo"), 0);
}

fn finalize_survey(store: &Store) -> String {
    let sv = start(store, AL, "grid-survey");
    for (item, v) in [
        ("SV-01", "是"),
        ("SV-03", "20"),
        ("SV-05", "yes"),
        ("SV-06", "张三"),
        ("SV-07", "13800000000"),
        ("SV-08", "helped_on_site"),
        ("SV-09", "no"),
        ("SV-10", "no"),
        ("SV-11", "no"),
    ] {
        store.answer(&sv, item, v, None).expect(item);
    }
    store
        .attach_photo(&sv, "SV-13", &photo("gps__DSCN0010.jpg"))
        .expect("photo");
    // Evidence: the 安全专员's appointment, the risk report's filing page.
    let missing = store
        .finalize_inspection(&sv, &DeadlinePolicy::default())
        .expect_err("evidence photos missing");
    assert!(
        missing.to_string().contains("SV-05") && missing.to_string().contains("SV-08"),
        "{missing}"
    );
    store
        .attach_photo(&sv, "SV-05", &photo("gps__DSCN0021.jpg"))
        .expect("photo");
    store
        .attach_photo(&sv, "SV-08", &photo("gps__DSCN0029.jpg"))
        .expect("photo");
    store
        .finalize_inspection(&sv, &DeadlinePolicy::default())
        .expect("finalize");
    sv
}

/// The next survey shows what the last one confirmed beside each question it asks
/// again, with who confirmed it; a finalized inspection shows nothing (it is frozen).
#[test]
fn a_survey_shows_what_the_register_knows_beside_the_questions_it_asks_again() {
    let (_d, store) = setup();
    let first = finalize_survey(&store);
    let next = start(&store, AL, "grid-survey");
    let items = store.inspection_items(&next).expect("items");
    let known = |id: &str| {
        items
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .known
            .clone()
    };
    let officer = known("SV-05").expect("officer known");
    assert_eq!(
        (officer.value.as_str(), officer.label_zh.as_str()),
        ("yes", "已明确：张三")
    );
    assert_eq!(officer.confirmed_by.as_deref(), Some("王专家"));
    assert_eq!(known("SV-06").map(|k| k.value).as_deref(), Some("张三"));
    assert_eq!(
        known("SV-07").map(|k| k.value).as_deref(),
        Some("13800000000")
    );
    let report = known("SV-08").expect("report known");
    assert_eq!(
        (report.value.as_str(), report.label_zh.as_str()),
        ("helped_on_site", "现场帮助填报")
    );
    assert_eq!(known("SV-09").map(|k| k.value).as_deref(), Some("no"));
    assert_eq!(known("SV-01"), None, "not a register fact");
    let items = store.inspection_items(&first).expect("items");
    assert!(items.iter().all(|i| i.known.is_none()));
    // The evidence rule is on the item, for the phone to show.
    let sv08 = store
        .inspection_items(&next)
        .expect("items")
        .into_iter()
        .find(|i| i.id == "SV-08")
        .expect("SV-08");
    assert_eq!(sv08.photo_required_when, ["filed", "helped_on_site"]);
}

#[test]
fn finalized_is_frozen_finalizing_twice_fails_and_nothing_changes() {
    let (_d, store) = setup();
    let sv = finalize_survey(&store);
    let (bytes, sha) = store.inspection_payload(&sv).expect("payload");
    let links = count(&store, "SELECT count(*) FROM evidence_chain");
    let hazards = count(&store, "SELECT count(*) FROM hazard");
    let err = store
        .finalize_inspection(&sv, &DeadlinePolicy::default())
        .unwrap_err();
    assert_eq!(err.code(), "inspect.already_finalized");
    let err = store.answer(&sv, "SV-01", "no", None).unwrap_err();
    assert_eq!(err.code(), "inspect.already_finalized");
    assert!(store
        .attach_photo(&sv, "SV-13", &photo("gps__DSCN0021.jpg"))
        .is_err());
    assert_eq!(store.inspection_payload(&sv).expect("again"), (bytes, sha));
    assert_eq!(count(&store, "SELECT count(*) FROM evidence_chain"), links);
    assert_eq!(count(&store, "SELECT count(*) FROM hazard"), hazards);
    // Triggers guard the frozen rows against direct SQL as well.
    let conn = store.connection();
    assert!(conn
        .execute("UPDATE inspection SET payload = x'00' WHERE id = ?1", [&sv])
        .is_err());
    assert!(conn
        .execute(
            "DELETE FROM inspection_answer WHERE inspection_id = ?1",
            [&sv]
        )
        .is_err());
}

#[test]
fn a_survey_updates_the_enterprise_status_and_warning_education_failure_is_a_hazard() {
    let (_d, store) = setup();
    let sv = finalize_survey(&store);
    let e = store.enterprise(&uscc(AL)).expect("e").enterprise;
    let officer = e.safety_officer.expect("officer");
    assert_eq!(officer.name, "张三");
    assert!(officer.confirmed_on_site);
    assert_eq!(
        e.risk_report,
        gridwalk_core::enterprise::RiskReportStatus::HelpedOnSite
    );
    assert_eq!(
        e.warning_education,
        gridwalk_core::enterprise::TrainingStatus::NotDone
    );
    let st = store.enterprise_status(&uscc(AL)).expect("status");
    assert_eq!(
        st.safety_officer_confirmed
            .expect("so")
            .inspection_id
            .to_string(),
        sv
    );
    assert!(st.training_confirmed.is_some());
    // The search row still finds it.
    let hits = store.search_enterprises("铝业抛光", 10).expect("search");
    assert_eq!(hits.len(), 1);
    // SV-09 (no) is a general hazard.
    let h = store.hazards(Some(&uscc(AL))).expect("hazards");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].severity, Severity::General);
    assert_eq!(h[0].item_id.as_deref(), Some("SV-09"));
}

#[test]
fn a_revision_copies_answers_supersedes_once_and_continues_open_hazards() {
    let (_d, store) = setup();
    let sv = finalize_survey(&store);
    assert!(matches!(
        store.revise_inspection("01a22981-e4ec-7085-aefd-bdb1a34b5ffc", None),
        Err(InspectionError::InspectionNotFound(_))
    ));
    let rev = store
        .revise_inspection(&sv, None)
        .expect("revise")
        .to_string();
    let err = store.revise_inspection(&sv, None).unwrap_err();
    assert_eq!(err.code(), "inspect.already_superseded");
    let draft = store.inspection(&rev).expect("rev");
    assert_eq!(draft.status, InspectionStatus::Draft);
    assert_eq!(draft.supersedes.map(|u| u.to_string()), Some(sv.clone()));
    assert!(draft.answers.contains_key("SV-13"), "photos copied");
    assert_eq!(draft.answers.len(), 10);
    assert_eq!(
        store.revise_inspection(&rev, None).unwrap_err().code(),
        "inspect.not_finalized"
    );
    store
        .answer(&rev, "SV-14", "更正：电话号码", None)
        .expect("note");
    let out = store
        .finalize_inspection(&rev, &DeadlinePolicy::default())
        .expect("finalize revision");
    // The SV-09 hazard continues; no second one.
    assert_eq!(store.hazards(None).expect("h").len(), 1);
    let old = store.inspection(&sv).expect("old");
    assert_eq!(old.superseded_by.map(|u| u.to_string()), Some(rev.clone()));
    assert_eq!(out.hazards, vec![old.findings[0].hazard_id]);
    let (bytes, _) = store.inspection_payload(&rev).expect("payload");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(v["supersedes"], sv.as_str());
}

#[test]
fn hazard_transitions_through_the_store_refuse_illegal_ones_and_store_nothing() {
    let (_d, store) = setup();
    finalize_survey(&store);
    let id = store.hazards(None).expect("h")[0].id.to_string();
    let events = |s: &Store| count(s, "SELECT count(*) FROM hazard_event");
    let n = events(&store);
    // found: cannot start, close, reopen, reinspect; general: cannot be listed.
    for kind in [
        HazardEventKind::RectificationStarted,
        HazardEventKind::Closed,
        HazardEventKind::Reopened { reason: "x".into() },
    ] {
        let err = store.hazard_transition(&id, "李", kind).unwrap_err();
        assert!(
            matches!(
                err,
                InspectionError::Transition(TransitionError::Illegal { .. })
            ),
            "{err}"
        );
    }
    assert!(store.reinspect_hazard(&id, "李", true, &[], None).is_err());
    let listing = HazardEventKind::ListedSupervision(
        gridwalk_device::inspection::checklist::hazard::ListedSupervision {
            notice_no: "金安督〔2026〕1号".into(),
            supervising_body: "金坛区应急管理局".into(),
            deadline: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"),
        },
    );
    assert!(matches!(
        store.hazard_transition(&id, "李", listing),
        Err(InspectionError::Transition(
            TransitionError::ListingNotMajor
        ))
    ));
    assert_eq!(events(&store), n, "refused transitions store nothing");

    let s = store
        .hazard_transition(
            &id,
            "李",
            HazardEventKind::Assigned {
                to: "企业张三".into(),
            },
        )
        .expect("assign");
    assert_eq!(s.status, HazardStatus::Assigned);
    store
        .hazard_transition(&id, "李", HazardEventKind::RectificationStarted)
        .expect("start");
    let s = store
        .reinspect_hazard(
            &id,
            "李",
            false,
            &[photo("gps__DSCN0021.jpg")],
            Some("未整改到位"),
        )
        .expect("failed reinspection");
    assert_eq!(s.status, HazardStatus::Rectifying);
    assert_eq!(s.reinspections[0].after_photo_sha256s.len(), 1);
    // A passed re-inspection needs an after-photo; nothing is stored without one.
    let n = events(&store);
    let err = store
        .reinspect_hazard(&id, "李", true, &[], None)
        .expect_err("passed without a photo");
    assert_eq!(err.code(), "hazard.after_photo_required");
    assert_eq!(events(&store), n);
    let s = store
        .reinspect_hazard(&id, "李", true, &[photo("gps__DSCN0029.jpg")], None)
        .expect("passed");
    assert_eq!(s.status, HazardStatus::Reinspected);
    let s = store
        .hazard_transition(&id, "李", HazardEventKind::Closed)
        .expect("close");
    assert_eq!(s.status, HazardStatus::Closed);
    assert!(store
        .hazard_transition(&id, "李", HazardEventKind::Closed)
        .is_err());
    let s = store
        .hazard_transition(
            &id,
            "李",
            HazardEventKind::Reopened {
                reason: "复发".into(),
            },
        )
        .expect("reopen");
    assert_eq!(s.status, HazardStatus::Rectifying);
    let d = store.hazard(&id).expect("detail");
    assert_eq!(d.events.len(), 7);
    assert!(store
        .connection()
        .execute("DELETE FROM hazard_event", [])
        .is_err());
    assert!(store.verify_evidence().expect("verify").ok);
}

#[test]
fn a_pre_lease_check_records_its_result() {
    let (_d, store) = setup();
    let pl = start(&store, WOOD, "pre-lease-check");
    assert_eq!(common::answer_pre_lease(&store, &pl, false), None);
    sign(&store, &pl);
    store
        .finalize_inspection(&pl, &DeadlinePolicy::default())
        .expect("finalize");
    let st = store.enterprise_status(&uscc(WOOD)).expect("status");
    let r = st.pre_lease.expect("pre-lease");
    assert_eq!(r.result, "passed");
    assert_eq!(r.conclusion.as_deref(), Some("同意出租"));
}

#[test]
fn templates_import_from_excel_reports_errors_and_stores_nothing() {
    let (dir, store) = setup();
    let path = dir.path().join("bad.xlsx");
    std::fs::write(&path, b"not a workbook").expect("write");
    let err = store.import_templates_xlsx(&path).unwrap_err();
    assert_eq!(err.code(), "template.bad_workbook");
    assert_eq!(count(&store, "SELECT count(*) FROM checklist_template"), 9);
}

/// A register row pulled again after a survey confirmed facts on site (a re-import on
/// the server, a re-pull after enrolling again) updates what the register owns but
/// keeps what the survey confirmed.
#[test]
fn a_pulled_register_row_keeps_what_inspections_here_confirmed() {
    let (_d, store) = setup();
    let mut body = serde_json::to_value(store.enterprise(&uscc(AL)).expect("e")).expect("json");
    let before = store.enterprise(&uscc(AL)).expect("e").enterprise;
    assert!(before.safety_officer.is_none());
    finalize_survey(&store);
    body["address"] = serde_json::json!("金坛区新城路1号");
    let pulled = page(
        vec![(gridwalk_protocol::ChangeKind::Enterprise, "a", body)],
        "1",
    );
    store.apply_pull_page(&pulled).expect("apply");
    let after = store.enterprise(&uscc(AL)).expect("e").enterprise;
    assert_eq!(
        after.address.as_deref(),
        Some("金坛区新城路1号"),
        "the register's own field updates"
    );
    let officer = after.safety_officer.expect("the confirmed officer stays");
    assert_eq!(officer.name, "张三");
    assert!(officer.confirmed_on_site);
    assert_eq!(
        after.risk_report,
        gridwalk_core::enterprise::RiskReportStatus::HelpedOnSite
    );
    assert_eq!(
        after.warning_education,
        gridwalk_core::enterprise::TrainingStatus::NotDone
    );

    // Without a confirmation, the register's value wins.
    let mut wood = serde_json::to_value(store.enterprise(&uscc(WOOD)).expect("e")).expect("json");
    wood["workers_per_shift"] = serde_json::json!(9);
    let pulled = page(
        vec![(gridwalk_protocol::ChangeKind::Enterprise, "w", wood)],
        "2",
    );
    store.apply_pull_page(&pulled).expect("apply");
    assert_eq!(
        store
            .enterprise(&uscc(WOOD))
            .expect("e")
            .enterprise
            .workers_per_shift,
        Some(9)
    );
}

/// The server publishes what every phone's visits confirmed (`confirmations`): a newer
/// confirmation from another phone replaces this device's, with who made it; an older
/// one does not undo what was confirmed here since.
#[test]
fn a_newer_confirmation_from_the_server_replaces_this_devices_and_an_older_one_does_not() {
    let (_d, store) = setup();
    finalize_survey(&store);
    let mine = store.enterprise_status(&uscc(AL)).expect("status");
    let my_at = mine
        .risk_report_confirmed
        .as_ref()
        .expect("confirmed here")
        .at;
    let e = store.enterprise(&uscc(AL)).expect("e");
    let mut body = serde_json::to_value(&e).expect("json");
    // Another phone's spot check, a day later: the report is filed now, training done.
    let later = (my_at + chrono::Duration::days(1)).to_rfc3339();
    body["risk_report"] = serde_json::json!("filed");
    body["warning_education"] = serde_json::json!("attended");
    body["confirmations"] = serde_json::json!({
        "risk_report": {"by": "expert-jincheng", "at": later, "inspection_id": "01900000-0000-7000-8000-0000000000aa"},
        "training": {"by": "expert-jincheng", "at": later, "inspection_id": "01900000-0000-7000-8000-0000000000aa"},
        // The safety officer was last seen a day earlier than here: this device's stands.
        "safety_officer": {"by": "grid-one", "at": (my_at - chrono::Duration::days(1)).to_rfc3339(),
            "inspection_id": "01900000-0000-7000-8000-0000000000bb"}
    });
    body["safety_officer"] = serde_json::Value::Null;
    let pulled = page(
        vec![(gridwalk_protocol::ChangeKind::Enterprise, "a", body)],
        "1",
    );
    store.apply_pull_page(&pulled).expect("apply");
    let after = store.enterprise(&uscc(AL)).expect("e").enterprise;
    assert_eq!(
        after.risk_report,
        gridwalk_core::enterprise::RiskReportStatus::Filed
    );
    assert_eq!(
        after.warning_education,
        gridwalk_core::enterprise::TrainingStatus::Attended
    );
    assert_eq!(
        after.safety_officer.map(|o| o.name).as_deref(),
        Some("张三"),
        "the officer confirmed here later stays"
    );
    let st = store.enterprise_status(&uscc(AL)).expect("status");
    let risk = st.risk_report_confirmed.expect("risk");
    assert_eq!(risk.by, "expert-jincheng");
    assert_eq!(
        risk.inspection_id.to_string(),
        "01900000-0000-7000-8000-0000000000aa"
    );
    assert_eq!(
        st.safety_officer_confirmed.map(|c| c.at),
        mine.safety_officer_confirmed.map(|c| c.at)
    );
}

/// Migration 0012 rebuilds `enterprise_status` (its inspection columns may now name
/// another phone's inspection) and keeps every confirmation made before it.
#[test]
fn upgrading_to_remote_confirmations_keeps_the_confirmations_made_here() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v11.db");
    let before = {
        let store = Store::open_at_version(&path, 11).expect("v11");
        store
            .import_divisions(&testdata().join("divisions/jintan.csv"))
            .expect("divisions");
        let csv = write(
            dir.path(),
            "e.csv",
            &format!(
                "name,uscc,village_code,dust_types,workers_per_shift\n\
                 金坛铝业抛光有限公司,{},{VILLAGE},铝粉,20\n",
                uscc(AL)
            ),
        );
        store.import_enterprises(&csv).expect("import");
        finalize_survey(&store);
        store.enterprise_status(&uscc(AL)).expect("status")
    };
    let store = Store::open(&path).expect("upgrade");
    assert_eq!(
        store.schema_version().expect("v"),
        gridwalk_device::migrations::latest_version()
    );
    let after = store.enterprise_status(&uscc(AL)).expect("status");
    assert_eq!(
        serde_json::to_value(&after).expect("json"),
        serde_json::to_value(&before).expect("json")
    );
    assert!(after.safety_officer_confirmed.is_some());
}

// ---- Evidence that holds up: roles, texts, payload size ----

#[test]
fn a_role_may_only_start_and_finalize_templates_meant_for_it() {
    let (_d, store) = setup();
    let as_role = |template: &str, role: &str| {
        store.start_inspection(&StartInspection {
            enterprise: uscc(WOOD),
            template_id: template.into(),
            template_version: None,
            inspector: "王五".into(),
            role: Some(role.into()),
        })
    };
    for (template, role) in [
        ("grid-survey", "expert"),
        ("expert-major-hazard", "grid_worker"),
        ("expert-major-hazard", "supervisor"),
        ("dust-verification", "grid_worker"),
    ] {
        let err = as_role(template, role).expect_err(template);
        assert_eq!(
            err.code(),
            "inspect.role_not_allowed",
            "{template} as {role}"
        );
    }
    assert!(as_role("grid-survey", "officer").is_ok());
    assert!(as_role("grid-survey", "supervisor").is_ok());
    // A draft started before the rule existed (an expert on a survey) cannot be finalized.
    let sv = as_role("grid-survey", "grid_worker")
        .expect("start")
        .to_string();
    store
        .connection()
        .execute("UPDATE inspection SET role = 'expert' WHERE id = ?1", [&sv])
        .expect("old row");
    let err = store
        .finalize_inspection(&sv, &DeadlinePolicy::default())
        .expect_err("role");
    assert_eq!(err.code(), "inspect.role_not_allowed");
}

#[test]
fn texts_are_bounded_as_they_are_entered() {
    use gridwalk_protocol::limits::{MAX_ANSWER_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS};
    let (_d, store) = setup();
    let long_name = "王".repeat(MAX_NAME_CHARS + 1);
    let err = store
        .start_inspection(&StartInspection {
            enterprise: uscc(AL),
            template_id: "dust-verification".into(),
            template_version: None,
            inspector: long_name.clone(),
            role: None,
        })
        .expect_err("long inspector");
    assert_eq!(err.code(), "inspect.text_too_long");
    let dv = start(&store, AL, "dust-verification");
    let err = store
        .answer(&dv, "DV-21", &"铝".repeat(MAX_ANSWER_CHARS + 1), None)
        .expect_err("long answer");
    assert!(
        matches!(
            err,
            InspectionError::TextTooLong {
                field: "answer",
                ..
            }
        ),
        "{err}"
    );
    let err = store
        .answer(&dv, "DV-07", "yes", Some(&"注".repeat(MAX_NOTE_CHARS + 1)))
        .expect_err("long note");
    assert_eq!(err.code(), "inspect.text_too_long");
    assert!(err.to_string().contains("2001"), "{err}");
    assert_eq!(
        count(&store, "SELECT count(*) FROM inspection_answer"),
        0,
        "nothing stored"
    );
    // At the limit is fine.
    store
        .answer(
            &dv,
            "DV-21",
            &"铝".repeat(MAX_ANSWER_CHARS),
            Some(&"注".repeat(MAX_NOTE_CHARS)),
        )
        .expect("at the limit");
}

#[test]
fn an_inspection_over_the_servers_record_limit_is_refused_where_it_is_typed() {
    use gridwalk_device::inspection::checklist::{AnswerType, Section};
    use gridwalk_protocol::limits::{MAX_ANSWER_CHARS, MAX_NOTE_CHARS};
    let (_d, store) = setup();
    // A survey with 120 optional text items: 120 × (2000 + 2000) Chinese characters is
    // 1.4 MB of UTF-8, over gridwalk_protocol::MAX_PAYLOAD_BYTES (1 MiB).
    let mut t = store.template("grid-survey", None).expect("survey");
    let text_item = store
        .template("dust-verification", None)
        .expect("dv")
        .items()
        .find(|i| matches!(i.answer_type, AnswerType::Text))
        .expect("a text item")
        .clone();
    t.id = "big-survey".into();
    t.sections.push(Section {
        id: "big".into(),
        title_zh: "大量文字".into(),
        items: (0..120)
            .map(|n| {
                let mut i = text_item.clone();
                i.id = format!("BIG-{n:03}");
                i.required = false;
                i.sets_fact = None;
                i
            })
            .collect(),
    });
    store.import_templates(&[t]).expect("import");
    let id = start(&store, WOOD, "big-survey");
    for item in store.inspection_items(&id).expect("items") {
        let v = match item.answer_type {
            "yes_no_na" => "na",
            "number" => "1",
            // A choice that needs no evidence photo (not `filed`).
            "choice" => item
                .choices
                .iter()
                .map(|c| c.value.as_str())
                .find(|v| !item.photo_required_when.iter().any(|w| w == v))
                .expect("a choice without evidence"),
            "text" => "",
            _ => continue,
        };
        if !v.is_empty() {
            store.answer(&id, &item.id, v, None).expect(&item.id);
        }
    }
    store
        .attach_photo(&id, "SV-13", &photo("gps__DSCN0010.jpg"))
        .expect("photo");
    let text = "文".repeat(MAX_ANSWER_CHARS);
    let note = "注".repeat(MAX_NOTE_CHARS);
    // The answer that would take the record over the limit is refused as it is typed;
    // everything answered before it stays saved.
    let answered = |store: &Store| {
        count(
            store,
            "SELECT count(*) FROM inspection_answer WHERE item_id LIKE 'BIG-%'",
        )
    };
    let mut refused_at = None;
    for n in 0..120 {
        match store.answer(&id, &format!("BIG-{n:03}"), &text, Some(&note)) {
            Ok(_) => {}
            Err(err) => {
                assert_eq!(err.code(), "inspect.payload_too_large", "{err}");
                assert!(
                    matches!(err, InspectionError::PayloadTooLarge { size, max } if size > max && max == gridwalk_protocol::MAX_PAYLOAD_BYTES),
                    "{err}"
                );
                refused_at = Some(n);
                break;
            }
        }
    }
    let refused_at = refused_at.expect("refused before 120 answers");
    assert!(refused_at > 50, "refused at {refused_at}");
    assert_eq!(answered(&store), refused_at as i64);
    // What fits can be finalized, unless the server publishes a lower limit meanwhile:
    // then finalize refuses, and nothing is finalized.
    store
        .set_server_limits(&gridwalk_protocol::ServerLimits {
            max_payload_bytes: 300 * 1024,
            ..Default::default()
        })
        .expect("limits");
    let err = store
        .finalize_inspection(&id, &DeadlinePolicy::default())
        .expect_err("too large");
    assert!(
        matches!(err, InspectionError::PayloadTooLarge { size, max } if size > max && max == 300 * 1024),
        "{err}"
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM inspection WHERE payload IS NOT NULL"
        ),
        0
    );
}
