//! A dust-type verification sets the facts later checklists are filtered by.

use gridwalk_checklist::{
    applicable_items, builtin_template, facts_from_verification, parse_answer, Answer, Answers,
    EnterpriseFacts, ProcessFacts, Template,
};
use gridwalk_core::dust::DustType;
use gridwalk_core::enterprise::{RiskReportStatus, TrainingStatus};
use gridwalk_core::{DivisionCode, DustFlag, Enterprise, Uscc};

fn verification() -> Template {
    builtin_template("dust-verification").expect("shipped")
}

fn answer(t: &Template, id: &str, raw: &str) -> (String, Answer) {
    let item = t.item(id).unwrap_or_else(|| panic!("{id}"));
    (
        id.to_string(),
        Answer::new(parse_answer(item, raw).expect("valid")),
    )
}

#[test]
fn an_aluminium_polisher_with_a_dry_negative_pressure_collector() {
    let t = verification();
    let answers: Answers = [
        answer(&t, "DV-02", "打磨,抛光"),
        answer(&t, "DV-03", "否"),
        answer(&t, "DV-05", "铝粉"),
        answer(&t, "DV-07", "是"),
        answer(&t, "DV-09", "negative"),
        answer(&t, "DV-13", "否"),
        answer(&t, "DV-17", "2"),
        answer(&t, "DV-18", "frame"),
        answer(&t, "DV-20", "14人"),
    ]
    .into_iter()
    .collect();
    let update = facts_from_verification(&t, &answers);
    assert_eq!(update.dust_types, Some(vec![DustType::Listed("al")]));
    assert_eq!(update.workers_per_shift, Some(14));
    assert_eq!(update.storeys, Some(2));
    let mut facts = EnterpriseFacts::default();
    update.apply_to(&mut facts);
    for f in [
        DustFlag::AllDust,
        DustFlag::AlMg,
        DustFlag::WetReactiveMetal,
        DustFlag::DryCollector,
    ] {
        assert!(facts.flags.contains(&f), "{f:?}");
    }
    for f in [
        DustFlag::PosPressure,
        DustFlag::MechIgnitionProcess,
        DustFlag::WoodworkSanding,
        DustFlag::MultiBuilding,
    ] {
        assert!(!facts.flags.contains(&f), "{f:?}");
    }
    assert_eq!(facts.frame_structure, Some(true));
    let major = builtin_template("expert-major-hazard").expect("shipped");
    let shown: Vec<_> = applicable_items(&major, &facts)
        .iter()
        .map(|i| i.id.clone())
        .collect();
    assert!(shown.contains(&"MH-D-04a".to_string()));
}

#[test]
fn grinding_and_positive_pressure_set_their_flags() {
    let t = verification();
    let answers: Answers = [
        answer(&t, "DV-02", "研磨,筛分"),
        answer(&t, "DV-05", "wheat_flour"),
        answer(&t, "DV-09", "positive"),
    ]
    .into_iter()
    .collect();
    let process = facts_from_verification(&t, &answers).process_facts();
    assert!(process.flags.contains(&DustFlag::MechIgnitionProcess));
    assert!(process.flags.contains(&DustFlag::PosPressure));
    assert!(
        !process.flags.contains(&DustFlag::AlMg),
        "dust flags are not process flags"
    );
}

#[test]
fn a_dust_outside_the_directory_is_named_in_the_note() {
    let t = verification();
    let (id, a) = answer(&t, "DV-05", "other");
    let answers: Answers = [(id, a.with_note("糖粉"))].into_iter().collect();
    let update = facts_from_verification(&t, &answers);
    assert_eq!(
        update.dust_types,
        Some(vec![DustType::Other("糖粉".into())])
    );
}

#[test]
fn enterprise_facts_combine_the_register_tenancy_and_process() {
    let uscc = Uscc::parse("91320214745555318W").expect("valid uscc");
    let e = Enterprise {
        id: gridwalk_core::ids::enterprise_id(&uscc),
        uscc,
        name: "某铝制品公司".into(),
        address: None,
        village_code: DivisionCode::parse("320413100001").expect("valid code"),
        location: None,
        industry: Some("机械".into()),
        dust_involved: true,
        dust_types: vec![DustType::Listed("mg")],
        workers_per_shift: Some(11),
        al_mg: true,
        key_supervision: true,
        safety_officer: None,
        risk_report: RiskReportStatus::Filed,
        warning_education: TrainingStatus::Verified,
    };
    let process = ProcessFacts {
        flags: [DustFlag::DryCollector].into_iter().collect(),
        storeys: Some(4),
        ..ProcessFacts::default()
    };
    let facts = EnterpriseFacts::from_enterprise(&e, true, &process);
    for f in [
        DustFlag::AllDust,
        DustFlag::AlMg,
        DustFlag::WetReactiveMetal,
        DustFlag::Leased,
        DustFlag::DryCollector,
    ] {
        assert!(facts.flags.contains(&f), "{f:?}");
    }
    assert_eq!(facts.workers_per_shift, Some(11));
    assert_eq!(facts.storeys, Some(4));
}
