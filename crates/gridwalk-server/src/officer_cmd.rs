//! The officer's commands of `gridwalk-server` (docs/campaign.md): hazard actions,
//! reviews, assignments and supervision samples. Without `--as NAME` a command acts as
//! the server's operator (every division; no hazard decisions).

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use gridwalk_checklist::{HazardEventKind, ListedSupervision, RectificationPlan};
use gridwalk_core::{AssignmentStatus, DivisionCode, ReviewState};
use gridwalk_server::work::{Actor, AssignRequest, ReviewRequest, Targets};
use gridwalk_server::Store;
use uuid::Uuid;

pub(crate) fn actor(store: &Store, name: Option<&str>) -> Result<Actor> {
    match name {
        Some(n) => Ok(store.actor(n)?),
        None => Ok(Actor::operator()),
    }
}

fn uuid(what: &str, s: &str) -> Result<Uuid> {
    Uuid::parse_str(s.trim()).with_context(|| format!("'{s}' is not a {what} id"))
}

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .with_context(|| format!("'{s}' is not a date (YYYY-MM-DD)"))
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A hazard action (`hazards act …`).
#[derive(Subcommand)]
pub enum HazardAction {
    /// 指定整改责任人: assign (or reassign) the rectification.
    Assign {
        #[arg(long)]
        to: String,
    },
    /// Extend the deadline (later only).
    Extend {
        /// YYYY-MM-DD.
        #[arg(long)]
        deadline: String,
        #[arg(long)]
        reason: String,
    },
    /// 挂牌督办: put a major hazard under listed supervision.
    Supervise {
        #[arg(long)]
        notice_no: String,
        #[arg(long)]
        body: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        deadline: String,
    },
    /// 五定: set or revise the rectification plan.
    Plan {
        #[arg(long)]
        measures: String,
        #[arg(long)]
        responsible: String,
        #[arg(long)]
        funds_yuan: Option<u64>,
        /// YYYY-MM-DD; not after the hazard's deadline.
        #[arg(long)]
        deadline: String,
        #[arg(long)]
        interim: String,
    },
    /// Close a hazard whose re-inspection passed.
    Close,
    /// Reopen a re-inspected or closed hazard.
    Reopen {
        #[arg(long)]
        reason: String,
    },
    /// Any event kind as JSON (`{"kind": "…", …}`, docs/campaign.md).
    Json { event: String },
}

impl HazardAction {
    fn kind(self) -> Result<HazardEventKind> {
        Ok(match self {
            HazardAction::Assign { to } => HazardEventKind::Assigned { to },
            HazardAction::Extend { deadline, reason } => HazardEventKind::DeadlineExtended {
                new_deadline: date(&deadline)?,
                reason,
            },
            HazardAction::Supervise {
                notice_no,
                body,
                deadline,
            } => HazardEventKind::ListedSupervision(ListedSupervision {
                notice_no,
                supervising_body: body,
                deadline: date(&deadline)?,
            }),
            HazardAction::Plan {
                measures,
                responsible,
                funds_yuan,
                deadline,
                interim,
            } => HazardEventKind::PlanSet(RectificationPlan {
                measures,
                responsible,
                funds_yuan,
                deadline: date(&deadline)?,
                interim_measures: interim,
            }),
            HazardAction::Close => HazardEventKind::Closed,
            HazardAction::Reopen { reason } => HazardEventKind::Reopened { reason },
            HazardAction::Json { event } => {
                serde_json::from_str(&event).context("the event is not a hazard event kind")?
            }
        })
    }
}

/// Runs `hazards show`.
pub fn hazard_show(store: &Store, id: &str, as_user: Option<&str>, json: bool) -> Result<()> {
    let (state, events) = store.hazard_detail(&actor(store, as_user)?, uuid("hazard", id)?)?;
    if json {
        let events: Vec<serde_json::Value> = events
            .iter()
            .map(|(e, why)| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("skipped_reason".into(), serde_json::json!(why));
                }
                v
            })
            .collect();
        return print_json(&serde_json::json!({
            "state": state,
            "overdue": state.is_overdue_at(chrono::Utc::now()),
            "events": events,
        }));
    }
    println!(
        "{} {:?} {} deadline {}",
        state.hazard_id, state.status, state.description_zh, state.deadline
    );
    if let Some(p) = &state.plan {
        println!(
            "五定: 措施 {} / 责任人 {} / 资金 {} / 时限 {} / 应急 {}",
            p.measures,
            p.responsible,
            p.funds_yuan.map_or("-".to_string(), |f| format!("{f} 元")),
            p.deadline,
            p.interim_measures
        );
    }
    for (e, why) in &events {
        println!(
            "  {} {} {:?}{}",
            e.at,
            e.actor,
            e.kind.name(),
            why.as_deref()
                .map(|w| format!(" (not applied: {w})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Runs `hazards act`.
pub fn hazard_act(store: &Store, id: &str, as_user: &str, action: HazardAction) -> Result<()> {
    let state = store.hazard_action(
        &actor(store, Some(as_user))?,
        uuid("hazard", id)?,
        action.kind()?,
    )?;
    print_json(&state)
}

/// Runs `review`.
pub fn review(
    store: &Store,
    inspection: &str,
    state: &str,
    comment: Option<String>,
    as_user: Option<&str>,
) -> Result<()> {
    let Some(state) = ReviewState::parse(state) else {
        bail!("--state {state}: use approved, has_issues or rejected");
    };
    let r = store.review_inspection(
        &actor(store, as_user)?,
        uuid("inspection", inspection)?,
        &ReviewRequest { state, comment },
    )?;
    print_json(&r)
}

/// `inspections …`.
#[derive(Subcommand)]
pub enum InspectionsCommand {
    /// Finalized inspections of a division, newest first, with their review.
    List {
        #[arg(long)]
        division: String,
        /// approved, has_issues, rejected or unreviewed.
        #[arg(long)]
        review: Option<String>,
        #[arg(long = "as")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Runs `inspections`.
pub fn inspections(store: &Store, command: InspectionsCommand) -> Result<()> {
    let InspectionsCommand::List {
        division,
        review,
        as_user,
        json,
    } = command;
    let list = store.inspection_list(
        &actor(store, as_user.as_deref())?,
        &DivisionCode::parse(&division)?,
        review.as_deref(),
    )?;
    if json {
        return print_json(&list);
    }
    for i in &list {
        println!(
            "{} {} {} {} {} {}",
            i.inspection_id,
            i.finalized_at,
            i.enterprise_name.as_deref().unwrap_or(&i.enterprise_uscc),
            i.template_id,
            i.inspector,
            i.review_state.as_deref().unwrap_or("unreviewed")
        );
    }
    println!("{} inspections", list.len());
    Ok(())
}

/// What `assign` targets.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// One enterprise (repeat for more).
    #[arg(long)]
    enterprise: Vec<String>,
    /// Every enterprise of a division…
    #[arg(long)]
    division: Option<String>,
    /// The enterprises of a supervision sample.
    #[arg(long)]
    sample: Option<String>,
}

/// Arguments of `assign`.
#[derive(clap::Args)]
pub struct AssignArgs {
    /// The grid worker or expert.
    #[arg(long)]
    user: String,
    #[command(flatten)]
    targets: TargetArgs,
    /// …only the dust-involved ones (with --division).
    #[arg(long, requires = "division")]
    dust_involved: bool,
    #[arg(long)]
    template: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    due: String,
    #[arg(long)]
    note: Option<String>,
    #[arg(long = "as")]
    as_user: Option<String>,
    #[arg(long)]
    json: bool,
}

/// Runs `assign`.
pub fn assign(store: &Store, a: AssignArgs) -> Result<()> {
    let targets = if let Some(d) = a.targets.division {
        Targets::Filter {
            division: d,
            dust_involved: a.dust_involved.then_some(true),
        }
    } else if let Some(s) = a.targets.sample {
        Targets::Sample(uuid("sample", &s)?)
    } else {
        Targets::Enterprises(a.targets.enterprise)
    };
    let out = store.assign(
        &actor(store, a.as_user.as_deref())?,
        &AssignRequest {
            assignee: a.user,
            template_id: a.template,
            due: date(&a.due)?,
            note: a.note,
            targets,
        },
    )?;
    if a.json {
        return print_json(&out);
    }
    for x in &out.created {
        println!(
            "assigned {} {} to {} with {} by {}",
            x.id, x.enterprise_uscc, x.assignee, x.template_id, x.due
        );
    }
    for u in &out.already_open {
        println!("{u}: already open for this user and template");
    }
    Ok(())
}

/// `assignments …`.
#[derive(Subcommand)]
pub enum AssignmentsCommand {
    /// Assignments of a division, due first.
    List {
        #[arg(long)]
        division: String,
        /// open, fulfilled or cancelled.
        #[arg(long)]
        status: Option<String>,
        /// Only this assignee's.
        #[arg(long)]
        user: Option<String>,
        #[arg(long = "as")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Give an open assignment to someone else.
    Reassign {
        id: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        due: Option<String>,
        #[arg(long)]
        note: Option<String>,
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// Cancel an open assignment.
    Cancel {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long = "as")]
        as_user: Option<String>,
    },
}

/// Runs `assignments`.
pub fn assignments(store: &Store, command: AssignmentsCommand) -> Result<()> {
    match command {
        AssignmentsCommand::List {
            division,
            status,
            user,
            as_user,
            json,
        } => {
            let status =
                match status.as_deref() {
                    None => None,
                    Some(s) => Some(AssignmentStatus::parse(s).with_context(|| {
                        format!("--status {s}: use open, fulfilled or cancelled")
                    })?),
                };
            let list = store.assignments(
                &actor(store, as_user.as_deref())?,
                &DivisionCode::parse(&division)?,
                status,
                user.as_deref(),
            )?;
            if json {
                return print_json(&list);
            }
            for i in &list {
                let a = &i.assignment;
                println!(
                    "{} {} {} {} due {} {}{}",
                    a.id,
                    i.enterprise_name.as_deref().unwrap_or(&a.enterprise_uscc),
                    a.assignee,
                    a.template_id,
                    a.due,
                    a.status.as_str(),
                    if i.overdue { " OVERDUE" } else { "" }
                );
            }
            println!("{} assignments", list.len());
            Ok(())
        }
        AssignmentsCommand::Reassign {
            id,
            user,
            due,
            note,
            as_user,
        } => {
            let due = due.as_deref().map(date).transpose()?;
            let a = store.reassign(
                &actor(store, as_user.as_deref())?,
                uuid("assignment", &id)?,
                &user,
                due,
                note,
            )?;
            print_json(&a)
        }
        AssignmentsCommand::Cancel {
            id,
            reason,
            as_user,
        } => {
            let a = store.cancel_assignment(
                &actor(store, as_user.as_deref())?,
                uuid("assignment", &id)?,
                &reason,
            )?;
            print_json(&a)
        }
    }
}

/// Arguments of `sample`.
#[derive(clap::Args)]
pub struct SampleArgs {
    /// The town.
    #[arg(long)]
    division: String,
    #[arg(long)]
    seed: u64,
    /// Turn the sample into assignments for this member of the supervision group…
    #[arg(long, requires_all = ["template", "due"])]
    assign_to: Option<String>,
    /// …with this template…
    #[arg(long, requires = "assign_to")]
    template: Option<String>,
    /// …due on this day (YYYY-MM-DD).
    #[arg(long, requires = "assign_to")]
    due: Option<String>,
    #[arg(long = "as")]
    as_user: Option<String>,
    #[arg(long)]
    json: bool,
}

/// Runs `sample`.
pub fn sample(store: &Store, a: SampleArgs) -> Result<()> {
    let who = actor(store, a.as_user.as_deref())?;
    let s = store.draw_sample(&who, &DivisionCode::parse(&a.division)?, a.seed)?;
    let assigned = match (a.assign_to, a.template, a.due) {
        (Some(user), Some(template), Some(due)) => Some(store.assign(
            &who,
            &AssignRequest {
                assignee: user,
                template_id: template,
                due: date(&due)?,
                note: Some(format!("督导抽查 {}", s.id)),
                targets: Targets::Sample(s.id),
            },
        )?),
        _ => None,
    };
    if a.json {
        let mut v = serde_json::to_value(&s)?;
        if let (Some(o), Some(out)) = (v.as_object_mut(), &assigned) {
            o.insert("assignments".into(), serde_json::to_value(out)?);
        }
        return print_json(&v);
    }
    println!(
        "sample {} of {} (seed {}, register {})",
        s.id, s.division_code, s.draw.seed, s.draw.register_version
    );
    for d in &s.draw.enterprises {
        println!(
            "  {} {} {}",
            d.group.name_zh(),
            d.enterprise.uscc,
            d.enterprise.name
        );
    }
    for w in &s.draw.shortfalls_zh {
        println!("  {w}");
    }
    if let Some(out) = assigned {
        println!("{} assignments made", out.created.len());
    }
    Ok(())
}
