//! Checklist templates in the store, keyed by id + version.
//!
//! The shipped templates are loaded when a template is first needed (a row is added
//! for every shipped id + version the store lacks). `templates import` adds imported
//! ones. A version is content-addressed by the SHA-256 of its JSON: loading identical
//! content changes nothing, different content for an id + version replaces it only
//! while no inspection uses that version (a trigger enforces this too).

use super::{begin, enum_name, from_json, InspectionError};
use crate::store::Store;
use chrono::Utc;
use gridwalk_checklist::canonical::sha256_hex;
use gridwalk_checklist::{builtin_templates, import_xlsx_path, Template};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;

/// A stored template version, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateSummary {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Chinese title.
    pub title_zh: String,
    /// Who fills it in (`grid_worker`, `expert`, …).
    pub role: String,
    /// Kind of visit (`survey`, `major_hazard`, …).
    pub kind: String,
    /// Number of items.
    pub items: usize,
    /// Finalizing needs a signature (`Template::signature_required`).
    pub requires_signature: bool,
    /// `builtin` or `import`.
    pub source: String,
    /// Whether an inspection uses this version (it is then frozen).
    pub used: bool,
}

/// What loading one template did.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateChange {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// `inserted`, `updated` or `unchanged`.
    pub change: crate::register::Change,
}

fn content_of(t: &Template) -> Result<(String, String), InspectionError> {
    let json = serde_json::to_string(t)?;
    let sha = sha256_hex(json.as_bytes());
    Ok((json, sha))
}

/// Writes one (validated) template inside the caller's transaction.
pub(crate) fn write_template(
    conn: &Connection,
    t: &Template,
    source: &str,
) -> Result<TemplateChange, InspectionError> {
    t.validate()
        .map_err(|errors| InspectionError::InvalidTemplate {
            id: t.id.clone(),
            errors,
        })?;
    let (json, sha) = content_of(t)?;
    let existing: Option<String> = conn
        .query_row(
            "SELECT sha256 FROM checklist_template WHERE id = ?1 AND version = ?2",
            params![t.id, t.version],
            |r| r.get(0),
        )
        .optional()?;
    let change = match existing {
        Some(s) if s == sha => crate::register::Change::Unchanged,
        Some(_) => {
            if version_used(conn, &t.id, t.version)? {
                return Err(InspectionError::TemplateInUse {
                    id: t.id.clone(),
                    version: t.version,
                });
            }
            conn.execute(
                "UPDATE checklist_template SET title_zh = ?3, role = ?4, kind = ?5, content = ?6, \
                     sha256 = ?7, source = ?8, loaded_at = ?9 WHERE id = ?1 AND version = ?2",
                params![
                    t.id,
                    t.version,
                    t.title_zh,
                    enum_name(&t.role),
                    enum_name(&t.kind),
                    json,
                    sha,
                    source,
                    Utc::now().to_rfc3339()
                ],
            )?;
            crate::register::Change::Updated
        }
        None => {
            conn.execute(
                "INSERT INTO checklist_template (id, version, title_zh, role, kind, content, sha256, source, loaded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    t.id,
                    t.version,
                    t.title_zh,
                    enum_name(&t.role),
                    enum_name(&t.kind),
                    json,
                    sha,
                    source,
                    Utc::now().to_rfc3339()
                ],
            )?;
            crate::register::Change::Inserted
        }
    };
    Ok(TemplateChange {
        id: t.id.clone(),
        version: t.version,
        change,
    })
}

fn version_used(conn: &Connection, id: &str, version: u32) -> Result<bool, InspectionError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM inspection WHERE template_id = ?1 AND template_version = ?2)",
        params![id, version],
        |r| r.get(0),
    )?)
}

/// Loads a template version (the newest when `version` is `None`).
pub(crate) fn load_template(
    conn: &Connection,
    id: &str,
    version: Option<u32>,
) -> Result<Template, InspectionError> {
    let content: Option<String> = match version {
        Some(v) => conn
            .query_row(
                "SELECT content FROM checklist_template WHERE id = ?1 AND version = ?2",
                params![id, v],
                |r| r.get(0),
            )
            .optional()?,
        None => conn
            .query_row(
                "SELECT content FROM checklist_template WHERE id = ?1 ORDER BY version DESC LIMIT 1",
                params![id],
                |r| r.get(0),
            )
            .optional()?,
    };
    let content = content.ok_or_else(|| InspectionError::TemplateNotFound {
        id: id.to_string(),
        version,
    })?;
    Ok(from_json("checklist_template", "content", &content)?)
}

impl Store {
    /// Adds every shipped template version the store does not have yet (one
    /// transaction). Returns how many were added. Called by the other template and
    /// inspection functions, so a fresh database has them on first use.
    pub fn ensure_builtin_templates(&self) -> Result<usize, InspectionError> {
        let builtins = builtin_templates();
        let missing: Vec<&Template> = {
            let mut stmt = self
                .conn
                .prepare("SELECT 1 FROM checklist_template WHERE id = ?1 AND version = ?2")?;
            let mut v = Vec::new();
            for t in &builtins {
                if !stmt.exists(params![t.id, t.version])? {
                    v.push(t);
                }
            }
            v
        };
        if missing.is_empty() {
            return Ok(0);
        }
        let tx = begin(&self.conn)?;
        let mut added = 0;
        for t in missing {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM checklist_template WHERE id = ?1 AND version = ?2)",
                params![t.id, t.version],
                |r| r.get(0),
            )?;
            if !exists {
                write_template(&tx, t, "builtin")?;
                added += 1;
            }
        }
        tx.commit().map_err(crate::StoreError::from)?;
        Ok(added)
    }

    /// Every stored template version, by id then version.
    pub fn templates(&self) -> Result<Vec<TemplateSummary>, InspectionError> {
        self.ensure_builtin_templates()?;
        let mut stmt = self.conn.prepare(
            "SELECT t.id, t.version, t.title_zh, t.role, t.kind, t.content, t.source, \
                 EXISTS (SELECT 1 FROM inspection i WHERE i.template_id = t.id AND i.template_version = t.version) \
             FROM checklist_template t ORDER BY t.id, t.version",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, bool>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, version, title_zh, role, kind, content, source, used) = row?;
            let t: Template = from_json("checklist_template", "content", &content)?;
            out.push(TemplateSummary {
                id,
                version,
                title_zh,
                role,
                kind,
                items: t.items().count(),
                requires_signature: t.signature_required(),
                source,
                used,
            });
        }
        Ok(out)
    }

    /// A template version (the newest when `version` is `None`).
    pub fn template(&self, id: &str, version: Option<u32>) -> Result<Template, InspectionError> {
        self.ensure_builtin_templates()?;
        load_template(&self.conn, id, version)
    }

    /// Stores templates (validated first; all or nothing).
    pub fn import_templates(
        &self,
        templates: &[Template],
    ) -> Result<Vec<TemplateChange>, InspectionError> {
        self.ensure_builtin_templates()?;
        let tx = begin(&self.conn)?;
        let mut out = Vec::new();
        for t in templates {
            out.push(write_template(&tx, t, "import")?);
        }
        tx.commit().map_err(crate::StoreError::from)?;
        Ok(out)
    }

    /// Reads an Excel workbook (see `docs/checklist-excel.md`) and stores its templates;
    /// a workbook with any error stores nothing and reports every problem.
    pub fn import_templates_xlsx(
        &self,
        path: &Path,
    ) -> Result<Vec<TemplateChange>, InspectionError> {
        self.ensure_builtin_templates()?;
        let templates = import_xlsx_path(path).map_err(InspectionError::Workbook)?;
        self.import_templates(&templates)
    }
}
