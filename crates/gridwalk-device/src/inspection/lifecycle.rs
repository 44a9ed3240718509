//! The inspection lifecycle: start, answer, attach photos, finalize, revise.

use super::templates::load_template;
use super::{
    begin, check_text, enum_name, from_json, now_utc, parse_ts, parse_uuid, ts, InspectionError,
};
use crate::error::StoreError;
use crate::evidence::{PhotoInput, PhotoRecord};
use crate::store::Store;
use chrono::{DateTime, FixedOffset, Local, Utc};
use gridwalk_checklist::canonical::sha256_hex;
use gridwalk_checklist::hazard::created_from_finding;
use gridwalk_checklist::{
    applicable_items, evaluate, parse_answer, Answer, AnswerType, AnswerValue, Answers,
    DeadlinePolicy, EnterpriseFacts, FinalizedInspection, Finding, Item, Role, Score, Template,
    TemplateKind,
};
use gridwalk_evidence::stamp::GpsStamp;
use gridwalk_protocol::limits::{MAX_ANSWER_CHARS, MAX_NAME_CHARS, MAX_NOTE_CHARS};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;
use uuid::Uuid;

/// What `start` needs.
#[derive(Debug, Clone)]
pub struct StartInspection {
    /// Enterprise id (UUID) or USCC.
    pub enterprise: String,
    /// Template id.
    pub template_id: String,
    /// Template version; the newest stored one when `None`.
    pub template_version: Option<u32>,
    /// The inspector's user id / name.
    pub inspector: String,
    /// Role (`grid_worker`, `expert`, `officer`, `supervisor`); the template's when `None`.
    pub role: Option<String>,
}

/// Draft or finalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionStatus {
    /// Answers can still change.
    Draft,
    /// Frozen: payload and hash stored.
    Finalized,
}

/// An item as an inspector sees it (only applicable items are listed).
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// Item id.
    pub id: String,
    /// Section id.
    pub section_id: String,
    /// Chinese question text.
    pub text: String,
    /// Help for the person on site.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// `yes_no_na`, `number`, `choice`, `text` or `photo`.
    pub answer_type: &'static str,
    /// Choices (for `choice` items), `{value, label_zh}`.
    pub choices: Vec<gridwalk_checklist::Choice>,
    /// Whether several choices may be picked.
    pub multiple: bool,
    /// Unit of a number item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Must be answered before finalizing.
    pub required: bool,
    /// A failed answer needs a photo.
    pub photo_required_on_fail: bool,
    /// Answers that need a photo as evidence (`yes`; `filed`…).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photo_required_when: Vec<String>,
    /// What the register already knows for this question (offered as the answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<super::known::KnownAnswer>,
    /// A failure is a 重大事故隐患.
    pub major_hazard: bool,
    /// Legal basis as printed (`10号令 第十一条(三)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Yes/no items only: which answer is a failure (`yes`, `no`) or `never` (a fact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_when: Option<gridwalk_checklist::FailWhen>,
    /// SHA-256 of every photo attached to this item (answered or not), oldest first.
    pub photos: Vec<String>,
    /// The current answer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

/// A finding as stored, with the hazard it became.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// Legal basis as printed.
    pub legal_basis_text: Option<String>,
    /// The hazard tracking it.
    pub hazard_id: Uuid,
}

/// Everything about one inspection.
#[derive(Debug, Clone, Serialize)]
pub struct InspectionDetail {
    /// Inspection id (UUID v7).
    pub id: Uuid,
    /// Draft or finalized.
    pub status: InspectionStatus,
    /// Pinned template id.
    pub template_id: String,
    /// Pinned template version.
    pub template_version: u32,
    /// Template title.
    pub template_title: String,
    /// Enterprise id.
    pub enterprise_id: Uuid,
    /// Enterprise USCC.
    pub enterprise_uscc: String,
    /// Enterprise name.
    pub enterprise_name: String,
    /// Inspector.
    pub inspector: String,
    /// Role.
    pub role: Role,
    /// Kind of visit.
    pub kind: TemplateKind,
    /// The facts applicability was computed from (pinned at start).
    pub facts: EnterpriseFacts,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// The inspection this one corrects.
    pub supersedes: Option<Uuid>,
    /// The revision that corrects this one.
    pub superseded_by: Option<Uuid>,
    /// Answers by item id (for a finalized inspection: exactly those in the payload).
    pub answers: Answers,
    /// Score (finalized only).
    pub score: Option<Score>,
    /// Findings (finalized only).
    pub findings: Vec<StoredFinding>,
    /// Finalized at.
    pub finalized_at: Option<DateTime<Utc>>,
    /// SHA-256 of the canonical payload (finalized only).
    pub payload_sha256: Option<String>,
    /// Position of the `inspection` link in the device's evidence chain.
    pub chain_seq: Option<u64>,
    /// An officer's latest review of it, pulled from the server (`null` until reviewed).
    pub review: Option<crate::work::InspectionReview>,
}

/// What a successful finalize did.
#[derive(Debug, Clone, Serialize)]
pub struct FinalizeOutcome {
    /// Inspection id.
    pub inspection_id: Uuid,
    /// SHA-256 of the stored canonical payload.
    pub payload_sha256: String,
    /// Score.
    pub score: Score,
    /// One hazard per finding, in finding order.
    pub hazards: Vec<Uuid>,
    /// Sequence number of the `inspection` chain link.
    pub chain_seq: u64,
}

/// A photo attached to an item.
#[derive(Debug, Clone, Serialize)]
pub struct AttachedPhoto {
    /// Photo record id.
    pub photo_id: Uuid,
    /// SHA-256 of the derived (watermarked) photo: what answers and findings cite.
    pub sha256: String,
    /// Item it is attached to.
    pub item_id: String,
    /// `true` when its position lies outside the enterprise's on-site radius.
    pub off_site: Option<bool>,
}

/// An inspection row.
pub(crate) struct Row {
    pub id: Uuid,
    pub template_id: String,
    pub template_version: u32,
    pub enterprise_id: Uuid,
    pub inspector: String,
    pub role: Role,
    pub kind: TemplateKind,
    pub facts: EnterpriseFacts,
    pub started_at: DateTime<Utc>,
    pub supersedes: Option<Uuid>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub payload: Option<Vec<u8>>,
    pub payload_sha256: Option<String>,
    pub chain_seq: Option<u64>,
}

fn parse_inspection_id(key: &str) -> Result<Uuid, InspectionError> {
    Uuid::parse_str(key.trim()).map_err(|_| InspectionError::InspectionNotFound(key.to_string()))
}

pub(crate) fn load_row(conn: &Connection, id: &Uuid) -> Result<Row, InspectionError> {
    type Raw = (
        (String, String, u32, String, String, String, String),
        (String, String, Option<String>, Option<String>),
        (Option<Vec<u8>>, Option<String>, Option<i64>),
    );
    let raw: Option<Raw> = conn
        .query_row(
            "SELECT id, template_id, template_version, enterprise_id, inspector, role, kind, \
                 facts, started_at, supersedes, finalized_at, payload, payload_sha256, chain_seq \
             FROM inspection WHERE id = ?1",
            [id.to_string()],
            |r| {
                Ok((
                    (
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ),
                    (r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?),
                    (r.get(11)?, r.get(12)?, r.get(13)?),
                ))
            },
        )
        .optional()?;
    let Some((
        (id_s, template_id, template_version, enterprise_id, inspector, role, kind),
        (facts, started_at, supersedes, finalized_at),
        (payload, payload_sha256, chain_seq),
    )) = raw
    else {
        return Err(InspectionError::InspectionNotFound(id.to_string()));
    };
    let t = "inspection";
    Ok(Row {
        id: parse_uuid(t, "id", &id_s)?,
        template_id,
        template_version,
        enterprise_id: parse_uuid(t, "enterprise_id", &enterprise_id)?,
        inspector,
        role: from_json(t, "role", &format!("\"{role}\""))?,
        kind: from_json(t, "kind", &format!("\"{kind}\""))?,
        facts: from_json(t, "facts", &facts)?,
        started_at: parse_ts(t, "started_at", &started_at)?,
        supersedes: supersedes
            .map(|s| parse_uuid(t, "supersedes", &s))
            .transpose()?,
        finalized_at: finalized_at
            .map(|s| parse_ts(t, "finalized_at", &s))
            .transpose()?,
        payload,
        payload_sha256,
        chain_seq: chain_seq.map(|s| s as u64),
    })
}

/// The answers of a draft: stored answers plus attached photos.
pub(crate) fn load_answers(
    conn: &Connection,
    id: &Uuid,
    template: &Template,
) -> Result<Answers, InspectionError> {
    let mut answers = Answers::new();
    let mut stmt = conn.prepare(
        "SELECT item_id, value, note FROM inspection_answer WHERE inspection_id = ?1 ORDER BY item_id",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    for row in rows {
        let (item, value, note) = row?;
        let value: AnswerValue = from_json("inspection_answer", "value", &value)?;
        answers.insert(
            item,
            Answer {
                value,
                note,
                photo_sha256s: Vec::new(),
            },
        );
    }
    let mut stmt = conn.prepare(
        "SELECT item_id, sha256 FROM inspection_photo WHERE inspection_id = ?1 \
         ORDER BY attached_at, photo_id",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (item, sha) = row?;
        let is_photo_item = template
            .item(&item)
            .is_some_and(|i| matches!(i.answer_type, AnswerType::Photo));
        if is_photo_item {
            let entry = answers
                .entry(item)
                .or_insert_with(|| Answer::new(AnswerValue::Photos(Vec::new())));
            if let AnswerValue::Photos(v) = &mut entry.value {
                if !v.contains(&sha) {
                    v.push(sha);
                }
            }
        } else if let Some(a) = answers.get_mut(&item) {
            if !a.photo_sha256s.contains(&sha) {
                a.photo_sha256s.push(sha);
            }
        }
        // Photos of an item not answered yet are kept and join the answer once given.
    }
    Ok(answers)
}

fn item_view(
    section_id: &str,
    item: &Item,
    answer: Option<&Answer>,
    photos: Vec<String>,
    known: Option<super::known::KnownAnswer>,
) -> ItemView {
    let (choices, multiple, unit) = match &item.answer_type {
        AnswerType::Choice { choices, multiple } => (choices.clone(), *multiple, None),
        AnswerType::Number { unit, .. } => (Vec::new(), false, Some(unit.clone())),
        _ => (Vec::new(), false, None),
    };
    ItemView {
        id: item.id.clone(),
        section_id: section_id.to_string(),
        text: item.text_zh.clone(),
        help: item.help_zh.clone(),
        answer_type: item.answer_type.name(),
        choices,
        multiple,
        unit,
        required: item.required,
        photo_required_on_fail: item.photo_required_on_fail,
        photo_required_when: item.photo_required_when.clone(),
        known,
        major_hazard: item.major_hazard,
        legal_basis: item.legal_basis.as_ref().map(ToString::to_string),
        fail_when: match item.answer_type {
            AnswerType::YesNoNa => item.fail_when,
            _ => None,
        },
        photos,
        answer: answer.cloned(),
    }
}

/// SHA-256 of every photo attached to one item of an inspection, oldest first.
fn item_photos(
    conn: &Connection,
    id: &Uuid,
    item_id: &str,
) -> Result<Vec<String>, InspectionError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256 FROM inspection_photo WHERE inspection_id = ?1 AND item_id = ?2 \
         ORDER BY attached_at, photo_id",
    )?;
    let rows = stmt.query_map(params![id.to_string(), item_id], |r| r.get::<_, String>(0))?;
    let mut out: Vec<String> = Vec::new();
    for row in rows {
        let sha = row?;
        if !out.contains(&sha) {
            out.push(sha);
        }
    }
    Ok(out)
}

/// Checks that an item exists and applies; returns it.
fn applicable_item<'t>(
    template: &'t Template,
    facts: &EnterpriseFacts,
    item_id: &str,
) -> Result<&'t Item, InspectionError> {
    let item = template
        .item(item_id)
        .ok_or_else(|| InspectionError::UnknownItem {
            template: format!("{} v{}", template.id, template.version),
            item: item_id.to_string(),
        })?;
    if !applicable_items(template, facts)
        .iter()
        .any(|i| i.id == item.id)
    {
        return Err(InspectionError::NotApplicable(item_id.to_string()));
    }
    Ok(item)
}

/// Refuses a role that may not run the template ([`Template::allows_role`]), unless an
/// officer assigned this template on this enterprise to the phone's enrolled user `me`:
/// an assignment (任务) lets its assignee run its template whatever the template's role
/// (an expert given a tip's verification, a grid worker's template). `open_only`: when
/// starting, the assignment must still be open; when finalizing, one made before is
/// enough (a draft started under it is not stranded because the officer cancelled it
/// or the server fulfilled it meanwhile).
fn ensure_role(
    conn: &rusqlite::Connection,
    template: &Template,
    role: Role,
    enterprise_id: &Uuid,
    me: Option<&str>,
    open_only: bool,
) -> Result<(), InspectionError> {
    if template.allows_role(role) {
        return Ok(());
    }
    let assigned: bool = match me {
        Some(me) => conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM assignment WHERE enterprise_id = ?1 \
                     AND template_id = ?2 AND assignee = ?3 AND (status = 'open' OR NOT ?4))",
                rusqlite::params![enterprise_id.to_string(), template.id, me, open_only],
                |r| r.get(0),
            )
            .map_err(StoreError::from)?,
        None => false,
    };
    if assigned {
        return Ok(());
    }
    Err(InspectionError::RoleNotAllowed {
        role: enum_name(&role),
        template: template.id.clone(),
        template_role: enum_name(&template.role),
    })
}

fn ensure_draft(row: &Row) -> Result<(), InspectionError> {
    if row.payload.is_some() {
        return Err(InspectionError::AlreadyFinalized(row.id.to_string()));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn insert_inspection(
    conn: &Connection,
    id: &Uuid,
    template: &Template,
    enterprise_id: &Uuid,
    inspector: &str,
    role: Role,
    facts: &EnterpriseFacts,
    supersedes: Option<&Uuid>,
) -> Result<(), InspectionError> {
    conn.execute(
        "INSERT INTO inspection (id, template_id, template_version, enterprise_id, inspector, role, \
             kind, facts, started_at, supersedes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id.to_string(),
            template.id,
            template.version,
            enterprise_id.to_string(),
            inspector,
            enum_name(&role),
            enum_name(&template.kind),
            serde_json::to_string(facts)?,
            ts(&now_utc()),
            supersedes.map(ToString::to_string),
        ],
    )?;
    Ok(())
}

/// Room the finalized record needs around its answers (ids, times, score, findings):
/// this much, or a quarter of a small limit.
const ANSWERS_ENVELOPE_BYTES: usize = 64 * 1024;

impl Store {
    /// The largest inspection payload the server takes: its published limit, once it
    /// published one (docs/sync-protocol.md "Limits"), else this build's.
    fn payload_limit(&self) -> Result<usize, StoreError> {
        Ok(usize::try_from(self.server_limits()?.max_payload_bytes).unwrap_or(usize::MAX))
    }
}

impl Store {
    /// Starts an inspection: pins the template version and the enterprise facts that
    /// decide which items apply. Returns the new inspection id (UUID v7).
    pub fn start_inspection(&self, req: &StartInspection) -> Result<Uuid, InspectionError> {
        self.ensure_builtin_templates()?;
        let inspector = req.inspector.trim();
        if inspector.is_empty() {
            return Err(InspectionError::EmptyInspector);
        }
        check_text("inspector", inspector, MAX_NAME_CHARS)?;
        let template = load_template(&self.conn, &req.template_id, req.template_version)?;
        let role = match &req.role {
            Some(r) => serde_json::from_value::<Role>(serde_json::Value::String(r.trim().into()))
                .map_err(|_| InspectionError::UnknownRole(r.clone()))?,
            None => template.role,
        };
        let enterprise_id = self.register_entry(&req.enterprise)?.enterprise.id;
        let me = self.enrolled_user_name()?;
        ensure_role(
            &self.conn,
            &template,
            role,
            &enterprise_id,
            me.as_deref(),
            true,
        )?;
        let facts = self.enterprise_facts(&enterprise_id)?;
        let id = Uuid::now_v7();
        let tx = begin(&self.conn)?;
        insert_inspection(
            &tx,
            &id,
            &template,
            &enterprise_id,
            inspector,
            role,
            &facts,
            None,
        )?;
        tx.commit().map_err(StoreError::from)?;
        Ok(id)
    }

    /// The items of an inspection that apply to its enterprise, with current answers.
    pub fn inspection_items(&self, id: &str) -> Result<Vec<ItemView>, InspectionError> {
        let id = parse_inspection_id(id)?;
        let row = load_row(&self.conn, &id)?;
        let template = load_template(&self.conn, &row.template_id, Some(row.template_version))?;
        let answers = self.answers_of(&row, &template)?;
        let applicable: Vec<&str> = applicable_items(&template, &row.facts)
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        // What the register knows, for the items that ask about it, while a draft.
        let register = if row.payload.is_none() && template.items().any(|i| i.known.is_some()) {
            let key = row.enterprise_id.to_string();
            match (self.register_entry(&key), self.enterprise_status(&key)) {
                (Ok(d), Ok(st)) => Some((d.enterprise, st)),
                _ => None,
            }
        } else {
            None
        };
        let mut out = Vec::new();
        for s in &template.sections {
            for item in &s.items {
                if applicable.contains(&item.id.as_str()) {
                    let photos = item_photos(&self.conn, &id, &item.id)?;
                    let known = match (item.known, &register) {
                        (Some(fact), Some((e, st))) => super::known::known_answer(fact, e, st),
                        _ => None,
                    };
                    out.push(item_view(&s.id, item, answers.get(&item.id), photos, known));
                }
            }
        }
        Ok(out)
    }

    fn answers_of(&self, row: &Row, template: &Template) -> Result<Answers, InspectionError> {
        match &row.payload {
            Some(bytes) => {
                let p: FinalizedInspection =
                    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
                        table: "inspection",
                        column: "payload",
                        detail: e.to_string(),
                    })?;
                Ok(p.answers)
            }
            None => load_answers(&self.conn, &row.id, template),
        }
    }

    /// Records (or replaces) one answer, in its own transaction. Unknown or
    /// non-applicable items, values that do not fit the item, photo items and
    /// finalized inspections are refused and nothing changes.
    pub fn answer(
        &self,
        id: &str,
        item_id: &str,
        raw: &str,
        note: Option<&str>,
    ) -> Result<Answer, InspectionError> {
        let id = parse_inspection_id(id)?;
        check_text("answer", raw, MAX_ANSWER_CHARS)?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = note {
            check_text("note", n, MAX_NOTE_CHARS)?;
        }
        let tx = begin(&self.conn)?;
        let row = load_row(&tx, &id)?;
        ensure_draft(&row)?;
        let template = load_template(&tx, &row.template_id, Some(row.template_version))?;
        let item = applicable_item(&template, &row.facts, item_id)?;
        if matches!(item.answer_type, AnswerType::Photo) {
            return Err(InspectionError::PhotoItem(item_id.to_string()));
        }
        let value = parse_answer(item, raw).map_err(|source| InspectionError::BadAnswer {
            item: item_id.to_string(),
            source,
        })?;
        tx.execute(
            "INSERT INTO inspection_answer (inspection_id, item_id, value, note, answered_at, answered_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (inspection_id, item_id) DO UPDATE SET value = excluded.value, \
                 note = excluded.note, answered_at = excluded.answered_at, answered_by = excluded.answered_by",
            params![
                id.to_string(),
                item.id,
                serde_json::to_string(&value)?,
                note,
                ts(&now_utc()),
                row.inspector
            ],
        )?;
        // The server's payload limit is kept where the answer is typed, not found out
        // at finalize or, worse, at sync: the answers so far (with room for what the
        // finalized record adds around them) must fit. Over it, nothing is saved.
        let answered: i64 = tx.query_row(
            "SELECT coalesce(sum(length(CAST(value AS BLOB)) + coalesce(length(CAST(note AS BLOB)), 0)              + length(item_id) + 96), 0) FROM inspection_answer WHERE inspection_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        let max = self.payload_limit()?;
        let size = answered.max(0) as usize + ANSWERS_ENVELOPE_BYTES.min(max / 4);
        if size > max {
            return Err(InspectionError::PayloadTooLarge { size, max });
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(Answer {
            value,
            note: note.map(str::to_string),
            photo_sha256s: Vec::new(),
        })
    }

    /// Runs a photo through the evidence pipeline (stored with its chain link) and
    /// attaches it to an item of a draft inspection.
    pub fn attach_photo(
        &self,
        id: &str,
        item_id: &str,
        path: &Path,
    ) -> Result<AttachedPhoto, InspectionError> {
        self.attach_photo_stamped(id, item_id, path, Local::now().fixed_offset(), None)
            .map(|(attached, _)| attached)
    }

    /// [`Store::attach_photo`] with the phone's capture time and position (`stamp`
    /// `None`: the photo's own EXIF position is used, as [`Store::add_photo`] does);
    /// also returns the stored photo record (thumbnail path, stamp flags).
    pub fn attach_photo_stamped(
        &self,
        id: &str,
        item_id: &str,
        path: &Path,
        device_time: DateTime<FixedOffset>,
        stamp: Option<GpsStamp>,
    ) -> Result<(AttachedPhoto, PhotoRecord), InspectionError> {
        let id = parse_inspection_id(id)?;
        // Check everything that can be checked before the photo is stored.
        let row = load_row(&self.conn, &id)?;
        ensure_draft(&row)?;
        let template = load_template(&self.conn, &row.template_id, Some(row.template_version))?;
        let item = applicable_item(&template, &row.facts, item_id)?.id.clone();
        let record = self.add_photo(&PhotoInput {
            path: path.to_path_buf(),
            enterprise_id: Some(row.enterprise_id),
            inspector: row.inspector.clone(),
            device_time,
            stamp,
        })?;
        let sha = record.payload.derived_sha256.clone();
        let tx = begin(&self.conn)?;
        ensure_draft(&load_row(&tx, &id)?)?;
        tx.execute(
            "INSERT OR IGNORE INTO inspection_photo (inspection_id, item_id, photo_id, sha256, attached_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id.to_string(),
                item,
                record.payload.id.to_string(),
                sha,
                ts(&now_utc())
            ],
        )?;
        tx.commit().map_err(StoreError::from)?;
        let attached = AttachedPhoto {
            photo_id: record.payload.id,
            sha256: sha,
            item_id: item,
            off_site: record.off_site,
        };
        Ok((attached, record))
    }

    /// Finalizes an inspection in one transaction: refuses with what is missing;
    /// otherwise computes score and findings, creates one hazard per finding (deadline
    /// by `policy`), freezes the canonical payload and its SHA-256, appends an
    /// `inspection` link to the evidence chain and updates the enterprise's status.
    pub fn finalize_inspection(
        &self,
        id: &str,
        policy: &DeadlinePolicy,
    ) -> Result<FinalizeOutcome, InspectionError> {
        let id = parse_inspection_id(id)?;
        let me = self.enrolled_user_name()?;
        let tx = begin(&self.conn)?;
        let row = load_row(&tx, &id)?;
        ensure_draft(&row)?;
        let template = load_template(&tx, &row.template_id, Some(row.template_version))?;
        // Rows started before the role rule existed are checked here too.
        ensure_role(
            &tx,
            &template,
            row.role,
            &row.enterprise_id,
            me.as_deref(),
            false,
        )?;
        let answers = load_answers(&tx, &id, &template)?;
        let evaluation =
            evaluate(&template, &row.facts, &answers).map_err(InspectionError::Incomplete)?;
        if template.signature_required() {
            let signed: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM signature WHERE inspection_id = ?1)",
                [id.to_string()],
                |r| r.get(0),
            )?;
            if !signed {
                return Err(InspectionError::SignatureRequired(id.to_string()));
            }
        }
        let enterprise =
            crate::register::get_enterprise(&tx, &row.enterprise_id)?.ok_or_else(|| {
                StoreError::NotFound {
                    what: "enterprise",
                    key: row.enterprise_id.to_string(),
                }
            })?;
        let finalized_at = now_utc();
        let payload = FinalizedInspection {
            inspection_id: id,
            template_id: row.template_id.clone(),
            template_version: row.template_version,
            enterprise_id: row.enterprise_id,
            enterprise_uscc: enterprise.uscc.to_string(),
            inspector: row.inspector.clone(),
            role: row.role,
            started_at: row.started_at,
            finalized_at,
            answers: answers.clone(),
            score: evaluation.score.clone(),
            findings: evaluation.findings.clone(),
            supersedes: row.supersedes,
        };
        // Serialized once: these bytes are stored and hashed and never rebuilt.
        let bytes = payload.canonical_bytes()?;
        let max = self.payload_limit()?;
        if bytes.len() > max {
            return Err(InspectionError::PayloadTooLarge {
                size: bytes.len(),
                max,
            });
        }
        let sha = sha256_hex(&bytes);

        let mut hazards = Vec::new();
        let open_from_earlier = super::hazards::open_hazards_of_chain(&tx, row.supersedes)?;
        for (seq, f) in evaluation.findings.iter().enumerate() {
            let hazard_id = match open_from_earlier.get(&f.item_id) {
                Some(h) => *h,
                None => {
                    let hazard_id = Uuid::now_v7();
                    let created = created_from_finding(
                        hazard_id,
                        finalized_at,
                        row.inspector.clone(),
                        row.enterprise_id,
                        id,
                        f,
                        policy,
                    );
                    tx.execute(
                        "INSERT INTO hazard (id, enterprise_id, inspection_id, item_id, severity, created_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            hazard_id.to_string(),
                            row.enterprise_id.to_string(),
                            id.to_string(),
                            f.item_id,
                            enum_name(&f.severity),
                            ts(&finalized_at)
                        ],
                    )?;
                    super::hazards::insert_event(&tx, &created)?;
                    hazard_id
                }
            };
            tx.execute(
                "INSERT INTO finding (inspection_id, seq, item_id, section_id, severity, legal_basis, \
                     text_zh, note, photos, hazard_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    id.to_string(),
                    seq as i64,
                    f.item_id,
                    f.section_id,
                    enum_name(&f.severity),
                    f.legal_basis.as_ref().map(serde_json::to_string).transpose()?,
                    f.text_zh,
                    f.note,
                    serde_json::to_string(&f.photo_sha256s)?,
                    hazard_id.to_string()
                ],
            )?;
            hazards.push(hazard_id);
        }
        let link = crate::evidence::append_chain(&tx, "inspection", &id.to_string(), &sha)?;
        tx.execute(
            "UPDATE inspection SET finalized_at = ?2, payload = ?3, payload_sha256 = ?4, score = ?5, \
                 chain_seq = ?6 WHERE id = ?1",
            params![
                id.to_string(),
                ts(&finalized_at),
                bytes,
                sha,
                serde_json::to_string(&evaluation.score)?,
                link.seq as i64
            ],
        )?;
        super::status::apply_finalized(&tx, &row, &template, &answers, &evaluation, finalized_at)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(FinalizeOutcome {
            inspection_id: id,
            payload_sha256: sha,
            score: evaluation.score,
            hazards,
            chain_seq: link.seq,
        })
    }

    /// Starts a correction of a finalized inspection: a new draft on the same template
    /// version and enterprise, with the answers and photos copied (those still
    /// applicable), naming the inspection it supersedes.
    pub fn revise_inspection(
        &self,
        id: &str,
        inspector: Option<&str>,
    ) -> Result<Uuid, InspectionError> {
        let old_id = parse_inspection_id(id)?;
        let old = load_row(&self.conn, &old_id)?;
        if old.payload.is_none() {
            return Err(InspectionError::NotFinalized(old_id.to_string()));
        }
        let template = load_template(&self.conn, &old.template_id, Some(old.template_version))?;
        let facts = self.enterprise_facts(&old.enterprise_id)?;
        let inspector = inspector
            .map(str::trim)
            .unwrap_or(old.inspector.as_str())
            .to_string();
        if inspector.is_empty() {
            return Err(InspectionError::EmptyInspector);
        }
        check_text("inspector", &inspector, MAX_NAME_CHARS)?;
        let new_id = Uuid::now_v7();
        let tx = begin(&self.conn)?;
        let by: Option<String> = tx
            .query_row(
                "SELECT id FROM inspection WHERE supersedes = ?1",
                [old_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(by) = by {
            return Err(InspectionError::AlreadySuperseded {
                id: old_id.to_string(),
                by,
            });
        }
        insert_inspection(
            &tx,
            &new_id,
            &template,
            &old.enterprise_id,
            &inspector,
            old.role,
            &facts,
            Some(&old_id),
        )?;
        let applicable: Vec<String> = applicable_items(&template, &facts)
            .iter()
            .map(|i| i.id.clone())
            .collect();
        let now = ts(&now_utc());
        for sql in [
            "INSERT INTO inspection_answer (inspection_id, item_id, value, note, answered_at, answered_by) \
             SELECT ?1, item_id, value, note, ?3, ?4 FROM inspection_answer WHERE inspection_id = ?2 \
                 AND item_id IN (SELECT value FROM json_each(?5))",
            "INSERT INTO inspection_photo (inspection_id, item_id, photo_id, sha256, attached_at) \
             SELECT ?1, item_id, photo_id, sha256, attached_at FROM inspection_photo WHERE inspection_id = ?2 \
                 AND item_id IN (SELECT value FROM json_each(?5)) AND ?3 IS NOT NULL AND ?4 IS NOT NULL",
        ] {
            tx.execute(
                sql,
                params![
                    new_id.to_string(),
                    old_id.to_string(),
                    now,
                    inspector,
                    serde_json::to_string(&applicable)?
                ],
            )?;
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(new_id)
    }

    /// One inspection with its answers, and for a finalized one its score, findings and
    /// payload hash (answers, score and findings then come from the stored payload).
    pub fn inspection(&self, id: &str) -> Result<InspectionDetail, InspectionError> {
        let id = parse_inspection_id(id)?;
        let row = load_row(&self.conn, &id)?;
        let template = load_template(&self.conn, &row.template_id, Some(row.template_version))?;
        let enterprise = crate::register::get_enterprise(&self.conn, &row.enterprise_id)?
            .ok_or_else(|| StoreError::NotFound {
                what: "enterprise",
                key: row.enterprise_id.to_string(),
            })?;
        let superseded_by: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM inspection WHERE supersedes = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let (answers, score, findings) = match &row.payload {
            Some(bytes) => {
                let p: FinalizedInspection =
                    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
                        table: "inspection",
                        column: "payload",
                        detail: e.to_string(),
                    })?;
                let hazard_ids = self.finding_hazards(&id)?;
                let findings = p
                    .findings
                    .into_iter()
                    .map(|f| {
                        let hazard_id = hazard_ids
                            .iter()
                            .find(|(item, _)| *item == f.item_id)
                            .map(|(_, h)| *h)
                            .unwrap_or_default();
                        StoredFinding {
                            legal_basis_text: f.legal_basis.as_ref().map(ToString::to_string),
                            finding: f,
                            hazard_id,
                        }
                    })
                    .collect();
                (p.answers, Some(p.score), findings)
            }
            None => (load_answers(&self.conn, &id, &template)?, None, Vec::new()),
        };
        Ok(InspectionDetail {
            id,
            status: if row.payload.is_some() {
                InspectionStatus::Finalized
            } else {
                InspectionStatus::Draft
            },
            template_id: row.template_id,
            template_version: row.template_version,
            template_title: template.title_zh,
            enterprise_id: row.enterprise_id,
            enterprise_uscc: enterprise.uscc.to_string(),
            enterprise_name: enterprise.name,
            inspector: row.inspector,
            role: row.role,
            kind: row.kind,
            facts: row.facts,
            started_at: row.started_at,
            supersedes: row.supersedes,
            superseded_by: superseded_by
                .map(|s| parse_uuid("inspection", "id", &s))
                .transpose()?,
            answers,
            score,
            findings,
            finalized_at: row.finalized_at,
            payload_sha256: row.payload_sha256,
            chain_seq: row.chain_seq,
            review: crate::work::review_of(&self.conn, &id)?,
        })
    }

    /// The exact stored payload bytes of a finalized inspection and their SHA-256.
    pub fn inspection_payload(&self, id: &str) -> Result<(Vec<u8>, String), InspectionError> {
        let id = parse_inspection_id(id)?;
        let row = load_row(&self.conn, &id)?;
        match (row.payload, row.payload_sha256) {
            (Some(p), Some(h)) => Ok((p, h)),
            _ => Err(InspectionError::NotFinalized(id.to_string())),
        }
    }

    fn finding_hazards(&self, id: &Uuid) -> Result<Vec<(String, Uuid)>, InspectionError> {
        let mut stmt = self.conn.prepare(
            "SELECT item_id, hazard_id FROM finding WHERE inspection_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (item, h) = row?;
            out.push((item, parse_uuid("finding", "hazard_id", &h)?));
        }
        Ok(out)
    }
}
