//! Checklist commands: templates, inspections, hazards (issue 4 §7).
//!
//! Errors of the inspection store are printed here with their own stable code
//! (`inspect.unknown_item`, `hazard.illegal_transition`, …): `error: …` on stderr, or
//! with `--json` one `{"code", "message"}` object (plus `missing` when finalize is
//! refused); the exit code is 1.

use crate::output;
use crate::Cli;
use anyhow::Result;
use clap::{Args, Subcommand};
use gridwalk_device::inspection::checklist::{
    DeadlinePolicy, HazardEventKind, HazardState, RectificationPlan,
};
use gridwalk_device::inspection::hazards::parse_date;
use gridwalk_device::inspection::{InspectionError, StartInspection};
use gridwalk_device::signature::{SignatureError, SignatureInput};
use gridwalk_device::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TemplatesCmd {
    /// Lists the checklist templates (every stored id + version).
    List,
    /// Shows a template (the newest version unless --version).
    Show {
        id: String,
        #[arg(long)]
        version: Option<u32>,
    },
    /// Imports templates from an Excel workbook (docs/checklist-excel.md); a workbook
    /// with errors stores nothing and lists them by sheet, row and column.
    Import { xlsx: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum InspectCmd {
    /// Starts an inspection; prints its id.
    Start {
        /// Enterprise id or USCC.
        #[arg(long)]
        enterprise: String,
        /// Template id.
        #[arg(long)]
        template: String,
        /// Template version (default: the newest).
        #[arg(long)]
        template_version: Option<u32>,
        /// The inspector's name / user id.
        #[arg(long)]
        inspector: String,
        /// grid_worker, expert, officer or supervisor (default: the template's).
        #[arg(long)]
        role: Option<String>,
    },
    /// Lists the items that apply to this inspection's enterprise.
    Items { inspection: String },
    /// Answers one item: yes, no, na, a number, a choice value or label, or text.
    Answer {
        inspection: String,
        item: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Runs a photo through the evidence pipeline and attaches it to an item.
    Photo {
        inspection: String,
        item: String,
        file: PathBuf,
    },
    /// Stores a signature (a PNG the signer drew, ≤ 512 KiB, ≤ 2000×1000 px) on a draft
    /// inspection as a chain-linked evidence record; prints the PNG's SHA-256. Templates
    /// that need the enterprise's signature cannot be finalized without one.
    Sign {
        inspection: String,
        /// The PNG file.
        file: PathBuf,
        /// Who signed (the enterprise's representative), as written.
        #[arg(long)]
        signer: String,
    },
    /// Finalizes: prints the payload SHA-256, or refuses listing what is missing.
    Finalize {
        inspection: String,
        /// Days to rectify a general hazard (default 30).
        #[arg(long, default_value_t = DeadlinePolicy::default().general_days)]
        general_days: u32,
        /// Days to rectify a major hazard (default 90).
        #[arg(long, default_value_t = DeadlinePolicy::default().major_days)]
        major_days: u32,
    },
    /// Shows an inspection: answers, score, findings, payload hash.
    Show { inspection: String },
    /// Prints the exact stored payload bytes of a finalized inspection.
    Payload { inspection: String },
    /// Starts a correction of a finalized inspection (answers copied); prints its id.
    Revise {
        inspection: String,
        #[arg(long)]
        inspector: Option<String>,
    },
    /// What finalized inspections confirmed about an enterprise (id or USCC).
    Status { enterprise: String },
}

/// Who records a hazard event.
#[derive(Debug, Args)]
pub struct Actor {
    /// The person recording this (default: $GRIDWALK_USER, else `device`).
    #[arg(long, env = "GRIDWALK_USER", default_value = "device")]
    pub actor: String,
}

#[derive(Debug, Subcommand)]
pub enum HazardsCmd {
    /// Lists hazards (newest first).
    List {
        /// Only this enterprise's (id or USCC).
        #[arg(long)]
        enterprise: Option<String>,
    },
    /// Shows one hazard with its history.
    Show { id: String },
    /// Assigns (or reassigns) the rectification.
    Assign {
        id: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Rectification started.
    Start {
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Re-inspection (复查): passed or failed, with photos after rectification.
    Reinspect {
        id: String,
        #[arg(long, conflicts_with = "failed", required_unless_present = "failed")]
        passed: bool,
        #[arg(long)]
        failed: bool,
        #[arg(long = "photo")]
        photos: Vec<PathBuf>,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Closes a hazard whose re-inspection passed.
    Close {
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Reopens a re-inspected or closed hazard.
    Reopen {
        id: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Puts a major hazard under listed supervision (挂牌督办).
    Supervise {
        id: String,
        #[arg(long)]
        notice: String,
        #[arg(long)]
        body: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        deadline: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Sets or revises the 五定 rectification plan: measures (整改措施), the person
    /// responsible (责任人), funds (整改资金, yuan), deadline (整改时限; not later than the
    /// hazard's current deadline, which only `extend` moves later) and interim measures
    /// (应急预案). Only while found, assigned or rectifying.
    Plan {
        id: String,
        /// 整改措施.
        #[arg(long)]
        measures: String,
        /// 责任人 (at the enterprise).
        #[arg(long)]
        responsible: String,
        /// 整改资金, whole yuan (omit when not yet budgeted).
        #[arg(long)]
        funds_yuan: Option<u64>,
        /// 整改时限, YYYY-MM-DD.
        #[arg(long)]
        deadline: String,
        /// 应急预案: interim safety measures until the hazard is closed.
        #[arg(long)]
        interim: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Extends the rectification deadline (later only).
    Extend {
        id: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        deadline: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
}

/// Prints an inspection-store error with its code; anything else goes to `main`.
fn handled(cli: &Cli, r: Result<ExitCode>) -> Result<ExitCode> {
    match r {
        Err(e) => match e.downcast_ref::<InspectionError>() {
            Some(ie) => {
                if cli.json {
                    let mut body =
                        serde_json::json!({ "code": ie.code(), "message": ie.to_string() });
                    if let InspectionError::Incomplete(m) = ie {
                        body["missing"] = serde_json::to_value(m)?;
                    }
                    eprintln!("{body}");
                } else {
                    eprintln!("error: {ie}");
                }
                Ok(ExitCode::from(1))
            }
            None => Err(e),
        },
        ok => ok,
    }
}

fn open(cli: &Cli) -> Result<Store> {
    Ok(Store::open(&cli.db)?)
}

/// `templates …`
pub fn templates(cli: &Cli, cmd: &TemplatesCmd) -> Result<ExitCode> {
    handled(cli, templates_inner(cli, cmd))
}

fn templates_inner(cli: &Cli, cmd: &TemplatesCmd) -> Result<ExitCode> {
    let store = open(cli)?;
    match cmd {
        TemplatesCmd::List => {
            let list = store.templates()?;
            if cli.json {
                output::json(&list)?;
            } else {
                for t in &list {
                    println!(
                        "{}\tv{}\t{}\t{}/{}\t{} items{}",
                        t.id,
                        t.version,
                        t.title_zh,
                        t.role,
                        t.kind,
                        t.items,
                        if t.source == "import" {
                            "\t(imported)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        TemplatesCmd::Show { id, version } => {
            let t = store.template(id, *version)?;
            if cli.json {
                output::json(&t)?;
            } else {
                println!("{} v{} — {}", t.id, t.version, t.title_zh);
                for s in &t.sections {
                    println!("[{}] {}", s.id, s.title_zh);
                    for i in &s.items {
                        let mut flags = Vec::new();
                        if i.major_hazard {
                            flags.push("重大".to_string());
                        }
                        if let Some(c) = &i.applies_if {
                            flags.push(format!("if {c}"));
                        }
                        if let Some(b) = &i.legal_basis {
                            flags.push(b.to_string());
                        }
                        println!(
                            "  {}\t{}\t{}\t{}",
                            i.id,
                            i.answer_type.name(),
                            i.text_zh,
                            flags.join("; ")
                        );
                    }
                }
            }
        }
        TemplatesCmd::Import { xlsx } => {
            let changes = store.import_templates_xlsx(xlsx)?;
            if cli.json {
                output::json(&changes)?;
            } else {
                for c in &changes {
                    println!("{} v{}: {:?}", c.id, c.version, c.change);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `inspect …`
pub fn inspect(cli: &Cli, cmd: &InspectCmd) -> Result<ExitCode> {
    handled(cli, inspect_inner(cli, cmd))
}

fn inspect_inner(cli: &Cli, cmd: &InspectCmd) -> Result<ExitCode> {
    let store = open(cli)?;
    match cmd {
        InspectCmd::Start {
            enterprise,
            template,
            template_version,
            inspector,
            role,
        } => {
            let id = store.start_inspection(&StartInspection {
                enterprise: enterprise.clone(),
                template_id: template.clone(),
                template_version: *template_version,
                inspector: inspector.clone(),
                role: role.clone(),
            })?;
            if cli.json {
                output::json(&serde_json::json!({ "id": id }))?;
            } else {
                println!("{id}");
            }
        }
        InspectCmd::Items { inspection } => {
            let items = store.inspection_items(inspection)?;
            if cli.json {
                output::json(&items)?;
            } else {
                for i in &items {
                    let choices = i
                        .choices
                        .iter()
                        .map(|c| format!("{}={}", c.value, c.label_zh))
                        .collect::<Vec<_>>()
                        .join(", ");
                    println!(
                        "{}\t{}{}{}\t{}{}{}",
                        i.id,
                        i.answer_type,
                        if i.required { "" } else { " (optional)" },
                        if i.major_hazard { " 重大" } else { "" },
                        i.text,
                        if choices.is_empty() {
                            String::new()
                        } else {
                            format!(" [{choices}]")
                        },
                        match &i.answer {
                            Some(a) => format!("\t= {}", serde_json::to_string(&a.value)?),
                            None => String::new(),
                        }
                    );
                }
            }
        }
        InspectCmd::Answer {
            inspection,
            item,
            value,
            note,
        } => {
            let a = store.answer(inspection, item, value, note.as_deref())?;
            if cli.json {
                output::json(&a)?;
            } else {
                println!("{item} = {}", serde_json::to_string(&a.value)?);
            }
        }
        InspectCmd::Photo {
            inspection,
            item,
            file,
        } => {
            let p = store.attach_photo(inspection, item, file)?;
            if cli.json {
                output::json(&p)?;
            } else {
                println!(
                    "{}{}",
                    p.sha256,
                    if p.off_site == Some(true) {
                        "\t(off site)"
                    } else {
                        ""
                    }
                );
            }
        }
        InspectCmd::Sign {
            inspection,
            file,
            signer,
        } => {
            use std::io::Read;
            // Read one byte more than accepted: the library refuses anything larger.
            let limit = gridwalk_protocol::limits::MAX_SIGNATURE_BYTES as u64 + 1;
            let mut png = Vec::new();
            std::fs::File::open(file)
                .and_then(|f| f.take(limit).read_to_end(&mut png))
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let input = SignatureInput {
                png: &png,
                signer,
                device_time: chrono::Local::now().fixed_offset(),
                stamp: None,
            };
            let rec = match store.attach_signature(inspection, &input) {
                Ok(r) => r,
                Err(SignatureError::Inspection(e)) => return Err(e.into()),
                Err(e) => return Err(e.into()),
            };
            if cli.json {
                output::json(&serde_json::json!({
                    "id": rec.payload.id,
                    "sha256": rec.payload.png_sha256,
                    "signer": rec.payload.signer,
                    "chain_seq": rec.chain_seq,
                }))?;
            } else {
                println!("{}", rec.payload.png_sha256);
            }
        }
        InspectCmd::Finalize {
            inspection,
            general_days,
            major_days,
        } => {
            let policy = DeadlinePolicy {
                general_days: *general_days,
                major_days: *major_days,
            };
            let out = store.finalize_inspection(inspection, &policy)?;
            if cli.json {
                output::json(&out)?;
            } else {
                println!("{}", out.payload_sha256);
            }
        }
        InspectCmd::Show { inspection } => {
            let d = store.inspection(inspection)?;
            if cli.json {
                output::json(&d)?;
            } else {
                println!(
                    "{} {:?} {} v{} — {} ({})",
                    d.id,
                    d.status,
                    d.template_id,
                    d.template_version,
                    d.enterprise_name,
                    d.enterprise_uscc
                );
                println!(
                    "inspector {} ({:?}), started {}",
                    d.inspector, d.role, d.started_at
                );
                if let Some(s) = &d.supersedes {
                    println!("supersedes {s}");
                }
                if let Some(s) = &d.superseded_by {
                    println!("superseded by {s}");
                }
                for (item, a) in &d.answers {
                    println!("  {item} = {}", serde_json::to_string(&a.value)?);
                }
                if let Some(s) = &d.score {
                    println!(
                        "score: {} passed, {} failed, pass rate {}",
                        s.passed,
                        s.failed,
                        s.pass_rate_bp
                            .map(|b| format!("{}.{:02}%", b / 100, b % 100))
                            .unwrap_or_else(|| "-".into())
                    );
                }
                for f in &d.findings {
                    println!(
                        "  finding {} [{}] {} — {} → hazard {}",
                        f.finding.item_id,
                        f.finding.severity.name_zh(),
                        f.finding.text_zh,
                        f.legal_basis_text.as_deref().unwrap_or("-"),
                        f.hazard_id
                    );
                }
                if let Some(h) = &d.payload_sha256 {
                    println!("payload sha256 {h}");
                }
                if let Some(r) = &d.review {
                    println!(
                        "review: {} by {} at {}{}",
                        r.state.name_zh(),
                        r.reviewer,
                        r.at,
                        r.comment
                            .as_ref()
                            .map(|c| format!(" — {c}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        InspectCmd::Payload { inspection } => {
            let (bytes, _) = store.inspection_payload(inspection)?;
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
        InspectCmd::Revise {
            inspection,
            inspector,
        } => {
            let id = store.revise_inspection(inspection, inspector.as_deref())?;
            if cli.json {
                output::json(&serde_json::json!({ "id": id, "supersedes": inspection }))?;
            } else {
                println!("{id}");
            }
        }
        InspectCmd::Status { enterprise } => {
            let s = store.enterprise_status(enterprise)?;
            if cli.json {
                output::json(&s)?;
            } else {
                println!("{}", serde_json::to_string_pretty(&s)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hazards …`
pub fn hazards(cli: &Cli, cmd: &HazardsCmd) -> Result<ExitCode> {
    handled(cli, hazards_inner(cli, cmd))
}

fn print_state(cli: &Cli, s: &HazardState) -> Result<()> {
    if cli.json {
        output::json(s)?;
    } else {
        println!(
            "{} {:?} deadline {}{}",
            s.hazard_id,
            s.status,
            s.deadline,
            s.assignee
                .as_ref()
                .map(|a| format!(" assigned to {a}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn hazards_inner(cli: &Cli, cmd: &HazardsCmd) -> Result<ExitCode> {
    let store = open(cli)?;
    let transition = |id: &str, actor: &Actor, kind: HazardEventKind| -> Result<ExitCode> {
        let s = store.hazard_transition(id, &actor.actor, kind)?;
        print_state(cli, &s)?;
        Ok(ExitCode::SUCCESS)
    };
    match cmd {
        HazardsCmd::List { enterprise } => {
            let list = store.hazards(enterprise.as_deref())?;
            if cli.json {
                output::json(&list)?;
            } else {
                for h in &list {
                    println!(
                        "{}\t{}\t{}\t{:?}{}\t{}\t{}\t{}",
                        h.id,
                        h.item_id.as_deref().unwrap_or("-"),
                        h.severity.name_zh(),
                        h.state,
                        if h.overdue { " 逾期" } else { "" },
                        h.deadline,
                        h.legal_basis.as_deref().unwrap_or("-"),
                        h.enterprise_name
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        HazardsCmd::Show { id } => {
            let h = store.hazard(id)?;
            if cli.json {
                output::json(&h)?;
            } else {
                let s = &h.summary;
                println!(
                    "{} [{}] {:?}{} — {}",
                    s.id,
                    s.severity.name_zh(),
                    s.state,
                    if s.overdue { " 逾期" } else { "" },
                    s.enterprise_name
                );
                println!(
                    "item {}: {}",
                    s.item_id.as_deref().unwrap_or("-"),
                    s.description
                );
                println!(
                    "legal basis {}; deadline {}",
                    s.legal_basis.as_deref().unwrap_or("-"),
                    s.deadline
                );
                if let Some(p) = &h.detail.plan {
                    println!(
                        "五定: 整改措施 {}; 责任人 {}; 整改资金 {}; 整改时限 {}; 应急预案 {}",
                        p.measures,
                        p.responsible,
                        p.funds_yuan
                            .map(|f| format!("{f} 元"))
                            .unwrap_or_else(|| "-".into()),
                        p.deadline,
                        p.interim_measures
                    );
                }
                for e in &h.events {
                    println!(
                        "  {} {} {}{}",
                        e.event.at,
                        e.event.actor,
                        serde_json::to_string(&e.event.kind)?,
                        e.skipped_reason
                            .as_ref()
                            .map(|r| format!("\tskipped: {r}"))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        HazardsCmd::Assign { id, to, actor } => {
            transition(id, actor, HazardEventKind::Assigned { to: to.clone() })
        }
        HazardsCmd::Start { id, actor } => {
            transition(id, actor, HazardEventKind::RectificationStarted)
        }
        HazardsCmd::Reinspect {
            id,
            passed,
            failed: _,
            photos,
            note,
            actor,
        } => {
            let s = store.reinspect_hazard(id, &actor.actor, *passed, photos, note.as_deref())?;
            print_state(cli, &s)?;
            Ok(ExitCode::SUCCESS)
        }
        HazardsCmd::Close { id, actor } => transition(id, actor, HazardEventKind::Closed),
        HazardsCmd::Reopen { id, reason, actor } => transition(
            id,
            actor,
            HazardEventKind::Reopened {
                reason: reason.clone(),
            },
        ),
        HazardsCmd::Supervise {
            id,
            notice,
            body,
            deadline,
            actor,
        } => {
            let deadline = parse_date(deadline)?;
            transition(
                id,
                actor,
                HazardEventKind::ListedSupervision(
                    gridwalk_device::inspection::checklist::hazard::ListedSupervision {
                        notice_no: notice.clone(),
                        supervising_body: body.clone(),
                        deadline,
                    },
                ),
            )
        }
        HazardsCmd::Plan {
            id,
            measures,
            responsible,
            funds_yuan,
            deadline,
            interim,
            actor,
        } => {
            let plan = RectificationPlan {
                measures: measures.clone(),
                responsible: responsible.clone(),
                funds_yuan: *funds_yuan,
                deadline: parse_date(deadline)?,
                interim_measures: interim.clone(),
            };
            let s = store.set_hazard_plan(id, &actor.actor, &plan)?;
            print_state(cli, &s)?;
            Ok(ExitCode::SUCCESS)
        }
        HazardsCmd::Extend {
            id,
            deadline,
            reason,
            actor,
        } => {
            let new_deadline = parse_date(deadline)?;
            transition(
                id,
                actor,
                HazardEventKind::DeadlineExtended {
                    new_deadline,
                    reason: reason.clone(),
                },
            )
        }
    }
}
