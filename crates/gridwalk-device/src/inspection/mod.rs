//! Inspections and hazards in the device store.
//!
//! * [`templates`]: checklist templates loaded into the store (the shipped ones, and
//!   Excel imports), keyed by id + version; a version an inspection has used never
//!   changes.
//! * [`lifecycle`]: start → answer (each answer in its own transaction) → photo →
//!   finalize (one transaction: completeness, score, findings, hazards, the canonical
//!   payload stored once with its SHA-256, an `inspection` link in the evidence chain)
//!   → revise (a new draft that supersedes a finalized inspection).
//! * [`hazards`]: hazards (隐患) as append-only events folded into their state.
//! * [`status`]: what finalized inspections confirm about an enterprise.
//! * [`known`]: what the register knows for a question the visit asks again.
//!
//! The rules themselves live in `gridwalk-checklist`; this module stores and loads.
//! See `docs/inspections.md`.

pub mod hazards;
pub mod known;
pub mod lifecycle;
pub mod status;
pub mod templates;

pub use gridwalk_checklist as checklist;
pub use uuid::Uuid;

pub use hazards::{HazardDetail, HazardSummary, StoredHazardEvent};
pub use known::KnownAnswer;
pub use lifecycle::{
    AttachedPhoto, FinalizeOutcome, InspectionDetail, InspectionStatus, ItemView, StartInspection,
};
pub use status::EnterpriseStatus;
pub use templates::{TemplateChange, TemplateSummary};

use crate::error::StoreError;
use crate::evidence::EvidenceError;
use gridwalk_checklist::{AnswerError, ImportErrors, Missing, TemplateError, TransitionError};

/// Anything that can go wrong with templates, inspections and hazards. Every variant
/// is raised before anything is written, or rolls the transaction back.
#[derive(Debug, thiserror::Error)]
pub enum InspectionError {
    /// The database refused an operation.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No template with this id (and version).
    #[error("template not found: {id}{}", version.map(|v| format!(" version {v}")).unwrap_or_default())]
    TemplateNotFound {
        /// Template id.
        id: String,
        /// Version asked for, if any.
        version: Option<u32>,
    },
    /// A template does not validate.
    #[error("template `{id}` is invalid: {}", join(errors))]
    InvalidTemplate {
        /// Template id.
        id: String,
        /// Every problem found.
        errors: Vec<TemplateError>,
    },
    /// An import tried to change a template version that inspections already use.
    #[error("template `{id}` version {version} is used by inspections and cannot change; bump its version")]
    TemplateInUse {
        /// Template id.
        id: String,
        /// Its version.
        version: u32,
    },
    /// The workbook could not be read or has errors (listed by sheet, row and column).
    #[error("{0}")]
    Workbook(ImportErrors),
    /// No inspection with this id.
    #[error("inspection not found: {0}")]
    InspectionNotFound(String),
    /// No hazard with this id.
    #[error("hazard not found: {0}")]
    HazardNotFound(String),
    /// The role given is not one of grid_worker, expert, officer, supervisor.
    #[error("unknown role `{0}` (grid_worker, expert, officer, supervisor)")]
    UnknownRole(String),
    /// The inspector name is empty.
    #[error("the inspector's name is empty")]
    EmptyInspector,
    /// The template has no item with this id.
    #[error("template {template} has no item `{item}`")]
    UnknownItem {
        /// Template id.
        template: String,
        /// Item id asked for.
        item: String,
    },
    /// The item exists but does not apply to this enterprise.
    #[error("item `{0}` does not apply to this enterprise")]
    NotApplicable(String),
    /// The value does not fit the item's answer type.
    #[error("item `{item}`: {source}")]
    BadAnswer {
        /// Item id.
        item: String,
        /// Why the value was refused.
        source: AnswerError,
    },
    /// Photo items are answered by attaching photos.
    #[error("item `{0}` is a photo item: attach photos with `inspect photo`")]
    PhotoItem(String),
    /// The inspection is finalized: its answers and payload never change.
    #[error("inspection {0} is already finalized")]
    AlreadyFinalized(String),
    /// Only a finalized inspection can be revised.
    #[error("inspection {0} is not finalized; change its answers instead of revising it")]
    NotFinalized(String),
    /// Each inspection is superseded by at most one revision.
    #[error("inspection {id} is already superseded by {by}")]
    AlreadySuperseded {
        /// The inspection.
        id: String,
        /// Its revision.
        by: String,
    },
    /// Finalize refused: what is missing.
    #[error("{}", describe_missing(.0))]
    Incomplete(Missing),
    /// The hazard transition is not allowed.
    #[error("hazard transition refused: {0}")]
    Transition(#[from] TransitionError),
    /// A date argument is not YYYY-MM-DD.
    #[error("`{0}` is not a date (YYYY-MM-DD)")]
    BadDate(String),
    /// A photo could not be processed or stored.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// A value could not be serialised.
    #[error("cannot serialise: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The role may not run this template (an expert a grid worker's survey, …).
    #[error("a {role} may not run template `{template}` (meant for a {template_role})")]
    RoleNotAllowed {
        /// The acting role.
        role: String,
        /// Template id.
        template: String,
        /// The role the template is meant for.
        template_role: String,
    },
    /// The template needs the enterprise's signature before finalizing.
    #[error("inspection {0} needs a signature before it can be finalized")]
    SignatureRequired(String),
    /// A text is longer than `gridwalk_protocol::limits` allows.
    #[error("{field} is {chars} characters long, more than the {max} allowed")]
    TextTooLong {
        /// What the text is (`note`, `answer`, `inspector`, `signer`, …).
        field: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// The inspection (its answers so far, or the finalized payload) would exceed what
    /// the server accepts for one record; nothing of the refused step is saved.
    #[error(
        "the inspection would be {size} bytes, more than the {max} the server takes for a record; shorten the answers or notes"
    )]
    PayloadTooLarge {
        /// Size of the answers so far (with room for the rest), or of the payload.
        size: usize,
        /// The server's published `max_payload_bytes` (this build's until published).
        max: usize,
    },
    /// A passed re-inspection must cite at least one photo taken after rectification.
    #[error("a passed re-inspection needs at least one after-photo")]
    AfterPhotoRequired,
    /// A 五定 plan without its measures, responsible person or interim measures.
    #[error("the rectification plan's {0} is empty")]
    PlanIncomplete(&'static str),
}

/// Refuses a text longer than `max` characters ([`InspectionError::TextTooLong`]).
pub(crate) fn check_text(
    field: &'static str,
    text: &str,
    max: usize,
) -> Result<(), InspectionError> {
    gridwalk_protocol::limits::check_chars(text, max)
        .map_err(|(chars, max)| InspectionError::TextTooLong { field, chars, max })
}

impl From<rusqlite::Error> for InspectionError {
    fn from(e: rusqlite::Error) -> Self {
        InspectionError::Store(StoreError::Sqlite(e))
    }
}

impl InspectionError {
    /// Stable machine-readable code (`inspect.unknown_item`, …).
    pub fn code(&self) -> &'static str {
        use InspectionError as E;
        match self {
            E::Store(e) => e.code(),
            E::TemplateNotFound { .. } => "template.not_found",
            E::InvalidTemplate { .. } => "template.invalid",
            E::TemplateInUse { .. } => "template.in_use",
            E::Workbook(_) => "template.bad_workbook",
            E::InspectionNotFound(_) => "inspect.not_found",
            E::HazardNotFound(_) => "hazard.not_found",
            E::UnknownRole(_) => "inspect.unknown_role",
            E::EmptyInspector => "inspect.empty_inspector",
            E::UnknownItem { .. } => "inspect.unknown_item",
            E::NotApplicable(_) => "inspect.not_applicable",
            E::BadAnswer { source, .. } => match source {
                AnswerError::WrongType { .. } => "inspect.wrong_type",
                _ => "inspect.bad_answer",
            },
            E::PhotoItem(_) => "inspect.photo_item",
            E::AlreadyFinalized(_) => "inspect.already_finalized",
            E::NotFinalized(_) => "inspect.not_finalized",
            E::AlreadySuperseded { .. } => "inspect.already_superseded",
            E::Incomplete(_) => "inspect.incomplete",
            // A plan whose deadline is later than the hazard's: the UI explains that an
            // officer extends deadlines.
            E::Transition(TransitionError::PlanDeadlineLater { .. }) => {
                "hazard.plan_deadline_later"
            }
            E::Transition(TransitionError::PlanDeadlineBeforeFound { .. }) => {
                "hazard.plan_deadline_before_found"
            }
            E::Transition(_) => "hazard.illegal_transition",
            E::BadDate(_) => "hazard.bad_date",
            E::Evidence(e) => e.code(),
            E::Serialize(_) => "store.serialize",
            E::RoleNotAllowed { .. } => "inspect.role_not_allowed",
            E::SignatureRequired(_) => "inspect.signature_required",
            E::TextTooLong { .. } => "inspect.text_too_long",
            E::PayloadTooLarge { .. } => "inspect.payload_too_large",
            E::AfterPhotoRequired => "hazard.after_photo_required",
            E::PlanIncomplete(_) => "hazard.plan_incomplete",
        }
    }
}

fn join(errors: &[TemplateError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line per problem: what an inspector has to do before finalizing.
pub fn describe_missing(m: &Missing) -> String {
    let mut lines = vec!["cannot finalize, the inspection is incomplete:".to_string()];
    for id in &m.unanswered {
        lines.push(format!("  unanswered: {id}"));
    }
    for id in &m.photo_missing {
        lines.push(format!("  failed item needs a photo: {id}"));
    }
    for inv in &m.invalid {
        lines.push(format!(
            "  invalid answer to {}: {}",
            inv.item_id, inv.reason
        ));
    }
    lines.join("\n")
}

/// `Utc::now()` rounded to whole microseconds, so that a timestamp survives a text
/// round trip through the database unchanged.
pub(crate) fn now_utc() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

pub(crate) fn ts(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(
    table: &'static str,
    column: &'static str,
    s: &str,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt {
            table,
            column,
            detail: e.to_string(),
        })
}

pub(crate) fn parse_uuid(
    table: &'static str,
    column: &'static str,
    s: &str,
) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}

/// Serde name of a unit enum variant (`"major_hazard"`).
pub(crate) fn enum_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Begins an IMMEDIATE transaction (takes the write lock now, so a concurrent writer
/// waits on the busy timeout instead of failing half-way).
pub(crate) fn begin(conn: &rusqlite::Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    Ok(rusqlite::Transaction::new_unchecked(
        conn,
        rusqlite::TransactionBehavior::Immediate,
    )?)
}
