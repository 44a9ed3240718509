//! Templates are checked before use.

use gridwalk_checklist::{
    AnswerType, Choice, Condition, FactEffect, FactName, FailWhen, Item, Role, Section, Template,
    TemplateError, TemplateKind,
};

fn yes_no(id: &str, fail: Option<FailWhen>) -> Item {
    Item {
        id: id.into(),
        text_zh: "是否已建立粉尘清扫制度".into(),
        help_zh: String::new(),
        legal_basis: None,
        answer_type: AnswerType::YesNoNa,
        required: true,
        major_hazard: false,
        photo_required_on_fail: false,
        applies_if: None,
        fail_when: fail,
        sets_fact: None,
        photo_required_when: Vec::new(),
        known: None,
    }
}

fn template(items: Vec<Item>) -> Template {
    Template {
        id: "t".into(),
        version: 1,
        title_zh: "测试".into(),
        role: Role::Expert,
        kind: TemplateKind::MajorHazard,
        requires_signature: None,
        sections: vec![Section {
            id: "s".into(),
            title_zh: "一".into(),
            items,
        }],
    }
}

#[test]
fn a_duplicate_item_id_is_refused() {
    let t = template(vec![
        yes_no("R6-19", Some(FailWhen::No)),
        yes_no("R6-19", Some(FailWhen::No)),
    ]);
    assert_eq!(
        t.validate(),
        Err(vec![TemplateError::DuplicateItem("R6-19".into())])
    );
}

#[test]
fn a_yes_no_item_must_say_which_answer_fails() {
    let t = template(vec![yes_no("A", None)]);
    assert_eq!(
        t.validate(),
        Err(vec![TemplateError::MissingFailWhen("A".into())])
    );
}

#[test]
fn a_major_item_that_can_never_fail_is_refused() {
    let mut item = yes_no("A", Some(FailWhen::Never));
    item.major_hazard = true;
    assert_eq!(
        template(vec![item]).validate(),
        Err(vec![TemplateError::NeverFails("A".into())])
    );
}

#[test]
fn a_choice_item_needs_distinct_choices() {
    let mut item = yes_no("C", None);
    item.answer_type = AnswerType::Choice {
        choices: vec![],
        multiple: false,
    };
    assert_eq!(
        template(vec![item.clone()]).validate(),
        Err(vec![TemplateError::NoChoices("C".into())])
    );
    let c = Choice {
        value: "a".into(),
        label_zh: "甲".into(),
    };
    item.answer_type = AnswerType::Choice {
        choices: vec![c.clone(), c],
        multiple: false,
    };
    assert_eq!(
        template(vec![item]).validate(),
        Err(vec![TemplateError::DuplicateChoice {
            item: "C".into(),
            value: "a".into()
        }])
    );
}

#[test]
fn a_fact_effect_must_fit_its_item() {
    let mut item = yes_no("N", None);
    item.answer_type = AnswerType::Text;
    item.sets_fact = Some(FactEffect {
        fact: FactName::parse("WORKERS_PER_SHIFT").expect("known"),
        when: vec![],
    });
    let errs = template(vec![item]).validate().expect_err("refused");
    assert!(matches!(&errs[0], TemplateError::BadFactEffect { item, .. } if item == "N"));
}

#[test]
fn a_template_naming_an_unknown_fact_does_not_load() {
    let json = r#"{"id":"t","version":1,"title_zh":"t","role":"expert","kind":"survey",
        "sections":[{"id":"s","title_zh":"s","items":[{"id":"A","text_zh":"x",
        "answer_type":{"type":"yes_no_na"},"fail_when":"no","applies_if":"AL_MG && COPPER"}]}]}"#;
    let err = serde_json::from_str::<Template>(json).expect_err("unknown fact");
    assert!(err.to_string().contains("unknown fact `COPPER`"), "{err}");
    let fixed = json.replace("COPPER", "WOOD");
    let t: Template = serde_json::from_str(&fixed).expect("valid");
    assert_eq!(t.validate(), Ok(()));
    assert_eq!(
        t.item("A").and_then(|i| i.applies_if.clone()),
        Some(Condition::parse("AL_MG && WOOD").expect("valid"))
    );
}

#[test]
fn version_zero_and_empty_templates_are_refused() {
    let mut t = template(vec![]);
    t.version = 0;
    let errs = t.validate().expect_err("refused");
    assert!(errs.contains(&TemplateError::ZeroVersion));
    assert!(errs.contains(&TemplateError::NoItems));
}
