//! Pulling reference data: a cursor-paged delta of what the device may see.

use serde::{Deserialize, Serialize};

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Division,
    Enterprise,
    Template,
    HazardEvent,
    /// A campaign (`gridwalk_core::Campaign` JSON; protocol 2, sent to every device).
    Campaign,
    /// An assignment at its latest state (`gridwalk_core::Assignment`; protocol 3).
    Assignment,
    /// The latest review of an inspection (`gridwalk_core::Review`; protocol 3).
    Review,
    /// A 疑似 (suspected) enterprise at its latest state
    /// (`gridwalk_core::SuspectedEntry`; protocol 5), sent to the phones of its village.
    Suspected,
}

impl ChangeKind {
    /// The oldest protocol whose devices understand this kind: a server sends a change
    /// only to devices speaking at least this version.
    pub fn min_protocol(self) -> u32 {
        match self {
            ChangeKind::Division
            | ChangeKind::Enterprise
            | ChangeKind::Template
            | ChangeKind::HazardEvent => 1,
            ChangeKind::Campaign => 2,
            ChangeKind::Assignment | ChangeKind::Review => 3,
            ChangeKind::Suspected => 5,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Division => "division",
            ChangeKind::Enterprise => "enterprise",
            ChangeKind::Template => "template",
            ChangeKind::HazardEvent => "hazard_event",
            ChangeKind::Campaign => "campaign",
            ChangeKind::Assignment => "assignment",
            ChangeKind::Review => "review",
            ChangeKind::Suspected => "suspected",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ChangeKind> {
        match s {
            "division" => Some(ChangeKind::Division),
            "enterprise" => Some(ChangeKind::Enterprise),
            "template" => Some(ChangeKind::Template),
            "hazard_event" => Some(ChangeKind::HazardEvent),
            "campaign" => Some(ChangeKind::Campaign),
            "assignment" => Some(ChangeKind::Assignment),
            "review" => Some(ChangeKind::Review),
            "suspected" => Some(ChangeKind::Suspected),
            _ => None,
        }
    }
}

/// The latest version of one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// Opaque position of this change.
    pub cursor: String,
    pub kind: ChangeKind,
    /// The entity's key (division code, enterprise id, `template_id@version`, record id).
    pub key: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: serde_json::Value,
}

/// `GET /v1/sync/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullPage {
    pub changes: Vec<Change>,
    /// Pass this as `cursor` next time.
    pub next_cursor: String,
    pub has_more: bool,
}
