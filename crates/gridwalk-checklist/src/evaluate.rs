//! Finalizing an inspection: which items apply, what is missing, the score and the
//! findings.
//!
//! **Score.** Only *scored* items count: applicable yes/no items whose `fail_when` is
//! `yes` or `no`. Of those, an item answered with its failing answer is *failed*, one
//! answered with the other yes/no answer is *passed*; `na` answers and unanswered
//! optional items are left out. The pass rate is `passed / (passed + failed)`, given
//! in basis points (0..=10000, rounded half up) so the payload holds no floats; it is
//! `None` when nothing scored was answered.

use crate::answer::{Answer, AnswerError, AnswerValue, YesNoNa};
use crate::facts::EnterpriseFacts;
use crate::hazard::Severity;
use crate::template::{AnswerType, Item, LegalBasis, Template};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Answers of one inspection keyed by item id.
pub type Answers = BTreeMap<String, Answer>;

/// The items of `template` that apply to an enterprise with these facts, in order.
pub fn applicable_items<'t>(template: &'t Template, facts: &EnterpriseFacts) -> Vec<&'t Item> {
    template
        .items()
        .filter(|i| i.applies_if.as_ref().is_none_or(|c| c.evaluate(facts)))
        .collect()
}

/// Pass-rate counts; see the module docs for the definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub passed: u32,
    pub failed: u32,
    /// Scored items answered `na`.
    pub not_applicable: u32,
    /// Scored, applicable items left unanswered (optional ones only).
    pub unanswered: u32,
    /// `passed / (passed + failed)` in basis points; `None` if both are zero.
    pub pass_rate_bp: Option<u32>,
}

/// One failed item, ready to become a hazard (隐患).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub item_id: String,
    pub section_id: String,
    /// `major` for 重大事故隐患 items, `general` otherwise.
    pub severity: Severity,
    pub text_zh: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photo_sha256s: Vec<String>,
}

/// The outcome of a complete inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub score: Score,
    pub findings: Vec<Finding>,
    /// Ids of the items that applied.
    pub applicable: Vec<String>,
    /// Answers given to items that did not apply (kept, but not scored).
    pub ignored: Vec<String>,
}

/// An answer that does not fit its item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidAnswer {
    pub item_id: String,
    pub reason: String,
}

/// Why an inspection cannot be finalized yet.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, thiserror::Error)]
#[error(
    "inspection incomplete: {} unanswered, {} failed items lacking a photo, {} invalid answers",
    unanswered.len(), photo_missing.len(), invalid.len()
)]
pub struct Missing {
    /// Required, applicable items without an answer.
    pub unanswered: Vec<String>,
    /// Failed items that need a photo and have none.
    pub photo_missing: Vec<String>,
    /// Answers to unknown items, or of the wrong type.
    pub invalid: Vec<InvalidAnswer>,
}

impl Missing {
    fn is_empty(&self) -> bool {
        self.unanswered.is_empty() && self.photo_missing.is_empty() && self.invalid.is_empty()
    }
}

fn is_answered(item: &Item, a: &Answer) -> bool {
    match (&item.answer_type, &a.value) {
        (AnswerType::Photo, AnswerValue::Photos(p)) => !p.is_empty() || !a.photo_sha256s.is_empty(),
        _ => true,
    }
}

fn bp(passed: u32, failed: u32) -> Option<u32> {
    let total = u64::from(passed) + u64::from(failed);
    if total == 0 {
        return None;
    }
    let v = (u64::from(passed) * 20_000 + total) / (2 * total);
    u32::try_from(v).ok()
}

/// Checks an inspection for completeness and computes its score and findings.
pub fn evaluate(
    template: &Template,
    facts: &EnterpriseFacts,
    answers: &Answers,
) -> Result<Evaluation, Missing> {
    let mut missing = Missing::default();
    for (id, a) in answers {
        match template.item(id) {
            None => missing.invalid.push(InvalidAnswer {
                item_id: id.clone(),
                reason: "no such item in the template".into(),
            }),
            Some(item) => {
                if let Err(e) = a.value.check(item) {
                    missing.invalid.push(InvalidAnswer {
                        item_id: id.clone(),
                        reason: e.to_string(),
                    });
                }
                if let Some(h) = a
                    .photo_sha256s
                    .iter()
                    .find(|h| !crate::answer::is_sha256_hex(h))
                {
                    missing.invalid.push(InvalidAnswer {
                        item_id: id.clone(),
                        reason: AnswerError::BadPhotoHash(h.clone()).to_string(),
                    });
                }
            }
        }
    }

    let applicable = applicable_items(template, facts);
    let mut score = Score {
        passed: 0,
        failed: 0,
        not_applicable: 0,
        unanswered: 0,
        pass_rate_bp: None,
    };
    let mut findings = Vec::new();
    for section in &template.sections {
        for item in &section.items {
            if !applicable.iter().any(|i| i.id == item.id) {
                continue;
            }
            let answer = answers.get(&item.id).filter(|a| is_answered(item, a));
            let Some(answer) = answer else {
                if item.required {
                    missing.unanswered.push(item.id.clone());
                } else if item.is_scored() {
                    score.unanswered += 1;
                }
                continue;
            };
            if answer.value.needs_evidence_photo(item) && answer.photo_sha256s.is_empty() {
                missing.photo_missing.push(item.id.clone());
            }
            if !item.is_scored() {
                continue;
            }
            if answer.value.fails(item) {
                score.failed += 1;
                if item.photo_required_on_fail
                    && answer.photo_sha256s.is_empty()
                    && !answer.value.needs_evidence_photo(item)
                {
                    missing.photo_missing.push(item.id.clone());
                }
                findings.push(Finding {
                    item_id: item.id.clone(),
                    section_id: section.id.clone(),
                    severity: if item.major_hazard {
                        Severity::Major
                    } else {
                        Severity::General
                    },
                    text_zh: item.text_zh.clone(),
                    legal_basis: item.legal_basis.clone(),
                    note: answer.note.clone(),
                    photo_sha256s: answer.photo_sha256s.clone(),
                });
            } else if answer.value == AnswerValue::YesNoNa(YesNoNa::Na) {
                score.not_applicable += 1;
            } else {
                score.passed += 1;
            }
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    score.pass_rate_bp = bp(score.passed, score.failed);
    let applicable_ids: Vec<String> = applicable.iter().map(|i| i.id.clone()).collect();
    let ignored = answers
        .keys()
        .filter(|k| !applicable_ids.contains(k))
        .cloned()
        .collect();
    Ok(Evaluation {
        score,
        findings,
        applicable: applicable_ids,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::bp;

    #[test]
    fn the_pass_rate_is_rounded_half_up_in_basis_points() {
        assert_eq!(bp(0, 0), None);
        assert_eq!(bp(1, 0), Some(10_000));
        assert_eq!(bp(0, 3), Some(0));
        assert_eq!(bp(2, 1), Some(6_667));
        assert_eq!(bp(1, 2), Some(3_333));
        assert_eq!(bp(1, 7), Some(1_250));
    }
}
