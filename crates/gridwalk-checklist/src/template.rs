//! The checklist template model and its validation.
//!
//! A template is versioned data: sections of items, each item with its Chinese text,
//! legal basis, answer type, when it applies ([`Condition`]) and which answer is a
//! failure. Templates are authored as JSON (shipped ones) or Excel (see `excel`), and
//! every template is validated before use.

use crate::condition::Condition;
use crate::facts::FactName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Who fills the template in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格员
    GridWorker,
    /// 专家
    Expert,
    /// 乡镇/区 officer
    Officer,
    /// 督查组
    Supervisor,
}

/// What kind of visit the template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// 排查 walk-through survey.
    Survey,
    /// 粉尘种类确认.
    DustVerification,
    /// 重大事故隐患 inspection.
    MajorHazard,
    /// 租前体检.
    PreLease,
    /// 督查抽查.
    SpotCheck,
    /// 复查.
    Reinspection,
}

/// A versioned checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    /// Bumped on every content change; inspections record id + version.
    pub version: u32,
    pub title_zh: String,
    pub role: Role,
    pub kind: TemplateKind,
    /// Whether finalizing needs at least one signature (签字) of the enterprise's
    /// representative. Absent: the kind's default ([`TemplateKind::needs_signature`]);
    /// see [`Template::signature_required`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_signature: Option<bool>,
    pub sections: Vec<Section>,
}

/// A titled group of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub id: String,
    pub title_zh: String,
    pub items: Vec<Item>,
}

/// Where an item's requirement comes from, e.g. `10号令` `第十一条(三)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LegalBasis {
    pub document: String,
    pub article: String,
    /// `regulations.md` tags the article number or the wording as not confirmed (`[K]`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub unconfirmed: bool,
}

impl fmt::Display for LegalBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.document, self.article)?;
        if self.unconfirmed {
            f.write_str("（待核实）")?;
        }
        Ok(())
    }
}

/// One option of a choice item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Stable ASCII value stored in answers.
    pub value: String,
    pub label_zh: String,
}

/// How an item is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnswerType {
    /// 是 / 否 / 不适用.
    YesNoNa,
    /// A number with a unit (人, 层, 套…); `integer` refuses fractions.
    Number {
        unit: String,
        #[serde(default, skip_serializing_if = "is_false")]
        integer: bool,
    },
    /// One (or with `multiple`, several) of fixed choices.
    Choice {
        choices: Vec<Choice>,
        #[serde(default, skip_serializing_if = "is_false")]
        multiple: bool,
    },
    /// Free text.
    Text,
    /// One or more photos (answered by their SHA-256 hashes).
    Photo,
}

impl AnswerType {
    /// The type's name as written in Excel sheets.
    pub fn name(&self) -> &'static str {
        match self {
            AnswerType::YesNoNa => "yes_no_na",
            AnswerType::Number { .. } => "number",
            AnswerType::Choice { .. } => "choice",
            AnswerType::Text => "text",
            AnswerType::Photo => "photo",
        }
    }
}

/// Which yes/no answer is the failure. Hazard items phrased as the bad situation
/// ("存在…", "未…") fail on `yes`; obligations ("是否已…") fail on `no`; `never` marks
/// a yes/no item that only records a fact and is not scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailWhen {
    Yes,
    No,
    Never,
}

/// A fact an answer sets (dust-type verification and lease records).
///
/// * `DUST_TYPE` on a choice item whose values are 2015-directory codes (or `other`).
/// * A yes/no fact (`DRY_COLLECTOR`, `MULTI_BUILDING`…) on a yes/no item: `yes` sets
///   it, `no` clears it, `na` leaves it; on a choice item it is set when any selected
///   value is in `when` and cleared otherwise.
/// * A numeric fact (`WORKERS_PER_SHIFT`, `STOREYS`) on an integer number item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactEffect {
    pub fact: FactName,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<String>,
}

/// One checklist question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Stable id; `regulations.md` ids (`MH-D-03`, `R6-19`, `FZ-P-08`) where it applies.
    pub id: String,
    pub text_zh: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help_zh: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    pub answer_type: AnswerType,
    #[serde(default = "yes")]
    pub required: bool,
    /// A 重大事故隐患 item: its failure is a major finding.
    #[serde(default, skip_serializing_if = "is_false")]
    pub major_hazard: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub photo_required_on_fail: bool,
    /// `None`: always applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_if: Option<Condition>,
    /// Required for yes/no items, absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_when: Option<FailWhen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sets_fact: Option<FactEffect>,
    /// Answers that must carry a photo as evidence (`yes`, `no` for yes/no items; choice
    /// values): "filed" needs the photo of the filing page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_required_when: Vec<String>,
    /// What the register already knows for this question, shown on the phone beside it
    /// (and offered as the answer) so the visit confirms or corrects it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<KnownFact>,
}

/// A register fact an item asks about again on the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnownFact {
    /// 安全专员 present (yes/no item).
    SafetyOfficerPresent,
    /// 安全专员 name (text item).
    SafetyOfficerName,
    /// 安全专员 phone (text item).
    SafetyOfficerPhone,
    /// 风险报告 status (choice item of `filed`, `helped_on_site`, `not_filed`).
    RiskReport,
    /// 警示教育 attended (yes/no item).
    Training,
}

impl KnownFact {
    /// The answer types the fact can fill.
    fn fits(self, t: &AnswerType) -> bool {
        match self {
            KnownFact::SafetyOfficerPresent | KnownFact::Training => {
                matches!(t, AnswerType::YesNoNa)
            }
            KnownFact::SafetyOfficerName | KnownFact::SafetyOfficerPhone => {
                matches!(t, AnswerType::Text)
            }
            KnownFact::RiskReport => matches!(t, AnswerType::Choice { .. }),
        }
    }
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A problem found by [`Template::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template id is empty")]
    EmptyTemplateId,
    #[error("template version must be at least 1")]
    ZeroVersion,
    #[error("template has no items")]
    NoItems,
    #[error("duplicate section id `{0}`")]
    DuplicateSection(String),
    #[error("duplicate item id `{0}`")]
    DuplicateItem(String),
    #[error("item id is empty (section `{section}`)")]
    EmptyItemId { section: String },
    #[error("item `{0}` has no Chinese text")]
    EmptyText(String),
    #[error("yes/no item `{0}` must say which answer fails (fail_when yes|no|never)")]
    MissingFailWhen(String),
    #[error("item `{item}` is {answer_type}; only yes/no items take fail_when")]
    FailWhenOnNonYesNo { item: String, answer_type: String },
    #[error("choice item `{0}` has no choices")]
    NoChoices(String),
    #[error("choice item `{item}` repeats the value `{value}`")]
    DuplicateChoice { item: String, value: String },
    #[error("choice item `{item}` has an empty value or label")]
    EmptyChoice { item: String },
    #[error("item `{0}` is marked major or photo-on-fail but can never fail")]
    NeverFails(String),
    #[error("item `{item}` asks for a photo when answered `{value}`, which it cannot be")]
    BadPhotoRequiredWhen { item: String, value: String },
    #[error("item `{item}` is {answer_type} and cannot show the known {fact:?}")]
    BadKnown {
        item: String,
        fact: KnownFact,
        answer_type: String,
    },
    #[error("item `{item}` sets `{fact}` but is {answer_type}: {reason}")]
    BadFactEffect {
        item: String,
        fact: String,
        answer_type: String,
        reason: &'static str,
    },
}

impl Item {
    /// Whether a yes/no item is scored (can fail).
    pub fn is_scored(&self) -> bool {
        matches!(self.answer_type, AnswerType::YesNoNa)
            && matches!(self.fail_when, Some(FailWhen::Yes | FailWhen::No))
    }

    /// The item's problems, independent of the rest of the template.
    pub fn problems(&self) -> Vec<TemplateError> {
        let mut errs = Vec::new();
        let id = || self.id.clone();
        if self.text_zh.trim().is_empty() {
            errs.push(TemplateError::EmptyText(id()));
        }
        match (&self.answer_type, self.fail_when) {
            (AnswerType::YesNoNa, None) => errs.push(TemplateError::MissingFailWhen(id())),
            (AnswerType::YesNoNa, Some(_)) => {}
            (t, Some(_)) => errs.push(TemplateError::FailWhenOnNonYesNo {
                item: id(),
                answer_type: t.name().into(),
            }),
            _ => {}
        }
        if let AnswerType::Choice { choices, .. } = &self.answer_type {
            if choices.is_empty() {
                errs.push(TemplateError::NoChoices(id()));
            }
            let mut seen = BTreeSet::new();
            for c in choices {
                if c.value.trim().is_empty() || c.label_zh.trim().is_empty() {
                    errs.push(TemplateError::EmptyChoice { item: id() });
                }
                if !seen.insert(c.value.as_str()) {
                    errs.push(TemplateError::DuplicateChoice {
                        item: id(),
                        value: c.value.clone(),
                    });
                }
            }
        }
        if (self.major_hazard || self.photo_required_on_fail) && !self.is_scored() {
            errs.push(TemplateError::NeverFails(id()));
        }
        for value in &self.photo_required_when {
            let possible = match &self.answer_type {
                AnswerType::YesNoNa => ["yes", "no", "na"].contains(&value.as_str()),
                AnswerType::Choice { choices, .. } => choices.iter().any(|c| &c.value == value),
                _ => false,
            };
            if !possible {
                errs.push(TemplateError::BadPhotoRequiredWhen {
                    item: id(),
                    value: value.clone(),
                });
            }
        }
        if let Some(fact) = self.known {
            if !fact.fits(&self.answer_type) {
                errs.push(TemplateError::BadKnown {
                    item: id(),
                    fact,
                    answer_type: self.answer_type.name().into(),
                });
            }
        }
        if let Some(effect) = &self.sets_fact {
            if let Err(reason) = check_effect(effect, &self.answer_type) {
                errs.push(TemplateError::BadFactEffect {
                    item: id(),
                    fact: effect.fact.to_string(),
                    answer_type: self.answer_type.name().into(),
                    reason,
                });
            }
        }
        errs
    }
}

fn check_effect(effect: &FactEffect, t: &AnswerType) -> Result<(), &'static str> {
    match (effect.fact, t) {
        (FactName::DustType, AnswerType::Choice { .. }) => Ok(()),
        (FactName::DustType, _) => Err("DUST_TYPE needs a choice item"),
        (FactName::Num(_), AnswerType::Number { integer: true, .. }) => Ok(()),
        (FactName::Num(_), _) => Err("a numeric fact needs an integer number item"),
        (FactName::Bool(_), AnswerType::YesNoNa) => {
            if effect.when.is_empty() {
                Ok(())
            } else {
                Err("`when` is only for choice items")
            }
        }
        (FactName::Bool(_), AnswerType::Choice { choices, .. }) => {
            if effect.when.is_empty() {
                return Err("a choice item must list the values that set the fact in `when`");
            }
            if effect
                .when
                .iter()
                .all(|w| choices.iter().any(|c| &c.value == w))
            {
                Ok(())
            } else {
                Err("`when` names a value that is not one of the choices")
            }
        }
        (FactName::Bool(_), _) => Err("a yes/no fact needs a yes/no or choice item"),
    }
}

impl Role {
    /// Whether someone in this role may run a template meant for `template_role`:
    /// their own templates; officers (乡镇/区) every template; supervisors every
    /// template but the experts'; experts every template but the grid workers', since
    /// the town's expert team runs the pre-lease checks (租前体检) and re-inspections for
    /// the officers and visits with the supervision groups (督查组) (the rule the app's
    /// template picker and the server apply too).
    pub fn may_run(self, template_role: Role) -> bool {
        self == template_role
            || self == Role::Officer
            || (self == Role::Supervisor && template_role != Role::Expert)
            || (self == Role::Expert && template_role != Role::GridWorker)
    }
}

impl TemplateKind {
    /// Whether a template of this kind needs the enterprise's signature when
    /// `requires_signature` is not set: the visits whose result the enterprise must
    /// acknowledge (findings, confirmed dust types, a lease check) do; the grid
    /// worker's walk-through survey and the re-inspection checklist (a hazard's 复查 is
    /// recorded with before/after photos instead) do not.
    pub fn needs_signature(self) -> bool {
        match self {
            TemplateKind::DustVerification
            | TemplateKind::MajorHazard
            | TemplateKind::PreLease
            | TemplateKind::SpotCheck => true,
            TemplateKind::Survey | TemplateKind::Reinspection => false,
        }
    }
}

impl Template {
    /// Whether finalizing an inspection on this template needs a signature.
    pub fn signature_required(&self) -> bool {
        self.requires_signature
            .unwrap_or_else(|| self.kind.needs_signature())
    }

    /// Whether someone in `role` may start (and finalize) an inspection on it.
    pub fn allows_role(&self, role: Role) -> bool {
        role.may_run(self.role)
    }

    /// Every item, in order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().find(|i| i.id == id)
    }

    /// All problems of the template; empty means it can be used.
    pub fn validate(&self) -> Result<(), Vec<TemplateError>> {
        let mut errs = Vec::new();
        if self.id.trim().is_empty() {
            errs.push(TemplateError::EmptyTemplateId);
        }
        if self.version == 0 {
            errs.push(TemplateError::ZeroVersion);
        }
        if self.items().next().is_none() {
            errs.push(TemplateError::NoItems);
        }
        let mut sections = BTreeSet::new();
        let mut items = BTreeSet::new();
        for s in &self.sections {
            if !sections.insert(s.id.as_str()) {
                errs.push(TemplateError::DuplicateSection(s.id.clone()));
            }
            for i in &s.items {
                if i.id.trim().is_empty() {
                    errs.push(TemplateError::EmptyItemId {
                        section: s.id.clone(),
                    });
                } else if !items.insert(i.id.as_str()) {
                    errs.push(TemplateError::DuplicateItem(i.id.clone()));
                }
                errs.extend(i.problems());
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}
