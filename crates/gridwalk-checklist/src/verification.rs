//! Turning a dust-type verification (粉尘种类确认) into enterprise facts.
//!
//! Items carry a [`FactEffect`](crate::template::FactEffect); this module reads the
//! answers of those items and says which facts they set.

use crate::answer::{Answer, AnswerValue, YesNoNa};
use crate::facts::{BoolFact, EnterpriseFacts, FactName, NumFact, ProcessFacts};
use crate::template::{AnswerType, Template};
use gridwalk_core::dust::DustType;
use gridwalk_core::DustFlag;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The choice value that means "not in the directory": the answer's note names it.
pub const OTHER_DUST_VALUE: &str = "other";

/// Facts set by a verification's answers; `None`/absent means "not answered".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FactUpdate {
    /// Dust types picked (a non-directory type comes from the answer's note).
    pub dust_types: Option<Vec<DustType>>,
    /// Yes/no facts answered, with their value.
    pub bools: BTreeMap<String, bool>,
    pub workers_per_shift: Option<u32>,
    pub storeys: Option<u32>,
}

impl FactUpdate {
    /// Applies the update: dust types add their flags, yes/no facts are set or
    /// cleared, numbers replaced.
    pub fn apply_to(&self, facts: &mut EnterpriseFacts) {
        if let Some(types) = &self.dust_types {
            facts.add_dust_types(types);
        }
        for (name, v) in &self.bools {
            if let Some(FactName::Bool(b)) = FactName::parse(name) {
                facts.set_bool(b, *v);
            }
        }
        if self.workers_per_shift.is_some() {
            facts.workers_per_shift = self.workers_per_shift;
        }
        if self.storeys.is_some() {
            facts.storeys = self.storeys;
        }
    }

    /// The process facts (for [`EnterpriseFacts::from_enterprise`]).
    pub fn process_facts(&self) -> ProcessFacts {
        let mut facts = EnterpriseFacts::default();
        self.apply_to(&mut facts);
        let process_flags = [
            DustFlag::DryCollector,
            DustFlag::PosPressure,
            DustFlag::MultiBuilding,
            DustFlag::WoodworkSanding,
            DustFlag::MechIgnitionProcess,
        ];
        ProcessFacts {
            flags: facts
                .flags
                .iter()
                .copied()
                .filter(|f| process_flags.contains(f))
                .collect(),
            storeys: facts.storeys,
            frame_structure: facts.frame_structure,
            metal_smelting: facts.metal_smelting,
            equipment_leased: facts.equipment_leased,
        }
    }
}

/// Reads the answers of items with `sets_fact` and returns the facts they set.
///
/// Answers that do not fit their item (wrong type, unknown choice) are skipped; run
/// [`crate::evaluate()`] to report them.
pub fn facts_from_verification(
    template: &Template,
    answers: &BTreeMap<String, Answer>,
) -> FactUpdate {
    let mut up = FactUpdate::default();
    for item in template.items() {
        let (Some(effect), Some(answer)) = (&item.sets_fact, answers.get(&item.id)) else {
            continue;
        };
        if answer.value.check(item).is_err() {
            continue;
        }
        match (effect.fact, &answer.value) {
            (FactName::DustType, AnswerValue::Choice(values)) => {
                let mut types = Vec::new();
                for v in values {
                    let parsed = if v == OTHER_DUST_VALUE {
                        let named = answer.note.as_deref().unwrap_or("").trim();
                        DustType::parse(if named.is_empty() {
                            "需专家确认"
                        } else {
                            named
                        })
                    } else {
                        DustType::parse(v)
                    };
                    if let Ok(t) = parsed {
                        if !types.contains(&t) {
                            types.push(t);
                        }
                    }
                }
                up.dust_types = Some(types);
            }
            (FactName::Bool(b), AnswerValue::YesNoNa(yn)) => match yn {
                YesNoNa::Yes => set(&mut up, b, true),
                YesNoNa::No => set(&mut up, b, false),
                YesNoNa::Na => {}
            },
            (FactName::Bool(b), AnswerValue::Choice(values)) => {
                let on = values.iter().any(|v| effect.when.contains(v));
                // With several items setting one fact (e.g. process and sanding), a
                // `true` from any of them wins.
                let prev = up.bools.get(b.as_str()).copied().unwrap_or(false);
                set(&mut up, b, on || prev);
            }
            (FactName::Num(n), AnswerValue::Number(x)) => {
                if let AnswerType::Number { .. } = item.answer_type {
                    // `check` guaranteed a whole number within u32.
                    let v = *x as u32;
                    match n {
                        NumFact::WorkersPerShift => up.workers_per_shift = Some(v),
                        NumFact::Storeys => up.storeys = Some(v),
                    }
                }
            }
            _ => {}
        }
    }
    up
}

fn set(up: &mut FactUpdate, b: BoolFact, v: bool) {
    up.bools.insert(b.as_str().to_string(), v);
}
