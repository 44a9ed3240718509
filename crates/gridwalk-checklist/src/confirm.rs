//! What a finalized inspection confirms about its enterprise (docs/campaign.md
//! "Enterprise facts"): read once from the template and the answers, applied to a
//! register row the same way on the phone (at finalize) and on the server (projected,
//! then published with who confirmed it, when, and from which inspection).
//!
//! * dust-type verification: the dust types (and so dust involvement and Al/Mg) and
//!   workers per shift — [`ConfirmedFact::Dust`];
//! * grid survey: dust involvement seen, workers per shift when the register has none
//!   ([`ConfirmedFact::SurveyDust`]); safety officer, risk report, warning education;
//! * spot check: safety officer, risk report, warning education.

use crate::answer::{AnswerValue, YesNoNa};
use crate::evaluate::Answers;
use crate::facts::EnterpriseFacts;
use crate::template::{Template, TemplateKind};
use crate::verification::{facts_from_verification, FactUpdate};
use gridwalk_core::dust::DustFlag;
use gridwalk_core::enterprise::{RiskReportStatus, SafetyOfficer, TrainingStatus};
use gridwalk_core::Enterprise;
use serde::{Deserialize, Serialize};

/// A fact of the register an inspection can confirm; its name is the wire and column
/// name (`enterprise_status.<name>_at` on the phone, `enterprise_fact.fact` on the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmedFact {
    /// Dust involvement seen on a grid survey (and workers per shift, if unknown).
    SurveyDust,
    /// Dust types confirmed by an expert's verification (粉尘种类确认).
    #[serde(rename = "dust_confirmed")]
    Dust,
    /// 安全专员 present (or not) on site.
    SafetyOfficer,
    /// 风险报告 status.
    RiskReport,
    /// 警示教育 (training) status.
    Training,
}

impl ConfirmedFact {
    /// Every fact, in the order they are applied to a register row.
    pub const ALL: [ConfirmedFact; 5] = [
        ConfirmedFact::SurveyDust,
        ConfirmedFact::Dust,
        ConfirmedFact::SafetyOfficer,
        ConfirmedFact::RiskReport,
        ConfirmedFact::Training,
    ];

    /// The wire and column name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmedFact::SurveyDust => "survey_dust",
            ConfirmedFact::Dust => "dust_confirmed",
            ConfirmedFact::SafetyOfficer => "safety_officer",
            ConfirmedFact::RiskReport => "risk_report",
            ConfirmedFact::Training => "training",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ConfirmedFact> {
        ConfirmedFact::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The outcomes a confirmation of this fact can have ([`Confirmations::outcome`]),
    /// what a campaign's `done_when.fact` names.
    pub fn outcomes(self) -> &'static [&'static str] {
        match self {
            ConfirmedFact::SurveyDust => &["dust_seen", "no_dust"],
            ConfirmedFact::Dust => &["confirmed"],
            ConfirmedFact::SafetyOfficer => &["present", "absent"],
            ConfirmedFact::RiskReport => &["filed", "helped_on_site", "not_filed"],
            ConfirmedFact::Training => &["done", "not_done"],
        }
    }

    /// Checks a campaign's `done_when.fact`: a fact this crate confirms, and outcomes it
    /// can have.
    pub fn check_outcome(f: &gridwalk_core::FactOutcome) -> Result<ConfirmedFact, String> {
        let fact = ConfirmedFact::parse(&f.name).ok_or_else(|| {
            let names: Vec<&str> = ConfirmedFact::ALL.iter().map(|f| f.as_str()).collect();
            format!("unknown fact `{}` (one of {})", f.name, names.join(", "))
        })?;
        if let Some(o) = f
            .outcomes
            .iter()
            .find(|o| !fact.outcomes().contains(&o.as_str()))
        {
            return Err(format!(
                "fact `{}` has no outcome `{o}` (one of {})",
                f.name,
                fact.outcomes().join(", ")
            ));
        }
        Ok(fact)
    }
}

/// The safety officer as an inspection saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficerSeen {
    pub present: bool,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The risk report as an inspection recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskReportSeen {
    Filed,
    NotFiled,
    HelpedOnSite,
    /// Filed (a spot check's "yes"), unless it was filed with a grid worker's help.
    FiledKeepingHelp,
}

/// Everything one finalized inspection confirms; absent parts confirm nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confirmations {
    /// The dust-type verification's facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dust: Option<FactUpdate>,
    /// A survey saw dust (`SV-01` yes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dust_seen: bool,
    /// Workers per shift counted by a survey (kept only where the register has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_seen: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_officer: Option<OfficerSeen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_report: Option<RiskReportSeen>,
    /// Warning education attended (`true`) or not done (a failed test is not done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<bool>,
    /// The principal passed the test (grid survey v2, `SV-09T`): the training is
    /// verified (已考核), not only attended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_tested: Option<bool>,
}

fn yes_no(answers: &Answers, item: &str) -> Option<YesNoNa> {
    match answers.get(item).map(|a| &a.value) {
        Some(AnswerValue::YesNoNa(v)) => Some(*v),
        _ => None,
    }
}

fn text(answers: &Answers, item: &str) -> Option<String> {
    match answers.get(item).map(|a| &a.value) {
        Some(AnswerValue::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

fn officer(answers: &Answers, present: &str, name: &str, phone: &str) -> Option<OfficerSeen> {
    match yes_no(answers, present)? {
        YesNoNa::Yes => Some(OfficerSeen {
            present: true,
            name: text(answers, name),
            phone: text(answers, phone),
        }),
        YesNoNa::No => Some(OfficerSeen {
            present: false,
            name: None,
            phone: None,
        }),
        YesNoNa::Na => None,
    }
}

fn training(answers: &Answers, item: &str) -> Option<bool> {
    match yes_no(answers, item)? {
        YesNoNa::Yes => Some(true),
        YesNoNa::No => Some(false),
        YesNoNa::Na => None,
    }
}

/// The items of a template that ask the notice's duties on the visit: the 安全专员, the
/// risk report and the warning-education training.
struct DutyItems {
    officer: &'static str,
    officer_name: &'static str,
    officer_phone: &'static str,
    risk_report: &'static str,
    training: &'static str,
    training_tested: &'static str,
}

/// The grid survey's (version 2 added `SV-09T`).
const SURVEY_DUTIES: DutyItems = DutyItems {
    officer: "SV-05",
    officer_name: "SV-06",
    officer_phone: "SV-07",
    risk_report: "SV-08",
    training: "SV-09",
    training_tested: "SV-09T",
};

/// The expert's major-hazard checklist's (version 2; version 1 asks none of them).
const EXPERT_DUTIES: DutyItems = DutyItems {
    officer: "DT-01",
    officer_name: "DT-02",
    officer_phone: "DT-03",
    risk_report: "DT-04",
    training: "DT-05",
    training_tested: "DT-05T",
};

/// Fills the duties' confirmations from the answers to `items` (an item left open, or
/// one this version of the template does not ask, confirms nothing).
fn duties(c: &mut Confirmations, template: &Template, answers: &Answers, items: &DutyItems) {
    let asked: Answers = [
        items.officer,
        items.officer_name,
        items.officer_phone,
        items.risk_report,
        items.training,
        items.training_tested,
    ]
    .into_iter()
    .filter(|id| template.item(id).is_some())
    .filter_map(|id| answers.get(id).map(|a| (id.to_string(), a.clone())))
    .collect();
    let answers = &asked;
    c.safety_officer = officer(
        answers,
        items.officer,
        items.officer_name,
        items.officer_phone,
    );
    c.risk_report = match answers.get(items.risk_report).map(|a| &a.value) {
        Some(AnswerValue::Choice(v)) => match v.first().map(String::as_str) {
            Some("filed") => Some(RiskReportSeen::Filed),
            Some("helped_on_site") => Some(RiskReportSeen::HelpedOnSite),
            Some("not_filed") => Some(RiskReportSeen::NotFiled),
            _ => None,
        },
        _ => None,
    };
    c.training = training(answers, items.training);
    c.training_tested = training(answers, items.training_tested);
    if c.training == Some(true) && c.training_tested == Some(false) {
        c.training = Some(false);
    }
}

/// What an inspection with `template` and `answers` confirms about its enterprise.
pub fn confirmations(template: &Template, answers: &Answers) -> Confirmations {
    let mut c = Confirmations::default();
    match template.kind {
        TemplateKind::DustVerification => c.dust = Some(facts_from_verification(template, answers)),
        TemplateKind::Survey => {
            c.dust_seen = yes_no(answers, "SV-01") == Some(YesNoNa::Yes);
            if let Some(AnswerValue::Number(n)) = answers.get("SV-03").map(|a| &a.value) {
                if n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n <= f64::from(u32::MAX) {
                    c.workers_seen = Some(*n as u32);
                }
            }
            duties(&mut c, template, answers, &SURVEY_DUTIES);
        }
        TemplateKind::MajorHazard => duties(&mut c, template, answers, &EXPERT_DUTIES),
        TemplateKind::SpotCheck => {
            c.safety_officer = officer(answers, "SC-04", "", "");
            c.risk_report = match yes_no(answers, "SC-05") {
                Some(YesNoNa::Yes) => Some(RiskReportSeen::FiledKeepingHelp),
                Some(YesNoNa::No) => Some(RiskReportSeen::NotFiled),
                _ => None,
            };
            c.training = training(answers, "SC-06");
        }
        _ => {}
    }
    c
}

impl Confirmations {
    /// The facts this confirms, in application order.
    pub fn facts(&self) -> Vec<ConfirmedFact> {
        ConfirmedFact::ALL
            .into_iter()
            .filter(|f| !self.only(*f).is_empty())
            .collect()
    }

    /// The outcome this confirms for `fact` (one of [`ConfirmedFact::outcomes`]), if it
    /// confirms it: what coverage compares (a spot check's "filed" is `filed`).
    pub fn outcome(&self, fact: ConfirmedFact) -> Option<&'static str> {
        match fact {
            ConfirmedFact::SurveyDust => {
                if self.dust_seen {
                    Some("dust_seen")
                } else if self.workers_seen.is_some() {
                    Some("no_dust")
                } else {
                    None
                }
            }
            ConfirmedFact::Dust => self.dust.as_ref().map(|_| "confirmed"),
            ConfirmedFact::SafetyOfficer => {
                self.safety_officer
                    .as_ref()
                    .map(|o| if o.present { "present" } else { "absent" })
            }
            ConfirmedFact::RiskReport => self.risk_report.map(|r| match r {
                RiskReportSeen::Filed | RiskReportSeen::FiledKeepingHelp => "filed",
                RiskReportSeen::HelpedOnSite => "helped_on_site",
                RiskReportSeen::NotFiled => "not_filed",
            }),
            ConfirmedFact::Training => self.training.map(|t| if t { "done" } else { "not_done" }),
        }
    }

    /// True if it confirms nothing.
    pub fn is_empty(&self) -> bool {
        *self == Confirmations::default()
    }

    /// The part of this that confirms `fact` (empty if none).
    pub fn only(&self, fact: ConfirmedFact) -> Confirmations {
        let mut c = Confirmations::default();
        match fact {
            ConfirmedFact::SurveyDust => {
                c.dust_seen = self.dust_seen;
                c.workers_seen = self.workers_seen;
            }
            ConfirmedFact::Dust => c.dust = self.dust.clone(),
            ConfirmedFact::SafetyOfficer => c.safety_officer = self.safety_officer.clone(),
            ConfirmedFact::RiskReport => c.risk_report = self.risk_report,
            ConfirmedFact::Training => {
                c.training = self.training;
                if self.training.is_some() {
                    c.training_tested = self.training_tested;
                }
            }
        }
        c
    }

    /// Applies this to a register row.
    pub fn apply_to(&self, e: &mut Enterprise) {
        if self.dust_seen {
            e.dust_involved = true;
        }
        if e.workers_per_shift.is_none() {
            if let Some(w) = self.workers_seen {
                e.workers_per_shift = Some(w);
            }
        }
        if let Some(update) = &self.dust {
            if let Some(types) = &update.dust_types {
                e.dust_types = types.clone();
                e.dust_involved = !types.is_empty();
                let mut f = EnterpriseFacts::default();
                f.add_dust_types(types);
                e.al_mg = f.flags.contains(&DustFlag::AlMg);
            }
            if let Some(w) = update.workers_per_shift {
                e.workers_per_shift = Some(w);
            }
        }
        if let Some(o) = &self.safety_officer {
            if o.present {
                let mut s = e.safety_officer.clone().unwrap_or(SafetyOfficer {
                    name: String::new(),
                    phone: None,
                    confirmed_on_site: false,
                });
                if let Some(n) = &o.name {
                    s.name = n.clone();
                }
                if let Some(p) = &o.phone {
                    s.phone = Some(p.clone());
                }
                if s.name.trim().is_empty() {
                    s.name = "（未登记姓名）".to_string();
                }
                s.confirmed_on_site = true;
                e.safety_officer = Some(s);
            } else if let Some(s) = &mut e.safety_officer {
                s.confirmed_on_site = false;
            }
        }
        match self.risk_report {
            Some(RiskReportSeen::Filed) => e.risk_report = RiskReportStatus::Filed,
            Some(RiskReportSeen::NotFiled) => e.risk_report = RiskReportStatus::NotFiled,
            Some(RiskReportSeen::HelpedOnSite) => e.risk_report = RiskReportStatus::HelpedOnSite,
            Some(RiskReportSeen::FiledKeepingHelp)
                if e.risk_report != RiskReportStatus::HelpedOnSite =>
            {
                e.risk_report = RiskReportStatus::Filed;
            }
            Some(RiskReportSeen::FiledKeepingHelp) | None => {}
        }
        match self.training {
            Some(true) if self.training_tested == Some(true) => {
                e.warning_education = TrainingStatus::Verified;
            }
            Some(true) if e.warning_education != TrainingStatus::Verified => {
                e.warning_education = TrainingStatus::Attended;
            }
            Some(false) => e.warning_education = TrainingStatus::NotDone,
            Some(true) | None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Answer;

    fn spot_check(officer: YesNoNa, report: YesNoNa, trained: YesNoNa) -> Confirmations {
        let t = crate::builtin_template("supervision-spot-check").expect("shipped");
        let mut answers = Answers::new();
        for (item, v) in [("SC-04", officer), ("SC-05", report), ("SC-06", trained)] {
            answers.insert(item.into(), Answer::new(AnswerValue::YesNoNa(v)));
        }
        confirmations(&t, &answers)
    }

    fn survey_training(attended: YesNoNa, tested: YesNoNa) -> Confirmations {
        let t = crate::builtin_template("grid-survey").expect("shipped");
        let mut answers = Answers::new();
        answers.insert("SV-09".into(), Answer::new(AnswerValue::YesNoNa(attended)));
        answers.insert("SV-09T".into(), Answer::new(AnswerValue::YesNoNa(tested)));
        confirmations(&t, &answers)
    }

    /// The expert's checklist version 2 asks the duties (`DT-*`) and confirms what was
    /// answered; version 1, and a version 2 whose duties were left open, confirm nothing.
    #[test]
    fn the_experts_checklist_confirms_the_duties_it_was_answered() {
        let v2 = crate::builtin_template("expert-major-hazard").expect("shipped");
        assert_eq!(v2.version, 2);
        for id in ["DT-01", "DT-02", "DT-03", "DT-04", "DT-05", "DT-05T"] {
            let item = v2.item(id).unwrap_or_else(|| panic!("{id} asked"));
            assert!(
                !item.required,
                "{id}: asked, but the expert may leave it open"
            );
        }
        use crate::template::KnownFact;
        for (id, known) in [
            ("DT-01", KnownFact::SafetyOfficerPresent),
            ("DT-02", KnownFact::SafetyOfficerName),
            ("DT-03", KnownFact::SafetyOfficerPhone),
            ("DT-04", KnownFact::RiskReport),
            ("DT-05", KnownFact::Training),
        ] {
            let k = v2.item(id).and_then(|i| i.known);
            assert_eq!(k, Some(known), "{id} is prefilled from the register");
        }
        let mut answers = Answers::new();
        assert!(confirmations(&v2, &answers).is_empty());
        answers.insert(
            "DT-01".into(),
            Answer::new(AnswerValue::YesNoNa(YesNoNa::Yes)),
        );
        answers.insert(
            "DT-02".into(),
            Answer::new(AnswerValue::Text("张安全".into())),
        );
        answers.insert(
            "DT-04".into(),
            Answer::new(AnswerValue::Choice(vec!["helped_on_site".into()])),
        );
        answers.insert(
            "DT-05".into(),
            Answer::new(AnswerValue::YesNoNa(YesNoNa::Yes)),
        );
        answers.insert(
            "DT-05T".into(),
            Answer::new(AnswerValue::YesNoNa(YesNoNa::No)),
        );
        let c = confirmations(&v2, &answers);
        assert_eq!(
            c.facts(),
            vec![
                ConfirmedFact::SafetyOfficer,
                ConfirmedFact::RiskReport,
                ConfirmedFact::Training
            ]
        );
        assert_eq!(c.outcome(ConfirmedFact::SafetyOfficer), Some("present"));
        assert_eq!(c.outcome(ConfirmedFact::RiskReport), Some("helped_on_site"));
        assert_eq!(
            c.outcome(ConfirmedFact::Training),
            Some("not_done"),
            "attended but failed the test"
        );
        let v1 = crate::builtin_template_version("expert-major-hazard", 1).expect("v1 shipped");
        assert!(v1.item("DT-01").is_none());
        assert!(
            confirmations(&v1, &answers).is_empty(),
            "version 1 asks none of them"
        );
    }

    #[test]
    fn a_survey_verifies_training_only_when_the_principal_passed_the_test() {
        let mut e: Enterprise = serde_json::from_value(serde_json::json!({
            "id": "01900000-0000-7000-8000-000000000001", "uscc": "91320413MA1XY0001Y",
            "name": "x", "address": null, "village_code": "320413100201", "location": null,
            "industry": null, "dust_involved": true, "dust_types": [], "workers_per_shift": null,
            "al_mg": true, "key_supervision": false, "safety_officer": null,
            "risk_report": "unknown", "warning_education": "unknown"
        }))
        .expect("enterprise");
        let passed = survey_training(YesNoNa::Yes, YesNoNa::Yes);
        assert_eq!(passed.outcome(ConfirmedFact::Training), Some("done"));
        passed.only(ConfirmedFact::Training).apply_to(&mut e);
        assert_eq!(e.warning_education, TrainingStatus::Verified);
        let failed = survey_training(YesNoNa::Yes, YesNoNa::No);
        assert_eq!(failed.outcome(ConfirmedFact::Training), Some("not_done"));
        failed.apply_to(&mut e);
        assert_eq!(e.warning_education, TrainingStatus::NotDone);
        let attended = survey_training(YesNoNa::Yes, YesNoNa::Na);
        attended.apply_to(&mut e);
        assert_eq!(e.warning_education, TrainingStatus::Attended);
    }

    #[test]
    fn a_spot_check_confirms_the_officer_the_report_and_training_and_says_which() {
        let c = spot_check(YesNoNa::Yes, YesNoNa::Yes, YesNoNa::Na);
        assert_eq!(
            c.facts(),
            [ConfirmedFact::SafetyOfficer, ConfirmedFact::RiskReport]
        );
        assert_eq!(c.only(ConfirmedFact::Training), Confirmations::default());
        assert_eq!(
            c.only(ConfirmedFact::RiskReport).risk_report,
            Some(RiskReportSeen::FiledKeepingHelp)
        );
        for f in ConfirmedFact::ALL {
            assert_eq!(ConfirmedFact::parse(f.as_str()), Some(f));
        }
    }

    #[test]
    fn each_confirmation_has_one_outcome_of_its_fact_and_campaigns_name_only_those() {
        let c = spot_check(YesNoNa::No, YesNoNa::Yes, YesNoNa::No);
        assert_eq!(c.outcome(ConfirmedFact::SafetyOfficer), Some("absent"));
        assert_eq!(c.outcome(ConfirmedFact::RiskReport), Some("filed"));
        assert_eq!(c.outcome(ConfirmedFact::Training), Some("not_done"));
        assert_eq!(c.outcome(ConfirmedFact::Dust), None);
        for f in c.facts() {
            let o = c.outcome(f).expect("a confirmed fact has an outcome");
            assert!(f.outcomes().contains(&o), "{f:?} {o}");
        }
        let named = |name: &str, outcomes: &[&str]| gridwalk_core::FactOutcome {
            name: name.into(),
            outcomes: outcomes.iter().map(|o| o.to_string()).collect(),
        };
        assert_eq!(
            ConfirmedFact::check_outcome(&named("risk_report", &["filed", "helped_on_site"])),
            Ok(ConfirmedFact::RiskReport)
        );
        let e = ConfirmedFact::check_outcome(&named("risk_report", &["done"]))
            .expect_err("training's outcome");
        assert!(e.contains("helped_on_site"), "{e}");
        assert!(ConfirmedFact::check_outcome(&named("licence", &["ok"])).is_err());
    }

    #[test]
    fn applying_keeps_a_report_filed_with_help_and_verified_training() {
        let mut e: Enterprise = serde_json::from_value(serde_json::json!({
            "id": "01900000-0000-7000-8000-000000000001", "uscc": "91320413MA1XY0001Y",
            "name": "x", "address": null, "village_code": "320413100201", "location": null,
            "industry": null, "dust_involved": true, "dust_types": [], "workers_per_shift": null,
            "al_mg": false, "key_supervision": false, "safety_officer": null,
            "risk_report": "helped_on_site", "warning_education": "verified"
        }))
        .expect("enterprise");
        spot_check(YesNoNa::Yes, YesNoNa::Yes, YesNoNa::Yes).apply_to(&mut e);
        assert_eq!(e.risk_report, RiskReportStatus::HelpedOnSite);
        assert_eq!(e.warning_education, TrainingStatus::Verified);
        assert_eq!(
            e.safety_officer
                .clone()
                .map(|o| (o.name, o.confirmed_on_site)),
            Some(("（未登记姓名）".to_string(), true))
        );
        spot_check(YesNoNa::No, YesNoNa::No, YesNoNa::No).apply_to(&mut e);
        assert_eq!(e.risk_report, RiskReportStatus::NotFiled);
        assert_eq!(e.warning_education, TrainingStatus::NotDone);
    }
}
