//! The shipped templates are valid and carry the content of regulations.md.

use gridwalk_checklist::builtin::try_builtin_templates;
use gridwalk_checklist::{builtin_template, builtin_templates, AnswerType, FailWhen, Template};
use gridwalk_core::dust::DIRECTORY_2015;
use std::collections::BTreeSet;

fn template(id: &str) -> Template {
    builtin_template(id).unwrap_or_else(|| panic!("template {id} is shipped"))
}

#[test]
fn every_shipped_template_parses_and_validates() {
    let templates = try_builtin_templates().expect("all files parse");
    assert_eq!(
        templates.len(),
        9,
        "seven templates, the grid survey and the expert's checklist in two versions each"
    );
    assert_eq!(builtin_templates().len(), 9);
    for t in &templates {
        assert_eq!(t.validate(), Ok(()), "template {}", t.id);
    }
}

#[test]
fn template_ids_are_unique_and_cover_every_kind() {
    let templates = builtin_templates();
    let versions: BTreeSet<_> = templates
        .iter()
        .map(|t| (t.id.as_str(), t.version))
        .collect();
    assert_eq!(versions.len(), templates.len(), "each id + version once");
    let ids: BTreeSet<_> = templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), 7);
    let kinds: BTreeSet<_> = templates.iter().map(|t| t.kind).collect();
    assert_eq!(kinds.len(), 6);
    assert_eq!(template("grid-survey").version, 2, "the newest version");
    assert_eq!(
        gridwalk_checklist::builtin_template_version("grid-survey", 1).map(|t| t.version),
        Some(1),
        "the version phones that update late still use"
    );
}

/// A newer version of a template keeps every item of the one before (an answer of an
/// old phone still has its question) and keeps what it confirms about the enterprise.
#[test]
fn a_newer_version_keeps_every_item_of_the_one_before() {
    for t in builtin_templates() {
        let Some(before) = t
            .version
            .checked_sub(1)
            .and_then(|v| gridwalk_checklist::builtin_template_version(&t.id, v))
        else {
            continue;
        };
        let now: BTreeSet<&str> = t.items().map(|i| i.id.as_str()).collect();
        for i in before.items() {
            assert!(
                now.contains(i.id.as_str()),
                "{} v{} drops {}",
                t.id,
                t.version,
                i.id
            );
        }
    }
}

/// The grid survey asks for evidence of what it confirms: the filing page of the risk
/// report, the training certificate, the 安全专员's appointment; and shows what the
/// register already knows.
#[test]
fn the_grid_survey_asks_for_evidence_of_the_duties_it_confirms() {
    let t = template("grid-survey");
    let item = |id: &str| {
        t.items()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    };
    assert_eq!(
        item("SV-08").photo_required_when,
        ["filed", "helped_on_site"]
    );
    assert_eq!(item("SV-05").photo_required_when, ["yes"]);
    assert_eq!(item("SV-09").photo_required_when, ["yes"]);
    assert_eq!(item("SV-09T").fail_when, Some(FailWhen::No));
    assert_eq!(
        item("SV-08").known,
        Some(gridwalk_checklist::KnownFact::RiskReport)
    );
}

#[test]
fn the_major_hazard_template_has_every_mh_and_r6_item() {
    let t = template("expert-major-hazard");
    let ids: BTreeSet<&str> = t.items().map(|i| i.id.as_str()).collect();
    let expected = [
        "MH-G-01a", "MH-G-01b", "MH-G-02", "MH-G-03", "MH-D-01a", "MH-D-01b", "MH-D-02a",
        "MH-D-02b", "MH-D-03", "MH-D-04a", "MH-D-04b", "MH-D-05a", "MH-D-05b", "MH-D-06",
        "MH-D-07", "MH-D-08a", "MH-D-08b", "MH-D-09a", "MH-D-09b", "MH-D-10",
    ];
    for id in expected {
        assert!(ids.contains(id), "{id} missing");
    }
    for n in 1..=22 {
        if n == 3 {
            for k in 1..=7 {
                assert!(ids.contains(format!("R6-03.{k}").as_str()));
            }
        } else {
            assert!(ids.contains(format!("R6-{n:02}").as_str()), "R6-{n:02}");
        }
    }
}

#[test]
fn major_hazard_items_fail_on_yes_need_a_photo_and_cite_order_10() {
    let t = template("expert-major-hazard");
    for item in t.items().filter(|i| i.id.starts_with("MH-")) {
        if item.id == "MH-CONCL" || item.id == "MH-PHOTO" {
            continue;
        }
        assert!(item.major_hazard, "{}", item.id);
        assert!(item.photo_required_on_fail, "{}", item.id);
        assert_eq!(item.fail_when, Some(FailWhen::Yes), "{}", item.id);
        let lb = item.legal_basis.as_ref().expect("legal basis");
        assert_eq!(lb.document, "10号令");
    }
    for item in t.items().filter(|i| i.id.starts_with("R6-")) {
        assert!(!item.major_hazard, "{}", item.id);
        assert_eq!(item.fail_when, Some(FailWhen::No), "{}", item.id);
        assert_eq!(
            item.legal_basis.as_ref().map(|l| l.document.as_str()),
            Some("6号令")
        );
    }
}

#[test]
fn items_keep_the_verbatim_text_and_article_of_regulations_md() {
    let t = template("expert-major-hazard");
    let d03 = t.item("MH-D-03").expect("MH-D-03");
    assert_eq!(
        d03.text_zh,
        "干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施"
    );
    assert_eq!(
        d03.legal_basis.as_ref().map(ToString::to_string),
        Some("10号令 第十一条(三)".to_string())
    );
    assert_eq!(
        d03.applies_if.as_ref().map(ToString::to_string),
        Some("DRY_COLLECTOR".into())
    );
    let d06 = t.item("MH-D-06").expect("MH-D-06");
    assert_eq!(
        d06.applies_if.as_ref().map(ToString::to_string),
        Some("(AL_MG || WOOD) && DRY_COLLECTOR".into())
    );
    let g01a = t.item("MH-G-01a").expect("MH-G-01a");
    assert_eq!(
        g01a.text_zh,
        "未对承包单位、承租单位的安全生产工作统一协调、管理"
    );
    assert_eq!(
        g01a.legal_basis.as_ref().map(|l| l.article.as_str()),
        Some("第三条(一)")
    );
    let r19 = t.item("R6-19").expect("R6-19");
    assert_eq!(
        r19.legal_basis.as_ref().map(|l| l.article.as_str()),
        Some("第十八条")
    );
}

#[test]
fn items_regulations_md_marks_unconfirmed_are_flagged() {
    let t = template("expert-major-hazard");
    let unconfirmed = |id: &str| {
        t.item(id)
            .and_then(|i| i.legal_basis.as_ref())
            .map(|l| l.unconfirmed)
    };
    assert_eq!(unconfirmed("MH-D-09b"), Some(true));
    assert_eq!(unconfirmed("MH-D-10"), Some(true));
    assert_eq!(unconfirmed("MH-D-03"), Some(false));
    assert_eq!(unconfirmed("R6-02"), Some(true));
    assert_eq!(unconfirmed("R6-13"), Some(false));
    assert_eq!(unconfirmed("R6-03.6"), Some(true));
    assert_eq!(unconfirmed("R6-03.1"), Some(false));
}

#[test]
fn dust_type_choices_are_the_2015_directory_plus_other() {
    for (tid, iid) in [("dust-verification", "DV-05"), ("grid-survey", "SV-02")] {
        let t = template(tid);
        let item = t.item(iid).expect("dust type item");
        let AnswerType::Choice { choices, multiple } = &item.answer_type else {
            panic!("{iid} is a choice");
        };
        assert!(multiple);
        assert_eq!(choices.len(), DIRECTORY_2015.len() + 1);
        for (c, d) in choices.iter().zip(DIRECTORY_2015) {
            assert_eq!((c.value.as_str(), c.label_zh.as_str()), (d.code, d.name_zh));
        }
        assert_eq!(
            choices.last().map(|c| c.label_zh.as_str()),
            Some("其他，需专家确认")
        );
    }
}

#[test]
fn the_pre_lease_check_has_all_fz_p_items_and_the_lease_record() {
    let t = template("pre-lease-check");
    for n in 1..=14 {
        let id = format!("FZ-P-{n:02}");
        let item = t.item(&id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(item.fail_when, Some(FailWhen::No), "{id}");
    }
    for id in [
        "LR-L-01", "LR-T-08", "LR-R-09", "LR-R-11", "LR-B-01", "LR-B-02",
    ] {
        assert!(t.item(id).is_some(), "{id}");
    }
}

#[test]
fn shipped_templates_round_trip_through_json() {
    for t in builtin_templates() {
        let json = serde_json::to_string(&t).expect("serialize");
        let back: Template = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, t);
    }
}

#[test]
fn templates_whose_result_the_enterprise_acknowledges_need_a_signature() {
    let required: BTreeSet<(String, bool)> = builtin_templates()
        .iter()
        .map(|t| (t.id.clone(), t.signature_required()))
        .collect();
    let expected: BTreeSet<(String, bool)> = [
        ("grid-survey", false),
        ("dust-verification", true),
        ("expert-major-hazard", true),
        ("pre-lease-check", true),
        ("supervision-spot-check", true),
        ("hazard-reinspection", false),
        ("tip-verification", false),
    ]
    .iter()
    .map(|(id, r)| (id.to_string(), *r))
    .collect();
    assert_eq!(required, expected);
    // An explicit flag wins over the kind's default, and survives a JSON round trip.
    let mut t = template("grid-survey");
    t.requires_signature = Some(true);
    let back: Template =
        serde_json::from_str(&serde_json::to_string(&t).expect("json")).expect("parse");
    assert!(back.signature_required());
    // Absent stays absent: the shipped files' content does not change.
    let json = serde_json::to_value(template("expert-major-hazard")).expect("json");
    assert!(json.get("requires_signature").is_none());
}

#[test]
fn officers_run_every_template_supervisors_all_but_the_experts_experts_all_but_the_grid_workers() {
    use gridwalk_checklist::Role::*;
    let survey = template("grid-survey");
    let major = template("expert-major-hazard");
    let spot = template("supervision-spot-check");
    assert!(survey.allows_role(GridWorker));
    assert!(!survey.allows_role(Expert));
    assert!(major.allows_role(Expert));
    assert!(!major.allows_role(GridWorker));
    assert!(!major.allows_role(Supervisor));
    assert!(major.allows_role(Officer));
    assert!(survey.allows_role(Officer));
    assert!(spot.allows_role(Supervisor));
    assert!(survey.allows_role(Supervisor));
    assert!(spot.allows_role(Expert));
    assert!(!spot.allows_role(GridWorker));
    assert!(template("pre-lease-check").allows_role(Expert));
    assert!(!template("pre-lease-check").allows_role(GridWorker));
}
