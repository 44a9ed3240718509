//! Parsing what the worker typed.

use gridwalk_checklist::{
    builtin_template, parse_answer, AnswerError, AnswerValue, Item, Template, YesNoNa,
};

fn item(t: &Template, id: &str) -> Item {
    t.item(id).cloned().unwrap_or_else(|| panic!("{id}"))
}

fn survey() -> Template {
    builtin_template("grid-survey").expect("shipped")
}

#[test]
fn yes_no_na_accepts_english_and_chinese() {
    let q = item(&survey(), "SV-05");
    for (raw, want) in [
        ("yes", YesNoNa::Yes),
        ("是", YesNoNa::Yes),
        (" Y ", YesNoNa::Yes),
        ("no", YesNoNa::No),
        ("否", YesNoNa::No),
        ("na", YesNoNa::Na),
        ("不适用", YesNoNa::Na),
    ] {
        assert_eq!(
            parse_answer(&q, raw),
            Ok(AnswerValue::YesNoNa(want)),
            "{raw}"
        );
    }
    assert_eq!(
        parse_answer(&q, "maybe"),
        Err(AnswerError::NotYesNoNa("maybe".into()))
    );
    assert_eq!(parse_answer(&q, "  "), Err(AnswerError::Empty));
}

#[test]
fn whole_numbers_may_carry_their_unit_but_not_fractions() {
    let q = item(&survey(), "SV-03");
    assert_eq!(parse_answer(&q, "12"), Ok(AnswerValue::Number(12.0)));
    assert_eq!(parse_answer(&q, "12人"), Ok(AnswerValue::Number(12.0)));
    assert_eq!(parse_answer(&q, "12 人"), Ok(AnswerValue::Number(12.0)));
    assert_eq!(
        parse_answer(&q, "1.5"),
        Err(AnswerError::NotAWholeNumber("1.5".into()))
    );
    assert_eq!(
        parse_answer(&q, "-2"),
        Err(AnswerError::NotAWholeNumber("-2".into()))
    );
    for bad in ["twelve", "NaN", "inf", "1e3", "1.", ".5", "--1"] {
        assert!(
            matches!(parse_answer(&q, bad), Err(AnswerError::NotANumber(_))),
            "{bad}"
        );
    }
}

#[test]
fn decimal_numbers_are_allowed_where_the_item_is_not_integer() {
    let pre = builtin_template("pre-lease-check").expect("shipped");
    let q = item(&pre, "LR-R-03");
    assert_eq!(
        parse_answer(&q, "1250.5平方米"),
        Ok(AnswerValue::Number(1250.5))
    );
}

#[test]
fn choices_match_values_or_chinese_labels_in_template_order() {
    let t = survey();
    let dust = item(&t, "SV-02");
    assert_eq!(
        parse_answer(&dust, "木粉、al"),
        Ok(AnswerValue::Choice(vec!["al".into(), "wood".into()]))
    );
    assert_eq!(
        parse_answer(&dust, "其他，需专家确认"),
        Ok(AnswerValue::Choice(vec!["other".into()])),
        "a whole label is matched before splitting on commas"
    );
    assert_eq!(
        parse_answer(&dust, "other"),
        Ok(AnswerValue::Choice(vec!["other".into()]))
    );
    let report = item(&t, "SV-08");
    assert_eq!(
        parse_answer(&report, "现场帮助填报"),
        Ok(AnswerValue::Choice(vec!["helped_on_site".into()]))
    );
    assert_eq!(
        parse_answer(&report, "filed, not_filed"),
        Err(AnswerError::SeveralChoices)
    );
    assert_eq!(
        parse_answer(&report, "lost"),
        Err(AnswerError::UnknownChoice("lost".into()))
    );
}

#[test]
fn text_is_trimmed_and_photos_are_sha256_hashes() {
    let t = survey();
    assert_eq!(
        parse_answer(&item(&t, "SV-06"), "  张三 "),
        Ok(AnswerValue::Text("张三".into()))
    );
    let photo = item(&t, "SV-13");
    let h = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
    assert_eq!(
        parse_answer(&photo, h),
        Ok(AnswerValue::Photos(vec![h.to_ascii_lowercase()]))
    );
    assert_eq!(
        parse_answer(&photo, "abc"),
        Err(AnswerError::BadPhotoHash("abc".into()))
    );
}
