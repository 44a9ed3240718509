//! The printable inspection record (检查记录, docs/console.md "Printable record"): what
//! the server puts into [`gridwalk_print::Record`] for one inspection — the evidence
//! view's facts in words, the photos and signatures read from the blob store and hashed
//! again — and the public answer its QR code points to, `GET /v1/verify/{sha256}`.

use crate::db::Tx;
use crate::error::StoreError;
use crate::evidence_view::{InspectionDetail, PhotoEvidence};
use crate::store::{problem, Store};
use crate::work::Actor;
use chrono::{DateTime, Utc};
use gridwalk_checklist::hazard::china_offset;
use gridwalk_checklist::{AnswerValue, FinalizedInspection, YesNoNa};
use gridwalk_print::{PdfFont, Record};
use gridwalk_protocol::ProblemCode;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

/// Where the records' font comes from and how the QR code names this server. The font
/// is read once, on first use.
#[derive(Debug, Clone, Default)]
pub struct PrintConfig {
    /// `--pdf-font FILE` (else the default paths of [`gridwalk_print::DEFAULT_FONT_PATHS`]).
    pub font_path: Option<PathBuf>,
    /// `--public-url URL`: the server's address as phones and printers reach it (else
    /// taken from the request's `Host`).
    pub public_url: Option<String>,
    font: Arc<OnceLock<PdfFont>>,
}

impl PrintConfig {
    /// A configuration with these settings.
    pub fn new(font_path: Option<PathBuf>, public_url: Option<String>) -> PrintConfig {
        PrintConfig {
            font_path,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            font: Arc::default(),
        }
    }

    /// The font, loaded on first use; a missing font is `503 unavailable` saying what
    /// to install (and is looked for again on the next request).
    pub fn font(&self) -> Result<&PdfFont, StoreError> {
        if let Some(f) = self.font.get() {
            return Ok(f);
        }
        let loaded = gridwalk_print::find_font(self.font_path.as_deref())
            .and_then(|p| PdfFont::load(&p))
            .map_err(|e| problem(ProblemCode::Unavailable, e.to_string()))?;
        Ok(self.font.get_or_init(|| loaded))
    }
}

/// A signature the inspection's phone recorded for it.
#[derive(Debug, Clone)]
pub struct SignatureSource {
    pub png_sha256: String,
    pub signer: String,
    pub device_time: Option<String>,
}

/// What a record is printed from: the evidence view and the signatures.
#[derive(Debug, Clone)]
pub struct PrintSource {
    pub detail: InspectionDetail,
    pub signatures: Vec<SignatureSource>,
    /// The division's name (town · village), if the server knows it.
    pub division_name: Option<String>,
}

/// Bytes read from the blob store that hash to their names (`None`: not held, or not
/// matching; a mismatch is logged).
#[derive(Debug, Clone, Default)]
pub struct PrintBlobs {
    pub photos: Vec<Option<Vec<u8>>>,
    pub signatures: Vec<Option<Vec<u8>>>,
    /// Photos past the record's count or size limit: not read, captioned as such.
    pub not_printed: std::collections::HashSet<String>,
}

/// `GET /v1/verify/{sha256}`: only whether an accepted inspection record with that
/// payload hash is held, and when it was received.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyAnswer {
    pub payload_sha256: String,
    /// Always true (a hash the server does not hold is 404).
    pub held: bool,
    /// When the server received it (RFC 3339, UTC).
    pub received_at: String,
}

impl Store {
    /// The inspection (as [`Store::inspection_detail`]: officers and admins, inside
    /// their jurisdiction, else 404) with its signatures.
    pub fn print_source(&self, actor: &Actor, id: Uuid) -> Result<PrintSource, StoreError> {
        let detail = self.inspection_detail(actor, id)?;
        self.tx(|t| {
            Ok(PrintSource {
                signatures: signatures_of(t, &detail.record.device_id, detail.record.seq, id)?,
                division_name: division_name(t, &detail.item.division_code)?,
                detail: detail.clone(),
            })
        })
    }

    /// Whether an accepted inspection record has this payload hash (lower-case hex).
    pub fn verify_payload(&self, sha256: &str) -> Result<Option<VerifyAnswer>, StoreError> {
        let sha = sha256.trim().to_ascii_lowercase();
        if !gridwalk_protocol::is_sha256_hex(&sha) {
            return Ok(None);
        }
        self.tx(|t| {
            let row = t.query_opt(
                "SELECT received_at FROM record WHERE payload_sha256 = $1 \
                 AND state = 'accepted' AND kind = 'inspection' ORDER BY received_at LIMIT 1",
                &[sha.clone().into()],
            )?;
            Ok(match row {
                Some(r) => Some(VerifyAnswer {
                    payload_sha256: sha.clone(),
                    held: true,
                    received_at: r.str(0)?,
                }),
                None => None,
            })
        })
    }
}

/// Most signatures printed for one inspection (the latest ones).
const MAX_SIGNATURES: usize = 4;

/// The signature records of `inspection`: those its phone chained before the inspection
/// itself (a signature pushed afterwards does not belong to what was finalized), the
/// latest [`MAX_SIGNATURES`], oldest first.
fn signatures_of(
    t: &mut dyn Tx,
    device_id: &str,
    inspection_seq: i64,
    inspection: Uuid,
) -> Result<Vec<SignatureSource>, StoreError> {
    // Canonical JSON: the id appears exactly so in the payload.
    let pattern = format!("%\"inspection_id\":\"{inspection}\"%");
    let rows = t.query(
        "SELECT payload FROM record WHERE device_id = $1 AND kind = 'evidence' \
         AND state = 'accepted' AND payload LIKE $2 AND seq < $3 ORDER BY seq",
        &[device_id.into(), pattern.into(), inspection_seq.into()],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let Some(v) = r
            .text(0)?
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
        else {
            continue;
        };
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        if text("type").as_deref() != Some("signature")
            || text("inspection_id").as_deref() != Some(inspection.to_string().as_str())
        {
            continue;
        }
        if let Some(png_sha256) = text("png_sha256").filter(|h| gridwalk_protocol::is_sha256_hex(h))
        {
            out.push(SignatureSource {
                png_sha256,
                signer: text("signer").unwrap_or_default(),
                device_time: text("device_time"),
            });
        }
    }
    let skip = out.len().saturating_sub(MAX_SIGNATURES);
    Ok(out.split_off(skip))
}

/// `town · village` of a division code, as far as the server knows the names.
fn division_name(t: &mut dyn Tx, code: &str) -> Result<Option<String>, StoreError> {
    let mut names = Vec::new();
    let mut at = Some(code.to_string());
    while let Some(c) = at.take() {
        let Some(r) = t.query_opt(
            "SELECT name, level, parent_code FROM division WHERE code = $1",
            &[c.into()],
        )?
        else {
            break;
        };
        let level = r.str(1)?;
        names.push(r.str(0)?);
        if level != "town" && level != "district" && names.len() < 4 {
            at = r.text(2)?;
        }
    }
    names.reverse();
    Ok((!names.is_empty()).then(|| names.join(" · ")))
}

/// Most photos one printed record embeds.
const MAX_PRINTED_PHOTOS: usize = 60;
/// Most photo bytes one printed record reads (photos past it are captioned, not embedded).
const MAX_PRINTED_PHOTO_BYTES: u64 = 256 << 20;

/// Reads the photos and signatures of `source` from the blob store, keeping only bytes
/// that still hash to their names.
pub async fn read_blobs(
    blobs: &dyn object_store::ObjectStore,
    source: &PrintSource,
) -> Result<PrintBlobs, object_store::Error> {
    let mut out = PrintBlobs::default();
    // A phone decides how many photos an inspection names and how large each is: the
    // record prints what fits in memory and captions the rest as not printed.
    let mut budget = MAX_PRINTED_PHOTO_BYTES;
    for (n, p) in photo_order(source).into_iter().enumerate() {
        let size = p.size.unwrap_or(0).max(0) as u64;
        if n >= MAX_PRINTED_PHOTOS || size > budget {
            out.not_printed.insert(p.sha256.clone());
            out.photos.push(None);
            continue;
        }
        budget -= size;
        out.photos.push(read_verified(blobs, &p.sha256).await?);
    }
    for s in &source.signatures {
        out.signatures
            .push(read_verified(blobs, &s.png_sha256).await?);
    }
    Ok(out)
}

/// A photo's bytes when they still hash to their name (else left out, and logged).
async fn read_verified(
    blobs: &dyn object_store::ObjectStore,
    sha: &str,
) -> Result<Option<Vec<u8>>, object_store::Error> {
    Ok(
        match crate::evidence_view::read_verified_photo(blobs, sha).await? {
            crate::evidence_view::HeldPhoto::Verified(bytes) => Some(bytes.to_vec()),
            _ => None,
        },
    )
}

/// The photos in the order the template asks for them (answers in item order, then the
/// findings'), each once.
fn photo_order(source: &PrintSource) -> Vec<&PhotoEvidence> {
    let d = &source.detail;
    let mut named: Vec<String> = Vec::new();
    if let Ok(p) = serde_json::from_value::<FinalizedInspection>(d.payload.clone()) {
        let mut ids: Vec<&String> = d.items.iter().map(|i| &i.id).collect();
        ids.extend(
            p.answers
                .keys()
                .filter(|k| !d.items.iter().any(|i| &i.id == *k)),
        );
        for id in ids {
            if let Some(a) = p.answers.get(id) {
                if let AnswerValue::Photos(ph) = &a.value {
                    named.extend(ph.iter().cloned());
                }
                named.extend(a.photo_sha256s.iter().cloned());
            }
        }
        for f in &p.findings {
            named.extend(f.photo_sha256s.iter().cloned());
        }
    }
    let mut out: Vec<&PhotoEvidence> = Vec::new();
    for sha in named.iter().chain(d.photos.iter().map(|p| &p.sha256)) {
        if let Some(p) = d.photos.iter().find(|p| &p.sha256 == sha) {
            if !out.iter().any(|o| o.sha256 == p.sha256) {
                out.push(p);
            }
        }
    }
    out
}

/// An RFC 3339 time as China time, `YYYY-MM-DD HH:MM:SS`; anything else as it is.
fn china(s: &str) -> String {
    match DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => t
            .with_timezone(&china_offset())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

fn yes_no(v: YesNoNa) -> &'static str {
    match v {
        YesNoNa::Yes => "是",
        YesNoNa::No => "否",
        YesNoNa::Na => "不适用",
    }
}

fn role_zh(role: &str) -> &str {
    match role {
        "supervisor" => "督查组",
        other => crate::export::role_zh(other),
    }
}

fn chain_zh(chain: &str) -> &str {
    match chain {
        "linked" => "链接完整",
        "gap" => "前序记录缺失",
        "broken" => "链接不符",
        "unanchored" => "未锚定（旧版应用）",
        other => other,
    }
}

/// The caption of one photo: what it documents, when and where it was taken, how far
/// from the enterprise, and whether the server's bytes still hash to its name.
fn caption(p: &PhotoEvidence, held_ok: bool, not_printed: bool, item: Option<&str>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(i) = item {
        lines.push(format!("所属检查项：{i}"));
    }
    let mut time = match &p.device_time {
        Some(t) => format!("拍摄时间 {}", china(t)),
        None => "拍摄时间 未知".to_string(),
    };
    if let Some(g) = &p.gnss_time {
        time.push_str(&format!("（GNSS {}）", china(g)));
    }
    lines.push(time);
    let stamp = p.stamp.as_ref();
    let num = |k: &str| stamp.and_then(|s| s.get(k)).and_then(|v| v.as_f64());
    match (num("lat"), num("lon")) {
        (Some(lat), Some(lon)) => {
            let acc = num("accuracy_m")
                .map(|a| format!(" ±{a:.0}m"))
                .unwrap_or_default();
            lines.push(format!("位置 {lat:.6}, {lon:.6}{acc}（WGS-84）"));
        }
        _ => lines.push("位置 无定位".to_string()),
    }
    match (p.distance_m, p.off_site) {
        (Some(d), off) => {
            let radius = p
                .radius_m
                .map(|r| format!("，半径 {r:.0} 米"))
                .unwrap_or_default();
            let verdict = match off {
                Some(true) => "不在现场",
                Some(false) => "在现场",
                None => "未判定",
            };
            lines.push(format!("距企业登记位置 {d:.0} 米{radius}：{verdict}"));
        }
        (None, _) => lines.push("距企业登记位置 未知".to_string()),
    }
    if !p.stamp_flags.is_empty() {
        lines.push(format!("定位提示 {}", p.stamp_flags.join("、")));
    }
    let check = p
        .original_sha256
        .as_deref()
        .map(gridwalk_evidence::watermark::check_code)
        .map(|c| format!("；水印校验码 {c}"))
        .unwrap_or_default();
    let state = if held_ok {
        "服务器已核验哈希"
    } else if not_printed {
        "照片过多或过大，未印入本记录（可在控制台查看）"
    } else if p.held {
        "服务器所存文件哈希不符"
    } else {
        "服务器尚未收到照片"
    };
    let short: String = p.sha256.chars().take(16).collect();
    lines.push(format!("SHA-256 {short}…：{state}{check}"));
    lines
}

/// The record as printed: `source` in words, with the bytes of `blobs`, the QR code
/// pointing at `verify_url`, and who printed it.
pub fn record(
    source: &PrintSource,
    blobs: PrintBlobs,
    verify_url: String,
    printed_by: &str,
    now: DateTime<Utc>,
) -> Record {
    let d = &source.detail;
    let item = &d.item;
    let payload = serde_json::from_value::<FinalizedInspection>(d.payload.clone()).ok();
    let label = |id: &str| {
        d.items
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.text_zh.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let template = u32::try_from(item.template_version)
        .ok()
        .and_then(|v| gridwalk_checklist::builtin_template_version(&item.template_id, v))
        .map(|t| t.title_zh.clone())
        .unwrap_or_else(|| item.template_id.clone());
    let enterprise = item
        .enterprise_name
        .clone()
        .unwrap_or_else(|| item.enterprise_uscc.clone());

    let mut fields: Vec<(String, String)> = vec![
        ("企业名称".into(), enterprise.clone()),
        ("统一社会信用代码".into(), item.enterprise_uscc.clone()),
        (
            "所属区划".into(),
            match &source.division_name {
                Some(n) => format!("{n}（{}）", item.division_code),
                None => item.division_code.clone(),
            },
        ),
        (
            "检查表".into(),
            format!("{template}（v{}）", item.template_version),
        ),
        (
            "检查人".into(),
            format!("{}（{}）", item.inspector, role_zh(&item.role)),
        ),
    ];
    if let Some(p) = &payload {
        fields.push(("开始时间".into(), china(&p.started_at.to_rfc3339())));
    }
    fields.push(("完成时间".into(), china(&item.finalized_at)));
    fields.push(("服务器接收时间".into(), china(&item.received_at)));
    fields.push(("检查编号".into(), item.inspection_id.clone()));
    fields.push((
        "记录链".into(),
        format!(
            "设备 {} 第 {} 条记录，{}",
            d.record.device_id.chars().take(8).collect::<String>(),
            d.record.seq,
            chain_zh(&d.record.chain)
        ),
    ));
    let review = crate::export::review_zh(item.review_state.as_deref()).to_string();
    let review = match (&item.reviewer, &item.reviewed_at, &item.review_comment) {
        (Some(by), Some(at), comment) => format!(
            "{review}（{by}，{}）{}",
            china(at),
            comment
                .as_deref()
                .map(|c| format!("：{c}"))
                .unwrap_or_default()
        ),
        _ => review,
    };
    fields.push(("审核".into(), review));

    let mut result = Vec::new();
    let major = payload
        .as_ref()
        .map(|p| {
            p.findings
                .iter()
                .filter(|f| f.severity == gridwalk_checklist::Severity::Major)
                .count()
        })
        .unwrap_or(0);
    let rate = payload
        .as_ref()
        .and_then(|p| p.score.pass_rate_bp)
        .map(|bp| format!("，合格率 {:.1}%", f64::from(bp) / 100.0))
        .unwrap_or_default();
    let na = payload
        .as_ref()
        .map(|p| format!("，不适用 {} 项", p.score.not_applicable))
        .unwrap_or_default();
    result.push(format!(
        "合格 {} 项，不合格 {} 项{na}{rate}。",
        item.passed, item.failed
    ));
    result.push(format!(
        "发现问题 {} 项{}。",
        item.findings,
        if major > 0 {
            format!("，其中重大事故隐患 {major} 项")
        } else {
            String::new()
        }
    ));
    result.push(match item.off_site {
        Some(false) => "现场核验：照片均在企业登记位置半径内拍摄。".to_string(),
        Some(true) => "现场核验：有照片在企业登记位置半径外拍摄，请核实。".to_string(),
        None => "现场核验：照片无可用定位，无法判定。".to_string(),
    });

    let findings = payload
        .as_ref()
        .map(|p| {
            p.findings
                .iter()
                .map(|f| gridwalk_print::Finding {
                    severity: match f.severity {
                        gridwalk_checklist::Severity::Major => "重大事故隐患".into(),
                        _ => "一般隐患".into(),
                    },
                    item: label(&f.item_id),
                    text: f.note.clone().unwrap_or_else(|| f.text_zh.clone()),
                    legal_basis: f.legal_basis.as_ref().map(|b| b.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();

    let mut answers = Vec::new();
    let mut photo_item: Vec<(String, String)> = Vec::new();
    if let Some(p) = &payload {
        let tpl = u32::try_from(item.template_version)
            .ok()
            .and_then(|v| gridwalk_checklist::builtin_template_version(&item.template_id, v));
        let mut ids: Vec<(String, String)> = d
            .items
            .iter()
            .map(|i| (i.id.clone(), i.section_zh.clone()))
            .collect();
        ids.extend(
            p.answers
                .keys()
                .filter(|k| !d.items.iter().any(|i| &i.id == *k))
                .map(|k| (k.clone(), String::new())),
        );
        for (id, section) in ids {
            let Some(a) = p.answers.get(&id) else {
                continue;
            };
            let choice = |v: &str| {
                tpl.as_ref()
                    .and_then(|t| {
                        t.sections
                            .iter()
                            .flat_map(|s| &s.items)
                            .find(|i| i.id == id)
                    })
                    .and_then(|i| match &i.answer_type {
                        gridwalk_checklist::AnswerType::Choice { choices, .. } => choices
                            .iter()
                            .find(|c| c.value == v)
                            .map(|c| c.label_zh.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| v.to_string())
            };
            let value = match &a.value {
                AnswerValue::YesNoNa(v) => yes_no(*v).to_string(),
                AnswerValue::Number(n) => format!("{n}"),
                AnswerValue::Choice(c) => {
                    c.iter().map(|v| choice(v)).collect::<Vec<_>>().join("、")
                }
                // Written answers go in the wide 备注 column.
                AnswerValue::Text(_) => "见备注".to_string(),
                AnswerValue::Photos(ph) => format!("照片 {} 张", ph.len()),
            };
            let mut parts: Vec<String> = Vec::new();
            if let AnswerValue::Text(t) = &a.value {
                parts.push(t.clone());
            }
            parts.extend(a.note.clone());
            if !a.photo_sha256s.is_empty() {
                parts.push(format!("附照片 {} 张", a.photo_sha256s.len()));
            }
            let note = parts
                .iter()
                .map(|p| p.trim_end_matches(['。', '；', ';', '.']))
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("；");
            // A failed item says so beside its answer.
            let value = match &payload {
                Some(p) if p.findings.iter().any(|f| f.item_id == id) => {
                    format!("{value}（不合格）")
                }
                _ => value,
            };
            let text = label(&id);
            if let AnswerValue::Photos(ph) = &a.value {
                photo_item.extend(ph.iter().map(|s| (s.clone(), text.clone())));
            }
            photo_item.extend(a.photo_sha256s.iter().map(|s| (s.clone(), text.clone())));
            answers.push(gridwalk_print::Answer {
                section,
                label: text,
                value,
                note: (!note.is_empty()).then_some(note),
            });
        }
    }

    let order = photo_order(source);
    let not_printed = blobs.not_printed;
    let photos = order
        .iter()
        .zip(blobs.photos.into_iter().chain(std::iter::repeat(None)))
        .map(|(p, bytes)| {
            let of = photo_item
                .iter()
                .find(|(s, _)| *s == p.sha256)
                .map(|(_, l)| l.as_str());
            gridwalk_print::Photo {
                caption: caption(p, bytes.is_some(), not_printed.contains(&p.sha256), of),
                jpeg: bytes,
            }
        })
        .collect();
    let signatures = source
        .signatures
        .iter()
        .zip(blobs.signatures.into_iter().chain(std::iter::repeat(None)))
        .map(|(s, png)| gridwalk_print::Signature {
            png,
            signer: s.signer.clone(),
            signed_at: s.device_time.as_deref().map(china).unwrap_or_default(),
        })
        .collect();

    Record {
        title: "粉尘涉爆企业检查记录".into(),
        subtitle: vec![enterprise, format!("{template}（v{}）", item.template_version)],
        fields,
        result,
        findings,
        answers,
        photos,
        signatures,
        record_sha256: d.record.payload_sha256.clone(),
        verify_url,
        printed: format!(
            "{printed_by} 于 {} 打印自 GridWalk 网格巡查服务器。照片中的水印在拍摄时烧录；记录内容以服务器所存、哈希为上列值的签名数据为准。",
            now.with_timezone(&china_offset()).format("%Y-%m-%d %H:%M")
        ),
    }
}

/// The verification URL of a record hash on the server at `base` (no trailing slash).
pub fn verify_url(base: &str, payload_sha256: &str) -> String {
    format!("{}/v1/verify/{payload_sha256}", base.trim_end_matches('/'))
}

/// The file name of a record: ASCII and Chinese (`检查记录-<enterprise>-<date>.pdf`).
pub fn file_names(source: &PrintSource) -> (String, String) {
    let item = &source.detail.item;
    let date: String = china(&item.finalized_at)
        .chars()
        .take(10)
        .collect::<String>()
        .replace('-', "");
    let name = item
        .enterprise_name
        .clone()
        .unwrap_or_else(|| item.enterprise_uscc.clone());
    let name: String = name
        .chars()
        .map(|c| {
            if "/\\:*?\"<>|".contains(c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    (
        format!("inspection-{}-{date}.pdf", item.enterprise_uscc),
        format!("检查记录-{name}-{date}.pdf"),
    )
}

/// Renders the PDF (CPU-bound: call it off the async threads).
pub fn render(record: &Record, font: &PdfFont) -> Result<Vec<u8>, StoreError> {
    gridwalk_print::render(record, font).map_err(|e| StoreError::Invalid(e.to_string()))
}
