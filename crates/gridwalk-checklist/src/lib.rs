//! GridWalk checklists: the template model, the applicability condition language,
//! the shipped templates, Excel authoring, answer parsing, scoring and findings, the
//! canonical finalized-inspection payload, and the hazard (隐患) lifecycle.
//!
//! Everything is pure logic: no database, no network. The device store and the CLI
//! call these functions; `import_xlsx` reads a workbook from bytes or a path.
//!
//! Checklist content comes from `regulations.md` (see `docs/checklists.md` for which
//! section fed which template, and which items that file marks as unconfirmed).

pub mod answer;
pub mod builtin;
pub mod canonical;
pub mod condition;
pub mod confirm;
pub mod evaluate;
pub mod excel;
pub mod facts;
pub mod hazard;
pub mod pre_lease;
pub mod template;
pub mod verification;

pub use answer::{parse_answer, Answer, AnswerError, AnswerValue, YesNoNa};
pub use builtin::{builtin_template, builtin_template_version, builtin_templates};
pub use canonical::{canonical_json, payload_sha256, to_canonical_json, FinalizedInspection};
pub use condition::{Condition, ConditionError};
pub use confirm::{confirmations, Confirmations, ConfirmedFact, OfficerSeen, RiskReportSeen};
pub use evaluate::{
    applicable_items, evaluate, Answers, Evaluation, Finding, InvalidAnswer, Missing, Score,
};
pub use excel::{import_xlsx, import_xlsx_path, ImportError, ImportErrors};
pub use facts::{BoolFact, EnterpriseFacts, FactName, NumFact, ProcessFacts};
pub use hazard::{
    apply, fold, fold_keeping, merge, DeadlinePolicy, EventKindName, HazardEvent, HazardEventKind,
    HazardState, HazardStatus, ListedSupervision, RectificationPlan, Severity, TransitionError,
};
pub use pre_lease::{pre_lease_status, PreLeaseCheck, PreLeaseStatus, RaisedHazard};
pub use template::{
    AnswerType, Choice, FactEffect, FailWhen, Item, KnownFact, LegalBasis, Role, Section, Template,
    TemplateError, TemplateKind,
};
pub use verification::{facts_from_verification, FactUpdate};
