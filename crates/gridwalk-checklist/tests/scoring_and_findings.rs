//! Finalizing inspections: completeness, score and findings.

use gridwalk_checklist::{
    applicable_items, builtin_template, evaluate, parse_answer, Answer, AnswerValue, Answers,
    EnterpriseFacts, Severity, Template, YesNoNa,
};
use gridwalk_core::DustFlag::*;

const PHOTO: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn major() -> Template {
    builtin_template("expert-major-hazard").expect("shipped")
}

fn aluminium_polisher() -> EnterpriseFacts {
    EnterpriseFacts::with_flags([AllDust, AlMg, WetReactiveMetal, DryCollector])
}

/// Every applicable item answered as compliant: hazards `no`, obligations `yes`,
/// text and photos filled in.
fn all_compliant(t: &Template, facts: &EnterpriseFacts) -> Answers {
    applicable_items(t, facts)
        .into_iter()
        .map(|item| {
            let raw = match &item.answer_type {
                gridwalk_checklist::AnswerType::YesNoNa => match item.fail_when {
                    Some(gridwalk_checklist::FailWhen::Yes) => "否",
                    _ => "是",
                },
                gridwalk_checklist::AnswerType::Photo => PHOTO,
                gridwalk_checklist::AnswerType::Number { .. } => "3",
                gridwalk_checklist::AnswerType::Choice { choices, .. } => choices[0].value.as_str(),
                gridwalk_checklist::AnswerType::Text => "现场检查无异常",
            };
            let value = parse_answer(item, raw).expect("valid raw answer");
            let answer = if value.needs_evidence_photo(item) {
                Answer::new(value).with_photo(PHOTO)
            } else {
                Answer::new(value)
            };
            (item.id.clone(), answer)
        })
        .collect()
}

#[test]
fn a_fully_compliant_inspection_scores_100_percent_with_no_findings() {
    let t = major();
    let facts = aluminium_polisher();
    let eval = evaluate(&t, &facts, &all_compliant(&t, &facts)).expect("complete");
    assert!(eval.findings.is_empty());
    assert_eq!(eval.score.failed, 0);
    assert_eq!(eval.score.pass_rate_bp, Some(10_000));
    assert!(eval.score.passed > 30);
}

#[test]
fn an_aluminium_dry_collector_without_venting_is_a_major_finding_under_article_11_3() {
    let t = major();
    let facts = aluminium_polisher();
    let mut answers = all_compliant(&t, &facts);
    answers.insert(
        "MH-D-03".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::Yes))
            .with_note("布袋除尘器无泄爆片、无抑爆装置")
            .with_photo(PHOTO),
    );
    let eval = evaluate(&t, &facts, &answers).expect("complete");
    assert_eq!(eval.findings.len(), 1);
    let f = &eval.findings[0];
    assert_eq!(f.item_id, "MH-D-03");
    assert_eq!(f.severity, Severity::Major);
    let basis = f.legal_basis.as_ref().expect("legal basis");
    assert_eq!(basis.to_string(), "10号令 第十一条(三)");
    assert_eq!(
        f.text_zh,
        "干式除尘系统未采取泄爆、惰化、抑爆等任一种爆炸防控措施"
    );
    assert_eq!(f.note.as_deref(), Some("布袋除尘器无泄爆片、无抑爆装置"));
    assert_eq!(f.photo_sha256s, vec![PHOTO.to_string()]);
    assert_eq!(eval.score.failed, 1);
}

#[test]
fn a_failed_obligation_is_a_general_finding() {
    let t = major();
    let facts = aluminium_polisher();
    let mut answers = all_compliant(&t, &facts);
    answers.insert(
        "R6-19".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::No)),
    );
    let eval = evaluate(&t, &facts, &answers).expect("complete");
    assert_eq!(eval.findings.len(), 1);
    assert_eq!(eval.findings[0].severity, Severity::General);
    assert_eq!(
        eval.findings[0].legal_basis.as_ref().map(|l| l.to_string()),
        Some("6号令 第十八条（待核实）".to_string())
    );
}

#[test]
fn a_failed_major_item_without_a_photo_cannot_be_finalized() {
    let t = major();
    let facts = aluminium_polisher();
    let mut answers = all_compliant(&t, &facts);
    answers.insert(
        "MH-D-04a".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::Yes)),
    );
    let missing = evaluate(&t, &facts, &answers).expect_err("photo missing");
    assert_eq!(missing.photo_missing, vec!["MH-D-04a".to_string()]);
    assert!(missing.unanswered.is_empty());
}

/// A grid survey that says the risk report is filed, or the 安全专员 is there, must show
/// it with a photo on that answer; "not filed" needs none.
#[test]
fn an_answer_that_claims_a_duty_done_needs_its_evidence_photo() {
    let t = builtin_template("grid-survey").expect("shipped");
    let facts = EnterpriseFacts::with_flags([AllDust, AlMg]);
    let mut answers = Answers::new();
    for (id, raw) in [
        ("SV-01", "是"),
        ("SV-02", "al"),
        ("SV-03", "12"),
        ("SV-04", "polishing"),
        ("SV-05", "是"),
        ("SV-08", "filed"),
        ("SV-09", "是"),
        ("SV-09T", "是"),
        ("SV-10", "否"),
        ("SV-11", "否"),
        ("SV-13", PHOTO),
    ] {
        let item = t.item(id).expect("item");
        answers.insert(
            id.into(),
            Answer::new(parse_answer(item, raw).expect("valid")),
        );
    }
    let missing = evaluate(&t, &facts, &answers).expect_err("evidence missing");
    assert_eq!(missing.photo_missing, ["SV-05", "SV-08", "SV-09"]);
    for id in ["SV-05", "SV-08", "SV-09"] {
        let a = answers.get(id).cloned().expect("answered");
        answers.insert(id.into(), a.with_photo(PHOTO));
    }
    evaluate(&t, &facts, &answers).expect("complete with the photos");
    let item = t.item("SV-08").expect("item");
    answers.insert(
        "SV-08".into(),
        Answer::new(parse_answer(item, "not_filed").expect("valid")),
    );
    evaluate(&t, &facts, &answers).expect("not filed: nothing to show");
}

#[test]
fn required_unanswered_items_are_listed_but_not_applicable_ones_are_not() {
    let t = major();
    let facts = aluminium_polisher();
    let mut answers = all_compliant(&t, &facts);
    answers.remove("MH-D-03");
    answers.remove("R6-01");
    let missing = evaluate(&t, &facts, &answers).expect_err("incomplete");
    assert_eq!(
        missing.unanswered,
        vec!["MH-D-03".to_string(), "R6-01".to_string()]
    );
    assert!(!missing.unanswered.contains(&"MH-D-08b".to_string()));
}

#[test]
fn not_applicable_answers_are_left_out_of_the_pass_rate() {
    let t = major();
    let facts = aluminium_polisher();
    let mut answers = all_compliant(&t, &facts);
    let scored_before = evaluate(&t, &facts, &answers).expect("complete").score;
    answers.insert(
        "MH-G-01a".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::Na)),
    );
    answers.insert(
        "MH-G-01b".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::Na)),
    );
    answers.insert(
        "R6-05".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::No)),
    );
    let score = evaluate(&t, &facts, &answers).expect("complete").score;
    assert_eq!(score.not_applicable, 2);
    assert_eq!(score.passed, scored_before.passed - 3);
    assert_eq!(score.failed, 1);
    let expected = (score.passed * 20_000 + (score.passed + 1)) / (2 * (score.passed + 1));
    assert_eq!(score.pass_rate_bp, Some(expected));
}

#[test]
fn answers_to_unknown_items_or_of_the_wrong_type_are_invalid() {
    let t = major();
    let facts = aluminium_polisher();
    let mut answers = all_compliant(&t, &facts);
    answers.insert("NOPE".into(), Answer::new(AnswerValue::Text("x".into())));
    answers.insert("MH-D-05a".into(), Answer::new(AnswerValue::Number(3.0)));
    let missing = evaluate(&t, &facts, &answers).expect_err("invalid");
    let ids: Vec<_> = missing.invalid.iter().map(|i| i.item_id.as_str()).collect();
    assert_eq!(ids, vec!["MH-D-05a", "NOPE"]);
}

#[test]
fn answers_to_items_that_do_not_apply_are_kept_but_ignored() {
    let t = major();
    let facts = aluminium_polisher();
    let mut answers = all_compliant(&t, &facts);
    answers.insert(
        "MH-D-08b".into(),
        Answer::new(AnswerValue::YesNoNa(YesNoNa::Yes)),
    );
    let eval = evaluate(&t, &facts, &answers).expect("complete");
    assert!(eval.findings.is_empty());
    assert_eq!(eval.ignored, vec!["MH-D-08b".to_string()]);
}
