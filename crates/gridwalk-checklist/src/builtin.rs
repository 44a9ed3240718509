//! The templates shipped with GridWalk, embedded from `templates/*.json`.
//!
//! Each file is one versioned template; a test validates every one of them. A
//! template's earlier versions stay shipped (`grid-survey.v1.json`): phones that update
//! late still finalize with them, and the server reads their answers with the version
//! they were made with.

use crate::template::Template;

/// `(file name, contents)` of every shipped template.
pub const TEMPLATE_FILES: &[(&str, &str)] = &[
    (
        "grid-survey.v1.json",
        include_str!("../templates/grid-survey.v1.json"),
    ),
    (
        "grid-survey.json",
        include_str!("../templates/grid-survey.json"),
    ),
    (
        "dust-verification.json",
        include_str!("../templates/dust-verification.json"),
    ),
    (
        "major-hazard.v1.json",
        include_str!("../templates/major-hazard.v1.json"),
    ),
    (
        "major-hazard.json",
        include_str!("../templates/major-hazard.json"),
    ),
    (
        "pre-lease.json",
        include_str!("../templates/pre-lease.json"),
    ),
    (
        "spot-check.json",
        include_str!("../templates/spot-check.json"),
    ),
    (
        "reinspection.json",
        include_str!("../templates/reinspection.json"),
    ),
    (
        "tip-verification.json",
        include_str!("../templates/tip-verification.json"),
    ),
];

/// A shipped template file that does not parse (a build defect, caught by tests).
#[derive(Debug, thiserror::Error)]
#[error("shipped template {file} does not parse: {source}")]
pub struct BuiltinError {
    pub file: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// Parses every shipped template, reporting the first broken file.
pub fn try_builtin_templates() -> Result<Vec<Template>, BuiltinError> {
    TEMPLATE_FILES
        .iter()
        .map(|(file, text)| {
            serde_json::from_str(text).map_err(|source| BuiltinError { file, source })
        })
        .collect()
}

/// Every shipped template, parsed once per process. The files are validated by the
/// crate's tests, so a broken one can only come from a bad build; it is then left out.
fn parsed() -> &'static [Template] {
    static PARSED: std::sync::OnceLock<Vec<Template>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        TEMPLATE_FILES
            .iter()
            .filter_map(|(_, text)| serde_json::from_str(text).ok())
            .collect()
    })
}

/// Every shipped template.
pub fn builtin_templates() -> Vec<Template> {
    parsed().to_vec()
}

/// The newest shipped version of the template with this id.
pub fn builtin_template(id: &str) -> Option<Template> {
    parsed()
        .iter()
        .filter(|t| t.id == id)
        .max_by_key(|t| t.version)
        .cloned()
}

/// One shipped version of the template with this id.
pub fn builtin_template_version(id: &str, version: u32) -> Option<Template> {
    parsed()
        .iter()
        .find(|t| t.id == id && t.version == version)
        .cloned()
}
